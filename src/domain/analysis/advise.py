"""Advise pass: the layout each table should have, decided from how the workload reads it.

Decides, per source table, its Iceberg ``partitioning``, ``sorted_by`` and type fixes — or
that it stays as it is — and keeps the evidence (queries, weight) behind each decision. Only
the table's own read weight counts (the weight of the queries that read it): a field must
serve at least `PARTITION_SHARE` of it to partition by, `SORT_SHARE` to sort by.

Partitioning (at most one temporal field and one other field, so the partition count stays
bounded; the report states the assumed cardinalities):

- **temporal** — the date/timestamp column with the most range-filter weight; its transform
  follows the widths of the ranges the queries ask for (weighted median): ≥ 3 years →
  ``year``, ≥ 28 days → ``month``, ≥ 1 day → ``day``, shorter → ``hour`` (timestamps only);
  open ranges (``ts >= …``) → ``month``, which bounds the partitions at twelve a year.
- **calendar parts** — integer columns named like parts of a date (``year``, ``month``,
  ``quarter``…) filtered by equality ride along as identity fields when a temporal field is
  chosen: when they hold the parts of that date, as their names say, they add no partition.
- **identity** — a low-cardinality column (boolean, or named like ``status``, ``queue``,
  ``priority``, ``region``…) used in equality / IN filters. Never a column whose name or
  type suggests high cardinality, nor a flag only ever compared with FALSE (``is_test =
  false`` keeps nearly every row: it prunes nothing and multiplies files; nor is it sorted on).
- **bucket(col, 16)** — a key (``id``, ``*_id``, ``*_key``, ``*_hk``, ``*_number``…) used in point
  lookups: 16 buckets keep a month's partitions × buckets per migration statement under
  the 100 writers Trino allows by default, while a lookup reads 1/16 of the table.
- **truncate(col, n)** — a varchar filtered by ``LIKE 'prefix%'`` (n = the shortest
  prefix, at most 4), when nothing else partitions the table.

A day or hour partition takes no other field: a month's migration statement would open its
days × the other field's partitions, more than the writers Trino allows. The field it leaves
out is kept aside (`Advice.deferred`) for the sizing pass, which adds it where the table's
size drops the day partition or makes it coarser (most tables: a day of data is rarely the
128 MiB a partition should hold).

Sort order: up to two columns by filter weight (join keys count half: Trino's dynamic
filters prune files by the join key's min/max — but only on a table that is also filtered;
one read whole to build a join is left alone; a join key that a lookup by key in the joined
table hands a few values counts as a lookup), skipping identity partition columns.

Type fixes: a varchar column compared only with ``'YYYY-MM-DD'`` literals (or cast to date)
by the queries becomes ``date``; one compared only with ``'YYYY-MM-DD HH:MM:SS'`` literals
becomes ``timestamp(6)`` (Iceberg's timestamp). The migration converts it with CAST, so a
value that does not convert fails the migration instead of being lost, and the report gives
the check to run first (it also proves each value is in that canonical text form, whose order
is the order of the values, which is what makes the rewritten comparisons exact).
A table's fixes are refused (and the report says which query prevents them) when any query
reads it in a way the rewrite cannot adapt: that query would otherwise come back only
retargeted, with the column's type changed in its result.

A varchar column holding numbers becomes that number type: one every query reads only
through ``CAST(col AS <type>)`` — always the same integer, bigint, decimal, real or double
(not a tinyint or smallint: Iceberg stores them as integers, read back as such) — or
as a whole text (projected, grouped, ordered, counted, joined to another column). The
migration converts it with that very CAST, so a cast in a query becomes the column itself
and is exact whatever the text looked like; the text read back becomes ``CAST(col AS
varchar)``, the text it held when that text is the number as Trino prints it (the report's
check proves it: no leading zero, ``+`` or space; a decimal's every scale digit). A double
or real prints otherwise (``1.0E2``), so such a fix is made only where no query reads the
text. The fix is not made, and the report says which query shows why (`KeptType`), when a
query reads the column with ``TRY_CAST`` (some values may not be numbers), casts it to
another number type, or writes the table; nor, column by column, when a query compares the
text with a string, matches it with LIKE or hands it to a function (see
`restructure.Unadaptable`): the text is then more than a number's.

>>> from domain.analysis.advise import granularity
>>> granularity([(90.0, 1.0)], temporal_type="date"), granularity([(None, 1.0)], "timestamp")
('month', 'month')
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlglot import exp

from domain.analysis.cardinality import KEY_NAME
from domain.analysis.catalog import Catalog, Column, SourceTable
from domain.analysis.names import TableName, identifier_sql
from domain.analysis.profile import ColumnStats, Profile, TableUsage

__all__ = [
    "BUCKETS",
    "PARTITION_SHARE",
    "SORT_SHARE",
    "Advice",
    "KeptType",
    "PartitionField",
    "SortKey",
    "TypeFix",
    "advise",
    "granularity",
]

PARTITION_SHARE = 0.2
SORT_SHARE = 0.1
BUCKETS = 16
MAX_SORT_KEYS = 2
LOOKUP_GAIN = 4.0  # how much more a sort gains a lookup by key than another filter (see _sort_keys)
_TEMPORAL = {
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "timestamp",
    exp.DataType.Type.TIMESTAMPTZ: "timestamptz",
}
_INTEGERS = {
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.TINYINT,
}
_STRINGS = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.TEXT}
_LOW_CARDINALITY = re.compile(
    r"(^|_)(status|state|queue|priority|region|type|kind|category|country|currency|channel|"
    r"tier|segment|level|gender|platform|device|lang|language|stage|severity|team|source)$"
)
_CALENDAR = {
    "year": 10,
    "month": 12,
    "quarter": 4,
    "dayofweek": 7,
    "day_of_week": 7,
    "dayofmonth": 31,
    "day_of_month": 31,
    "week": 53,
}
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_PRUNABLE = ("eq", "in", "range", "like", "is_null")
_KIND_NAMES = {"lookup": "joined lookup"}
_ASSUMED_CARDINALITY = 10


@dataclass(frozen=True, slots=True)
class PartitionField:
    """One field of a partition spec, and the evidence for it."""

    transform: str  # identity, year, month, day, hour, bucket, truncate
    column: str
    reason: str
    queryids: tuple[str, ...] = ()
    weight: float = 0.0
    param: int | None = None
    cardinality: int = 1  # partitions it multiplies by (1 when it depends on another field)

    def spec(self) -> str:
        name = identifier_sql(self.column)
        if self.transform == "identity":
            return name
        if self.param is not None:
            return f"{self.transform}({name}, {self.param})"
        return f"{self.transform}({name})"


@dataclass(frozen=True, slots=True)
class SortKey:
    column: str
    reason: str
    queryids: tuple[str, ...] = ()
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class TypeFix:
    column: str
    sql_name: str
    old_type: str
    new_type: exp.DataType
    queryids: tuple[str, ...] = ()
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class KeptType:
    """A type fix the column's uses suggest, not made: why, as (queryid, reason) for each
    query that shows the column may hold more than the new type does."""

    fix: TypeFix
    reasons: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Advice:
    """The recommended layout of one table; empty when it should stay as it is."""

    table: TableName
    partitioning: tuple[PartitionField, ...] = ()
    sorted_by: tuple[SortKey, ...] = ()
    type_fixes: tuple[TypeFix, ...] = ()
    unchanged_reason: str = ""
    types: Mapping[str, str] = field(default_factory=dict)  # column → temporal kind
    # fixes the queries would allow, refused because some query cannot be adapted to them:
    # (queryid, why) for each such query
    refused_fixes: tuple[TypeFix, ...] = ()
    refusals: tuple[tuple[str, str], ...] = ()
    sizing: tuple[str, ...] = ()  # how the data's size changed the partitioning (see sizing)
    # keys looked up by value (``id = 42``, ``id IN (…)``) that no partition serves: a Parquet
    # bloom filter on each lets Trino skip the row groups that cannot hold the value
    lookups: tuple[SortKey, ...] = ()
    bloom_filter: tuple[SortKey, ...] = ()  # the lookups given one (see sizing)
    kept_types: tuple[KeptType, ...] = ()  # fixes of single columns not made, and why
    # the other field a day or hour partition leaves out (see the module's text): the
    # sizing pass adds it where the table's size drops that partition or makes it coarser
    deferred: PartitionField | None = None

    @property
    def changed(self) -> bool:
        return bool(self.partitioning or self.sorted_by or self.type_fixes or self.bloom_filter)

    @property
    def temporal(self) -> PartitionField | None:
        return next(
            (f for f in self.partitioning if f.transform in ("year", "month", "day", "hour")),
            None,
        )


Refusals = Mapping[TableName, Sequence[tuple[str, str]]]
Declined = Mapping[TableName, Mapping[str, Sequence[tuple[str, str]]]]


def advise(
    catalog: Catalog,
    profile: Profile,
    refused: Refusals | None = None,
    declined: Declined | None = None,
    answered: Collection[TableName] = (),
) -> dict[TableName, Advice]:
    """The advice for every source table, in DDL order. `refused` names the tables whose
    type fixes must not be made — some query reads them in a way no rewrite can adapt —
    with those queries and why (see `retarget.adapt_type_fixes`); `declined` the single
    columns whose fix must not be made, with the queries showing why; `answered` the tables
    read by queries that rollups or stored results answer (`profile` leaves those out)."""
    refused = refused or {}
    declined = declined or {}
    return {
        name: advise_table(
            source,
            profile.usage.get(name, TableUsage()),
            profile.columns.get(name, {}),
            tuple(refused.get(name, ())),
            declined.get(name, {}),
            answered=name in answered,
        )
        for name, source in catalog.tables.items()
    }


def advise_table(
    source: SourceTable,
    usage: TableUsage,
    stats: Mapping[str, ColumnStats],
    refusals: tuple[tuple[str, str], ...] = (),
    declined: Mapping[str, Sequence[tuple[str, str]]] | None = None,
    *,
    answered: bool = False,
) -> Advice:
    if not source.typed:
        return Advice(source.name, unchanged_reason="its columns are not known from the DDL")
    if usage.weight <= 0 or not usage.queryids:
        return Advice(
            source.name,
            unchanged_reason=(
                "the queries that read it are answered from rollups or stored results"
                if answered
                else "no query of the workload reads it"
            ),
        )
    columns = {c.key: c for c in source.columns}
    fixes, kept = _type_fixes(columns, stats, usage)
    if declined:
        kept += [KeptType(f, tuple(declined[f.column])) for f in fixes if f.column in declined]
        fixes = [f for f in fixes if f.column not in declined]
    refused_fixes: tuple[TypeFix, ...] = ()
    if refusals:
        refused_fixes, fixes = tuple(fixes), []
    types = {c: _temporal_kind(col.data_type) for c, col in columns.items()}
    for fix in fixes:
        types[fix.column] = _temporal_kind(fix.new_type)
    temporal_types = {c: t for c, t in types.items() if t is not None}
    part_floor = PARTITION_SHARE * usage.weight
    fields: list[PartitionField] = []

    temporal = _temporal_field(temporal_types, stats, part_floor)
    if temporal is not None:
        fields.append(temporal)
        fields += _calendar_fields(columns, stats, part_floor)
    exclusions = _exclusion_flags(columns, stats)
    taken = {f.column for f in fields} | exclusions
    other = _other_field(columns, stats, part_floor, temporal, taken)
    deferred = None
    if temporal is not None and temporal.transform in ("day", "hour"):
        deferred, other = other, None  # day × anything: too many partitions per writer
    if other is not None:
        fields.append(other)

    identity = {f.column for f in fields if f.transform == "identity"}
    skip = identity | _temporal_columns(fields) | exclusions
    sort_keys = _sort_keys(stats, SORT_SHARE * usage.weight, skip)
    advice = Advice(
        source.name,
        tuple(fields),
        tuple(k for k in sort_keys if _plain_name(k.column)),
        tuple(fixes),
        types={c: t for c, t in temporal_types.items() if t is not None},
        refused_fixes=refused_fixes,
        refusals=refusals if refused_fixes else (),
        lookups=_lookups(stats, SORT_SHARE * usage.weight, skip | _bucketed(fields)),
        kept_types=tuple(kept),
        deferred=deferred,
    )
    if advice.changed:
        return advice
    return Advice(
        source.name,
        unchanged_reason=(
            f"no column carries {PARTITION_SHARE:.0%} of its read weight in filters a "
            f"partition could prune, nor {SORT_SHARE:.0%} for a sort order"
        ),
        types=advice.types,
        refused_fixes=advice.refused_fixes,
        refusals=advice.refusals,
        kept_types=advice.kept_types,
    )


def granularity(widths: Sequence[tuple[float | None, float]], temporal_type: str) -> str:
    """The transform for ranges of these (width in days, weight); open ranges → month."""
    known = sorted((w, weight) for w, weight in widths if w is not None)
    if not known:
        return "month"
    half = sum(weight for _, weight in known) / 2
    running = 0.0
    median = known[-1][0]
    for width, weight in known:
        running += weight
        if running >= half:
            median = width
            break
    if median >= 3 * 365:
        return "year"
    if median >= 28:
        return "month"
    if median >= 1 or temporal_type == "date":
        return "day"
    return "hour"


def _temporal_kind(data_type: exp.DataType | None) -> str | None:
    return _TEMPORAL.get(data_type.this) if data_type is not None else None


def _temporal_columns(fields: Sequence[PartitionField]) -> set[str]:
    return {f.column for f in fields if f.transform in ("year", "month", "day", "hour")}


def _plain_name(column: str) -> bool:
    return not identifier_sql(column).startswith('"')


def _temporal_field(
    types: Mapping[str, str | None], stats: Mapping[str, ColumnStats], floor: float
) -> PartitionField | None:
    best: tuple[float, str] | None = None
    for column, kind in types.items():
        if kind is None or column not in stats or not _plain_name(column):
            continue
        weight = stats[column].of("range") + sum(
            w for width, w in stats[column].widths if width is not None and width <= 1
        )
        if weight >= floor and weight > 0 and (best is None or weight > best[0]):
            best = (weight, column)
    if best is None:
        return None
    weight, column = best
    kind = types[column] or "date"
    transform = granularity(stats[column].widths, kind)
    known = [w for w, _ in stats[column].widths if w is not None]
    span = (
        f"ranges of about {sorted(known)[len(known) // 2]:.0f} day(s)"
        if known
        else "open ranges (no upper bound), so the coarsest useful unit"
    )
    queryids = tuple(stats[column].ids("range", "eq"))
    return PartitionField(
        transform,
        column,
        f"{column} carries the most range-filter weight; the queries ask for {span}, "
        f"hence {transform}({column})",
        queryids,
        weight,
        cardinality={"year": 10, "month": 120, "day": 3650, "hour": 87600}[transform],
    )


def _calendar_fields(
    columns: Mapping[str, Column], stats: Mapping[str, ColumnStats], floor: float
) -> list[PartitionField]:
    found = []
    for column, definition in columns.items():
        if column not in _CALENDAR or column not in stats:
            continue
        if definition.data_type is None or definition.data_type.this not in _INTEGERS:
            continue
        weight = stats[column].of("eq", "in")
        if weight >= floor and weight > 0:
            found.append(
                PartitionField(
                    "identity",
                    column,
                    f"{column} is filtered by equality; as a part of the partition date it "
                    "adds no partition (if it holds something else, it multiplies them by "
                    f"at most {_CALENDAR[column]})",
                    tuple(stats[column].ids("eq", "in")),
                    weight,
                )
            )
    return found


def _other_field(
    columns: Mapping[str, Column],
    stats: Mapping[str, ColumnStats],
    floor: float,
    temporal: PartitionField | None,
    taken: set[str],
) -> PartitionField | None:
    candidates: list[tuple[float, str, PartitionField]] = []
    for column, definition in columns.items():
        if column in taken or column not in stats or not _plain_name(column):
            continue
        data_type = definition.data_type
        if data_type is None:
            continue
        use = stats[column]
        lookups = use.of("eq", "in")
        queryids = tuple(use.ids("eq", "in"))
        if _is_low_cardinality(column, data_type) and lookups >= floor and lookups > 0:
            cardinality = (
                2
                if data_type.this == exp.DataType.Type.BOOLEAN
                else max(_ASSUMED_CARDINALITY, len(use.values))
            )
            reason = (
                f"{column} is compared by equality with {len(use.values)} distinct value(s) "
                f"and its {'type' if cardinality == 2 else 'name'} says few values exist: "
                "identity partitions"
            )
            candidates.append(
                (
                    lookups,
                    column,
                    PartitionField(
                        "identity", column, reason, queryids, lookups, cardinality=cardinality
                    ),
                )
            )
        elif (
            KEY_NAME.search(column)
            and lookups >= floor
            and lookups > 0
            and (data_type.this in _INTEGERS or data_type.this in _STRINGS)
        ):
            reason = (
                f"{column} is a key looked up by equality; bucket({column}, {BUCKETS}) makes "
                f"a lookup read one bucket in {BUCKETS}"
            )
            candidates.append(
                (
                    lookups,
                    column,
                    PartitionField("bucket", column, reason, queryids, lookups, BUCKETS, BUCKETS),
                )
            )
        elif temporal is None and data_type.this in _STRINGS and use.of("like") >= floor:
            length = min((len(v) for v in use.values if v), default=0)
            if length >= 1:
                length = min(length, 4)
                reason = (
                    f"{column} is filtered by LIKE prefixes; truncate({column}, {length}) "
                    "keeps each prefix in its own partitions"
                )
                candidates.append(
                    (
                        use.of("like"),
                        column,
                        PartitionField(
                            "truncate",
                            column,
                            reason,
                            tuple(use.ids("like")),
                            use.of("like"),
                            length,
                            26 ** min(length, 2),
                        ),
                    )
                )
    if not candidates:
        return None
    candidates.sort(key=lambda c: (-c[0], c[1]))
    return candidates[0][2]


def _exclusion_flags(columns: Mapping[str, Column], stats: Mapping[str, ColumnStats]) -> set[str]:
    """Boolean columns the queries only ever compare with FALSE (``is_test = false``).

    Such a filter drops the exceptions (test orders, internal users) and keeps nearly every
    row: partitioning or sorting on the flag prunes next to nothing and only multiplies
    files, so the flag shapes neither.
    """
    found = set()
    for column, use in stats.items():
        definition = columns.get(column)
        if definition is None or definition.data_type is None:
            continue
        if definition.data_type.this != exp.DataType.Type.BOOLEAN:
            continue
        if use.values and {v.lower() for v in use.values} <= {"false"}:
            found.add(column)
    return found


def _is_low_cardinality(column: str, data_type: exp.DataType) -> bool:
    if data_type.this == exp.DataType.Type.BOOLEAN:
        return True
    if KEY_NAME.search(column):
        return False
    return data_type.this in _STRINGS and bool(_LOW_CARDINALITY.search(column))


def _sort_keys(stats: Mapping[str, ColumnStats], floor: float, skip: set[str]) -> list[SortKey]:
    filtered = any(use.of(*_PRUNABLE) > 0 for column, use in stats.items() if column != "*")
    scored = []
    for column, use in stats.items():
        if column in skip or column == "*":
            continue
        # Join keys count only where the table is also filtered: a table read whole to build
        # a join's hash table (a dimension) gains nothing from its order. A key looked up by
        # value counts LOOKUP_GAIN times: min/max skip nearly every file and row group for
        # one id, where a range or a category keeps a good share of them.
        # A key a lookup in a joined table hands over (dynamic filtering) counts as a lookup.
        lookups = use.of("eq", "in") if KEY_NAME.search(column) else 0.0
        score = (
            use.of(*_PRUNABLE)
            + (LOOKUP_GAIN - 1) * lookups
            + LOOKUP_GAIN * use.of("lookup")
            + (0.5 * use.of("join") if filtered else 0.0)
        )
        if score >= floor and score > 0:
            scored.append((score, column, use))
    scored.sort(key=lambda s: (-s[0], s[1]))
    keys = []
    for score, column, use in scored[:MAX_SORT_KEYS]:
        kinds = [_KIND_NAMES.get(k, k) for k in (*_PRUNABLE, "lookup", "join") if use.of(k) > 0]
        carried = (
            f" (filters also reach it through joins with {', '.join(sorted(use.through))}, "
            "whose matching keys Trino's dynamic filtering hands to this table's scan)"
            if use.through
            else ""
        )
        keys.append(
            SortKey(
                column,
                f"{column} is used in {', '.join(kinds)} predicates{carried}; sorted files let "
                "Trino skip files and row groups by their min/max",
                tuple(use.ids(*_PRUNABLE, "lookup", "join")),
                score,
            )
        )
    return keys


def _lookups(stats: Mapping[str, ColumnStats], floor: float, skip: set[str]) -> tuple[SortKey, ...]:
    """The keys looked up by value, heaviest first: those whose lookups weigh `floor` counted
    `LOOKUP_GAIN` times, as for a sort order (a needle skips nearly every row group)."""
    found = [
        (use.of("eq", "in"), column, use)
        for column, use in stats.items()
        if column not in skip and KEY_NAME.search(column) and _plain_name(column)
    ]
    return tuple(
        SortKey(
            column,
            f"{column} is looked up by value ({', '.join(use.ids('eq', 'in')[:3])}"
            f"{'…' if len(use.ids('eq', 'in')) > 3 else ''})",
            tuple(use.ids("eq", "in")),
            weight,
        )
        for weight, column, use in sorted(found, key=lambda f: (-f[0], f[1]))
        if weight * LOOKUP_GAIN >= floor and weight > 0
    )


def _bucketed(fields: Sequence[PartitionField]) -> set[str]:
    return {f.column for f in fields if f.transform == "bucket"}


def _type_fixes(
    columns: Mapping[str, Column], stats: Mapping[str, ColumnStats], usage: TableUsage
) -> tuple[list[TypeFix], list[KeptType]]:
    """The fixes the queries' uses of each varchar column suggest, and those of columns
    holding numbers that some query shows must not be made (with why)."""
    fixes: list[TypeFix] = []
    kept: list[KeptType] = []
    for column, definition in columns.items():
        data_type = definition.data_type
        use = stats.get(column)
        if data_type is None or use is None or data_type.this not in _STRINGS:
            continue
        if data_type.this == exp.DataType.Type.CHAR:
            continue
        if use.date_like:
            # a statement writing the table would write varchar into a date column
            new_type = None if usage.writes else _fixed_type(list(use.values))
            if new_type is None:
                continue  # compared with something else: the data may hold it too
            fixes.append(
                TypeFix(
                    column,
                    definition.sql_name,
                    "VARCHAR",
                    exp.DataType.build(new_type, dialect="trino"),
                    tuple(use.ids("eq", "in", "range", "filter")),
                    use.of("eq", "in", "range", "filter"),
                )
            )
        elif use.casts:
            fix, reasons = _number_fix(column, definition, use, usage)
            if reasons:
                kept.append(KeptType(fix, reasons))
            else:
                fixes.append(fix)
    return fixes, kept


def _number_fix(
    column: str, definition: Column, use: ColumnStats, usage: TableUsage
) -> tuple[TypeFix, tuple[tuple[str, str], ...]]:
    """The number type a varchar column the queries cast to numbers becomes, and what
    forbids it: (queryid, why) for every query that shows the text may not convert, or
    converts to another type, or that writes the table."""
    # the type most queries cast to (the first written, on a tie)
    types = sorted(use.casts.items(), key=lambda t: -len(t[1]))
    new_type = types[0][0]
    reasons: list[tuple[str, str]] = []
    name = definition.sql_name
    if len(types) > 1:
        listed = " and ".join(t for t, _ in types)
        reasons += [
            (q, f"it casts {name} to {type_sql}, while the queries cast it to {listed}")
            for type_sql, ids in types
            for q in ids
        ]
    reasons += [
        (q, f"it reads {name} with TRY_CAST, so some values may not be numbers")
        for q in use.ids("try_cast")
    ]
    reasons += [
        (q, f"it writes the table, and would write text into the {new_type} column")
        for q in usage.writes
    ]
    fix = TypeFix(
        column,
        name,
        "VARCHAR",
        exp.DataType.build(new_type, dialect="trino"),
        tuple(use.ids("cast")),
        use.of("cast"),
    )
    return fix, tuple(dict.fromkeys(reasons))


def _fixed_type(literals: Sequence[str]) -> str | None:
    """``date`` when every literal is a 'YYYY-MM-DD' date, ``timestamp(6)`` when every one is
    a 'YYYY-MM-DD HH:MM:SS' timestamp; None otherwise (mixed shapes included: a string
    comparison of a timestamp's text with a date is not the comparison of the values)."""
    if not literals:
        return None
    for pattern, kind, parse in (
        (_DATE_TEXT, "date", date.fromisoformat),
        (_TIMESTAMP_TEXT, "timestamp(6)", datetime.fromisoformat),
    ):
        if all(pattern.match(v) for v in literals):
            try:
                for value in literals:
                    parse(value)
            except ValueError:
                return None
            return kind
    return None
