"""The partitioning follows the data's size when the user's Trino told it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from domain.analysis import analyze
from domain.analysis.advise import Advice, PartitionField, SortKey
from domain.analysis.names import TableName
from domain.analysis.sizing import (
    LOOKUP_BUCKET_BYTES,
    LOOKUP_BUCKET_SHARE,
    SMALL_TABLE_BYTES,
    fit_to_size,
)
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from domain.workload import Workload
from tests.unit.analysis.support import layout_only

GIB = 1 << 30
TABLE = TableName("lake", "s", "events")
FLIGHTS = Path(__file__).resolve().parents[3] / "examples" / "flights.json"


def advice(*fields: PartitionField) -> Advice:
    return Advice(TABLE, fields)


def day(column: str = "ts") -> PartitionField:
    return PartitionField("day", column, "ranges of a day", cardinality=3650)


def span(low: str, high: str, distinct: float | None = None) -> ColumnStatistics:
    return ColumnStatistics(low=low, high=high, distinct=distinct)


def test_a_small_table_stays_unpartitioned_sorted_by_its_time_and_the_advice_says_why() -> None:
    stats = TableStatistics(rows=50_000, data_bytes=SMALL_TABLE_BYTES // 10, files=2)
    fitted = fit_to_size(advice(day()), stats)
    assert fitted.partitioning == ()
    assert "stays unpartitioned" in fitted.sizing[0]
    # the ranges that asked for the partition still skip files and row groups by min/max
    assert [k.column for k in fitted.sorted_by] == ["ts"]


def test_the_time_a_partition_was_dropped_for_comes_before_a_lookup_key_in_the_sort() -> None:
    # a user id sort alone would scatter every time range over every file, and grow the table
    lookups = SortKey("user_id", "point lookups", ("q-user",), 100.0)
    stats = TableStatistics(rows=10**6, data_bytes=27 << 20, files=4)
    fitted = fit_to_size(Advice(TABLE, (day(),), (lookups,)), stats)
    assert fitted.partitioning == ()
    assert [k.column for k in fitted.sorted_by] == ["ts", "user_id"]


def test_where_even_a_year_is_too_small_the_time_leads_the_sort() -> None:
    stats = TableStatistics(
        rows=10**7,
        data_bytes=SMALL_TABLE_BYTES * 2,
        columns={"ts": span("2000-01-01", "2025-01-01")},
    )
    fitted = fit_to_size(advice(day()), stats)
    assert fitted.partitioning == ()
    assert [k.column for k in fitted.sorted_by] == ["ts"]


def test_day_partitions_of_a_table_too_small_for_them_become_monthly() -> None:
    # 40 GiB over 3 years: a day holds ~37 MiB, a month ~1.1 GiB
    stats = TableStatistics(
        rows=10**9, data_bytes=40 * GIB, files=300, columns={"ts": span("2023-01-01", "2025-12-31")}
    )
    assert [f.spec() for f in fit_to_size(advice(day()), stats).partitioning] == ["month(ts)"]


def test_day_partitions_stay_where_each_day_holds_enough() -> None:
    stats = TableStatistics(
        rows=10**10, data_bytes=2000 * GIB, columns={"ts": span("2023-01-01", "2025-12-31")}
    )
    fitted = fit_to_size(advice(day()), stats)
    assert [f.spec() for f in fitted.partitioning] == ["day(ts)"]
    assert fitted.sizing == ()


def test_no_temporal_partition_where_even_a_year_is_too_small() -> None:
    stats = TableStatistics(
        rows=10**7,
        data_bytes=SMALL_TABLE_BYTES * 2,
        columns={"ts": span("2000-01-01", "2025-01-01")},
    )
    fitted = fit_to_size(advice(day()), stats)
    assert fitted.partitioning == ()
    assert "no temporal partition" in fitted.sizing[0]


def test_identity_partitions_only_on_a_column_with_few_values() -> None:
    status = PartitionField("identity", "status", "equality filters", cardinality=10)
    many = TableStatistics(
        rows=10**8, data_bytes=100 * GIB, columns={"status": span("", "", 50_000)}
    )
    few = TableStatistics(rows=10**8, data_bytes=100 * GIB, columns={"status": span("", "", 4)})
    assert fit_to_size(advice(status), many).partitioning == ()
    assert [f.cardinality for f in fit_to_size(advice(status), few).partitioning] == [4]


def test_bucket_count_follows_the_size_per_partition() -> None:
    key = PartitionField("bucket", "user_id", "lookups", param=16, cardinality=16)
    stats = TableStatistics(rows=10**8, data_bytes=1 * GIB)
    # 1 GiB holds eight buckets of the 128 MiB target
    assert [f.spec() for f in fit_to_size(advice(key), stats).partitioning] == [
        "bucket(user_id, 8)"
    ]


def test_without_statistics_no_time_partition_is_made_and_the_time_leads_the_sort() -> None:
    # the size is unknown: time partitions would split a small table into many small files,
    # while the sort on the time column skips row groups by min/max whatever the size
    fitted = fit_to_size(advice(day()), None)
    assert fitted.partitioning == ()
    assert [k.column for k in fitted.sorted_by] == ["ts"]
    assert "size is unknown" in fitted.sizing[0]
    # a sort the queries asked for (lookups) follows the time
    user = SortKey("user_id", "point lookups", ("q-user",), 100.0)
    assert [k.column for k in fit_to_size(Advice(TABLE, (day(),), (user,)), None).sorted_by] == [
        "ts",
        "user_id",
    ]


def test_without_statistics_a_source_partitioned_by_time_keeps_months() -> None:
    # its owners partitioned it by time: it was large enough for partitions
    fitted = fit_to_size(advice(day()), None, time_partitioned=True)
    assert [f.spec() for f in fitted.partitioning] == ["month(ts)"]
    assert [k.column for k in fitted.sorted_by] == ["ts"]
    assert "source is partitioned by time" in fitted.sizing[0]
    # a sort the queries asked for (lookups) is kept as it is
    user = SortKey("user_id", "point lookups", ("q-user",), 100.0)
    kept = fit_to_size(Advice(TABLE, (day(),), (user,)), None, time_partitioned=True)
    assert [k.column for k in kept.sorted_by] == ["user_id"]


def test_without_statistics_the_fields_on_keys_stay_as_the_queries_made_them() -> None:
    year = PartitionField("year", "ts", "ranges of years", cardinality=10)
    month_part = PartitionField("identity", "month", "calendar part", cardinality=1)
    key = PartitionField("bucket", "user_id", "lookups", param=16, cardinality=16)
    fitted = fit_to_size(advice(year, month_part, key), None)
    assert [f.spec() for f in fitted.partitioning] == ["bucket(user_id, 16)"]
    assert [k.column for k in fitted.sorted_by] == ["ts"]
    # a table with no time field is left as it is
    keys_only = advice(key)
    assert fit_to_size(keys_only, None) is keys_only


def flights_statistics() -> WorkloadStatistics:
    flights = TableName("flights", "public", "flights")
    return WorkloadStatistics(
        tables={
            flights: TableStatistics(
                rows=1_000_000,
                data_bytes=58 << 20,
                files=3,
                columns={"flightdate": span("2021-10-03", "2022-10-02")},
            )
        },
        source="https://trino.example.com:443",
    )


def flights_workload(tail_runs: int) -> Workload:
    """The flights example for its layout alone, the tail number looked up `tail_runs` times."""
    raw = json.loads(FLIGHTS.read_text())
    for query in raw["queries"]:
        if query["queryid"] == "f-tail":
            query["runquantity"] = tail_runs
    return layout_only(Workload.from_dict(raw))


def test_a_small_table_whose_time_ranges_weigh_most_is_sorted_and_sliced_by_time() -> None:
    # given the flights example where the tail lookups weigh little beside the date ranges
    result = analyze(flights_workload(tail_runs=10), statistics=flights_statistics())
    # then the 58 MiB table stays unpartitioned, sorted by its date
    create = next(s.statement for s in result.ddl if "optimized.flights" in s.statement)
    assert "partitioning" not in create
    assert "sorted_by = ARRAY['flightdate'" in create
    codes = {f.code for f in result.report.findings}
    assert {"statistics_read", "partitioning_sized"} <= codes
    # and it is filled by ranges of flightdate, so that files hold disjoint ranges Trino
    # skips by their min/max
    copies = [m for m in result.migrations if "INTO flights.optimized.flights " in m.statement]
    assert [c.statement.split(" WHERE ")[1] for c in copies] == [
        "flightdate < DATE '2022-02-02'",
        "flightdate >= DATE '2022-02-02' AND flightdate < DATE '2022-06-04'",
        "flightdate >= DATE '2022-06-04'",
        "flightdate IS NULL",
    ]
    assert "migration_sliced" in codes


def test_a_small_table_whose_lookups_weigh_most_keeps_buckets_of_a_few_mib() -> None:
    # given the flights example, where looking up a tail number (3,000 runs) weighs most:
    # a file this small is one row group, whose min/max span every tail number whatever the
    # sort, so only a bucket spares a lookup the whole table
    result = analyze(flights_workload(tail_runs=3000), statistics=flights_statistics())
    create = next(s.statement for s in result.ddl if "optimized.flights" in s.statement)
    # then 58 MiB keep 8 buckets of 7 MiB (not 16 of under 4 MiB)
    assert "partitioning = ARRAY['bucket(tail_number, 8)']" in create
    sized = next(f for f in result.report.findings if f.code == "partitioning_sized")
    assert "bucket(tail_number, 8) is kept" in sized.rationale
    # and one INSERT fills it: slices of the sort key would split each bucket's file further
    copies = [m for m in result.migrations if "INTO flights.optimized.flights " in m.statement]
    assert len(copies) == 1


def test_a_small_table_keeps_no_bucket_for_lookups_that_weigh_little_in_the_workload() -> None:
    # buckets cost storage (each file repeats its columns' dictionaries): lookups carrying
    # 3 % of the workload's weight do not pay for them, those carrying 37 % do
    key = PartitionField("bucket", "order_id", "lookups", weight=30.0, param=16, cardinality=16)
    stats = TableStatistics(rows=10**6, data_bytes=28 << 20)
    assert fit_to_size(advice(key), stats, workload_weight=1000.0).partitioning == ()
    kept = fit_to_size(advice(key), stats, workload_weight=30.0 / 0.37)
    assert [f.spec() for f in kept.partitioning] == ["bucket(order_id, 4)"]


def test_a_small_table_keeps_no_bucket_of_under_4_mib() -> None:
    key = PartitionField("bucket", "user_id", "lookups", weight=10.0, param=16, cardinality=16)

    def fitted(mib: int) -> list[str]:
        stats = TableStatistics(rows=10**5, data_bytes=mib << 20)
        return [f.spec() for f in fit_to_size(advice(key), stats).partitioning]

    assert fitted(7) == []
    assert fitted(8) == ["bucket(user_id, 2)"]
    # at most the advised count
    assert fitted(200) == ["bucket(user_id, 16)"]


# -- the field a day partition left out (Advice.deferred) ---------------------------------------


def deferred_key(weight: float = 10.0) -> PartitionField:
    return PartitionField("bucket", "device_id", "lookups", weight=weight, param=16, cardinality=16)


def test_a_small_table_keeps_the_bucket_its_day_partition_had_left_out() -> None:
    # the day partition is dropped for the size: the lookups' bucket no longer multiplies it
    days = replace(day(), weight=4.0)
    stats = TableStatistics(rows=10**6, data_bytes=40 << 20)
    fitted = fit_to_size(replace(advice(days), deferred=deferred_key()), stats)
    assert [f.spec() for f in fitted.partitioning] == ["bucket(device_id, 8)"]
    assert [k.column for k in fitted.sorted_by] == ["ts"]
    # and, as any bucket of a small table, only where the lookups outweigh the time ranges
    heavier_days = replace(advice(replace(day(), weight=40.0)), deferred=deferred_key())
    assert fit_to_size(heavier_days, stats).partitioning == ()


def test_queries_both_the_time_sort_and_a_bucket_serve_weigh_on_neither_side() -> None:
    # a device's day (30) is served by the time sort's slices and by the bucket alike; what
    # decides is a day's report (5), which only the time sort serves, against a device's
    # history (10), which only the bucket serves
    days = replace(day(), queryids=("q-day", "q-device-day"), weight=35.0)
    key = PartitionField(
        "bucket",
        "device_id",
        "lookups",
        ("q-device-day", "q-device"),
        weight=35.0,
        param=16,
        cardinality=16,
    )
    device = SortKey("device_id", "lookups", ("q-device-day", "q-device"), 40.0)
    table = Advice(TABLE, (days,), lookups=(device,), deferred=key)
    stats = TableStatistics(rows=10**6, data_bytes=40 << 20)
    weights = {"q-day": 5.0, "q-device-day": 30.0, "q-device": 10.0}
    fitted = fit_to_size(table, stats, workload_weight=45.0, query_weights=weights)
    assert [f.spec() for f in fitted.partitioning] == ["bucket(device_id, 8)"]
    # the bucket serves the lookups: no bloom filter besides
    assert fitted.lookups == ()
    # counted on both sides, the time ranges weigh as much as the lookups: no bucket
    assert fit_to_size(table, stats, workload_weight=45.0).partitioning == ()
    assert fit_to_size(table, stats, workload_weight=45.0).lookups == (device,)


def test_day_partitions_made_monthly_take_the_field_they_had_left_out() -> None:
    # 40 GiB over 3 years: months of ~1.1 GiB, each split in 8 buckets of the 128 MiB target
    stats = TableStatistics(
        rows=10**9, data_bytes=40 * GIB, files=300, columns={"ts": span("2023-01-01", "2025-12-31")}
    )
    fitted = fit_to_size(replace(advice(day()), deferred=deferred_key()), stats)
    assert [f.spec() for f in fitted.partitioning] == ["month(ts)", "bucket(device_id, 8)"]


def test_day_partitions_that_stay_take_no_other_field() -> None:
    # a month's migration statement would open its days × the buckets: more writers than
    # Trino allows
    stats = TableStatistics(
        rows=10**10, data_bytes=2000 * GIB, columns={"ts": span("2023-01-01", "2025-12-31")}
    )
    fitted = fit_to_size(replace(advice(day()), deferred=deferred_key()), stats)
    assert [f.spec() for f in fitted.partitioning] == ["day(ts)"]


def test_an_identity_field_left_out_and_taken_back_is_no_longer_a_sort_key() -> None:
    status = PartitionField("identity", "status", "equality filters", cardinality=4)
    sort = SortKey("status", "equality filters", ("q",), 5.0)
    fitted = fit_to_size(
        Advice(TABLE, (day(),), (sort,), deferred=status), None, time_partitioned=True
    )
    assert [f.spec() for f in fitted.partitioning] == ["month(ts)", "status"]
    assert "status" not in [k.column for k in fitted.sorted_by]
    # without statistics nor a source partitioned by time, the table may be small: left out
    unknown = fit_to_size(Advice(TABLE, (day(),), (sort,), deferred=status), None)
    assert unknown.partitioning == ()
    assert [k.column for k in unknown.sorted_by] == ["ts", "status"]


def test_without_statistics_the_report_says_the_figures_are_assumed() -> None:
    workload = Workload.from_dict(json.loads(FLIGHTS.read_text()))
    codes = {f.code for f in analyze(workload).report.findings}
    assert "statistics_missing" in codes


def test_a_small_table_drops_the_partitioning_it_had_too() -> None:
    # given a source partitioned by a day string, and statistics showing it is small
    workload = Workload.from_dict(
        {
            "url": "jdbc:trino://h:8080/lake/staging",
            "ddl": [
                {
                    "statement": "CREATE TABLE lake.staging.events (id bigint, at timestamp(6), "
                    "ds varchar) WITH (partitioned_by = ARRAY['ds'])"
                }
            ],
            "queries": [
                {
                    "queryid": "q",
                    "query": "SELECT count(*) FROM lake.staging.events"
                    " WHERE at > TIMESTAMP '2024-01-01 00:00:00'",
                }
            ],
        }
    )
    events = TableName("lake", "staging", "events")
    small = TableStatistics(
        rows=1_000_000, data_bytes=20 << 20, columns={"at": span("2015-01-01", "2025-01-01")}
    )
    # when the engine advises with them
    result = analyze(workload, statistics=WorkloadStatistics({events: small}))
    # then the copy is unpartitioned: kept, `ds` would make its one INSERT open a writer per day
    create = next(s.statement for s in result.ddl if "optimized.events" in s.statement)
    assert "partitioning" not in create
    assert len(result.migrations) == 1


# -- bloom filters on the keys looked up by value -------------------------------------------

LINES = TableName("lake", "web", "lines")
LOOKUPS = Workload.from_dict(
    {
        "url": "jdbc:trino://h:8080/lake/web",
        "ddl": [
            {
                "statement": "CREATE TABLE lake.web.lines (line_id bigint, order_id bigint,"
                " day date, status varchar, amount double)"
            }
        ],
        "queries": [
            {
                "queryid": "by-day",
                "query": "SELECT line_id, status, amount FROM lake.web.lines"
                " WHERE day >= DATE '2024-03-01' AND day < DATE '2024-04-01'",
                "runquantity": 5000,
                "executiontime": 20,
            },
            {
                "queryid": "line",
                "query": "SELECT * FROM lake.web.lines WHERE line_id = 42",
                "runquantity": 5000,
                "executiontime": 2,
            },
            {
                "queryid": "order",
                "query": "SELECT * FROM lake.web.lines WHERE order_id IN (7, 8)",
                "runquantity": 3000,
                "executiontime": 2,
            },
        ],
    }
)


def lookup_statistics(
    *, properties: frozenset[str] = frozenset({"parquet_bloom_filter_columns"}), **sizes: float
) -> WorkloadStatistics:
    columns = {
        "day": span("2023-01-01", "2024-12-31"),
        "line_id": ColumnStatistics(distinct=sizes.get("line_ids", 2e6)),
        "order_id": ColumnStatistics(distinct=sizes.get("order_ids", 8e5)),
    }
    table = TableStatistics(
        rows=2e6, data_bytes=int(sizes.get("data_bytes", 200 << 20)), files=4, columns=columns
    )
    return WorkloadStatistics(tables={LINES: table}, table_properties={"lake": properties})


def bloom_columns(statistics: WorkloadStatistics) -> str | None:
    create = analyze(LOOKUPS, statistics=statistics).ddl[1].statement
    found = re.search(r"parquet_bloom_filter_columns = (ARRAY\[[^\]]*\])", create)
    return found.group(1) if found else None


def test_keys_looked_up_by_value_get_bloom_filters_where_trino_takes_them() -> None:
    # given a table of 200 MiB, sorted for its day ranges and looked up by two ids
    result = analyze(LOOKUPS, statistics=lookup_statistics())
    # then the ids it is not sorted by get a bloom filter each, heaviest lookup first
    create = result.ddl[1].statement
    assert "parquet_bloom_filter_columns = ARRAY['line_id', 'order_id']" in create
    finding = next(f for f in result.report.findings if f.code == "bloom_filter_recommended")
    assert set(finding.queryids) == {"line", "order"}


def test_no_bloom_filter_where_it_would_fail_or_serve_nothing() -> None:
    # a Trino that does not list the property (an older release): the CREATE TABLE would fail
    assert bloom_columns(lookup_statistics(properties=frozenset())) is None
    # a table of a file or two: a lookup reads them whatever their filters say
    assert bloom_columns(lookup_statistics(data_bytes=8 << 20)) is None
    # a key of few distinct values: each row group's dictionary already answers
    assert bloom_columns(lookup_statistics(order_ids=500)) == "ARRAY['line_id']"


def test_without_statistics_no_bloom_filter_is_proposed() -> None:
    assert "parquet_bloom_filter_columns" not in analyze(LOOKUPS).ddl[1].statement


# -- a small table's buckets, for any size and weights -----------------------------------------


@given(
    size=st.integers(min_value=0, max_value=SMALL_TABLE_BYTES - 1),
    advised=st.sampled_from([2, 4, 8, 16]),
    lookup_weight=st.floats(min_value=0.0, max_value=1e6),
    range_weight=st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6)),
    workload_weight=st.one_of(st.just(0.0), st.floats(min_value=1.0, max_value=1e7)),
)
def test_a_small_table_keeps_at_most_a_lookup_bucket_of_at_least_4_mib(
    size: int,
    advised: int,
    lookup_weight: float,
    range_weight: float | None,
    workload_weight: float,
) -> None:
    key = PartitionField(
        "bucket", "user_id", "lookups", weight=lookup_weight, param=advised, cardinality=advised
    )
    fields = (key,) if range_weight is None else (day_weighing(range_weight), key)
    stats = TableStatistics(rows=10**6, data_bytes=size, files=2)
    fitted = fit_to_size(advice(*fields), stats, workload_weight=workload_weight)
    # never a time partition: the time leads the sort instead
    assert all(f.transform == "bucket" for f in fitted.partitioning)
    if range_weight is not None:
        assert fitted.sorted_by[0].column == "ts"
    if fitted.partitioning:
        (bucket,) = fitted.partitioning
        count = bucket.param or 0
        # a power of two, no more than advised, each bucket holding at least 4 MiB
        assert count >= 2
        assert count & (count - 1) == 0
        assert count <= advised
        assert size / count >= LOOKUP_BUCKET_BYTES
        # the most such buckets: twice as many would hold less, or exceed the advice
        assert count == advised or size / (2 * count) < LOOKUP_BUCKET_BYTES
        # and only where the lookups weigh more than the time ranges, and a fifth of the
        # workload (0: the workload's weight is not known)
        assert range_weight is None or range_weight < lookup_weight
        assert lookup_weight >= LOOKUP_BUCKET_SHARE * workload_weight
    else:
        assert (
            size < 2 * LOOKUP_BUCKET_BYTES
            or (range_weight is not None and range_weight >= lookup_weight)
            or lookup_weight < LOOKUP_BUCKET_SHARE * workload_weight
        )


def day_weighing(weight: float) -> PartitionField:
    return PartitionField("day", "ts", "ranges of a day", weight=weight, cardinality=3650)
