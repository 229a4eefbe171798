"""Denormalisation: a fact table and the dimensions its queries join, stored as one table.

    survey      each query's joins: a table in FROM joined (INNER or LEFT) to another on one
                column each (``f.product_key = p.product_key``), with the other table's
                columns the query reads through the join; weighted by runs x time: the
                workload's join graph
    plan        per fact table, the edges worth merging: the other side is a dimension (its
                key unique by the statistics, its rows a small share of the fact's) and
                the queries reading the edge carry a share of the weight
    rewrite     every query that reads the fact, to read the wide table instead: each merged
                join dropped, the dimension's columns read from the wide table, an INNER
                join kept as ``<the dimension's key> IS NOT NULL`` (the row had a match)
    virtual     the workload as the engine then sees it: the wide table in the fact's place
                (its DDL and statistics made from the fact's and the dimensions'), the
                queries rewritten; the migrations and DDL that read the wide table as a
                source read its definition instead (`inline`)

The wide table holds every row of the fact exactly once: the fact LEFT JOIN each dimension
on its key, which is unique, so a fact row matches at most one dimension row. The
statistics only say that the key is unique; the definition proves it on the data each time
it is read: a dimension key that two rows share fails the statement (Trino's ``fail``), so
a migration can never fill the wide table with a fact row twice. A dimension row no fact
row matches is not in the wide table, and so the dimension keeps its own table for the
queries that read it alone.

A fact is merged only when every query that reads it can be rewritten (a ``SELECT *`` over
joins, a correlated reference to a dimension, a write to the fact refuse it); the fact's
own copy then goes: the wide table holds all of it. Only the dimension columns the queries
read are stored, so the table grows by what the queries need.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.catalog import Catalog, SourceTable, name_parts
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import TableName, identifier, normalize, trino_sql
from domain.analysis.parse import parse_statements, parse_trino
from domain.analysis.rollup import unique_name
from domain.statistics import ColumnStatistics, WorkloadStatistics
from domain.workload import DdlStatement, Workload

__all__ = [
    "Denormalized",
    "Edge",
    "Merge",
    "denormalize",
]

# An edge is merged when the queries it serves carry at least this share of the weight: those
# that read it and that no rollup or stored result answers (those read a few rows anyway).
MIN_WEIGHT_SHARE = 0.05
# A dimension column is stored with every fact row only when it has at most this many
# values: a dictionary of them encodes a row in a couple of bytes (and sorted, in less),
# where a name or an id per fact row costs more than the join it saves.
MAX_MERGED_DISTINCT = 2_048
# A dimension has at most this share of the fact's rows (else the join is between facts).
MAX_DIMENSION_SHARE = 0.05
# The statistics' distinct keys over rows that count a key as unique (their counts are
# sketches, a few percent off); the wide table's definition proves it on the data.
UNIQUE_SHARE = 0.95
# The fact has at least this many rows: below it, a join costs nothing worth a new table.
MIN_FACT_ROWS = 1_000_000
# Why an edge worth merging is not, by default: on the lab, the columns a star's fact stores
# per row cost more storage than the joins cost time (see the README).
OFF = (
    "worth merging, but denormalisation is off (options.denormalize): on the lab the "
    "dimension columns stored with every fact row cost more storage than the joins cost time"
)
COPIES = "_copies"  # the column counting a dimension key's rows in the definition


@dataclass(frozen=True, order=True)
class Edge:
    """A join from a fact's column to a dimension's key."""

    fact: TableName
    fact_column: str
    dimension: TableName
    key: str

    def describe(self) -> str:
        return f"{self.fact.table}.{self.fact_column} → {self.dimension.table}.{self.key}"


@dataclass(frozen=True)
class Link:
    """A merged edge: the wide table's name for each dimension column it stores."""

    edge: Edge
    alias: str  # the dimension's alias in the wide table's definition
    columns: Mapping[str, str]  # dimension column (normalized) → wide column
    found: str  # the wide column that is true where a dimension row matched


@dataclass(frozen=True)
class Merge:
    fact: TableName
    wide: TableName  # the name the engine sees it by, in the fact's schema
    fact_columns: tuple[str, ...]  # as the DDL wrote them (normalized)
    links: tuple[Link, ...]

    def link(self, dimension: TableName, fact_column: str, key: str) -> Link | None:
        for link in self.links:
            e = link.edge
            if e.dimension == dimension and e.fact_column == fact_column and e.key == key:
                return link
        return None

    def definition(self) -> exp.Select:
        """The wide table's rows, read from the sources: the fact LEFT JOIN its dimensions,
        each key proven unique (a shared key fails the statement)."""
        items: list[exp.Expr] = [_col("f", c) for c in self.fact_columns]
        select = exp.select(*items).from_(exp.alias_(self.fact.node(), "f", table=True))
        for link in self.links:
            e = link.edge
            inner = [_col(None, c) for c in dict.fromkeys([e.key, *link.columns])]
            counted = exp.select(
                *inner,
                exp.alias_(
                    exp.Window(
                        this=exp.Count(this=exp.Star()),
                        partition_by=[_col(None, e.key)],
                    ),
                    COPIES,
                ),
            ).from_(e.dimension.node())
            counted = counted.where(
                exp.Not(this=exp.Is(this=_col(None, e.key), expression=exp.Null()))
            )
            message = exp.Literal.string(
                f"{e.dimension.sql()}: key {e.key} is not unique; "
                f"{self.wide.table} needs one row per key"
            )
            guard = exp.If(
                this=exp.GT(this=_col(None, COPIES), expression=exp.Literal.number(1)),
                true=exp.Cast(
                    this=exp.Anonymous(this="fail", expressions=[message]),
                    to=exp.DataType.build("boolean"),
                ),
                false=exp.true(),
            )
            dimension = exp.select(*inner).from_(counted.subquery("counted")).where(guard)
            select = select.join(
                dimension.subquery(link.alias),
                on=exp.EQ(this=_col("f", e.fact_column), expression=_col(link.alias, e.key)),
                join_type="LEFT",
            )
            for column, wide in link.columns.items():
                select = select.select(exp.alias_(_col(link.alias, column), identifier(wide)))
            matched = exp.Not(this=exp.Is(this=_col(link.alias, e.key), expression=exp.Null()))
            select = select.select(exp.alias_(matched, identifier(link.found)))
        return select

    def definition_sql(self) -> str:
        return trino_sql(self.definition(), copy=False)


@dataclass(frozen=True)
class Denormalized:
    """The workload with its merges applied, and what the report says of the join graph."""

    workload: Workload
    statistics: WorkloadStatistics | None
    merges: tuple[Merge, ...] = ()
    issues: tuple[Issue, ...] = ()

    def inline(self, sql: str) -> str:
        """`sql` (DDL or a migration) reading each wide table from its definition."""
        if not self.merges or not any(m.wide.table in sql.lower() for m in self.merges):
            return sql
        try:
            trees = parse_trino(sql)
        except SqlglotError:
            return sql
        if len(trees) != 1 or trees[0] is None:
            return sql
        tree = trees[0]
        by_name = {m.wide: m for m in self.merges}
        changed = False
        for table in list(tree.find_all(exp.Table)):
            parts = name_parts(table)
            if parts is None or len(parts) != 3:
                continue
            merge = by_name.get(TableName.of(*parts))
            if merge is None:
                continue
            alias = table.alias or merge.wide.table
            table.replace(merge.definition().subquery(identifier(alias)))
            changed = True
        return trino_sql(tree, copy=False) if changed else sql

    def reads_wide(self, sql: str) -> bool:
        """Whether `sql` names a wide table by its source name (it must not reach a user)."""
        lowered = sql.lower()
        return any(m.wide.sql().lower() in lowered for m in self.merges)


def denormalize(
    workload: Workload,
    catalog: Catalog,
    statistics: WorkloadStatistics | None,
    served: Collection[str] | None = None,
    *,
    enabled: bool = True,
) -> Denormalized:
    """The merges worth making in `workload`, and the workload with them applied. `served`:
    the queryids a rollup or a stored result answers (their weight does not count), None
    where that is not known (every query counts). Not `enabled`, only the join graph and
    what would be merged (the option is off)."""
    unchanged = Denormalized(workload, statistics)
    if statistics is None or not catalog.tables:
        return unchanged
    graph: dict[Edge, _EdgeUse] = {}
    writes: set[TableName] = set()
    total = sum(q.weight for q in workload.queries) or 1.0
    for query in workload.queries:
        if " join " not in " ".join(query.query.lower().split()):
            continue
        tree = _parse(query.query)
        if tree is None:
            continue
        if not isinstance(tree, exp.Query):
            writes.update(_tables_of(tree, catalog))
            continue
        for use in _survey(tree, catalog):
            found = graph.setdefault(use.edge, _EdgeUse())
            found.weight += query.weight
            found.queryids.append(query.queryid)
            cheap = {c for c in use.columns if _few_values(statistics, use.edge.dimension, c)}
            found.columns.update(cheap)
            if served is not None and query.queryid in served:
                found.served += query.weight
            elif cheap == use.columns:
                found.gain += query.weight
            else:
                found.costly.update(use.columns - cheap)
    if not graph:
        return unchanged
    decisions: dict[Edge, str] = {}
    chosen: dict[TableName, list[Edge]] = defaultdict(list)
    for edge in sorted(graph, key=lambda e: (-graph[e].weight, e)):
        why = _refusal(edge, graph[edge], total, catalog, statistics, writes)
        if why is None and not enabled:
            why = OFF
        decisions[edge] = why or "merged"
        if why is None:
            chosen[edge.fact].append(edge)
    merges: list[Merge] = []
    taken = {n.table for n in catalog.tables}
    for fact, edges in chosen.items():
        merge = _merge(fact, edges, graph, catalog, taken)
        if merge is None:
            for edge in edges:
                decisions[edge] = "the fact has no typed columns in the DDL"
            continue
        taken.add(merge.wide.table)
        merges.append(merge)
    # Every query that reads a merged fact is rewritten, or the fact is not merged.
    texts: dict[int, str] = {}
    for merge in list(merges):
        refused = _rewrite_all(merge, workload, catalog, texts)
        if refused is not None:
            merges.remove(merge)
            for link in merge.links:
                decisions[link.edge] = (
                    f"query {refused} reads {merge.fact.table} in a way the rewrite refuses"
                )
    texts = {}
    for merge in merges:
        _rewrite_all(merge, workload, catalog, texts)
    issues = _issues(graph, decisions, merges, total, answered=served is not None)
    if not merges:
        return Denormalized(workload, statistics, (), tuple(issues))
    virtual = replace(
        workload,
        ddl=_virtual_ddl(workload.ddl, catalog, merges),
        queries=tuple(
            replace(q, query=texts[i]) if i in texts else q for i, q in enumerate(workload.queries)
        ),
    )
    statistics = _virtual_statistics(statistics, merges)
    return Denormalized(virtual, statistics, tuple(merges), tuple(issues))


# -- survey ---------------------------------------------------------------------------------


@dataclass
class _EdgeUse:
    weight: float = 0.0  # of every query reading the edge
    served: float = 0.0  # of those a rollup or a stored result answers
    gain: float = 0.0  # of the others, reading only columns with few values
    queryids: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # read, with few values
    costly: set[str] = field(default_factory=set)  # read, with many values


def _few_values(statistics: WorkloadStatistics, table: TableName, column: str) -> bool:
    found = statistics.table(table)
    stats = found.column(column) if found is not None else None
    return (
        stats is not None and stats.distinct is not None and stats.distinct <= MAX_MERGED_DISTINCT
    )


@dataclass(frozen=True)
class _Use:
    edge: Edge
    columns: frozenset[str]


def _parse(text: str) -> exp.Expr | None:
    """The one statement of `text`, or None (not read, or several: the engine reports it)."""
    statements, _ = parse_statements(text)
    return statements[0] if len(statements) == 1 else None


def _resolve(table: exp.Table, catalog: Catalog) -> TableName | None:
    parts = name_parts(table)
    if parts is None or not 1 <= len(parts) <= 3:
        return None
    name = catalog.session.resolve(parts)
    return name if name in catalog.tables else None


def _tables_of(tree: exp.Expr, catalog: Catalog) -> set[TableName]:
    return {n for t in tree.find_all(exp.Table) if (n := _resolve(t, catalog)) is not None}


def _columns_of(source: SourceTable) -> dict[str, int]:
    return {c.key: i for i, c in enumerate(source.columns)}


@dataclass
class _Scope:
    """One SELECT reading the fact as its FROM table, with the joins it may merge."""

    select: exp.Select
    fact: TableName
    fact_alias: str
    tables: dict[str, TableName]  # every plain table source of the SELECT, by alias
    mergeable: list[tuple[exp.Join, Edge, str]]  # (join, edge, the dimension's alias)


def _scopes(tree: exp.Expr, catalog: Catalog) -> list[_Scope]:
    scopes = []
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        first = source.this if isinstance(source, exp.From) else None
        if not isinstance(first, exp.Table):
            continue
        fact = _resolve(first, catalog)
        if fact is None:
            continue
        fact_alias = normalize(first.alias_or_name)
        tables = {fact_alias: fact}
        joins = list(select.args.get("joins") or ())
        outer = False
        for join in joins:
            if isinstance(join.this, exp.Table) and (name := _resolve(join.this, catalog)):
                tables[normalize(join.this.alias_or_name)] = name
            side = (join.args.get("side") or "").upper()
            if side in ("RIGHT", "FULL") or join.args.get("kind") in ("CROSS", "SEMI", "ANTI"):
                outer = True
            if join.args.get("using") or join.args.get("method"):
                outer = True  # USING and NATURAL match columns by name: renamed, they would not
        mergeable: list[tuple[exp.Join, Edge, str]] = []
        if not outer:
            for join in joins:
                edge = _edge(join, fact, fact_alias, catalog)
                if edge is not None:
                    mergeable.append((join, edge, normalize(join.this.alias_or_name)))
        scopes.append(_Scope(select, fact, fact_alias, tables, mergeable))
    return scopes


def _edge(join: exp.Join, fact: TableName, fact_alias: str, catalog: Catalog) -> Edge | None:
    if not isinstance(join.this, exp.Table) or join.args.get("using") or join.args.get("method"):
        return None
    side = (join.args.get("side") or "").upper()
    kind = (join.args.get("kind") or "").upper()
    if side not in ("", "LEFT") or kind not in ("", "INNER", "OUTER"):
        return None
    dimension = _resolve(join.this, catalog)
    if dimension is None or dimension == fact:
        return None
    alias = normalize(join.this.alias_or_name)
    on = join.args.get("on")
    if not isinstance(on, exp.EQ):
        return None
    left, right = on.this, on.expression
    if not (isinstance(left, exp.Column) and isinstance(right, exp.Column)):
        return None
    if left.args.get("db") or right.args.get("db"):
        return None
    sides = {
        normalize(left.table): normalize(left.name),
        normalize(right.table): normalize(right.name),
    }
    if set(sides) != {fact_alias, alias}:
        return None
    fact_column, key = sides[fact_alias], sides[alias]
    fact_source, dimension_source = catalog.tables[fact], catalog.tables[dimension]
    if fact_column not in _columns_of(fact_source) or key not in _columns_of(dimension_source):
        return None
    return Edge(fact, fact_column, dimension, key)


def _own_columns(select: exp.Select, skipped: Sequence[exp.Join] = ()) -> Iterable[exp.Column]:
    """The columns of `select` itself, not of the queries nested in it nor of `skipped`."""
    for column in select.find_all(exp.Column):
        if column.find_ancestor(exp.Select) is select:
            join = column.find_ancestor(exp.Join)
            if join is None or not any(join is s for s in skipped):
                yield column


def _survey(tree: exp.Query, catalog: Catalog) -> list[_Use]:
    uses = []
    for scope in _scopes(tree, catalog):
        for _join, edge, alias in scope.mergeable:
            names = _columns_of(catalog.tables[edge.dimension])
            columns = set()
            joins = [j for j, _, _ in scope.mergeable]
            for column in _own_columns(scope.select, joins):
                name = normalize(column.name)
                if name in names and (normalize(column.table) == alias or not column.table):
                    columns.add(name)
            uses.append(_Use(edge, frozenset(columns)))
    return uses


# -- plan -----------------------------------------------------------------------------------


def _refusal(
    edge: Edge,
    use: _EdgeUse,
    total: float,
    catalog: Catalog,
    statistics: WorkloadStatistics,
    writes: set[TableName],
) -> str | None:
    """Why `edge` is not merged, or None."""
    if edge.fact in writes or edge.dimension in writes:
        return "a statement of the workload writes to one of its tables"
    fact, dimension = statistics.table(edge.fact), statistics.table(edge.dimension)
    if fact is None or not fact.rows or dimension is None or not dimension.rows:
        return "no row counts were read for its tables"
    if fact.rows < MIN_FACT_ROWS:
        return f"{edge.fact.table} holds {fact.rows:,.0f} rows: the join costs little"
    if dimension.rows > MAX_DIMENSION_SHARE * fact.rows:
        return (
            f"{edge.dimension.table} holds {dimension.rows:,.0f} rows, more than "
            f"{MAX_DIMENSION_SHARE:.0%} of {edge.fact.table}'s: not a dimension"
        )
    key = dimension.column(edge.key)
    if key is None or key.distinct is None:
        return f"no distinct count was read for {edge.dimension.table}.{edge.key}"
    non_null = dimension.rows * (1 - (key.null_fraction or 0.0))
    if key.distinct < UNIQUE_SHARE * non_null:
        return (
            f"{edge.dimension.table}.{edge.key} is not unique "
            f"({key.distinct:,.0f} distinct values in {non_null:,.0f} rows)"
        )
    share = use.gain / total
    if share < MIN_WEIGHT_SHARE:
        parts = [f"the queries it would serve carry {share:.2%} of the weight"]
        if use.served:
            parts.append(f"rollups or stored results answer {use.served / total:.2%}")
        if use.costly:
            many = ", ".join(sorted(use.costly))
            parts.append(
                f"{many} ha{'s' if len(use.costly) == 1 else 've'} too many values to "
                "store with every fact row: those queries keep the join"
            )
        return "; ".join(parts)
    return None


def _merge(
    fact: TableName,
    edges: Sequence[Edge],
    graph: Mapping[Edge, _EdgeUse],
    catalog: Catalog,
    taken: set[str],
) -> Merge | None:
    source = catalog.tables[fact]
    if not source.typed or not source.columns:
        return None
    fact_columns = tuple(c.key for c in source.columns)
    used = set(fact_columns)
    per_dimension: dict[TableName, int] = defaultdict(int)
    for edge in edges:
        per_dimension[edge.dimension] += 1
    links = []
    for number, edge in enumerate(sorted(edges)):
        dimension = catalog.tables[edge.dimension]
        if not dimension.typed:
            continue
        prefix = edge.dimension.table
        if per_dimension[edge.dimension] > 1:
            prefix = f"{prefix}_{edge.fact_column}"
        order = [c.key for c in dimension.columns]
        columns = {}
        for column in (c for c in order if c in graph[edge].columns):
            name = unique_name(f"{prefix}_{column}", used)
            used.add(name)
            columns[column] = name
        found = unique_name(f"{prefix}_found", used)
        used.add(found)
        links.append(Link(edge, f"d{number}", columns, found))
    if not links:
        return None
    wide = TableName.of(fact.catalog, fact.schema, unique_name(f"{fact.table}_wide", taken))
    return Merge(fact, wide, fact_columns, tuple(links))


# -- rewrite --------------------------------------------------------------------------------


def _rewrite_all(
    merge: Merge,
    workload: Workload,
    catalog: Catalog,
    texts: dict[int, str],
) -> str | None:
    """Rewrite into `texts` every query that reads `merge.fact`; the queryid of one that
    cannot be, if any (then `texts` is left as it was)."""
    found: dict[int, str] = {}
    needle = merge.fact.table
    for index, query in enumerate(workload.queries):
        text = texts.get(index, query.query)
        if needle not in text.lower():
            continue
        tree = _parse(text)
        if tree is None:
            continue  # not parsed: the engine reports it and returns it unchanged
        if merge.fact not in _tables_of(tree, catalog):
            continue
        if not isinstance(tree, exp.Query):
            return query.queryid
        rewritten = _rewrite(tree, merge, catalog)
        if rewritten is None:
            return query.queryid
        found[index] = trino_sql(rewritten, copy=False)
    texts.update(found)
    return None


def _rewrite(tree: exp.Expr, merge: Merge, catalog: Catalog) -> exp.Expr | None:
    """`tree` reading the wide table in place of the fact, or None where it cannot."""
    if any(c.args.get("db") for c in tree.find_all(exp.Column)):
        return None  # a column named with its table's schema: the rename would lose it
    added = {w for link in merge.links for w in (*link.columns.values(), link.found)}
    for join in tree.find_all(exp.Join):
        if join.args.get("method"):
            return None  # NATURAL: the wide table's added columns would join too
        using = join.args.get("using") or ()
        if any(normalize(u.name) in added for u in using):
            return None
    for scope in [s for s in _scopes(tree, catalog) if s.fact == merge.fact]:
        if not _merge_scope(scope, merge, catalog):
            return None
    # The fact anywhere else (a join, a subquery): the wide table holds its rows and columns.
    for table in list(tree.find_all(exp.Table)):
        if _resolve(table, catalog) != merge.fact:
            continue
        select = table.find_ancestor(exp.Select)
        if select is not None and _star_over(select, table):
            return None
        alias = table.alias or table.name
        table.replace(exp.alias_(merge.wide.node(), identifier(alias), table=True))
    return tree


def _star_over(select: exp.Select, table: exp.Table) -> bool:
    """Whether `select` reads `*` or `table.*`: the wide table's would be more columns."""
    alias = normalize(table.alias_or_name)
    for item in select.expressions:
        if isinstance(item, exp.Star):
            return True
        if (
            isinstance(item, exp.Column)
            and isinstance(item.this, exp.Star)
            and normalize(item.table) == alias
        ):
            return True
    return False


def _merge_scope(scope: _Scope, merge: Merge, catalog: Catalog) -> bool:
    """Merge the joins of `scope` that `merge` holds; False where the rewrite cannot keep
    the query's rows."""
    select = scope.select
    joins = list(select.args.get("joins") or ())
    items: list[exp.Expr] = []
    for item in select.expressions:  # `*` over the fact alone: its own columns
        star = isinstance(item, exp.Star)
        if star and joins:
            return False
        if star or (
            isinstance(item, exp.Column)
            and isinstance(item.this, exp.Star)
            and normalize(item.table) == scope.fact_alias
        ):
            table = None if star else scope.fact_alias
            items.extend(_col(table, c) for c in merge.fact_columns)
        else:
            items.append(item)
    select.set("expressions", items)
    merged: dict[str, Link] = {}
    inner: list[Link] = []
    merged_joins: list[exp.Join] = []
    for join, edge, alias in scope.mergeable:
        link = merge.link(edge.dimension, edge.fact_column, edge.key)
        if link is None:
            continue
        if _referenced_inside(select, alias) or _star_of(select, alias):
            return False
        if not _reads_only(select, alias, link, catalog, join, scope):
            continue  # it reads a column the wide table does not hold: the join stays
        merged[alias] = link
        merged_joins.append(join)
        if (join.args.get("side") or "").upper() != "LEFT":
            inner.append(link)
    if not merged:
        return True
    outputs = {normalize(e.alias) for e in select.expressions if isinstance(e, exp.Alias)}
    others = [_columns_of(catalog.tables[t]) for a, t in scope.tables.items() if a not in merged]
    opaque = any(not isinstance(j.this, exp.Table) for j in joins)
    for column in list(_own_columns(select, merged_joins)):
        name = normalize(column.name)
        link = merged.get(normalize(column.table)) if column.table else None
        if link is None and not column.table:
            owners = [
                lk
                for lk in merged.values()
                if name in _columns_of(catalog.tables[lk.edge.dimension])
            ]
            if not owners or any(name in cols for cols in others):
                continue  # the fact's or another table's name
            if name in outputs:
                if column.find_ancestor(exp.Order) is not None:
                    continue  # ORDER BY reads the output of that name
                return False  # elsewhere the dimension's column: the output would shadow it
            if len(owners) != 1 or opaque:
                return False  # which table it names is not certain here
            link = owners[0]
        if link is None:
            continue
        wide = link.columns.get(name)
        if wide is None:
            return False
        replacement: exp.Expr = _col(scope.fact_alias, wide)
        if column.parent is select and column.arg_key == "expressions":
            # an output keeps its label: the dimension column's name
            replacement = exp.alias_(replacement, column.this.copy())
        column.replace(replacement)
    kept = [j for j in joins if not any(j is m for m in merged_joins)]
    select.set("joins", kept or None)
    for link in inner:  # an INNER join kept the fact rows that matched
        if _rejects_unmatched(select.args.get("where"), scope.fact_alias, link):
            continue
        marker = exp.EQ(this=_col(scope.fact_alias, link.found), expression=exp.true())
        where = select.args.get("where")
        condition = marker if where is None else exp.and_(exp.Paren(this=where.this), marker)
        select.set("where", exp.Where(this=condition))
    return True


# Predicates that are not true where their column is NULL (as every dimension column is in
# a fact row no dimension row matched).
_NULL_REJECTING = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Like,
)


def _rejects_unmatched(where: exp.Expr | None, alias: str, link: Link) -> bool:
    """Whether a conjunct of `where` already drops the fact rows `link` did not match: a
    comparison of one of its columns with constants is not true on NULL."""
    if not isinstance(where, exp.Where):
        return False
    wide = set(link.columns.values())
    for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        predicate = conjunct.unnest()
        if not isinstance(predicate, _NULL_REJECTING):
            continue
        column = predicate.this
        if not (
            isinstance(column, exp.Column)
            and normalize(column.table) == alias
            and normalize(column.name) in wide
        ):
            continue
        others = [v for k, v in predicate.args.items() if k != "this" and v is not None]
        values = [n for v in others for n in (v if isinstance(v, list) else [v])]
        if all(not any(True for _ in n.find_all(exp.Column)) for n in values):
            return True
    return False


def _reads_only(
    select: exp.Select, alias: str, link: Link, catalog: Catalog, join: exp.Join, scope: _Scope
) -> bool:
    """Whether the columns `select` reads through `alias` (but in its join's ON) are all in
    the wide table (an unqualified name counts where no other table of `scope` has it)."""
    names = _columns_of(catalog.tables[link.edge.dimension])
    others = [_columns_of(catalog.tables[t]) for a, t in scope.tables.items() if a != alias]
    for column in _own_columns(select, [join]):
        name = normalize(column.name)
        if name not in names or name in link.columns:
            continue
        if normalize(column.table) == alias or (
            not column.table and not any(name in o for o in others)
        ):
            return False
    return True


def _referenced_inside(select: exp.Select, alias: str) -> bool:
    """Whether a query nested in `select` reads `alias` (a correlated reference)."""
    for column in select.find_all(exp.Column):
        if normalize(column.table) == alias and column.find_ancestor(exp.Select) is not select:
            return True
    return False


def _star_of(select: exp.Select, alias: str) -> bool:
    return any(
        isinstance(c.this, exp.Star) and normalize(c.table) == alias
        for c in select.find_all(exp.Column)
    )


def _col(table: str | None, name: str) -> exp.Column:
    return exp.Column(this=identifier(name), table=identifier(table) if table is not None else None)


# -- the virtual workload -------------------------------------------------------------------


def _virtual_ddl(
    ddl: Sequence[DdlStatement], catalog: Catalog, merges: Sequence[Merge]
) -> tuple[DdlStatement, ...]:
    by_index: dict[int, list[Merge]] = defaultdict(list)
    for merge in merges:
        by_index[catalog.tables[merge.fact].ddl_index].append(merge)
    statements = []
    for index, statement in enumerate(ddl):
        found = by_index.get(index)
        if found is None:
            statements.append(statement)
            continue
        # the entry's other statements (a DDL entry may hold several) are kept as they are
        facts = {m.fact: m for m in found}
        parsed, _ = parse_statements(statement.statement)
        texts = []
        for tree in parsed:
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            name = _resolve(target, catalog) if isinstance(target, exp.Table) else None
            replaced = facts.get(name) if isinstance(tree, exp.Create) and name else None
            texts.append(_wide_ddl(replaced, catalog) if replaced else trino_sql(tree, copy=False))
        statements.append(DdlStatement(";\n".join(texts)))
    return tuple(statements)


def _wide_ddl(merge: Merge, catalog: Catalog) -> str:
    fact = catalog.tables[merge.fact]
    columns = [
        exp.ColumnDef(this=identifier(c.key), kind=c.data_type.copy() if c.data_type else None)
        for c in fact.columns
    ]
    for link in merge.links:
        dimension = catalog.tables[link.edge.dimension]
        types = {c.key: c.data_type for c in dimension.columns}
        for column, wide in link.columns.items():
            kind = types.get(column)
            columns.append(exp.ColumnDef(this=identifier(wide), kind=kind.copy() if kind else None))
        columns.append(
            exp.ColumnDef(this=identifier(link.found), kind=exp.DataType.build("boolean"))
        )
    create = exp.Create(
        this=exp.Schema(this=merge.wide.node(), expressions=columns),
        kind="TABLE",
    )
    return trino_sql(create, copy=False)


def _virtual_statistics(
    statistics: WorkloadStatistics | None, merges: Sequence[Merge]
) -> WorkloadStatistics | None:
    if statistics is None:
        return None
    tables = dict(statistics.tables)
    for merge in merges:
        fact = statistics.table(merge.fact)
        if fact is None:
            continue
        columns: dict[str, ColumnStatistics] = dict(fact.columns)
        for link in merge.links:
            dimension = statistics.table(link.edge.dimension)
            if dimension is None:
                continue
            for column, wide in link.columns.items():
                found = dimension.column(column)
                if found is not None:
                    columns[wide] = replace(found, data_bytes=None)
            columns[link.found] = ColumnStatistics(distinct=2, null_fraction=0.0)
        tables[merge.wide] = replace(fact, columns=columns, partitioning=(), sorted_by=())
    return replace(statistics, tables=tables)


# -- report ---------------------------------------------------------------------------------


def _issues(
    graph: Mapping[Edge, _EdgeUse],
    decisions: Mapping[Edge, str],
    merges: Sequence[Merge],
    total: float,
    *,
    answered: bool,
) -> list[Issue]:
    edges: list[dict[str, Any]] = []
    for edge in sorted(graph, key=lambda e: (-graph[e].weight, e)):
        entry: dict[str, Any] = {
            "join": edge.describe(),
            "weight_share": round(graph[edge].weight / total, 6),
            "queries": len(graph[edge].queryids),
            "merged": decisions[edge] == "merged",
            "why": decisions[edge],
        }
        if answered:  # the share of the weight rollups and stored results answer
            entry["answered_share"] = round(graph[edge].served / total, 6)
        edges.append(entry)
    issues = []
    for merge in merges:
        queryids = sorted({q for link in merge.links for q in graph[link.edge].queryids})
        joined = ", ".join(link.edge.dimension.table for link in merge.links)
        issues.append(
            Issue(
                code="denormalized",
                severity=Severity.INFO,
                title=f"{merge.fact.table} stored with the columns its queries read from {joined}",
                rationale=(
                    f"The queries join {merge.fact.table} to {joined} on their keys, unique by "
                    "the statistics: each fact row meets at most one row of each, so one table "
                    "holding the fact's rows with those columns answers them without the joins, "
                    "and its layout can follow the filters on the dimensions' columns."
                ),
                table=merge.wide.table,
                queryids=tuple(queryids),
                effect="the merged joins are read from one table; an INNER join becomes "
                "`<the dimension's key> IS NOT NULL`",
                risk=(
                    "the wide table is filled from the fact and the dimensions: after either "
                    "changes, re-run its migration; a dimension key shared by two rows fails the "
                    "migration instead of duplicating fact rows"
                ),
                details={
                    "fact": merge.fact.sql(),
                    "dimensions": [
                        {
                            "join": link.edge.describe(),
                            "columns": dict(link.columns),
                        }
                        for link in merge.links
                    ],
                    "definition": merge.definition_sql(),
                    "join_graph": edges,
                },
            )
        )
    unmerged = [e for e in edges if not e["merged"]]
    if unmerged:
        issues.append(
            Issue(
                code="joins_kept",
                severity=Severity.INFO,
                title=f"{len(unmerged)} joins of the workload kept as joins",
                rationale="; ".join(f"{e['join']}: {e['why']}" for e in unmerged[:12]),
                details={"join_graph": edges},
            )
        )
    return issues
