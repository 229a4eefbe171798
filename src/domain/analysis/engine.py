"""The baseline analysis engine: a pipeline of small pure passes over sqlglot trees.

    stage       passes
    parse       parse (the DDL) ▶ catalog ▶ parse + profile + early rewrite + recognize
                (each query: what a rollup would need to answer it)
    profile     profile (the workload: weights, table usage, what the queries reveal)
    recommend   rollups (which to build) ▶ advise (for the queries still reading the tables)
                ▶ adapt (the type fixes every query can follow) ▶ layout ▶ migrate
    rewrite     restructure (the queries that gain) ▶ retarget ▶ answer from the rollups
    report      report

Each statement is parsed once (a query a rollup answers that an early rewrite also changed
twice, to rewrite it), and a query whose text an earlier one had is not parsed at all: what
the passes find depends on the text alone, so the first query's findings are taken with the
repeat's own queryid, position, runs and time (the rewrites likewise, by text). Names are
looked up in dicts keyed by normalized table name, so the work grows with the size of the
workload, not with tables × queries. Each query's tree is walked once (`usage.scan`) and
its SELECTs' scopes built once (`usage.Resolver`) for every pass that reads it, profiled
with the others of its batch as soon as they are parsed, each pass over the whole batch
(see `parse.parse_batches`), and dropped: the profile keeps the positions the rewrite needs.
The only trees kept are those of the aggregate queries a rollup may answer
(`rollup.may_be_answered`), for their rewrite, and, until the type fixes are known, those
of the queries a type fix may rewrite (they name a column compared with date-like strings
or cast to a number):
at most one per query a rollup or a fix can change, not the workload's (thousands of live
sqlglot trees, full of parent-child cycles, would make Python's garbage collector the
bottleneck).

While it runs, Python's full garbage collections are made rare (see `_few_full_collections`):
the only state it touches, restored when it returns.

The engine is pure (no I/O, no clock: the caller times it) and deterministic, and nothing a
user sends makes it raise: what it cannot read is reported and returned unchanged.

>>> from domain.workload import DdlStatement, Query, Workload
>>> workload = Workload(
...     url="jdbc:trino://host:8080/lake/sales",
...     ddl=(DdlStatement("CREATE TABLE orders (id bigint, amount double)"),),
...     queries=(Query("q1", "SELECT id, amount FROM orders"),),
... )
>>> result = analyze(workload)
>>> [s.statement for s in result.ddl]  # doctest: +NORMALIZE_WHITESPACE
['CREATE SCHEMA lake.optimized',
 "CREATE TABLE lake.optimized.orders (id BIGINT, amount DOUBLE)
  WITH (format = 'PARQUET', format_version = 2)"]
>>> result.migrations[0].statement  # nothing filters orders: it keeps its layout
'INSERT INTO lake.optimized.orders (id, amount) SELECT id, amount FROM lake.sales.orders'
>>> result.queries[0].query
'SELECT id, amount FROM lake.optimized.orders'
"""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.advise import advise
from domain.analysis.catalog import (
    DEFAULT_CATALOG,
    Catalog,
    build_catalog,
    name_parts,
    time_partitioned,
)
from domain.analysis.denormalize import Denormalized, denormalize
from domain.analysis.latest import (
    LatestTable,
    Window,
    inline_latest,
    latest_issues,
    plan_latest,
    read_latest,
    windows_of,
)
from domain.analysis.layout import Layout, new_names, plan_layout, schema_name
from domain.analysis.migrate import migrations, slicing_issues, slicings
from domain.analysis.names import TRINO, Session, TableName, normalize, trino_sql
from domain.analysis.parse import ParsedQuery, parse_batches, parse_ddl, parse_issues, parse_query
from domain.analysis.profile import (
    Profile,
    QueryProfile,
    profile_query,
    query_runs,
    query_weight,
    summarize,
)
from domain.analysis.report import build_report
from domain.analysis.results import Result, plan_results, result_issues, results_estimates
from domain.analysis.retarget import (
    REWRITTEN,
    UNCHANGED,
    EarlyRewrite,
    Rewrite,
    adapt_type_fixes,
    restructure_early,
    rewrite_queries,
)
from domain.analysis.rollup import (
    AggregateQuery,
    Plan,
    Rollup,
    may_be_answered,
    might_aggregate,
    plan_rollups,
    recognize,
    rewrite_for_rollup,
    rollup_estimates,
    rollup_issues,
    with_serving,
)
from domain.analysis.sizing import size_all, statistics_issues, with_bloom_filters
from domain.analysis.usage import Nodes, Resolver, scan
from domain.result import (
    AnalysisResult,
    Finding,
    Meta,
    Report,
    RewrittenQuery,
    Severity,
    SqlStatement,
)
from domain.statistics import WorkloadStatistics
from domain.workload import DEFAULT_TARGET_SCHEMA, Query, Workload

__all__ = ["ENGINE", "PARTS", "STAGES", "StageCallback", "analyze"]

ENGINE = "rules"
PARTS = {"ddl": ENGINE, "migrations": ENGINE, "queries": ENGINE, "report": ENGINE}
# Each stage is announced as it starts, with the share of the work done before it.
STAGES = (("parse", 0), ("profile", 20), ("recommend", 40), ("rewrite", 60), ("report", 80))

StageCallback = Callable[[str, int], None]


def analyze(
    workload: Workload,
    *,
    version: str = "",
    on_stage: StageCallback | None = None,
    statistics: WorkloadStatistics | None = None,
) -> AnalysisResult:
    """The baseline result for `workload`: the same tables as Iceberg/Parquet in the target
    schema, their migrations, and every query retargeted to them, with the report.

    `on_stage(stage, percent)` is called as each pass starts (see `STAGES`); what it raises
    is the caller's and propagates. `statistics`, read from the user's Trino, fit the
    partitioning to the data (see `sizing`); without them the advice rests on the queries.
    """
    with _few_full_collections():
        merged = None
        if statistics is not None:
            try:
                merged = _merges(workload, version, statistics)
            except Exception:  # a bug of the pass must not cost the rest of the advice
                merged = None
        return _run(_passes(workload, version, statistics, merged), workload, version, on_stage)


def _run(
    passes: Generator[str, None, AnalysisResult],
    workload: Workload,
    version: str,
    on_stage: StageCallback | None,
) -> AnalysisResult:
    percent = dict(STAGES)
    while True:
        try:
            stage = next(passes)
        except StopIteration as done:
            result: AnalysisResult = done.value
            return result
        except Exception as error:  # an engine bug must not fail the task: answer safely
            return _unchanged(workload, version, error)
        if on_stage is not None:
            on_stage(stage, percent[stage])


# The findings whose queries read a few stored rows, whatever the tables' layout.
_ANSWERED = frozenset({"pre_aggregated", "materialized_result"})


def _merges(workload: Workload, version: str, statistics: WorkloadStatistics) -> Denormalized:
    """The facts worth merging with their dimensions (see `denormalize`). What a merge gains
    is in the queries that still read the tables, so when one may be worth it the workload
    is first analysed as it is, to know which queries rollups and stored results answer."""
    catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
    probe = denormalize(workload, catalog, statistics, enabled=workload.options.denormalize)
    if not probe.merges:  # (always, when the option is off: the join graph only)
        return probe
    first = _run(_passes(workload, version, statistics, None), workload, version, None)
    served = {
        queryid
        for finding in first.report.findings
        if finding.code in _ANSWERED
        for queryid in finding.queryids
    }
    return denormalize(workload, catalog, statistics, served)


# The threshold of Python's oldest generation while the engine runs (see below).
FULL_COLLECTION_THRESHOLD = 1000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def _few_full_collections() -> Iterator[None]:
    """Run the body with Python's full (oldest generation) collections made rare.

    Parsing a workload allocates millions of short-lived objects; each full collection then
    walks every live object (the catalog, the profiles…), and on a large workload they took
    a tenth of the engine's time while freeing almost nothing: sqlglot trees die young, in
    the cheap young-generation collections, which keep their thresholds. The thresholds are
    the process's, so the first of overlapping runs (threads) raises the oldest one and the
    last restores it; the garbage that reaches the oldest generation meanwhile is collected
    after. Nothing else of the interpreter's state is touched.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            young, middle, old = _gc_saved
            gc.set_threshold(young, middle, max(old, FULL_COLLECTION_THRESHOLD))
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


def _passes(
    workload: Workload,
    version: str,
    statistics: WorkloadStatistics | None = None,
    merged: Denormalized | None = None,
) -> Generator[str, None, AnalysisResult]:
    """The pipeline, yielding the name of each pass before running it. With `merged`, the
    passes see its wide tables in the facts' place, and the queries reading them."""
    yield "parse"
    originals = workload.queries
    if merged is not None and merged.merges:
        workload, statistics = merged.workload, merged.statistics
    ddl = parse_ddl(workload.ddl)
    catalog, catalog_issues = build_catalog(ddl, workload.url)
    schema = schema_name(workload.options.target_schema)
    names, _ = new_names(list(catalog.tables), catalog.session.catalog, schema)
    queries = []
    unparsed: list[ParsedQuery] = []
    early: dict[int, Rewrite] = {}
    aggregates: list[AggregateQuery] = []
    # the trees of queries a rollup may answer (and their `scan`), by index
    trees: dict[int, tuple[exp.Expr, Nodes | None]] = {}
    numbered: dict[int, list[Window]] = {}  # queries that keep the latest row per key
    # The trees (and scans) of queries a type fix may make rewrite, as parsed, by index; and
    # the columns compared with date-like strings or cast to numbers so far, which are those
    # a fix may change.
    unchanged: dict[int, tuple[exp.Expr, Nodes | None]] = {}
    dated: dict[TableName, set[str]] = {}
    # What the first query of each text found: a query repeated (the same text, another
    # queryid, runs or time) is not parsed nor walked again, its findings are the first's.
    firsts: dict[str, _First] = {}
    for batch in parse_batches(workload.queries):
        # Each pass runs over the whole batch before the next (see `parse_batches`).
        scanned = [(i, q, p, *_scanned(p, catalog)) for i, q, p in batch if p is not None]
        staged = [
            _Staged(i, q, p, profile_query(p, catalog, nodes, resolver), nodes, resolver)
            for i, q, p, nodes, resolver in scanned
        ]
        for one in staged:
            one.recognize(catalog, statistics)
        for one in staged:
            one.find_windows(catalog)
        for one in staged:
            one.restructure(catalog)
        for one in staged:
            one.print_early(names, catalog.session)
        by_index = {one.index: one for one in staged}
        for index, query, _ in batch:
            first = firsts.get(query.query) if isinstance(query.query, str) else None
            if first is not None:
                profiled = first.repeat(index, query, unparsed, aggregates, numbered, early)
                queries.append(profiled)
                continue
            one = by_index[index]
            parsed, profiled = one.parsed, one.profiled
            if parsed.error is not None:
                unparsed.append(parsed)
            queries.append(profiled)
            if one.aggregate is not None:
                aggregates.append(one.aggregate)
                if one.kept and one.statement is not None:
                    trees[index] = (one.statement, one.nodes)
            if one.windows:
                numbered[index] = one.windows
            if one.rewritten is not None:
                early[index] = one.rewritten
            for use in profiled.uses:
                if use.date_like or use.cast_to is not None:
                    dated.setdefault(use.table, set()).add(use.column)
            if (
                one.untouched
                and dated
                and one.statement is not None
                and index not in trees
                and index not in numbered
                and _may_be_fixed(profiled, dated)
            ):
                unchanged[index] = (one.statement, one.nodes)
            if isinstance(query.query, str):
                firsts[query.query] = _First(
                    parsed.error, profiled, one.aggregate, numbered.get(index), one.rewritten
                )
    firsts.clear()

    yield "profile"
    profile, profile_issues = summarize(queries)

    yield "recommend"
    latest = _plan_latest(profile, catalog, names, numbered, statistics)
    # The queries that read latest rows, with the latest tables in place of their windows:
    # joins of plain tables, which a rollup may answer (read from the latest tables).
    rolled = catalog
    inlined: dict[int, str] = {}
    if latest:
        rolled, rolled_statistics = _with_latest(catalog, latest, statistics)
        by_window = {t.window: t for t in latest}
        for index in numbered:
            query = workload.queries[index]
            parsed = parse_query(query, index)
            if parsed.statement is None or not might_aggregate(queries[index].words):
                continue
            if not inline_latest(parsed.statement, by_window, _known(catalog)):
                continue
            aggregate = recognize(
                parsed.statement,
                rolled,
                index=index,
                queryid=query.queryid,
                runs=max(queries[index].runs, 1.0),
            )
            if aggregate is not None:
                aggregates.append(aggregate)
                inlined[index] = trino_sql(parsed.statement)
    else:
        rolled_statistics = statistics
    plan = plan_rollups(
        aggregates,
        rolled,
        catalog_name=catalog.session.catalog,
        schema=schema,
        taken=[*names.values(), *(t.name for t in latest)],
        statistics=rolled_statistics,
    )
    plan = _rollups_from_sources(plan, latest)
    results, unstored = (
        ([], {})
        if not workload.options.store_results
        else plan_results(
            profile,
            catalog,
            served=plan.serving,
            catalog_name=catalog.session.catalog,
            schema=schema,
            taken=[*names.values(), *(t.name for t in latest), *(r.name for r in plan.rollups)],
            statistics=statistics,
        )
    )
    stored = {index: result for result in results for index in result.indexes}
    # The tables' layout serves the queries that still read them, not those a rollup or a
    # stored result answers.
    if plan.serving or stored:
        unserved = [q for q in queries if q.index not in plan.serving and q.index not in stored]
        base_profile, _ = summarize(unserved)
    else:
        base_profile = profile
    answered = {
        name
        for name, usage in profile.usage.items()
        if usage.queryids and ((left := base_profile.usage.get(name)) is None or not left.queryids)
    }
    advice = advise(catalog, base_profile, answered=answered)
    fixes = {
        name: {f.column: f.new_type for f in a.type_fixes}
        for name, a in advice.items()
        if a.type_fixes
    }
    adaptation = adapt_type_fixes(profile, catalog, fixes, names, unchanged)
    unchanged.clear()
    if adaptation.refused or adaptation.declined:
        # a query could not keep its results: no fix on its tables (or on that column)
        advice = advise(catalog, base_profile, adaptation.refused, adaptation.declined, answered)
    partitioned = {n for n, t in catalog.tables.items() if time_partitioned(t)}
    weights: dict[str, float] = {}
    for read in profile.queries:
        weights[read.queryid] = weights.get(read.queryid, 0.0) + read.weight
    advice = size_all(advice, statistics, partitioned, profile.total_weight, weights)
    advice = with_bloom_filters(advice, statistics, catalog.session.catalog)
    layout, layout_issues = plan_layout(catalog, workload.options.target_schema, advice)
    create = [layout.create_schema_sql()]
    create += [layout.create_table_sql(t) for t in layout.targets.values()]
    sliced = slicings(layout.targets, statistics)
    copies = migrations(layout.targets.values(), sliced)

    yield "rewrite"
    rewrites = rewrite_queries(profile, layout, catalog, early, adaptation.rewrites)
    rewrites, plan = _answer_from_rollups(workload, rolled, rewrites, plan, inlined, trees)
    rewrites = _answer_from_results(rewrites, stored)
    rewrites, latest = _answer_from_latest(
        profile, layout, catalog, rewrites, numbered, {*plan.serving, *stored}, latest
    )
    create += [t.create_sql() for t in latest]
    copies += [t.insert_sql() for t in latest]
    create += [r.create_sql() for r in plan.rollups]
    copies += [r.insert_sql() for r in plan.rollups]
    create += [r.create_sql() for r in results]
    copies += [r.insert_sql() for r in results]
    if merged is not None and merged.merges:
        create = [merged.inline(s) for s in create]
        copies = [merged.inline(s) for s in copies]
        rewrites = [
            _unmerged(r, original, merged) for r, original in zip(rewrites, originals, strict=True)
        ]

    yield "report"
    report = build_report(
        catalog=catalog,
        layout=layout,
        profile=profile,
        rewrites=rewrites,
        issues=[
            *parse_issues(ddl, unparsed),
            *catalog_issues,
            *layout_issues,
            *profile_issues,
            *statistics_issues(statistics, advice),
            *slicing_issues(layout.targets, sliced),
            *rollup_issues(plan),
            *latest_issues(latest),
            *result_issues(results, unstored, profile.total_weight),
            *(merged.issues if merged is not None else ()),
        ],
        ddl_errors=sum(1 for d in ddl if d.error is not None),
        pre_aggregation=rollup_estimates(plan),
        stored_results=results_estimates(results, profile),
        statistics=statistics,
    )
    return AnalysisResult(
        ddl=tuple(SqlStatement(s) for s in create),
        migrations=tuple(SqlStatement(s) for s in copies),
        queries=tuple(RewrittenQuery(r.queryid, r.sql) for r in rewrites),
        report=report,
        meta=Meta(engine=ENGINE, version=version, parts=dict(PARTS)),
    )


def _unmerged(rewrite: Rewrite, original: Query, merged: Denormalized) -> Rewrite:
    """`rewrite`, or `original` as the user wrote it where the rewrite still reads a wide
    table by the name the passes saw it by (a query they returned as it came)."""
    if not merged.reads_wide(rewrite.sql):
        return rewrite
    return dataclasses.replace(
        rewrite,
        sql=original.query,
        status=UNCHANGED,
        reason="kept as written: it reads the tables as they are",
    )


def _answer_from_rollups(
    workload: Workload,
    catalog: Catalog,
    rewrites: list[Rewrite],
    plan: Plan,
    texts: Mapping[int, str] | None = None,
    trees: dict[int, tuple[exp.Expr, Nodes | None]] | None = None,
) -> tuple[list[Rewrite], Plan]:
    """The queries a rollup answers, rewritten to read it (from `texts` where a query was
    recognized in another form than it came); a rollup that answers none of them (every
    rewrite failed) is not built. `trees` holds the trees of queries as they came, where
    the caller kept them (with their `scan`): those are rewritten (and emptied) instead of
    parsed again."""
    answered: dict[int, Rewrite] = {}
    kept = trees if trees is not None else {}
    # the rewrites by query text and rollup (None: it cannot): a query repeated is rewritten once
    done: dict[tuple[str, TableName], exp.Expr | None] = {}
    answering: list[tuple[int, str, tuple[str, TableName], Rollup]] = []
    for index, rollup in plan.serving.items():
        query = workload.queries[index]
        statement, nodes = kept.pop(index, (None, None))
        if texts and index in texts:
            query = dataclasses.replace(query, query=texts[index])
            statement = nodes = None
        key = (query.query, rollup.name)
        if key not in done:
            if statement is None:
                statement = parse_query(query, index).statement
            if statement is None:
                continue
            try:
                done[key] = rewrite_for_rollup(statement, rollup, catalog, nodes)
            except ValueError:
                done[key] = None
        if done[key] is not None:
            answering.append((index, query.queryid, key, rollup))
    # printed in a row, once all are rewritten (as the queries are parsed: see `parse_batches`)
    printed = {key: trino_sql(tree, copy=False) for key, tree in done.items() if tree is not None}
    for index, queryid, key, rollup in answering:
        reason = f"answered from the rollup {rollup.name.sql()} (pre-aggregated)"
        answered[index] = Rewrite(queryid, printed[key], REWRITTEN, reason, ("pre_aggregated",))
    kept.clear()
    plan = with_serving(plan, answered)
    served = {i: r for i, r in answered.items() if i in plan.serving}
    return [served.get(i, r) for i, r in enumerate(rewrites)], plan


def _answer_from_results(rewrites: list[Rewrite], stored: Mapping[int, Result]) -> list[Rewrite]:
    """The queries whose result a table holds, rewritten to read it (see `results`)."""
    if not stored:
        return rewrites
    answered = list(rewrites)
    for index, result in stored.items():
        reason = f"answered from {result.name.sql()}, which holds its result"
        kinds = ("materialized_result",)
        answered[index] = Rewrite(
            rewrites[index].queryid, result.read_sql(), REWRITTEN, reason, kinds
        )
    return answered


def _scanned(parsed: ParsedQuery, catalog: Catalog) -> tuple[Nodes | None, Resolver | None]:
    """The nodes of a parsed query (`scan`) and a resolver of it, shared by the passes."""
    if parsed.statement is None:
        return None, None
    nodes = scan(parsed.statement)
    return nodes, Resolver(parsed.statement, catalog, nodes.ctes)


@dataclasses.dataclass(slots=True)
class _Staged:
    """What the per-query passes of `_passes` find for the first query of a text, pass by
    pass over a batch (see `parse_batches`)."""

    index: int
    query: Query
    parsed: ParsedQuery
    profiled: QueryProfile
    nodes: Nodes | None = None  # one scan and one resolver for the passes below
    resolver: Resolver | None = None
    aggregate: AggregateQuery | None = None
    # whether the tree is kept for a rollup to answer the query (see `trees` in `_passes`)
    kept: bool = False
    windows: list[Window] | None = None
    early: EarlyRewrite | None = None  # restructured, to print
    rewritten: Rewrite | None = None
    untouched: bool = True  # the tree is as parsed: no early rewrite changed it

    @property
    def statement(self) -> exp.Expr | None:
        return self.parsed.statement

    def recognize(self, catalog: Catalog, statistics: WorkloadStatistics | None) -> None:
        """What a rollup needs to answer the query, if one may."""
        profiled, statement = self.profiled, self.statement
        if not profiled.reads_only or statement is None or not might_aggregate(profiled.words):
            return
        self.aggregate = recognize(
            statement,
            catalog,
            index=self.index,
            queryid=self.query.queryid,
            runs=max(profiled.runs, 1.0),
            nodes=self.nodes,
        )
        # The tree of a query a rollup may answer is kept for its rewrite, unless
        # `rewrite_early` changes it in place (it runs only where `needs_tree`).
        self.kept = (
            self.aggregate is not None
            and not profiled.needs_tree
            and may_be_answered(self.aggregate, catalog, statistics)
        )

    def find_windows(self, catalog: Catalog) -> None:
        """The windows keeping the latest row per key, if the query has any."""
        profiled, statement = self.profiled, self.statement
        if profiled.reads_only and statement is not None and "row_number" in profiled.words:
            found = windows_of(statement, _known(catalog))
            if found:
                self.windows = [w for w, _ in found]

    def restructure(self, catalog: Catalog) -> None:
        """The rewrites that need no advice (see `restructure_early`), made in place."""
        if self.profiled.needs_tree and self.statement is not None:
            self.early, self.untouched = restructure_early(
                self.statement, self.profiled, catalog, self.nodes, self.resolver
            )

    def print_early(self, names: Mapping[TableName, TableName], session: Session) -> None:
        """The early rewrite printed, reading the new tables."""
        if self.early is not None:
            self.rewritten = self.early.printed(names, session)
            self.early = None


@dataclasses.dataclass(frozen=True, slots=True)
class _First:
    """What the profile pass found for the first query of a text (see `_passes`): all of it
    depends on the text alone, but for the query's position, queryid, runs and time."""

    error: str | None
    profiled: QueryProfile
    aggregate: AggregateQuery | None
    windows: list[Window] | None
    early: Rewrite | None

    def repeat(
        self,
        index: int,
        query: Query,
        unparsed: list[ParsedQuery],
        aggregates: list[AggregateQuery],
        numbered: dict[int, list[Window]],
        early: dict[int, Rewrite],
    ) -> QueryProfile:
        """The profile of `query`, of the same text, at `index`; what the first query added
        to the other findings, added for this one. Its tree is not kept: a rollup or a type
        fix that rewrites it parses it again."""
        if self.error is not None:
            unparsed.append(ParsedQuery(index, query, None, self.error))
        profiled = dataclasses.replace(
            self.profiled,
            queryid=query.queryid,
            index=index,
            weight=query_weight(query),
            runs=query_runs(query),
        )
        if self.aggregate is not None:
            aggregates.append(
                dataclasses.replace(
                    self.aggregate,
                    index=index,
                    queryid=query.queryid,
                    runs=max(profiled.runs, 1.0),
                )
            )
        if self.windows is not None:
            numbered[index] = list(self.windows)
        if self.early is not None:
            early[index] = dataclasses.replace(self.early, queryid=query.queryid)
        return profiled


def _may_be_fixed(query: QueryProfile, dated: Mapping[TableName, set[str]]) -> bool:
    """Whether `adapt_type_fixes` may rewrite `query` (a cheap test: only its speed depends
    on it): it reads a table with a column compared with date-like strings or cast to a
    number (the columns a type fix changes) and names that column, or selects * from the
    table."""
    if query.error is not None or not query.reads_only or query.unknown:
        return False
    text = ""
    for name in query.known:
        columns = dated.get(name)
        if not columns:
            continue
        if any(u.column == "*" and u.table == name for u in query.uses):
            return True
        text = text or query.text.lower()
        if any(c in text for c in columns):
            return True
    return False


def _known(catalog: Catalog) -> Callable[[Sequence[str]], TableName | None]:
    """A table name's source table, when the DDL defines it."""

    def resolve(parts: Sequence[str]) -> TableName | None:
        name = catalog.session.resolve(parts)
        return name if catalog.get(name) is not None else None

    return resolve


def _plan_latest(
    profile: Profile,
    catalog: Catalog,
    names: Mapping[TableName, TableName],
    numbered: Mapping[int, Sequence[Window]],
    statistics: WorkloadStatistics | None,
) -> list[LatestTable]:
    """The latest tables worth building for the queries that number a history (see
    `latest`), named in the new schema beside their source's new table."""
    if not numbered:
        return []
    uses: dict[Window, list[tuple[str, float]]] = {}
    for index, windows in numbered.items():
        query = profile.queries[index]
        for window in dict.fromkeys(windows):
            uses.setdefault(window, []).append((query.queryid, query.weight))
    targets = {
        source: (names[source], tuple(c.key for c in table.columns))
        for source, table in catalog.tables.items()
        if source in names
    }
    rows = {
        name: t.rows
        for name, t in (statistics.tables.items() if statistics is not None else ())
        if t.rows is not None
    }
    return plan_latest(
        uses,
        total_weight=profile.total_weight,
        targets=targets,
        taken=names.values(),
        source_rows=rows,
    )


def _rollups_from_sources(plan: Plan, latest: Sequence[LatestTable]) -> Plan:
    """The rollups planned over latest tables, filled from the sources instead: each latest
    table in their FROM becomes the query that computes its rows, so that every migration
    reads the source tables only, and no latest table is built for a rollup alone."""
    derived = {t.name: t for t in latest}
    changed: dict[int, Rollup] = {}
    for rollup in plan.rollups:
        if not any(n in derived for n in rollup.source.tables):
            continue
        tree = sqlglot.parse_one(f"SELECT 1 {rollup.source.sql}", read=TRINO)
        for table in list(tree.find_all(exp.Table)):
            parts = name_parts(table)
            name = TableName.of(*parts) if parts and len(parts) == 3 else None
            if name is None or name not in derived:
                continue
            computed = sqlglot.parse_one(derived[name].select_sql(), read=TRINO)
            alias = table.args.get("alias")
            table.replace(exp.Subquery(this=computed, alias=alias.copy() if alias else None))
        text = trino_sql(tree).removeprefix("SELECT 1 ")
        source = dataclasses.replace(rollup.source, sql=text)
        changed[id(rollup)] = dataclasses.replace(rollup, source=source)
    if not changed:
        return plan
    return dataclasses.replace(
        plan,
        rollups=tuple(changed.get(id(r), r) for r in plan.rollups),
        serving={i: changed.get(id(r), r) for i, r in plan.serving.items()},
    )


def _with_latest(
    catalog: Catalog, latest: Sequence[LatestTable], statistics: WorkloadStatistics | None
) -> tuple[Catalog, WorkloadStatistics | None]:
    """The catalog with the latest tables as tables a rollup may read (their source's
    columns), and statistics for them: a row per key, each column at most that many values."""
    tables = dict(catalog.tables)
    found = dict(statistics.tables) if statistics is not None else {}
    for table in latest:
        source = catalog.tables[table.window.source]
        tables[table.name] = dataclasses.replace(source, name=table.name, properties=())
        stats = found.get(table.window.source)
        if stats is None:
            continue
        key = stats.column(table.window.keys[0]) if len(table.window.keys) == 1 else None
        rows = min(key.distinct, stats.rows or key.distinct) if key and key.distinct else None
        if rows is None:
            found[table.name] = dataclasses.replace(stats, partitioning=(), sorted_by=())
            continue
        columns = {
            name: dataclasses.replace(c, distinct=min(c.distinct, rows) if c.distinct else None)
            for name, c in stats.columns.items()
        }
        found[table.name] = dataclasses.replace(
            stats, rows=rows, columns=columns, partitioning=(), sorted_by=()
        )
    extended = dataclasses.replace(catalog, tables=tables)
    if statistics is None:
        return extended, None
    return extended, dataclasses.replace(statistics, tables=found)


def _answer_from_latest(
    profile: Profile,
    layout: Layout,
    catalog: Catalog,
    rewrites: list[Rewrite],
    numbered: Mapping[int, Sequence[Window]],
    elsewhere: Collection[int],
    latest: Sequence[LatestTable],
) -> tuple[list[Rewrite], list[LatestTable]]:
    """The queries that number a history to keep its latest rows and that nothing else
    answers (a rollup, a stored result: positions in `elsewhere`), rewritten to read a table
    of those rows (see `latest`). The latest tables built are those a rewrite reads (a
    rollup computes the latest rows from the source itself)."""
    by_window = {t.window: t for t in latest}
    sources = {target.name: source for source, target in layout.targets.items()}
    known = _known(catalog)

    def resolve(parts: Sequence[str]) -> TableName | None:
        name = catalog.session.resolve(parts)
        return sources.get(name) or known(parts)

    answered = list(rewrites)
    read: set[TableName] = set()
    for index in numbered:
        if index in elsewhere:
            continue
        rewrite = rewrites[index]
        try:
            statement = sqlglot.parse_one(rewrite.sql, read=TRINO)
            used = read_latest(statement, by_window, resolve)
            if not used:
                continue
            sql = trino_sql(statement)
        except (SqlglotError, ValueError):
            continue
        read.update(t.name for t in used)
        names = ", ".join(sorted({t.name.sql() for t in used}))
        reason = f"{rewrite.reason}; reads the latest rows per key from {names}"
        kinds = (*rewrite.kinds, "latest_rows")
        answered[index] = Rewrite(rewrite.queryid, sql, REWRITTEN, reason, kinds)
    return answered, [t for t in latest if t.name in read]


def _unchanged(workload: Workload, version: str, error: Exception) -> AnalysisResult:
    """The least a result can be: the new schema, and every query returned as it came."""
    try:
        catalog = normalize(workload.catalog or "") or DEFAULT_CATALOG
    except (ValueError, AttributeError):
        catalog = DEFAULT_CATALOG
    schema = normalize((workload.options.target_schema or "").strip()) or DEFAULT_TARGET_SCHEMA
    queryids = tuple(q.queryid for q in workload.queries)
    finding = Finding(
        id="F001",
        code="internal_error",
        severity=Severity.ERROR,
        title="The analysis failed; every query is returned unchanged",
        rationale="The engine hit an error it did not expect, so it proposes no change.",
        queryids=queryids,
        weight_share=1.0 if queryids else 0.0,
        details={"message": f"{type(error).__name__}: {error}"[:300]},
    )
    reason = "returned unchanged: the analysis failed"
    return AnalysisResult(
        ddl=(SqlStatement(Layout(catalog, schema).create_schema_sql()),),
        migrations=(),
        queries=tuple(RewrittenQuery(q.queryid, q.query) for q in workload.queries),
        report=Report(
            summary="The analysis failed, so no change is proposed: "
            f"{len(queryids)} queries are returned unchanged.",
            findings=(finding,),
            verification={
                "method": "none: nothing was changed",
                "executed": False,
                "queries": [
                    {"queryid": q, "status": UNCHANGED, "reason": reason} for q in queryids
                ],
            },
        ),
        meta=Meta(engine=ENGINE, version=version, parts=dict(PARTS)),
    )
