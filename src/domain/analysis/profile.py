"""Profile pass: which stored tables each query reads, and how much each query weighs.

Decides, for every table reference in a query, whether it names a stored table or a CTE, and
which source table it is. Scope matters: a CTE hides a table of the same name only in the
query that defines it, after its definition (and inside itself only when ``RECURSIVE``), the
way Trino resolves names. So in

    WITH orders AS (SELECT * FROM orders) SELECT * FROM orders

the first ``orders`` after FROM is the table and the second is the CTE. Names are completed
from the session and compared case-insensitively; a reference that names no source table is
unknown, and the query then cannot read only the new schema.

A profile keeps what later passes need — each reference's name and its position in the
query's text — and not the parsed tree, so that a workload of many queries never holds more
than one tree at a time.

A query's weight is ``runquantity × executiontime`` (a missing time counts as one second); the
advisor ranks its recommendations by the weight of the queries they serve. Each reading query
also carries its column uses (see `domain.analysis.usage`), and `summarize` adds them up per
table and column: the weight behind each kind of use, the literals compared with, the widths
of the ranges asked for, and which queries scan a table whole (no prunable filter on it).

>>> import sqlglot
>>> statement = sqlglot.parse_one(
...     "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders", read="trino")
>>> [t.sql() for t in table_nodes(statement)[0]]
['orders']
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from domain.analysis.catalog import Catalog, name_parts
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import Session, TableName, trino_sql, written
from domain.analysis.parse import ParsedQuery
from domain.analysis.usage import (
    ColumnUse,
    Nodes,
    Resolver,
    column_uses,
    is_cte_reference,
    scan,
)
from domain.workload import Query

__all__ = [
    "PRUNABLE",
    "ColumnStats",
    "Profile",
    "QualifiedColumn",
    "QueryProfile",
    "Reference",
    "TableUsage",
    "profile_queries",
    "profile_query",
    "qualified_column_name",
    "query_weight",
    "stored_nodes",
    "summarize",
    "table_nodes",
]

# Statements that only read: everything else writes or defines, and is reported.
_READS = (exp.Query, exp.Values)
# Where Trino lets a relation take an alias right after its name.
_ALIASABLE_PARENTS = (exp.From, exp.Join, exp.Merge)

# Uses a partition or sort order can serve by skipping data.
PRUNABLE = frozenset({"eq", "in", "range", "like", "is_null"})

_WORD = re.compile(r"\w+")

Span = tuple[int, int]  # first and last character of a name in the query's text


@dataclass(frozen=True, slots=True)
class Reference:
    """A table reference that is not a CTE. `name` is None when it is not a plain name.

    `span` locates the name (all its parts) in the query's text, `table_part` is its last
    part as written, and `aliasable` says whether an alias may follow the name there (an
    unaliased relation in FROM, JOIN or MERGE). `history` marks a read of the table as of a
    past snapshot (``FOR VERSION AS OF``, ``FOR TIMESTAMP AS OF``): the new table has no
    such history, so that reference is not `known` and keeps reading the source table.
    """

    written: str
    name: TableName | None
    known: bool
    span: Span | None = None
    table_part: str = ""
    aliasable: bool = False
    history: bool = False


@dataclass(frozen=True, slots=True)
class QualifiedColumn:
    """A column qualified with its table's schema (``sales.orders.amount``): the span and
    last part of the qualifier (``sales.orders``), and the table it names."""

    name: TableName
    span: Span | None = None
    table_part: str = ""


@dataclass(frozen=True, slots=True)
class QueryProfile:
    queryid: str
    index: int
    text: str
    weight: float
    kind: str = ""
    references: tuple[Reference, ...] = ()
    columns: tuple[QualifiedColumn, ...] = ()
    error: str | None = None
    runs: float = 0.0
    uses: tuple[ColumnUse, ...] = ()
    needs_tree: bool = False
    words: frozenset[str] = frozenset()  # every word of the text, lower case
    _known: tuple[TableName, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _unknown: tuple[Reference, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def reads_only(self) -> bool:
        return self.kind == "SELECT"

    @property
    def known(self) -> tuple[TableName, ...]:
        """The known tables the query names, once each (computed once: every pass asks)."""
        known = self._known
        if known is None:
            known = tuple(dict.fromkeys(r.name for r in self.references if r.known and r.name))
            object.__setattr__(self, "_known", known)
        return known

    @property
    def unknown(self) -> tuple[Reference, ...]:
        """The references to tables the DDL does not define (computed once, as `known`)."""
        unknown = self._unknown
        if unknown is None:
            unknown = tuple(r for r in self.references if not r.known)
            object.__setattr__(self, "_unknown", unknown)
        return unknown


@dataclass(frozen=True, slots=True)
class TableUsage:
    """How the workload uses one source table: the queries that name it and their weight,
    and the reading queries that filter it on no column a layout could prune by."""

    queryids: tuple[str, ...] = ()
    weight: float = 0.0
    full_scans: tuple[str, ...] = ()
    full_scan_weight: float = 0.0
    writes: tuple[str, ...] = ()


@dataclass(slots=True)
class ColumnStats:
    """How the workload uses one column: weight and queries per kind of use, the literals
    it is compared with, and the (width in days, weight) of the ranges asked for."""

    weight: dict[str, float] = field(default_factory=dict)
    queryids: dict[str, list[str]] = field(default_factory=dict)
    values: set[str] = field(default_factory=set)
    widths: list[tuple[float | None, float]] = field(default_factory=list)
    date_like: bool = False
    through: set[str] = field(default_factory=set)  # tables whose time filter a join carries
    # the number types a varchar column is cast to, with the queries casting to each
    casts: dict[str, list[str]] = field(default_factory=dict)

    def of(self, *kinds: str) -> float:
        return sum(self.weight.get(k, 0.0) for k in kinds)

    def ids(self, *kinds: str) -> list[str]:
        return list(dict.fromkeys(q for k in kinds for q in self.queryids.get(k, ())))


@dataclass(frozen=True, slots=True)
class Profile:
    queries: tuple[QueryProfile, ...]
    total_weight: float
    usage: Mapping[TableName, TableUsage] = field(default_factory=dict)
    columns: Mapping[TableName, Mapping[str, ColumnStats]] = field(default_factory=dict)
    total_runs: float = 0.0

    def share(self, weight: float) -> float:
        return weight / self.total_weight if self.total_weight > 0 else 0.0


def query_weight(query: Query) -> float:
    """``runquantity × executiontime`` (missing time = 1 s); 0 for values that make no sense."""
    try:
        weight = query.weight
    except (TypeError, ValueError):
        return 0.0
    return weight if math.isfinite(weight) and weight > 0 else 0.0


def query_runs(query: Query) -> float:
    """``runquantity`` as a weight (how the task's organisers weigh queries); 0 if senseless."""
    try:
        runs = float(query.runquantity)
    except (TypeError, ValueError):
        return 0.0
    return runs if math.isfinite(runs) and runs > 0 else 0.0


def profile_query(
    parsed: ParsedQuery,
    catalog: Catalog,
    nodes: Nodes | None = None,
    resolver: Resolver | None = None,
) -> QueryProfile:
    """The profile of one parsed query; a query that failed to parse keeps its error.
    `nodes` are the statement's, when the caller scanned it already (see `usage.scan`),
    `resolver` a resolver of the statement over `catalog` the caller shares."""
    weight = query_weight(parsed.query)
    runs = query_runs(parsed.query)
    statement = parsed.statement
    if statement is None:
        return QueryProfile(
            parsed.queryid, parsed.index, parsed.text, weight, error=parsed.error, runs=runs
        )
    kind = "SELECT" if isinstance(statement, _READS) else _kind(statement)
    try:
        nodes = nodes if nodes is not None else scan(statement)
        tables, columns = stored_nodes(nodes)
        references = tuple(_reference(t, parsed.text, catalog) for t in tables)
        read = {r.name for r in references if r.known}
        qualified = []
        for column in columns:
            name = qualified_column_name(column, catalog.session)
            if name is not None and name in read:
                span, table_part = _span(_qualifier(column), parsed.text)
                qualified.append(QualifiedColumn(name, span, table_part))
    except Exception as error:  # one odd tree must not fail the workload
        message = f"{type(error).__name__}: {error}"[:300]
        return QueryProfile(
            parsed.queryid, parsed.index, parsed.text, weight, kind, error=message, runs=runs
        )
    uses: tuple[ColumnUse, ...] = ()
    needs_tree = False
    if kind == "SELECT" and read:
        try:
            usage = column_uses(statement, catalog, nodes, resolver)
            uses, needs_tree = usage.uses, usage.needs_tree
        except Exception:  # usage only informs the advice; the query is still retargeted
            uses, needs_tree = (), False
    return QueryProfile(
        parsed.queryid,
        parsed.index,
        parsed.text,
        weight,
        kind,
        tuple(r for r in references if r.written),
        tuple(qualified),
        runs=runs,
        uses=uses,
        needs_tree=needs_tree,
        words=frozenset(_WORD.findall(parsed.text.lower())),
    )


def profile_queries(parsed: Sequence[ParsedQuery], catalog: Catalog) -> tuple[Profile, list[Issue]]:
    return summarize([profile_query(q, catalog) for q in parsed])


def summarize(queries: Sequence[QueryProfile]) -> tuple[Profile, list[Issue]]:
    """The workload's profile from its queries' profiles, and what it reveals."""
    usage: dict[TableName, tuple[list[str], float]] = {}
    scans: dict[TableName, tuple[list[str], float]] = {}
    writes: dict[TableName, list[str]] = {}
    columns: dict[TableName, dict[str, ColumnStats]] = {}
    for query in queries:
        pruned: set[TableName] = set()
        seen: set[tuple[TableName, str, str]] = set()
        for use in query.uses:
            table_stats = columns.get(use.table)
            if table_stats is None:
                table_stats = columns[use.table] = {}
            stats = table_stats.get(use.column)
            if stats is None:  # not a default of setdefault: a ColumnStats costs to build
                stats = table_stats[use.column] = ColumnStats()
            key = (use.table, use.column, use.kind)
            if key not in seen:  # a query weighs once per kind of use of a column
                seen.add(key)
                stats.weight[use.kind] = stats.weight.get(use.kind, 0.0) + query.weight
                stats.queryids.setdefault(use.kind, []).append(query.queryid)
            stats.values.update(use.values)
            stats.date_like = stats.date_like or use.date_like
            if use.cast_to is not None:
                cast = stats.casts.setdefault(use.cast_to, [])
                if not cast or cast[-1] != query.queryid:
                    cast.append(query.queryid)
            if use.through is not None:
                stats.through.add(str(use.through))
            if use.kind in ("range", "eq") and (use.kind == "range" or use.width_days):
                stats.widths.append((use.width_days, query.weight))
            if use.kind in PRUNABLE:
                pruned.add(use.table)
        reads_only = query.reads_only
        for name in query.known:  # (no default built per name: most are there already)
            ids, weight = usage.get(name) or ([], 0.0)
            ids.append(query.queryid)
            usage[name] = (ids, weight + query.weight)
            if reads_only and name not in pruned:
                ids, weight = scans.get(name) or ([], 0.0)
                ids.append(query.queryid)
                scans[name] = (ids, weight + query.weight)
            elif not reads_only and query.kind:
                writes.setdefault(name, []).append(query.queryid)
    profile = Profile(
        tuple(queries),
        sum(q.weight for q in queries),
        {
            name: TableUsage(
                tuple(ids),
                weight,
                tuple(scans.get(name, ((), 0.0))[0]),
                scans.get(name, ((), 0.0))[1],
                tuple(writes.get(name, ())),
            )
            for name, (ids, weight) in usage.items()
        },
        columns,
        sum(q.runs for q in queries),
    )
    return profile, _issues(profile)


def table_nodes(statement: exp.Expr) -> tuple[list[exp.Table], list[exp.Column]]:
    """The tables in `statement` that are not CTE references, and the columns qualified with
    a schema, in source order."""
    return stored_nodes(scan(statement))


def stored_nodes(nodes: Nodes) -> tuple[list[exp.Table], list[exp.Column]]:
    """`table_nodes` of a tree already scanned."""
    tables = nodes.tables
    if nodes.ctes:
        tables = [t for t in tables if not is_cte_reference(t, nodes.ctes)]
    return tables, [c for c in nodes.columns if c.args.get("db") is not None]


def qualified_column_name(column: exp.Column, session: Session) -> TableName | None:
    parts = [p.name for p in _qualifier(column)]
    return session.resolve(parts) if 2 <= len(parts) <= 3 else None


def _reference(table: exp.Table, text: str, catalog: Catalog) -> Reference:
    parts = name_parts(table)
    if parts is None:
        # `a.b.c.d` names no table Trino knows; a table function (TABLE(...)) names none
        if not isinstance(table.this, exp.Identifier | exp.Dot):
            return Reference("", None, False)
        pieces = [table.args.get(k) for k in ("catalog", "db", "this")]
        return Reference(".".join(trino_sql(p) for p in pieces if p is not None), None, False)
    identifiers = [
        p
        for p in (table.args.get(k) for k in ("catalog", "db", "this"))
        if isinstance(p, exp.Identifier)
    ]
    name = catalog.session.resolve(parts)
    texts = [written(p) for p in identifiers]
    span, table_part = _span(identifiers, text, texts)
    history = table.args.get("version") is not None
    aliasable = (
        table.args.get("alias") is None
        and not history
        and isinstance(table.parent, _ALIASABLE_PARENTS)
        # `TABLE orders` (read as SELECT * FROM orders) takes no alias
        # (the last five characters: upper() maps each character on its own)
        and not (span is not None and text[: span[0]].rstrip()[-5:].upper().endswith("TABLE"))
    )
    known = catalog.get(name) is not None and not history
    return Reference(".".join(texts), name, known, span, table_part, aliasable, history)


def _span(
    parts: Sequence[exp.Identifier], text: str, texts: Sequence[str] | None = None
) -> tuple[Span | None, str]:
    """Where the name made of `parts` is in `text`, and its last part as written there;
    no span when a position is missing or does not match the text. `texts` are the parts
    `written`, when the caller has them."""
    if not parts:
        return None, ""
    if texts is None:
        texts = [written(p) for p in parts]
    for part, part_text in zip(parts, texts, strict=True):
        meta = part.meta
        if "start" not in meta or "end" not in meta:
            return None, texts[-1]
        if text[int(meta["start"]) : int(meta["end"]) + 1] != part_text:
            return None, texts[-1]
    start, end = int(parts[0].meta["start"]), int(parts[-1].meta["end"])
    return (start, end), texts[-1]


def _qualifier(column: exp.Column) -> list[exp.Identifier]:
    parts = (column.args.get(k) for k in ("catalog", "db", "table"))
    return [p for p in parts if isinstance(p, exp.Identifier)]


def _kind(statement: exp.Expr) -> str:
    if isinstance(statement, exp.Create):
        return f"CREATE {(statement.kind or '').upper()}".strip()
    if isinstance(statement, exp.TruncateTable):
        return "TRUNCATE"
    return statement.key.upper()


def _issues(profile: Profile) -> list[Issue]:
    unknown: dict[str, tuple[str, list[str]]] = {}
    history: dict[str, list[str]] = {}
    writes: dict[str, list[str]] = {}
    failed: list[QueryProfile] = []
    for query in profile.queries:
        if query.error is not None and query.kind:
            failed.append(query)
        for reference in query.unknown:
            if reference.history:
                ids = history.setdefault(str(reference.name), [])
                if query.queryid not in ids:
                    ids.append(query.queryid)
                continue
            key = str(reference.name) if reference.name else reference.written.lower()
            _, ids = unknown.setdefault(key, (reference.written, []))
            if query.queryid not in ids:
                ids.append(query.queryid)
        if query.kind and not query.reads_only:
            writes.setdefault(query.kind, []).append(query.queryid)
    seen = Counter(q.queryid for q in profile.queries)
    issues = [
        Issue(
            code="duplicate_queryid",
            severity=Severity.WARNING,
            title=f"Query id {queryid} is used {count} times",
            rationale="Each query is returned in input order, once per occurrence of its id.",
            queryids=(queryid,),
            details={"count": count},
        )
        for queryid, count in seen.items()
        if count > 1
    ]
    issues += [
        Issue(
            code="unknown_table",
            severity=Severity.WARNING,
            title=f"Table {key} is not in the DDL",
            rationale=(
                "The queries that read it are retargeted for the tables the DDL defines, "
                "but still read this one where it is, so they cannot read only the new schema."
            ),
            table=key,
            queryids=tuple(ids),
            risk="Those queries keep depending on the old schema.",
            details={"written": written},
        )
        for key, (written, ids) in unknown.items()
    ]
    issues += [
        Issue(
            code="time_travel",
            severity=Severity.INFO,
            title=f"{len(ids)} quer{'y reads' if len(ids) == 1 else 'ies read'} {key} as of "
            "a past snapshot",
            rationale=(
                "FOR VERSION AS OF and FOR TIMESTAMP AS OF read the table's history, which "
                "the new table does not have (its first snapshot is its migration), so those "
                "references keep reading the source table, and no rollup or stored result "
                "answers the query."
            ),
            table=key,
            queryids=tuple(ids),
            risk="Those queries keep depending on the source table and its snapshots.",
        )
        for key, ids in history.items()
    ]
    issues.extend(
        Issue(
            code="non_select",
            severity=Severity.WARNING,
            title=f"{len(ids)} {kind} statement(s) among the queries",
            rationale=(
                f"{kind} statements write or define instead of reading; their table "
                "references are retargeted to the new tables, but whether they should run "
                "against the new schema is for you to decide."
            ),
            queryids=tuple(ids),
            risk="Running them changes data or objects in the new schema.",
            details={"statement": kind},
        )
        for kind, ids in writes.items()
    )
    issues.extend(
        Issue(
            code="rewrite_error",
            severity=Severity.ERROR,
            title=f"Query {q.queryid} could not be analysed",
            rationale="The query parsed but the engine could not follow it; returned unchanged.",
            queryids=(q.queryid,),
            details={"index": q.index, "message": q.error},
        )
        for q in failed
    )
    return issues
