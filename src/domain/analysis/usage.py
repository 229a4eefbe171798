"""Usage pass: which column of which stored table each query uses, and how.

Decides, for every column reference in a query, the source table it belongs to — through
aliases, CTEs and subqueries, by the scope rules Trino applies — and the kind of use:

    eq        ``col = literal`` (also ``WHERE flag`` / ``NOT flag`` on a boolean)
    in        ``col IN (literals…)``
    range     ``col < / <= / > / >= / BETWEEN literal`` and the temporal shapes that bound a
              column (``year(col) = 2024``, ``CAST(col AS date) = DATE '…'``,
              ``date_trunc('month', col) = …``), with the width of the range in days
              when both ends are known
              — and a fact's join key where the select filters the dimension it joins on time
              (``d.year = 2024``): Trino's dynamic filtering hands the scan that range of
              keys (`through` names the dimension)
    lookup    a join key where the select looks the table it joins up by one of its keys
              (``h.customer_bk = 'C-1'``): Trino's dynamic filtering hands this table's scan
              the few key values the lookup found (`through` names the looked-up table)
    like      ``col LIKE 'prefix%'``
    is_null   ``col IS NULL``
    filter    any other predicate on the column (inside OR, functions…): not prunable
    join      ``a.col = b.col`` between two relations, or ``col IN (SELECT …)``
    project   ``SELECT *`` / ``t.*`` (column ``*``): every column of the table is read
    cast      ``CAST(col AS <number type>)`` of a varchar column, anywhere in the query
              (`cast_to` names the type: the evidence that the text holds numbers)
    try_cast  ``TRY_CAST(col AS …)`` of a varchar column: some values may not convert

Columns only projected, grouped or ordered by are not resolved (the advice needs filters and
joins; which columns are read at all is told from the query's words, see `profile`): that
keeps the pass cheap on large workloads.

A reference that cannot be tied to exactly one stored table (an ambiguous unqualified name, a
column of a CTE or derived table) is left out: usage only ever under-counts.

It also flags whether a query has shapes a rewrite may change (`needs_tree`): a temporal
function compared to a literal, an ``ORDER BY`` inside a subquery or CTE without a limit, a
comparison of a varchar column with a date-like string. Only those queries are parsed again
in the rewrite stage.

>>> import sqlglot
>>> from domain.analysis.catalog import Catalog, Column, SourceTable
>>> from domain.analysis.names import Session, TableName
>>> t = TableName("l", "s", "t")
>>> d = Column(sqlglot.exp.to_identifier("d"))
>>> catalog = Catalog(Session("l", "s"), {t: SourceTable(t, (d,))})
>>> tree = sqlglot.parse_one("SELECT * FROM t x WHERE year(x.d) = 2024", read="trino")
>>> [(u.column, u.kind, u.width_days) for u in column_uses(tree, catalog).uses]
[('d', 'range', 366.0), ('*', 'project', None)]
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlglot import exp

from domain.analysis.cardinality import KEY_NAME
from domain.analysis.catalog import Catalog, column_types, name_parts
from domain.analysis.names import TableName, normalize

__all__ = [
    "NUMBER_TYPES",
    "ColumnUse",
    "Nodes",
    "QueryUsage",
    "Resolver",
    "column_uses",
    "conjuncts",
    "date_literal",
    "enclosing_select",
    "in_order_by",
    "is_cte_reference",
    "is_nested_unlimited_order",
    "scan",
    "temporal_operand",
]

STAR = "*"
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_FLIP: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.EQ: exp.EQ,
    exp.NEQ: exp.NEQ,
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
}
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
# A string a varchar column holding dates or timestamps is compared with, as Trino writes them.
_DATE_LIKE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
_UNIT_DAYS = {
    "YEAR": 366.0,
    "QUARTER": 92.0,
    "MONTH": 31.0,
    "WEEK": 7.0,
    "DAY": 1.0,
    "HOUR": 1 / 24,
}


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """One use of a stored table's column. `values` are the literals compared with (eq, in);
    `width_days` the width of a range when both its ends are known."""

    table: TableName
    column: str
    kind: str
    values: tuple[str, ...] = ()
    width_days: float | None = None
    date_like: bool = False  # compared with a 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' string
    cast_to: str | None = None  # the number type a varchar column is cast to (kind cast)
    through: TableName | None = None  # the joined table whose filter dynamic filtering carries


@dataclass(frozen=True, slots=True)
class QueryUsage:
    uses: tuple[ColumnUse, ...]
    needs_tree: bool


@dataclass(frozen=True, slots=True)
class Nodes:
    """The nodes of a tree the passes look for, found in one walk, in source order: each
    walk of a tree costs about as much as a pass's own work on it."""

    tables: list[exp.Table]
    columns: list[exp.Column]  # every column reference, `*` included
    ctes: set[str]  # the names of the CTEs defined anywhere in the tree, normalized
    selects: list[exp.Select]
    set_operations: list[exp.SetOperation]
    joins: list[exp.Join]
    comparisons: list[exp.Expr]  # = < <= > >=
    aggregates: list[exp.Expr] = field(default_factory=list)  # every aggregate call
    stars: list[exp.Star] = field(default_factory=list)
    # windows, UNNEST, LATERAL, placeholders: shapes a rollup cannot answer
    unrollable: list[exp.Expr] = field(default_factory=list)
    casts: list[exp.Cast] = field(default_factory=list)  # CAST and TRY_CAST


_COMPARED = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def scan(statement: exp.Expr) -> Nodes:
    """The nodes of `statement` the passes need (see `Nodes`), in one depth-first walk."""
    nodes = Nodes([], [], set(), [], [], [], [])
    buckets: tuple[list[Any], ...] = (
        nodes.columns,
        nodes.tables,
        nodes.comparisons,
        nodes.selects,
        nodes.joins,
        nodes.set_operations,
        nodes.aggregates,
        nodes.stars,
        nodes.unrollable,
        nodes.casts,
    )
    kinds = _SCANNED
    # `statement.walk(bfs=False)`'s order (depth first, each node's arguments in order),
    # walked here: a generator per node, and the walk into names and literals, which hold
    # no node, cost more than the rest of the scan.
    stack: list[exp.Expr] = [statement]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        cls = type(node)
        kind = kinds.get(cls)
        if kind is None:
            kind = kinds[cls] = _scanned_kind(cls)
        if kind >= 0:
            buckets[kind].append(node)
        elif kind == _CTE_KIND:
            nodes.ctes.add(normalize(node.alias))
        if cls in _LEAVES:
            continue
        for value in reversed(node.args.values()):
            if isinstance(value, list):
                for item in reversed(value):
                    if isinstance(item, exp.Expr):
                        push(item)
            elif isinstance(value, exp.Expr):
                push(value)
    return nodes


# Nodes whose arguments are text and flags only.
_LEAVES = frozenset({exp.Identifier, exp.Literal})


# The bucket of `scan` each node class goes to (by its index in `_SCAN_ORDER`), -1 for none.
_SCAN_ORDER: tuple[type[exp.Expr] | tuple[type[exp.Expr], ...], ...] = (
    exp.Column,
    exp.Table,
    _COMPARED,
    exp.Select,
    exp.Join,
    exp.SetOperation,
    exp.AggFunc,
    exp.Star,
    (exp.Window, exp.Unnest, exp.Lateral, exp.Placeholder),
    exp.Cast,
)
_CTE_KIND = -2
_SCANNED: dict[type, int] = {}


def _scanned_kind(cls: type) -> int:
    for index, kinds in enumerate(_SCAN_ORDER):
        if issubclass(cls, kinds):
            return index
    return _CTE_KIND if issubclass(cls, exp.CTE) else -1


def column_uses(
    statement: exp.Expr,
    catalog: Catalog,
    nodes: Nodes | None = None,
    resolver: Resolver | None = None,
) -> QueryUsage:
    """Every column use in `statement` that resolves to a stored table of `catalog`;
    `nodes` are the tree's, when a `scan` already found them, `resolver` a resolver of the
    tree over `catalog` the caller shares with other passes."""
    nodes = nodes or scan(statement)
    if resolver is None:
        resolver = Resolver(statement, catalog, nodes.ctes)
    uses: list[ColumnUse] = []
    needs_tree = False
    for select in nodes.selects:
        where = select.args.get("where")
        conditions = [where.this] if isinstance(where, exp.Where) else []
        for join in select.args.get("joins") or ():
            on = join.args.get("on")
            if isinstance(on, exp.Expr):
                conditions.append(on)
        in_select: list[ColumnUse] = []
        for condition in conditions:
            found, rewritable = _predicates(condition, resolver)
            in_select += found
            needs_tree = needs_tree or rewritable
        uses += in_select
        uses += _through_joins(conditions, in_select, resolver, catalog)
        order = select.args.get("order")
        if isinstance(order, exp.Order):
            needs_tree = needs_tree or is_nested_unlimited_order(select)
        for projection in select.expressions:
            if isinstance(projection, exp.Star):
                uses += [ColumnUse(t, STAR, "project") for t in resolver.stored(select)]
            elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
                table = resolver.qualifier_table(projection, select)
                if table is not None:
                    uses.append(ColumnUse(table, STAR, "project"))
    for union in nodes.set_operations:
        if isinstance(union.args.get("order"), exp.Order) and is_nested_unlimited_order(union):
            needs_tree = True
    if nodes.casts:
        uses += _casts(nodes.casts, resolver, catalog)
    return QueryUsage(tuple(uses), needs_tree)


# The types a varchar column holding numbers may be fixed to (see `advise`): not tinyint nor
# smallint, which Iceberg stores as integer (the column would read back as another type).
NUMBER_TYPES = frozenset(
    {
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
    }
)
_TEXT_TYPES = frozenset({exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT})


def _casts(casts: list[exp.Cast], resolver: Resolver, catalog: Catalog) -> list[ColumnUse]:
    """The casts of varchar columns of stored tables to numbers (``cast``), and every
    ``TRY_CAST`` of one (``try_cast``): whether the text holds numbers."""
    uses = []
    for cast in casts:
        column = cast.this
        if not isinstance(column, exp.Column) or isinstance(column.this, exp.Star):
            continue
        trying = isinstance(cast, exp.TryCast)
        to = cast.args.get("to")
        if not isinstance(to, exp.DataType) or (not trying and to.this not in NUMBER_TYPES):
            continue
        table = resolver.table_of(column)
        source = catalog.get(table) if table is not None else None
        if table is None or source is None:
            continue
        name = normalize(column.name)
        data_type = column_types(source).get(name)
        if data_type is None or data_type.this not in _TEXT_TYPES:
            continue
        if trying:
            uses.append(ColumnUse(table, name, "try_cast"))
        else:
            uses.append(ColumnUse(table, name, "cast", cast_to=to.sql("trino")))
    return uses


def _through_joins(
    conditions: list[exp.Expr], found: list[ColumnUse], resolver: Resolver, catalog: Catalog
) -> list[ColumnUse]:
    """The filters Trino's dynamic filtering puts on a join key. Where a select joins a table
    by equality to one it filters, the join hands the scan of the other table the keys that
    matched, which skip its files and row groups by their min/max when they are sorted by the
    key. Two shapes make that worth a layout:

    - **a range** — the filtered table is a dimension filtered on time (``d.year = 2024``,
      ``d.full_date BETWEEN …``) and the key a day: the keys are a range (a star's fact by
      its date key);
    - **a lookup** — the filtered table is looked up by its own key (``h.customer_bk =
      'C-1'`` in ``hub_customer``) and the join is on keys: the keys are a few values (a Data
      Vault's satellite by the hash key of the hub it describes).

    Only inner joins: an outer join keeps every row of one side."""
    # Each equality of two columns of stored tables is among `found` as a use of each side
    # (see `_comparison`): without two tables so joined there is no key to hand over.
    if len({u.table for u in found if u.kind == "join"}) < 2:
        return []
    timed = {u.table for u in found if u.kind in _TIME_KINDS and _in_time(catalog, u)}
    # a lookup by the table's own key finds a row or a few, not a fact's rows of one store
    looked_up = {
        u.table for u in found if u.kind in ("eq", "in") and _owns(catalog, u.table, u.column)
    }
    if not timed and not looked_up:
        return []
    derived: list[ColumnUse] = []
    for condition in conditions:
        if _outer_join_condition(condition):
            continue
        for conjunct in conjuncts(condition):
            if not (
                isinstance(conjunct, exp.EQ)
                and isinstance(conjunct.left, exp.Column)
                and isinstance(conjunct.right, exp.Column)
            ):
                continue
            ends = [(resolver.table_of(c), c) for c in (conjunct.left, conjunct.right)]
            for (near, column), (far, key) in (ends, ends[::-1]):
                if near is None or far is None or near == far:
                    continue
                name, far_key = normalize(column.name), normalize(key.name)
                # the filtered side is a dimension, and the key a day (not a hash or an id,
                # whose matching values scatter over the whole range)
                if (
                    far in timed
                    and near not in timed
                    and _owns(catalog, far, far_key)
                    and _names_time(catalog, near, name)
                ):
                    derived.append(ColumnUse(near, name, "range", through=far))
                # a few rows found by a key hand over a few keys: near is not filtered by a
                # key itself (a table looked up on its own reads its own few rows already)
                elif (
                    far in looked_up
                    and near not in looked_up
                    and KEY_NAME.search(name)
                    and KEY_NAME.search(far_key)
                ):
                    derived.append(ColumnUse(near, name, "lookup", through=far))
    return derived


def _owns(catalog: Catalog, table: TableName, column: str) -> bool:
    """Whether `column` is `table`'s own key (its first column, or named after the table):
    the side of a join Trino builds its hash table and dynamic filter from is the one whose
    key the other side points at — a dimension, not a fact filtered on its own time."""
    source = catalog.tables.get(table)
    if source is None or not source.columns:
        return False
    stem = re.sub(r"^(dim|d|hub|ref|lkp)_", "", table.table).removesuffix("s")
    return column == source.columns[0].key or column in {
        f"{stem}_key",
        f"{stem}_id",
        f"{stem}_sk",
        f"{stem}_hk",  # a Data Vault hub's hash key and business key
        f"{stem}_bk",
    }


def _outer_join_condition(condition: exp.Expr) -> bool:
    join = condition.parent
    return isinstance(join, exp.Join) and bool(join.side) and join.side.upper() != "INNER"


def _in_time(catalog: Catalog, use: ColumnUse) -> bool:
    """Whether `use` filters a date or timestamp column, or a calendar part named as one."""
    return bool(_CALENDAR_PART.search(use.column)) or _typed_time(catalog, use.table, use.column)


def _names_time(catalog: Catalog, table: TableName, column: str) -> bool:
    """Whether `column` holds days: a date or timestamp, or a key named as one (date_key)."""
    return bool(_DAY_KEY.search(column)) or _typed_time(catalog, table, column)


def _typed_time(catalog: Catalog, table: TableName, name: str) -> bool:
    source = catalog.tables.get(table)
    data_type = column_types(source).get(name) if source is not None else None
    return data_type is not None and data_type.this in _TIME_TYPES


_TIME_KINDS = ("eq", "in", "range")
_CALENDAR_PART = re.compile(r"(^|_)(year|quarter|month|week)$")
_DAY_KEY = re.compile(r"(^|_)(date|day|dt|period)_?(key|id|sk)?$")
_TIME_TYPES = {
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
}


def is_nested_unlimited_order(query: exp.Expr) -> bool:
    """Whether `query` (a SELECT or set operation) is nested in another query and orders its
    rows without LIMIT, OFFSET or FETCH: then its ORDER BY cannot change the result."""
    if any(query.args.get(k) is not None for k in ("limit", "offset", "fetch")):
        return False
    node = query.parent
    while isinstance(node, exp.Subquery | exp.Paren):
        node = node.parent
    return node is not None


def date_literal(node: exp.Expr) -> date | datetime | None:
    """The value of a DATE/TIMESTAMP literal (``DATE '2024-01-01'``), else None."""
    if not isinstance(node, exp.Cast) or not isinstance(node.this, exp.Literal):
        return None
    if not node.this.is_string:
        return None
    text = node.this.this
    kind = node.to.this
    try:
        if kind == exp.DataType.Type.DATE and _DATE_TEXT.match(text):
            return date.fromisoformat(text)
        if kind == exp.DataType.Type.TIMESTAMP and (
            _DATE_TEXT.match(text) or _TIMESTAMP_TEXT.match(text)
        ):
            return datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def temporal_operand(node: exp.Expr) -> tuple[str, exp.Column] | None:
    """The transform and column of ``year(col)``, ``CAST(col AS date)``, ``date(col)``,
    ``date_trunc('unit', col)``; None for anything else."""
    inner = node.this if isinstance(node, exp.Expr) else None
    if not isinstance(inner, exp.Column):
        return None
    if isinstance(node, exp.Year):
        return "year", inner
    if isinstance(node, exp.Month):
        return "month", inner
    if isinstance(node, exp.Date) or (
        isinstance(node, exp.Cast)
        and not isinstance(node, exp.TryCast)
        and node.to.this == exp.DataType.Type.DATE
        and not node.to.expressions
    ):
        return "date", inner
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        unit = node.args.get("unit")
        name = unit.name.upper() if isinstance(unit, exp.Var | exp.Literal) else ""
        if name in _UNIT_DAYS:
            return f"trunc:{name}", inner
    return None


class Resolver:
    """Ties column references to stored tables, one SELECT scope at a time."""

    def __init__(self, statement: exp.Expr, catalog: Catalog, ctes: set[str] | None = None) -> None:
        """`ctes`: the names of the CTEs `statement` defines, when they are known already."""
        self.catalog = catalog
        if ctes is None:
            ctes = {normalize(c.alias) for c in statement.find_all(exp.CTE)}
        self.ctes = ctes
        self._scopes: dict[int, tuple[dict[str, TableName | None], frozenset[str]]] = {}

    def sources(self, select: exp.Select) -> dict[str, TableName | None]:
        return self._scope(select)[0]

    def aliases(self, select: exp.Select) -> frozenset[str]:
        """The output aliases `select` defines."""
        return self._scope(select)[1]

    def stored(self, select: exp.Select) -> list[TableName]:
        return list(dict.fromkeys(t for t in self.sources(select).values() if t is not None))

    def _scope(self, select: exp.Select) -> tuple[dict[str, TableName | None], frozenset[str]]:
        cached = self._scopes.get(id(select))
        if cached is not None:
            return cached
        sources: dict[str, TableName | None] = {}
        relations: list[exp.Expr] = []
        from_ = select.args.get("from_")
        if isinstance(from_, exp.From):
            relations.append(from_.this)
        relations += [j.this for j in select.args.get("joins") or ()]
        for relation in relations:
            alias = relation.alias
            alias = normalize(alias) if alias else ""
            if isinstance(relation, exp.Table):
                name = self._stored_name(relation)
                key = alias or normalize(relation.name)
                sources[key] = name
            else:
                sources[alias or f"#{len(sources)}"] = None
        aliases = frozenset(
            normalize(p.alias) for p in select.expressions if isinstance(p, exp.Alias)
        )
        self._scopes[id(select)] = (sources, aliases)
        return sources, aliases

    def _stored_name(self, table: exp.Table) -> TableName | None:
        if is_cte_reference(table, self.ctes):
            return None  # a CTE: its columns are not followed to the tables it reads
        parts = name_parts(table)
        if parts is None:
            return None
        name = self.catalog.session.resolve(parts)
        return name if self.catalog.get(name) is not None else None

    def columns_of(self, name: TableName) -> Collection[str]:
        source = self.catalog.get(name)
        return column_types(source).keys() if source is not None else ()

    def qualifier_table(self, column: exp.Column, select: exp.Select) -> TableName | None:
        qualifier = normalize(column.table)
        scope: exp.Expr | None = select
        while isinstance(scope, exp.Select):
            sources = self.sources(scope)
            if qualifier in sources:
                return sources[qualifier]
            scope = enclosing_select(scope.parent)
        return None

    def table_of(self, column: exp.Column) -> TableName | None:
        select = enclosing_select(column.parent)
        if select is None:
            return None
        if column.args.get("db") is not None:
            parts = [p.name for p in (column.args.get(k) for k in ("catalog", "db", "table")) if p]
            name = self.catalog.session.resolve(parts)
            return name if self.catalog.get(name) is not None else None
        if column.table:
            return self.qualifier_table(column, select)
        key = normalize(column.name)
        scope: exp.Select | None = select
        while scope is not None:
            sources, aliases = self._scope(scope)
            if scope is select and key in aliases and in_order_by(column):
                return None  # ORDER BY an output column
            stored = [t for t in sources.values() if t is not None]
            if len(sources) == 1 and stored:
                return stored[0]
            having = [t for t in stored if key in self.columns_of(t)]
            if len(having) == 1 and len(stored) == len(sources):
                return having[0]
            if having or len(stored) != len(sources):
                return None  # ambiguous, or maybe a derived table's column
            scope = enclosing_select(scope.parent)
        return None


def _bare_name(table: exp.Table) -> str | None:
    this = table.this
    if isinstance(this, exp.Identifier) and table.args.get("db") is None:
        return normalize(this.name)
    return None


def is_cte_reference(table: exp.Table, ctes: set[str]) -> bool:
    """Whether `table` names a CTE visible where it stands.

    Walks up from the table: a WITH clause it sits in makes visible the CTEs defined before
    the one it is in (and that one too when recursive); a WITH clause of an enclosing query
    it is not part of makes all its CTEs visible.
    """
    name = _bare_name(table)
    if name is None or name not in ctes:
        return False
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):
            recursive = bool(node.args.get("recursive"))
            for cte in node.expressions:
                if cte is child and not recursive:
                    break
                if normalize(cte.alias) == name:
                    return True
                if cte is child:
                    break
        else:
            with_ = node.args.get("with_")
            if (
                isinstance(with_, exp.With)
                and with_ is not child
                and any(normalize(cte.alias) == name for cte in with_.expressions)
            ):
                return True
        child, node = node, node.parent
    return False


def enclosing_select(node: exp.Expr | None) -> exp.Select | None:
    while node is not None and not isinstance(node, exp.Select):
        node = node.parent
    return node


def in_order_by(column: exp.Column) -> bool:
    """Whether `column` sits in the ORDER BY of its own SELECT."""
    node = column.parent
    while node is not None and not isinstance(node, exp.Select):
        if isinstance(node, exp.Order):
            return True
        node = node.parent
    return False


def _plain(node: exp.Expr, kind: str, resolver: Resolver) -> list[ColumnUse]:
    uses = []
    for column in _columns(node):
        table = resolver.table_of(column)
        if table is not None:
            uses.append(ColumnUse(table, normalize(column.name), kind))
    return uses


def _columns(node: exp.Expr) -> Iterator[exp.Column]:
    """Columns in `node`, not descending into nested queries (they are scopes of their own)."""
    if isinstance(node, exp.Column):
        if not isinstance(node.this, exp.Star):
            yield node
        return
    for child in node.iter_expressions():
        if isinstance(child, exp.Query | exp.Subquery):
            continue
        yield from _columns(child)


def conjuncts(condition: exp.Expr) -> Iterator[exp.Expr]:
    """The operands of a chain of ANDs (through parentheses), in order."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from conjuncts(condition.this)
        yield from conjuncts(condition.expression)
    else:
        yield condition


def _literal_text(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return f"-{node.this.this}"
    value = date_literal(node)
    return value.isoformat() if value is not None else None


def _predicates(condition: exp.Expr, resolver: Resolver) -> tuple[list[ColumnUse], bool]:
    uses: list[ColumnUse] = []
    bounds: dict[tuple[TableName, str], list[_Bound]] = {}
    rewritable = False
    for conjunct in conjuncts(condition):
        found, rewrite = _conjunct(conjunct, resolver, bounds)
        if found is None:  # not a shape we know: every column in it is a plain filter
            for node in _columns(conjunct):
                owner = resolver.table_of(node)
                if owner is not None:
                    uses.append(ColumnUse(owner, normalize(node.name), "filter"))
        else:
            uses += found
        rewritable = rewritable or rewrite
    # A column bounded on both sides by separate conjuncts: one range of known width.
    for (table, column), found_bounds in bounds.items():
        lows = [b.value for b in found_bounds if b.side == "lo"]
        highs = [b.value for b in found_bounds if b.side == "hi"]
        width = _width(max(lows), min(highs)) if lows and highs else None
        texts = tuple(b.text for b in found_bounds)
        date_like = any(b.date_like for b in found_bounds)
        uses.append(ColumnUse(table, column, "range", texts, width, date_like))
        rewritable = rewritable or date_like
    return uses, rewritable


@dataclass(frozen=True, slots=True)
class _Bound:
    side: str
    value: date | datetime
    text: str
    date_like: bool  # a 'YYYY-MM-DD' string, not a typed literal


def _width(low: date | datetime, high: date | datetime) -> float | None:
    if isinstance(low, datetime) != isinstance(high, datetime):
        low, high = _as_datetime(low), _as_datetime(high)
    try:
        delta = _as_datetime(high) - _as_datetime(low)
    except TypeError:
        return None
    return max(delta / timedelta(days=1), 0.0)


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _conjunct(
    node: exp.Expr,
    resolver: Resolver,
    bounds: dict[tuple[TableName, str], list[_Bound]],
) -> tuple[list[ColumnUse] | None, bool]:
    """The uses one conjunct makes, None when its shape is not one of the known ones; and
    whether a rewrite may apply to it."""
    if isinstance(node, exp.Column):
        table = resolver.table_of(node)
        return ([ColumnUse(table, normalize(node.name), "eq", ("true",))] if table else []), False
    if isinstance(node, exp.Not) and isinstance(node.this, exp.Column):
        table = resolver.table_of(node.this)
        column = normalize(node.this.name)
        return ([ColumnUse(table, column, "eq", ("false",))] if table else []), False
    if isinstance(node, exp.Is) and isinstance(node.this, exp.Column):
        table = resolver.table_of(node.this)
        if table is None or not isinstance(node.expression, exp.Null):
            return ([] if table is None else None), False
        return [ColumnUse(table, normalize(node.this.name), "is_null")], False
    if isinstance(node, exp.Like) and isinstance(node.this, exp.Column):
        pattern = node.expression
        table = resolver.table_of(node.this)
        if (
            table is not None
            and isinstance(pattern, exp.Literal)
            and pattern.is_string
            and not pattern.this.startswith(("%", "_"))
        ):
            prefix = re.split(r"[%_]", pattern.this, maxsplit=1)[0]
            return [ColumnUse(table, normalize(node.this.name), "like", (prefix,))], False
        return None, False
    if isinstance(node, exp.In) and isinstance(node.this, exp.Column):
        table = resolver.table_of(node.this)
        if table is None:
            return [], False
        column = normalize(node.this.name)
        if node.args.get("query") is not None:
            return [ColumnUse(table, column, "join")], False
        values = [_literal_text(v) for v in node.expressions]
        if values and all(v is not None for v in values):
            date_like = any(
                isinstance(v, exp.Literal) and v.is_string and _DATE_LIKE_TEXT.match(v.this)
                for v in node.expressions
            )
            texts = tuple(v for v in values if v is not None)
            return [ColumnUse(table, column, "in", texts, date_like=date_like)], date_like
        return None, False
    if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
        table = resolver.table_of(node.this)
        if table is None:
            return [], False
        low, high = _bound_value(node.args["low"]), _bound_value(node.args["high"])
        column = normalize(node.this.name)
        texts = tuple(
            t for t in (_literal_text(node.args["low"]), _literal_text(node.args["high"])) if t
        )
        width = _width(low, high) if low is not None and high is not None else None
        if width is not None and not isinstance(low, datetime):
            width += 1  # BETWEEN two dates includes the last day
        strings = _date_strings(node.args["low"], node.args["high"])
        return [ColumnUse(table, column, "range", texts, width, strings)], strings
    if isinstance(node, _COMPARISONS):
        return _comparison(node, resolver, bounds)
    return None, False


def _bound_value(node: exp.Expr) -> date | datetime | None:
    """A typed date/timestamp literal's value, or a 'YYYY-MM-DD [HH:MM:SS]' string's."""
    value = date_literal(node)
    if value is None and isinstance(node, exp.Literal) and node.is_string:
        text = node.this
        try:
            if _DATE_TEXT.match(text):
                return date.fromisoformat(text)
            if _DATE_LIKE_TEXT.match(text):
                return datetime.fromisoformat(text)
        except ValueError:
            return None
    return value


def _date_strings(*nodes: exp.Expr) -> bool:
    return all(
        isinstance(n, exp.Literal) and n.is_string and _DATE_LIKE_TEXT.match(n.this) for n in nodes
    )


def _comparison(
    node: exp.Expr,
    resolver: Resolver,
    bounds: dict[tuple[TableName, str], list[_Bound]],
) -> tuple[list[ColumnUse] | None, bool]:
    left, right = node.this, node.expression
    kind: type[exp.Expr] = type(node)
    if isinstance(left, exp.Column) and isinstance(right, exp.Column):
        tables = [resolver.table_of(left), resolver.table_of(right)]
        if kind is not exp.EQ:
            return None, False
        return [
            ColumnUse(t, normalize(c.name), "join")
            for t, c in zip(tables, (left, right), strict=True)
            if t is not None
        ], False
    if _literal_text(left) is not None and _literal_text(right) is None:
        left, right, kind = right, left, _FLIP[kind]
    literal = _literal_text(right)
    if literal is None:
        return None, False
    if isinstance(left, exp.Column):
        table = resolver.table_of(left)
        if table is None:
            return [], False
        column = normalize(left.name)
        date_like = (
            isinstance(right, exp.Literal)
            and right.is_string
            and bool(_DATE_LIKE_TEXT.match(right.this))
        )
        if kind is exp.EQ:
            day = 1.0 if _bound_value(right) is not None else None
            return [
                ColumnUse(table, column, "eq", (literal,), width_days=day, date_like=date_like)
            ], date_like
        if kind is exp.NEQ:
            return [ColumnUse(table, column, "filter", (literal,), date_like=date_like)], date_like
        value = _bound_value(right)
        if value is not None:
            side = "lo" if kind in (exp.GT, exp.GTE) else "hi"
            bounds.setdefault((table, column), []).append(_Bound(side, value, literal, date_like))
            return [], False
        return [ColumnUse(table, column, "range", (literal,), date_like=date_like)], date_like
    operand = temporal_operand(left)
    if operand is None:
        return None, False
    transform, column_node = operand
    table = resolver.table_of(column_node)
    if table is None:
        return [], False
    column = normalize(column_node.name)
    if transform == "month" or kind is exp.NEQ:
        return [ColumnUse(table, column, "filter")], transform == "month"
    width: float | None
    if transform == "year":
        width = 366.0 if kind is exp.EQ else None
    elif transform == "date":
        width = 1.0 if kind is exp.EQ else None
    else:
        width = _UNIT_DAYS[transform.split(":", 1)[1]] if kind is exp.EQ else None
    return [ColumnUse(table, column, "range", width_days=width)], True
