"""Pre-aggregation: answer the heaviest GROUP BY queries from small rollup tables.

Dashboards aggregate the same rows all day. A rollup holds one row per combination of the
dimensions those queries filter and group on, with the partial aggregates they ask for
(sums, counts, minima, maxima); a query that needs only those dimensions and those partial
aggregates is answered by re-aggregating the rollup, which is thousands of times smaller
than its source. This is what Druid and Pinot rollups, Kylin cubes and Calcite's lattices do;
the views are chosen greedily by benefit, as in Harinarayan, Rajaraman and Ullman's lattice
search, under a storage budget.

Three passes:

    recognize   each query on its own: is it an aggregate over a table (or a join) whose
                every non-aggregated column is a dimension, and every aggregate one we can
                rebuild exactly? If so, which dimensions (at which time grain) and which
                partial aggregates it needs — typed values, no tree kept.
    plan        per source (a table or an identical join), the rollups to build: a greedy
                lattice search over the queries' dimension sets, sized by the statistics
                where they were read and by stated assumptions where not.
    rewrite     each query a rollup answers, re-parsed and turned to read the rollup.

Exactness is the rule, not a goal: the rollup groups by exactly the columns (or the time
grain) every filter and grouping of its queries needs, so a filter on the rollup keeps the
same groups a filter on the source keeps rows; NULL groups are kept by GROUP BY. A time
column is kept truncated (``date_trunc('day', ts)``, same name, same type) only where every
use of it reads the same through the truncation: ``year(ts)``, ``date_trunc('month', ts)``,
``ts >= TIMESTAMP '2024-03-01 00:00:00'``, ``d BETWEEN DATE '2024-01-01' AND DATE
'2024-03-31'`` at a month grain. Aggregates are rebuilt as:

    count(*), count(x), count_if(c)   sum of the partial counts (0 where no row is left)
    sum(x), min(x), max(x)            sum, min, max of the partials
    avg(x)                            sum of sums over sum of counts, in avg's own type
    count(DISTINCT d), sum(DISTINCT d)…  the same over the dimension d
    agg(x) FILTER (WHERE c)           a partial aggregate computed with the same filter

Anything else (approx_distinct, array_agg, a window, a subquery…) keeps the query on the
base table.

>>> from domain.analysis.catalog import build_catalog
>>> from domain.analysis.parse import parse_ddl
>>> from domain.workload import DdlStatement
>>> catalog, _ = build_catalog(parse_ddl([DdlStatement(
...     "CREATE TABLE lake.s.sales (country varchar, day date, amount double)")]), "")
>>> found = recognize(_parse("SELECT country, sum(amount) FROM lake.s.sales "
...     "WHERE day >= DATE '2024-01-01' GROUP BY country"), catalog)
>>> sorted(d.column for d in found.dimensions), sorted(m.name for m in found.measures)
(['country', 'day'], ['sum'])
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlglot import exp

from domain.analysis.cardinality import HIGH_CARDINALITY, KEY_NAME, LOW_CARDINALITY
from domain.analysis.catalog import Catalog, SourceTable, column_types, name_parts
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import (
    TRINO,
    TableName,
    copy_tree,
    identifier_sql,
    normalize,
    trino_sql,
)
from domain.analysis.parse import parse_trino
from domain.analysis.usage import Nodes, date_literal, scan
from domain.statistics import WorkloadStatistics

__all__ = [
    "TRUNC_GRAINS",
    "AggregateQuery",
    "Dimension",
    "Measure",
    "Plan",
    "Rollup",
    "distinct_values",
    "guess_distinct",
    "may_be_answered",
    "plan_rollups",
    "recognize",
    "rewrite_for_rollup",
    "rollup_issues",
    "unique_name",
]

# Time grains a dimension can be kept at, by fineness; None (the raw value) is the finest.
_FINENESS = {None: 0, "hour": 1, "day": 2, "month": 3}

# Sizing. A rollup is worth building when its queries read far fewer rows from it than from
# its source (at most MAX_READ_SHARE of them) and it stores little: its values (rows times
# columns) at most MAX_SHARE of its source's, all rollups of a source together at most
# BUDGET_SHARE (storage counts in the score). Without statistics the source's size is
# unknown: a rollup is proposed only when its columns are known to hold few values
# (booleans, calendar grains, names that say "status" or "country") and it stays under
# ASSUMED_MAX_ROWS, and the report says so.
MAX_READ_SHARE = 0.1
MAX_SHARE = 0.05
BUDGET_SHARE = 0.08
MIN_SOURCE_ROWS = 200_000  # below this a scan costs little: nothing to gain worth the storage
ASSUMED_MAX_ROWS = 50_000
MAX_ROLLUPS_PER_SOURCE = 4
# Below this many rows a scan costs Trino about the same whatever the count: a second, smaller
# rollup for a query that a larger one already answers saves nothing.
SCAN_FLOOR_ROWS = 100_000
MEASURES_PER_ROLLUP = 3  # columns of partial aggregates a rollup is assumed to hold

_T = exp.DataType.Type
_TEMPORAL = {_T.DATE, _T.TIMESTAMP}
_INTEGERS = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT}
_CALENDAR_NAMES = {
    "year": 12,
    "quarter": 4,
    "month": 12,
    "week": 53,
    "day": 31,
    "dow": 7,
    "day_of_week": 7,
    "hour": 24,
    "yr": 12,
}

# Functions of a timestamp that depend only on its value truncated to a grain.
_MONTH_FUNCTIONS: tuple[type[exp.Expr], ...] = (exp.Year, exp.Quarter, exp.Month)
_DAY_FUNCTIONS: tuple[type[exp.Expr], ...] = (
    exp.Day,
    exp.DayOfMonth,
    exp.DayOfWeek,
    exp.DayOfWeekIso,
    exp.DayOfYear,
    exp.Week,
    exp.WeekOfYear,
    exp.Date,
    exp.TsOrDsToDate,
)
TRUNC_GRAINS = {
    "hour": "hour",
    "day": "day",
    "week": "day",
    "month": "month",
    "quarter": "month",
    "year": "month",
}
# Aggregates a rollup cannot rebuild, and functions whose value a migration cannot freeze.
_VOLATILE: tuple[type[exp.Expr], ...] = (
    exp.Rand,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.CurrentTime,
    exp.Uuid,
)


@dataclass(frozen=True, slots=True, order=True)
class Dimension:
    """A source column a query filters or groups on, at the coarsest grain its uses allow.

    `table` is the position of the column's table in the query's FROM clause; `grain` is
    None for the raw value, else the time grain the column may be truncated to.
    """

    table: int
    column: str
    grain: str | None = None

    def key(self) -> tuple[int, str]:
        return (self.table, self.column)


@dataclass(frozen=True, slots=True, order=True)
class Measure:
    """A partial aggregate: `name` over `argument` (canonical SQL; '' for count(*)),
    optionally under a FILTER condition (canonical SQL)."""

    name: str  # sum, count, min, max, count_if
    argument: str = ""
    filter: str = ""

    def sql(self) -> str:
        inner = self.argument or "*"
        text = f"{self.name}({inner})"
        return f"{text} FILTER (WHERE {self.filter})" if self.filter else text


@dataclass(frozen=True, slots=True)
class Source:
    """What a query aggregates: its tables in FROM order and the FROM clause with the
    aliases made canonical (``t0``, ``t1``…), so that two queries joining the same tables
    the same way share one source whatever aliases they wrote."""

    tables: tuple[TableName, ...]
    sql: str


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    """What a query needs from a rollup (see `recognize`)."""

    index: int
    queryid: str
    source: Source
    dimensions: frozenset[Dimension]
    measures: frozenset[Measure]
    runs: float = 1.0

    def answered_by(self, dimensions: Mapping[tuple[int, str], str | None]) -> bool:
        """Whether a rollup with these dimensions (key → grain) holds every one needed."""
        for need in self.dimensions:
            if need.key() not in dimensions:
                return False
            if _FINENESS[dimensions[need.key()]] > _FINENESS[need.grain]:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Rollup:
    """A rollup table: its name, what it groups by and holds, and the queries it answers."""

    name: TableName
    source: Source
    dimensions: tuple[Dimension, ...]
    measures: tuple[Measure, ...]
    queryids: tuple[str, ...]
    estimated_rows: float
    source_rows: float | None
    assumed: bool  # sized from names and types, not from statistics
    column_names: Mapping[tuple[int, str], str] = field(default_factory=dict)
    measure_names: Mapping[Measure, str] = field(default_factory=dict)

    def select_sql(self) -> str:
        """The rollup's rows, computed from the source tables."""
        items = [
            f"{_dimension_sql(d)} AS {identifier_sql(self.column_names[d.key()])}"
            for d in self.dimensions
        ]
        items += [f"{m.sql()} AS {identifier_sql(self.measure_names[m])}" for m in self.measures]
        groups = ", ".join(str(i + 1) for i in range(len(self.dimensions)))
        group_by = f" GROUP BY {groups}" if self.dimensions else ""
        return f"SELECT {', '.join(items)} {self.source.sql}{group_by}"

    def create_sql(self) -> str:
        # WITH NO DATA: Trino infers every column's type from the very query that fills it.
        return (
            f"CREATE TABLE {self.name.sql()} WITH (format = 'PARQUET', format_version = 2) "
            f"AS {self.select_sql()} WITH NO DATA"
        )

    def insert_sql(self) -> str:
        return f"INSERT INTO {self.name.sql()} {self.select_sql()}"


@dataclass(frozen=True, slots=True)
class Plan:
    """The rollups chosen, and which rollup answers which query (by position)."""

    rollups: tuple[Rollup, ...] = ()
    serving: Mapping[int, Rollup] = field(default_factory=dict)
    queryids: Mapping[int, str] = field(default_factory=dict)


def _parse(sql: str) -> exp.Expr:
    """One expression or statement the engine wrote (Trino SQL)."""
    parsed = parse_trino(sql)
    if len(parsed) != 1 or parsed[0] is None:
        raise ValueError(f"not one expression: {sql[:40]}")
    return parsed[0]


# -- recognize ----------------------------------------------------------------------------


def recognize(
    statement: exp.Expr,
    catalog: Catalog,
    *,
    index: int = 0,
    queryid: str = "",
    runs: float = 1.0,
    nodes: Nodes | None = None,
) -> AggregateQuery | None:
    """What `statement` needs from a rollup, or None when no rollup could answer it exactly.
    `nodes` are the statement's (`usage.scan`), when the caller scanned it already."""
    try:
        return _recognize(statement, catalog, index, queryid, runs, nodes)
    except _NotAnswerable:
        return None


class _NotAnswerable(Exception):
    """The query has a shape a rollup cannot answer exactly."""


@dataclass(slots=True)
class _Scope:
    """The tables of one query's FROM clause: aliases, sources, columns."""

    catalog: Catalog
    aliases: dict[str, int] = field(default_factory=dict)
    tables: list[SourceTable] = field(default_factory=list)
    columns: list[Mapping[str, exp.DataType | None]] = field(default_factory=list)

    def resolve(self, column: exp.Column) -> tuple[int, str]:
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            raise _NotAnswerable("a column named with its schema")
        name = normalize(column.name)
        qualifier = column.table
        if qualifier:
            position = self.aliases.get(normalize(qualifier))
            if position is None or name not in self.columns[position]:
                raise _NotAnswerable(f"unknown column {column.sql()}")
            return position, name
        owners = [i for i, cols in enumerate(self.columns) if name in cols]
        if len(owners) != 1:
            raise _NotAnswerable(f"column {name} is unknown or ambiguous")
        return owners[0], name

    def type_of(self, key: tuple[int, str]) -> exp.DataType | None:
        return self.columns[key[0]][key[1]]


def _recognize(
    statement: exp.Expr,
    catalog: Catalog,
    index: int,
    queryid: str,
    runs: float,
    nodes: Nodes | None,
) -> AggregateQuery | None:
    survey = _survey(statement, nodes)
    if survey is None:
        return None
    scope = _scope(survey, catalog)
    if scope is None:
        return None
    dimensions: dict[tuple[int, str], str | None] = {}
    measures: set[Measure] = set()
    for aggregate in survey.aggregates:
        measures.update(_measures(aggregate, scope, dimensions))
    for column in survey.columns:
        used = scope.resolve(column)
        _need(dimensions, used, _use_grain(column, scope.type_of(used)))
    return AggregateQuery(
        index=index,
        queryid=queryid,
        source=_source(survey.select, scope),
        dimensions=frozenset(Dimension(t, c, g) for (t, c), g in dimensions.items()),
        measures=frozenset(measures),
        runs=runs,
    )


# Words without one of which a query cannot aggregate: a test on the query's words spares
# the walk of its tree for the many that do not.
AGGREGATE_WORDS = frozenset(
    {"count", "sum", "avg", "min", "max", "count_if", "group", "filter", "countif"}
)


def might_aggregate(words: frozenset[str]) -> bool:
    """Whether a query with these (lower-case) words may be one `recognize` accepts."""
    return not AGGREGATE_WORDS.isdisjoint(words)


@dataclass(frozen=True, slots=True)
class _Survey:
    """One walk of a query: its outermost aggregates, the source columns outside them, and
    its tables."""

    select: exp.Select
    aggregates: tuple[exp.Expr, ...]
    columns: tuple[exp.Column, ...]
    tables: tuple[exp.Table, ...]


def _survey(statement: exp.Expr, nodes: Nodes | None = None) -> _Survey | None:
    """The aggregate query `statement` is, or None where no rollup could answer it.
    `nodes` are the statement's (`usage.scan`), when the caller has them."""
    if not isinstance(statement, exp.Select):
        return None
    for key in ("with", "distinct", "qualify", "laterals", "pivots", "windows"):
        if statement.args.get(key):
            return None
    group = statement.args.get("group")
    if group is not None and any(group.args.get(k) for k in ("grouping_sets", "cube", "rollup")):
        return None
    found = nodes if nodes is not None else scan(statement)
    if not found.aggregates or found.unrollable or found.set_operations:
        return None
    if len(found.selects) != 1 or any(isinstance(n, exp.Subquery) for n in found.tables):
        return None
    if any(not isinstance(star.parent, exp.Count) for star in found.stars):
        return None
    aggregates: list[exp.Expr] = []
    for call in found.aggregates:
        outer = call.parent if isinstance(call.parent, exp.Filter) else call
        if not any(isinstance(a, (exp.AggFunc, exp.Filter)) for a in _ancestors(outer)):
            aggregates.append(outer)
    outermost = {id(a) for a in aggregates}
    outputs = {normalize(s.alias) for s in statement.expressions if s.alias}
    kept = []
    for column in found.columns:
        clause = _clause(column, outermost)
        if clause is exp.AggFunc:
            continue  # an aggregate's argument
        if clause is exp.Join:
            continue  # part of the source itself: the rollup reads the same join
        if clause is exp.Order and not column.table and normalize(column.name) in outputs:
            continue  # an output name, not a source column
        kept.append(column)
    return _Survey(statement, tuple(aggregates), tuple(kept), tuple(found.tables))


def _clause(node: exp.Expr, aggregates: Collection[int]) -> type[exp.Expr] | None:
    """The clause of its query `node` is in, where it matters: one of `aggregates` (the ids
    of the outermost aggregate calls: `exp.AggFunc`), else a join or the ORDER BY."""
    clause: type[exp.Expr] | None = None
    parent = node.parent
    while parent is not None:
        if id(parent) in aggregates:
            return exp.AggFunc
        if clause is None and isinstance(parent, (exp.Join, exp.Order)):
            clause = type(parent)
        parent = parent.parent
    return clause


def _ancestors(node: exp.Expr) -> Iterable[exp.Expr]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _scope(survey: _Survey, catalog: Catalog) -> _Scope | None:
    statement = survey.select
    from_ = statement.args.get("from_") or statement.args.get("from")
    if from_ is None or not isinstance(from_.this, exp.Table):
        return None
    if any(t.args.get("sample") or t.args.get("version") for t in survey.tables):
        return None  # a sample's rows, or a past snapshot's: not what a rollup of the table holds
    tables = [from_.this]
    for join in statement.args.get("joins") or ():
        if not isinstance(join.this, exp.Table) or join.args.get("using"):
            return None
        if join.args.get("kind") in ("SEMI", "ANTI") or join.args.get("method"):
            return None
        tables.append(join.this)
    scope = _Scope(catalog)
    for position, table in enumerate(tables):
        parts = name_parts(table)
        if parts is None or table.args.get("joins"):
            return None
        source = catalog.get(catalog.session.resolve(parts))
        if source is None or not source.typed:
            return None
        alias = normalize(table.alias_or_name)
        if alias in scope.aliases:
            return None
        scope.aliases[alias] = position
        scope.tables.append(source)
        scope.columns.append(column_types(source))
    return scope


def _need(
    dimensions: dict[tuple[int, str], str | None], key: tuple[int, str], grain: str | None
) -> None:
    """Record a use of a dimension: the finest grain any use needs wins."""
    if key not in dimensions or _FINENESS[grain] < _FINENESS[dimensions[key]]:
        dimensions[key] = grain


def _measures(
    aggregate: exp.Expr, scope: _Scope, dimensions: dict[tuple[int, str], str | None]
) -> list[Measure]:
    """The partial aggregates one aggregate call needs (its DISTINCT arguments become raw
    dimensions instead)."""
    condition = ""
    call = aggregate
    if isinstance(aggregate, exp.Filter):
        call = aggregate.this
        where = aggregate.expression
        condition = _canonical(where.this if isinstance(where, exp.Where) else where, scope)
    argument = call.this
    if isinstance(argument, exp.Distinct):
        if condition or len(argument.expressions) != 1:
            raise _NotAnswerable("DISTINCT over several expressions or with a FILTER")
        if not isinstance(call, (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max)):
            raise _NotAnswerable(f"{call.key}(DISTINCT …)")
        for column in argument.find_all(exp.Column):
            _need(dimensions, scope.resolve(column), None)
        return []
    if isinstance(call, exp.Count):
        if isinstance(argument, exp.Star) or argument is None:
            return [Measure("count", "", condition)]
        return [Measure("count", _canonical(argument, scope), condition)]
    if isinstance(call, exp.CountIf):
        return [Measure("count_if", _canonical(argument, scope), condition)]
    if isinstance(call, (exp.Sum, exp.Min, exp.Max)) and not call.expressions:
        name = {exp.Sum: "sum", exp.Min: "min", exp.Max: "max"}[type(call)]
        return [Measure(name, _canonical(argument, scope), condition)]
    if isinstance(call, exp.Avg) and isinstance(argument, exp.Column):
        kind = scope.type_of(scope.resolve(argument))
        text = _canonical(argument, scope)
        if kind is None:
            raise _NotAnswerable("avg over a column of unknown type")
        if kind.this == _T.FLOAT:
            return [
                Measure("sum", f"CAST({text} AS DOUBLE)", condition),
                Measure("count", text, condition),
            ]
        if kind.this in (_T.DOUBLE, _T.DECIMAL) or kind.this in _INTEGERS:
            return [Measure("sum", text, condition), Measure("count", text, condition)]
    raise _NotAnswerable(f"aggregate {call.sql(dialect=TRINO)[:40]}")


def _canonical(node: exp.Expr, scope: _Scope) -> str:
    """`node` as SQL over the canonical aliases (``t0.col``); no aggregate, nothing volatile."""
    if isinstance(node, exp.Column):  # most arguments: no tree to copy and print
        position, name = scope.resolve(node)
        return f"t{position}.{identifier_sql(name)}"
    left, right = node.this, node.expression
    if (  # most join conditions: as printed below, the columns' comments dropped likewise
        type(node) is exp.EQ
        and isinstance(left, exp.Column)
        and isinstance(right, exp.Column)
        and not node.comments
    ):
        return f"{_canonical(left, scope)} = {_canonical(right, scope)}"
    copy = copy_tree(node)
    for inner in copy.walk():
        if isinstance(inner, (exp.AggFunc, exp.Window, *_VOLATILE)):
            raise _NotAnswerable("an aggregate argument the migration cannot compute once")
    columns = list(copy.find_all(exp.Column))
    for column in columns:
        position, name = scope.resolve(column)
        column.replace(exp.column(name, table=f"t{position}"))
    return trino_sql(copy, copy=False)


def _source(statement: exp.Select, scope: _Scope) -> Source:
    """The FROM clause over the source tables, with canonical aliases."""
    parts = [f"FROM {scope.tables[0].name.sql()} AS t0"]
    for position, join in enumerate(statement.args.get("joins") or (), start=1):
        side = join.args.get("side")
        kind = join.args.get("kind")
        words = " ".join(w for w in (side, kind) if w) or "INNER"
        on = join.args.get("on")
        text = f"{words} JOIN {scope.tables[position].name.sql()} AS t{position}"
        if on is not None:
            text += f" ON {_canonical(on, scope)}"
        parts.append(text)
    return Source(tuple(t.name for t in scope.tables), " ".join(parts))


def _use_grain(column: exp.Column, data_type: exp.DataType | None) -> str | None:
    """The coarsest grain at which this use of `column` reads the same (None: raw only)."""
    if data_type is None or data_type.this not in _TEMPORAL:
        return None
    is_date = data_type.this == _T.DATE
    node: exp.Expr = column
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    grain: str | None = None
    if isinstance(parent, (exp.TimestampTrunc, exp.DateTrunc)) and parent.this is node:
        unit = parent.args.get("unit")
        grain = TRUNC_GRAINS.get(unit.name.lower() if unit is not None else "")
    elif isinstance(parent, _MONTH_FUNCTIONS) and parent.this is node:
        grain = "month"
    elif isinstance(parent, exp.Hour) and parent.this is node:
        grain = "hour"
    elif (isinstance(parent, _DAY_FUNCTIONS) and parent.this is node) or (
        isinstance(parent, exp.Cast) and parent.this is node and parent.to.this == _T.DATE
    ):
        grain = "day"
    elif isinstance(parent, (exp.GTE, exp.GT, exp.LT, exp.LTE)):
        grain = _comparison_grain(parent, node, is_date)
    elif isinstance(parent, exp.Between) and parent.this is node:
        low = _aligned(date_literal(parent.args["low"]), is_date, inclusive_upper=False)
        high = _aligned(date_literal(parent.args["high"]), is_date, inclusive_upper=True)
        grain = low if _FINENESS[low] < _FINENESS[high] else high
    if grain is None:
        return None
    if is_date and grain in ("hour", "day"):
        return None  # a date is its own day
    return grain


def _comparison_grain(comparison: exp.Expr, node: exp.Expr, is_date: bool) -> str | None:
    left, right = comparison.this, comparison.expression
    if left is node:
        operator, literal = type(comparison), right
    elif right is node:  # `lit < col` reads as `col > lit`
        flipped: dict[type[exp.Expr], type[exp.Expr]] = {
            exp.GT: exp.LT,
            exp.LT: exp.GT,
            exp.GTE: exp.LTE,
            exp.LTE: exp.GTE,
        }
        operator, literal = flipped[type(comparison)], left
    else:
        return None
    value = date_literal(literal)
    # col >= v and col < v hold for a truncated value iff v starts a grain period; col <= v
    # and col > v iff the day after v does (only for dates: a timestamp's last instant
    # before a boundary depends on its precision).
    inclusive_upper = operator in (exp.LTE, exp.GT)
    return _aligned(value, is_date, inclusive_upper=inclusive_upper)


def _aligned(value: date | datetime | None, is_date: bool, *, inclusive_upper: bool) -> str | None:
    """The coarsest grain `value` is a boundary of (the day after it, for `<=` and `>`)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if is_date or inclusive_upper:
            return None
        if value.time() == datetime.min.time():
            return "month" if value.day == 1 else "day"
        if value.minute == 0 and value.second == 0 and value.microsecond == 0:
            return "hour"
        return None
    if inclusive_upper:
        if not is_date:
            return None
        value = value + timedelta(days=1)
    return "month" if value.day == 1 else "day"


def _dimension_sql(dimension: Dimension) -> str:
    column = f"t{dimension.table}.{identifier_sql(dimension.column)}"
    if dimension.grain is None:
        return column
    return f"date_trunc('{dimension.grain}', {column})"


# -- plan ----------------------------------------------------------------------------------


def plan_rollups(
    found: Sequence[AggregateQuery],
    catalog: Catalog,
    *,
    catalog_name: str,
    schema: str,
    taken: Iterable[TableName] = (),
    statistics: WorkloadStatistics | None = None,
) -> Plan:
    """The rollups worth building for the aggregate queries `found`, and what each answers.

    Per source, a greedy lattice search: the candidate views are the dimension sets of the
    queries and their pairwise unions; each round takes the view that saves the most rows
    read, weighted by how often its queries run, among those that fit what is left of the
    budget; a query is answered by the smallest chosen view that holds its dimensions.
    """
    by_source: dict[Source, list[AggregateQuery]] = defaultdict(list)
    for query in found:
        by_source[query.source].append(query)
    names = {t.table for t in taken if t.catalog == catalog_name and t.schema == schema}
    rollups: list[Rollup] = []
    serving: dict[int, Rollup] = {}
    for source, queries in by_source.items():
        sizer = _Sizer(source, catalog, statistics)
        for dimensions, served in _choose(queries, sizer):
            measures = sorted({m for q in served for m in q.measures})
            base = source.tables[0].table
            name = unique_name(f"{base}_rollup", names)
            names.add(name)
            ordered = tuple(sorted(Dimension(t, c, g) for (t, c), g in dimensions.items()))
            rollup = Rollup(
                name=TableName(catalog_name, schema, name),
                source=source,
                dimensions=ordered,
                measures=tuple(measures),
                queryids=tuple(q.queryid for q in served),
                estimated_rows=sizer.rows_of(dimensions),
                source_rows=sizer.source_rows,
                assumed=sizer.assumed,
                column_names=_column_names(ordered, source, catalog),
                measure_names=_measure_names(measures, ordered),
            )
            rollups.append(rollup)
            for query in served:
                serving[query.index] = rollup
    return Plan(tuple(rollups), serving, {q.index: q.queryid for q in found})


def may_be_answered(
    query: AggregateQuery, catalog: Catalog, statistics: WorkloadStatistics | None
) -> bool:
    """Whether `plan_rollups` may find a rollup for `query`: the view of just its own
    dimensions fits (see `_Sizer.fits`). A rollup answering it holds those dimensions at
    the same or a finer grain, perhaps more: as many rows or more, and more columns, so when
    that view does not fit, none does. A necessary condition only: it tells which queries'
    trees are worth keeping for `rewrite_for_rollup`."""
    sizer = _Sizer(query.source, catalog, statistics)
    view = {d.key(): d.grain for d in query.dimensions}
    return sizer.fits(sizer.rows_of(view), len(view))


@dataclass(slots=True)
class _Sizer:
    """Rows of a rollup over one source: from statistics where read, else from names."""

    source: Source
    catalog: Catalog
    statistics: WorkloadStatistics | None
    source_rows: float | None = None
    assumed: bool = True

    source_width: int = 1
    # distinct values by (column, grain): a pure function of them, asked again for each view
    _distinct: dict[tuple[tuple[int, str], str | None], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        widths = [len(t.columns) for n in self.source.tables if (t := self.catalog.get(n))]
        self.source_width = max(widths, default=1)
        if self.statistics is None:
            return
        rows = [s.rows for t in self.source.tables if (s := self.statistics.table(t)) and s.rows]
        if len(rows) == len(self.source.tables):
            self.source_rows = max(rows)
            self.assumed = False

    def values(self, rows: float, dimensions: int) -> float:
        """Values a rollup of `rows` rows over `dimensions` columns stores."""
        return rows * (dimensions + MEASURES_PER_ROLLUP)

    def distinct(self, key: tuple[int, str], grain: str | None) -> float:
        found = self._distinct.get((key, grain))
        if found is None:
            found = self._distinct[key, grain] = self._count_distinct(key, grain)
        return found

    def _count_distinct(self, key: tuple[int, str], grain: str | None) -> float:
        statistics = None if self.assumed else self.statistics
        return distinct_values(self.catalog, statistics, self.source.tables[key[0]], key[1], grain)

    def rows_of(self, dimensions: Mapping[tuple[int, str], str | None]) -> float:
        cells = 1.0
        for key, grain in dimensions.items():
            cells *= self.distinct(key, grain)
            if math.isinf(cells):
                return math.inf
        if self.source_rows is None:
            return cells
        rows = self.source_rows
        # Cardenas: the expected number of cells that n rows, spread over them, fill.
        return cells * -math.expm1(-rows / cells) if cells > 0 else 0.0

    def fits(self, rows: float, dimensions: int) -> bool:
        if math.isinf(rows):
            return False
        if self.source_rows is None:
            return rows <= ASSUMED_MAX_ROWS
        return (
            self.source_rows >= MIN_SOURCE_ROWS
            and rows <= MAX_READ_SHARE * self.source_rows
            and self.values(rows, dimensions) <= MAX_SHARE * self.source_rows * self.source_width
        )

    def budget(self) -> float:
        """The values all rollups of the source may store together."""
        if self.source_rows is None:
            return self.values(ASSUMED_MAX_ROWS * 2, 4)
        return BUDGET_SHARE * self.source_rows * self.source_width


def distinct_values(
    catalog: Catalog,
    statistics: WorkloadStatistics | None,
    table: TableName,
    column: str,
    grain: str | None = None,
) -> float:
    """Distinct values of `column` of `table` (truncated to `grain`, when given): from the
    statistics where they were read (NULL counting as one value), else assumed from the
    column's name and type (see `guess_distinct`); math.inf where nothing bounds them."""
    data_type = _column_type(catalog, table, column)
    stats = statistics.table(table) if statistics is not None else None
    column_stats = stats.column(column) if stats is not None else None
    if column_stats is not None and column_stats.distinct is not None:
        distinct = column_stats.distinct + (1 if column_stats.null_fraction else 0)
        span = column_stats.span_days
        if grain is not None and span is not None:
            per_day = {"hour": 24.0, "day": 1.0, "month": 1 / 30.4}[grain]
            distinct = min(distinct, span * per_day + 1)
        return max(distinct, 1.0)
    return guess_distinct(column, data_type, grain)


def _column_type(catalog: Catalog, table: TableName, column: str) -> exp.DataType | None:
    source = catalog.get(table)
    return column_types(source).get(column) if source is not None else None


def guess_distinct(column: str, data_type: exp.DataType | None, grain: str | None) -> float:
    """Distinct values assumed from a column's type and name (3 years of data assumed)."""
    kind = data_type.this if data_type is not None else None
    if kind == _T.BOOLEAN:
        return 3.0
    if kind in _TEMPORAL:
        return {
            None: 1_100.0 if kind == _T.DATE else math.inf,
            "hour": 26_400.0,
            "day": 1_100.0,
            "month": 36.0,
        }[grain]
    if KEY_NAME.search(column) or HIGH_CARDINALITY.search(column):
        return math.inf
    if kind in _INTEGERS and column in _CALENDAR_NAMES:
        return float(_CALENDAR_NAMES[column])
    if kind in (_T.VARCHAR, _T.CHAR) or kind in _INTEGERS:
        return 50.0 if LOW_CARDINALITY.search(column) else math.inf
    return math.inf


def _choose(
    queries: Sequence[AggregateQuery], sizer: _Sizer
) -> list[tuple[dict[tuple[int, str], str | None], list[AggregateQuery]]]:
    """Greedy view selection over the queries' dimension lattice (see `plan_rollups`)."""
    candidates: dict[
        frozenset[tuple[tuple[int, str], str | None]], dict[tuple[int, str], str | None]
    ] = {}

    def add(view: dict[tuple[int, str], str | None]) -> None:
        rows = sizer.rows_of(view)
        if sizer.fits(rows, len(view)):
            candidates.setdefault(frozenset(view.items()), view)

    views = [{d.key(): d.grain for d in q.dimensions} for q in queries]
    for view in views:
        add(view)
    for first, seconds in _distinct_pairs(views):
        for second in seconds:
            add(_union(first, second))
    if views:
        merged: dict[tuple[int, str], str | None] = {}
        for view in views:
            merged = _union(merged, view)
        add(merged)

    source_rows = sizer.source_rows or ASSUMED_MAX_ROWS * 100.0
    cost = {q.index: source_rows for q in queries}
    chosen: list[tuple[dict[tuple[int, str], str | None], float]] = []
    left = sizer.budget()
    while len(chosen) < MAX_ROLLUPS_PER_SOURCE:
        best: tuple[float, float, dict[tuple[int, str], str | None]] | None = None
        for view in candidates.values():
            rows = sizer.rows_of(view)
            if sizer.values(rows, len(view)) > left or any(view == c for c, _ in chosen):
                continue
            scanned = max(rows, SCAN_FLOOR_ROWS)
            benefit = sum(
                q.runs * max(cost[q.index] - scanned, 0.0) for q in queries if q.answered_by(view)
            )
            if benefit > 0 and (best is None or (benefit, -rows) > (best[0], -best[1])):
                best = (benefit, rows, view)
        if best is None:
            break
        _, rows, view = best
        chosen.append((view, rows))
        left -= sizer.values(rows, len(view))
        for query in queries:
            if query.answered_by(view):
                cost[query.index] = min(cost[query.index], max(rows, SCAN_FLOOR_ROWS))

    result = []
    for view, rows in chosen:
        served = [q for q in queries if _first_smallest(q, view, rows, chosen)]
        if served:
            result.append((view, served))
    return result


View = dict[tuple[int, str], str | None]


def _distinct_pairs(views: Sequence[View]) -> Iterator[tuple[View, list[View]]]:
    """The pairs (views[i], views[j]), i < j, in the order of two nested loops over `views`,
    less every pair equal item for item, in order, to one before it: its union is one added
    already. A row is a first view and the views to pair it with.

    The queries of a source ask for few distinct views, many times over; all the pairs of
    their views would make the search quadratic in the queries. Each first view stands for
    the first row it heads (a row headed by an equal view, later, holds only pairs met
    already), paired with the first view of each kind after it, in their order.
    """
    positions: dict[tuple[tuple[tuple[int, str], str | None], ...], list[int]] = {}
    for index, view in enumerate(views):
        positions.setdefault(tuple(view.items()), []).append(index)
    for where in positions.values():  # in the order of their first position
        first = where[0]
        after = []
        for others in positions.values():
            next_one = bisect_right(others, first)
            if next_one < len(others):
                after.append(others[next_one])
        yield views[first], [views[j] for j in sorted(after)]


def _first_smallest(
    query: AggregateQuery,
    view: dict[tuple[int, str], str | None],
    rows: float,
    chosen: Sequence[tuple[dict[tuple[int, str], str | None], float]],
) -> bool:
    """Whether `view` is the smallest chosen view that answers `query` (the first of equals)."""
    answering = [(r, i) for i, (v, r) in enumerate(chosen) if query.answered_by(v)]
    if not answering:
        return False
    _, first = min(answering)
    return chosen[first][0] is view


def _union(
    first: Mapping[tuple[int, str], str | None], second: Mapping[tuple[int, str], str | None]
) -> dict[tuple[int, str], str | None]:
    merged = dict(first)
    for key, grain in second.items():
        if key not in merged or _FINENESS[grain] < _FINENESS[merged[key]]:
            merged[key] = grain
    return merged


def unique_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name_2`, `name_3`… the first that is not in `taken`."""
    if name not in taken:
        return name
    number = 2
    while f"{name}_{number}" in taken:
        number += 1
    return f"{name}_{number}"


def _column_names(
    dimensions: Sequence[Dimension], source: Source, catalog: Catalog
) -> dict[tuple[int, str], str]:
    """A dimension keeps its column's name; where two tables share one, the table prefixes it."""
    counts: dict[str, int] = defaultdict(int)
    for dimension in dimensions:
        counts[dimension.column] += 1
    names: dict[tuple[int, str], str] = {}
    for dimension in dimensions:
        name = dimension.column
        if counts[name] > 1:
            name = f"{source.tables[dimension.table].table}_{name}"
        names[dimension.key()] = unique_name(name, set(names.values()))
    return names


def _measure_names(
    measures: Sequence[Measure], dimensions: Sequence[Dimension]
) -> dict[Measure, str]:
    taken = {d.column for d in dimensions}
    names: dict[Measure, str] = {}
    for number, measure in enumerate(measures, start=1):
        argument = measure.argument
        if not argument:
            stem = "row_count"
        elif (
            argument.startswith("t")
            and "." in argument
            and argument.split(".", 1)[1].isidentifier()
        ):
            stem = f"{measure.name}_{argument.split('.', 1)[1]}"
        else:
            stem = f"{measure.name}_{number}"
        if measure.filter:
            stem = f"{stem}_if_{number}"
        name = unique_name(stem, taken)
        taken.add(name)
        names[measure] = name
    return names


# -- rewrite -------------------------------------------------------------------------------


def rewrite_for_rollup(
    statement: exp.Expr, rollup: Rollup, catalog: Catalog, nodes: Nodes | None = None
) -> exp.Select:
    """`statement` (one `recognize` accepted) reading `rollup` instead of its source, as a
    tree: the caller prints it (`trino_sql`), with the others, after all are rewritten.

    The tree is rewritten in place: the caller parses it for this. Raises ValueError when it
    cannot: the caller then keeps the query on the base table. `nodes` are the statement's
    (`usage.scan`), when the caller has them and nothing changed it since.
    """
    survey = _survey(statement, nodes)
    scope = _scope(survey, catalog) if survey is not None else None
    if survey is None or scope is None:
        raise ValueError("the rollup cannot answer this query")
    tree = survey.select
    grouped = bool(tree.args.get("group"))
    try:
        renames = [(c, rollup.column_names[scope.resolve(c)]) for c in survey.columns]
        replacements = [(a, _reaggregate(a, scope, rollup, grouped)) for a in survey.aggregates]
    except (_NotAnswerable, KeyError) as error:
        raise ValueError(f"the rollup cannot answer it: {error}") from error
    # A bare column keeps its output name even where the rollup renamed it.
    bare = {
        position: copy_tree(item.args["this"])
        for position, item in enumerate(tree.expressions)
        if isinstance(item, exp.Column)
    }
    for column, new in renames:
        column.replace(_rollup_column(new))
    for position, identifier in bare.items():
        item = tree.expressions[position]
        if isinstance(item, exp.Column) and normalize(item.name) != normalize(identifier.name):
            item.replace(exp.alias_(copy_tree(item), identifier))
    for aggregate, replacement in replacements:
        aggregate.replace(replacement)
    tree.set("joins", None)
    table = rollup.name.node()
    table.set("alias", exp.to_identifier("r"))  # as `.as_("r")` sets it
    tree.set("from_", exp.From(this=table))
    return tree


def _rollup_column(name: str) -> exp.Column:
    return exp.column(
        exp.to_identifier(name, quoted=not name.isidentifier() or name != name.lower()),
        table="r",
        copy=False,
    )


def _reaggregate(aggregate: exp.Expr, scope: _Scope, rollup: Rollup, grouped: bool) -> exp.Expr:
    dims: dict[tuple[int, str], str | None] = {}
    measures = _measures(aggregate, scope, dims)
    call = aggregate.this if isinstance(aggregate, exp.Filter) else aggregate
    if not measures:  # DISTINCT over dimensions: the same call over the rollup's columns
        copy = copy_tree(call)
        for column in list(copy.find_all(exp.Column)):
            column.replace(_rollup_column(rollup.column_names[scope.resolve(column)]))
        return copy

    def partial(measure: Measure) -> str:
        return f"r.{identifier_sql(rollup.measure_names[measure])}"

    if isinstance(call, (exp.Count, exp.CountIf)):
        text = f"sum({partial(measures[0])})"
        text = text if grouped else f"coalesce({text}, 0)"
    elif isinstance(call, exp.Sum):
        text = f"sum({partial(measures[0])})"
    elif isinstance(call, exp.Min):
        text = f"min({partial(measures[0])})"
    elif isinstance(call, exp.Max):
        text = f"max({partial(measures[0])})"
    else:  # avg, in avg's own result type
        kind = scope.type_of(scope.resolve(call.this))
        assert kind is not None
        total, count = partial(measures[0]), partial(measures[1])
        if kind.this in _INTEGERS:
            text = f"CAST(sum({total}) AS DOUBLE) / sum({count})"
        elif kind.this == _T.FLOAT:
            text = f"CAST(sum({total}) / sum({count}) AS REAL)"
        elif kind.this == _T.DECIMAL:
            text = f"CAST(sum({total}) / sum({count}) AS {trino_sql(kind)})"
        else:
            text = f"sum({total}) / sum({count})"
    return exp.paren(_reparsed(text)) if "/" in text else _reparsed(text)


# The re-aggregates written above, parsed once each: a copy costs a third of a parse, and the
# queries of a rollup re-aggregate the same few partial aggregates.
_REAGGREGATES: dict[str, exp.Expr] = {}


def _reparsed(text: str) -> exp.Expr:
    """`_parse(text)`, as a copy of the tree parsed the first time (without the positions in
    that text: see `copy_tree`)."""
    parsed = _REAGGREGATES.get(text)
    if parsed is None:
        if len(_REAGGREGATES) > 4096:
            _REAGGREGATES.clear()
        parsed = _REAGGREGATES[text] = copy_tree(_parse(text))
    return parsed.copy()


# -- report --------------------------------------------------------------------------------


def rollup_issues(plan: Plan) -> list[Issue]:
    """A finding per rollup: what it holds, which queries it answers, how it was sized."""
    issues: list[Issue] = []
    for rollup in plan.rollups:
        dims = [
            rollup.column_names[d.key()] + (f" (by {d.grain})" if d.grain else "")
            for d in rollup.dimensions
        ]
        sized = (
            "assumed from the columns' names and types (no statistics were read)"
            if rollup.assumed
            else f"from the statistics: {rollup.source_rows:,.0f} source rows"
        )
        share = ""
        if rollup.source_rows:
            share = f", {rollup.estimated_rows / rollup.source_rows:.2%} of the source"
        issues.append(
            Issue(
                code="pre_aggregated",
                severity=Severity.INFO,
                title=f"{len(rollup.queryids)} aggregate queries answered from a rollup "
                f"of {', '.join(sorted({t.table for t in rollup.source.tables}))}",
                rationale=f"These queries group and filter only on {', '.join(dims) or 'nothing'};"
                f" {rollup.name.sql()} holds one row per combination "
                f"(about {rollup.estimated_rows:,.0f} rows{share}, sized {sized}) with the "
                "partial aggregates they re-aggregate exactly.",
                table=rollup.name.sql(),
                queryids=rollup.queryids,
                effect="each answered query reads the rollup instead of every source row",
                risk="the rollup is a table filled by the migration: re-run its INSERT "
                "(after DELETE FROM it) whenever the source changes, or the answers go stale",
                details={
                    "rollup": rollup.name.sql(),
                    "dimensions": dims,
                    "measures": [m.sql() for m in rollup.measures],
                    "estimated_rows": round(rollup.estimated_rows),
                    "source_rows": rollup.source_rows,
                    "sized_from": "assumptions" if rollup.assumed else "statistics",
                    "refresh": f"DELETE FROM {rollup.name.sql()}; {rollup.insert_sql()}",
                },
            )
        )
    return issues


def rollup_estimates(plan: Plan) -> dict[str, Any]:
    """What the rollups are expected to cost and save: rows held against rows read today."""
    if not plan.rollups:
        return {}
    return {
        "method": "rows per rollup from the product of its dimensions' distinct values "
        "(statistics, else assumed from names and types), bounded by the rows its source "
        "can fill (Cardenas); an answered query reads the rollup instead of its source",
        "freshness": "rollups are tables the migrations fill once; re-run each one's refresh "
        "(in its finding) after the source changes. Trino's Iceberg materialized views were "
        "measured in the lab: without a GRACE PERIOD a stale view serves its stored rows, "
        "and with GRACE PERIOD 0 a stale one recomputes from the source (correct but slow) — "
        "and not every Iceberg catalog supports them, so plain tables are proposed",
        "rollups": [
            {
                "table": r.name.sql(),
                "queryids": list(r.queryids),
                "estimated_rows": round(r.estimated_rows),
                "source_rows": r.source_rows,
                "read_share": (
                    round(r.estimated_rows / r.source_rows, 6) if r.source_rows else None
                ),
                "sized_from": "assumptions" if r.assumed else "statistics",
            }
            for r in plan.rollups
        ],
    }


def with_serving(plan: Plan, answered: Collection[int]) -> Plan:
    """`plan` keeping only the queries in `answered` (by position) and the rollups that
    answer at least one of them."""
    serving = {i: r for i, r in plan.serving.items() if i in answered}
    rollups = []
    renamed: dict[TableName, Rollup] = {}
    answering: dict[TableName, set[str]] = defaultdict(set)
    for index, rollup in serving.items():
        answering[rollup.name].add(plan.queryids[index])
    for rollup in plan.rollups:
        ids = answering.get(rollup.name)
        if ids:
            kept = replace(rollup, queryids=tuple(q for q in rollup.queryids if q in ids))
            rollups.append(kept)
            renamed[rollup.name] = kept
    return replace(
        plan,
        rollups=tuple(rollups),
        serving={i: renamed[r.name] for i, r in serving.items()},
    )
