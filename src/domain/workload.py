"""The workload a user submits: where the tables live, their DDL, the queries and their weight.

The JDBC URL is redacted on the way in (`redact_jdbc_url`): only the host, port, catalog, schema
and a few harmless connection settings are kept, so credentials never reach storage, logs, the
LLM or a result.

>>> redact_jdbc_url("jdbc:trino://u:secret@host:8080/lake?user=u&password=p&SSL=true")
'jdbc:trino://host:8080/lake?SSL=true'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_TARGET_SCHEMA",
    "AnalysisOptions",
    "DdlStatement",
    "Query",
    "Workload",
    "catalog_from_jdbc_url",
    "redact_jdbc_url",
]

DEFAULT_TARGET_SCHEMA = "optimized"

# Connection settings that carry no secret. Everything else (user, password, accessToken,
# extraCredentials, key store passwords, Kerberos settings, session properties…) is dropped:
# an allow-list cannot leak a credential whose name we did not foresee.
_SAFE_PARAMETERS = frozenset(
    {"catalog", "schema", "ssl", "sslverification", "timezone", "source", "clienttags"}
)


def _parts(url: str) -> tuple[str, SplitResult]:
    prefix = "jdbc:"
    if url.lower().startswith(prefix):
        return url[: len(prefix)], urlsplit(url[len(prefix) :])
    return "", urlsplit(url)


def redact_jdbc_url(url: str) -> str:
    """Drop user info and every query parameter not known to be harmless."""
    prefix, parts = _parts(url.strip())
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() in _SAFE_PARAMETERS
    ]
    return prefix + urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), ""))


def catalog_from_jdbc_url(url: str) -> str | None:
    """The catalog a Trino JDBC URL names: `?catalog=` first, else the first path segment."""
    _, parts = _parts(url.strip())
    for name, value in parse_qsl(parts.query):
        if name.lower() == "catalog" and value:
            return value
    segments = [s for s in parts.path.split("/") if s]
    return segments[0] if segments else None


@dataclass(frozen=True, slots=True)
class DdlStatement:
    statement: str


@dataclass(frozen=True, slots=True)
class Query:
    """One query of the workload. Its weight is how often it runs times how long it takes."""

    queryid: str
    query: str
    runquantity: int = 1
    executiontime: float | None = None

    @property
    def weight(self) -> float:
        seconds = self.executiontime if self.executiontime is not None else 1.0
        return float(self.runquantity) * float(seconds)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    target_schema: str = DEFAULT_TARGET_SCHEMA
    use_llm: bool = True
    verify: bool = True


@dataclass(frozen=True, slots=True)
class Workload:
    """A redacted workload: safe to store, log and show."""

    url: str
    ddl: tuple[DdlStatement, ...]
    queries: tuple[Query, ...]
    options: AnalysisOptions = field(default_factory=AnalysisOptions)

    @classmethod
    def from_request(
        cls,
        url: str,
        ddl: tuple[DdlStatement, ...],
        queries: tuple[Query, ...],
        options: AnalysisOptions | None = None,
    ) -> Workload:
        """Build a workload from raw input, redacting the URL."""
        return cls(redact_jdbc_url(url), ddl, queries, options or AnalysisOptions())

    @property
    def catalog(self) -> str | None:
        return catalog_from_jdbc_url(self.url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ddl": [{"statement": d.statement} for d in self.ddl],
            "queries": [
                {
                    "queryid": q.queryid,
                    "query": q.query,
                    "runquantity": q.runquantity,
                    "executiontime": q.executiontime,
                }
                for q in self.queries
            ],
            "options": {
                "target_schema": self.options.target_schema,
                "use_llm": self.options.use_llm,
                "verify": self.options.verify,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workload:
        options = data.get("options") or {}
        return cls(
            url=data["url"],
            ddl=tuple(DdlStatement(d["statement"]) for d in data["ddl"]),
            queries=tuple(
                Query(
                    queryid=q["queryid"],
                    query=q["query"],
                    runquantity=q.get("runquantity", 1),
                    executiontime=q.get("executiontime"),
                )
                for q in data["queries"]
            ),
            options=AnalysisOptions(**options),
        )
