"""Sizing pass: the advised partitioning fitted to how much data the table really holds.

The advise pass decides from the queries alone: which columns the filters use, how wide the
ranges are. Whether a partition spec pays depends on the data too: a partition is read as a
whole set of files, and Trino's Iceberg writer makes at least one file per partition and
writer, so partitions far below `TARGET_PARTITION_BYTES` only trade one read for many small
ones. With the table's statistics (rows, bytes of data files, each column's distinct values
and bounds) this pass decides, per table:

- **small tables stay unpartitioned** — below `SMALL_TABLE_BYTES` a table is a handful of
  files already; a sort order (kept) prunes its row groups by time better than partitions
  would. Only a bucket on a key looked up by value stays, in buckets of at least
  `LOOKUP_BUCKET_BYTES`, where those lookups carry `LOOKUP_BUCKET_SHARE` of the workload's
  weight: there the sort skips nothing (see `_lookup_buckets`);
- **the temporal granularity follows span and size** — from the transform the queries asked
  for, coarsened (hour → day → month → year) until a partition holds at least the target,
  given the column's span in days; dropped when even a year is too small;
- **identity partitions only on low cardinality** — the column's distinct values from the
  statistics, and only while each partition keeps a quarter of the target;
- **bucket counts from size** — as many buckets as hold the target each, a power of two
  up to the advised 16; none below two (the sort order serves the lookups instead).

Without statistics for a table its size is unknown. Time partitions of a table that turns
out small split it into many small files: every query reads more files and the storage grows
(measured on the lab at a million rows: month partitions of tables of 16 to 90 MB made 14 to
54 files, z 0.80 to 0.92 where a plain copy scored 0.99 to 1.14). A table sorted on its time
column instead keeps each file's row groups in narrow time ranges, which Trino skips by
min/max whatever the table's size: a day's query on a large table still reads about a day's
row groups. So without statistics no time partition is made: the time column leads the sort
instead, and the other fields (a bucket on a looked-up key, an identity on a column of few
values) stay as the queries made them. Only a source its owners partitioned by time already
keeps a temporal partition (no finer than a month): it was large enough for one. Every
change is explained in `Advice.sizing`.

>>> from domain.analysis.advise import Advice, PartitionField, SortKey
>>> from domain.analysis.names import TableName
>>> from domain.statistics import ColumnStatistics, TableStatistics
>>> advice = Advice(TableName("c", "s", "t"), (PartitionField("day", "ts", "ranges of a day"),))
>>> small = TableStatistics(rows=10_000, data_bytes=3 << 20, files=1)
>>> fit_to_size(advice, small).partitioning
()
>>> big = TableStatistics(rows=10**9, data_bytes=40 << 30, files=400,
...     columns={"ts": ColumnStatistics(low="2023-01-01", high="2025-12-31")})
>>> [f.spec() for f in fit_to_size(advice, big).partitioning]
['month(ts)']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from domain.analysis.advise import BUCKETS, Advice, PartitionField, SortKey
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import TableName
from domain.statistics import TableStatistics, WorkloadStatistics

__all__ = [
    "DAYS_PER_UNIT",
    "LOOKUP_BUCKET_BYTES",
    "LOOKUP_BUCKET_SHARE",
    "SMALL_TABLE_BYTES",
    "TARGET_PARTITION_BYTES",
    "fit_to_size",
    "size_all",
    "statistics_issues",
    "with_bloom_filters",
]

MIB = 1 << 20
BLOOM_FILTER_PROPERTY = "parquet_bloom_filter_columns"
BLOOM_FILTER_BYTES = 32 * MIB  # below, a table is a file or two: a lookup reads them anyway
MANY_DISTINCT = 10_000
MAX_BLOOM_FILTERS = 3
SMALL_TABLE_BYTES = 256 * MIB
TARGET_PARTITION_BYTES = 128 * MIB
LOOKUP_BUCKET_BYTES = 4 * MIB  # a small table's bucket: what one lookup reads (see _lookup_buckets)
LOOKUP_BUCKET_SHARE = 0.2  # the workload's weight a small table's lookups need for a bucket
DAYS_PER_UNIT = {"hour": 1 / 24, "day": 1.0, "month": 30.4, "year": 365.25}
_COARSER = {"hour": "day", "day": "month", "month": "year"}


def size_all(
    advice: Mapping[TableName, Advice],
    statistics: WorkloadStatistics | None,
    time_partitioned: Collection[TableName] = (),
    workload_weight: float = 0.0,
    query_weights: Mapping[str, float] | None = None,
) -> dict[TableName, Advice]:
    """Every table's advice fitted to its statistics (to an unknown size without them);
    `time_partitioned` names the sources their own DDL partitions by time, `workload_weight`
    is the weight of every query of the workload, `query_weights` each one's by its id (see
    `fit_to_size`)."""
    return {
        name: fit_to_size(
            a,
            statistics.table(name) if statistics is not None else None,
            time_partitioned=name in time_partitioned,
            workload_weight=workload_weight,
            query_weights=query_weights,
        )
        for name, a in advice.items()
    }


def with_bloom_filters(
    advice: Mapping[TableName, Advice], statistics: WorkloadStatistics | None, catalog: str
) -> dict[TableName, Advice]:
    """Each table's advice with Parquet bloom filters on the keys it is looked up by.

    A point lookup on a key the table is not sorted by reads that key's column in every row
    group; a bloom filter (a few KB per row group) tells Trino which row groups cannot hold
    the value. Given only where the statistics show that the user's Trino takes the
    ``parquet_bloom_filter_columns`` property in `catalog`, where the new tables are made
    (an unknown property fails the CREATE TABLE); where the table holds several files; and
    to keys of many distinct values (on a few, the dictionary already answers): at most
    `MAX_BLOOM_FILTERS` keys, never the first sort key, which min/max serve."""
    if statistics is None:
        return dict(advice)
    if not statistics.supports(catalog, BLOOM_FILTER_PROPERTY):
        return dict(advice)
    return {name: _bloom_filters(a, statistics.table(name)) for name, a in advice.items()}


def _bloom_filters(advice: Advice, stats: TableStatistics | None) -> Advice:
    size = _bytes(stats) if stats is not None else None
    if not advice.lookups or stats is None or size is None or size < BLOOM_FILTER_BYTES:
        return advice
    first = advice.sorted_by[0].column if advice.sorted_by else None
    chosen = []
    for key in advice.lookups:
        figures = stats.column(key.column)
        distinct = figures.distinct if figures is not None else None
        if key.column == first or (distinct is not None and distinct < MANY_DISTINCT):
            continue
        chosen.append(key)
    return replace(advice, bloom_filter=tuple(chosen[:MAX_BLOOM_FILTERS]))


def fit_to_size(
    advice: Advice,
    stats: TableStatistics | None,
    *,
    time_partitioned: bool = False,
    workload_weight: float = 0.0,
    query_weights: Mapping[str, float] | None = None,
) -> Advice:
    """`advice` with its partitioning fitted to the table's size, or to an unknown size
    (`time_partitioned`: the source is partitioned by time already, see `_unknown_size`).
    A small table keeps its lookups' bucket only where they carry `LOOKUP_BUCKET_SHARE` of
    `workload_weight`, the weight of the whole workload (0: unknown, the lookups alone), and
    outweigh the time ranges its time sort serves; given `query_weights` (each query's
    weight by its id), a query that both looks the key up and asks for a time range counts
    on neither side: in a small table a slice of the time sort and a bucket are files of a
    few MiB alike, and either serves it."""
    if not advice.partitioning:
        return advice
    size = _bytes(stats) if stats is not None else None
    if stats is None or size is None:
        return _unknown_size(advice, time_partitioned)
    notes: list[str] = []
    if size < SMALL_TABLE_BYTES:
        # partitions are dropped here but for a lookups' bucket: a deferred one may serve
        deferred = advice.deferred
        candidate = advice
        if deferred is not None and deferred.transform == "bucket":
            candidate = _with_deferred(advice)  # what it serves is left until it is kept
        advice = _sorted_by_time(candidate, advice.temporal)
        temporal = advice.temporal
        # the time ranges a dropped time partition served, when they weigh more, keep the
        # time sort whole (and its slices: buckets would split each slice's files further)
        lookups = _bucket_weight(advice.partitioning)
        time_weight = temporal.weight if temporal is not None else 0.0
        key = next((f for f in advice.partitioning if f.transform == "bucket"), None)
        if query_weights is not None and temporal is not None and key is not None:
            both = set(temporal.queryids) & set(key.queryids)
            time_weight = sum(query_weights.get(q, 0.0) for q in set(temporal.queryids) - both)
            lookups = sum(query_weights.get(q, 0.0) for q in set(key.queryids) - both)
        buckets = (
            ()
            if (temporal is not None and time_weight >= lookups)
            or (workload_weight > 0 and lookups < LOOKUP_BUCKET_SHARE * workload_weight)
            else _lookup_buckets(advice.partitioning, size)
        )
        notes.append(
            f"the table holds {_mib(size)} in {stats.files or 0} file(s), less than "
            f"{_mib(SMALL_TABLE_BYTES)}: partitions would only split it into small files, so "
            + (
                f"only the lookups' {buckets[0].spec()} is kept (a lookup reads one file of "
                f"{_mib(size / (buckets[0].param or 1))}: Trino writes a file this small as one "
                "row group, whose min/max span every key whatever the sort)"
                if buckets
                else "it stays unpartitioned"
            )
            + (" and it is sorted instead" if advice.sorted_by else "")
        )
        if buckets and deferred is not None and buckets[0].column == deferred.column:
            advice = _served_by(advice, buckets[0])
        return _with(advice, buckets, notes)
    fields: list[PartitionField] = []
    partitions = 1.0
    for field in advice.partitioning:
        if field.transform in DAYS_PER_UNIT:
            sized, count, note = _temporal(field, stats, size)
            if note:
                notes.append(note)
            if sized is not None:
                fields.append(sized)
                partitions *= count
    for field in advice.partitioning:
        if field.transform in DAYS_PER_UNIT or field.cardinality == 1:
            if field.transform not in DAYS_PER_UNIT:
                fields.append(field)  # a calendar part of the partition date: no new partitions
            continue
        sized, note = _other(field, stats, size / partitions)
        if note:
            notes.append(note)
        if sized is not None:
            fields.append(sized)
            partitions *= max(sized.param or sized.cardinality, 1)
    deferred = advice.deferred
    if deferred is not None and not any(f.transform in ("day", "hour") for f in fields):
        # the day partition that left the other field out is coarser now, or gone
        sized, note = _other(deferred, stats, size / partitions)
        if note:
            notes.append(note)
        if sized is not None:
            fields.append(sized)
            advice = _served_by(advice, sized)
    if not any(f.transform in DAYS_PER_UNIT for f in fields):  # calendar parts only ride along
        fields = [f for f in fields if not (f.transform == "identity" and f.cardinality == 1)]
        advice = _sorted_by_time(advice, advice.temporal)
    return _with(advice, tuple(fields), notes)


def _with_deferred(advice: Advice) -> Advice:
    """`advice` with the field its day or hour partition left out (`Advice.deferred`) among
    its fields again, for a table whose size drops that partition or makes it coarser."""
    if advice.deferred is None:
        return advice
    fields = (*advice.partitioning, advice.deferred)
    return replace(advice, partitioning=fields, deferred=None)


def _undeferred(advice: Advice) -> Advice:
    """`_with_deferred`, without what the field taken back serves (see `_served_by`)."""
    if advice.deferred is None:
        return advice
    return _served_by(_with_deferred(advice), advice.deferred)


def _served_by(advice: Advice, field: PartitionField) -> Advice:
    """`advice` without what a partition field taken back from `Advice.deferred` serves: an
    identity partition holds one value of its column, so sorting by it sorts nothing; a
    bucket serves the lookups of its key, as the advise pass leaves them (no bloom filter)."""
    if field.transform == "identity":
        kept = tuple(k for k in advice.sorted_by if k.column != field.column)
        return replace(advice, sorted_by=kept)
    if field.transform == "bucket":
        return replace(advice, lookups=tuple(k for k in advice.lookups if k.column != field.column))
    return advice


def _unknown_size(advice: Advice, time_partitioned: bool) -> Advice:
    """`advice` for a table of unknown size: no time partition (nor the calendar parts that
    ride along with it), the time column first in the sort instead (see the module's text).
    A source its owners partitioned by time already is taken to be large enough for it: its
    temporal partition is kept, no finer than a month, with the field a day partition left
    out (`Advice.deferred`). Elsewhere that field stays out: on a table that may be small,
    its partitions would only split the files further."""
    temporal = advice.temporal
    if temporal is None:
        return advice
    if time_partitioned:  # large enough for month partitions, and for the other field
        return _no_finer_than_a_month(_undeferred(advice), temporal)
    kept = tuple(
        f
        for f in advice.partitioning
        if f.transform not in DAYS_PER_UNIT
        and not (f.transform == "identity" and f.cardinality == 1)
    )
    note = (
        f"the table's size is unknown (no statistics): {temporal.transform}({temporal.column}) "
        "partitions would split a small table into many small files, so it is sorted by "
        f"{temporal.column} instead: each file's row groups keep narrow time ranges that a "
        "range skips by min/max"
    )
    advice = _sorted_by_time(advice, temporal)
    return replace(advice, partitioning=kept, sizing=(*advice.sizing, note))


def _no_finer_than_a_month(advice: Advice, temporal: PartitionField) -> Advice:
    if temporal.transform not in ("day", "hour"):
        return advice
    note = (
        f"the table's size is unknown (no statistics), but its source is partitioned by time: "
        f"month({temporal.column}) partitions, as {temporal.transform} partitions might split "
        "it into many small files"
    )
    month = replace(
        temporal,
        transform="month",
        reason=f"{temporal.reason}; {note}",
        cardinality=min(temporal.cardinality, 120),
    )
    fields = tuple(month if f is temporal else f for f in advice.partitioning)
    if not advice.sorted_by:
        advice = _sorted_by_time(advice, temporal)
        note += f", sorted by {temporal.column} so that a narrower range skips row groups"
    return replace(advice, partitioning=fields, sizing=(*advice.sizing, note))


def _sorted_by_time(advice: Advice, dropped: PartitionField | None) -> Advice:
    """`advice` sorted first by the temporal column whose partition the size dropped.

    Its ranges still carry the weight that asked for the partition: sorted by it, each file
    and row group keeps a narrow time range that Trino skips by min/max, and the rows keep
    the order a table filled day by day has — the order its columns compress best in. A sort
    on another key alone (a user id for lookups) would scatter every time range over every
    file and grow the table."""
    if dropped is None:
        return advice
    rest = tuple(k for k in advice.sorted_by if k.column != dropped.column)
    first = SortKey(
        dropped.column,
        f"ranges on {dropped.column} (the partitioning it would have had): files and row "
        "groups keep narrow time ranges to skip, and the rows their load order",
        dropped.queryids,
        dropped.weight,
    )
    return replace(advice, sorted_by=(first, *rest))


def statistics_issues(
    statistics: WorkloadStatistics | None, advice: Mapping[TableName, Advice]
) -> list[Issue]:
    """What the report says of the statistics: read or not, and what they changed."""
    if statistics is None:
        return [
            Issue(
                "statistics_missing",
                Severity.INFO,
                "No statistics were read: sizes and spreads are assumed",
                "The task gave no credentials for the user's Trino (or reading was off), so "
                "the layout rests on the queries alone: partition granularities, identity "
                "partitions and bucket counts assume a large table.",
            )
        ]
    issues = []
    if statistics.tables:
        issues.append(
            Issue(
                "statistics_read",
                Severity.INFO,
                f"Statistics of {len(statistics.tables)} table(s) read from {statistics.source}",
                "Rows, bytes of data files, file counts, distinct values and bounds came from "
                "the data (SHOW STATS and Iceberg's metadata tables"
                + (
                    "; where SHOW STATS had no distinct counts, a TABLESAMPLE of the table"
                    if any(t.sampled for t in statistics.tables.values())
                    else ""
                )
                + ")"
                + (
                    f", read at {statistics.read_at:%Y-%m-%d %H:%M} UTC"
                    if statistics.read_at
                    else ""
                )
                + "; the partitioning is fitted to them.",
                details=statistics.to_dict(),
            )
        )
    if statistics.problems:
        issues.append(
            Issue(
                "statistics_missing",
                Severity.WARNING,
                f"{len(statistics.problems)} statistic(s) could not be read",
                " ".join(statistics.problems)[:2000],
                effect="Tables without statistics keep the advice made from the queries alone.",
                details={"problems": list(statistics.problems)},
            )
        )
    for name, table_advice in advice.items():
        if table_advice.sizing:
            issues.append(
                Issue(
                    "partitioning_sized",
                    Severity.INFO,
                    f"Partitioning of {name} fitted to its size",
                    " ".join(f"{note}." for note in table_advice.sizing),
                    table=str(name),
                    details={
                        "partitioning": [f.spec() for f in table_advice.partitioning],
                        "notes": list(table_advice.sizing),
                    },
                )
            )
    return issues


def _with(advice: Advice, fields: tuple[PartitionField, ...], notes: list[str]) -> Advice:
    if not notes and fields == advice.partitioning:
        return advice
    sized = replace(advice, partitioning=fields, sizing=tuple(notes))
    if sized.changed:
        return sized
    return replace(
        sized,
        unchanged_reason="; ".join(notes) + ", and no filter carries enough weight for a sort",
    )


def _bytes(stats: TableStatistics) -> float | None:
    if stats.data_bytes is not None:
        return float(stats.data_bytes)
    widths = [c.data_bytes for c in stats.columns.values() if c.data_bytes is not None]
    return sum(widths) if widths else None


def _temporal(
    field: PartitionField, stats: TableStatistics, size: float
) -> tuple[PartitionField | None, float, str]:
    column = stats.column(field.column)
    span = column.span_days if column is not None else None
    if span is None:
        return field, 12.0, ""
    transform = field.transform
    while True:
        count = max(span / DAYS_PER_UNIT[transform], 1.0)
        if size / count >= TARGET_PARTITION_BYTES or transform == "year":
            break
        transform = _COARSER[transform]
    per_partition = size / count
    if per_partition < TARGET_PARTITION_BYTES / 4 and count > 1 and transform == "year":
        return (
            None,
            1.0,
            f"{field.column} spans {span:.0f} days of {_mib(size)}: even yearly partitions "
            f"would hold {_mib(per_partition)} each, so no temporal partition",
        )
    if transform == field.transform:
        return field, count, ""
    note = (
        f"{field.column} spans {span:.0f} days of {_mib(size)}: {field.transform} partitions "
        f"would hold {_mib(size / max(span / DAYS_PER_UNIT[field.transform], 1.0))} each, "
        f"{transform} partitions {_mib(per_partition)}, hence {transform}({field.column})"
    )
    reason = f"{field.reason}; fitted to the data: {note}"
    return replace(field, transform=transform, reason=reason), count, note


def _other(
    field: PartitionField, stats: TableStatistics, per_partition: float
) -> tuple[PartitionField | None, str]:
    column = stats.column(field.column)
    if field.transform == "identity":
        distinct = column.distinct if column is not None else None
        if distinct is None:
            return field, ""
        if (
            not column
            or not column.low_cardinality(stats.rows)
            or (per_partition / max(distinct, 1) < TARGET_PARTITION_BYTES / 4)
        ):
            return None, (
                f"{field.column} has about {distinct:.0f} distinct values: identity partitions "
                f"would hold {_mib(per_partition / max(distinct, 1))} each, so none"
            )
        return replace(field, cardinality=int(distinct)), ""
    if field.transform == "bucket":
        buckets = _bucket_count(field.param or BUCKETS, per_partition, TARGET_PARTITION_BYTES)
        if buckets < 2:
            return None, (
                f"bucket({field.column}): {_mib(per_partition)} per partition is too little to "
                "split into buckets; the sort order serves the lookups"
            )
        if buckets == field.param:
            return field, ""
        note = f"bucket({field.column}, {buckets}): {_mib(per_partition)} per partition"
        return replace(
            field, param=buckets, cardinality=buckets, reason=f"{field.reason}; {note}"
        ), note
    if per_partition / max(field.cardinality, 1) < TARGET_PARTITION_BYTES / 4:
        return None, (
            f"{field.spec()} would make partitions of {_mib(per_partition / field.cardinality)}: "
            "none"
        )
    return field, ""


def _lookup_buckets(fields: tuple[PartitionField, ...], size: float) -> tuple[PartitionField, ...]:
    """The bucket field on a looked-up key that a small table keeps, with as many buckets
    (a power of two, at most the advised count) as hold `LOOKUP_BUCKET_BYTES` each; none
    where fewer than two would.

    A sort alone does not serve a lookup in a small table: Trino's writer makes files of one
    row group below its 128 MiB block size, and each writer's file holds keys from the whole
    range, so min/max skip nothing (measured on the lab: a 58 MiB table sorted by a varchar
    key read 54 MB per lookup, 0.13 s; bucketed in 16, 3.7 MB, 0.08 s). Slices by ranges of
    the key would give disjoint files, but only for a key of known bounds (a number or a
    date) in tables of several slices (`migrate.SLICE_BYTES`); a bucket serves any key.

    Buckets cost storage: each file repeats the dictionaries of its columns and compresses
    shorter runs. On the lab a star's 28 MB fact grew by 18 % in 4 buckets (7 % in 2), where
    its order lookups, 3 % of the workload's weight, gained 12 %: z fell. A lookup pays for
    them only where it weighs: `LOOKUP_BUCKET_SHARE` of the workload (the flights example's
    tail lookups carry 37 %, and the example's z rose from 1.35 to 1.79)."""
    for field in fields:
        if field.transform != "bucket":
            continue
        buckets = _bucket_count(field.param or BUCKETS, size, LOOKUP_BUCKET_BYTES)
        if buckets < 2:
            return ()
        note = f"bucket({field.column}, {buckets}): {_mib(size / buckets)} per bucket"
        return (
            replace(field, param=buckets, cardinality=buckets, reason=f"{field.reason}; {note}"),
        )
    return ()


def _bucket_count(advised: int, size: float, per_bucket: float) -> int:
    """The most buckets, a power of two up to `advised`, that hold `per_bucket` of `size`
    each (1: not even two do)."""
    buckets = 1
    while buckets * 2 <= advised and size / (buckets * 2) >= per_bucket:
        buckets *= 2
    return buckets


def _bucket_weight(fields: tuple[PartitionField, ...]) -> float:
    return max((f.weight for f in fields if f.transform == "bucket"), default=0.0)


def _mib(size: float) -> str:
    if size >= 1 << 30:
        return f"{size / (1 << 30):.1f} GiB"
    return f"{size / MIB:.1f} MiB"
