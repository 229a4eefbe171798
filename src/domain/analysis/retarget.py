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
from dataclasses import dataclass, field, replace
from itertools import pairwise

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from domain.analysis.catalog import Catalog, SourceTable, column_types, name_parts
from domain.analysis.layout import Layout
from domain.analysis.names import Session, TableName, identifier, trino_sql
from domain.analysis.parse import parse_query, parse_trino
from domain.analysis.profile import (
    Profile,
    QualifiedColumn,
    QueryProfile,
    Reference,
    profile_query,
    qualified_column_name,
    stored_nodes,
    table_nodes,
)
from domain.analysis.restructure import Unadaptable, restructure
from domain.analysis.usage import Nodes, Resolver, scan
from domain.workload import Query

__all__ = [
    "PARTIALLY_RETARGETED",
    "RETARGETED",
    "REWRITTEN",
    "UNCHANGED",
    "Adaptation",
    "EarlyRewrite",
    "Retargeted",
    "Rewrite",
    "adapt_type_fixes",
    "reads_fixed",
    "restructure_early",
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
        if target is None or reference.name is None or reference.history:
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


@dataclass(frozen=True, slots=True)
class EarlyRewrite:
    """A query's tree restructured in place by `restructure_early`, to print."""

    statement: exp.Expr
    queryid: str
    kinds: tuple[str, ...]
    # the tables and the columns qualified with a schema that the tree held before
    found: tuple[list[exp.Table], list[exp.Column]]

    def printed(self, names: Mapping[TableName, TableName], session: Session) -> Rewrite | None:
        """The rewrite, with the tables renamed to the new ones; None when it cannot be
        printed (the plain retarget is still exact)."""
        try:
            # Without type fixes a rewrite adds no table, and copies no column but those it
            # replaces (a table it detaches is renamed for nothing): the tables found before
            # are the ones to rename, and the columns qualified with a schema are found again
            # only when there were any.
            found = table_nodes(self.statement) if self.found[1] else self.found
            text = rename_and_generate(self.statement, names, session, found)
        except Exception:
            return None
        kinds = self.kinds
        reason = "rewritten for the new layout: " + ", ".join(k.replace("_", " ") for k in kinds)
        return Rewrite(self.queryid, text, REWRITTEN, reason, kinds)


def restructure_early(
    statement: exp.Expr,
    query: QueryProfile,
    catalog: Catalog,
    nodes: Nodes | None = None,
    resolver: Resolver | None = None,
) -> tuple[EarlyRewrite | None, bool]:
    """The rewrites that need no advice (prunable predicates, ORDER BY without effect), made
    in place on the tree the profile pass parsed, so that most rewritten queries are parsed
    once; None when there is nothing to rewrite. And whether `statement` is still as it was.
    The caller prints it (`EarlyRewrite.printed`), with the others of its batch, after all
    are made. `nodes` are the statement's (`usage.scan`) when the caller scanned it already,
    and nothing changed it since; `resolver` a resolver of it over `catalog`."""
    if query.error is not None or not query.reads_only or query.unknown or not query.needs_tree:
        return None, True
    try:
        if nodes is None:
            nodes = scan(statement)
        found = stored_nodes(nodes)
        made = restructure(statement, catalog, _Types(catalog), {}, nodes, resolver)
    except Exception:
        return None, False  # the plain retarget is still exact
    if not made:
        return None, True
    return EarlyRewrite(statement, query.queryid, tuple(sorted(made)), found), False


class _Types(Mapping[TableName, Mapping[str, "exp.DataType | None"]]):
    """The source tables' column types, looked up lazily (a workload reads few tables)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __getitem__(self, name: TableName) -> Mapping[str, exp.DataType | None]:
        source = self.catalog.get(name)
        if source is None:
            raise KeyError(name)
        return column_types(source)

    def __iter__(self) -> Iterator[TableName]:
        return iter(self.catalog.tables)

    def __len__(self) -> int:
        return len(self.catalog.tables)


def rewrite_queries(
    profile: Profile,
    layout: Layout,
    catalog: Catalog,
    early: Mapping[int, Rewrite] | None = None,
    adapted: Mapping[int, Rewrite | None] | None = None,
) -> list[Rewrite]:
    """Every query of the profile, in input order, retargeted to the layout's tables and,
    where the `restructure` pass finds something to gain, rewritten. `early` holds the
    rewrites `restructure_early` made, by query index, `adapted` those `adapt_type_fixes` made
    (None: nothing to change); a query reading a column whose type is fixed that is not
    there is rewritten again from its text, with the fixes."""
    names = {source: target.name for source, target in layout.targets.items()}
    types = {
        source: {c.key: c.data_type for c in target.columns}
        for source, target in layout.targets.items()
    }
    fixes = {s: t.changed_types for s, t in layout.targets.items() if t.changed_types}
    rewriter = _Rewriter(names, catalog, types, fixes, early or {}, adapted or {})
    return [rewriter.rewrite(query) for query in profile.queries]


Fixes = Mapping[TableName, Mapping[str, exp.DataType]]


def reads_fixed(query: QueryProfile, fixes: Fixes) -> tuple[TableName, ...]:
    """The tables with a fixed column that `query` may read such a column of: it names one
    (in any case, resolved or not), or selects * from the table."""
    fixed = [n for n in query.known if n in fixes]
    if not fixed:
        return ()
    text = query.text.lower()
    star = {u.table for u in query.uses if u.column == "*"}
    return tuple(n for n in fixed if n in star or any(c in text for c in fixes[n]))


@dataclass(frozen=True, slots=True)
class Adaptation:
    """What `adapt_type_fixes` found: the rewrite of each query reading a fixed column (None
    when nothing changes), by query index; the tables whose fixes are refused, with the
    queries that could not be adapted and why; and the single columns whose fix is refused
    because a query's use of the column shows it holds more than the new type (the table's
    other fixes stand), with those queries and why."""

    rewrites: Mapping[int, Rewrite | None]
    refused: Mapping[TableName, tuple[tuple[str, str], ...]]  # (queryid, reason)
    declined: Mapping[TableName, Mapping[str, tuple[tuple[str, str], ...]]] = field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class _Refusal:
    """Why a query cannot be adapted; `column` the (table, column) whose use is the reason,
    when it is one column's (see `restructure.Unadaptable`)."""

    reason: str
    column: tuple[TableName, str] | None = None


def adapt_type_fixes(
    profile: Profile,
    catalog: Catalog,
    fixes: Fixes,
    names: Mapping[TableName, TableName],
    trees: dict[int, tuple[exp.Expr, Nodes | None]] | None = None,
) -> Adaptation:
    """Rewrite every query that reads a column whose type `fixes` changes, and refuse the
    fixes of a table that some query reads in a way no rewrite can adapt (a ``SELECT *`` mixing
    it with a subquery, a column the resolver cannot tie to one table, a query that also reads
    a table outside the DDL…): that query would be returned only retargeted, and its result
    would change type. A query whose use of one column shows the column holds more than its
    new type (a number compared with a string…) refuses that column's fix alone. Refusing a
    fix may change other queries' rewrites, so this runs until no more fix is refused.
    `trees` holds trees of queries as they were parsed (and their `scan`), by index, where
    the caller kept them: each is rewritten (and taken out) instead of parsing the query
    again, the first time the query is adapted."""
    kept = trees if trees is not None else {}
    # the outcomes by query text and fixed columns: a query repeated is adapted once
    outcomes: dict[tuple[str, frozenset[tuple[TableName, str]]], Rewrite | _Refusal | None] = {}

    def fixed_columns(tables: Sequence[TableName]) -> frozenset[tuple[TableName, str]]:
        return frozenset((t, c) for t in tables for c in current[t])

    def adapt(query: QueryProfile, tables: Sequence[TableName]) -> Rewrite | _Refusal | None:
        key = (query.text, fixed_columns(tables))
        if key in outcomes:
            outcome = outcomes[key]
            if isinstance(outcome, Rewrite) and outcome.queryid != query.queryid:
                return replace(outcome, queryid=query.queryid)
            return outcome
        tree, nodes = kept.pop(query.index, (None, None))
        fixes = {t: current[t] for t in tables}
        outcome = outcomes[key] = _adapt(query, catalog, fixes, names, tree, nodes)
        return outcome

    current = {t: dict(columns) for t, columns in fixes.items()}
    refused: dict[TableName, list[tuple[str, str]]] = {}
    declined: dict[TableName, dict[str, list[tuple[str, str]]]] = {}
    done: dict[int, tuple[frozenset[tuple[TableName, str]], Rewrite | None]] = {}
    while True:
        blamed: dict[TableName, list[tuple[str, str]]] = {}
        dropped: dict[tuple[TableName, str], list[tuple[str, str]]] = {}
        for query in profile.queries:
            if query.error is not None or not query.kind:
                continue
            tables = reads_fixed(query, current)
            if not tables:
                done.pop(query.index, None)
                continue
            key = fixed_columns(tables)
            if query.index in done and done[query.index][0] == key:
                continue
            outcome = adapt(query, tables)
            if isinstance(outcome, _Refusal) and outcome.column is not None:
                dropped.setdefault(outcome.column, []).append((query.queryid, outcome.reason))
            elif isinstance(outcome, _Refusal) and len(tables) > 1:
                alone = {t: adapt(query, (t,)) for t in tables}
                # a column's own use found on one table alone: that column first, the least
                own = [
                    o for o in alone.values() if isinstance(o, _Refusal) and o.column is not None
                ]
                for refusal in own:
                    assert refusal.column is not None
                    dropped.setdefault(refusal.column, []).append((query.queryid, refusal.reason))
                guilty = [t for t, o in alone.items() if isinstance(o, _Refusal)] or list(tables)
                for table in guilty if not own else ():
                    found = alone[table]
                    reason = found.reason if isinstance(found, _Refusal) else outcome.reason
                    blamed.setdefault(table, []).append((query.queryid, reason))
            elif isinstance(outcome, _Refusal):
                blamed.setdefault(tables[0], []).append((query.queryid, outcome.reason))
            else:
                done[query.index] = (key, outcome)
        if not blamed and not dropped:
            break
        for (table, column), why in dropped.items():
            declined.setdefault(table, {}).setdefault(column, []).extend(why)
            columns = current.get(table, {})
            columns.pop(column, None)
            if not columns:
                current.pop(table, None)
        for table, why in blamed.items():
            refused.setdefault(table, []).extend(why)
            current.pop(table, None)
    return Adaptation(
        {index: rewrite for index, (_, rewrite) in done.items()},
        {table: tuple(why) for table, why in refused.items()},
        {t: {c: tuple(why) for c, why in columns.items()} for t, columns in declined.items()},
    )


def _adapt(
    query: QueryProfile,
    catalog: Catalog,
    fixes: Fixes,
    names: Mapping[TableName, TableName],
    statement: exp.Expr | None = None,
    nodes: Nodes | None = None,
) -> Rewrite | _Refusal | None:
    """The query rewritten for `fixes` (None: nothing to change), or why it cannot be;
    `statement` is the query's tree as parsed, when the caller has one (it is rewritten),
    `nodes` its `scan`."""
    if not query.reads_only:
        return _Refusal(f"it is a {query.kind} statement")
    if query.unknown:
        still = ", ".join(sorted({r.written for r in query.unknown}))
        why = (
            "as of a past snapshot (the new table has no history)"
            if all(r.history for r in query.unknown)
            else "which is not in the DDL"
        )
        return _Refusal(f"it also reads {still}, {why}, so it is not rewritten")
    types = _FixedTypes(catalog, fixes)
    try:
        if statement is None:
            statement, nodes = parse_trino(query.text)[0], None
        if statement is None:
            return _Refusal("it could not be parsed again")
        made = restructure(statement, catalog, types, fixes, nodes)
        if not made:
            return None
        text = rename_and_generate(statement, names, catalog.session)
    except Unadaptable as error:
        return _Refusal(str(error), error.column)
    except Exception as error:
        return _Refusal(f"the rewrite failed ({type(error).__name__}: {error})"[:300])
    kinds = tuple(sorted(made))
    reason = "rewritten for the new layout: " + ", ".join(k.replace("_", " ") for k in kinds)
    return Rewrite(query.queryid, text, REWRITTEN, reason, kinds)


class _FixedTypes(_Types):
    """The source tables' column types, with the fixed ones replaced."""

    def __init__(self, catalog: Catalog, fixes: Fixes) -> None:
        super().__init__(catalog)
        self.fixes = fixes

    def __getitem__(self, name: TableName) -> Mapping[str, exp.DataType | None]:
        types = super().__getitem__(name)
        fixed = self.fixes.get(name)
        return {**types, **fixed} if fixed else types


@dataclass(frozen=True, slots=True)
class _Rewriter:
    names: Mapping[TableName, TableName]
    catalog: Catalog
    types: Mapping[TableName, Mapping[str, exp.DataType | None]]
    fixes: Mapping[TableName, Mapping[str, exp.DataType]]
    early: Mapping[int, Rewrite]
    adapted: Mapping[int, Rewrite | None]
    # the retargeted queries by text: a query repeated is retargeted once
    retargeted: dict[str, Rewrite] = field(default_factory=dict)

    def rewrite(self, query: QueryProfile) -> Rewrite:
        if query.error is None and query.reads_only and not query.unknown:
            fixed = bool(reads_fixed(query, self.fixes))
            if fixed and query.index in self.adapted:
                adapted = self.adapted[query.index]
                if adapted is not None:
                    return adapted
                return self._retarget(query)
            if not fixed and query.index in self.early:
                return self.early[query.index]
            if not fixed and query.needs_tree:
                return self._retarget(query)
            if query.needs_tree or fixed:
                restructured = self._restructure(query, fixed)
                if restructured is not None:
                    return restructured
        return self._retarget(query)

    def _retarget(self, query: QueryProfile) -> Rewrite:
        """`_rewrite(query, …)`, which depends on the query's text alone but for its id."""
        done = self.retargeted.get(query.text)
        if done is None:
            done = self.retargeted[query.text] = _rewrite(query, self.names, self.catalog.session)
        return done if done.queryid == query.queryid else replace(done, queryid=query.queryid)

    def _restructure(self, query: QueryProfile, fixed: bool) -> Rewrite | None:
        try:
            statement = parse_trino(query.text)[0]
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
    statement: exp.Expr,
    names: Mapping[TableName, TableName],
    session: Session,
    found: tuple[Sequence[exp.Table], Sequence[exp.Column]] | None = None,
) -> str:
    """Rename the source tables of `statement` (in place) and generate it as Trino SQL.
    `found` are its `table_nodes`, when the caller has them."""
    tables, columns = found if found is not None else table_nodes(statement)
    renamed: set[TableName] = set()
    moved: set[TableName] = set()
    for table in tables:
        parts = name_parts(table)
        old = session.resolve(parts) if parts is not None else None
        new = names.get(old) if old is not None else None
        if old is None or new is None or table.args.get("version") is not None:
            continue  # a past snapshot's read stays on the source (see `Reference.history`)
        moved.add(old)
        alias = identifier(old.table)
        table.set("catalog", identifier(new.catalog))
        table.set("db", identifier(new.schema))
        table.set("this", identifier(new.table))
        if new.table != old.table:
            renamed.add(old)
            if table.args.get("alias") is None and isinstance(
                table.parent, exp.From | exp.Join | exp.Merge
            ):
                table.set("alias", exp.TableAlias(this=alias))
    for column in columns:
        old = qualified_column_name(column, session)
        new = names.get(old) if old in moved else None
        if old is None or new is None:
            continue
        keep = old in renamed
        column.set("catalog", None if keep else identifier(new.catalog))
        column.set("db", None if keep else identifier(new.schema))
        column.set("table", identifier(old.table if keep else new.table))
    return trino_sql(statement, copy=False)
