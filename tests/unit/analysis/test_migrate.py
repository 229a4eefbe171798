"""Migrate pass: one INSERT … SELECT per table, columns listed, names fully qualified."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analysis import analyze
from domain.analysis.advise import Advice, PartitionField, SortKey
from domain.analysis.catalog import build_catalog
from domain.analysis.layout import TargetTable, plan_layout
from domain.analysis.migrate import WHOLE, Slicing, migration_sql, migrations, slicing
from domain.analysis.names import TableName
from domain.analysis.parse import parse_ddl
from domain.statistics import ColumnStatistics, TableStatistics
from domain.workload import DdlStatement, Query, Workload
from tests.unit.analysis.support import duckdb_sql


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


# -- slices: a sorted table filled by ranges of its first sort key ---------------------------

SALES = TableName("lake", "sales", "orders")


def sorted_orders(key_type: str = "date", *, sizing: Advice | None = None) -> TargetTable:
    ddl = f"CREATE TABLE lake.sales.orders (id bigint, day {key_type}, note varchar)"
    catalog, _ = build_catalog(parse_ddl([DdlStatement(ddl)]), "jdbc:trino://h:8080/lake/sales")
    advice = sizing or Advice(SALES, sorted_by=(SortKey("day", "ranges on day"),))
    layout, _ = plan_layout(catalog, "optimized", {SALES: advice})
    return layout.targets[SALES]


def stats(low: str, high: str, size: int = 64 << 20) -> TableStatistics:
    return TableStatistics(
        rows=10**6, data_bytes=size, files=4, columns={"day": ColumnStatistics(low=low, high=high)}
    )


def test_a_sorted_table_is_filled_by_ranges_of_its_first_sort_key() -> None:
    # given a table sorted by day, 64 MiB of it, its days spanning 2023
    target = sorted_orders()
    # when its migration is planned with those statistics
    sliced = slicing(target, stats("2023-01-01", "2023-12-31"))
    # then four ranges of 92 days and the NULLs are copied by a statement each
    assert sliced == Slicing("day", ("DATE '2023-04-03'", "DATE '2023-07-04'", "DATE '2023-10-04'"))
    copies = migration_sql(target, sliced)
    assert [c.split(" WHERE ")[1] for c in copies] == [
        "day < DATE '2023-04-03'",
        "day >= DATE '2023-04-03' AND day < DATE '2023-07-04'",
        "day >= DATE '2023-07-04' AND day < DATE '2023-10-04'",
        "day >= DATE '2023-10-04'",
        "day IS NULL",
    ]


def test_timestamps_and_integer_keys_are_sliced_in_their_own_literals() -> None:
    timestamps = slicing(sorted_orders("timestamp(6)"), stats("2024-01-01 10:00:00", "2024-01-02"))
    assert timestamps == Slicing("day", ("TIMESTAMP '2024-01-02 00:00:00'",))
    keys = slicing(sorted_orders("integer"), stats("20220101", "20231231", size=40 << 20))
    assert keys == Slicing("day", ("20230101",))  # a date key is split by days
    numbers = slicing(sorted_orders("bigint"), stats("1", "1000", size=64 << 20))
    assert numbers == Slicing("day", ("251", "501", "751"))


def test_one_statement_fills_a_table_without_what_slices_need() -> None:
    target = sorted_orders()
    year = stats("2023-01-01", "2023-12-31")
    half_year = stats("2023-01-01", "2023-06-30")
    assert slicing(target, None) is None  # no statistics
    assert slicing(target, stats("2023-01-01", "2023-12-31", size=20 << 20)) is None  # small
    assert slicing(target, TableStatistics(rows=10, data_bytes=64 << 20)) is None  # no bounds
    assert slicing(sorted_orders("varchar"), year) is None  # no range to split evenly
    unsorted = sorted_orders(sizing=Advice(SALES))
    assert slicing(unsorted, year) is None
    by_month = Advice(
        SALES,
        partitioning=(PartitionField("month", "day", "ranges of a month"),),
        sorted_by=(SortKey("day", "ranges on day"),),
    )
    # six months are few partitions: one INSERT instead of a month split
    assert slicing(sorted_orders(sizing=by_month), half_year) == WHOLE


def test_a_month_split_is_kept_unless_one_statement_writes_few_partitions() -> None:
    def by(transform: str) -> TargetTable:
        field = PartitionField(transform, "day", "ranges")
        return sorted_orders(sizing=Advice(SALES, (field,), (SortKey("id", "lookups"),)))

    # six months: one statement reads the source once and writes six partitions
    assert slicing(by("month"), stats("2025-07-01", "2025-12-31")) == WHOLE
    assert len(migration_sql(by("month"), WHOLE)) == 1
    # 36 months in one INSERT would hold 36 sort buffers per writer in memory (and 1,096 days
    # more than a writer may open); a span the statistics do not give may be any: 13 statements
    three_years = stats("2023-01-01", "2025-12-31")
    assert slicing(by("month"), three_years) is None
    assert len(migration_sql(by("month"), None)) == 13
    assert slicing(by("day"), three_years) is None
    assert len(migration_sql(by("day"), None)) == 13
    no_span = TableStatistics(rows=10**6, data_bytes=64 << 20, files=4)
    assert slicing(by("month"), no_span) is None


def test_each_partition_gets_its_share_of_the_slices() -> None:
    # given 64 MiB sorted by day, bucketed by id into 2 or 4
    def bucketed(buckets: int) -> TargetTable:
        bucket = PartitionField("bucket", "id", "lookups", param=buckets, cardinality=buckets)
        return sorted_orders(
            sizing=Advice(SALES, (bucket,), sorted_by=(SortKey("day", "ranges on day"),))
        )

    year = stats("2023-01-01", "2023-12-31")
    # then each slice writes a file per bucket: 2 slices of 2 buckets, none of 4
    two = slicing(bucketed(2), year)
    assert two is not None
    assert len(two.bounds) == 1
    assert slicing(bucketed(4), year) is None


def copied_by(copies: list[str], source: str, columns: str, values: list) -> list[tuple]:
    """(id, first column) of the new table after `copies` ran on DuckDB over a source (id
    bigint, `columns`) whose first column holds `values` in order, read back in id order."""
    schema, table = source.split(".")
    name = columns.split()[0]
    with duckdb.connect() as db:
        db.execute(f"CREATE SCHEMA {schema}; CREATE SCHEMA optimized")
        db.execute(f"CREATE TABLE {source} (id bigint, {columns})")
        db.execute(f"CREATE TABLE optimized.{table} (id bigint, {columns})")
        for index, value in enumerate(values):
            db.execute(f"INSERT INTO {source} (id, {name}) VALUES (?, ?)", [index, value])
        for copy in copies:
            db.execute(duckdb_sql(copy.replace("lake.", "")))
        return db.execute(f"SELECT id, {name} FROM optimized.{table} ORDER BY id").fetchall()


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-50, 50)), max_size=40),
    low=st.integers(-60, 60),
    width=st.integers(0, 120),
    size=st.integers(0, 400 << 20),
)
def test_the_slices_copy_every_row_once_whatever_the_statistics_say(
    values: list[int | None], low: int, width: int, size: int
) -> None:
    # given a table of integers (NULLs among them) and statistics that may be wrong
    target = sorted_orders("integer")
    sliced = slicing(target, stats(str(low), str(low + width), size=size))
    copies = migration_sql(target, sliced)
    # when every statement of its migration runs, then the new table holds each row once
    copied = copied_by(copies, "sales.orders", "day integer, note varchar", values)
    assert copied == list(enumerate(values))


# -- a copy that keeps its source's partitions: no statement opens them all ------------------


def kept_copy(ddl: str, statistics: TableStatistics | None = None) -> list[str]:
    """The copy's INSERTs for a source laid out as `ddl` says, nothing advised for it."""
    catalog, _ = build_catalog(parse_ddl([DdlStatement(ddl)]), "jdbc:trino://h:8080/lake/s")
    layout, _ = plan_layout(catalog, "optimized")
    target = next(iter(layout.targets.values()))
    return migration_sql(target, slicing(target, statistics))


def test_kept_day_partitions_over_years_are_split_even_with_statistics() -> None:
    # given a source partitioned by day over four years (1,461 days), statistics read
    ddl = (
        "CREATE TABLE lake.s.ev (id bigint, ts timestamp(6)) WITH (partitioning = ARRAY['day(ts)'])"
    )
    years = TableStatistics(
        rows=10**7,
        data_bytes=1 << 30,
        columns={"ts": ColumnStatistics(low="2021-01-01 00:00:00", high="2024-12-31 00:00:00")},
    )
    week = TableStatistics(
        rows=10**5,
        data_bytes=64 << 20,
        columns={"ts": ColumnStatistics(low="2024-12-01 00:00:00", high="2024-12-06 00:00:00")},
    )
    # then one INSERT over them all would exceed Trino's writers: a month per statement
    assert len(kept_copy(ddl, years)) == 13
    # and six days are few enough for one statement
    assert len(kept_copy(ddl, week)) == 1


def test_a_kept_identity_partition_on_a_date_is_split_by_month() -> None:
    copies = kept_copy(
        "CREATE TABLE lake.s.logs (id bigint, dt date) WITH (partitioning = ARRAY['dt'])"
    )
    assert [c.split(" WHERE ")[1] for c in copies] == [
        *(f"month(dt) = {m}" for m in range(1, 13)),
        "dt IS NULL",
    ]


def test_a_kept_identity_partition_of_any_other_type_is_split_by_its_last_character() -> None:
    # given a Hive-style daily string partition: a thousand days, one partition each
    ddl = (
        'CREATE TABLE lake.s.logs (id bigint, "Ds" varchar, n int)'
        " WITH (partitioning = ARRAY['\"Ds\"', 'bucket(n, 4)'])"
    )
    copies = kept_copy(ddl)
    # then each statement copies the days ending in one digit (the rest, the NULLs)
    assert [c.split(" WHERE ")[1] for c in copies] == [
        *(f'substr("Ds", length("Ds")) = \'{d}\'' for d in range(10)),
        "substr(\"Ds\", length(\"Ds\")) NOT IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')",
        '"Ds" IS NULL',
    ]
    # and an integer key is split by the last digit of its text
    key = kept_copy("CREATE TABLE t (day_key int) WITH (partitioning = ARRAY['day_key'])")
    assert key[0].endswith(
        "WHERE substr(CAST(day_key AS varchar), length(CAST(day_key AS varchar))) = '0'"
    )


def test_a_kept_identity_partition_of_few_values_is_copied_in_one_statement() -> None:
    ddl = "CREATE TABLE lake.s.t (id bigint, region varchar) WITH (partitioning = ARRAY['region'])"
    few = TableStatistics(rows=10**6, data_bytes=1 << 20, columns={"region": ColumnStatistics(5)})
    many = TableStatistics(
        rows=10**6, data_bytes=1 << 20, columns={"region": ColumnStatistics(900)}
    )
    assert len(kept_copy(ddl, few)) == 1
    assert len(kept_copy(ddl, many)) == 12
    assert len(kept_copy(ddl, TableStatistics(rows=10**6, data_bytes=1 << 20))) == 12  # unknown


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30))
def test_the_last_character_split_copies_every_row_once(values: list[str | None]) -> None:
    # given a table partitioned by a string of any value: empty, digits, letters, NULL
    copies = kept_copy(
        "CREATE TABLE lake.s.t (id bigint, ds varchar) WITH (partitioning = ARRAY['ds'])"
    )
    # when every statement of its migration runs, then the new table holds each row once
    assert copied_by(copies, "s.t", "ds varchar", values) == list(enumerate(values))
