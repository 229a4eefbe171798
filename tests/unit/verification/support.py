"""Helpers shared by the verification tests."""

from __future__ import annotations

import dataclasses
from typing import Any

from adapters.verify.duckdb_verifier import DuckDbVerifier
from domain.result import AnalysisResult, RewrittenQuery, SqlStatement
from domain.statistics import WorkloadStatistics
from domain.verification.checks import build_checks
from domain.verification.merge import verified_result
from domain.verification.model import VerificationRequest
from domain.workload import DdlStatement, Query, Workload


def workload(*queries: str, ddl: tuple[str, ...], url: str = "jdbc:trino://h:8080/lake/shop"):
    return Workload(
        url=url,
        ddl=tuple(DdlStatement(s) for s in ddl),
        queries=tuple(Query(f"q{i}", sql, runquantity=100) for i, sql in enumerate(queries)),
    )


def verify(
    load: Workload,
    result: AnalysisResult,
    *,
    rows: int = 2_000,
    budget: float = 60.0,
    statistics: WorkloadStatistics | None = None,
    verifier: DuckDbVerifier | None = None,
) -> AnalysisResult:
    """`result` as the verification step returns it (DuckDB, seed 0; a new verifier unless
    `verifier` is given)."""
    checks = build_checks(load, result)
    request = VerificationRequest(
        load, result, checks, rows_per_table=rows, budget_seconds=budget, statistics=statistics
    )
    verifier = verifier or DuckDbVerifier()
    return verified_result(result, verifier.verify_now(request), checks)


def entry(result: AnalysisResult, queryid: str) -> dict[str, Any]:
    found = [q for q in result.report.verification["queries"] if q["queryid"] == queryid]
    assert len(found) == 1, queryid
    return dict(found[0])


def with_query(result: AnalysisResult, queryid: str, sql: str) -> AnalysisResult:
    queries = tuple(
        RewrittenQuery(q.queryid, sql) if q.queryid == queryid else q for q in result.queries
    )
    return dataclasses.replace(result, queries=queries)


def with_migrations(result: AnalysisResult, *statements: str) -> AnalysisResult:
    return dataclasses.replace(result, migrations=tuple(SqlStatement(s) for s in statements))
