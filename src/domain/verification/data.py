"""The generated data fitted to what the user's Trino says of the real data.

`domain.synthetic.plan_data` decides every column's values from the queries alone. Where the
task read the tables' statistics, each column is brought closer to the real one: its share of
NULLs, its numeric range, its time span (widened to keep the ranges the queries ask for) and,
for a category, no more distinct values than the column has (the queries' literals kept).
Row counts stay the verification's own (a budget, not the table's size).

>>> from domain.analysis.names import TableName
>>> from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
>>> from domain.synthetic import ColumnSpec, DataPlan, TablePlan
>>> name = TableName("c", "s", "t")
>>> plan = DataPlan((TablePlan(name, 10, (ColumnSpec("n", "INTEGER", "integer", 0, 1000),),
...                  "fact"),))
>>> stats = WorkloadStatistics({name: TableStatistics(columns={"n": ColumnStatistics(
...     null_fraction=0.3, low="5", high="9")})})
>>> spec = fit_to_statistics(plan, stats).tables[0].columns[0]
>>> (spec.low, spec.high, spec.nulls)
(5.0, 9.0, 0.3)
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

from domain.statistics import ColumnStatistics, WorkloadStatistics
from domain.synthetic import ColumnSpec, DataPlan

__all__ = ["fit_to_statistics"]

MAX_NULLS = 0.5  # beyond it too few rows are left to find anything in


def fit_to_statistics(plan: DataPlan, statistics: WorkloadStatistics | None) -> DataPlan:
    if statistics is None or not statistics.tables:
        return plan
    tables = []
    for table in plan.tables:
        found = statistics.table(table.table)
        if found is None or not found.columns:
            tables.append(table)
            continue
        columns = tuple(
            _fitted(c, found.column(_key(c.name))) if found.column(_key(c.name)) else c
            for c in table.columns
        )
        tables.append(replace(table, columns=columns))
    return replace(plan, tables=tuple(tables))


def _key(name: str) -> str:
    return name.strip('"').lower()


def _fitted(spec: ColumnSpec, stats: ColumnStatistics | None) -> ColumnSpec:
    if stats is None:
        return spec
    changes: dict[str, object] = {}
    if stats.null_fraction is not None and spec.kind not in ("sequence", "null"):
        changes["nulls"] = min(MAX_NULLS, max(0.0, stats.null_fraction))
    low, high = _number(stats.low), _number(stats.high)
    numeric = spec.kind in ("integer", "real", "decimal")
    if numeric and low is not None and high is not None and low <= high:
        changes["low"], changes["high"] = low, high
    first, last = _instant(stats.low), _instant(stats.high)
    if spec.kind in ("date", "timestamp") and first is not None and last is not None:
        start = min(first, spec.start) if spec.start is not None else first
        end = max(last, spec.end) if spec.end is not None else last
        if start < end:
            changes["start"], changes["end"] = start, end
    if spec.kind == "category" and stats.distinct is not None and stats.distinct >= 1:
        made = re.compile(rf"^'{re.escape(_key(spec.name))}_\d+'$")
        literals = [v for v in spec.values if not made.match(v)]
        generated = [v for v in spec.values if made.match(v)]
        room = max(0, int(stats.distinct) - len(literals))
        values = tuple(literals + generated[:room]) or spec.values[:1]
        changes["values"] = values
    return replace(spec, **changes) if changes else spec  # type: ignore[arg-type]


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("T", " ")[:19]
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
    except ValueError:
        return None
