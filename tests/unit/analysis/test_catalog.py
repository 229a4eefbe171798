"""Catalog pass: the source tables, fully named from the session, with their columns."""

from __future__ import annotations

import pytest

from domain.analysis.catalog import Catalog, build_catalog, time_partitioned
from domain.analysis.findings import Issue
from domain.analysis.names import TableName
from domain.analysis.parse import parse_ddl
from domain.workload import DdlStatement


def catalog_of(url: str, *ddl: str) -> tuple[Catalog, list[Issue]]:
    return build_catalog(parse_ddl([DdlStatement(s) for s in ddl]), url)


def test_one_and_two_part_names_are_completed_from_the_url_catalog_and_schema() -> None:
    # given a URL naming catalog `lake` and schema `sales`
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080/lake/sales",
        "CREATE TABLE orders (id bigint)",
        "CREATE TABLE hr.staff (id bigint)",
        "CREATE TABLE other.x.y (id bigint)",
    )
    # then every table has its three parts
    assert list(catalog.tables) == [
        TableName("lake", "sales", "orders"),
        TableName("lake", "hr", "staff"),
        TableName("other", "x", "y"),
    ]


@pytest.mark.parametrize(
    ("url", "ddl", "expected"),
    [
        ("jdbc:trino://h:8080?catalog=Lake", "CREATE TABLE c.s.t (id int)", ("lake", True)),
        ("jdbc:trino://h:8080/lake", "CREATE TABLE c.s.t (id int)", ("lake", True)),
        (
            "jdbc:trino://h:8080",
            "CREATE TABLE s.t (id int); CREATE TABLE c.s.u (id int)",
            ("c", False),
        ),
        ("jdbc:trino://h:8080", "CREATE TABLE s.t (id int)", ("iceberg", False)),
        ("jdbc:trino://h:8080?user=u", "", ("iceberg", False)),
    ],
)
def test_catalog_is_the_urls_else_the_first_ddl_tables_else_iceberg(
    url: str, ddl: str, expected: tuple[str, bool]
) -> None:
    catalog, issues = catalog_of(url, ddl)
    assert (catalog.session.catalog, catalog.catalog_from_url) == expected
    assumed = [i for i in issues if i.code == "assumed_default"]
    assert bool(assumed) != expected[1]


def test_schema_comes_from_the_url_parameter_too() -> None:
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080?catalog=lake&schema=Sales", "CREATE TABLE t (x int)"
    )
    assert catalog.session.schema == "sales"
    assert TableName("lake", "sales", "t") in catalog.tables


def test_without_any_schema_one_part_names_land_in_default_and_it_is_reported() -> None:
    catalog, issues = catalog_of("jdbc:trino://h:8080?catalog=lake", "CREATE TABLE t (x int)")
    assert list(catalog.tables) == [TableName("lake", "default", "t")]
    assert any(i.code == "assumed_default" and i.details.get("schema") for i in issues)


def test_names_are_case_insensitive_but_columns_keep_their_quoting() -> None:
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080/lake/sales", 'CREATE TABLE "Sales"."Orders" ("MyCol" int, plain int)'
    )
    [table] = catalog.tables.values()
    assert table.name == TableName("lake", "sales", "orders")
    assert [c.sql_name for c in table.columns] == ['"MyCol"', "plain"]


def test_create_table_as_select_keeps_the_names_its_query_makes_visible() -> None:
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080/lake/sales",
        "CREATE TABLE daily AS "
        "SELECT date(ts) AS day, o.amount, count(*) AS n FROM o GROUP BY 1, 2",
    )
    [table] = catalog.tables.values()
    assert [c.sql_name for c in table.columns] == ["day", "amount", "n"]
    assert not table.typed


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE t AS SELECT * FROM o",
        "CREATE TABLE t AS SELECT count(*) FROM o",
        "CREATE TABLE t (LIKE o INCLUDING PROPERTIES, extra int)",
    ],
)
def test_columns_that_cannot_all_be_named_are_left_to_the_source_table(ddl: str) -> None:
    catalog, _ = catalog_of("jdbc:trino://h:8080/lake/sales", ddl)
    [table] = catalog.tables.values()
    assert table.columns == ()
    assert not table.typed


def test_a_table_defined_twice_keeps_its_first_definition_and_is_reported() -> None:
    catalog, issues = catalog_of(
        "jdbc:trino://h:8080/lake/sales",
        "CREATE TABLE orders (a int)",
        "CREATE TABLE lake.SALES.orders (b int)",
    )
    [table] = catalog.tables.values()
    assert [c.sql_name for c in table.columns] == ["a"]
    assert [i.code for i in issues] == ["duplicate_table"]


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE VIEW v AS SELECT 1 AS x",
        "CREATE SCHEMA lake.sales",
        "ALTER TABLE t ADD COLUMN x int",
        "INSERT INTO t VALUES (1)",
    ],
)
def test_statements_that_define_no_table_are_reported_as_unsupported(ddl: str) -> None:
    catalog, issues = catalog_of("jdbc:trino://h:8080/lake/sales", ddl)
    assert not catalog.tables
    assert [i.code for i in issues] == ["unsupported_ddl"]


def test_properties_and_comment_are_collected_by_trino_name() -> None:
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080/lake/sales",
        "CREATE TABLE t (x int) COMMENT 'facts' WITH (format = 'ORC', location = 's3://b/t', "
        "partitioned_by = ARRAY['x'], sorted_by = ARRAY['x'])",
    )
    [table] = catalog.tables.values()
    assert [p.name for p in table.properties] == [
        "format",
        "location",
        "partitioned_by",
        "sorted_by",
    ]
    assert table.comment is not None
    assert table.comment.sql(dialect="trino") == "'facts'"


@pytest.mark.parametrize(
    ("partitioning", "by_time"),
    [
        ("partitioning = ARRAY['month(ts)']", True),
        ("partitioning = ARRAY['bucket(id, 8)', 'day(ts)']", True),
        ("partitioning = ARRAY['d']", True),  # the identity of a date column: days
        ("partitioned_by = ARRAY['d']", True),
        ("partitioning = ARRAY['bucket(id, 8)', 'country']", False),
        ("format = 'PARQUET'", False),
    ],
)
def test_a_source_partitioned_by_time_is_told_from_its_own_ddl(
    partitioning: str, by_time: bool
) -> None:
    catalog, _ = catalog_of(
        "jdbc:trino://h:8080/lake/sales",
        "CREATE TABLE t (id bigint, ts timestamp(6), d date, country varchar) "
        f"WITH ({partitioning})",
    )
    [table] = catalog.tables.values()
    assert time_partitioned(table) is by_time
