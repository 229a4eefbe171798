"""Materialized results: the heaviest dashboard queries no rollup answers, stored whole.

A dashboard tile runs the same text all day: the same filters, the same literal dates, the
same groups. Where a rollup answers it (see `rollup`), the rollup serves every range and
grouping of its dimensions. Some cannot be rolled up exactly — ``count(DISTINCT user_id)``
over a week, a funnel of sessions, a join of two large tables — and would otherwise scan
their sources on every run. What a data team does for those tiles (a dbt model, a Looker
persistent derived table, BigQuery's materialized views) is to store the query's result in a
table refreshed when the data changes: a run then reads a few rows. This pass proposes that,
for the few queries that carry the most weight:

    choose      the reading queries whose text repeats (at least MIN_RUNS runs), that
                aggregate at their top level (GROUP BY, an aggregate, DISTINCT), that carry at
                least MIN_SHARE of the workload's weight or MIN_RUNS_SHARE of its runs, and
                that no rollup answers; at most MAX_RESULTS of them, heaviest first;
    check       each one: deterministic (no clock, no random, no order-dependent aggregate),
                every table it reads defined by the DDL, its output columns named once and of
                types Iceberg stores, its ORDER BY expressible over its output columns, a
                LIMIT only under an ORDER BY; and its rows few — at most MAX_RESULT_ROWS and,
                with statistics, at most a hundredth of its largest table's rows
                (the product of its groups' distinct values, bounded by its LIMIT);
    build       a table per query text, created from the query itself (``CREATE TABLE … AS
                <query> WITH NO DATA``: Trino infers the types), filled by the migration from
                the source tables with the very same query, and the query rewritten as
                ``SELECT <its columns> FROM <table> ORDER BY <its order>``.

The fill runs the query's own text on the same data, so the rows are the query's rows by
construction; the rewrite only restores its column labels and its order. A query whose text
fixes no range (a relative date) is refused: its value changes with the clock. The report
says how each table is refreshed: after the source changes, ``DELETE FROM`` it and run its
INSERT again; its text fixes what it answers, so a dashboard whose range moves needs a
rollup instead.

>>> from domain.analysis.catalog import build_catalog
>>> from domain.analysis.parse import parse_ddl
>>> from domain.workload import DdlStatement
>>> catalog, _ = build_catalog(parse_ddl([DdlStatement(
...     "CREATE TABLE lake.s.events (user_id bigint, day date, country varchar)")]), "")
>>> shape = shape_query(
...     "SELECT country, count(DISTINCT user_id) AS users FROM lake.s.events "
...     "WHERE day >= DATE '2024-01-01' GROUP BY country ORDER BY users DESC, country",
...     catalog, None)
>>> shape.columns, shape.order
(('country', 'users'), 'users DESC, country')
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.catalog import Catalog, column_types, name_parts
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import (
    TRINO,
    TableName,
    identifier,
    identifier_sql,
    normalize,
    trino_sql,
)
from domain.analysis.parse import parse_trino
from domain.analysis.profile import Profile, QueryProfile
from domain.analysis.retarget import retarget
from domain.analysis.rollup import TRUNC_GRAINS, distinct_values, guess_distinct, unique_name
from domain.analysis.usage import date_literal
from domain.statistics import WorkloadStatistics

__all__ = [
    "Result",
    "Shape",
    "plan_results",
    "result_issues",
    "results_estimates",
    "shape_query",
]

MIN_RUNS = 10  # a text run fewer times is not a dashboard: its result is not worth a table
MIN_SHARE = 0.005  # of the workload's weight (runs × time)…
MIN_RUNS_SHARE = 0.01  # … or of its runs: a fast tile run often
MAX_RESULTS = 16
MAX_RESULT_ROWS = 50_000
MIN_SUMMARY = 100  # with statistics: source rows per result row, at least
MIN_SOURCE_ROWS = 200_000  # with statistics: below, a scan costs little

# Functions whose value depends on the clock, chance or the order rows arrive in: a result
# stored once would not be the result of the next run.
_VOLATILE_TYPES: tuple[type[exp.Expr], ...] = (
    exp.Rand,
    exp.Uuid,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.CurrentTime,
    exp.CurrentUser,
    exp.Localtime,
    exp.Localtimestamp,
    exp.AnyValue,
    exp.ArrayAgg,
    exp.GroupConcat,
    exp.ArgMax,
    exp.ArgMin,
    exp.ApproxQuantile,
    exp.Shuffle,
    exp.ArrayUniqueAgg,
    exp.TableSample,
    exp.Placeholder,  # a parameter: the text is not the query that runs
    exp.Parameter,
)
_VOLATILE_NAMES = frozenset(
    {
        "now",
        "random",
        "rand",
        "uuid",
        "shuffle",
        "current_timezone",
        "current_catalog",
        "current_schema",
        "current_path",
        "current_groups",
        "arbitrary",
        "any_value",
        "array_agg",
        "map_agg",
        "multimap_agg",
        "listagg",
        "string_agg",
        "set_agg",
        "set_union",
        "min_by",
        "max_by",
        "approx_percentile",
        "approx_most_frequent",
        "approx_set",
        "numeric_histogram",
        "qdigest_agg",
        "tdigest_agg",
        "reduce_agg",
        "merge",
        "histogram",
    }
)
# Output types Iceberg cannot store (a CREATE TABLE … AS of them fails).
_UNSTORABLE_TYPES: tuple[type[exp.Expr], ...] = (
    exp.Interval,
    exp.JSONExtract,
    exp.ParseJSON,
    exp.JSONBExtract,
)
_UNSTORABLE_CASTS = {exp.DataType.Type.JSON, exp.DataType.Type.INTERVAL, exp.DataType.Type.UNKNOWN}
_T = exp.DataType.Type
_TEMPORAL = {_T.DATE, _T.TIMESTAMP, _T.TIMESTAMPTZ, _T.TIMESTAMP_S, _T.TIMESTAMP_MS, _T.TIME}
# The values a calendar field of a date or time takes.
_CALENDAR: dict[type[exp.Expr], float] = {
    exp.Hour: 24.0,
    exp.Minute: 60.0,
    exp.Second: 60.0,
    exp.Day: 31.0,
    exp.DayOfMonth: 31.0,
    exp.DayOfWeek: 7.0,
    exp.DayOfWeekIso: 7.0,
    exp.DayOfYear: 366.0,
    exp.Week: 53.0,
    exp.WeekOfYear: 53.0,
    exp.Month: 12.0,
    exp.Quarter: 4.0,
    exp.Year: 30.0,
}
_QUERYID = re.compile(r"[^a-z0-9_]+")


class Refused(ValueError):
    """Why a query's result is not stored (said in the report)."""


class NotSummary(Refused):
    """A query that does not aggregate: not a dashboard's, nothing to say about it."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A query whose result a table may hold: the query reading the source tables with its
    outputs named (`fill`), the table's columns, how a read restores the query's labels
    (`labels`) and order (`order`, SQL over the columns), and its rows, estimated."""

    fill: str
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    order: str
    rows: float
    source_rows: float | None


@dataclass(frozen=True, slots=True)
class Result:
    """A table holding one query text's result, and the queries it answers."""

    name: TableName
    shape: Shape
    text: str
    queryids: tuple[str, ...]
    indexes: tuple[int, ...]
    runs: float
    weight: float

    def create_sql(self) -> str:
        # WITH NO DATA: Trino infers every column's type from the very query that fills it.
        return (
            f"CREATE TABLE {self.name.sql()} WITH (format = 'PARQUET', format_version = 2) "
            f"AS {self.shape.fill} WITH NO DATA"
        )

    def insert_sql(self) -> str:
        columns = ", ".join(identifier_sql(c) for c in self.shape.columns)
        return f"INSERT INTO {self.name.sql()} ({columns}) {self.shape.fill}"

    def read_sql(self) -> str:
        """The query answered from the table: its columns under its labels, in its order."""
        items = ", ".join(self.shape.labels)
        order = f" ORDER BY {self.shape.order}" if self.shape.order else ""
        return f"SELECT {items} FROM {self.name.sql()}{order}"


def plan_results(
    profile: Profile,
    catalog: Catalog,
    *,
    served: Collection[int],
    catalog_name: str,
    schema: str,
    taken: Iterable[TableName] = (),
    statistics: WorkloadStatistics | None = None,
) -> tuple[list[Result], dict[str, str]]:
    """The results worth storing (see the module), and why each candidate was refused (by
    queryid of its first query): queries at positions in `served` (a rollup answers them)
    are left alone; new tables are named in `catalog_name`.`schema` beside `taken`."""
    texts: dict[str, list[QueryProfile]] = {}
    for query in profile.queries:
        if query.index in served or not _candidate(query):
            continue
        texts.setdefault(query.text, []).append(query)
    heaviest = sorted(
        texts.items(), key=lambda item: (-sum(q.weight for q in item[1]), item[1][0].index)
    )
    names = {t.table for t in taken if t.catalog == catalog_name and t.schema == schema}
    results: list[Result] = []
    refused: dict[str, str] = {}
    for text, queries in heaviest:
        runs = sum(q.runs for q in queries)
        weight = sum(q.weight for q in queries)
        often = profile.total_runs > 0 and runs / profile.total_runs >= MIN_RUNS_SHARE
        if runs < MIN_RUNS or (profile.share(weight) < MIN_SHARE and not often):
            continue
        first = queries[0]
        qualified = retarget(
            text,
            first.references,
            first.columns,
            {n: n for n in first.known},
            catalog.session,
        )
        try:
            if qualified.error is not None:
                raise Refused(qualified.error)
            shape = shape_query(qualified.sql, catalog, statistics)
        except NotSummary:
            continue
        except Refused as why:
            refused[first.queryid] = str(why)
            continue
        except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as error:
            # a shape this pass did not foresee: the query keeps reading its tables, and the
            # rest of the advice stands (an error here would fail the whole analysis)
            refused[first.queryid] = f"not analysed ({type(error).__name__})"
            continue
        if len(results) == MAX_RESULTS:
            refused[first.queryid] = f"more than {MAX_RESULTS} queries qualify"
            continue
        stem = _QUERYID.sub("_", first.queryid.lower()).strip("_")[:40] or "query"
        name = unique_name(f"{first.known[0].table}_result_{stem}", names)
        names.add(name)
        results.append(
            Result(
                name=TableName(catalog_name, schema, name),
                shape=shape,
                text=text,
                queryids=tuple(q.queryid for q in queries),
                indexes=tuple(q.index for q in queries),
                runs=runs,
                weight=weight,
            )
        )
    return results, refused


def _candidate(query: QueryProfile) -> bool:
    return (
        query.error is None
        and query.reads_only
        and bool(query.known)
        and not query.unknown
        and all(r.name is not None for r in query.references)
    )


def shape_query(sql: str, catalog: Catalog, statistics: WorkloadStatistics | None) -> Shape:
    """How a table holds the result of `sql` (a query naming its tables fully), or Refused
    with the reason."""
    try:
        parsed = parse_trino(sql)
    except SqlglotError as error:
        raise Refused(f"not parsed: {error}") from error
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Select):
        raise Refused("not a single SELECT")
    select = parsed[0]
    if not _summarizes(select):
        raise NotSummary("it does not aggregate: its rows are not a summary of what it reads")
    _check_deterministic(select)
    outputs = select.expressions
    columns: list[str] = []
    labels: list[str] = []
    for position, output in enumerate(outputs):
        column, label = _output(output, position)
        if column in columns:
            raise Refused(f"two output columns are named {column}")
        columns.append(column)
        labels.append(label)
        if not isinstance(output, (exp.Alias, exp.Column)):
            output.replace(exp.Alias(this=output.copy(), alias=identifier(column)))
    order = _order(select, outputs=[_inner(o) for o in select.expressions], columns=columns)
    rows, source_rows = _rows(select, catalog, statistics)
    if rows > MAX_RESULT_ROWS:
        raise Refused(f"about {_count(rows)} rows: too many to store as a result")
    if source_rows is not None:
        if source_rows < MIN_SOURCE_ROWS:
            raise Refused(f"its tables hold {source_rows:,.0f} rows: a scan costs little")
        if rows * MIN_SUMMARY > source_rows:
            raise Refused(f"about {_count(rows)} rows out of {source_rows:,.0f}: not a summary")
    return Shape(
        fill=trino_sql(select, copy=False),
        columns=tuple(columns),
        labels=tuple(labels),
        order=order,
        rows=rows,
        source_rows=source_rows,
    )


def _check_deterministic(select: exp.Select) -> None:
    for node in select.walk():
        if isinstance(node, _VOLATILE_TYPES):
            raise Refused(f"{_function_name(node)} gives another value on another run")
        if isinstance(node, exp.Func) and _function_name(node) in _VOLATILE_NAMES:
            raise Refused(f"{_function_name(node)} gives another value on another run")
        if isinstance(node, exp.Select) and node.args.get("limit") and not node.args.get("order"):
            raise Refused("a LIMIT without ORDER BY keeps any rows")
        if isinstance(node, exp.Select) and node.args.get("offset") and not node.args.get("order"):
            raise Refused("an OFFSET without ORDER BY skips any rows")


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key


def _summarizes(select: exp.Select) -> bool:
    """Whether the top-level SELECT groups, aggregates or removes duplicates."""
    if select.args.get("group") or select.args.get("distinct"):
        return True
    return any(_aggregates(o) for o in select.expressions)


def _aggregates(node: exp.Expr) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, exp.AggFunc):
            return True
        if isinstance(current, (exp.Window, exp.Subquery, exp.Select)):
            continue
        stack.extend(current.iter_expressions())
    return False


def _inner(output: exp.Expr) -> exp.Expr:
    return output.this if isinstance(output, exp.Alias) else output


def _output(output: exp.Expr, position: int) -> tuple[str, str]:
    """The column that stores `output` and the read that gives it its label back."""
    if isinstance(output, exp.Star) or (
        isinstance(output, exp.Column) and isinstance(output.this, exp.Star)
    ):
        raise Refused("it selects *")
    _check_storable(_inner(output))
    if isinstance(output, exp.Alias):
        written = output.args["alias"]
    elif isinstance(output, exp.Column):
        written = output.this
    else:  # Trino labels an unnamed output by its position
        column = f"_col{position}"
        return column, identifier_sql(column)
    column = normalize(written.name)
    if not column:
        raise Refused("an output column has an empty name")
    label = trino_sql(written)
    if label == identifier_sql(column):
        return column, label
    return column, f"{identifier_sql(column)} AS {label}"


def _check_storable(expression: exp.Expr) -> None:
    for node in expression.walk():
        if isinstance(node, _UNSTORABLE_TYPES):
            raise Refused(f"an output of type {node.key} cannot be stored in Iceberg")
        if isinstance(node, exp.Cast) and node.to.this in _UNSTORABLE_CASTS:
            raise Refused(f"an output cast to {node.to.sql(dialect=TRINO)} cannot be stored")
        if isinstance(node, exp.Sub) and any(
            isinstance(side, (exp.Column, exp.Func)) and _temporal_name(side)
            for side in (node.this, node.expression)
        ):
            raise Refused("a difference of times may be an interval, which cannot be stored")
        if isinstance(node, exp.Null) and node is expression:
            raise Refused("an output NULL has no type to store")


def _temporal_name(node: exp.Expr) -> bool:
    """Whether a column or function may hold a date or time (names that say so, or the
    functions that give one): a cheap test, erring towards yes."""
    if isinstance(node, (exp.CurrentDate, exp.CurrentTimestamp, exp.TimestampTrunc)):
        return True
    if isinstance(node, (exp.Max, exp.Min)):
        node = node.this
    if isinstance(node, exp.Column):
        return bool(re.search(r"(date|time|_ts$|^ts$|_at$|dts$|day$)", node.name.lower()))
    return isinstance(node, (exp.DateTrunc, exp.Date, exp.TsOrDsToDate))


def _order(select: exp.Select, *, outputs: Sequence[exp.Expr], columns: Sequence[str]) -> str:
    """The query's ORDER BY over the stored columns ('' where it has none), or Refused."""
    order = select.args.get("order")
    if order is None:
        return ""
    by_label = {c: i for i, c in enumerate(columns) if not c.startswith("_col")}
    by_sql: dict[str, int] = {}
    for index, output in enumerate(outputs):
        by_sql.setdefault(trino_sql(output), index)
    items = []
    for ordered in order.expressions:
        key = ordered.this
        position: int | None = None
        if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
            position = int(key.this) - 1
        elif isinstance(key, exp.Column) and not key.table:
            position = by_label.get(normalize(key.name))
        if position is None:
            position = by_sql.get(trino_sql(key))
        if position is None or not 0 <= position < len(columns):
            raise Refused(f"its ORDER BY {trino_sql(key)} is not one of its output columns")
        item = ordered.copy()
        item.set("this", exp.Column(this=identifier(columns[position])))
        items.append(trino_sql(item))
    return ", ".join(items)


def _rows(
    select: exp.Select, catalog: Catalog, statistics: WorkloadStatistics | None
) -> tuple[float, float | None]:
    """The rows of the query's result, estimated, and the rows of its largest table (None
    where the statistics do not give them all)."""
    tables = _tables(select, catalog)
    sizes = [
        s.rows
        for name in dict.fromkeys(tables.values())
        if statistics is not None and (s := statistics.table(name)) is not None and s.rows
    ]
    source_rows = max(sizes) if sizes and len(sizes) == len(set(tables.values())) else None
    limit = _limit(select)
    group = select.args.get("group")
    if group is not None:
        keys = [_grouped(k, select) for k in group.expressions]
        if group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets"):
            keys = []  # grouping sets: count them as the product of every column they name
            for kind in ("rollup", "cube", "grouping_sets"):
                for item in group.args.get(kind) or ():
                    keys.extend(item.find_all(exp.Column))
    elif select.args.get("distinct"):
        keys = [_inner(o) for o in select.expressions]
    else:
        keys = []  # a global aggregate: one row
    bounds = _filtered(select)
    rows = 1.0
    for key in keys:
        rows *= _distinct(key, tables, catalog, statistics, bounds)
        if math.isinf(rows):
            break
    if limit is not None:
        rows = min(rows, float(limit))
    if source_rows is not None:
        rows = min(rows, source_rows)
    return rows, source_rows


def _tables(select: exp.Select, catalog: Catalog) -> dict[str, TableName]:
    """The source tables the top-level SELECT reads by its aliases (a table's own name
    where it has none): the tables its columns may be resolved against."""
    found: dict[str, TableName] = {}
    sources = [select.args.get("from_"), *(select.args.get("joins") or ())]
    for source in sources:
        table = source.this if source is not None else None
        if not isinstance(table, exp.Table):
            continue
        parts = name_parts(table)
        if not parts or len(parts) != 3:
            continue
        name = TableName.of(*parts)
        if catalog.get(name) is None:
            continue
        found[normalize(table.alias_or_name)] = name
    return found


def _grouped(key: exp.Expr, select: exp.Select) -> exp.Expr:
    """A GROUP BY item, the output it names by position where it does."""
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        position = int(key.this) - 1
        if 0 <= position < len(select.expressions):
            return _inner(select.expressions[position])
    return key


def _distinct(
    key: exp.Expr,
    tables: Mapping[str, TableName],
    catalog: Catalog,
    statistics: WorkloadStatistics | None,
    bounds: Mapping[str, _Bound],
) -> float:
    """The values a grouping expression takes, estimated (math.inf where unbounded)."""
    for kind, values in _CALENDAR.items():
        if isinstance(key, kind):
            return values
    grain = None
    if isinstance(key, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = key.args.get("unit")
        grain = TRUNC_GRAINS.get(unit.name.lower()) if unit is not None else None
        key = key.this
    elif isinstance(key, exp.Cast) and key.to.this == exp.DataType.Type.DATE:
        grain, key = "day", key.this  # `CAST(ts AS date)`: one value a day
    columns = [key] if isinstance(key, exp.Column) else list(key.find_all(exp.Column))
    if not columns:
        return 1.0  # a constant
    values = 1.0
    for column in columns:
        found = _column_values(column, grain, tables, catalog, statistics)
        bound = bounds.get(trino_sql(column))
        if bound is not None:
            found = min(found, bound.values(grain))
        values *= found
    return values


@dataclass(frozen=True, slots=True)
class _Bound:
    """What the WHERE clause leaves of a column: a few values, or a span of days."""

    count: float | None = None
    days: float | None = None
    timestamp: bool = False

    def values(self, grain: str | None) -> float:
        if self.count is not None:
            return self.count
        if self.days is None:
            return math.inf
        if grain == "hour":
            return self.days * 24 + 1
        if grain == "month":
            return self.days / 28 + 1
        if grain == "day" or not self.timestamp:
            return self.days + 1
        return math.inf  # raw timestamps: any number within the span


def _filtered(select: exp.Select) -> dict[str, _Bound]:
    """The columns the top-level WHERE (a conjunction) pins to a few values or a span of
    days, by their SQL: ``c = 'x'``, ``c IN (…)``, ``d BETWEEN DATE … AND DATE …``,
    ``ts >= TIMESTAMP … AND ts < TIMESTAMP …``."""
    where = select.args.get("where")
    if where is None:
        return {}
    bounds: dict[str, _Bound] = {}
    lows: dict[str, date | datetime] = {}
    highs: dict[str, date | datetime] = {}
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        column = condition.this if isinstance(condition, exp.Expr) else None
        if not isinstance(column, exp.Column):
            continue
        key = trino_sql(column)
        if isinstance(condition, exp.EQ) and isinstance(condition.expression, exp.Literal):
            bounds[key] = _Bound(count=1.0)
        elif isinstance(condition, exp.In) and not condition.args.get("query"):
            items = condition.expressions
            if items and all(isinstance(i, exp.Literal) for i in items):
                bounds[key] = _Bound(count=float(len(items)))
        elif isinstance(condition, exp.Between):
            low, high = date_literal(condition.args["low"]), date_literal(condition.args["high"])
            if low is not None and high is not None:
                lows[key], highs[key] = low, high
        elif isinstance(condition, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
            value = date_literal(condition.expression)
            if value is not None:
                side = lows if isinstance(condition, (exp.GT, exp.GTE)) else highs
                side[key] = value
    for key in lows.keys() & highs.keys():
        low, high = lows[key], highs[key]
        if type(low) is not type(high) or key in bounds:
            continue
        span = high - low
        bounds[key] = _Bound(
            days=max(span.total_seconds() / 86_400, 0.0), timestamp=isinstance(low, datetime)
        )
    return bounds


def _column_values(
    column: exp.Column,
    grain: str | None,
    tables: Mapping[str, TableName],
    catalog: Catalog,
    statistics: WorkloadStatistics | None,
) -> float:
    name = normalize(column.name)
    candidates = (
        [tables[normalize(column.table)]]
        if column.table and normalize(column.table) in tables
        else [t for t in dict.fromkeys(tables.values()) if _has(catalog, t, name)]
    )
    if len(candidates) == 1:
        return distinct_values(catalog, statistics, candidates[0], name, grain)
    # a column of a derived table or a CTE: assumed from its name, as if it were text
    return guess_distinct(name, exp.DataType.build("varchar"), grain)


def _has(catalog: Catalog, table: TableName, column: str) -> bool:
    source = catalog.get(table)
    return source is not None and column in column_types(source)


def _limit(select: exp.Select) -> int | None:
    limit = select.args.get("limit")
    value = limit.expression if limit is not None else None
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _count(rows: float) -> str:
    return "unbounded" if math.isinf(rows) else f"{rows:,.0f}"


def result_issues(
    results: Sequence[Result], refused: Mapping[str, str], total_weight: float
) -> list[Issue]:
    """A finding for the stored results (what each holds, how to refresh it), and one for
    the heavy aggregate queries whose result could not be stored, and why."""
    issues: list[Issue] = []
    if results:
        tables = [
            {
                "table": r.name.sql(),
                "queryids": list(r.queryids),
                "estimated_rows": None if math.isinf(r.shape.rows) else round(r.shape.rows),
                "source_rows": r.shape.source_rows,
                "runs": r.runs,
                "refresh": f"DELETE FROM {r.name.sql()}; {r.insert_sql()}",
            }
            for r in results
        ]
        share = sum(r.weight for r in results) / total_weight if total_weight > 0 else 0.0
        issues.append(
            Issue(
                code="materialized_result",
                severity=Severity.INFO,
                title=f"{len(results)} dashboard queries answered from tables holding their result",
                rationale=f"These queries repeat with the same text ({share:.0%} of the "
                "workload's weight) and aggregate what no rollup answers exactly (distinct "
                "counts, joins, nested aggregates): each one's result is stored in a table "
                "that the migration fills by running the query itself on the source tables.",
                queryids=tuple(q for r in results for q in r.queryids),
                effect="each answered query reads a few stored rows instead of its sources",
                risk="the tables hold the results of the data as the migration read it: after "
                "the source changes, re-run each one's refresh (DELETE, then its INSERT). Their "
                "text fixes what they answer: a dashboard whose range moves each day needs "
                "its refresh each day, or a rollup",
                details={"results": tables},
            )
        )
    if refused:
        issues.append(
            Issue(
                code="result_not_stored",
                severity=Severity.INFO,
                title=f"{len(refused)} heavy aggregate queries keep reading their tables",
                rationale="Their result was not stored in a table: "
                + "; ".join(f"{q}: {why}" for q, why in sorted(refused.items())),
                queryids=tuple(refused),
                details={"reasons": dict(refused)},
            )
        )
    return issues


def results_estimates(results: Sequence[Result], profile: Profile) -> dict[str, Any]:
    """What the stored results are expected to save: the runs and weight of the queries
    that read a few stored rows instead of their sources."""
    if not results:
        return {}
    runs = sum(r.runs for r in results)
    weight = sum(r.weight for r in results)
    return {
        "method": "each answered query reads its stored result (its rows, estimated from "
        "its groups' distinct values and its filters) instead of its source tables",
        "freshness": "the tables hold the result of the data the migration read: re-run each "
        "one's refresh (in the materialized_result finding) after the source changes",
        "queries": sum(len(r.queryids) for r in results),
        "runs_share": round(runs / profile.total_runs, 4) if profile.total_runs > 0 else 0.0,
        "weight_share": round(profile.share(weight), 4),
        "estimated_rows": {
            r.name.sql(): None if math.isinf(r.shape.rows) else round(r.shape.rows) for r in results
        },
    }
