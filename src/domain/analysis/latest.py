"""Latest rows: the current version of each key, kept in a table of its own.

History tables — a Data Vault's satellites, slowly changing dimensions, change logs — keep
every version of a key, and their queries ask for the current one with a window over the
whole history::

    JOIN (SELECT customer_hk, country,
                 row_number() OVER (PARTITION BY customer_hk ORDER BY load_dts DESC) AS rn
          FROM sat_customer_details) sc ON sc.customer_hk = h.customer_hk AND sc.rn = 1

Every such query sorts the table's whole history by key to keep one row per key. The
migration can do it once: a table of the rows with ``rn = 1`` under the same window (the
*latest* table, ``<table>_latest``), and the query reads it instead, its window replaced by
the constant 1 — the rows with another number are exactly the ones its filter drops.

A derived table is answered this way when, exactly:

- it is ``SELECT <columns>, row_number() OVER (PARTITION BY … ORDER BY …) AS rn FROM t``
  over one table, with plain columns besides, no WHERE, GROUP BY, DISTINCT, ORDER BY or
  LIMIT (a filter inside would number a different set of rows);
- its rows with ``rn <> 1`` are dropped where it is used: ``alias.rn = 1`` is a conjunct of
  the WHERE of the SELECT that reads it, or of the ON of its own join when that join is
  INNER or it is the right side of a LEFT join;
- the window is the one the latest table was built with (keys and order, column by column).

Under ties in the ORDER BY the original picks one row of the tied ones arbitrarily, and so
does the table: both are then answers the query allows, and the report says so (a Data
Vault's ``(hash key, load_dts)`` is unique by construction).

>>> import sqlglot
>>> tree = sqlglot.parse_one("SELECT s.a FROM (SELECT k, a, row_number() OVER (PARTITION BY k "
...     "ORDER BY ts DESC) AS rn FROM c.s.t) s WHERE s.rn = 1", read="trino")
>>> [(w.source.table, w.keys, w.order) for w, _ in windows_of(tree, lambda p: TableName(*p))]
[('t', ('k',), (('ts', True, None),))]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp

from domain.analysis.catalog import name_parts
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import TRINO, TableName, identifier, identifier_sql, normalize
from domain.analysis.usage import conjuncts

__all__ = [
    "LatestTable",
    "Window",
    "inline_latest",
    "latest_issues",
    "plan_latest",
    "read_latest",
    "windows_of",
]

MIN_WEIGHT_SHARE = 0.01  # a latest table pays for its storage when this much weight uses it
MIN_SOURCE_ROWS = 100_000  # with statistics: a smaller history is cheap to number each time
SUFFIX = "_latest"

Order = tuple[tuple[str, bool, bool | None], ...]  # column, descending, nulls first (None: default)


@dataclass(frozen=True, slots=True)
class Window:
    """The latest row per key of one table, as a query's window defines it."""

    source: TableName
    keys: tuple[str, ...]
    order: Order

    def order_sql(self) -> str:
        parts = []
        for column, descending, nulls_first in self.order:
            text = identifier_sql(column) + (" DESC" if descending else " ASC")
            if nulls_first is not None:
                text += " NULLS FIRST" if nulls_first else " NULLS LAST"
            parts.append(text)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class LatestTable:
    """The table of the latest rows of `window.source` (read from `reads`: the source)."""

    window: Window
    name: TableName
    reads: TableName  # the source's table in the new schema, filled before this one
    columns: tuple[str, ...]
    queryids: tuple[str, ...]
    weight_share: float
    source_rows: float | None = None

    def create_sql(self) -> str:
        return (
            f"CREATE TABLE {self.name.sql()} WITH (format = 'PARQUET', format_version = 2) "
            f"AS SELECT * FROM {self.reads.sql()} WITH NO DATA"
        )

    def select_sql(self) -> str:
        columns = ", ".join(identifier_sql(c) for c in self.columns)
        keys = ", ".join(identifier_sql(k) for k in self.window.keys)
        return (
            f"SELECT {columns} FROM (SELECT {columns}, row_number() OVER (PARTITION BY {keys} "
            f"ORDER BY {self.window.order_sql()}) AS latest_row_number__ "
            f"FROM {self.reads.sql()}) WHERE latest_row_number__ = 1"
        )

    def insert_sql(self) -> str:
        return f"INSERT INTO {self.name.sql()} {self.select_sql()}"


# -- recognize ----------------------------------------------------------------------------


Resolve = Callable[[Sequence[str]], TableName | None]


def windows_of(statement: exp.Expr, resolve: Resolve) -> list[tuple[Window, exp.Subquery]]:
    """The derived tables of `statement` a latest table answers exactly (see the module), with
    their window; `resolve` maps a table as the statement names it to the source it reads
    (None: not one of ours)."""
    found = []
    for subquery in statement.find_all(exp.Subquery):
        window = _window(subquery, resolve)
        if window is not None:
            found.append((window, subquery))
    return found


def _window(subquery: exp.Subquery, resolve: Resolve) -> Window | None:
    select, alias = subquery.this, subquery.alias_or_name
    if not isinstance(select, exp.Select) or not alias:
        return None
    if any(select.args.get(k) for k in ("where", "group", "having", "order", "limit", "offset")):
        return None
    if select.args.get("distinct") or select.args.get("joins") or select.args.get("with_"):
        return None
    source = _single_table(select)
    if source is None:
        return None
    table = resolve(source)
    if table is None:
        return None
    numbered: str | None = None
    window: exp.Window | None = None
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column) and not inner.table:
            continue
        if isinstance(inner, exp.Window) and isinstance(projection, exp.Alias) and window is None:
            window, numbered = inner, normalize(projection.alias)
            continue
        return None
    if window is None or numbered is None:
        return None
    spec = _spec(window)
    if spec is None or not _first_rows_only(subquery, normalize(alias), numbered):
        return None
    return Window(table, *spec)


def _single_table(select: exp.Select) -> tuple[str, ...] | None:
    source = select.args.get("from_") or select.args.get("from")
    if not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        return None
    table = source.this
    if table.args.get("joins") or table.args.get("sample") or table.args.get("version"):
        return None
    parts = name_parts(table)
    return tuple(parts) if parts else None


def _spec(window: exp.Window) -> tuple[tuple[str, ...], Order] | None:
    if not isinstance(window.this, exp.RowNumber) or window.args.get("spec"):
        return None
    keys = window.args.get("partition_by") or []
    order = window.args.get("order")
    if not keys or not isinstance(order, exp.Order):
        return None
    if not all(isinstance(k, exp.Column) and not k.table for k in keys):
        return None
    ordered: list[tuple[str, bool, bool | None]] = []
    for item in order.expressions:
        if not isinstance(item, exp.Ordered) or not isinstance(item.this, exp.Column):
            return None
        if item.this.table:
            return None
        descending = bool(item.args.get("desc"))
        nulls = item.args.get("nulls_first")
        explicit = _explicit_nulls(item)
        ordered.append((normalize(item.this.name), descending, nulls if explicit else None))
    return tuple(normalize(k.name) for k in keys), tuple(ordered)


def _explicit_nulls(item: exp.Ordered) -> bool:
    """Whether the ORDER BY item says NULLS FIRST/LAST itself (sqlglot fills in the default)."""
    text = item.sql(dialect=TRINO).upper()
    return "NULLS FIRST" in text or "NULLS LAST" in text


def _first_rows_only(subquery: exp.Subquery, alias: str, numbered: str) -> bool:
    """Whether the rows numbered other than 1 are dropped where the derived table is read."""
    parent = subquery.parent
    if isinstance(parent, exp.Join) and parent.this is subquery:
        kind = (parent.args.get("side") or "").upper(), (parent.args.get("kind") or "").upper()
        condition = parent.args.get("on")
        if kind[0] in ("", "LEFT") and kind[1] in ("", "INNER", "OUTER") and condition:
            if kind[0] == "" and kind[1] == "OUTER":
                return False
            if _has_first_row_filter(condition, alias, numbered):
                return True
        if kind[0] == "LEFT":
            return False
        select = parent.parent
    elif isinstance(parent, exp.From):
        select = parent.parent
    else:
        return False
    if not isinstance(select, exp.Select):
        return False
    if any(
        (j.args.get("side") or "").upper() in ("RIGHT", "FULL")
        for j in select.args.get("joins") or []
    ):
        return False
    where = select.args.get("where")
    return isinstance(where, exp.Where) and _has_first_row_filter(where.this, alias, numbered)


def _has_first_row_filter(condition: exp.Expr, alias: str, numbered: str) -> bool:
    for conjunct in conjuncts(condition):
        if not isinstance(conjunct, exp.EQ):
            continue
        for side, value in (
            (conjunct.this, conjunct.expression),
            (conjunct.expression, conjunct.this),
        ):
            if (
                isinstance(side, exp.Column)
                and normalize(side.table) == alias
                and normalize(side.name) == numbered
                and isinstance(value, exp.Literal)
                and value.is_int
                and int(value.this) == 1
            ):
                return True
    return False


# -- plan ---------------------------------------------------------------------------------


def plan_latest(
    uses: Mapping[Window, Sequence[tuple[str, float]]],
    *,
    total_weight: float,
    targets: Mapping[TableName, tuple[TableName, tuple[str, ...]]],
    taken: Iterable[TableName],
    source_rows: Mapping[TableName, float],
) -> list[LatestTable]:
    """The latest tables worth building: per window, the (queryid, weight) of the queries that
    use it; `targets` maps a source to its new table (the latest table is named after it) and
    its columns; `source_rows` the row
    counts the statistics gave (a table they show small is numbered cheaply each time)."""
    names = set(taken)
    chosen = []
    for window, users in sorted(uses.items(), key=lambda item: -sum(w for _, w in item[1])):
        target = targets.get(window.source)
        if target is None:
            continue
        columns = target[1]
        if not set(window.keys) | {c for c, _, _ in window.order} <= set(columns):
            continue
        weight = sum(w for _, w in users)
        share = weight / total_weight if total_weight > 0 else 0.0
        rows = source_rows.get(window.source)
        if share < MIN_WEIGHT_SHARE or (rows is not None and rows < MIN_SOURCE_ROWS):
            continue
        name = _free_name(target[0], names)
        names.add(name)
        queryids = tuple(dict.fromkeys(q for q, _ in users))
        chosen.append(LatestTable(window, name, window.source, columns, queryids, share, rows))
    return chosen


def _free_name(target: TableName, taken: set[TableName]) -> TableName:
    number = 1
    while True:
        suffix = SUFFIX if number == 1 else f"{SUFFIX}_{number}"
        name = TableName(target.catalog, target.schema, target.table + suffix)
        if name not in taken:
            return name
        number += 1


# -- rewrite ------------------------------------------------------------------------------


def read_latest(
    statement: exp.Expr, tables: Mapping[Window, LatestTable], resolve: Resolve
) -> list[LatestTable]:
    """Turn each derived table of `statement` a latest table answers into a read of it (in
    place): FROM the latest table, the window replaced by ``CAST(1 AS bigint)``. Returns the
    latest tables read."""
    used = []
    for window, subquery in windows_of(statement, resolve):
        table = tables.get(window)
        if table is None:
            continue
        select = subquery.this
        source = select.args.get("from_") or select.args.get("from")
        alias = source.this.args.get("alias")
        replacement = table.name.node()
        if alias is not None:
            replacement.set("alias", alias.copy())
        source.this.replace(replacement)
        for projection in select.expressions:
            if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Window):
                projection.set("this", exp.cast(exp.Literal.number(1), "BIGINT"))
        used.append(table)
    return used


def inline_latest(
    statement: exp.Expr, tables: Mapping[Window, LatestTable], resolve: Resolve
) -> list[LatestTable]:
    """Turn each derived table of `statement` a latest table answers into the latest table
    itself (in place), so that the query joins plain tables (and a rollup may answer it):
    ``JOIN (SELECT k, a, row_number() … AS rn FROM t) s ON … AND s.rn = 1`` becomes
    ``JOIN t_latest AS s ON …``. Only where nothing can change meaning: the derived table
    projects its columns under their own names, its alias names nothing else, and no
    unqualified column of the statement could now resolve to one of the latest table's
    other columns. Returns the latest tables inlined; [] (and `statement` untouched) when
    any derived table cannot be."""
    found = [(w, q, tables[w]) for w, q in windows_of(statement, resolve) if w in tables]
    if not found or any(_selects_all(star) for star in statement.find_all(exp.Star)):
        return []  # a * would see the latest table's other columns
    aliases = [normalize(a.name) for a in statement.find_all(exp.TableAlias)]
    inside = {id(node) for _, subquery, _ in found for node in subquery.this.walk()}
    unqualified = {
        normalize(c.name)
        for c in statement.find_all(exp.Column)
        if not c.table and id(c) not in inside
    }
    plans = []
    for _, subquery, table in found:
        alias = normalize(subquery.alias_or_name)
        projected, numbered = set(), ""
        for projection in subquery.this.expressions:
            if isinstance(projection, exp.Alias) and isinstance(projection.this, exp.Window):
                numbered = normalize(projection.alias)
            elif isinstance(projection, exp.Column) and not projection.table:
                projected.add(normalize(projection.name))
            else:
                return []  # a renamed column
        hidden = set(table.columns) - projected
        if aliases.count(alias) != 1 or (unqualified - projected) & (hidden | {numbered}):
            return []
        plans.append((subquery, table, alias, numbered))
    for subquery, table, alias, numbered in plans:
        for column in list(statement.find_all(exp.Column)):
            if normalize(column.table) == alias and normalize(column.name) == numbered:
                column.replace(_one())
        replacement = table.name.node()
        replacement.set("alias", exp.TableAlias(this=identifier(alias)))
        subquery.replace(replacement)
    _drop_true_conjuncts(statement)
    return [table for _, table, _, _ in plans]


def _selects_all(star: exp.Star) -> bool:
    """A ``*`` or ``t.*`` that selects columns (not the one of ``count(*)``)."""
    parent = star.parent
    return isinstance(parent, exp.Select | exp.Column) or (
        isinstance(parent, exp.Alias) and isinstance(parent.parent, exp.Select)
    )


def _one() -> exp.Expr:
    return exp.cast(exp.Literal.number(1), "BIGINT")


def _is_one(node: exp.Expr) -> bool:
    if isinstance(node, exp.Cast):
        node = node.this
    return isinstance(node, exp.Literal) and node.is_int and int(node.this) == 1


def _drop_true_conjuncts(statement: exp.Expr) -> None:
    """Remove the ``1 = 1`` conjuncts inlining left (a join's ON left with nothing keeps
    TRUE)."""
    for equal in list(statement.find_all(exp.EQ)):
        if not (_is_one(equal.this) and _is_one(equal.expression)):
            continue
        node: exp.Expr = equal
        parent = node.parent
        while isinstance(parent, exp.Paren):
            node, parent = parent, parent.parent
        if isinstance(parent, exp.And):
            other = parent.expression if parent.this is node else parent.this
            parent.replace(other)
        elif isinstance(parent, exp.Where):
            parent.pop()
        else:
            node.replace(exp.true())


# -- report -------------------------------------------------------------------------------


def latest_issues(tables: Sequence[LatestTable]) -> list[Issue]:
    issues = []
    for table in tables:
        window = table.window
        keys = ", ".join(window.keys)
        issues.append(
            Issue(
                code="latest_rows",
                severity=Severity.INFO,
                title=f"The latest row per {keys} of {window.source.table} kept in a table for "
                f"{len(table.queryids)} queries",
                rationale=f"These queries number the whole history of {window.source} by "
                f"{keys} (ORDER BY {window.order_sql()}) to keep the first row of each; "
                f"{table.name.sql()} holds exactly those rows, so they read one row per key "
                "and sort nothing (directly, or through a rollup built on it).",
                table=table.name.sql(),
                queryids=table.queryids,
                effect="each query reads the current rows instead of numbering every version",
                risk="the table is filled by the migration: re-run its INSERT (after DELETE "
                "FROM it) after each load of the source, or the answers go stale. Where two "
                "rows of a key tie in the ORDER BY, the original picks either of them, and so "
                "does the table.",
                details={
                    "latest_table": table.name.sql(),
                    "source": str(window.source),
                    "keys": list(window.keys),
                    "order": window.order_sql(),
                    "source_rows": table.source_rows,
                    "refresh": f"DELETE FROM {table.name.sql()}; {table.insert_sql()}",
                },
            )
        )
    return issues
