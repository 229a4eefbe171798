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
the same way: one INSERT over all of it would open a writer per day of the data.

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

import re
from collections.abc import Iterable

from domain.analysis.layout import TargetTable
from domain.analysis.names import normalize, trino_sql

__all__ = ["SPLIT_TRANSFORMS", "migration_sql", "migrations"]

SPLIT_TRANSFORMS = ("month", "day", "hour")
_KEPT_FIELD = re.compile(r"'(month|day|hour)\((\w+)\)'", re.IGNORECASE)


def migration_sql(target: TargetTable) -> list[str]:
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
    temporal = target.advice.temporal if target.advice is not None else None
    split_on = temporal.column if temporal is not None else None
    if temporal is None or temporal.transform not in SPLIT_TRANSFORMS:
        split_on = _kept_temporal_column(target)
    column = next((c for c in target.columns if c.key == split_on), None)
    if column is None:
        return [copy]
    source = column.sql_name
    if column.key in fixed:
        source = f"CAST({source} AS {trino_sql(fixed[column.key])})"
    return [f"{copy} WHERE month({source}) = {m}" for m in range(1, 13)] + [
        f"{copy} WHERE {column.sql_name} IS NULL"
    ]


def migrations(targets: Iterable[TargetTable]) -> list[str]:
    return [statement for t in targets for statement in migration_sql(t)]


def _kept_temporal_column(target: TargetTable) -> str | None:
    """The column of a month/day/hour field in the partitioning the copy kept, if any."""
    found = _KEPT_FIELD.search(target.property("partitioning") or "")
    return normalize(found.group(2)) if found is not None else None
