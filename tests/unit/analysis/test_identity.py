"""The identity answer: every source table copied as it is into the target schema, filled from
its source, and every query only retargeted to the copies."""

from __future__ import annotations

import doctest
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from sqlglot import exp
from sqlglot.errors import SqlglotError

import domain.analysis.identity
from domain.analysis.identity import identity_result
from domain.analysis.names import Session
from domain.result import AnalysisResult
from domain.workload import Workload
from tests.unit.analysis.contract import parse_trino, stored_tables
from tests.unit.analysis.strategies import World, workloads
from tests.unit.analysis.support import WorkloadFactory

Loader = Callable[[str], Workload]

# The tables each example's DDL defines (a view and a broken statement define none).
EXAMPLE_TABLES = {"clicks": 2, "flights": 1, "messy": 5, "tickets": 2}
EXAMPLE_SCHEMAS = {
    "clicks": "web.optimized",
    "flights": "flights.optimized",
    "messy": "lake.optimized",
    "tickets": "support.optimized",
}


def identity_of(workload: Workload) -> AnalysisResult:
    return identity_result(workload, target_schema=workload.options.target_schema)


def create(result: AnalysisResult, table: str) -> str:
    return next(s.statement for s in result.ddl if s.statement.startswith(f"CREATE TABLE {table} "))


def query(result: AnalysisResult, queryid: str) -> str:
    return next(q.query for q in result.queries if q.queryid == queryid)


def three_parts(table: exp.Table) -> tuple[str, ...]:
    return tuple(table.text(k).lower() for k in ("catalog", "db", "this") if table.args.get(k))


@pytest.fixture
def messy(load_example: Loader) -> AnalysisResult:
    return identity_of(load_example("messy"))


# --- the DDL --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLE_TABLES))
def test_the_first_statement_creates_the_target_schema_in_the_urls_catalog(
    name: str, load_example: Loader
) -> None:
    result = identity_of(load_example(name))

    assert result.ddl[0].statement == f"CREATE SCHEMA {EXAMPLE_SCHEMAS[name]}"


@pytest.mark.parametrize("name", sorted(EXAMPLE_TABLES))
def test_each_source_table_gets_one_create_table_and_its_inserts_in_the_target_schema(
    name: str, load_example: Loader
) -> None:
    result = identity_of(load_example(name))
    catalog, schema = EXAMPLE_SCHEMAS[name].split(".")

    created = [three_parts(parse_trino(s.statement).find(exp.Table)) for s in result.ddl[1:]]  # type: ignore[arg-type]
    filled = [three_parts(parse_trino(s.statement).find(exp.Table)) for s in result.migrations]  # type: ignore[arg-type]

    assert len(created) == EXAMPLE_TABLES[name] == len(set(created))
    assert all(parse_trino(s.statement).key == "create" for s in result.ddl[1:])
    assert all(t[:2] == (catalog, schema) for t in created)
    assert list(dict.fromkeys(filled)) == created  # each filled in turn


def test_a_copy_keeping_day_partitions_is_filled_month_by_month(messy: AnalysisResult) -> None:
    # one INSERT would open a writer per day of the data, more than Trino's writers may
    copies = [m.statement for m in messy.migrations if "optimized.sales_orders " in m.statement]
    assert len(copies) == 13
    assert copies[0].endswith("WHERE month(order_ts) = 1")
    assert copies[-1].endswith("WHERE order_ts IS NULL")


def test_columns_types_and_constraints_are_copied_as_declared(messy: AnalysisResult) -> None:
    assert create(messy, "lake.optimized.customers") == (
        "CREATE TABLE lake.optimized.customers (customer_id BIGINT NOT NULL, "
        "\"Name\" VARCHAR COMMENT 'display name', region VARCHAR, vip BOOLEAN)"
    )
    # no widening for Iceberg: the identity changes no type
    assert "kind TINYINT, at TIMESTAMP(3)" in create(messy, "lake.optimized.events")


def test_the_sources_iceberg_properties_are_kept(messy: AnalysisResult) -> None:
    assert create(messy, "lake.optimized.sales_orders").endswith(
        "WITH (format = 'ORC', partitioning = ARRAY['day(order_ts)'])"
    )


def test_properties_an_iceberg_table_does_not_take_are_left_out_and_the_report_says_so(
    messy: AnalysisResult,
) -> None:
    # a Hive DDL's partitioned_by / bucketed_by would make the copy's CREATE TABLE fail
    assert create(messy, "lake.optimized.events").endswith("WITH (format = 'ORC')")
    assert "nor properties an Iceberg table does not take" in messy.report.summary


def test_a_table_without_properties_gets_no_with_clause(load_example: Loader) -> None:
    result = identity_of(load_example("tickets"))

    assert all(" WITH " not in s.statement for s in result.ddl)


def test_the_storage_location_is_not_copied_and_the_report_says_so(
    messy: AnalysisResult,
) -> None:
    # a copy sharing its source's files could not be created (or would double its rows)
    assert "s3://" not in create(messy, "lake.optimized.sales_orders")
    assert "lake.sales.orders, lake.staging.events do not keep their source's storage location" in (
        messy.report.summary
    )


def test_a_table_whose_columns_are_not_typed_is_created_from_its_source_without_data(
    messy: AnalysisResult,
) -> None:
    assert create(messy, "lake.optimized.daily_revenue") == (
        "CREATE TABLE lake.optimized.daily_revenue "
        "AS SELECT * FROM lake.sales.daily_revenue WITH NO DATA"
    )


def test_names_are_completed_from_the_session_and_same_named_tables_do_not_collide(
    messy: AnalysisResult,
) -> None:
    # "Hr"."Orders" and orders (lake.sales, from the URL) would both be `orders`
    assert create(messy, "lake.optimized.hr_orders").startswith(
        "CREATE TABLE lake.optimized.hr_orders (order_id BIGINT"
    )
    assert create(messy, "lake.optimized.sales_orders")


def test_a_blank_target_schema_means_the_default_one(make_workload: WorkloadFactory) -> None:
    workload = make_workload(["CREATE TABLE t (a int)"])

    result = identity_result(workload, target_schema="  ")

    assert result.ddl[0].statement == "CREATE SCHEMA lake.optimized"


# --- the migrations -------------------------------------------------------------------------


def test_typed_tables_are_filled_with_their_columns_listed_on_both_sides(
    messy: AnalysisResult,
) -> None:
    assert (
        'INSERT INTO lake.optimized.customers (customer_id, "Name", region, vip) '
        'SELECT customer_id, "Name", region, vip FROM lake.sales.customers'
    ) in [s.statement for s in messy.migrations]


def test_untyped_tables_are_filled_with_star_from_their_source(messy: AnalysisResult) -> None:
    assert "INSERT INTO lake.optimized.daily_revenue SELECT * FROM lake.sales.daily_revenue" in [
        s.statement for s in messy.migrations
    ]


# --- the queries ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLE_TABLES))
def test_every_queryid_comes_back_once_in_input_order(name: str, load_example: Loader) -> None:
    workload = load_example(name)

    result = identity_of(workload)

    assert [q.queryid for q in result.queries] == [q.queryid for q in workload.queries]


@pytest.mark.parametrize("name", ["clicks", "flights", "tickets"])
def test_queries_read_only_the_target_schema(name: str, load_example: Loader) -> None:
    result = identity_of(load_example(name))
    schema = tuple(EXAMPLE_SCHEMAS[name].split("."))

    for rewritten in result.queries:
        tables = stored_tables(parse_trino(rewritten.query))
        assert tables, rewritten
        assert all(three_parts(t)[:2] == schema for t in tables), rewritten.query


def test_tables_outside_the_ddl_are_left_alone(messy: AnalysisResult) -> None:
    assert query(messy, "m-unknown-table") == (
        "SELECT r.amount, o.order_id FROM lake.sales.refunds AS r "
        "JOIN lake.optimized.sales_orders AS o ON r.order_id = o.order_id"
    )
    assert query(messy, "m-qualified-twice") == "SELECT * FROM lake.sales.lake.sales.orders"


def test_cte_names_are_not_renamed(messy: AnalysisResult, load_example: Loader) -> None:
    # the CTE `orders` reads the table orders, and the query reads the CTE
    assert query(messy, "m-cte-shadow") == (
        "WITH orders AS (SELECT * FROM lake.optimized.sales_orders AS orders "
        "WHERE status = 'paid') "
        'SELECT customer_id, SUM("TotalAmount") AS "Total" FROM orders GROUP BY customer_id'
    )
    clicks = identity_of(load_example("clicks"))
    assert query(clicks, "c-year").endswith("SELECT COUNT(*) FROM y WHERE n > 10")


def test_columns_qualified_with_a_renamed_table_still_resolve(messy: AnalysisResult) -> None:
    assert query(messy, "m-qualified-columns") == (
        "SELECT orders.order_id, orders.status FROM lake.optimized.sales_orders AS orders "
        "WHERE orders.status = 'open'"
    )


def test_queries_that_do_not_parse_come_back_unchanged(
    messy: AnalysisResult, load_example: Loader
) -> None:
    sent = {q.queryid: q.query for q in load_example("messy").queries}

    for queryid in ("m-unparseable", "m-show", "m-empty"):
        assert query(messy, queryid) == sent[queryid]
    statuses = {q["queryid"]: q["status"] for q in messy.report.verification["queries"]}
    assert statuses["m-show"] == "unchanged"
    assert statuses["m-cte-shadow"] == "retargeted"


def test_a_query_reading_no_source_table_comes_back_as_sent(
    make_workload: WorkloadFactory,
) -> None:
    workload = make_workload(["CREATE TABLE t (a int)"], [("q1", "select 1 -- constant")])

    assert query(identity_of(workload), "q1") == "select 1 -- constant"


# --- the report -----------------------------------------------------------------------------


def test_the_result_says_it_is_the_identity_answer(load_example: Loader) -> None:
    result = identity_of(load_example("clicks"))

    assert result.meta.engine == "identity"
    assert set(result.meta.parts.values()) == {"identity"}
    assert result.report.summary.startswith(
        "The identity answer: the 2 source table(s) copied into web.optimized as they are"
    )
    assert "only retargeted" in result.report.summary
    assert AnalysisResult.from_dict(result.to_dict()) == result


def test_docstring_examples_hold() -> None:
    outcome = doctest.testmod(domain.analysis.identity)

    assert outcome.attempted > 0
    assert outcome.failed == 0


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=workloads())
def test_any_generated_workload_is_copied_whole_and_read_only_in_the_target_schema(
    generated: tuple[World, Workload],
) -> None:
    world, workload = generated
    result = identity_of(workload)
    target = (world.catalog, workload.options.target_schema.lower())
    session = Session(world.catalog, world.schema)
    sources = {(t.catalog, t.schema, t.name) for t in world.tables}

    assert result.ddl[0].statement.lower() == "create schema {}.{}".format(*target)
    assert len(result.ddl) - 1 == len(result.migrations) == len(world.tables)
    for statement in (*result.ddl, *result.migrations):
        parse_trino(statement.statement)
    assert [q.queryid for q in result.queries] == [q.queryid for q in workload.queries]
    for sent, rewritten in zip(workload.queries, result.queries, strict=True):
        try:
            tree = parse_trino(rewritten.query)
        except (AssertionError, SqlglotError):  # not Trino SQL: returned as it came
            assert rewritten.query == sent.query
            continue
        for table in stored_tables(tree):
            parts = three_parts(table)
            name = session.resolve(parts) if 1 <= len(parts) <= 3 else None
            outside = name is None or (name.catalog, name.schema, name.table) not in sources
            assert parts[:2] == target or outside, rewritten.query
