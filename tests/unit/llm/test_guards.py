"""The guards decide what an LLM may change: each test states one rule."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import domain.guards
from domain.guards import (
    GuardContext,
    TableSpec,
    equivalent,
    migration_errors,
    parse_statement,
    query_errors,
    table_ddl_errors,
    table_specs,
)

ORDERS_DDL = (
    "CREATE TABLE lake.opt.orders (id BIGINT, customer VARCHAR, amount DOUBLE, "
    "ordered_at TIMESTAMP(6), day DATE) "
    "WITH (format = 'PARQUET', format_version = 2, partitioning = ARRAY['month(day)'])"
)
COPY = (
    "INSERT INTO lake.opt.orders (id, customer, amount, ordered_at, day) "
    "SELECT id, customer, amount, ordered_at, day FROM lake.sales.orders"
)
SPLIT = [f"{COPY} WHERE month(day) = {m}" for m in range(1, 13)] + [f"{COPY} WHERE day IS NULL"]


def orders() -> TableSpec:
    return table_specs([ORDERS_DDL], SPLIT)[("lake", "opt", "orders")]


def context() -> GuardContext:
    return GuardContext("lake", "opt", table_specs([ORDERS_DDL], SPLIT))


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(domain.guards)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE lake.sales.orders",
        "DELETE FROM lake.opt.orders",
        "UPDATE lake.opt.orders SET amount = 0",
        "ALTER TABLE lake.opt.orders ADD COLUMN x int",
        "GRANT SELECT ON lake.opt.orders TO evil",
        "CALL lake.system.rollback_to_snapshot('opt', 'orders', 1)",
        "SELECT 1; DROP TABLE lake.sales.orders",
        "MERGE INTO lake.opt.orders t USING lake.sales.orders s ON t.id = s.id "
        "WHEN MATCHED THEN DELETE",
        "TRUNCATE TABLE lake.opt.orders",
        "",
    ],
)
def test_statements_outside_the_allow_list_are_refused(sql: str) -> None:
    tree, errors = parse_statement(sql, ["CREATE SCHEMA", "CREATE TABLE", "INSERT", "SELECT"])
    assert tree is None
    assert errors


def test_invalid_sql_is_refused_with_the_parsers_message() -> None:
    _, errors = parse_statement("SELEC id FRM lake.opt.orders", ["SELECT"])
    assert errors
    assert errors[0].startswith("not valid Trino SQL")
    assert "\x1b" not in errors[0]


@given(st.text(max_size=60))
def test_no_text_makes_the_guards_raise(text: str) -> None:
    query_errors(text, context())
    table_ddl_errors(text, orders())
    migration_errors([text], orders())


def test_the_engines_own_statements_pass() -> None:
    spec = orders()
    assert table_ddl_errors(ORDERS_DDL, spec) == []
    assert migration_errors(SPLIT, spec) == []


@pytest.mark.parametrize(
    "layout",
    [
        "partitioning = ARRAY['day(day)']",
        "partitioning = ARRAY['day(ordered_at)', 'bucket(customer, 16)']",
        "partitioning = ARRAY['hour(ordered_at)'], sorted_by = ARRAY['customer DESC NULLS LAST']",
        "partitioning = ARRAY['truncate(customer, 4)']",
        "sorted_by = ARRAY['id']",
    ],
)
def test_a_new_layout_over_known_columns_is_accepted(layout: str) -> None:
    sql = ORDERS_DDL.replace("partitioning = ARRAY['month(day)']", layout)
    assert table_ddl_errors(sql, orders()) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("partitioning = ARRAY['month(price)']", "unknown column"),
        ("partitioning = ARRAY['hour(day)']", "needs a timestamp"),
        ("partitioning = ARRAY['month(customer)']", "needs a date"),
        ("partitioning = ARRAY['identity(id)']", "not an Iceberg partition"),
        ("sorted_by = ARRAY['nope']", "unknown column"),
        ("partitioning = 'day'", "ARRAY"),
        ("partitioning = ARRAY['month(day)'], location = 's3://x'", "only partitioning"),
    ],
)
def test_a_layout_over_unknown_columns_or_transforms_is_refused(change: str, error: str) -> None:
    sql = ORDERS_DDL.replace("partitioning = ARRAY['month(day)']", change)
    assert any(error in e for e in table_ddl_errors(sql, orders()))


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (ORDERS_DDL.replace("amount DOUBLE, ", ""), "columns must stay"),
        (ORDERS_DDL.replace("amount DOUBLE", "amount DECIMAL(10, 2)"), "columns must stay"),
        (ORDERS_DDL.replace("lake.opt.orders", "lake.opt.orders_v2"), "expected lake.opt"),
        (ORDERS_DDL.replace("lake.opt.orders", "opt.orders"), "fully qualified"),
        (ORDERS_DDL.replace("format_version = 2", "format_version = 1"), "only partitioning"),
        ("CREATE TABLE lake.opt.orders AS SELECT * FROM lake.sales.orders", "columns"),
    ],
)
def test_a_ddl_that_changes_more_than_the_layout_is_refused(sql: str, error: str) -> None:
    assert any(error in e for e in table_ddl_errors(sql, orders()))


def test_one_copy_without_where_replaces_the_split() -> None:
    assert migration_errors([COPY], orders()) == []


def test_a_month_split_on_another_date_column_copies_every_row() -> None:
    split = [f"{COPY} WHERE month(ordered_at) = {m}" for m in range(1, 13)]
    assert migration_errors([*split, f"{COPY} WHERE ordered_at IS NULL"], orders()) == []


@pytest.mark.parametrize(
    ("statements", "error"),
    [
        ([f"{COPY} WHERE amount > 0"], "every row exactly once"),
        (SPLIT[:-1], "every row exactly once"),
        ([COPY, COPY], "every row exactly once"),
        ([COPY.replace("lake.sales.orders", "lake.sales.other")], "read lake.sales.orders"),
        ([COPY.replace("SELECT id,", "SELECT id + 1,")], "copy every column"),
        ([COPY.replace(", day) SELECT", ") SELECT").replace(", day FROM", " FROM")], "column"),
        ([COPY.replace("lake.opt.orders", "lake.sales.orders")], "expected lake.opt.orders"),
        ([f"{COPY} LIMIT 10"], "source table only"),
        (["DROP TABLE lake.sales.orders"], "not allowed"),
        ([], "must be filled"),
    ],
)
def test_migrations_that_lose_or_change_rows_are_refused(statements: list[str], error: str) -> None:
    assert any(error in e for e in migration_errors(statements, orders()))


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELECT id FROM lake.opt.refunds", "unknown table lake.opt.refunds"),
        ("SELECT id FROM lake.sales.orders", "not in the new schema"),
        ("SELECT id FROM orders", "not fully qualified"),
        ("SELECT price FROM lake.opt.orders", "unknown column"),
        ("INSERT INTO lake.opt.orders SELECT * FROM lake.opt.orders", "not allowed"),
        ("SELECT id FROM lake.opt.orders WHERE id IN (DELETE FROM lake.opt.orders)", ""),
    ],
)
def test_a_query_reads_only_known_tables_and_columns_of_the_new_schema(
    sql: str, error: str
) -> None:
    errors = query_errors(sql, context())
    assert errors
    assert any(error in e for e in errors)


def test_a_query_may_use_ctes_and_aliases() -> None:
    sql = (
        "WITH big AS (SELECT customer, amount FROM lake.opt.orders WHERE amount > 100) "
        "SELECT b.customer, sum(b.amount) AS total FROM big AS b GROUP BY b.customer"
    )
    assert query_errors(sql, context()) == []


@pytest.mark.parametrize(
    ("proposed", "engine", "same"),
    [
        (
            "SELECT o.customer FROM lake.opt.orders AS o WHERE 100 < o.amount",
            "SELECT customer FROM lake.opt.orders WHERE amount > 100",
            True,
        ),
        (
            "select CUSTOMER from LAKE.OPT.ORDERS where amount > 100 and id = 1",
            "SELECT customer FROM lake.opt.orders WHERE id = 1 AND amount > 100",
            True,
        ),
        (
            "SELECT customer FROM lake.opt.orders WHERE amount >= 100",
            "SELECT customer FROM lake.opt.orders WHERE amount > 100",
            False,
        ),
        (
            "SELECT customer AS c FROM lake.opt.orders",
            "SELECT customer FROM lake.opt.orders",
            False,
        ),
        (
            "SELECT customer FROM lake.opt.orders LIMIT 5",
            "SELECT customer FROM lake.opt.orders",
            False,
        ),
    ],
)
def test_a_rewrite_is_equivalent_only_when_the_optimizer_proves_it(
    proposed: str, engine: str, same: bool
) -> None:
    assert equivalent(proposed, engine, context()) is same
