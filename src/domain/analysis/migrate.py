"""Migrate pass: one statement per table that copies the old rows into the new table.

Decides how each table's data moves: ``INSERT INTO <new> (<columns>) SELECT <columns> FROM
<old>``, both names fully qualified. The columns are listed explicitly, in the source's order,
so the copy cannot depend on column positions; only when the DDL does not name the columns
(``CREATE TABLE … AS SELECT *``, ``LIKE``) does it fall back to ``SELECT *``, which is safe
there because the new table was created from the source table's own columns.

>>> import sqlglot
>>> from domain.analysis.catalog import Column, SourceTable
>>> from domain.analysis.layout import TargetTable
>>> from domain.analysis.names import TableName
>>> columns = (Column(sqlglot.exp.to_identifier("id")),
...            Column(sqlglot.exp.to_identifier("Note", quoted=True)))
>>> source = SourceTable(TableName("lake", "sales", "orders"), columns)
>>> migration_sql(TargetTable(source, TableName("lake", "opt", "orders"), columns))
'INSERT INTO lake.opt.orders (id, "Note") SELECT id, "Note" FROM lake.sales.orders'
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.analysis.layout import TargetTable

__all__ = ["migration_sql", "migrations"]


def migration_sql(target: TargetTable) -> str:
    old, new = target.source.name.sql(), target.name.sql()
    if not target.columns:
        return f"INSERT INTO {new} SELECT * FROM {old}"
    columns = ", ".join(c.sql_name for c in target.columns)
    return f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}"


def migrations(targets: Iterable[TargetTable]) -> list[str]:
    return [migration_sql(t) for t in targets]
