"""Synthetic data that fits a workload: what to put in every column so its queries find rows.

A layout or a rewrite can only be judged on data the queries actually touch. Uniform random
values miss almost every literal a query filters on, and two tables filled independently
never join. This module decides, for every typed column of every table the DDL defines, a
`ColumnSpec` — a deterministic value generator of the row number — from what the workload
says about the column:

- **literals** the queries compare it with (``=``, ``IN``, ranges, ``BETWEEN``, ``LIKE``
  patterns of any shape, ``substr(col, 1, 2) IN (…)``, ``year(col) = 2024``) are part of its
  values, so every filter finds rows; a table of a few dozen rows (a dimension) takes each
  of its values in its first rows, so that none is missing there;
- **join keys** that meet: the columns a query equates form one key domain; the table that
  owns the key (its first column, on the side the others point at) holds each value once,
  the others draw from it with skew, so joins match many-to-one as in a star or a vault;
- **time** spans the ranges the queries ask for (with a margin), and rows are spread over it
  in load order, as a table filled day by day is; columns a query orders against each other
  (``commit_date < receipt_date``) share one span, so each row's values are days apart;
- **cardinality** from the name and the use: flags and codes compared by equality or grouped
  by are low, names and texts high; dates kept as ``varchar`` are written as Trino writes
  dates;
- **numbers kept as text**: a ``varchar`` column the queries cast to a number type holds
  numbers written as Trino prints that type (``CAST(CAST(n AS type) AS varchar)``), so the
  casts convert and the text is the canonical one a type fix reads back;
- **NULLs** in every nullable column that is not a key (more where a query asks
  ``IS NULL``), and **skew** in categories and foreign keys;
- **filters on several columns at once** (``device_id = 42 AND ts`` within a day): a few
  rows hold what the filter asks of each of them together (see `Plant`), so that the
  conjunction finds rows too, not only each of its parts.

Row counts: the tables on the pointing side of joins (facts, satellites, event logs) get the
requested number of rows; tables that own a key (dimensions, hubs) get a fiftieth of it.

The plan is typed and dialect-free; `trino_select` renders one table's rows as a Trino
SELECT over a row-number sequence, so the same plan can fill another engine later.

>>> from domain.workload import DdlStatement, Query, Workload
>>> w = Workload("jdbc:trino://h:8080?catalog=c&schema=s",
...     (DdlStatement("CREATE TABLE t (id bigint, kind varchar)"),),
...     (Query("q", "SELECT count(*) FROM t WHERE kind = 'x'"),))
>>> plan = plan_data(w, rows=1000)
>>> [(c.name, c.kind, c.values[:1]) for c in plan.tables[0].columns]
[('id', 'sequence', ()), ('kind', 'category', ("'x'",))]
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.cardinality import HIGH_CARDINALITY, KEY_NAME, LOW_CARDINALITY
from domain.analysis.catalog import Catalog, Column, SourceTable, build_catalog, name_parts
from domain.analysis.names import TRINO, TableName, normalize, written
from domain.analysis.parse import parse_ddl
from domain.analysis.usage import NUMBER_TYPES
from domain.workload import Workload

__all__ = [
    "ColumnSpec",
    "DataPlan",
    "Plant",
    "TablePlan",
    "field_name",
    "nested_parts",
    "plan_data",
    "planted_sql",
    "trino_select",
    "with_values_sql",
]

DIMENSION_SHARE = 50  # a table that owns a key holds this many times fewer rows
MIN_DIMENSION_ROWS = 20
VERSIONS_PER_KEY = 3
REFERENCED_SHARE = 0.9  # foreign keys point at this share of their domain: the rest is unused
MAX_DIMENSION_ROWS = 200_000
NULL_SHARE = 0.02
LITERAL_ROWS = 20  # rows that hold each value a query looks a key up by
PLANT_SHARE = 0.2  # the share of a table's rows planted for filters that ask no time (Plant)
MAX_PLANTS = 32  # filters planted per table
WIDENED_STRIDE = 4  # a plant around a time of few rows takes one row in this many
IS_NULL_SHARE = 0.2  # where a query asks `col IS NULL`, a fifth of the rows are
DEFAULT_SPAN = (date(2022, 1, 1), date(2024, 12, 31))
MARGIN = timedelta(days=90)

# An integer key naming a day (``date_key``, ``order_date_sk``, ``dateid``): a date dimension's.
DATE_KEY = re.compile(r"(^|_)(date|day)_?(key|id|sk)$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_ZONED_TEXT = re.compile(r"^(\S+ \S+) ?(?:[A-Za-z][\w/+-]*|[+-]\d{2}:\d{2})$")
_CALENDAR_PARTS = {
    "year": None,  # from the time span
    "quarter": (1, 4),
    "month": (1, 12),
    "day": (1, 28),
    "dayofmonth": (1, 28),
    "day_of_month": (1, 28),
    "dayofweek": (1, 7),
    "day_of_week": (1, 7),
    "dow": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
}
_CALENDAR_FUNCTIONS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "day": "day",
    "dayofmonth": "day",
    "day_of_month": "day",
    "dayofweek": "day_of_week",
    "day_of_week": "day_of_week",
    "hour": "hour",
}
_INTEGER_LIMITS = {"tinyint": 100, "smallint": 30_000}
_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "INTEGER": 32, "INT": 32, "BIGINT": 64}
_NUMBERS = NUMBER_TYPES | {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT}


@dataclass(frozen=True, slots=True)
class Plant:
    """Rows that hold what one query's filter asks of several columns of a table at once.

    Each column's literals are among its values, so each filter alone finds rows; but a
    conjunction (``device_id = 42 AND ts >= TIMESTAMP … AND ts < TIMESTAMP …``) asks for a
    few rows of the thousands, and rarely finds one. The planted rows hold, in every column
    the filter names, the value it asks: `literal` (a SQL literal), or an instant in
    [`start`, `end`). Where the filter asks for a time, they are every `stride`-th row of
    [`first`, `stop`), the rows whose place in the load order is about that time: a row
    elsewhere given it would widen its file's and row group's time range, and the original
    table would no longer skip them as a table loaded day by day does. Other filters take the
    rows whose uniform number (of the table's `salt`) falls in [`low`, `high`).
    """

    salt: int
    low: float
    high: float
    literal: str = ""
    start: datetime | None = None
    end: datetime | None = None
    first: int = 0
    stop: int = 0
    stride: int = 0  # 0: the rows are chosen by `low` and `high`

    def rows_sql(self) -> str:
        """The condition on the row number `i` that picks rows by place (`stride` > 0)."""
        every = f"(i - {self.first}) % {self.stride} = 0"
        return f"i >= {self.first} AND i < {self.stop} AND {every}"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """How one column's value is made from the row number `i` (0-based) of a table of `rows`.

    kind:
        sequence   ``low + i`` (unique: the key a table owns), or its text form
        key        a value of a key domain ``[low, high]`` drawn with skew (a foreign key)
        category   one of `values` (SQL literals) drawn with skew
        integer    ``[low, high]`` uniform, `values` mixed in
        decimal    ``[low, high]`` uniform, rounded to the column's scale
        real       ``[low, high]`` uniform
        date       from `start` to `end` in row order (with a little jitter)
        timestamp  the same, to the second
        calendar   a part (`values[0]`: year, month…) of the table's date column
        day_key    a day as the integer ``yyyymmdd`` (a star schema's date key): from
                   `start` to `end` like a date
        boolean    true for one row in ten
        array      two elements, each made as `parts[0]` says
        map        an entry per key of `parts[0]`'s `values` (every key a query reads, as
                   ``m['k']`` fails on a map without it, and one more), values `parts[1]`
        row        a field per part, each made as it says (`name`: the field's)
        epoch      an instant from `start` to `end` like a timestamp, as `low` units (1: a
                   second, 1000: a millisecond) since 1970: a number read by from_unixtime
        json       a JSON object as text, a key per part (`name`), its value made as it says:
                   a varchar that queries read with ``json_extract_scalar(col, '$.key')``
        null       only NULLs (a type the plan cannot make values for)
    `text` writes numbers, dates and timestamps as varchar; `nulls` is the share of NULLs.
    """

    name: str  # as the DDL wrote it (quoted if it was)
    type_sql: str
    kind: str
    low: float = 0
    high: float = 0
    values: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    text: bool = False
    prefix: str = ""  # the text form of a number: prefix_<n> (shared by a key's columns)
    nulls: float = 0.0
    salt: int = 0
    exact: bool = False  # dates one day per row, no jitter (a date dimension's calendar)
    # a varchar holding numbers: each value written as this type prints it (`text` numbers)
    number_type: str = ""
    planted: tuple[Plant, ...] = ()  # rows that hold what a filter asks of it (see Plant)
    parts: tuple[ColumnSpec, ...] = ()  # an array's element, a map's key and value, a row's


@dataclass(frozen=True, slots=True)
class TablePlan:
    table: TableName
    rows: int
    columns: tuple[ColumnSpec, ...]
    role: str  # "fact" (points at keys) or "dimension" (owns a key)


@dataclass(frozen=True, slots=True)
class DataPlan:
    """The tables to fill, in DDL order, and the ones the plan cannot fill (with why)."""

    tables: tuple[TablePlan, ...]
    skipped: tuple[tuple[TableName, str], ...] = ()
    catalog: Catalog | None = field(default=None, compare=False)


@dataclass(slots=True)
class _Evidence:
    """What the queries say about one column."""

    literals: list[str] = field(default_factory=list)  # SQL literals compared with
    numbers: list[float] = field(default_factory=list)
    instants: list[datetime] = field(default_factory=list)
    equality: bool = False
    grouped: bool = False
    is_null: bool = False
    prefixes: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)  # values LIKE patterns match as they are
    casts: list[exp.DataType] = field(default_factory=list)  # number types it is cast to
    json_keys: list[str] = field(default_factory=list)  # json_extract(col, '$.key') reads
    epoch: float = 0.0  # units per second of a number read as from_unixtime(col [/ n])


_ColumnRef = tuple[TableName, str]
# Evidence of a nested column's parts is kept under the column's key and these suffixes (or
# `.field` for a row's field): an array's elements or a map's values, a map's keys.
ELEMENTS = "[]"
KEYS = "{}"
JSON = "$."  # a JSON text's key: `payload$.campaign`
_NESTED = {exp.DataType.Type.ARRAY, exp.DataType.Type.MAP, exp.DataType.Type.STRUCT}
_SpecMaker = Callable[..., "ColumnSpec"]


def plan_data(workload: Workload, rows: int, seed: int = 0) -> DataPlan:
    """Decide the data for every typed table of `workload`'s DDL, the largest holding `rows`."""
    catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
    evidence: dict[_ColumnRef, _Evidence] = defaultdict(_Evidence)
    joins: list[tuple[_ColumnRef, _ColumnRef]] = []
    compared: list[tuple[_ColumnRef, _ColumnRef]] = []
    filters: dict[TableName, dict[str, dict[str, _Wanted]]] = defaultdict(dict)
    for query in workload.queries:
        tree = _parse(query.query)
        if tree is not None:
            _gather(tree, catalog, evidence, joins, compared)
            for name, wanted in _conjunctions(tree, catalog):
                filters[name].setdefault(repr(sorted(wanted.items())), wanted)
    _share_spans(evidence, compared)
    domains = _key_domains(catalog, joins)
    owner_rows = _owner_rows(catalog, domains, rows)
    span = _workload_span(evidence.values())
    days = (span[1] - span[0]).days + 1
    calendars = _date_dimensions(catalog, domains)
    owner_rows.update(dict.fromkeys(calendars, days))  # a date dimension: a row per day
    tables: list[TablePlan] = []
    skipped: list[tuple[TableName, str]] = []
    for number, table in enumerate(catalog.tables.values()):
        if not table.typed:
            skipped.append((table.name, "its columns are not declared (CREATE TABLE AS or LIKE)"))
            continue
        dimension = table.name in owner_rows
        table_rows = owner_rows.get(table.name, rows)
        columns = tuple(
            _column_spec(
                table,
                column,
                position,
                evidence.get((table.name, column.key)),
                domains.get((table.name, column.key)),
                table_rows,
                owner_rows,
                span,
                salt=seed * 1_000_003 + number * 1_009 + position,
                calendars=calendars,
                nested=partial(_part_evidence, evidence, table.name),
            )
            for position, column in enumerate(table.columns)
        )
        role = "dimension" if dimension else "fact"
        columns = _with_calendar(columns)
        salt = seed * 1_000_003 + number * 1_009 + 997
        columns = _planted(table, columns, list(filters[table.name].values()), table_rows, salt)
        tables.append(TablePlan(table.name, table_rows, columns, role))
    return DataPlan(tuple(tables), tuple(skipped), catalog)


def _part_evidence(
    evidence: Mapping[_ColumnRef, _Evidence], table: TableName, part: str
) -> _Evidence | None:
    return evidence.get((table, part))


def _with_calendar(columns: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    """Calendar parts (`year`, `month`…) beside a date column agree with it, as in real data."""
    temporal = next((c for c in columns if c.kind in ("date", "timestamp") and not c.text), None)
    if temporal is None:
        return columns
    derived = []
    for column in columns:
        part = _stem(column.name).removesuffix("s")
        if column.kind == "integer" and part in _CALENDAR_FUNCTIONS:
            column = replace(
                temporal,
                name=column.name,
                type_sql=column.type_sql,
                kind="calendar",
                values=(_CALENDAR_FUNCTIONS[part],),
                nulls=0.0,
            )
        derived.append(column)
    return tuple(derived)


@dataclass(frozen=True, slots=True)
class _Wanted:
    """What a filter asks of one column: a literal, or instants in [start, end)."""

    literal: str = ""
    is_string: bool = False
    start: datetime | None = None
    end: datetime | None = None
    ranged: bool = False  # `literal` is a number within a range (`rssi < -100`: -101)


_RANGES: dict[type[exp.Expr], str] = {exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _conjunctions(tree: exp.Expr, catalog: Catalog) -> list[tuple[TableName, dict[str, _Wanted]]]:
    """Per SELECT and table, what the WHERE's top-level conjuncts ask of two or more of the
    table's columns together: equality with a literal (the first of an IN list), or a time
    range. Columns tied to no single table of the query are left out."""
    aliases, in_query = _tables_of(tree, catalog)
    found = []
    for select in tree.find_all(exp.Select):
        where = select.args.get("where")
        if where is None:
            continue
        condition = where.this
        conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        literals: dict[_ColumnRef, _Wanted] = {}
        bounds: dict[_ColumnRef, dict[str, datetime]] = defaultdict(dict)
        numbers: dict[_ColumnRef, dict[str, float]] = defaultdict(dict)
        for conjunct in conjuncts:
            for ref, operator, literal in _asked(conjunct, aliases, in_query):
                if operator == "=":
                    literals.setdefault(ref, _Wanted(literal.sql(dialect=TRINO), literal.is_string))
                    continue
                instant = _instant(literal.this) if literal.is_string else None
                if instant is not None:
                    bounds[ref][operator] = instant
                elif not literal.is_string:
                    with contextlib.suppress(ValueError):
                        numbers[ref][operator] = float(literal.this)
        wanted: dict[TableName, dict[str, _Wanted]] = defaultdict(dict)
        for ref, equal in literals.items():
            wanted[ref[0]][ref[1]] = equal
        for ref, bound in bounds.items():
            span = _bounded(bound)
            if span is not None and ref not in literals:
                wanted[ref[0]][ref[1]] = _Wanted(start=span[0], end=span[1])
        for ref, limits in numbers.items():
            point = _inside(limits)
            if point is not None and ref not in literals and ref not in bounds:
                text = str(int(point)) if point.is_integer() else repr(point)
                wanted[ref[0]][ref[1]] = _Wanted(text, ranged=True)
        found += [(name, columns) for name, columns in wanted.items() if len(columns) >= 2]
    return found


def _asked(
    conjunct: exp.Expr, aliases: dict[str, TableName], in_query: Sequence[SourceTable]
) -> list[tuple[_ColumnRef, str, exp.Literal]]:
    """(column, operator, literal) of a conjunct comparing a bare column with a literal."""
    pairs: list[tuple[exp.Expr, str, exp.Expr]] = []
    if isinstance(conjunct, exp.EQ):
        pairs = [(conjunct.left, "=", conjunct.right), (conjunct.right, "=", conjunct.left)]
    elif isinstance(conjunct, exp.In) and conjunct.expressions and not conjunct.args.get("query"):
        pairs = [(conjunct.this, "=", conjunct.expressions[0])]
    elif isinstance(conjunct, exp.Binary) and type(conjunct) in _RANGES:
        operator = _RANGES[type(conjunct)]
        pairs = [
            (conjunct.left, operator, conjunct.right),
            (conjunct.right, _FLIPPED[operator], conjunct.left),
        ]
    elif isinstance(conjunct, exp.Between):
        pairs = [
            (conjunct.this, ">=", conjunct.args["low"]),
            (conjunct.this, "<=", conjunct.args["high"]),
        ]
    elif (
        isinstance(conjunct, exp.Like)
        and isinstance(conjunct.this, exp.Column)
        and isinstance(conjunct.expression, exp.Literal)
        and conjunct.expression.is_string
    ):  # (an escaped pattern is an Escape around the Like: not read)
        value = _like_value(conjunct.expression.this, normalize(conjunct.this.name))
        pairs = [(conjunct.this, "=", exp.Literal.string(value))]
    asked = []
    for side, operator, other in pairs:
        if isinstance(other, exp.Cast) and not isinstance(other, exp.TryCast):
            other = other.this  # DATE '…', TIMESTAMP '…'
        other = _signed(other)
        if not isinstance(side, exp.Column) or not isinstance(other, exp.Literal):
            continue
        refs = _refs(side, aliases, in_query)
        if len(refs) == 1:
            asked.append((refs[0], operator, other))
    return asked


def _bounded(bound: Mapping[str, datetime]) -> tuple[datetime, datetime] | None:
    """Instants [start, end) within the bounds a filter sets (a day where one is open)."""
    start: datetime | None = bound.get(">=")
    if start is None and ">" in bound:
        start = bound[">"] + timedelta(seconds=1)
    end: datetime | None = bound.get("<")
    if end is None and "<=" in bound:
        whole_day = bound["<="].time() == datetime.min.time()  # `d <= DATE '…'`: that day
        end = bound["<="] + (timedelta(days=1) if whole_day else timedelta(seconds=1))
    if start is None and end is None:
        return None
    if start is None:
        assert end is not None
        start = end - timedelta(days=1)
    if end is None:
        end = start + timedelta(days=1)
    return (start, end) if start < end else None


def _inside(limits: Mapping[str, float]) -> float | None:
    """A whole number within the bounds a filter sets on a number, if there is one."""
    lows = [math.floor(limits[">"]) + 1.0] if ">" in limits else []
    lows += [float(math.ceil(limits[">="]))] if ">=" in limits else []
    highs = [math.ceil(limits["<"]) - 1.0] if "<" in limits else []
    highs += [float(math.floor(limits["<="]))] if "<=" in limits else []
    point = max(lows) if lows else min(highs) if highs else None
    if point is None or (highs and point > min(highs)):
        return None
    return point


def _planted(
    table: SourceTable,
    columns: tuple[ColumnSpec, ...],
    filters: Sequence[Mapping[str, _Wanted]],
    rows: int,
    salt: int,
) -> tuple[ColumnSpec, ...]:
    """`columns` with the rows each filter of two or more of them asks for (see `Plant`):
    about `LITERAL_ROWS` rows each (those asking no time `PLANT_SHARE` of the table at most
    together), for `MAX_PLANTS` filters at most, and only where every column it names can
    hold what it asks."""
    by_key = {c.key: n for n, c in enumerate(table.columns)}
    calendar = any(c.kind == "calendar" for c in columns)
    dated = next((c.name for c in columns if c.kind in ("date", "timestamp") and not c.text), "")
    usable = []
    for wanted in filters:
        specs = {by_key[k]: w for k, w in wanted.items() if k in by_key}
        if len(specs) < 2 or not all(
            _can_hold(columns[n], w) and not (calendar and columns[n].name == dated)
            for n, w in specs.items()
        ):
            continue  # (calendar parts must agree with the table's date: it is not planted)
        usable.append(specs)
    usable = usable[:MAX_PLANTS]
    if not usable:
        return columns
    windows = [_window(columns, specs, rows, n) for n, specs in enumerate(usable)]
    share = min(LITERAL_ROWS / max(rows, 1), PLANT_SHARE / len(usable))
    planted: list[list[Plant]] = [[] for _ in columns]
    number = 0
    for specs, window in zip(usable, windows, strict=True):
        low = high = 0.0
        if window is None:
            low, high = number * share, (number + 1) * share
            number += 1
        first, stop, stride = window or (0, 0, 0)
        for n, w in specs.items():
            plant = Plant(salt, low, high, w.literal, w.start, w.end, first, stop, stride)
            planted[n].append(plant)
    return tuple(
        replace(c, planted=tuple(p)) if p else c for c, p in zip(columns, planted, strict=True)
    )


def _window(
    columns: Sequence[ColumnSpec], specs: Mapping[int, _Wanted], rows: int, number: int = 0
) -> tuple[int, int, int] | None:
    """The rows (first, stop, stride) whose place in the load order is about the time the
    filter asks of a date or timestamp column, `LITERAL_ROWS` of them at least; None where
    it asks for no time, or one the column's span does not hold."""
    for n, wanted in specs.items():
        spec = columns[n]
        if spec.kind not in ("date", "timestamp") or spec.start is None or spec.end is None:
            continue
        start, end = wanted.start, wanted.end
        if start is None:
            start = _instant(wanted.literal.strip("'"))
            if start is None:
                continue
            end = start + (timedelta(days=1) if spec.kind == "date" else timedelta(seconds=1))
        assert end is not None
        total = max((spec.end - spec.start).total_seconds(), 1.0)
        low = (start - spec.start).total_seconds() / total * rows
        high = (end - spec.start).total_seconds() / total * rows
        widened = high - low < LITERAL_ROWS
        if not widened:
            width, stride = high - low, max(1, int((high - low) // LITERAL_ROWS))
        else:
            # A time holding fewer rows than a plant needs: one row in WIDENED_STRIDE of that
            # many times as many around it, each plant (`number`) its own residue but the
            # last, so that overlapping plants keep their rows apart and the days around
            # keep a share of their own (a filter on one of them alone still finds some).
            width, stride = float(WIDENED_STRIDE * LITERAL_ROWS), WIDENED_STRIDE
        first = max(0, int((low + high - width) / 2))
        if widened:
            first += number % (WIDENED_STRIDE - 1) - first % WIDENED_STRIDE
        stop = min(rows, int(first + width) + 1)
        if stop <= first:
            continue
        return first, stop, stride
    return None


def _can_hold(spec: ColumnSpec, wanted: _Wanted) -> bool:
    """Whether the column's values can be what the filter asks, of its type."""
    if wanted.ranged:
        numeric = spec.kind in ("integer", "real") or (spec.kind == "key" and not spec.text)
        return numeric and _fits(spec.type_sql, wanted.literal)
    if spec.number_type or spec.kind not in ("key", "category", "integer", "date", "timestamp"):
        return False
    if wanted.start is not None:
        return spec.kind in ("date", "timestamp") and not spec.text
    if spec.kind in ("date", "timestamp"):
        return wanted.is_string and _instant(wanted.literal.strip("'")) is not None
    textual = spec.text or spec.type_sql.upper().startswith(("VARCHAR", "CHAR"))
    if wanted.is_string != textual:
        return False
    return textual or _fits(spec.type_sql, wanted.literal)


def _fits(type_sql: str, literal: str) -> bool:
    """Whether a number literal converts to an integer type without overflow (a CAST that
    overflows fails the whole load); any number fits a double or real."""
    limit = _INTEGER_BITS.get(type_sql.upper())
    if limit is None:
        return not type_sql.upper().startswith("DECIMAL")
    try:
        return abs(float(literal)) < 2.0 ** (limit - 1) - 1
    except ValueError:
        return False


def _parse(text: str) -> exp.Expr | None:
    try:
        tree = sqlglot.parse_one(text, dialect=TRINO)
    except (SqlglotError, ValueError):
        return None
    return tree if isinstance(tree, exp.Expr) else None


def _gather(
    tree: exp.Expr,
    catalog: Catalog,
    evidence: dict[_ColumnRef, _Evidence],
    joins: list[tuple[_ColumnRef, _ColumnRef]],
    compared: list[tuple[_ColumnRef, _ColumnRef]] | None = None,
) -> None:
    """Record the literals, joins and uses the query shows, by the columns' source tables;
    in `compared`, the columns of one table a query orders against each other.

    Columns are tied to tables loosely, by alias or by name: a value that lands on a table
    the query did not mean only adds a harmless value to it.
    """
    aliases, in_query = _tables_of(tree, catalog)
    for node in tree.walk():
        if isinstance(node, exp.Bracket) and isinstance(node.this, exp.Column):
            keys = [k for k in node.expressions if isinstance(k, exp.Literal) and k.is_string]
            for ref in _refs(node.this, aliases, in_query):  # m['k'], element_at(m, 'k')
                evidence[(ref[0], ref[1] + KEYS)].literals += [k.sql(dialect=TRINO) for k in keys]
        elif isinstance(node, exp.ArrayContains) and isinstance(node.this, exp.Column):
            _compare(node.this, node.expression, node, aliases, in_query, evidence)
        elif (key := _json_key(node)) is not None and isinstance(node.this, exp.Column):
            for ref in _refs(node.this, aliases, in_query):  # json_extract_scalar(col, '$.k')
                evidence[ref].json_keys.append(key)
        if isinstance(node, exp.Group):
            for column in node.find_all(exp.Column):
                for ref in _refs(column, aliases, in_query):
                    evidence[ref].grouped = True
        elif (
            isinstance(node, exp.EQ)
            and isinstance(node.left, exp.Column)
            and isinstance(node.right, exp.Column)
        ):
            left = _refs(node.left, aliases, in_query)
            right = _refs(node.right, aliases, in_query)
            joins.extend((a, b) for a in left for b in right if a[0] != b[0])
        elif (
            isinstance(node, exp.GT | exp.GTE | exp.LT | exp.LTE)
            and isinstance(node.left, exp.Column)
            and isinstance(node.right, exp.Column)
        ):
            left = _refs(node.left, aliases, in_query)
            right = _refs(node.right, aliases, in_query)
            if compared is not None:
                compared.extend((a, b) for a in left for b in right if a[0] == b[0] and a != b)
        elif isinstance(node, exp.Binary) and isinstance(
            node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE | exp.Like
        ):
            _compare(node.left, node.right, node, aliases, in_query, evidence)
            _compare(node.right, node.left, node, aliases, in_query, evidence)
        elif isinstance(node, exp.Between):
            for bound in (node.args.get("low"), node.args.get("high")):
                if isinstance(bound, exp.Expr):
                    _compare(node.this, bound, node, aliases, in_query, evidence)
        elif isinstance(node, exp.In):
            for value in node.expressions:
                _compare(node.this, value, node, aliases, in_query, evidence)
        elif isinstance(node, exp.Is) and isinstance(node.this, exp.Column):
            for ref in _refs(node.this, aliases, in_query):
                evidence[ref].is_null = True
        if (
            isinstance(node, exp.Cast)
            and not isinstance(node, exp.TryCast)
            and isinstance(node.this, exp.Column)
            and node.to.this in _NUMBERS
        ):
            for ref in _refs(node.this, aliases, in_query):
                evidence[ref].casts.append(node.to)


def _share_spans(
    evidence: dict[_ColumnRef, _Evidence], compared: Iterable[tuple[_ColumnRef, _ColumnRef]]
) -> None:
    """Columns of a table ordered against each other (``commit_date < receipt_date``) take
    the instants of them all, so that they span the same time: each row's values are then
    days apart, in either order, as the comparison expects of real rows (spans of their
    own put one column years ahead of the other in every row)."""
    for members in _groups(compared):
        instants = [t for ref in members if ref in evidence for t in evidence[ref].instants]
        if not instants:
            continue
        shared = [min(instants), max(instants)]
        for ref in members:
            found = evidence.setdefault(ref, _Evidence())
            if not found.numbers:
                found.instants = sorted({*found.instants, *shared})


def _tables_of(tree: exp.Expr, catalog: Catalog) -> tuple[dict[str, TableName], list[SourceTable]]:
    aliases: dict[str, TableName] = {}
    in_query: list[SourceTable] = []
    for table in tree.find_all(exp.Table):
        parts = name_parts(table)
        if parts is None:
            continue
        source = catalog.get(catalog.session.resolve(parts))
        if source is None:
            continue
        in_query.append(source)
        aliases[normalize(table.alias_or_name)] = source.name
    return aliases, in_query


def _refs(
    column: exp.Column, aliases: dict[str, TableName], in_query: Sequence[SourceTable]
) -> list[_ColumnRef]:
    name = normalize(column.name)
    qualifier = normalize(column.table) if column.table else ""
    if qualifier and qualifier in aliases:
        return [(aliases[qualifier], name)]
    if qualifier:  # geo.lat, e.geo.lat: the field of a ROW column
        owner = normalize(column.db) if column.db else ""
        fields = [
            (table.name, f"{qualifier}.{name}")
            for table in in_query
            if (not owner or aliases.get(owner) == table.name)
            and any(c.key == qualifier for c in table.columns)
        ]
        if fields:
            return list(dict.fromkeys(fields))
    return list(
        dict.fromkeys(
            (table.name, name) for table in in_query if any(c.key == name for c in table.columns)
        )
    )


def _compare(
    side: exp.Expr,
    other: exp.Expr,
    node: exp.Expr,
    aliases: dict[str, TableName],
    in_query: Sequence[SourceTable],
    evidence: dict[_ColumnRef, _Evidence],
) -> None:
    """Note `other`'s literal against the column inside `side` (bare or under a function)."""
    if other.find(exp.Column) is not None:
        return
    other = _signed(other)
    literal = other if isinstance(other, exp.Literal) else other.find(exp.Literal)
    if literal is not None and isinstance(node, exp.ArrayContains) and isinstance(side, exp.Column):
        for ref in _refs(side, aliases, in_query):  # contains(tags, 'beta'): an element's value
            _note(evidence[(ref[0], ref[1] + ELEMENTS)], literal, equality=True)
        return
    key = _json_key(side)
    if literal is not None and key is not None and isinstance(side.this, exp.Column):
        for ref in _refs(side.this, aliases, in_query):  # json_extract_scalar(col, '$.k') = 'v'
            _note(evidence[(ref[0], f"{ref[1]}{JSON}{key}")], literal, equality=True)
        return
    if literal is not None and isinstance(side, exp.Bracket) and isinstance(side.this, exp.Column):
        for ref in _refs(side.this, aliases, in_query):  # m['k'] = 'v', tags[1] = 'v'
            _note(evidence[(ref[0], ref[1] + ELEMENTS)], literal, equality=isinstance(node, exp.EQ))
        return
    column = side if isinstance(side, exp.Column) else side.find(exp.Column)
    if literal is None or column is None:
        return
    wrapped_in_year = isinstance(side, exp.Year) or (
        isinstance(side, exp.Anonymous) and str(side.this).lower() == "year"
    )
    bare = side is column or isinstance(side, exp.Cast | exp.TsOrDsToDate | exp.Date)
    text = literal.this
    for ref in _refs(column, aliases, in_query):
        found = evidence[ref]
        names_year = ref[1] == "year" or ref[1].endswith("_year")
        if (wrapped_in_year or names_year) and not literal.is_string and _is_year(text):
            year = int(float(text))
            found.instants += [datetime(year, 1, 1), datetime(year, 12, 31, 23, 59, 59)]
            continue
        if isinstance(node, exp.Like):
            if not literal.is_string or isinstance(node.parent, exp.Escape):
                continue  # (an escaped pattern's wildcards are not plain to read)
            if text.endswith("%") and "%" not in text[:-1]:
                found.prefixes.append(text[:-1])
            else:  # '%BRASS', '%green%', 'a_c': a value that matches as it is
                found.matches.append(_like_value(text, ref[1]))
            continue
        leading = _leading_part(side, column)
        if leading is not None and literal.is_string and isinstance(node, exp.EQ | exp.In):
            found.prefixes.append(text[:leading])  # substr(col, 1, 2) IN ('13', …)
            continue
        instant = _instant(text) if literal.is_string else None
        scale = _epoch_scale(side, column)
        if instant is not None and scale:  # from_unixtime(ms / 1000) >= TIMESTAMP '…'
            found.epoch = scale
            found.instants.append(instant)
            continue
        if instant is not None:
            found.instants.append(instant)
        if not bare and instant is None:
            continue  # month(col) = 6, lower(col) = 'x': the literal is not a value of col
        if isinstance(node, exp.EQ | exp.In | exp.NEQ):
            found.equality = True
        found.literals.append(literal.sql(dialect=TRINO))
        if not literal.is_string:
            with contextlib.suppress(ValueError):
                found.numbers.append(float(text))


def _epoch_scale(side: exp.Expr, column: exp.Column) -> float:
    """The units per second of `column` where `side` reads it as a time: 1 in
    ``from_unixtime(col)``, 1000 in ``from_unixtime(col / 1000)``; 0 elsewhere."""
    if not isinstance(side, exp.UnixToTime):
        return 0.0
    inner = side.this
    if inner is column:
        return 1.0
    divisor = inner.expression if isinstance(inner, exp.Div) else None
    if inner.this is column and isinstance(divisor, exp.Literal) and not divisor.is_string:
        with contextlib.suppress(ValueError):
            return max(float(divisor.this), 0.0)
    return 0.0


def _json_key(node: exp.Expr) -> str | None:
    """The key of ``json_extract(col, '$.key')`` or ``json_extract_scalar``: one level only."""
    if not isinstance(node, exp.JSONExtract | exp.JSONExtractScalar):
        return None
    path = node.expression
    steps = path.expressions if isinstance(path, exp.JSONPath) else []
    if (
        len(steps) == 2
        and isinstance(steps[0], exp.JSONPathRoot)
        and isinstance(steps[1], exp.JSONPathKey)
        and isinstance(steps[1].this, str)
    ):
        return steps[1].this
    return None


def _note(found: _Evidence, literal: exp.Literal, *, equality: bool) -> None:
    """`literal` as a value the part of a nested column (an element, a map's value) holds."""
    found.equality = found.equality or equality
    found.literals.append(literal.sql(dialect=TRINO))
    if not literal.is_string:
        with contextlib.suppress(ValueError):
            found.numbers.append(float(literal.this))


def _like_value(pattern: str, column: str) -> str:
    """A value LIKE `pattern` matches: a prefix goes on with the column's name (as the
    column's values made for it do), other wildcards are dropped, `_` taken by an ``x``."""
    if pattern.endswith("%") and "%" not in pattern[:-1]:
        return pattern[:-1] + column
    return pattern.replace("%", "").replace("_", "x")


def _leading_part(side: exp.Expr, column: exp.Column) -> int | None:
    """How many leading characters of `column` `side` takes (``substr(col, 1, 2)``,
    ``left(col, 2)``), or None where it is not such a call on the column itself."""
    if isinstance(side, exp.Substring) and side.this is column:
        start, length = side.args.get("start"), side.args.get("length")
    elif isinstance(side, exp.Left) and side.this is column:
        start, length = exp.Literal.number(1), side.args.get("expression")
    else:
        return None
    if not (isinstance(start, exp.Literal) and isinstance(length, exp.Literal)):
        return None
    if start.is_string or length.is_string or start.this != "1" or not length.this.isdigit():
        return None
    return int(length.this)


def _signed(node: exp.Expr) -> exp.Expr:
    """A negative number literal as one literal (sqlglot reads ``-100`` as a sign and 100)."""
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return exp.Literal(this=f"-{node.this.this}", is_string=False)
    return node


def _is_year(text: str) -> bool:
    try:
        return 1900 <= float(text) <= 2100 and float(text).is_integer()
    except ValueError:
        return False


def _instant(text: str) -> datetime | None:
    """The instant a date or timestamp literal's text names, its time zone (``UTC``,
    ``+02:00``, ``Europe/Berlin``) left aside: the data spans days, not hours."""
    if _DATE_TEXT.match(text):
        return datetime.fromisoformat(text)
    zoned = _ZONED_TEXT.match(text)
    if zoned:
        text = zoned.group(1)
    if _TIMESTAMP_TEXT.match(text):
        try:
            return datetime.fromisoformat(text.replace("T", " "))
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class _Domain:
    owner: _ColumnRef
    members: tuple[_ColumnRef, ...]


def _key_domains(
    catalog: Catalog, joins: Iterable[tuple[_ColumnRef, _ColumnRef]]
) -> dict[_ColumnRef, _Domain]:
    """Group the columns equated by joins; pick the owner of each group's values.

    The owner is the member that is its table's first column (tables put their key first)
    and whose name looks like a key; among several, the one named most like its table.
    """
    domains: dict[_ColumnRef, _Domain] = {}
    for members in _groups(joins):
        if len({ref[0] for ref in members}) < 2:
            continue
        owner = max(members, key=lambda ref: _ownership(catalog, ref))
        if _ownership(catalog, owner) <= 0:
            continue  # nobody owns the key: values drawn from one domain on all sides
        domain = _Domain(owner, tuple(sorted(members, key=str)))
        domains.update(dict.fromkeys(members, domain))
    return domains


def _groups(pairs: Iterable[tuple[_ColumnRef, _ColumnRef]]) -> list[list[_ColumnRef]]:
    """The columns `pairs` tie together, directly or through others (union-find)."""
    parent: dict[_ColumnRef, _ColumnRef] = {}

    def find(ref: _ColumnRef) -> _ColumnRef:
        while parent.setdefault(ref, ref) != ref:
            ref = parent[ref]
        return ref

    for a, b in pairs:
        parent[find(a)] = find(b)
    groups: dict[_ColumnRef, list[_ColumnRef]] = defaultdict(list)
    for ref in list(parent):
        groups[find(ref)].append(ref)
    return list(groups.values())


def _date_dimensions(catalog: Catalog, domains: dict[_ColumnRef, _Domain]) -> set[TableName]:
    """The tables that own a date key (``date_key`` and the like, an integer) beside a date
    column: a star schema's date dimension, a row per day, its key the day as yyyymmdd."""
    found: set[TableName] = set()
    for domain in domains.values():
        table = catalog.get(domain.owner[0])
        key = next((c for c in table.columns if c.key == domain.owner[1]), None) if table else None
        if table is None or key is None or key.data_type is None:
            continue
        dated = any(
            c.data_type is not None and c.data_type.this == exp.DataType.Type.DATE
            for c in table.columns
        )
        if dated and key.data_type.this in exp.DataType.INTEGER_TYPES and DATE_KEY.search(key.key):
            found.add(table.name)
    return found


def _owner_rows(
    catalog: Catalog, domains: dict[_ColumnRef, _Domain], rows: int
) -> dict[TableName, int]:
    """How many rows each table that owns a key holds.

    A dimension holds a fiftieth of a fact's rows (at most MAX_DIMENSION_ROWS); a key
    another table also leads with — a hub and its satellites, a table and its history — is
    held by a third of the rows: such tables keep a few versions per key, not thousands.
    """
    owned: dict[TableName, int] = {}
    for ref, domain in domains.items():
        table = catalog.get(ref[0])
        leads = table is not None and bool(table.columns) and table.columns[0].key == ref[1]
        owner = domain.owner[0]
        if ref != domain.owner and leads:
            owned[owner] = max(MIN_DIMENSION_ROWS, rows // VERSIONS_PER_KEY)
        else:
            share = max(MIN_DIMENSION_ROWS, min(MAX_DIMENSION_ROWS, rows // DIMENSION_SHARE))
            owned[owner] = max(owned.get(owner, 0), share)
    return owned


def _ownership(catalog: Catalog, ref: _ColumnRef) -> int:
    table = catalog.get(ref[0])
    if table is None or not table.columns:
        return 0
    score = 0
    if table.columns[0].key == ref[1]:
        score += 2
    stem = re.escape(re.sub(r"^(dim|d|hub|ref|lkp|lookup)_|_(dim|dimension)$", "", ref[0].table))
    stem = stem.rstrip("s")
    # id, part_id, part_key, p_partkey (TPC-H), i_item_sk and d_date_sk of date_dim (TPC-DS)
    named = stem and re.fullmatch(rf"([a-z0-9]+_)?{stem}_?(id|key|sk|hk)", ref[1])
    if ref[1] == "id" or named:
        score += 2
    if re.match(r"^(dim|d|hub|ref|lkp|lookup)_", ref[0].table):
        score += 1
    return score


def _workload_span(found: Iterable[_Evidence]) -> tuple[datetime, datetime]:
    instants = [i for e in found for i in e.instants]
    if not instants:
        return datetime.combine(DEFAULT_SPAN[0], datetime.min.time()), datetime.combine(
            DEFAULT_SPAN[1], datetime.min.time()
        )
    return _padded(min(instants), max(instants))


def _padded(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    start, end = first - MARGIN, last + MARGIN
    if end - start < timedelta(days=365):
        end = start + timedelta(days=365)
    return start.replace(hour=0, minute=0, second=0, microsecond=0), end


def _day_after(start: datetime, days: int) -> datetime:
    """The end of a span of `days` days from `start`: a date dimension's last day, inclusive."""
    return start + timedelta(days=max(days, 1))


def _column_spec(
    table: SourceTable,
    column: Column,
    position: int,
    found: _Evidence | None,
    domain: _Domain | None,
    rows: int,
    owner_rows: dict[TableName, int],
    span: tuple[datetime, datetime],
    salt: int,
    calendars: Set[TableName] = frozenset(),
    nested: Callable[[str], _Evidence | None] = lambda part: None,
) -> ColumnSpec:
    found = found or _Evidence()
    data_type = column.data_type
    assert data_type is not None  # plan_data only plans typed tables
    type_sql = data_type.sql(dialect=TRINO)
    base = data_type.this
    name = column.key
    textual = base in exp.DataType.TEXT_TYPES
    nullable = not any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in column.constraints)
    nulls = (IS_NULL_SHARE if found.is_null else NULL_SHARE) if nullable else 0.0

    def spec(kind: str, **kwargs: Any) -> ColumnSpec:
        return ColumnSpec(column.sql_name, type_sql, kind, salt=salt, **kwargs)

    if base in _NESTED or (textual and found.json_keys):
        return _nested_spec(spec, column, data_type, nested, rows, span, salt, nulls)
    if textual and found.casts:
        return _number_text_spec(spec, name, found, span, rows, nulls)
    if domain is not None and domain.owner[0] in calendars:
        if domain.owner == (table.name, name):  # the date dimension's own key: a day per row
            return spec("day_key", start=span[0], end=_day_after(span[0], rows), exact=True)
        if base in exp.DataType.INTEGER_TYPES:  # a fact's date key: its rows in load order
            days = owner_rows[domain.owner[0]]
            return spec("day_key", start=span[0], end=_day_after(span[0], days), nulls=nulls / 2)
    if table.name in calendars and base == exp.DataType.Type.DATE:
        return spec("date", start=span[0], end=_day_after(span[0], rows), exact=True)
    if domain is not None:
        keyed = base in exp.DataType.INTEGER_TYPES or textual
        prefix = _stem(domain.owner[1])
        if keyed and domain.owner == (table.name, name):
            return spec("sequence", low=1, high=rows, text=textual, prefix=prefix)
        if keyed:
            return spec(
                "key",
                low=1,
                high=owner_rows[domain.owner[0]],
                values=tuple(found.literals),
                text=textual,
                prefix=prefix,
                nulls=nulls / 2,
            )
    if base in exp.DataType.TEMPORAL_TYPES or (textual and _holds_instants(name, found)):
        start, end = _padded(min(found.instants), max(found.instants)) if found.instants else span
        kind = "date" if base == exp.DataType.Type.DATE or _holds_dates(found) else "timestamp"
        return spec(kind, start=start, end=end, text=textual, nulls=nulls)
    if base == exp.DataType.Type.BOOLEAN:
        return spec("boolean", nulls=nulls)
    if base in exp.DataType.INTEGER_TYPES and found.epoch and found.instants:
        start, end = _padded(min(found.instants), max(found.instants))
        return spec("epoch", start=start, end=end, low=found.epoch, nulls=nulls)
    if textual:
        return _text_spec(spec, name, found, rows, nulls, position == 0)
    if base in exp.DataType.INTEGER_TYPES:
        if position == 0 and KEY_NAME.search(name) and not found.equality:
            return spec("sequence", low=1, high=rows)
        if KEY_NAME.search(name) and found.numbers:
            # An id looked up by value: as many ids as a real table has (one per row for
            # its own key, a tenth of that for others), the looked-up ones among them.
            size = rows if position == 0 else max(1, rows // 10)
            first_id = max(1, int(min(found.numbers)) - size // 2)
            values = tuple(found.literals)
            return spec("key", low=first_id, high=first_id + size, values=values, nulls=nulls)
        low, high = _integer_range(name, found, base.value.lower(), span, rows)
        return spec("integer", low=low, high=high, values=tuple(found.literals), nulls=nulls)
    if base in exp.DataType.REAL_TYPES or base == exp.DataType.Type.DECIMAL:
        low, high = _number_range(found)
        if base == exp.DataType.Type.DECIMAL:
            low, high = _within_precision(data_type, low, high)
        # the numbers it is compared with, as some rows' values (`gmt_offset = -5`)
        values = tuple(v for v in dict.fromkeys(found.literals) if _number_in(v, low, high))
        kind = "decimal" if base == exp.DataType.Type.DECIMAL else "real"
        return spec(kind, low=low, high=high, values=values, nulls=nulls)
    return spec("null", nulls=1.0)


def _nested_spec(
    spec: _SpecMaker,
    column: Column,
    data_type: exp.DataType,
    nested: Callable[[str], _Evidence | None],
    rows: int,
    span: tuple[datetime, datetime],
    salt: int,
    nulls: float,
) -> ColumnSpec:
    """An array's, a map's or a row's spec, its parts made as columns of their own types
    from what the queries ask of them (an element's value, a map's key, a row's field)."""
    name = column.key

    def part(label: str, evidence_key: str, part_type: exp.DataType, number: int) -> ColumnSpec:
        own = Column(exp.to_identifier(label), part_type)
        made = _column_spec(
            SourceTable(TableName("", "", ""), (own,)),
            own,
            1,
            nested(evidence_key),
            None,
            rows,
            {},
            span,
            salt * 31 + number,
            nested=nested,
        )
        return replace(made, nulls=0.0, name=written(own.name))

    kinds = data_type.expressions
    read = dict.fromkeys((nested(name) or _Evidence()).json_keys)
    if read and data_type.this in exp.DataType.TEXT_TYPES:
        text = exp.DataType.build("varchar")
        fields = [part(k, f"{name}{JSON}{k}", text, n) for n, k in enumerate(read, start=1)]
        return spec("json", parts=tuple(fields), nulls=nulls)
    if data_type.this == exp.DataType.Type.ARRAY and len(kinds) == 1:
        element = part("element", name + ELEMENTS, kinds[0], 1)
        if element.kind != "null":
            return spec("array", parts=(element,), nulls=nulls)
    if data_type.this == exp.DataType.Type.MAP and len(kinds) == 2:
        asked = (nested(name + KEYS) or _Evidence()).literals
        key_type = kinds[0].sql(dialect=TRINO)
        if kinds[0].this in exp.DataType.TEXT_TYPES:
            keys = [*dict.fromkeys(asked), "'key_0'"]
        elif kinds[0].this in exp.DataType.INTEGER_TYPES:
            keys = [k for k in dict.fromkeys(asked) if _fits(key_type, k)] + ["0"]
        else:
            keys = []
        value = part("value", name + ELEMENTS, kinds[1], 2)
        if keys and value.kind != "null":
            key = ColumnSpec("key", key_type, "category", values=tuple(dict.fromkeys(keys)))
            return spec("map", parts=(key, value), nulls=nulls)
    if data_type.this == exp.DataType.Type.STRUCT and kinds:
        fields = [
            part(f.name, f"{name}.{normalize(f.name)}", f.kind, n)
            for n, f in enumerate(kinds, start=1)
            if isinstance(f, exp.ColumnDef) and isinstance(f.kind, exp.DataType)
        ]
        if len(fields) == len(kinds):
            return spec("row", parts=tuple(fields), nulls=nulls)
    return spec("null", nulls=1.0)


def _number_in(literal: str, low: float, high: float) -> bool:
    try:
        return low <= float(literal) <= high
    except ValueError:
        return False


def _number_text_spec(
    spec: _SpecMaker,
    name: str,
    found: _Evidence,
    span: tuple[datetime, datetime],
    rows: int,
    nulls: float,
) -> ColumnSpec:
    """A varchar column the queries cast to a number: numbers of the type it is cast to
    most, written as that type prints them; the number literals compared with among them."""
    counts: dict[str, tuple[int, exp.DataType]] = {}
    for data_type in found.casts:
        key = data_type.sql(dialect=TRINO)
        counts[key] = (counts.get(key, (0, data_type))[0] + 1, data_type)
    type_sql, (_, data_type) = max(counts.items(), key=lambda c: c[1][0])
    numbers = _Evidence(
        literals=[lit for lit in found.literals if not lit.startswith("'")],
        numbers=found.numbers,
    )
    base = data_type.this
    # from one digit to several: the text's order is not the numbers' (9 < 10, '9' > '10')
    widened = [*numbers.numbers, 1.0, 1_000.0]
    if base in exp.DataType.INTEGER_TYPES:
        low, high = _integer_range(name, _Evidence(numbers=widened), base.value.lower(), span, rows)
        values = tuple(numbers.literals)
        return spec("integer", low=low, high=high, values=values, nulls=nulls, number_type=type_sql)
    low, high = _number_range(_Evidence(numbers=widened))
    if base == exp.DataType.Type.DECIMAL:
        low, high = _within_precision(data_type, low, high)
        return spec("decimal", low=low, high=high, nulls=nulls, number_type=type_sql)
    return spec("real", low=low, high=high, nulls=nulls, number_type=type_sql)


def _holds_instants(name: str, found: _Evidence) -> bool:
    if found.instants and not found.numbers:
        return True
    return bool(re.search(r"(^|_)(date|day|ds|dt|ts|timestamp|time|at)$", name))


def _holds_dates(found: _Evidence) -> bool:
    texts = [lit.strip("'") for lit in found.literals]
    return bool(texts) and all(_DATE_TEXT.match(t) for t in texts)


def _text_spec(
    spec: _SpecMaker, name: str, found: _Evidence, rows: int, nulls: float, first: bool
) -> ColumnSpec:
    literals = list(dict.fromkeys(lit for lit in found.literals if lit.startswith("'")))
    prefixed = [f"'{p.replace(chr(39), chr(39) * 2)}{name}'" for p in found.prefixes]
    prefixed += [f"'{m.replace(chr(39), chr(39) * 2)}'" for m in dict.fromkeys(found.matches)]
    if first and KEY_NAME.search(name) and not literals:
        return spec("sequence", low=1, high=rows, text=True, prefix=_stem(name))
    # An id (``session_id``) holds many values even where a query looks one up by equality.
    low_cardinality = not KEY_NAME.search(name) and (
        bool(LOW_CARDINALITY.search(name))
        or ((found.equality or found.grouped) and not HIGH_CARDINALITY.search(name))
    )
    size = 12 if low_cardinality else max(20, rows // 10)
    if size <= 1_000:
        made = [f"'{name}_{k}'" for k in range(size)]
        return spec("category", values=tuple(literals + prefixed + made), nulls=nulls)
    # Many distinct values: the literals (and prefixes) stay frequent enough to be found.
    values = tuple(literals + prefixed)
    return spec("key", low=1, high=size, values=values, text=True, prefix=_stem(name), nulls=nulls)


def _integer_range(
    name: str, found: _Evidence, type_name: str, span: tuple[datetime, datetime], rows: int
) -> tuple[float, float]:
    part = _CALENDAR_PARTS.get(name, ())
    if name == "year" or name.endswith("_year"):
        return span[0].year, span[1].year
    if part:
        return part
    if found.numbers:
        low, high = _number_range(found)
        return float(int(low)), float(int(high))
    limit = _INTEGER_LIMITS.get(type_name)
    if KEY_NAME.search(name):
        return 1, max(1, rows // 10)
    return 0, float(limit if limit is not None else 1_000)


def _number_range(found: _Evidence) -> tuple[float, float]:
    if not found.numbers:
        return 0.0, 1_000.0
    low, high = min(found.numbers), max(found.numbers)
    pad = max(10.0, (high - low))
    return low - pad if low < 0 or low - pad >= 0 else 0.0, high + pad


def _within_precision(data_type: exp.DataType, low: float, high: float) -> tuple[float, float]:
    params = [p.this for p in data_type.expressions if isinstance(p, exp.DataTypeParam)]
    try:
        precision = int(str(params[0].this if hasattr(params[0], "this") else params[0]))
        scale = int(str(params[1].this if hasattr(params[1], "this") else params[1]))
    except (IndexError, ValueError):
        return low, high
    bound = 10.0 ** (precision - scale) - 1
    return max(low, -bound), min(high, bound)


# --- Trino rendering -------------------------------------------------------------------------

_CHUNK = 10_000  # sequence() makes at most 10,000 elements


def trino_select(plan: TablePlan, first: int, stop: int) -> str:
    """A Trino SELECT of the plan's rows `first` to `stop - 1`, columns in DDL order."""
    outer = (stop - first + _CHUNK - 1) // _CHUNK
    rows = (
        f"SELECT CAST(o.x AS bigint) * {_CHUNK} + r.y + {first} AS i "
        f"FROM UNNEST(sequence(0, {max(outer - 1, 0)})) AS o(x) "
        f"CROSS JOIN UNNEST(sequence(0, {_CHUNK - 1})) AS r(y)"
    )
    values = ", ".join(f"{_value_sql(c, plan.rows)} AS {c.name}" for c in plan.columns)
    return f"SELECT {values} FROM ({rows}) AS g WHERE i < {stop}"


def _hash(salt: int, extra: int = 0) -> str:
    """A uniform number in [0, 1) from the row number: stable across runs and engines."""
    return (
        "(CAST(bitwise_and(from_big_endian_64(xxhash64(to_big_endian_64("
        f"i * 1000003 + {salt * 7919 + extra}))), 9223372036854775807) AS double)"
        " / 9.223372036854776e18)"
    )


def _skewed_index(salt: int, size: int, extra: int = 1) -> str:
    """An index in [0, size) where low indexes are more frequent (squared uniform)."""
    u = _hash(salt, extra)
    return f"CAST(floor({u} * {u} * {size}) AS bigint)"


def _value_sql(spec: ColumnSpec, rows: int) -> str:
    value = _raw_value_sql(spec, rows)
    if spec.number_type:
        value = f"CAST(CAST({value} AS {spec.number_type}) AS varchar)"
    if spec.kind != "null" and spec.nulls > 0:
        value = f"CASE WHEN {_hash(spec.salt, 2)} < {spec.nulls} THEN NULL ELSE {value} END"
    if spec.planted:
        value = _planted_sql(spec, value)
    return f"CAST({value} AS {spec.type_sql})"


def _planted_sql(spec: ColumnSpec, value: str) -> str:
    return planted_sql(
        spec,
        value,
        hash_sql=_hash,
        instant_sql=lambda start, seconds: (
            f"(TIMESTAMP '{start}' + {seconds} * INTERVAL '1' SECOND)"
        ),
    )


def with_values_sql(
    spec: ColumnSpec, value: str, share: float, picks: str, hash_sql: Callable[[int, int], str]
) -> str:
    """`value`, or one of `spec.values` (`picks`) in the first rows, one per value, and in
    `share` of the others: where a column's values are drawn from a range, the literals the
    queries compare it with are among them still. `hash_sql(salt, extra)` is the renderer's
    uniform number of the row `i`."""
    chosen = f"i < {len(spec.values)} OR {hash_sql(spec.salt, 3)} < {share}"
    return f"CASE WHEN {chosen} THEN {picks} ELSE {value} END"


def planted_sql(
    spec: ColumnSpec,
    value: str,
    *,
    hash_sql: Callable[[int, int], str],
    instant_sql: Callable[[str, str], str],
    text_sql: Callable[[str], str] = lambda literal: literal,
) -> str:
    """`value` of the column, or what its planted rows hold (see `Plant`), in an engine's
    SQL: `hash_sql(salt, extra)` a uniform number of the row `i`, `instant_sql(start,
    seconds)` an instant that many seconds after a timestamp's text, `text_sql` a text
    column's literal."""
    whens = []
    for plant in spec.planted:
        if plant.stride:
            rows = plant.rows_sql()
        else:
            u = hash_sql(plant.salt, 9)
            rows = f"{u} >= {plant.low!r} AND {u} < {plant.high!r}"
        if plant.start is not None and plant.end is not None:
            seconds = max(int((plant.end - plant.start).total_seconds()) - 1, 0)
            offset = f"CAST(floor({hash_sql(plant.salt, 10)} * {seconds}) AS BIGINT)"
            asked = instant_sql(plant.start.strftime("%Y-%m-%d %H:%M:%S"), offset)
            if spec.kind == "date":
                asked = f"CAST({asked} AS DATE)"
        elif spec.kind in ("date", "timestamp") and not spec.text:
            # DATE '2024-03-05' asked with other columns: the literal's text, as the type
            asked = f"CAST({plant.literal} AS {'DATE' if spec.kind == 'date' else 'TIMESTAMP'})"
        else:
            asked = text_sql(plant.literal) if spec.text else plant.literal
        whens.append(f"WHEN {rows} THEN {asked}")
    return f"CASE {' '.join(whens)} ELSE {value} END"


def _raw_value_sql(spec: ColumnSpec, rows: int) -> str:
    kind = spec.kind
    if kind == "sequence":
        value = f"(i + {int(spec.low)})"
        return _as_text(spec, value)
    if kind == "key":
        size = max(1, int((spec.high - spec.low + 1) * REFERENCED_SHARE))
        value = _as_text(spec, f"({int(spec.low)} + {_skewed_index(spec.salt, size)})")
        if spec.values:
            share = min(0.2, LITERAL_ROWS * len(spec.values) / max(rows, 1))
            value = with_values_sql(spec, value, share, _pick(spec.values, spec.salt, True), _hash)
        return value
    if kind == "category":
        return _pick(spec.values, spec.salt, first=True)
    if kind == "integer":
        span = int(spec.high - spec.low + 1)
        value = f"({int(spec.low)} + CAST(floor({_hash(spec.salt)} * {span}) AS bigint))"
        if spec.values:
            picks = _pick(spec.values, spec.salt)
            value = f"CASE WHEN {_hash(spec.salt, 3)} < 0.05 THEN {picks} ELSE {value} END"
        return value
    if kind in ("real", "decimal"):
        value = f"round({spec.low} + {_hash(spec.salt)} * {spec.high - spec.low}, 2)"
        if spec.values:
            value = with_values_sql(spec, value, 0.05, _pick(spec.values, spec.salt, True), _hash)
        return value
    if kind in ("date", "timestamp"):
        return _instant_sql(spec, rows)
    if kind == "day_key":
        instant = _instant_sql(replace(spec, kind="timestamp", text=False), rows)
        return f"CAST(format_datetime({instant}, 'yyyyMMdd') AS integer)"
    if kind == "epoch":
        instant = _instant_sql(replace(spec, kind="timestamp", text=False), rows)
        return f"CAST(floor(to_unixtime({instant}) * {spec.low!r}) AS bigint)"
    if kind == "calendar":
        return f"{spec.values[0]}({_instant_sql(replace(spec, kind='timestamp'), rows)})"
    if kind == "boolean":
        return f"({_hash(spec.salt)} < 0.1)"
    if kind == "array":
        elements = [_value_sql(p, rows) for p in nested_parts(spec)]
        return f"ARRAY[{', '.join(elements)}]"
    if kind == "map":
        values = ", ".join(_value_sql(p, rows) for p in nested_parts(spec))
        return f"MAP(ARRAY[{', '.join(spec.parts[0].values)}], ARRAY[{values}])"
    if kind == "row":
        return f"ROW({', '.join(_value_sql(p, rows) for p in spec.parts)})"
    if kind == "json":
        keys = ", ".join(field_name(p) for p in spec.parts)
        values = ", ".join(_value_sql(p, rows) for p in spec.parts)
        return f"json_format(CAST(MAP(ARRAY[{keys}], ARRAY[{values}]) AS JSON))"
    return "NULL"


def field_name(part: ColumnSpec) -> str:
    """A row's field or a JSON key as a string literal: the part's name as written, unquoted."""
    name = part.name[1:-1].replace('""', '"') if part.name.startswith('"') else part.name
    return "'" + name.replace("'", "''") + "'"


def nested_parts(spec: ColumnSpec) -> list[ColumnSpec]:
    """The parts an array's elements (two) or a map's values (one per key) are made of,
    salted apart."""
    part = spec.parts[-1]
    count = len(spec.parts[0].values) if spec.kind == "map" else 2
    return [replace(part, salt=part.salt * 7 + n) for n in range(count)]


def _pick(values: Sequence[str], salt: int, first: bool = False) -> str:
    """One of `values`, drawn with skew; with `first`, the first rows take each in turn, so
    that every value is there even in a table of a few dozen rows."""
    index = _skewed_index(salt, len(values))
    if first:
        index = f"(CASE WHEN i < {len(values)} THEN i ELSE {index} END)"
    return f"element_at(ARRAY[{', '.join(values)}], 1 + {index})"


def _as_text(spec: ColumnSpec, value: str) -> str:
    if not spec.text:
        return value
    return f"concat('{spec.prefix or _stem(spec.name)}_', CAST({value} AS varchar))"


def _stem(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "v"


def _instant_sql(spec: ColumnSpec, rows: int) -> str:
    assert spec.start is not None
    assert spec.end is not None
    seconds = max(int((spec.end - spec.start).total_seconds()), 1)
    # Load order: row i lands at i/rows of the span, give or take two days; the few rows
    # the jitter pushes past an end wrap round to the other (clamping would pile them up on
    # one instant, and ties make ORDER BY … LIMIT ambiguous).
    jitter = "" if spec.exact else f" + ({_hash(spec.salt)} - 0.5) * 345600"
    jittered = f"CAST(floor(i * {seconds / max(rows, 1)!r}{jitter}) AS bigint)"
    offset = f"(({jittered} % {seconds}) + {seconds}) % {seconds}"
    start = spec.start.strftime("%Y-%m-%d %H:%M:%S")
    instant = f"(TIMESTAMP '{start}' + {offset} * INTERVAL '1' SECOND)"
    if spec.kind == "date":
        value = f"CAST({instant} AS date)"
        return f"CAST({value} AS varchar)" if spec.text else value
    if spec.text:
        return f"format_datetime({instant}, 'yyyy-MM-dd HH:mm:ss')"
    return instant
