"""The result of an analysis: new DDL, migrations, rewritten queries, the report and meta.

The three lists `ddl`, `migrations` and `queries` keep the shape existing clients read; the
`report` explains them and `meta` says what produced them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "AnalysisResult",
    "Finding",
    "Meta",
    "Report",
    "RewrittenQuery",
    "Severity",
    "SqlStatement",
]


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SqlStatement:
    statement: str


@dataclass(frozen=True, slots=True)
class RewrittenQuery:
    queryid: str
    query: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation behind the advice, with its evidence.

    `code` is stable and machine-readable (`parse_error`, `unknown_table`, `full_scan`…);
    `details` holds what is specific to the code (for a parse error: the statement's kind and
    index, and the parser's message).
    """

    id: str
    code: str
    severity: Severity
    title: str
    rationale: str
    table: str | None = None
    queryids: tuple[str, ...] = ()
    weight_share: float = 0.0
    effect: str = ""
    risk: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "severity": str(self.severity),
            "title": self.title,
            "rationale": self.rationale,
            "table": self.table,
            "queryids": list(self.queryids),
            "weight_share": self.weight_share,
            "effect": self.effect,
            "risk": self.risk,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            id=data["id"],
            code=data["code"],
            severity=Severity(data["severity"]),
            title=data["title"],
            rationale=data["rationale"],
            table=data.get("table"),
            queryids=tuple(data.get("queryids", ())),
            weight_share=data.get("weight_share", 0.0),
            effect=data.get("effect", ""),
            risk=data.get("risk", ""),
            details=dict(data.get("details", {})),
        )


@dataclass(frozen=True, slots=True)
class Report:
    summary: str
    findings: tuple[Finding, ...] = ()
    estimates: Mapping[str, Any] = field(default_factory=dict)
    verification: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "estimates": dict(self.estimates),
            "verification": dict(self.verification),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            summary=data["summary"],
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            estimates=dict(data.get("estimates", {})),
            verification=dict(data.get("verification", {})),
        )


@dataclass(frozen=True, slots=True)
class Meta:
    """What produced the result. `parts` maps a part (`ddl`, `migrations`, `queries`…) to the
    engine that produced it (`rules` or `llm`)."""

    engine: str = "rules"
    model: str | None = None
    duration_ms: int = 0
    version: str = ""
    parts: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "engine": self.engine,
            "model": self.model,
            "duration_ms": self.duration_ms,
            "version": self.version,
            "parts": dict(self.parts),
        }
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Meta:
        known = {"engine", "model", "duration_ms", "version", "parts"}
        return cls(
            engine=data.get("engine", "rules"),
            model=data.get("model"),
            duration_ms=data.get("duration_ms", 0),
            version=data.get("version", ""),
            parts=dict(data.get("parts", {})),
            extra={k: v for k, v in data.items() if k not in known},
        )


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    ddl: tuple[SqlStatement, ...]
    migrations: tuple[SqlStatement, ...]
    queries: tuple[RewrittenQuery, ...]
    report: Report
    meta: Meta = field(default_factory=Meta)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ddl": [{"statement": s.statement} for s in self.ddl],
            "migrations": [{"statement": s.statement} for s in self.migrations],
            "queries": [{"queryid": q.queryid, "query": q.query} for q in self.queries],
            "report": self.report.to_dict(),
            "meta": self.meta.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisResult:
        return cls(
            ddl=tuple(SqlStatement(s["statement"]) for s in data["ddl"]),
            migrations=tuple(SqlStatement(s["statement"]) for s in data["migrations"]),
            queries=tuple(RewrittenQuery(q["queryid"], q["query"]) for q in data["queries"]),
            report=Report.from_dict(data["report"]),
            meta=Meta.from_dict(data.get("meta", {})),
        )
