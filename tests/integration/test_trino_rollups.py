"""Rollups on the real Trino: every aggregate a rollup answers returns its original's rows.

DuckDB (the unit tests) has other types than Trino for avg over decimals and reals, for
sums of small integers and for date_trunc of a date; here the rewrites meet Trino's own. The
tables hold 20,000 rows; the statistics the engine is given are the lab's, read from Trino,
with the row counts scaled up so that pre-aggregating pays as it would on a large table.
"""

from __future__ import annotations

import dataclasses

import pytest

from adapters.trino.lab import TrinoLab, compare_outcomes
from adapters.trino.runner import TrinoRunner
from adapters.trino.statistics import TrinoEndpoint, read_statistics
from bench.shapes import workload as shape_workload
from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.integration.conftest import session_runner

pytestmark = pytest.mark.integration

ROWS = 20_000
SCALE = 5_000  # the statistics say each table is this many times larger than it is

KINDS = (
    "CREATE TABLE rollups.kinds.facts (id bigint, status varchar, channel varchar, is_test"
    " boolean, day date, ts timestamp(6), qty integer, small smallint, price double, ratio real,"
    " amount decimal(12, 2), note varchar)"
)
T = "rollups.kinds.facts"
KIND_QUERIES = [
    f"SELECT status, count(*), count(qty), count_if(qty > 5) FROM {T} GROUP BY status",
    f"SELECT channel, sum(qty), sum(small), sum(price), sum(ratio), sum(amount) FROM {T} "
    "GROUP BY channel",
    f"SELECT status, min(price), max(amount), min(ts), max(day), min(ratio) FROM {T} "
    "GROUP BY status",
    f"SELECT channel, avg(qty), avg(small), avg(price), avg(ratio), avg(amount) FROM {T} "
    "GROUP BY channel",
    f"SELECT status, sum(amount) FILTER (WHERE channel = 'web'), count(*) FILTER (WHERE "
    f"is_test) FROM {T} GROUP BY status",
    f"SELECT count(DISTINCT status), count(*), sum(qty) FROM {T} WHERE is_test = false",
    f"SELECT count(*), count_if(qty > 5), sum(amount), avg(price) FROM {T} "
    "WHERE status = 'no-such-status'",
    f"SELECT date_trunc('month', ts) AS m, count(*) AS n FROM {T} "
    "WHERE ts >= TIMESTAMP '2023-01-01 00:00:00' GROUP BY 1 ORDER BY 1",
    f"SELECT year(day) AS y, quarter(day) AS q, sum(qty * price) FROM {T} "
    "WHERE day BETWEEN DATE '2023-01-01' AND DATE '2024-06-30' GROUP BY 1, 2",
    f"SELECT status, channel, count(*) AS n FROM {T} WHERE is_test = false "
    "GROUP BY status, channel HAVING count(*) > 10 ORDER BY n DESC, status, channel LIMIT 5",
    f"SELECT CAST(ts AS date) AS d, status, round(avg(amount), 1) FROM {T} "
    "WHERE ts >= TIMESTAMP '2024-02-01 00:00:00' AND ts < TIMESTAMP '2024-03-01 00:00:00' "
    "GROUP BY 1, 2",
]


@pytest.fixture(scope="module")
def trino_endpoint(trino_address: tuple[str, int]) -> TrinoEndpoint:
    return TrinoEndpoint(*trino_address, https=False)


def scaled(statistics: WorkloadStatistics) -> WorkloadStatistics:
    tables = {
        name: dataclasses.replace(t, rows=(t.rows or 0) * SCALE)
        for name, t in statistics.tables.items()
    }
    return dataclasses.replace(statistics, tables=tables)


def check_every_rewrite(
    workload: Workload, result: AnalysisResult, originals: TrinoRunner, lab: TrinoLab
) -> int:
    """Apply `result` and compare every query with its rewrite; the rollup rewrites counted."""
    applied = lab.apply(result)
    assert applied.failures == []
    rewritten = {q.queryid: q.query for q in result.queries}
    rollups = 0
    for query in workload.queries:
        before = originals.run(query.query)
        assert before.error is None, f"{query.queryid}: {before.error}"
        after = lab.runner.run(rewritten[query.queryid])
        assert after.error is None, f"{query.queryid}: {after.error}\n{after.sql}"
        comparison = compare_outcomes(originals, before, after)
        assert comparison.equal, f"{query.queryid}: {comparison.detail}\n{after.sql}"
        rollups += "_rollup" in after.sql
    return rollups


def test_every_aggregate_kind_is_rebuilt_exactly_in_trinos_own_types(
    lab: TrinoLab,
    trino_address: tuple[str, int],
    trino_endpoint: TrinoEndpoint,
) -> None:
    # given a table of every type a rollup keeps, loaded, and aggregates of every kind
    workload = Workload(
        url="jdbc:trino://lab:8080/rollups/kinds",
        ddl=(DdlStatement(KINDS),),
        queries=tuple(Query(f"k{i}", q, runquantity=100) for i, q in enumerate(KIND_QUERIES)),
        options=AnalysisOptions(target_schema="kinds_rollups"),
    )
    originals = session_runner(lab, trino_address, workload)
    statistics = read_statistics(trino_endpoint, [_name(T)], user="lab", password=None)
    # when the engine answers, knowing the table large
    result = analyze(workload, statistics=scaled(statistics))
    # then every query a rollup answers returns exactly the rows of its original
    assert check_every_rewrite(workload, result, originals, lab) >= len(KIND_QUERIES) - 1
    originals.close()


def test_the_wide_shapes_dashboards_read_rollups_and_keep_their_rows(
    lab: TrinoLab,
    trino_address: tuple[str, int],
    trino_endpoint: TrinoEndpoint,
) -> None:
    # given the wide flat table and its dashboards
    workload = Workload.from_dict(shape_workload("wide"))
    originals = session_runner(lab, trino_address, workload)
    tables = [_name(s.statement.split()[2]) for s in workload.ddl]
    statistics = read_statistics(trino_endpoint, tables, user="lab", password=None)
    # when the engine answers with the lab's statistics, scaled up
    result = analyze(workload, statistics=scaled(statistics))
    # then several dashboards read rollups, and every query keeps its rows
    assert check_every_rewrite(workload, result, originals, lab) >= 3
    originals.close()


def _name(text: str) -> TableName:
    return TableName.of(*text.split("."))
