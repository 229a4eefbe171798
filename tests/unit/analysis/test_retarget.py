"""Retarget pass: only the names of source tables change; everything else stays as written."""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp

from domain.analysis import analyze
from domain.analysis.catalog import Catalog, SourceTable
from domain.analysis.names import Session, TableName, trino_sql
from domain.analysis.parse import parse_query
from domain.analysis.profile import profile_query
from domain.analysis.retarget import retarget, retarget_sql
from domain.workload import DdlStatement, Query, Workload

SESSION = Session("lake", "sales")
ORDERS = TableName("lake", "sales", "orders")
CUSTOMERS = TableName("lake", "sales", "customers")
HR_ORDERS = TableName("lake", "hr", "orders")
SAME_NAMES = {
    ORDERS: TableName("lake", "optimized", "orders"),
    CUSTOMERS: TableName("lake", "optimized", "customers"),
}
RENAMED = {
    ORDERS: TableName("lake", "optimized", "sales_orders"),
    HR_ORDERS: TableName("lake", "optimized", "hr_orders"),
}


def test_one_two_and_three_part_names_in_any_case_become_the_new_full_name() -> None:
    sql = 'SELECT * FROM orders a, Sales.ORDERS b, "LAKE"."sales"."Orders" c'
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "SELECT * FROM lake.optimized.orders a, lake.optimized.orders b, lake.optimized.orders c"
    )


def test_comments_and_layout_survive_byte_for_byte() -> None:
    sql = "SELECT id -- the key\nFROM orders /* all of them */\nWHERE id > 1 -- recent\n"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "SELECT id -- the key\n"
        "FROM lake.optimized.orders /* all of them */\n"
        "WHERE id > 1 -- recent\n"
    )


def test_a_line_comment_in_a_one_line_query_still_ends_the_query_where_it_did() -> None:
    # given a one-line query whose `--` comment swallows its own ORDER BY (as Trino reads it)
    sql = "select id from orders where id = 7 -- latest first order by id desc"
    # when retargeted
    rewritten = retarget_sql(sql, SESSION, SAME_NAMES)
    # then nothing is moved behind the comment, and it reads exactly as before
    assert (
        rewritten
        == "select id from lake.optimized.orders where id = 7 -- latest first order by id desc"
    )
    tree = sqlglot.parse_one(rewritten, read="trino")
    assert tree.args.get("order") is None
    assert tree.find(exp.Table).sql() == "lake.optimized.orders"  # type: ignore[union-attr]


def test_quoted_mixed_case_identifiers_stay_quoted() -> None:
    sql = 'SELECT "MyCol", o."Total" AS "Sum" FROM orders o'
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        'SELECT "MyCol", o."Total" AS "Sum" FROM lake.optimized.orders o'
    )


def test_a_cte_named_like_a_table_is_not_retargeted_but_the_table_inside_it_is() -> None:
    sql = "WITH orders AS (SELECT * FROM orders WHERE paid) SELECT count(*) FROM orders"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "WITH orders AS (SELECT * FROM lake.optimized.orders WHERE paid) "
        "SELECT count(*) FROM orders"
    )


def test_joins_unions_exists_and_in_subqueries_are_all_retargeted() -> None:
    sql = (
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.cid "
        "WHERE EXISTS (SELECT 1 FROM orders x WHERE x.cid = c.id) "
        "AND o.cid IN (SELECT id FROM sales.customers) UNION SELECT id FROM lake.sales.orders"
    )
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "SELECT o.id FROM lake.optimized.orders o JOIN lake.optimized.customers c ON c.id = o.cid "
        "WHERE EXISTS (SELECT 1 FROM lake.optimized.orders x WHERE x.cid = c.id) "
        "AND o.cid IN (SELECT id FROM lake.optimized.customers) "
        "UNION SELECT id FROM lake.optimized.orders"
    )


def test_a_renamed_table_keeps_its_old_name_visible_as_alias() -> None:
    # given `orders` renamed to `sales_orders`, and a column qualified with the table's name
    sql = "SELECT orders.id, h.id FROM orders JOIN hr.orders h ON h.id = orders.id"
    # then the relation is aliased with its old name, so `orders.id` still resolves
    assert retarget_sql(sql, SESSION, RENAMED) == (
        "SELECT orders.id, h.id FROM lake.optimized.sales_orders AS orders "
        "JOIN lake.optimized.hr_orders h ON h.id = orders.id"
    )


def test_schema_qualified_columns_follow_their_table() -> None:
    sql = "SELECT sales.orders.id, lake.sales.orders.cid FROM sales.orders"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "SELECT lake.optimized.orders.id, lake.optimized.orders.cid FROM lake.optimized.orders"
    )
    assert retarget_sql(sql, SESSION, RENAMED) == (
        "SELECT orders.id, orders.cid FROM lake.optimized.sales_orders AS orders"
    )


def test_the_table_statement_takes_no_alias() -> None:
    assert retarget_sql("TABLE orders", SESSION, RENAMED) == "TABLE lake.optimized.sales_orders"


def test_tables_outside_the_mapping_are_left_as_written() -> None:
    sql = "SELECT * FROM refunds r JOIN Orders o ON r.id = o.id"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "SELECT * FROM refunds r JOIN lake.optimized.orders o ON r.id = o.id"
    )


def test_writes_have_their_targets_retargeted_too() -> None:
    sql = "INSERT INTO orders (id) SELECT id FROM customers"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == (
        "INSERT INTO lake.optimized.orders (id) SELECT id FROM lake.optimized.customers"
    )


def test_without_recorded_positions_the_tree_is_renamed_and_regenerated_as_trino() -> None:
    # given a profile whose references lost their positions in the text
    sql = "SELECT o.id, hr.orders.id FROM orders o -- note\nJOIN hr.orders ON true"
    catalog = Catalog(SESSION, {name: SourceTable(name, ()) for name in RENAMED})
    profile = profile_query(parse_query(Query("q", sql)), catalog)
    references = [replace(r, span=None) for r in profile.references]
    # when retargeted
    result = retarget(sql, references, profile.columns, RENAMED, SESSION)
    # then it is generated with the Trino dialect: the line comment becomes a block comment
    assert result.changed
    assert result.sql == (
        "SELECT o.id, orders.id FROM lake.optimized.sales_orders AS o /* note */ "
        "JOIN lake.optimized.hr_orders AS orders ON TRUE"
    )


def test_a_query_naming_no_source_table_is_returned_as_it_came() -> None:
    sql = "select 1 -- nothing to do"
    assert retarget_sql(sql, SESSION, SAME_NAMES) == sql


def test_a_past_snapshot_keeps_reading_the_source_and_the_report_says_why() -> None:
    # given a query joining today's orders with the customers of a past snapshot
    workload = Workload(
        url="jdbc:trino://h:8080/lake/sales",
        ddl=(
            DdlStatement("CREATE TABLE orders (id bigint, customer_id bigint)"),
            DdlStatement("CREATE TABLE customers (customer_id bigint, name varchar)"),
        ),
        queries=(
            Query(
                "q",
                "SELECT o.id, c.name FROM orders o JOIN customers FOR VERSION AS OF 7 c "
                "ON c.customer_id = o.customer_id",
            ),
        ),
    )
    # when the engine answers
    result = analyze(workload)
    # then today's orders are read from the new table, the snapshot from the source, whose
    # history the new table does not have
    query = result.queries[0].query
    assert "FROM lake.optimized.orders o" in query
    assert "JOIN customers FOR VERSION AS OF 7 c" in query
    found = [f for f in result.report.findings if f.code == "time_travel"]
    assert [f.queryids for f in found] == [("q",)]
    assert "lake.sales.customers" in found[0].title


def test_a_time_zone_conversion_is_written_as_trino_reads_it_back() -> None:
    # Trino's generator writes AT_TIMEZONE(x, zone), which sqlglot reads back as an unknown
    # function: the engine writes x AT TIME ZONE zone, which every dialect reads
    tree = sqlglot.parse_one("SELECT hour(ts AT TIME ZONE 'Europe/Berlin') FROM t", read="trino")
    written = trino_sql(tree)
    assert written == "SELECT HOUR(ts AT TIME ZONE 'Europe/Berlin') FROM t"
    assert sqlglot.parse_one(written, read="trino").find(exp.AtTimeZone) is not None
