"""What a verification is asked to check, and what it found.

A verification runs the workload on generated data: the source tables built from the input
DDL and filled from a fixed seed, the new DDL and the migrations run on them, then each
original query on the source tables and its rewrite on the new ones. Per query the outcome is

    verified        both returned the same rows (as multisets; see `judge`)
    differs         they did not: the rewrite is replaced (see `merge`)
    empty           both returned no rows: the data could not exercise the query
    not_verifiable  it could not be run (a function the engine lacks, a statement that
                    writes, a table outside the DDL, the budget spent…): `detail` says which
    unchanged       the query is returned as it came: nothing to verify

A `QueryCheck` lists the candidates to try in order — the rewrite the result holds, then its
fallbacks (the plainly retargeted original) — and the verifier stops at the first that is not
`differs`, so the caller learns which one may be returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.workload import Workload

__all__ = [
    "DIFFERS",
    "EMPTY",
    "NOT_VERIFIABLE",
    "OUTCOMES",
    "UNCHANGED",
    "VERIFIED",
    "CandidateOutcome",
    "MigrationCheck",
    "QueryCheck",
    "QueryVerification",
    "TableLoad",
    "Verification",
    "VerificationRequest",
]

VERIFIED = "verified"
DIFFERS = "differs"
EMPTY = "empty"
NOT_VERIFIABLE = "not_verifiable"
UNCHANGED = "unchanged"
OUTCOMES = (VERIFIED, DIFFERS, EMPTY, NOT_VERIFIABLE, UNCHANGED)


@dataclass(frozen=True, slots=True)
class QueryCheck:
    """One query to check: its original text and the candidates to return, best first.

    `skip` says why the query is not run at all (it writes, it reads a table the DDL does not
    define…); `unchanged` marks a query returned exactly as it came.
    """

    queryid: str
    original: str
    candidates: tuple[str, ...]
    skip: str | None = None
    unchanged: bool = False


@dataclass(frozen=True, slots=True)
class VerificationRequest:
    workload: Workload
    result: AnalysisResult
    checks: tuple[QueryCheck, ...]
    seed: int = 0
    rows_per_table: int = 2_000
    budget_seconds: float = 30.0
    statistics: WorkloadStatistics | None = None


@dataclass(frozen=True, slots=True)
class CandidateOutcome:
    """How one candidate compared with the original."""

    sql: str
    outcome: str
    detail: str = ""
    rows_original: int | None = None
    rows_rewrite: int | None = None


@dataclass(frozen=True, slots=True)
class QueryVerification:
    """The candidates tried for one query, in order; the last is the one to keep unless it
    `differs` (then none passed and the original text is what is left)."""

    queryid: str
    tried: tuple[CandidateOutcome, ...]

    @property
    def final(self) -> CandidateOutcome:
        return self.tried[-1]


@dataclass(frozen=True, slots=True)
class TableLoad:
    """A source table as the verifier built it."""

    table: str
    rows: int | None
    role: str = ""  # fact / dimension (from the data plan), derived (CREATE TABLE AS), view
    error: str | None = None


@dataclass(frozen=True, slots=True)
class MigrationCheck:
    """A new table: whether its DDL and migrations ran, its rows against its source's, and
    how many partitions its partitioning makes of the generated data."""

    table: str
    source: str | None
    statements: int
    status: str  # ok, differs (row counts), failed, not_verifiable
    rows: int | None = None
    source_rows: int | None = None
    partitioning: tuple[str, ...] = ()
    partitions: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source": self.source,
            "statements": self.statements,
            "status": self.status,
            "rows": self.rows,
            "source_rows": self.source_rows,
            "partitioning": list(self.partitioning),
            "partitions": self.partitions,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Verification:
    """Everything a verifier found, with what it takes to reproduce it."""

    engine: str  # "duckdb 1.2.0 (embedded)", "trino 476 (scratch cluster)"
    seed: int
    rows_per_table: int
    tables: tuple[TableLoad, ...]
    migrations: tuple[MigrationCheck, ...]
    queries: tuple[QueryVerification, ...]
    seconds: float = 0.0
    budget_seconds: float = 0.0
    budget_spent: bool = False
    notes: tuple[str, ...] = ()
    statistics_used: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def by_queryid(self) -> dict[str, QueryVerification]:
        return {q.queryid: q for q in self.queries}
