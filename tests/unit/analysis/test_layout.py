"""Layout pass: the new table for each source table, in the target schema."""

from __future__ import annotations

from domain.analysis.catalog import build_catalog
from domain.analysis.findings import Issue
from domain.analysis.layout import Layout, new_names, plan_layout
from domain.analysis.names import TableName
from domain.analysis.parse import parse_ddl
from domain.workload import DdlStatement


def layout_of(*ddl: str, target: str = "optimized") -> tuple[Layout, list[Issue]]:
    catalog, _ = build_catalog(
        parse_ddl([DdlStatement(s) for s in ddl]), "jdbc:trino://h:8080/lake/sales"
    )
    return plan_layout(catalog, target)


def creates(layout: Layout) -> list[str]:
    return [layout.create_table_sql(t) for t in layout.targets.values()]


def test_baseline_keeps_the_columns_and_stores_them_as_parquet_in_the_target_schema() -> None:
    layout, issues = layout_of(
        "CREATE TABLE orders (id bigint NOT NULL, \"MyCol\" varchar(10) COMMENT 'c', "
        "ts timestamp(6) with time zone, tags array(varchar), attrs map(varchar, row(a int)))"
    )
    assert layout.create_schema_sql() == "CREATE SCHEMA lake.optimized"
    assert creates(layout) == [
        'CREATE TABLE lake.optimized.orders (id BIGINT NOT NULL, "MyCol" VARCHAR(10) '
        "COMMENT 'c', ts TIMESTAMP(6) WITH TIME ZONE, tags ARRAY(VARCHAR), "
        "attrs MAP(VARCHAR, ROW(a INTEGER))) WITH (format = 'PARQUET', format_version = 2)"
    ]
    assert issues == []


def test_a_name_beyond_ascii_letters_is_quoted_as_trino_needs() -> None:
    # Trino reads only ASCII letters, digits and underscores unquoted
    layout, _ = layout_of('CREATE TABLE "Umsätze" ("Betrag €" double, größe int)')
    assert creates(layout) == [
        'CREATE TABLE lake.optimized."umsätze" ("Betrag €" DOUBLE, "größe" INTEGER) '
        "WITH (format = 'PARQUET', format_version = 2)"
    ]


def test_tables_sharing_a_name_across_schemas_are_renamed_after_their_schema() -> None:
    # given `orders` in two schemas and a unique `items`
    layout, issues = layout_of(
        "CREATE TABLE orders (id int)",
        "CREATE TABLE hr.orders (id int)",
        "CREATE TABLE items (id int)",
    )
    # then the two `orders` are told apart, deterministically, and the renames are reported
    assert [t.name.table for t in layout.targets.values()] == ["sales_orders", "hr_orders", "items"]
    [collision] = issues
    assert collision.code == "name_collision"
    assert collision.details["renamed"] == {
        "lake.sales.orders": "lake.optimized.sales_orders",
        "lake.hr.orders": "lake.optimized.hr_orders",
    }


def test_a_unique_name_keeps_its_own_even_if_a_rename_would_produce_it() -> None:
    names, _ = new_names(
        [TableName("l", "a", "t"), TableName("l", "b", "t"), TableName("l", "x", "a_t")], "l", "new"
    )
    assert [n.table for n in names.values()] == ["l_a_t", "b_t", "a_t"]


def test_a_source_table_already_in_the_target_schema_cannot_keep_its_name() -> None:
    names, issues = new_names([TableName("lake", "optimized", "orders")], "lake", "optimized")
    assert names[TableName("lake", "optimized", "orders")].table == "optimized_orders"
    assert [i.code for i in issues] == ["name_collision"]


def test_names_are_distinct_even_when_every_candidate_is_taken() -> None:
    sources = [
        TableName("c", "s", "t"),
        TableName("d", "s", "t"),
        TableName("e", "x", "s_t"),
        TableName("f", "y", "c_s_t"),
    ]
    names, _ = new_names(sources, "c", "new")
    assert len({n.table for n in names.values()}) == len(sources)


def test_storage_properties_are_dropped_and_the_layout_is_kept() -> None:
    layout, issues = layout_of(
        "CREATE TABLE t (d date, x int) COMMENT 'facts' WITH (format = 'ORC', "
        "location = 's3://b/t', partitioning = ARRAY['month(d)'], sorted_by = ARRAY['x'], "
        "format_version = 2)"
    )
    assert creates(layout) == [
        "CREATE TABLE lake.optimized.t (d DATE, x INTEGER) COMMENT 'facts' WITH (format = "
        "'PARQUET', format_version = 2, partitioning = ARRAY['month(d)'], sorted_by = ARRAY['x'])"
    ]
    assert [(i.code, i.details["properties"]) for i in issues] == [
        ("dropped_property", ["location", "format_version"])
    ]


def test_hive_partitions_and_bucketing_are_dropped() -> None:
    # an identity partition per value of ds would make the copy open a writer per value
    layout, issues = layout_of(
        "CREATE TABLE t (x int, ds varchar) WITH (partitioned_by = ARRAY['ds'], "
        "bucketed_by = ARRAY['x'], bucket_count = 4)"
    )
    assert creates(layout)[0].endswith("WITH (format = 'PARQUET', format_version = 2)")
    assert issues[0].details["properties"] == ["partitioned_by", "bucketed_by", "bucket_count"]


def test_types_iceberg_cannot_store_are_widened_without_loss_and_reported() -> None:
    layout, issues = layout_of(
        "CREATE TABLE t (a tinyint, b smallint, c timestamp, d timestamp(3) with time zone, "
        "e time(0), f array(row(g tinyint)))"
    )
    assert creates(layout) == [
        "CREATE TABLE lake.optimized.t (a INTEGER, b INTEGER, c TIMESTAMP(6), "
        "d TIMESTAMP(6) WITH TIME ZONE, e TIME(6), f ARRAY(ROW(g INTEGER))) "
        "WITH (format = 'PARQUET', format_version = 2)"
    ]
    assert [i.code for i in issues] == ["type_widened"]
    assert issues[0].details["columns"]["a"] == "TINYINT -> INTEGER"


def test_char_is_kept_as_written_and_flagged() -> None:
    layout, issues = layout_of("CREATE TABLE t (code char(3))")
    assert "code CHAR(3)" in creates(layout)[0]
    assert [i.code for i in issues] == ["type_unsupported"]


def test_an_untyped_source_is_copied_from_the_source_table_with_no_data() -> None:
    layout, issues = layout_of(
        "CREATE TABLE daily AS SELECT day, sum(x) AS total FROM o GROUP BY 1"
    )
    assert creates(layout) == [
        "CREATE TABLE lake.optimized.daily WITH (format = 'PARQUET', format_version = 2) "
        "AS SELECT day, total FROM lake.sales.daily WITH NO DATA"
    ]
    assert [i.code for i in issues] == ["columns_from_source"]


def test_a_blank_target_schema_falls_back_to_the_default_and_names_are_lower_case() -> None:
    assert layout_of(target="  ")[0].create_schema_sql() == "CREATE SCHEMA lake.optimized"
    assert layout_of(target="Better")[0].create_schema_sql() == "CREATE SCHEMA lake.better"
    assert layout_of(target="my schema")[0].create_schema_sql() == 'CREATE SCHEMA lake."my schema"'
