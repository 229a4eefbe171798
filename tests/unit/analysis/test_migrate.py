"""Migrate pass: one INSERT … SELECT per table, columns listed, names fully qualified."""

from __future__ import annotations

from domain.analysis import analyze
from domain.analysis.catalog import build_catalog
from domain.analysis.layout import plan_layout
from domain.analysis.migrate import migrations
from domain.analysis.parse import parse_ddl
from domain.workload import DdlStatement, Query, Workload


def migrations_of(*ddl: str) -> list[str]:
    catalog, _ = build_catalog(
        parse_ddl([DdlStatement(s) for s in ddl]), "jdbc:trino://h:8080/lake/sales"
    )
    layout, _ = plan_layout(catalog, "optimized")
    return migrations(layout.targets.values())


def test_each_table_is_copied_with_an_explicit_column_list_keeping_quoting() -> None:
    assert migrations_of(
        'CREATE TABLE orders (id bigint, "MyCol" varchar)', "CREATE TABLE hr.x (a int)"
    ) == [
        'INSERT INTO lake.optimized.orders (id, "MyCol") SELECT id, "MyCol" FROM lake.sales.orders',
        "INSERT INTO lake.optimized.x (a) SELECT a FROM lake.hr.x",
    ]


def test_renamed_tables_are_filled_from_their_own_source() -> None:
    assert migrations_of("CREATE TABLE t (a int)", "CREATE TABLE hr.t (b int)") == [
        "INSERT INTO lake.optimized.sales_t (a) SELECT a FROM lake.sales.t",
        "INSERT INTO lake.optimized.hr_t (b) SELECT b FROM lake.hr.t",
    ]


def test_without_named_columns_the_copy_selects_star_from_a_same_shaped_table() -> None:
    assert migrations_of("CREATE TABLE t AS SELECT * FROM o") == [
        "INSERT INTO lake.optimized.t SELECT * FROM lake.sales.t"
    ]


def test_a_copy_that_keeps_its_sources_day_partitions_is_filled_month_by_month() -> None:
    # given a source partitioned by day that nothing in the workload asks to change
    workload = Workload(
        "jdbc:trino://h:8080/lake/s",
        (
            DdlStatement(
                "CREATE TABLE lake.s.ev (id bigint, ts timestamp(6), kind varchar)"
                " WITH (partitioning = ARRAY['day(ts)'])"
            ),
        ),
        (Query("q", "SELECT kind, count(*) FROM lake.s.ev GROUP BY kind"),),
    )
    # when the engine answers
    result = analyze(workload)
    # then the copy keeps day(ts), and no INSERT spans more than one calendar month
    assert "partitioning = ARRAY['day(ts)']" in result.ddl[1].statement
    copies = [m.statement for m in result.migrations if "INTO lake.optimized.ev " in m.statement]
    assert len(copies) == 13
    assert copies[0].endswith("WHERE month(ts) = 1")
    assert copies[-1].endswith("WHERE ts IS NULL")
