"""Configuration from the environment (prefix `DBANALYSIS_`)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "service_version"]


def service_version() -> str:
    try:
        return version("dbanalysis")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"


class Settings(BaseSettings):
    """Every setting can be given as `DBANALYSIS_<NAME>` (e.g. `DBANALYSIS_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="DBANALYSIS_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/dbanalysis.sqlite3",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
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
    requeue_interval_seconds: float = Field(default=30.0, gt=0)

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"

    worker_heartbeat_file: str | None = Field(
        default=None, description="a file the worker touches while alive (container healthcheck)"
    )

    log_level: str = "INFO"
