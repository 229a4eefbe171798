"""Retarget pass: point every query at the new tables, changing nothing else.

Decides the text of each rewritten query. Only the names of source tables change: each
reference the profile pass resolved to a source table becomes its new table's fully qualified
name; CTE names, aliases, unknown tables and everything else stay as written.

The edit is made on the query's own text, at the positions the parser recorded for each name,
rather than by regenerating the whole statement from its tree. That keeps the user's layout,
comments and quoting byte for byte: a ``--`` comment stays a line comment (nothing is moved
after it), ``"MyCol"`` stays quoted, and nothing sqlglot would normalize or transpile can
change what the query means. It is also much cheaper than generating. The tree is only
regenerated (with the Trino dialect) when a position is missing.

Two details keep the query's meaning when a table is renamed (see `layout.new_names`):

- a reference without an alias gets its old table name as alias, so columns qualified with
  it (``orders.amount``) still resolve: ``FROM lake.opt.sales_orders AS orders``;
- a column qualified with a schema (``sales.orders.amount``) is requalified with the new name
  (or with that alias).

>>> from domain.analysis.names import Session, TableName
>>> names = {TableName("lake", "sales", "orders"): TableName("lake", "opt", "orders")}
>>> retarget_sql("SELECT o.id FROM Sales.Orders o -- recent\\nWHERE o.id > 1",
...              Session("lake", "sales"), names)
'SELECT o.id FROM lake.opt.orders o -- recent\\nWHERE o.id > 1'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from domain.analysis.catalog import Catalog, SourceTable, name_parts
from domain.analysis.layout import Layout
from domain.analysis.names import TRINO, Session, TableName, identifier_sql, trino_sql
from domain.analysis.parse import parse_query
from domain.analysis.profile import (
    Profile,
    QualifiedColumn,
    QueryProfile,
    Reference,
    profile_query,
    qualified_column_name,
    table_nodes,
)
from domain.analysis.restructure import restructure
from domain.workload import Query

__all__ = [
    "PARTIALLY_RETARGETED",
    "RETARGETED",
    "REWRITTEN",
    "UNCHANGED",
    "Retargeted",
    "Rewrite",
    "early_rewrite",
    "retarget",
    "retarget_sql",
    "rewrite_queries",
]

REWRITTEN = "rewritten"
RETARGETED = "retargeted"
PARTIALLY_RETARGETED = "partially_retargeted"
UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Retargeted:
    sql: str
    changed: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A query as returned, and what was done to it (`status`) and why (`reason`)."""

    queryid: str
    sql: str
    status: str
    reason: str
    kinds: tuple[str, ...] = ()  # the restructuring rewrites made (see `restructure`)


def retarget(
    sql: str,
    references: Sequence[Reference],
    columns: Sequence[QualifiedColumn],
    names: Mapping[TableName, TableName],
    session: Session,
) -> Retargeted:
    """`sql` with each reference to a table in `names` renamed.

    `references` and `columns` are what the profile pass found in `sql`; `session` completes
    names if the query has to be parsed again (when a position is missing).
    """
    edits: list[tuple[int, int, str]] = []
    for reference in references:
        target = names.get(reference.name) if reference.name is not None else None
        if target is None or reference.name is None:
            continue
        if reference.span is None:
            return _regenerate(sql, names, session)
        alias = reference.aliasable and target.table != reference.name.table
        text = target.sql() + (f" AS {reference.table_part}" if alias else "")
        edits.append((*reference.span, text))
    for column in columns:
        target = names.get(column.name)
        if target is None:
            continue
        if column.span is None:
            return _regenerate(sql, names, session)
        renamed = target.table != column.name.table
        edits.append((*column.span, column.table_part if renamed else target.sql()))
    if not edits:
        return Retargeted(sql, changed=False)
    edits.sort()
    if any(a[1] >= b[0] for a, b in pairwise(edits)):
        return _regenerate(sql, names, session)
    pieces = []
    position = 0
    for start, end, text in edits:
        pieces += [sql[position:start], text]
        position = end + 1
    pieces.append(sql[position:])
    return Retargeted("".join(pieces), changed=True)


def retarget_sql(sql: str, session: Session, names: Mapping[TableName, TableName]) -> str:
    """Parse `sql` (Trino) and retarget it: the pass on its own, for tests and examples."""
    parsed = parse_query(Query("", sql))
    catalog = Catalog(session, {name: SourceTable(name, ()) for name in names})
    profile = profile_query(parsed, catalog)
    if profile.error is not None:
        return sql
    return retarget(sql, profile.references, profile.columns, names, session).sql


def early_rewrite(
    statement: exp.Expr,
    query: QueryProfile,
    catalog: Catalog,
    names: Mapping[TableName, TableName],
) -> Rewrite | None:
    """The rewrites that need no advice (prunable predicates, ORDER BY without effect), made
    on the tree the profile pass parsed, so that most rewritten queries are parsed once;
    None when there is nothing to rewrite. Mutates `statement`."""
    if query.error is not None or not query.reads_only or query.unknown or not query.needs_tree:
        return None
    try:
        made = restructure(statement, catalog, _Types(catalog), {})
        if not made:
            return None
        text = rename_and_generate(statement, names, catalog.session)
    except Exception:
        return None  # the plain retarget is still exact
    kinds = tuple(sorted(made))
    reason = "rewritten for the new layout: " + ", ".join(k.replace("_", " ") for k in kinds)
    return Rewrite(query.queryid, text, REWRITTEN, reason, kinds)


class _Types(Mapping[TableName, Mapping[str, "exp.DataType | None"]]):
    """The source tables' column types, looked up lazily (a workload reads few tables)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __getitem__(self, name: TableName) -> Mapping[str, exp.DataType | None]:
        source = self.catalog.get(name)
        if source is None:
            raise KeyError(name)
        return {c.key: c.data_type for c in source.columns}

    def __iter__(self) -> Iterator[TableName]:
        return iter(self.catalog.tables)

    def __len__(self) -> int:
        return len(self.catalog.tables)


def rewrite_queries(
    profile: Profile,
    layout: Layout,
    catalog: Catalog,
    early: Mapping[int, Rewrite] | None = None,
) -> list[Rewrite]:
    """Every query of the profile, in input order, retargeted to the layout's tables and,
    where the `restructure` pass finds something to gain, rewritten. `early` holds the
    rewrites `early_rewrite` made, by query index; a query reading a column whose type is
    fixed is rewritten again from its text, with the fixes."""
    names = {source: target.name for source, target in layout.targets.items()}
    types = {
        source: {c.key: c.data_type for c in target.columns}
        for source, target in layout.targets.items()
    }
    fixes = {s: t.changed_types for s, t in layout.targets.items() if t.changed_types}
    rewriter = _Rewriter(names, catalog, types, fixes, early or {})
    return [rewriter.rewrite(query) for query in profile.queries]


@dataclass(frozen=True, slots=True)
class _Rewriter:
    names: Mapping[TableName, TableName]
    catalog: Catalog
    types: Mapping[TableName, Mapping[str, exp.DataType | None]]
    fixes: Mapping[TableName, Mapping[str, exp.DataType]]
    early: Mapping[int, Rewrite]

    def rewrite(self, query: QueryProfile) -> Rewrite:
        if query.error is None and query.reads_only and not query.unknown:
            fixed = self._reads_fixed(query)
            if not fixed and query.index in self.early:
                return self.early[query.index]
            if not fixed and query.needs_tree:
                return _rewrite(query, self.names, self.catalog.session)
            if query.needs_tree or fixed:
                restructured = self._restructure(query, fixed)
                if restructured is not None:
                    return restructured
        return _rewrite(query, self.names, self.catalog.session)

    def _reads_fixed(self, query: QueryProfile) -> bool:
        """Whether the query may read a column whose type changes: it names one (in any
        case, resolved or not), or selects * from a table that has one."""
        fixed = [self.fixes[n] for n in query.known if n in self.fixes]
        if not fixed:
            return False
        text = query.text.lower()
        if any(column in text for columns in fixed for column in columns):
            return True
        return any(u.column == "*" and u.table in self.fixes for u in query.uses)

    def _restructure(self, query: QueryProfile, fixed: bool) -> Rewrite | None:
        try:
            statement = TRINO.parse(query.text, error_level=ErrorLevel.RAISE)[0]
            if statement is None:
                return None
            made = restructure(statement, self.catalog, self.types, self.fixes if fixed else {})
            if not made:
                return None
            text = rename_and_generate(statement, self.names, self.catalog.session)
        except Exception as error:
            if not fixed:
                return None  # the plain retarget is still exact
            reason = f"only retargeted: the type fix could not be applied ({error})"[:300]
            retargeted = _rewrite(query, self.names, self.catalog.session)
            return Rewrite(
                query.queryid, retargeted.sql, retargeted.status, reason, ("type_unfixed",)
            )
        kinds = tuple(sorted(made))
        reason = "rewritten for the new layout: " + ", ".join(k.replace("_", " ") for k in kinds)
        return Rewrite(query.queryid, text, REWRITTEN, reason, kinds)


def _rewrite(
    query: QueryProfile, names: Mapping[TableName, TableName], session: Session
) -> Rewrite:
    text, queryid = query.text, query.queryid
    if query.error is not None:
        return Rewrite(queryid, text, UNCHANGED, f"returned unchanged: {query.error}")
    try:
        result = retarget(text, query.references, query.columns, names, session)
    except Exception as error:  # a query must come back whatever happens
        result = Retargeted(text, changed=False, error=f"{type(error).__name__}: {error}")
    if result.error is not None:
        return Rewrite(queryid, text, UNCHANGED, f"returned unchanged: {result.error}")
    if not result.changed:
        return Rewrite(queryid, text, UNCHANGED, "reads no table the DDL defines")
    writes = "" if query.reads_only else f" ({query.kind} statement)"
    unknown = sorted({r.written for r in query.unknown})
    if unknown:
        still = ", ".join(unknown)
        reason = f"known tables renamed; still reads {still}, not in the DDL{writes}"
        return Rewrite(queryid, result.sql, PARTIALLY_RETARGETED, reason)
    return Rewrite(queryid, result.sql, RETARGETED, f"only table names changed{writes}")


def _regenerate(sql: str, names: Mapping[TableName, TableName], session: Session) -> Retargeted:
    """Rename on the tree and generate it (Trino): the fallback when positions are missing."""
    try:
        statement = sqlglot.parse_one(sql, read="trino", error_level=ErrorLevel.RAISE)
        text = rename_and_generate(statement, names, session)
    except Exception as error:  # then the query is returned as it came
        return Retargeted(sql, changed=False, error=f"cannot regenerate the query: {error}")
    return Retargeted(text, changed=True)


def rename_and_generate(
    statement: exp.Expr, names: Mapping[TableName, TableName], session: Session
) -> str:
    """Rename the source tables of `statement` (in place) and generate it as Trino SQL."""
    tables, columns = table_nodes(statement)
    renamed: set[TableName] = set()
    for table in tables:
        parts = name_parts(table)
        old = session.resolve(parts) if parts is not None else None
        new = names.get(old) if old is not None else None
        if old is None or new is None:
            continue
        alias = _identifier(old.table)
        table.set("catalog", _identifier(new.catalog))
        table.set("db", _identifier(new.schema))
        table.set("this", _identifier(new.table))
        if new.table != old.table:
            renamed.add(old)
            if table.args.get("alias") is None and isinstance(
                table.parent, exp.From | exp.Join | exp.Merge
            ):
                table.set("alias", exp.TableAlias(this=alias))
    for column in columns:
        old = qualified_column_name(column, session)
        new = names.get(old) if old is not None else None
        if old is None or new is None:
            continue
        keep = old in renamed
        column.set("catalog", None if keep else _identifier(new.catalog))
        column.set("db", None if keep else _identifier(new.schema))
        column.set("table", _identifier(old.table if keep else new.table))
    return trino_sql(statement, copy=False)


def _identifier(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=identifier_sql(name).startswith('"'))
