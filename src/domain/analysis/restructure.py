"""Restructure pass: the rewrites that change a query's tree, each provably the same result.

Decides how a query is changed beyond its table names, on the query's tree (before the tables
are renamed). Every rewrite replaces an expression by one equal to it for every row, NULL
included, so it holds wherever the expression stands (under NOT, OR, in a join condition):

- **prunable predicates** on a ``date`` or ``timestamp`` column (never ``timestamp with time
  zone``: its calendar depends on the session's zone). ``year(c) = 2024`` →
  ``c >= DATE '2024-01-01' AND c < DATE '2025-01-01'``; ``CAST(c AS date) = DATE 'd'`` (and
  ``date(c)``) → a range of that day; ``date_trunc('unit', c) = L`` → ``[L, L + unit)`` only
  when L is already truncated (otherwise the predicate is always false and is kept); the
  comparisons ``< <= > >=`` map to one bound. ``year(c) = y AND month(c) = m`` bounds ``c``
  to that month. A NULL ``c`` makes both sides NULL.
- **ORDER BY dropped** in a subquery or CTE without LIMIT/OFFSET/FETCH: SQL gives such an
  ordering no meaning (Trino ignores it), so the rows are the same.
- **type fixes**: for a varchar column that becomes ``date`` (its values are canonical
  ``YYYY-MM-DD`` strings: the report's check proves it before migrating), comparisons with
  ``'YYYY-MM-DD'`` literals compare with ``DATE`` literals (the order of such strings is the
  order of the dates), ``CAST(c AS date)`` / ``date(c)`` become ``c``, and every other use
  reads ``CAST(c AS varchar)`` — the very string the column held — keeping its output name;
  ``SELECT *`` over such a table lists its columns. A varchar column that becomes
  ``timestamp(6)`` (canonical ``YYYY-MM-DD HH:MM:SS`` strings) is adapted the same way, with
  ``'YYYY-MM-DD HH:MM:SS'`` literals as TIMESTAMP literals and the text read back as
  ``substr(CAST(c AS varchar), 1, 19)`` (a timestamp(6) prints its six fraction digits).
  A reference that cannot be adapted — the fixed column cannot be told apart, ``SELECT *``
  beside a relation whose columns are unknown, a join ``USING`` it — raises `Unadaptable`.
- **number fixes**: for a varchar column that becomes a number type T (the migration
  stores ``CAST(c AS T)``), ``CAST(c AS T)`` becomes ``c`` — the very value, whatever the
  text looked like — except in ORDER BY, where ``c`` may name an output column now text;
  ``CAST(c AS varchar)`` stays (the text, canonical as the report's check
  proves); ``c IS NULL`` stays; and the column read as a whole text — projected, grouped,
  ordered, counted, its min or max, a window's partition, joined by equality to another
  column or ``IN (SELECT …)`` — reads ``CAST(c AS varchar)``. Anything else says the text
  may be more than a number and raises `Unadaptable` for that column alone (`Unadaptable.column`): a
  ``TRY_CAST``, a cast to another type, a comparison with a literal, LIKE, a function of
  the text; and any reading of the text when T is a double or a real (Trino prints
  ``1.0E2``, not the text it held).

>>> import sqlglot
>>> from domain.analysis.catalog import Catalog, Column, SourceTable
>>> from domain.analysis.names import Session, TableName
>>> t = TableName("l", "s", "t")
>>> d = Column(sqlglot.exp.to_identifier("d"), sqlglot.exp.DataType.build("date"))
>>> catalog = Catalog(Session("l", "s"), {t: SourceTable(t, (d,))})
>>> tree = sqlglot.parse_one("SELECT d FROM t WHERE year(d) = 2024", read="trino")
>>> sorted(restructure(tree, catalog, {t: {"d": d.data_type}}, {}))
['predicate_rewritten']
>>> tree.sql("trino")
"SELECT d FROM t WHERE d >= CAST('2024-01-01' AS DATE) AND d < CAST('2025-01-01' AS DATE)"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlglot import exp

from domain.analysis.catalog import Catalog
from domain.analysis.names import TableName, copy_tree, identifier, normalize
from domain.analysis.usage import (
    NUMBER_TYPES,
    Nodes,
    Resolver,
    date_literal,
    enclosing_select,
    in_order_by,
    is_nested_unlimited_order,
    scan,
    temporal_operand,
)

__all__ = [
    "ORDER_BY_DROPPED",
    "PREDICATE_REWRITTEN",
    "TYPE_FIXED",
    "Unadaptable",
    "restructure",
]

PREDICATE_REWRITTEN = "predicate_rewritten"
ORDER_BY_DROPPED = "order_by_dropped"
TYPE_FIXED = "type_fixed"

_DATE = exp.DataType.Type.DATE
_TIMESTAMP = exp.DataType.Type.TIMESTAMP
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_ORDERED = (exp.GT, exp.GTE, exp.LT, exp.LTE)
_FLIP: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.EQ: exp.EQ,
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
}


def _type(kind: exp.DType) -> exp.DataType:
    return exp.DataType(this=kind, nested=False)


Types = Mapping[TableName, Mapping[str, exp.DataType | None]]


def restructure(
    statement: exp.Expr,
    catalog: Catalog,
    types: Types,
    fixes: Mapping[TableName, Mapping[str, exp.DataType]],
    nodes: Nodes | None = None,
    resolver: Resolver | None = None,
) -> set[str]:
    """Rewrite `statement` in place; the kinds of rewrite made (empty: unchanged).

    `types` gives the new type of each column (after fixes), `fixes` the columns whose type
    changes; both keyed by source table. `nodes` are the statement's (`usage.scan`) when the
    caller scanned it already, and nothing changed it since; `resolver` likewise a resolver
    of it over `catalog`.
    """
    made: set[str] = set()
    if nodes is None:  # a rewrite changes no SELECT, join or comparison: found once
        nodes = scan(statement)
    if resolver is None:
        resolver = Resolver(statement, catalog, nodes.ctes)
    if fixes and _fix_types(statement, nodes, resolver, catalog, fixes):
        made.add(TYPE_FIXED)
        resolver = Resolver(statement, catalog, nodes.ctes)
    if _drop_orders(nodes):
        made.add(ORDER_BY_DROPPED)
    if nodes.comparisons and _prunable(nodes, resolver, types):
        made.add(PREDICATE_REWRITTEN)
    return made


# --- ORDER BY without effect -------------------------------------------------------------


def _drop_orders(nodes: Nodes) -> bool:
    dropped = False
    for query in [*nodes.selects, *nodes.set_operations]:
        if isinstance(query.args.get("order"), exp.Order) and is_nested_unlimited_order(query):
            query.set("order", None)
            dropped = True
    return dropped


# --- prunable predicates -----------------------------------------------------------------


def _column_type(column: exp.Column, resolver: Resolver, types: Types) -> exp.DataType | None:
    table = resolver.table_of(column)
    if table is None:
        return None
    return types.get(table, {}).get(normalize(column.name))


def _temporal(data_type: exp.DataType | None) -> str | None:
    if data_type is None:
        return None
    if data_type.this == _DATE:
        return "date"
    if data_type.this == _TIMESTAMP:
        return "timestamp"
    return None


def _prunable(nodes: Nodes, resolver: Resolver, types: Types) -> bool:
    changed = False
    comparisons = [
        node
        for node in nodes.comparisons
        if temporal_operand(node.this) is not None or temporal_operand(node.expression) is not None
    ]
    for node in comparisons:
        replacement = _bounded(node, resolver, types)
        if isinstance(replacement, exp.Paren) and isinstance(node.parent, exp.And | exp.Where):
            replacement = replacement.this  # AND binds tighter than anything around it here
        if replacement is not None:
            node.replace(replacement)
            changed = True
    return changed


def _bounded(node: exp.Expr, resolver: Resolver, types: Types) -> exp.Expr | None:
    left, right, kind = node.this, node.expression, type(node)
    if temporal_operand(left) is None:
        left, right, kind = right, left, _FLIP[kind]
    operand = temporal_operand(left)
    if operand is None:
        return None
    transform, column = operand
    temporal = _temporal(_column_type(column, resolver, types))
    if temporal is None:
        return None
    if transform == "year":
        if not (isinstance(right, exp.Literal) and right.is_int):
            return None
        year = int(right.this)
        if not 1 <= year < 9999:
            return None
        low: date = date(year, 1, 1)
        month = _month_with(node, column, resolver)
        if month is not None and kind is exp.EQ:
            low = date(year, month, 1)
            return _range(column, low, _add_months(low, 1), exp.EQ, temporal)
        return _range(column, low, date(year + 1, 1, 1), kind, temporal)
    if transform == "date":
        value = date_literal(right)
        if not isinstance(value, date) or isinstance(value, datetime):
            return None
        if temporal == "date":
            return kind(this=copy_tree(column), expression=copy_tree(right))
        return _range(column, value, value + timedelta(days=1), kind, temporal)
    if transform.startswith("trunc:"):
        unit = transform.split(":", 1)[1]
        value = date_literal(right)
        if value is None or (isinstance(value, datetime)) != (temporal == "timestamp"):
            return None
        if unit == "HOUR" and temporal == "date":
            return None
        if _truncate(value, unit) != value:
            return None  # never equal: leave the predicate as written
        return _range(column, value, _next(value, unit), kind, temporal)
    return None


def _month_with(node: exp.Expr, column: exp.Column, resolver: Resolver) -> int | None:
    """The m of a ``month(c) = m`` conjunct in the same AND chain as `node`, on the same
    column."""
    chain = node
    while isinstance(chain.parent, exp.And | exp.Paren):
        chain = chain.parent
    if chain is node:
        return None
    table, name = resolver.table_of(column), normalize(column.name)
    for other in chain.find_all(exp.EQ):
        for side, value in ((other.this, other.expression), (other.expression, other.this)):
            if (
                isinstance(side, exp.Month)
                and isinstance(side.this, exp.Column)
                and normalize(side.this.name) == name
                and normalize(side.this.table) == normalize(column.table)
                and resolver.table_of(side.this) == table
                and isinstance(value, exp.Literal)
                and value.is_int
                and 1 <= int(value.this) <= 12
                and _in_chain(other, chain)
            ):
                return int(value.this)
    return None


def _in_chain(node: exp.Expr, chain: exp.Expr) -> bool:
    parent = node.parent
    while parent is not None and parent is not chain:
        if not isinstance(parent, exp.And | exp.Paren):
            return False
        parent = parent.parent
    return parent is chain


def _add_months(value: date, months: int) -> date:
    total = value.year * 12 + value.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def _truncate(value: date | datetime, unit: str) -> date | datetime:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if unit == "YEAR":
        moment = datetime(moment.year, 1, 1)
    elif unit == "QUARTER":
        moment = datetime(moment.year, (moment.month - 1) // 3 * 3 + 1, 1)
    elif unit == "MONTH":
        moment = datetime(moment.year, moment.month, 1)
    elif unit == "WEEK":
        day = moment.date() - timedelta(days=moment.weekday())
        moment = datetime(day.year, day.month, day.day)
    elif unit == "DAY":
        moment = datetime(moment.year, moment.month, moment.day)
    elif unit == "HOUR":
        moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment if isinstance(value, datetime) else moment.date()


def _next(value: date | datetime, unit: str) -> date | datetime:
    months = {"YEAR": 12, "QUARTER": 3, "MONTH": 1}.get(unit)
    if months is not None:
        start = _add_months(date(value.year, value.month, 1), months)
        return datetime(start.year, start.month, 1) if isinstance(value, datetime) else start
    step = {"WEEK": timedelta(days=7), "DAY": timedelta(days=1), "HOUR": timedelta(hours=1)}
    return value + step[unit]


def _literal(value: date | datetime, temporal: str) -> exp.Expr:
    if temporal == "date":
        text = value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
        return exp.Cast(this=exp.Literal.string(text), to=_type(_DATE))
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if moment.year >= 1000 and moment.tzinfo is None:  # as strftime writes it, faster
        text = moment.isoformat(sep=" ", timespec="seconds")
    else:
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return exp.Cast(this=exp.Literal.string(text), to=_type(_TIMESTAMP))


def _range(
    column: exp.Column,
    low: date | datetime,
    high: date | datetime,
    kind: type[exp.Expr],
    temporal: str,
) -> exp.Expr | None:
    """``f(c) kind value``, where f(c) = value exactly when low <= c < high, as bounds on c.

    `column` itself goes into the result (copied only where it is needed twice): the caller
    replaces the comparison it comes from, so nothing else holds it."""
    if temporal == "date" and (_has_time(low) or _has_time(high)):
        return None
    if kind is exp.EQ:
        return exp.Paren(
            this=exp.And(
                this=exp.GTE(this=copy_tree(column), expression=_literal(low, temporal)),
                expression=exp.LT(this=column, expression=_literal(high, temporal)),
            )
        )
    if kind is exp.GTE:
        return exp.GTE(this=column, expression=_literal(low, temporal))
    if kind is exp.GT:
        return exp.GTE(this=column, expression=_literal(high, temporal))
    if kind is exp.LT:
        return exp.LT(this=column, expression=_literal(low, temporal))
    if kind is exp.LTE:
        return exp.LT(this=column, expression=_literal(high, temporal))
    return None


def _has_time(value: date | datetime) -> bool:
    return isinstance(value, datetime) and value != datetime(value.year, value.month, value.day)


# --- type fixes --------------------------------------------------------------------------


def _fix_types(
    statement: exp.Expr,
    nodes: Nodes,
    resolver: Resolver,
    catalog: Catalog,
    fixes: Mapping[TableName, Mapping[str, exp.DataType]],
) -> bool:
    changed = _expand_stars(nodes, resolver, catalog, fixes)
    columns = nodes.columns
    if changed:
        resolver = Resolver(statement, catalog, nodes.ctes)
        columns = list(statement.find_all(exp.Column))
    names = {column for columns in fixes.values() for column in columns}
    for join in nodes.joins:
        using = join.args.get("using") or ()
        if join.args.get("method") == "NATURAL" or any(normalize(u.name) in names for u in using):
            raise Unadaptable("a join on a fixed column by USING or NATURAL")
    targets = []
    for column in columns:
        if isinstance(column.this, exp.Star):
            continue
        table = resolver.table_of(column)
        new_type = fixes.get(table, {}).get(normalize(column.name)) if table else None
        if table is not None and new_type is not None:
            targets.append((column, new_type, table))
        elif table is None and normalize(column.name) in names:
            _check_unresolved(column, resolver, fixes)
    for column, new_type, table in targets:
        if new_type.this in NUMBER_TYPES:
            _fix_number(column, new_type, table)
        else:
            _fix_one(column, new_type)
        changed = True
    return changed


class Unadaptable(ValueError):
    """The query reads a column whose type is fixed in a way no rewrite can adapt.

    `column` names the (table, column) when the reason is that column's own use — it shows
    the text is more than the new type holds — and the other fixes may still be made."""

    def __init__(self, reason: str, column: tuple[TableName, str] | None = None) -> None:
        super().__init__(reason)
        self.column = column


def _check_unresolved(
    column: exp.Column,
    resolver: Resolver,
    fixes: Mapping[TableName, Mapping[str, exp.DataType]],
) -> None:
    """Raise `Unadaptable` when `column`, which the resolver could not tie to one table, may
    be a fixed column of a stored table in scope: left as it is, it would change type.

    A column qualified with a derived relation, or resolved in a scope that only has derived
    relations, reads what those relations project — already adapted. An ``ORDER BY`` output
    alias reads the (adapted) output column.
    """
    if column.args.get("db") is not None:
        return  # a schema-qualified name the resolver did not find: no stored table
    key = normalize(column.name)
    scope = enclosing_select(column.parent)
    qualifier = normalize(column.table) if column.table else None
    while scope is not None:
        sources = resolver.sources(scope)
        if qualifier is not None:
            if qualifier in sources:
                return  # a derived relation (a stored one would have resolved)
        else:
            if key in resolver.aliases(scope) and in_order_by(column):
                return
            fixed = [t for t in sources.values() if t is not None and key in fixes.get(t, {})]
            if fixed:
                raise Unadaptable(
                    f"cannot tell whether {column.sql('trino')} is the fixed column "
                    f"{key} of {fixed[0]}"
                )
            if any(t is None or key in resolver.columns_of(t) for t in sources.values()):
                return
        scope = enclosing_select(scope.parent)


def _date_string(node: exp.Expr) -> bool:
    if not (isinstance(node, exp.Literal) and node.is_string and _DATE_TEXT.match(node.this)):
        return False
    try:
        date.fromisoformat(node.this)
    except ValueError:
        return False
    return True


def _fix_one(column: exp.Column, new_type: exp.DataType) -> None:
    """Adapt one reference to a varchar column that becomes `new_type` (a date or a
    timestamp) so that the expression around it keeps its value."""
    temporal = new_type.this
    parent = column.parent
    if temporal == _DATE and (
        (
            isinstance(parent, exp.Cast)
            and not isinstance(parent, exp.TryCast)
            and parent.to.this == _DATE
            and not parent.to.expressions
        )
        or isinstance(parent, exp.Date)
    ):
        parent.replace(copy_tree(column))
        return
    if (
        temporal == _DATE
        and isinstance(parent, exp.Cast)
        and parent.to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT)
        and not parent.to.expressions
    ):
        return  # CAST(c AS varchar) reads the same string either way
    if isinstance(parent, exp.Is):
        return
    literal = _date_string if temporal == _DATE else _timestamp_string
    if isinstance(parent, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        other = parent.expression if parent.this is column else parent.this
        if literal(other):
            other.replace(_typed_literal(other, temporal))
            return
    if isinstance(parent, exp.Between) and parent.this is column:
        low, high = parent.args["low"], parent.args["high"]
        if literal(low) and literal(high):
            low.replace(_typed_literal(low, temporal))
            high.replace(_typed_literal(high, temporal))
            return
    if (
        isinstance(parent, exp.In)
        and parent.this is column
        and parent.expressions
        and all(literal(v) for v in parent.expressions)
    ):
        for value in list(parent.expressions):
            value.replace(_typed_literal(value, temporal))
        return
    as_text: exp.Expr = exp.Cast(this=copy_tree(column), to=_type(exp.DataType.Type.VARCHAR))
    if temporal != _DATE:
        # a timestamp(6) reads as 'YYYY-MM-DD HH:MM:SS.ffffff': its first 19 characters are
        # the text the column held (the report's check proves every value had that form)
        as_text = exp.Substring(
            this=as_text, start=exp.Literal.number(1), length=exp.Literal.number(19)
        )
    if isinstance(parent, exp.Select) and column.arg_key == "expressions":
        column.replace(exp.alias_(as_text, _same_identifier(column.this), copy=False))
    else:
        column.replace(as_text)


# Where a column read as a whole text may stand: its value, or only its equality, counts.
_TEXT_READERS = (
    exp.Alias,
    exp.Group,
    exp.Ordered,
    exp.Order,
    exp.Distinct,
    exp.Count,
    exp.Min,
    exp.Max,
    exp.ApproxDistinct,
)
_VARCHAR = (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT)
_COMPARED = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
_FLOATING = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


def _fix_number(column: exp.Column, new_type: exp.DataType, table: TableName) -> None:
    """Adapt one reference to a varchar column that becomes the number type `new_type`, or
    raise `Unadaptable` (for that column) where the use shows the text is more than a
    number, or needs a text the new type does not give back."""
    parent = column.parent
    name = column.sql("trino")
    key = (table, normalize(column.name))
    type_sql = new_type.sql("trino")
    if isinstance(parent, exp.TryCast):
        raise Unadaptable(f"TRY_CAST({name} …): some values may not be numbers", key)
    if isinstance(parent, exp.Cast) and parent.this is column:
        if parent.to == new_type:
            # the migration stored this very value; but in ORDER BY the name may be an output
            # column the rewrite made text (``CAST(c AS varchar) AS c``), whose order is
            # not the number's: there the cast stays, exact on the text and on the number
            if not in_order_by(column):
                parent.replace(copy_tree(column))
            return
        if parent.to.this not in _VARCHAR or parent.to.expressions:
            target = parent.to.sql("trino")
            raise Unadaptable(f"{name} is also cast to {target}, not only to {type_sql}", key)
        if new_type.this in _FLOATING:
            raise Unadaptable(_floating_text(name, type_sql), key)
        return  # CAST(c AS varchar): the text it held (canonical: the report's check)
    if isinstance(parent, exp.Is):
        return
    if not _reads_text(column, parent):
        raise Unadaptable(_text_use(name, parent), key)
    if new_type.this in _FLOATING:
        raise Unadaptable(_floating_text(name, type_sql), key)
    as_text: exp.Expr = exp.Cast(this=copy_tree(column), to=_type(exp.DataType.Type.VARCHAR))
    if isinstance(parent, exp.Select) and column.arg_key == "expressions":
        column.replace(exp.alias_(as_text, _same_identifier(column.this), copy=False))
    else:
        column.replace(as_text)


def _reads_text(column: exp.Column, parent: exp.Expr | None) -> bool:
    """Whether `column` stands where only its whole text (or its equality) is read."""
    if isinstance(parent, exp.Select):
        return column.arg_key in ("expressions", "group")
    if isinstance(parent, exp.Window):
        return column.arg_key == "partition_by"
    if isinstance(parent, _TEXT_READERS):
        return True
    if isinstance(parent, exp.EQ | exp.NEQ):
        other = parent.expression if parent.this is column else parent.this
        if isinstance(other, exp.Cast) and other.to.this in _VARCHAR:
            other = other.this  # another fixed column, read as text already
        return isinstance(other, exp.Column)
    if isinstance(parent, exp.In):
        return parent.this is column and parent.args.get("query") is not None
    return False


def _text_use(name: str, parent: exp.Expr | None) -> str:
    """Why a use of `name` shows its text is more than a number."""
    shown = parent.sql("trino") if parent is not None else name
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    if isinstance(parent, exp.Like | exp.ILike | exp.RegexpLike):
        return f"it matches the text of {name} with a pattern ({shown})"
    if isinstance(parent, (*_COMPARED, exp.Between, exp.In)):
        return f"it compares the text of {name} with a value, not a number ({shown})"
    if isinstance(parent, exp.Func | exp.Binary):
        return f"it hands the text of {name} to a function or operator ({shown})"
    return f"it uses the text of {name} otherwise than a number's ({shown})"


def _floating_text(name: str, type_sql: str) -> str:
    return (
        f"it reads the text of {name}, which as {type_sql} Trino prints otherwise (1.0E2 for 100)"
    )


def _timestamp_string(node: exp.Expr) -> bool:
    if not (isinstance(node, exp.Literal) and node.is_string and _TIMESTAMP_TEXT.match(node.this)):
        return False
    try:
        datetime.fromisoformat(node.this)
    except ValueError:
        return False
    return True


def _typed_literal(node: exp.Expr, temporal: exp.DType) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(node.this), to=_type(temporal))


def _expand_stars(
    nodes: Nodes,
    resolver: Resolver,
    catalog: Catalog,
    fixes: Mapping[TableName, Mapping[str, exp.DataType]],
) -> bool:
    """Replace ``*`` and ``t.*`` over a fixed table by its columns, so that they can be cast
    back; only where every relation of the SELECT is a stored table."""
    changed = False
    for select in nodes.selects:
        sources = resolver.sources(select)
        if not any(t in fixes for t in sources.values() if t is not None):
            continue
        projections: list[exp.Expr] = []
        joins = select.args.get("joins") or ()
        expanded = False
        for projection in select.expressions:
            stars: list[tuple[str, TableName | None]] = []
            if isinstance(projection, exp.Star):
                stars = list(sources.items())
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                qualifier = normalize(projection.table)
                stars = [(qualifier, sources.get(qualifier))]
            if not stars or not any(t in fixes for _, t in stars if t is not None):
                projections.append(projection)
                continue
            if any(t is None for _, t in stars):
                raise Unadaptable("SELECT * over a relation whose columns are unknown")
            if any(j.args.get("using") or j.args.get("method") == "NATURAL" for j in joins):
                raise Unadaptable("SELECT * over a join USING columns (they appear once)")
            if any(not _typed(catalog, t) for _, t in stars):
                raise Unadaptable("SELECT * over a table whose columns the DDL does not list")
            for alias, table in stars:
                assert table is not None
                source = catalog.get(table)
                assert source is not None
                for col in source.columns:
                    name = exp.Identifier(this=col.name.this, quoted=col.name.quoted)
                    projections.append(exp.Column(this=name, table=identifier(alias)))
            expanded = True
        if expanded:
            select.set("expressions", projections)
            changed = True
    return changed


def _same_identifier(identifier: exp.Expr) -> exp.Identifier:
    """A new identifier like `identifier` (a cheap copy: without its position)."""
    if isinstance(identifier, exp.Identifier):
        return exp.Identifier(this=identifier.this, quoted=identifier.quoted)
    return exp.to_identifier(identifier.name)


def _typed(catalog: Catalog, table: TableName | None) -> bool:
    source = catalog.get(table) if table is not None else None
    return source is not None and source.typed and bool(source.columns)
