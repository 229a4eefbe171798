"""A rewrite that returns other rows is caught on generated data and replaced; right ones pass."""

from __future__ import annotations

import pytest

from domain.analysis import analyze
from domain.analysis.identity import identity_result
from domain.analysis.names import TableName
from domain.result import AnalysisResult
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from tests.unit.verification.support import entry, verify, with_migrations, with_query, workload

ORDERS = (
    "CREATE TABLE lake.shop.orders (order_id bigint, customer_id bigint, status varchar,"
    " amount decimal(12, 2), ordered_at timestamp(6))"
)
CUSTOMERS = "CREATE TABLE lake.shop.customers (customer_id bigint, name varchar, region varchar)"
SALES = (
    "CREATE TABLE lake.shop.sales (id bigint, country varchar, day date, qty integer, price double)"
)

LOOKUP = "SELECT order_id, amount FROM orders WHERE status = 'open' AND amount > 100"
LEFT = (
    "SELECT c.customer_id, c.region, count(o.order_id) AS n FROM customers c LEFT JOIN orders o "
    "ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.region"
)
BY_COUNTRY = "SELECT country, count(*) AS n, sum(qty) AS q FROM lake.shop.sales GROUP BY country"


def shop() -> tuple:
    load = workload(LOOKUP, LEFT, ddl=(ORDERS, CUSTOMERS))
    return load, analyze(load)


def plain(load, queryid: str) -> str:
    identity = identity_result(load, target_schema="optimized")
    return next(q.query for q in identity.queries if q.queryid == queryid)


def replaced(result: AnalysisResult, queryid: str) -> dict:
    found = entry(result, queryid)
    assert found["replaced"]["outcome"] == "differs", found
    assert found["status"] == "retargeted"
    assert found["outcome"] == "verified"  # the retargeted original passed in its place
    return found


def test_the_engines_rewrites_are_verified() -> None:
    # given the engine's answer for a lookup and a LEFT JOIN aggregate
    load, result = shop()
    # when it is verified
    checked = verify(load, result)
    # then both queries were run and returned their original's rows
    assert [entry(checked, q)["outcome"] for q in ("q0", "q1")] == ["verified", "verified"]
    assert [q.query for q in checked.queries] == [q.query for q in result.queries]
    assert checked.report.verification["executed"] is True
    assert checked.report.verification["seed"] == 0
    assert {t["table"]: t["rows"] for t in checked.report.verification["tables"]} == {
        "lake.shop.orders": 2000,
        "lake.shop.customers": 40,
    }
    assert {m["status"] for m in checked.report.verification["migrations"]} == {"ok"}


@pytest.mark.parametrize(
    ("queryid", "wrong"),
    [
        pytest.param(
            "q0",
            "SELECT order_id, amount FROM lake.optimized.orders WHERE status = 'paid' "
            "AND amount > 100",
            id="changed-literal",
        ),
        pytest.param(
            "q0",
            "SELECT order_id, amount FROM lake.optimized.orders WHERE status = 'open'",
            id="dropped-predicate",
        ),
        pytest.param(
            "q1",
            "SELECT c.customer_id, c.region, count(o.order_id) AS n FROM "
            "lake.optimized.customers c JOIN lake.optimized.orders o "
            "ON o.customer_id = c.customer_id GROUP BY c.customer_id, c.region",
            id="inner-for-left-join",
        ),
    ],
)
def test_a_wrong_rewrite_is_caught_and_replaced_by_the_retargeted_original(
    queryid: str, wrong: str
) -> None:
    # given an answer whose rewrite of one query is wrong
    load, result = shop()
    tampered = with_query(result, queryid, wrong)
    # when it is verified
    checked = verify(load, tampered)
    # then the rewrite is withdrawn: the original, only retargeted, is returned, and why
    query = next(q for q in checked.queries if q.queryid == queryid)
    assert query.query == plain(load, queryid)
    found = replaced(checked, queryid)
    assert found["replaced"]["query"] == wrong
    assert "other rows" in found["reason"]
    finding = next(f for f in checked.report.findings if f.code == "rewrite_replaced")
    assert finding.queryids == (queryid,)
    assert "replaced by the original only retargeted" in checked.report.summary


def by_country_from_a_rollup() -> tuple:
    """The sales by country, a large table of three countries: answered from a rollup."""
    load = workload(BY_COUNTRY, ddl=(SALES,))
    statistics = WorkloadStatistics(
        tables={
            TableName("lake", "shop", "sales"): TableStatistics(
                rows=50_000_000, columns={"country": ColumnStatistics(distinct=3)}
            )
        }
    )
    result = analyze(load, statistics=statistics)
    assert "_rollup" in result.queries[0].query
    return load, result


def test_a_rollup_that_loses_the_null_groups_is_caught() -> None:
    # given a rollup whose migration drops the rows with no country (a NULL group)
    load, result = by_country_from_a_rollup()
    migrations = [
        m.statement + (" HAVING t0.country IS NOT NULL" if "_rollup" in m.statement else "")
        for m in result.migrations
    ]
    tampered = with_migrations(result, *migrations)
    # when it is verified
    checked = verify(load, tampered)
    # then the query reading the rollup is returned reading the table copy instead
    found = replaced(checked, "q0")
    assert "_rollup" in found["replaced"]["query"]
    assert "_rollup" not in checked.queries[0].query
    # and the rollup, which no query reads any more, is neither created nor filled
    assert checked.report.verification["dropped_tables"] == ["lake.optimized.sales_rollup"]
    assert not [s for s in (*checked.ddl, *checked.migrations) if "_rollup" in s.statement]
    assert len(checked.ddl) == 2  # the schema and the copy of the table
    # and the right rollup is verified
    assert entry(verify(load, result), "q0")["outcome"] == "verified"


def test_a_retargeted_original_that_differs_too_leaves_the_original_text() -> None:
    # given a migration that copies only part of the table, so no rewrite can be right
    load, result = shop()
    migrations = [
        m.statement + (" WHERE amount > 500" if "INTO lake.optimized.orders" in m.statement else "")
        for m in result.migrations
    ]
    checked = verify(load, with_migrations(result, *migrations))
    # then the query is returned as it came, reading the unchanged source tables
    assert checked.queries[0].query == LOOKUP
    found = entry(checked, "q0")
    assert found["status"] == "unchanged"
    assert found["replaced"]["outcome"] == "differs"
    # and the migration's check says the copy lost rows
    orders = next(
        m
        for m in checked.report.verification["migrations"]
        if m["table"] == "lake.optimized.orders"
    )
    assert orders["status"] == "differs"
    assert orders["rows"] < orders["source_rows"] == 2000
    finding = next(f for f in checked.report.findings if f.code == "migration_unverified")
    assert finding.details["migrations"][0]["table"] == "lake.optimized.orders"


def test_a_rollup_the_verifiers_engine_cannot_build_leaves_its_rewrite_unverified_not_wrong() -> (
    None
):
    # given a rollup whose migration calls a Trino function DuckDB does not have (a condition
    # that holds for every row: the rollup's rows are right)
    load, result = by_country_from_a_rollup()
    always = " WHERE luhn_check('79927398713') OR t0.id IS NULL OR t0.id IS NOT NULL GROUP BY"
    migrations = [
        m.statement.replace(" GROUP BY", always) if "_rollup" in m.statement else m.statement
        for m in result.migrations
    ]
    # when it is verified
    checked = verify(load, with_migrations(result, *migrations))
    # then the migration is unchecked, and the query reading the rollup keeps it, unverified:
    # an empty rollup is the engine's limit, not rows the rewrite lost
    rollup = next(
        m for m in checked.report.verification["migrations"] if m["table"].endswith("_rollup")
    )
    assert rollup["status"] == "not_verifiable"
    found = entry(checked, "q0")
    assert found["outcome"] == "not_verifiable", found
    assert "could not build" in found["detail"]
    assert "_rollup" in checked.queries[0].query
