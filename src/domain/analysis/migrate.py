"""Migrate pass: the statements that copy the old rows into each new table.

Decides how each table's data moves: ``INSERT INTO <new> (<columns>) SELECT <columns> FROM
<old>``, both names fully qualified. The columns are listed explicitly, in the source's order,
so the copy cannot depend on column positions; only when the DDL does not name the columns
(``CREATE TABLE … AS SELECT *``, ``LIKE``) does it fall back to ``SELECT *``, which is safe
there because the new table was created from the source table's own columns. A column whose
type is fixed is converted with ``CAST``: a value that does not convert fails the statement
rather than being lost.

**Bounded writers.** Trino's Iceberg writer fails an INSERT that opens more partitions per
writer than ``iceberg.max-partitions-per-writer`` (100 by default). A target partitioned by
month, day or hour of a column is therefore filled by thirteen statements: one per calendar
month (``WHERE month(col) = m``), and one for the rows where the column is NULL. They are
disjoint and together cover every row, whatever years the data spans; each opens the
partitions of one calendar month only (a month partition per year of data, times the other
field's partitions). The report says when the session property is still needed. A copy that
keeps its source's own month, day or hour partitioning (nothing advised a new one) is split
the same way: one INSERT over all of it would open a writer per day of the data; so is one
that keeps an identity partition on a date or timestamp column (a Hive table's daily ``dt``).
A kept identity partition on a column of another type (a daily ``ds`` string, a yyyymmdd
key) is split by the column's last character (``substr(ds, length(ds)) = '0'`` … ``'9'``, any
other, NULL): a daily string's last digit gives each statement about a tenth of the days.
Where the statistics give the partitions' count — the columns' spans for the time fields,
their distinct values for identity fields — and it is at most `PARTITIONS_PER_STATEMENT`,
one INSERT fills the table instead (each of the split's statements reads the whole source).
Not more:
every partition an INSERT writes holds a sort buffer and a row group in memory per writer, so
the memory of one statement grows with its partitions (measured on the lab: one INSERT of a
million rows into 16 sorted partitions exceeded 2 GB, where the month split's statements of
the same 16 partitions and a twelfth of the rows passed).

**Slices that make the sort order prune.** A sort order lets Trino skip files by their
min/max only when files hold disjoint ranges of the key. One INSERT does not give that: each
of its writers sorts the rows it was handed, so every file spans the whole range (measured on
the lab: four files of a sorted table, each from the first day to the last). A table that is
not split by month, with statistics giving the bounds of its first sort key (a date, a
timestamp or an integer) and large enough for several files of `SLICE_BYTES`, is therefore
filled by one INSERT per range of that key — the first open below, the last open above, and
one for NULL, so that together they take every row whatever the bounds really are — and each
range lands in files of its own.

>>> import sqlglot
>>> from domain.analysis.catalog import Column, SourceTable
>>> from domain.analysis.layout import TargetTable
>>> from domain.analysis.names import TableName
>>> columns = (Column(sqlglot.exp.to_identifier("id")),
...            Column(sqlglot.exp.to_identifier("Note", quoted=True)))
>>> source = SourceTable(TableName("lake", "sales", "orders"), columns)
>>> migration_sql(TargetTable(source, TableName("lake", "opt", "orders"), columns))
['INSERT INTO lake.opt.orders (id, "Note") SELECT id, "Note" FROM lake.sales.orders']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from sqlglot import exp

from domain.analysis.advise import PartitionField
from domain.analysis.catalog import Column
from domain.analysis.estimate import fields_of
from domain.analysis.findings import Issue, Severity
from domain.analysis.layout import TargetTable
from domain.analysis.names import TableName, trino_sql
from domain.analysis.sizing import DAYS_PER_UNIT
from domain.statistics import TableStatistics, WorkloadStatistics

__all__ = [
    "MAX_SLICES",
    "SLICE_BYTES",
    "SPLIT_TRANSFORMS",
    "WHOLE",
    "Slicing",
    "kept_fields",
    "migration_sql",
    "migrations",
    "slicing",
    "slicing_issues",
    "slicings",
]

SPLIT_TRANSFORMS = ("month", "day", "hour")
SLICE_BYTES = 16 << 20  # a slice per this much data: larger files compress and open better
MAX_SLICES = 12  # each slice reads the whole source table once (as the 13 of a month split)
PARTITIONS_PER_WRITER = 100  # iceberg.max-partitions-per-writer's default
PARTITIONS_PER_STATEMENT = 8  # what one INSERT may fill at once where a month split is not needed
_INTEGERS = {
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
}


@dataclass(frozen=True, slots=True)
class Slicing:
    """The ranges of `column` a table is filled by: `bounds` ascending SQL literals, n - 1
    of them for n ranges (below the first, between neighbours, from the last on). Without a
    column, one statement fills the table where a month split would have been made (`WHOLE`)."""

    column: str | None
    bounds: tuple[str, ...] = ()

    def predicates(self, operand: str) -> list[str]:
        """Disjoint conditions on `operand` that together hold every row, NULL included."""
        edges = [None, *self.bounds, None]
        ranges = [
            " AND ".join(
                ([f"{operand} >= {low}"] if low is not None else [])
                + ([f"{operand} < {high}"] if high is not None else [])
            )
            for low, high in pairwise(edges)
        ]
        return [*ranges, f"{operand} IS NULL"]


WHOLE = Slicing(None)


def slicing(target: TargetTable, stats: TableStatistics | None) -> Slicing | None:
    """How `target` is filled so that its files hold disjoint ranges of its first sort key;
    `WHOLE` when one INSERT replaces a month split the statistics show is not needed; None
    when the default serves (one INSERT, or the month split without figures for its span)."""
    if stats is None or stats.data_bytes is None:
        return None
    split = _split(target)
    if split is not None:
        partitions = _partitions(target, stats, spans_only=True)
        if partitions is None or partitions > PARTITIONS_PER_STATEMENT:
            return None
    found = _sort_key_slicing(target, stats)
    return found if found is not None or split is None else WHOLE


def _sort_key_slicing(target: TargetTable, stats: TableStatistics) -> Slicing | None:
    advice = target.advice
    if advice is None or not advice.sorted_by or stats.data_bytes is None:
        return None
    # each slice writes a file per partition: a file per slice and partition of SLICE_BYTES
    partitions = _partitions(target, stats) or 1.0
    pieces = min(MAX_SLICES, int(stats.data_bytes // (SLICE_BYTES * partitions)))
    key = advice.sorted_by[0].column
    column = next((c for c in target.columns if c.key == key), None)
    figures = stats.column(key)
    if pieces < 2 or column is None or column.data_type is None or figures is None:
        return None
    if figures.low is None or figures.high is None or key in target.changed_types:
        return None
    bounds = _bounds(column.data_type, figures.low, figures.high, pieces)
    return Slicing(key, bounds) if bounds else None


def slicings(
    targets: Mapping[TableName, TargetTable], statistics: WorkloadStatistics | None
) -> dict[TableName, Slicing]:
    """Each target's slicing, for the tables that have one."""
    if statistics is None:
        return {}
    found = {name: slicing(t, statistics.table(name)) for name, t in targets.items()}
    return {name: s for name, s in found.items() if s is not None}


def slicing_issues(
    targets: Mapping[TableName, TargetTable], found: Mapping[TableName, Slicing]
) -> list[Issue]:
    return [
        Issue(
            "migration_whole",
            Severity.INFO,
            f"{name} is filled by one INSERT",
            "Its partitions, counted from the statistics' span of its time column, are "
            f"few (at most {PARTITIONS_PER_STATEMENT}): one statement writes them all within "
            "the writers' memory, so the thirteen statements of a month split, each reading "
            "the whole source, are not needed.",
            table=str(targets[name].name),
        )
        if s.column is None
        else Issue(
            "migration_sliced",
            Severity.INFO,
            f"{name} is filled in {len(s.bounds) + 2} statements by ranges of {s.column}",
            f"A sort on {s.column} lets Trino skip files by their min/max only when files hold "
            "disjoint ranges of it; one INSERT gives every writer rows from the whole range. "
            f"Each statement copies one range of {s.column} (the statistics' bounds, split "
            f"into {len(s.bounds) + 1} ranges, and its NULLs), so each range lands in files "
            "of its own.",
            table=str(targets[name].name),
            effect=f"Filters on {s.column} read only the files of the ranges they ask for.",
            risk="Each statement reads the whole source table once.",
            details={"column": s.column, "bounds": list(s.bounds)},
        )
        for name, s in found.items()
    ]


_TEMPORAL = {
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
}


def migration_sql(target: TargetTable, sliced: Slicing | None = None) -> list[str]:
    old, new = target.source.name.sql(), target.name.sql()
    if not target.columns:
        return [f"INSERT INTO {new} SELECT * FROM {old}"]
    fixed = target.changed_types
    names = ", ".join(c.sql_name for c in target.columns)
    values = ", ".join(
        f"CAST({c.sql_name} AS {trino_sql(fixed[c.key])})" if c.key in fixed else c.sql_name
        for c in target.columns
    )
    copy = f"INSERT INTO {new} ({names}) SELECT {values} FROM {old}"
    if sliced is not None:
        if sliced.column is None:
            return [copy]
        key = next(c for c in target.columns if c.key == sliced.column)
        return [f"{copy} WHERE {p}" for p in sliced.predicates(key.sql_name)]
    split = _split(target)
    column = next((c for c in target.columns if split and c.key == split[1]), None)
    if split is None or column is None:
        return [copy]
    source = column.sql_name
    if column.key in fixed:
        source = f"CAST({source} AS {trino_sql(fixed[column.key])})"
    if split[0] == "month":
        ranges = [f"month({source}) = {m}" for m in range(1, 13)]
    else:
        text = f"CAST({source} AS varchar)" if _temporal_or_number(column, fixed) else source
        last = f"substr({text}, length({text}))"
        digits = ", ".join(f"'{d}'" for d in range(10))
        ranges = [f"{last} = '{d}'" for d in range(10)] + [f"{last} NOT IN ({digits})"]
    return [f"{copy} WHERE {r}" for r in ranges] + [f"{copy} WHERE {column.sql_name} IS NULL"]


def migrations(
    targets: Iterable[TargetTable], sliced: Mapping[TableName, Slicing] | None = None
) -> list[str]:
    sliced = sliced or {}
    return [statement for t in targets for statement in migration_sql(t, sliced.get(t.source.name))]


def _split(target: TargetTable) -> tuple[str, str] | None:
    """How the copy is split so that no statement opens every partition, if it must be:
    ``("month", column)`` for a month/day/hour field, or an identity field on a date or
    timestamp column; ``("last", column)`` for an identity field on another column."""
    temporal = target.advice.temporal if target.advice is not None else None
    if temporal is not None and temporal.transform in SPLIT_TRANSFORMS:
        return "month", temporal.column
    if target.advice is not None and target.advice.partitioning:
        return None  # the advice's own fields: few values each (see advise)
    columns = {c.key: c for c in target.columns}
    for field in kept_fields(target):
        if field.transform in SPLIT_TRANSFORMS:
            return "month", field.column
    for field in kept_fields(target):
        column = columns.get(field.column)
        if field.transform != "identity" or column is None:
            continue
        kind = target.changed_types.get(column.key, column.data_type)
        temporal_kind = kind is not None and kind.this in _TEMPORAL
        return ("month" if temporal_kind else "last"), field.column
    return None


def _temporal_or_number(column: Column, fixed: Mapping[str, exp.DataType]) -> bool:
    kind = fixed.get(column.key, column.data_type)
    return kind is None or kind.this not in exp.DataType.TEXT_TYPES


def kept_fields(target: TargetTable) -> tuple[PartitionField, ...]:
    """The fields of the partitioning the copy keeps from its source (none where the advice
    partitions the table), as ``'day(ts)'``, ``'bucket(id, 16)'`` or ``'ds'`` spell them.

    >>> from domain.analysis.catalog import SourceTable
    >>> source = SourceTable(TableName("l", "s", "t"), ())
    >>> kept = TargetTable(source, source.name, (), (("partitioning", "ARRAY['day(ts)', 'ds']"),))
    >>> [(f.transform, f.column) for f in kept_fields(kept)]
    [('day', 'ts'), ('identity', 'ds')]
    """
    if target.advice is not None and target.advice.partitioning:
        return ()
    spec = target.property("partitioning")
    return tuple(
        # the cardinality is not known: the statistics' distinct values, if read, tell
        PartitionField(f.transform, f.column, "kept from the source", param=f.param, cardinality=0)
        for f in fields_of([("partitioning", spec)] if spec else [])
    )


def _partitions(
    target: TargetTable, stats: TableStatistics, *, spans_only: bool = False
) -> float | None:
    """How many partitions the advised spec makes of the table: its temporal fields counted
    from the column's span, the others from their cardinality. With `spans_only`, None where
    a temporal field's span is unknown."""
    count = 1.0
    advised = target.advice.partitioning if target.advice is not None else ()
    for field in advised or kept_fields(target):
        figures = stats.column(field.column)
        span = figures.span_days if figures is not None else None
        distinct = figures.distinct if figures is not None else None
        if field.transform in DAYS_PER_UNIT and span is not None:
            count *= max(math.ceil(span / DAYS_PER_UNIT[field.transform]), 1)
        elif field.transform in DAYS_PER_UNIT and spans_only:
            return None
        elif field.cardinality or field.param:
            count *= max(field.param or field.cardinality, 1)
        elif distinct is not None:  # a kept identity or truncate field
            count *= max(distinct, 1.0)
        elif spans_only:
            return None
    return count


def _bounds(data_type: exp.DataType, low: str, high: str, pieces: int) -> tuple[str, ...]:
    """`pieces - 1` literals splitting [low, high] evenly (whole days for dates and
    timestamps), fewer when the span holds fewer distinct steps."""
    kind = data_type.this
    if kind in _INTEGERS:
        first_key, last_key = _date_key(low), _date_key(high)
        if first_key is not None and last_key is not None:  # 20240115: split by days
            return _days(first_key, last_key, pieces, lambda d: d.strftime("%Y%m%d"))
        try:
            first, last = int(low), int(high)
        except ValueError:
            return ()
        step = math.ceil((last - first + 1) / pieces)
        return tuple(str(first + step * i) for i in range(1, pieces) if first + step * i <= last)
    first_day, last_day = _day(low), _day(high)
    if first_day is None or last_day is None:
        return ()
    if kind == exp.DataType.Type.DATE:
        return _days(first_day, last_day, pieces, lambda d: f"DATE '{d.isoformat()}'")
    if kind == exp.DataType.Type.TIMESTAMP:  # timestamp(p) without time zone
        return _days(first_day, last_day, pieces, lambda d: f"TIMESTAMP '{d.isoformat()} 00:00:00'")
    return ()


def _days(first: date, last: date, pieces: int, literal: Callable[[date], str]) -> tuple[str, ...]:
    step = max(1, math.ceil(((last - first).days + 1) / pieces))
    days = (first + timedelta(days=step * i) for i in range(1, pieces))
    return tuple(literal(d) for d in days if d <= last)


def _day(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.strip().replace("T", " ")[:19]).date()
    except ValueError:
        return None


def _date_key(text: str) -> date | None:
    """The day an integer like 20240115 names (a star schema's date key), if it names one."""
    text = text.strip()
    if len(text) != 8 or not text.isdigit() or not "1900" <= text[:4] <= "2200":
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None
