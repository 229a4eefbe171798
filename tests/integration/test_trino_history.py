"""Queries that read a table as of a past snapshot, or a sample of it, on the real Trino:
the answer runs, and the snapshot's rows are still the snapshot's."""

from __future__ import annotations

import pytest

from adapters.trino.lab import TrinoLab
from adapters.trino.runner import TrinoRunner
from domain.analysis import analyze
from domain.workload import DdlStatement, Query, Workload
from tests.integration.test_trino_rollups import check_every_rewrite

pytestmark = pytest.mark.integration

ORDERS = "CREATE TABLE lake.history.orders (id bigint, customer_id bigint, amount double)"
CUSTOMERS = "CREATE TABLE lake.history.customers (customer_id bigint, segment varchar)"


def test_a_past_snapshot_is_read_from_the_source_and_returns_its_own_rows(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given two tables, the customers changed since a snapshot a query reads
    lab.ensure_catalog("lake")
    runner = lab.runner
    runner.rows("CREATE SCHEMA IF NOT EXISTS lake.history")
    for ddl in (ORDERS, CUSTOMERS):
        runner.rows("DROP TABLE IF EXISTS " + ddl.split()[2])
        runner.rows(ddl)
    runner.rows(
        "INSERT INTO lake.history.orders SELECT n, n % 50, n * 1.5"
        " FROM UNNEST(sequence(1, 2000)) AS t(n)"
    )
    runner.rows(
        "INSERT INTO lake.history.customers SELECT n, 'old_' || CAST(n % 3 AS varchar)"
        " FROM UNNEST(sequence(0, 49)) AS t(n)"
    )
    snapshot = runner.rows(
        'SELECT snapshot_id FROM lake.history."customers$snapshots"'
        " ORDER BY committed_at DESC LIMIT 1"
    )[0][0]
    runner.rows("UPDATE lake.history.customers SET segment = 'new' WHERE customer_id < 25")
    by_segment = (
        "SELECT c.segment, count(*) AS orders, sum(o.amount) AS amount"
        " FROM lake.history.orders o"
        f" JOIN lake.history.customers FOR VERSION AS OF {snapshot} c"
        " ON c.customer_id = o.customer_id GROUP BY c.segment"
    )
    workload = Workload(
        url="jdbc:trino://lab:8080/lake/history",
        ddl=(DdlStatement(ORDERS), DdlStatement(CUSTOMERS)),
        queries=(
            Query("then", by_segment, runquantity=500, executiontime=20),
            Query(
                "sampled",
                "SELECT count(*) AS n FROM lake.history.orders TABLESAMPLE BERNOULLI (100)",
                runquantity=500,
                executiontime=20,
            ),
        ),
    )
    originals = TrinoRunner(*trino_address, catalog="lake", schema="history")
    # when the engine answers
    result = analyze(workload)
    # then the snapshot is read where its history is, today's orders from the new table
    then = next(q.query for q in result.queries if q.queryid == "then")
    assert f"JOIN lake.history.customers FOR VERSION AS OF {snapshot} c" in then
    assert "lake.optimized.orders" in then
    # and every statement runs, every query returning its original's rows (a sample of all
    # the rows is all of them): the old segments, not today's
    check_every_rewrite(workload, result, originals, lab)
    segments = {row[0] for row in lab.runner.rows(then)}
    assert segments == {"old_0", "old_1", "old_2"}
    originals.close()
