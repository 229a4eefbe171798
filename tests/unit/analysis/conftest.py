"""Fixtures for the analysis engine's tests: workloads built per test."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.unit.analysis.support import WorkloadFactory, example


@pytest.fixture
def make_workload() -> WorkloadFactory:
    """Build a workload from DDL strings and queries given as (queryid, sql) or Query."""

    def build(
        ddl: Sequence[str] = (),
        queries: Sequence[tuple[str, str] | Query] = (),
        *,
        url: str = "jdbc:trino://trino.example:8080/lake/sales",
        target_schema: str = "optimized",
    ) -> Workload:
        return Workload(
            url=url,
            ddl=tuple(DdlStatement(s) for s in ddl),
            queries=tuple(q if isinstance(q, Query) else Query(q[0], q[1]) for q in queries),
            options=AnalysisOptions(target_schema=target_schema),
        )

    return build


@pytest.fixture
def load_example() -> Callable[[str], Workload]:
    """Load `examples/<name>.json` as the client sent it (URL not redacted)."""
    return example
