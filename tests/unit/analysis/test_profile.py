"""Profile pass: the stored tables each query names (scope-aware) and each query's weight."""

from __future__ import annotations

import math

import pytest

from domain.analysis.catalog import Catalog, SourceTable
from domain.analysis.names import Session, TableName
from domain.analysis.parse import parse_queries, parse_query
from domain.analysis.profile import profile_queries, profile_query, query_weight, table_nodes
from domain.workload import Query

ORDERS = TableName("lake", "sales", "orders")
ITEMS = TableName("lake", "sales", "items")


def a_catalog(*names: TableName) -> Catalog:
    return Catalog(Session("lake", "sales"), {n: SourceTable(n, ()) for n in names})


def tables_in(sql: str) -> list[str]:
    statement = parse_query(Query("q", sql)).statement
    assert statement is not None
    return [t.sql(dialect="trino") for t in table_nodes(statement)[0]]


def test_a_cte_named_like_a_table_hides_it_only_after_its_definition() -> None:
    # the body of `orders` reads the table; the main query reads the CTE
    assert tables_in("WITH orders AS (SELECT * FROM orders) SELECT * FROM orders") == ["orders"]


def test_an_earlier_cte_cannot_see_a_later_one() -> None:
    sql = "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM orders) SELECT * FROM a JOIN b ON 1 = 1"
    assert tables_in(sql) == ["b", "orders"]


def test_a_recursive_cte_sees_itself() -> None:
    sql = (
        "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT * FROM r"
    )
    assert tables_in(sql) == []


def test_a_cte_does_not_hide_a_qualified_table_name() -> None:
    assert tables_in("WITH orders AS (SELECT 1 AS x) SELECT * FROM sales.orders, orders") == [
        "sales.orders"
    ]


def test_a_cte_in_a_subquery_is_scoped_to_that_subquery() -> None:
    sql = "SELECT * FROM (WITH orders AS (SELECT 1 AS x) SELECT * FROM orders) s, orders"
    assert tables_in(sql) == ["orders"]


def test_tables_in_joins_unions_exists_and_in_subqueries_are_all_found() -> None:
    sql = (
        "SELECT o.id FROM orders o JOIN items i ON i.id = o.id "
        "WHERE EXISTS (SELECT 1 FROM hr.staff s WHERE s.id = o.id) "
        "AND o.id IN (SELECT id FROM lake.x.y) UNION ALL SELECT id FROM z"
    )
    assert tables_in(sql) == ["orders AS o", "items AS i", "hr.staff AS s", "lake.x.y", "z"]


def test_references_resolve_through_the_session_case_insensitively() -> None:
    parsed = parse_query(Query("q", 'SELECT * FROM "SALES".Orders JOIN lake.sales.ITEMS ON true'))
    profile = profile_query(parsed, a_catalog(ORDERS, ITEMS))
    assert profile.known == (ORDERS, ITEMS)
    assert profile.unknown == ()


def test_schema_qualified_columns_of_tables_the_query_reads_are_collected() -> None:
    sql = "SELECT sales.orders.id, x.y.z FROM sales.orders"
    profile = profile_query(parse_query(Query("q", sql)), a_catalog(ORDERS))
    assert [(c.name, c.span, c.table_part) for c in profile.columns] == [
        (ORDERS, (7, 18), "orders")
    ]


def test_an_unknown_table_is_reported_once_with_every_query_that_reads_it() -> None:
    parsed = parse_queries(
        [
            Query("q1", "SELECT * FROM refunds JOIN orders ON true"),
            Query("q2", "SELECT * FROM sales.refunds r, refunds"),
            Query("q3", "SELECT * FROM orders"),
        ]
    )
    _, issues = profile_queries(parsed, a_catalog(ORDERS))
    [issue] = issues
    assert issue.code == "unknown_table"
    assert issue.table == "lake.sales.refunds"
    assert issue.queryids == ("q1", "q2")


def test_statements_that_write_are_reported_by_kind() -> None:
    parsed = parse_queries(
        [
            Query("i1", "INSERT INTO orders SELECT * FROM orders"),
            Query("d1", "DELETE FROM orders WHERE id = 1"),
            Query("i2", "INSERT INTO orders VALUES (1)"),
            Query("s1", "SELECT 1"),
        ]
    )
    profile, issues = profile_queries(parsed, a_catalog(ORDERS))
    assert [(i.code, i.details["statement"], i.queryids) for i in issues] == [
        ("non_select", "INSERT", ("i1", "i2")),
        ("non_select", "DELETE", ("d1",)),
    ]
    assert [q.reads_only for q in profile.queries] == [False, False, False, True]


@pytest.mark.parametrize(
    ("runquantity", "executiontime", "weight"),
    [(4200, 18, 75600.0), (10, None, 10.0), (3, 0.5, 1.5), (-1, 5, 0.0), (1, math.nan, 0.0)],
)
def test_weight_is_runquantity_times_executiontime_missing_time_counting_as_one(
    runquantity: int, executiontime: float | None, weight: float
) -> None:
    assert query_weight(Query("q", "SELECT 1", runquantity, executiontime)) == weight


def test_usage_sums_the_weight_of_the_queries_naming_each_table() -> None:
    parsed = parse_queries(
        [
            Query("q1", "SELECT * FROM orders JOIN orders o2 ON true", 2, 3),
            Query("q2", "SELECT * FROM items", 1, None),
            Query("q3", "SELECT * FROM orders", 1, 4),
        ]
    )
    profile, _ = profile_queries(parsed, a_catalog(ORDERS, ITEMS))
    assert profile.total_weight == 11.0
    assert profile.usage[ORDERS].queryids == ("q1", "q3")
    assert profile.usage[ORDERS].weight == 10.0
    assert profile.share(profile.usage[ITEMS].weight) == pytest.approx(1 / 11)


def test_duplicate_queryids_are_reported() -> None:
    parsed = parse_queries([Query("q", "SELECT 1"), Query("q", "SELECT 2")])
    _, issues = profile_queries(parsed, a_catalog())
    assert [i.code for i in issues] == ["duplicate_queryid"]
