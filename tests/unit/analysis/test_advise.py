"""Advise pass: the layout decided from small, hand-made column statistics."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlglot import exp

from domain.analysis.advise import Advice, advise_table, granularity
from domain.analysis.catalog import Column, SourceTable
from domain.analysis.names import TableName
from domain.analysis.profile import ColumnStats, TableUsage

T = TableName("lake", "s", "t")
COLUMNS = {
    "id": "bigint",
    "customer_id": "bigint",
    "created_at": "timestamp(6)",
    "day": "date",
    "status": "varchar",
    "note": "varchar",
    "code": "varchar",
    "is_paid": "boolean",
    "year": "integer",
    "ds": "varchar",
    "amount": "double",
}


def source(typed: bool = True) -> SourceTable:
    columns = tuple(
        Column(exp.to_identifier(c), exp.DataType.build(k, dialect="trino") if typed else None)
        for c, k in COLUMNS.items()
    )
    return SourceTable(T, columns)


def stats(
    kind: str,
    weight: float = 1.0,
    values: Sequence[str] = (),
    widths: Sequence[float | None] = (),
    queryid: str = "q1",
    date_like: bool = False,
) -> ColumnStats:
    return ColumnStats(
        weight={kind: weight},
        queryids={kind: [queryid]},
        values=set(values),
        widths=[(w, weight) for w in widths],
        date_like=date_like,
    )


def advice(weight: float = 1.0, **columns: ColumnStats) -> Advice:
    return advise_table(source(), TableUsage(("q1",), weight), columns)


def specs(found: Advice) -> list[str]:
    return [f.spec() for f in found.partitioning]


@pytest.mark.parametrize(
    ("width", "kind", "transform"),
    [
        (4 * 365.0, "timestamp", "year"),
        (90.0, "date", "month"),
        (28.0, "date", "month"),
        (7.0, "date", "day"),
        (1.0, "timestamp", "day"),
        (0.25, "timestamp", "hour"),
        (0.25, "date", "day"),  # a date has no hours
        (None, "timestamp", "month"),  # open ranges
    ],
)
def test_the_temporal_transform_follows_the_width_of_the_ranges(
    width: float | None, kind: str, transform: str
) -> None:
    assert granularity([(width, 1.0)], kind) == transform


def test_the_width_is_the_weighted_median() -> None:
    # a heavy query over one day outweighs two light ones over a quarter
    assert granularity([(1.0, 10.0), (90.0, 1.0), (90.0, 1.0)], "date") == "day"
    assert granularity([(1.0, 1.0), (90.0, 5.0), (90.0, 5.0)], "date") == "month"


def test_the_temporal_column_with_range_filters_is_partitioned_by_the_width_asked_for() -> None:
    found = advice(created_at=stats("range", widths=[90.0]))
    assert specs(found) == ["month(created_at)"]
    assert "ranges of about 90 day(s)" in found.partitioning[0].reason
    assert found.partitioning[0].queryids == ("q1",)


def test_a_low_cardinality_column_filtered_by_equality_gets_identity_partitions() -> None:
    found = advice(status=stats("eq", values=["open", "paid"]))
    assert specs(found) == ["status"]
    assert found.partitioning[0].cardinality == 10  # named like few values; assumed 10
    assert advice(is_paid=stats("eq", values=["true"])).partitioning[0].cardinality == 2


def test_a_key_looked_up_by_equality_is_bucketed() -> None:
    found = advice(customer_id=stats("eq", values=["42"]))
    assert specs(found) == ["bucket(customer_id, 16)"]
    # a sort order on the key lets a lookup skip files within its bucket
    assert [k.column for k in found.sorted_by] == ["customer_id"]


def test_a_varchar_filtered_by_like_prefixes_is_truncated_to_the_shortest_prefix() -> None:
    found = advice(code=stats("like", values=["abcdef", "ab"]))
    assert specs(found) == ["truncate(code, 2)"]
    assert specs(advice(code=stats("like", values=["abcdef"]))) == ["truncate(code, 4)"]


def test_a_month_partition_combines_with_one_other_field() -> None:
    found = advice(
        created_at=stats("range", 3.0, widths=[60.0]),
        status=stats("eq", 2.0, values=["open"]),
        customer_id=stats("eq", 1.0, values=["7"]),
    )
    # the heaviest other field wins the second place; the key is left to the sort order
    assert specs(found) == ["month(created_at)", "status"]
    assert [k.column for k in found.sorted_by] == ["customer_id"]


def test_a_calendar_column_rides_along_with_the_temporal_field() -> None:
    found = advice(day=stats("range", widths=[31.0]), year=stats("eq", values=["2024"]))
    assert specs(found) == ["month(day)", "year"]


def test_day_partitions_take_no_other_field() -> None:
    found = advice(created_at=stats("range", widths=[1.0]), status=stats("eq", values=["open"]))
    assert specs(found) == ["day(created_at)"]
    # day × status would open too many partitions per migration writer: status sorts instead
    assert [k.column for k in found.sorted_by] == ["status"]
    # and it is kept aside, for the sizing pass to add where the day partition goes
    assert found.deferred is not None
    assert found.deferred.spec() == "status"


@pytest.mark.parametrize(
    "column",
    [
        "note",  # a varchar whose name says nothing of its cardinality: no identity
        "amount",  # a double: neither a key nor low cardinality
    ],
)
def test_a_column_that_is_neither_low_cardinality_nor_a_key_is_not_a_partition(
    column: str,
) -> None:
    found = advice(**{column: stats("eq", values=["x"])})
    assert specs(found) == []
    assert [k.column for k in found.sorted_by] == [column]  # it may still sort the files


def test_a_table_filtered_by_too_little_of_its_weight_is_left_as_it_is() -> None:
    # the filter serves 1 of the table's 100 units of read weight
    found = advice(100.0, status=stats("eq", 1.0, values=["open"]))
    assert not found.changed
    assert "20%" in found.unchanged_reason


def test_a_table_no_query_reads_or_whose_columns_are_unknown_is_left_as_it_is() -> None:
    assert advise_table(source(), TableUsage(), {}).unchanged_reason == (
        "no query of the workload reads it"
    )
    untyped = advise_table(source(typed=False), TableUsage(("q1",), 1.0), {})
    assert untyped.unchanged_reason == "its columns are not known from the DDL"


def test_a_varchar_compared_with_date_strings_becomes_a_date_and_can_partition() -> None:
    found = advice(
        ds=stats("range", values=["2024-01-01", "2024-02-01"], widths=[31.0], date_like=True)
    )
    [fix] = found.type_fixes
    assert (fix.column, fix.new_type.sql("trino")) == ("ds", "DATE")
    assert specs(found) == ["month(ds)"]


def test_a_varchar_compared_with_timestamp_strings_becomes_a_timestamp() -> None:
    found = advice(
        ds=stats(
            "range",
            values=["2024-01-01 00:00:00", "2024-01-01 06:00:00"],
            widths=[0.25],
            date_like=True,
        )
    )
    [fix] = found.type_fixes
    assert fix.new_type.sql("trino") == "TIMESTAMP(6)"
    assert specs(found) == ["hour(ds)"]


def test_a_refused_type_fix_is_kept_with_its_reasons_and_not_made() -> None:
    found = advise_table(
        source(),
        TableUsage(("q1", "q2"), 2.0),
        {"ds": stats("range", values=["2024-01-01"], widths=[None], date_like=True)},
        (("q2", "SELECT * beside a subquery"),),
    )
    assert found.type_fixes == ()
    assert [f.column for f in found.refused_fixes] == ["ds"]
    assert found.refusals == (("q2", "SELECT * beside a subquery"),)
    assert specs(found) == []  # a varchar cannot be partitioned by month


def test_a_flag_only_ever_compared_with_false_shapes_neither_partitions_nor_sort_order() -> None:
    # given `is_paid = false` as the only filter of weight, beside a lookup by id
    found = advice(is_paid=stats("eq", 3.0, values=["false"]), id=stats("eq", values=["7"]))
    # then the flag (it keeps nearly every row) neither partitions nor sorts the table
    assert "is_paid" not in specs(found)
    assert [k.column for k in found.sorted_by] == ["id"]
    # while a flag compared with TRUE still may
    assert "is_paid" in specs(advice(is_paid=stats("eq", 3.0, values=["true"])))


def test_a_key_looked_up_by_value_leads_the_sort_order_over_heavier_range_filters() -> None:
    # given lookups by id weighing half as much as range filters on the amount
    found = advice(id=stats("eq", 1.0, values=["7"]), amount=stats("range", 2.0))
    # then id sorts first: min/max skip nearly everything for one id, less for a range
    assert [k.column for k in found.sorted_by] == ["id", "amount"]


def test_a_key_a_joined_lookup_hands_over_sorts_the_table_but_makes_no_partition() -> None:
    # given a table read whole but for the few keys a lookup in a joined table finds
    # (Trino's dynamic filtering hands its scan those keys), beside a heavier join
    handed = stats("lookup", 1.0, queryid="q-lookup")
    handed.through.add("lake.s.customers")
    found = advice(customer_id=handed, id=stats("join", 3.0, queryid="q-join"))
    # then the key leads the sort order, so that min/max skip what the keys miss
    assert [k.column for k in found.sorted_by] == ["customer_id"]
    assert "dynamic filtering" in found.sorted_by[0].reason
    # and no bucket is made of it: the dynamic filter prunes by min/max, not by partition
    assert specs(found) == []
