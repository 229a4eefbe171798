"""Estimate pass: the share of each table a query reads, before and after the new layout.

Decides nothing; it prices the layout with a deliberately simple, stated model (the DDL and
the queries are all we know — no row counts, no statistics):

- data is spread uniformly over `SPAN_DAYS` (two years) of the temporal column;
- a range of w days on a column partitioned by a unit of g days reads max(w, g) / SPAN of
  the table; an open range (``ts >= …``) reads half of it;
- equality with k values on an identity partition of assumed cardinality n reads k / n
  (boolean 2, month 12, quarter 4, day of week 7, year and named low-cardinality 10);
  on ``bucket(col, n)``, k / n; a ``LIKE`` prefix on ``truncate`` 1 / 10;
- a filter on the first sort key skips files and row groups by min/max: a point lookup or
  IS NULL reads `SORTED_LOOKUP` of what the partitions left, a bounded range
  `SORTED_RANGE`;
- independent fields multiply; a query reading several tables reads the mean of their
  shares (tables are taken as the same size);
- the workload's share is the mean over its reading queries, weighted by ``runquantity``
  (as the task's organisers weigh queries) and by ``runquantity × executiontime``.

>>> round(fraction([], ()), 2)
1.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from sqlglot import exp

from domain.analysis.catalog import SourceTable
from domain.analysis.layout import Layout
from domain.analysis.names import TableName, normalize
from domain.analysis.profile import PRUNABLE, Profile, QueryProfile
from domain.analysis.usage import ColumnUse
from domain.statistics import TableStatistics, WorkloadStatistics

__all__ = ["ASSUMPTIONS", "MEASURED", "Field", "Known", "estimate", "fields_of", "fraction"]

SPAN_DAYS = 730.0
OPEN_RANGE = 0.5
SORTED_LOOKUP = 0.2
SORTED_RANGE = 0.5
_UNIT_DAYS = {"year": 365.0, "month": 30.4, "day": 1.0, "hour": 1 / 24}
_CARDINALITY = {"month": 12, "quarter": 4, "dayofweek": 7, "day_of_week": 7, "dayofmonth": 31}
_SPEC = re.compile(
    r"^\s*(?:(\w+)\s*\(\s*\"?([^,\")]+)\"?\s*(?:,\s*(\d+))?\s*\)|\"?([^\"]+)\"?)\s*$"
)

ASSUMPTIONS = (
    "Sizes and cardinalities are unknown (only the DDL and the queries are given): every "
    "table is taken as the same size, data as uniform over two years of its temporal column.",
    f"A range of w days on a column partitioned by a unit of g days reads max(w, g) / "
    f"{SPAN_DAYS:.0f} days; an open range reads {OPEN_RANGE:.0%}.",
    "Equality on an identity partition reads values / cardinality (boolean 2, month 12, "
    "quarter 4, day of week 7, others 10); on bucket(col, n), values / n; a LIKE prefix on a "
    "truncate partition 10%.",
    f"A filter on the first sort key skips files and row groups by min/max: a point lookup or "
    f"IS NULL reads {SORTED_LOOKUP:.0%} of what partitions left, a bounded range "
    f"{SORTED_RANGE:.0%}.",
    "Year/month columns partitioned next to a date's month are assumed to hold that date's "
    "parts (their names say so); nothing in the DDL proves it, so no query is rewritten on "
    "that assumption.",
    "Share of data read = the mean over reading queries, weighted by runquantity (as the "
    "task's organisers weigh queries) and by runquantity × executiontime.",
)

MEASURED = (
    "Table sizes (bytes of their data files), the spans of temporal columns and the distinct "
    "values of partition columns come from the statistics read from your Trino; a query "
    "reads the bytes its filters leave of each table it names.",
    "A query's time is taken as proportional to the bytes it reads (its executiontime, or 1 s "
    "when none was given, scaled by after / before): fixed costs such as planning are ignored, "
    "so short queries gain less than this says.",
)


@dataclass(frozen=True, slots=True)
class Field:
    """A partition field or the first sort key, as the model reads it."""

    transform: str  # identity, year, month, day, hour, bucket, truncate, sort
    column: str
    param: int | None = None


def fields_of(properties: Iterable[tuple[str, str]]) -> tuple[Field, ...]:
    """The fields a table's ``partitioning`` and ``sorted_by`` properties define."""
    found: list[Field] = []
    for name, value in properties:
        if name not in ("partitioning", "sorted_by"):
            continue
        items = re.findall(r"'((?:[^']|'')*)'", value)
        for position, item in enumerate(items):
            if name == "sorted_by":
                if position == 0:
                    found.append(Field("sort", normalize(item.split()[0].strip('"'))))
                continue
            match = _SPEC.match(item)
            if match is None:
                continue
            if match[1]:
                param = int(match[3]) if match[3] else None
                found.append(Field(match[1].lower(), normalize(match[2].strip()), param))
            else:
                found.append(Field("identity", normalize(match[4].strip())))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Known:
    """What the statistics say of one table, where they were read: temporal spans and
    distinct values by column. Empty: the model's assumptions hold."""

    spans: Mapping[str, float] = default(default_factory=dict)
    distinct: Mapping[str, float] = default(default_factory=dict)

    @classmethod
    def of(cls, table: TableStatistics | None) -> Known:
        if table is None:
            return _NOTHING_KNOWN
        spans = {c: s.span_days for c, s in table.columns.items() if s.span_days}
        distinct = {c: s.distinct for c, s in table.columns.items() if s.distinct}
        return cls(
            {c: max(v, 1.0) for c, v in spans.items() if v is not None},
            {c: v for c, v in distinct.items() if v is not None},
        )


_NOTHING_KNOWN = Known()


def fraction(
    uses: Sequence[ColumnUse], fields: Sequence[Field], known: Known = _NOTHING_KNOWN
) -> float:
    """The share of a table a query with these `uses` (of that table) reads."""
    share = 1.0
    by_column: dict[str, list[ColumnUse]] = {}
    for use in uses:
        if use.kind in PRUNABLE:
            by_column.setdefault(use.column, []).append(use)
    for field in fields:
        found = by_column.get(field.column)
        if not found:
            continue
        share *= _field_share(field, found, known)
    return share


def _field_share(field: Field, uses: Sequence[ColumnUse], known: Known) -> float:
    best = 1.0
    for use in uses:
        best = min(best, _use_share(field, use, known))
    return best


def _use_share(field: Field, use: ColumnUse, known: Known = _NOTHING_KNOWN) -> float:
    values = max(len(use.values), 1)
    if field.transform in _UNIT_DAYS:
        if use.kind == "range" or (use.kind in ("eq", "in") and use.width_days):
            if use.width_days is None:
                return OPEN_RANGE
            width = max(use.width_days * (values if use.kind == "in" else 1), 0.0)
            span = known.spans.get(field.column, SPAN_DAYS)
            return min(1.0, max(width, _UNIT_DAYS[field.transform]) / span)
        return 1.0
    if field.transform == "identity":
        if use.kind in ("eq", "in", "is_null"):
            cardinality = known.distinct.get(field.column) or _CARDINALITY.get(field.column, 10)
            return min(1.0, values / max(cardinality, 1.0))
        return 1.0
    if field.transform == "bucket":
        if use.kind in ("eq", "in") and field.param:
            return min(1.0, values / field.param)
        return 1.0
    if field.transform == "truncate":
        return 0.1 if use.kind == "like" else 1.0
    if field.transform == "sort":
        if use.kind in ("eq", "in", "is_null"):
            return SORTED_LOOKUP
        if use.kind == "range" and use.width_days is not None:
            return SORTED_RANGE
    return 1.0


def source_fields(source: SourceTable) -> tuple[Field, ...]:
    """The layout the source table has, as far as its DDL says (kept properties)."""
    kept = []
    for prop in source.properties:
        name = "partitioning" if prop.name == "partitioned_by" else prop.name
        if name in ("partitioning", "sorted_by") and isinstance(prop.value, exp.Array):
            items = ", ".join(
                "'" + str(v.this).replace("'", "''") + "'"
                for v in prop.value.expressions
                if isinstance(v, exp.Literal)
            )
            kept.append((name, f"ARRAY[{items}]"))
    return fields_of(kept)


def estimate(
    layout: Layout, profile: Profile, statistics: WorkloadStatistics | None = None
) -> dict[str, Any]:
    """Before/after shares of data read, per query, per table and for the workload; with
    `statistics`, also bytes and seconds (spans and distinct values from the data too)."""
    before_fields = {s: source_fields(t.source) for s, t in layout.targets.items()}
    after_fields = {s: fields_of(t.properties) for s, t in layout.targets.items()}
    tables_read = statistics.tables if statistics is not None else {}
    known = {s: Known.of(tables_read.get(s)) for s in layout.targets}
    sizes = {s: float(t.data_bytes) for s, t in tables_read.items() if t.data_bytes and s in known}
    queries = []
    tables: dict[TableName, list[float]] = {}  # runs, weight, runs×before, runs×after, w×b, w×a
    totals = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    timed = [0.0, 0.0, 0.0, 0.0]  # runs, runs × speedup, runs × seconds before, after
    for query in profile.queries:
        read = [n for n in query.known if n in layout.targets]
        if not query.reads_only or not read:
            continue
        shares = [
            (n, *_shares(query, n, before_fields[n], after_fields[n], known[n])) for n in read
        ]
        entry: dict[str, Any] = {"queryid": query.queryid}
        if all(n in sizes for n in read):
            # bytes known: the query reads its tables' bytes, not the mean of their shares
            read_before = sum(sizes[n] * b for n, b, _ in shares)
            read_after = sum(sizes[n] * a for n, _, a in shares)
            whole = sum(sizes[n] for n in read) or 1.0
            before, after = read_before / whole, read_after / whole
            seconds = query.weight / query.runs if query.runs > 0 else 0.0
            ratio = after / before if before > 0 else 1.0
            entry |= {
                "before": round(before, 4),
                "after": round(after, 4),
                "bytes_before": round(read_before),
                "bytes_after": round(read_after),
                "seconds_before": round(seconds, 3),
                "seconds_after": round(seconds * ratio, 3),
            }
            timed[0] += query.runs
            timed[1] += query.runs * (1.0 / ratio if ratio > 0 else 1.0)
            timed[2] += query.runs * seconds
            timed[3] += query.runs * seconds * ratio
        else:
            before = sum(b for _, b, _ in shares) / len(shares)
            after = sum(a for _, _, a in shares) / len(shares)
            entry |= {"before": round(before, 4), "after": round(after, 4)}
        planned = statistics.queries.get(query.queryid) if statistics is not None else None
        if planned is not None and planned.data_bytes is not None:
            # what the user's Trino plans the original to read, after its own pushdown
            entry["planned_bytes_before"] = round(planned.data_bytes)
        queries.append(entry)
        _add(totals, query, before, after)
        for name, b, a in shares:
            _add(tables.setdefault(name, [0.0] * 6), query, b, a)
    found: dict[str, Any] = {
        "model": "share of each table read, from the partitions and sort order its filters can "
        "use; see assumptions",
        "assumptions": list(ASSUMPTIONS if not sizes else (*MEASURED, *ASSUMPTIONS[1:])),
        "data_read": _summary(totals),
        "tables": {str(layout.targets[name].name): _summary(sums) for name, sums in tables.items()},
        "queries": queries,
    }
    if sizes:
        found["sized_from"] = "statistics"
        found["time"] = _time(timed)
        found["tables_bytes"] = {str(layout.targets[n].name): round(b) for n, b in sizes.items()}
    return found


def _time(timed: Sequence[float]) -> Mapping[str, Any]:
    """The timed queries' figures as the organisers weigh them: the mean speedup by runs,
    and the seconds all their runs take before and after."""
    runs, speedups, before, after = timed
    return {
        "queries_runs": runs,
        "speedup_by_runquantity": round(speedups / runs, 3) if runs > 0 else 1.0,
        "seconds_all_runs_before": round(before, 1),
        "seconds_all_runs_after": round(after, 1),
    }


def _shares(
    query: QueryProfile,
    name: TableName,
    before: Sequence[Field],
    after: Sequence[Field],
    known: Known = _NOTHING_KNOWN,
) -> tuple[float, float]:
    uses = [u for u in query.uses if u.table == name]
    return fraction(uses, before, known), fraction(uses, after, known)


def _add(sums: list[float], query: QueryProfile, before: float, after: float) -> None:
    sums[0] += query.runs
    sums[1] += query.weight
    sums[2] += query.runs * before
    sums[3] += query.runs * after
    sums[4] += query.weight * before
    sums[5] += query.weight * after


def _summary(sums: Sequence[float]) -> Mapping[str, Any]:
    runs, weight = sums[0], sums[1]

    def share(value: float, total: float) -> float:
        return round(value / total, 4) if total > 0 else 1.0

    return {
        "by_runquantity": {"before": share(sums[2], runs), "after": share(sums[3], runs)},
        "by_runquantity_x_executiontime": {
            "before": share(sums[4], weight),
            "after": share(sums[5], weight),
        },
    }
