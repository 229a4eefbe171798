"""Configuration from the environment (prefix `DBANALYSIS_`)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from application.use_cases.relay_outbox import DEFAULT_BATCH_SIZE

__all__ = ["Settings", "service_version"]


def service_version() -> str:
    try:
        return version("dbanalysis")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


class Settings(BaseSettings):
    """Every setting can be given as `DBANALYSIS_<NAME>` (e.g. `DBANALYSIS_DATABASE_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="DBANALYSIS_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/dbanalysis.sqlite3",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        description="connections each process keeps open to the database, and the most it "
        "opens: a request that finds none free waits for one",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic: str = "db_analysis_tasks"
    kafka_group: str = "db_analysis_workers"
    kafka_partitions: int = Field(default=6, ge=1, description="partitions of a topic we create")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    max_attempts: int = Field(default=3, ge=1)
    lease_seconds: float = Field(default=900.0, gt=0)
    relay_interval_seconds: float = Field(default=1.0, gt=0)
    relay_batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE, ge=1, description="outbox messages the relay takes at once"
    )
    requeue_interval_seconds: float = Field(default=30.0, gt=0)

    # The JDBC credentials of a running task are kept encrypted with this Fernet key
    # (`entrypoints.secret_key`): `api` and `worker` need it; `serve` makes one in the file.
    secret_key: SecretStr | None = Field(
        default=None, description="a Fernet key: 32 url-safe base64-encoded bytes"
    )
    secret_key_file: str = Field(
        default="var/secret.key",
        description="where `serve` keeps the key it made when DBANALYSIS_SECRET_KEY is unset",
    )
    secret_ttl_seconds: float = Field(
        default=86400.0, gt=0, description="credentials older than this are deleted"
    )

    # Statistics of the workload's tables, read from the user's Trino with the task's login.
    statistics_enabled: bool = Field(
        default=True, description="read statistics from the user's Trino when the URL logs in"
    )
    statistics_statement_seconds: float = Field(
        default=20.0, gt=0, description="time limit of one statement on the user's Trino"
    )
    statistics_budget_seconds: float = Field(
        default=60.0, gt=0, description="time all the statistics of one task may take"
    )
    trino_ca_bundle: str | None = Field(
        default=None, description="a PEM file of CAs to trust for the user's Trino (TLS)"
    )

    # The LLM advisor is on when a base URL or a key is set, off otherwise (engine only).
    llm_base_url: str | None = Field(
        default=None, description="an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1"
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DBANALYSIS_LLM_API_KEY", "OPENAI_API_KEY"),
        description="DBANALYSIS_LLM_API_KEY, else OPENAI_API_KEY",
    )
    llm_model: str = "gpt-4o-mini"
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    llm_timeout_seconds: float = Field(default=60.0, gt=0, description="per HTTP request")
    llm_max_retries: int = Field(default=2, ge=0, description="per call, on 429/5xx/network")
    llm_budget_seconds: float = Field(
        default=600.0, gt=0, description="per task; past it the engine's answer is returned"
    )
    llm_structured_output_method: Literal["function_calling", "json_schema", "json_mode"] = (
        "function_calling"
    )
    llm_max_queries: int = Field(default=40, ge=0, description="heaviest queries in the prompt")

    # Verification: every rewrite and migration run on generated data before the result is
    # returned (for the tasks whose options.verify is on, the default).
    verify_enabled: bool = Field(
        default=True, description="run the verification step (off: structural only)"
    )
    verify_rows_per_table: int = Field(
        default=2_000, ge=10, description="generated rows of the largest tables (facts)"
    )
    verify_budget_seconds: float = Field(
        default=60.0, gt=0, description="per task; past it the rest is not_verifiable"
    )
    verify_seed: int = Field(default=0, ge=0, description="seed of the generated data")
    verify_memory_limit: str = Field(default="1GB", description="DuckDB's memory limit")
    verify_trino_url: str | None = Field(
        default=None,
        description="verify on this scratch Trino instead of DuckDB: trino://user@host:port/"
        "catalog (an Iceberg catalog the verifier may write schemas into; never the source)",
    )

    analysis_processes: int = Field(
        default=1,
        ge=0,
        description="processes that run the engine and the verification, apart from the one "
        "that serves (HTTP, leases); 0: a thread of the serving process, which then answers "
        "slowly while it analyses",
    )
    analysis_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="how much lower the analysis processes' scheduling priority is than the "
        "serving process's (Unix nice steps): where they share the CPUs, HTTP and leases are "
        "served first; 0: the same priority",
    )
    worker_concurrency: int = Field(
        default=16,
        ge=1,
        description="tasks a worker (or `serve`) works on at once: they wait on the LLM and "
        "the user's Trino together; the CPU-bound steps queue for the analysis processes",
    )

    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="where `dbanalysis worker` serves Prometheus /metrics (on DBANALYSIS_HOST)",
    )
    worker_heartbeat_file: str | None = Field(
        default=None, description="a file the worker touches while alive (container healthcheck)"
    )

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object a line, with the task id when known"
    )

    # The HTTP API's limits and protection (`entrypoints.api`).
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="larger request bodies are refused (413)"
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="comma-separated keys; when set, /new, /status and /getresult need one in "
        "the X-API-Key header (health, metrics and the docs stay open)",
    )
    cors_allow_origins: str = Field(
        default="",
        description="comma-separated origins a browser may call the API from; empty: none",
    )

    def api_key_list(self) -> tuple[str, ...]:
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return tuple(key.strip() for key in raw.split(",") if key.strip())

    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.cors_allow_origins.split(",") if o.strip())

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url) or bool(
            self.llm_api_key and self.llm_api_key.get_secret_value()
        )
