"""Report pass: what was done, what was noticed, what it is worth and how it was checked.

Decides how the passes' issues are presented. Findings are numbered ``F001``, ``F002``… in
pipeline order (parse, catalog, layout, profile), so the same workload always gets the same
ids, and each carries the share of the workload's weight its queries account for.

The advice becomes findings, one per decision and table, each with the queries behind it and
their share of the weight: ``partition_recommended``, ``sort_recommended``, ``type_fix``,
``layout_unchanged``, ``full_scan`` (queries that filter a table on nothing a layout could
prune), ``unused_columns`` (never read; kept, as no column is dropped), ``type_fix_refused``
(a type fix the queries suggest, not made because some query could not keep its results
under it, or shows the column holds more than the new type), and, from the rewrite stage,
``predicate_rewritten`` and ``order_by_dropped``.
Severity follows the weight share: a warning from `ATTENTION_SHARE` of the workload on, else
info.

The estimates price the layout (see `domain.analysis.estimate`): the share of data read
before and after, per query, per table and overall. Verification is structural: a retargeted
query differs only in table names; a rewritten one by the equivalences of the `restructure`
pass, which the test suite checks by running both forms in DuckDB. When the task's options ask
for it (`verify`, the default), the verification step that follows the engine runs every
statement on generated data and replaces this section (see `domain.verification.merge`).

>>> from domain.analysis.findings import Issue, Severity
>>> findings = number_findings([Issue("parse_error", Severity.ERROR, "t", "r")], {}, 0.0)
>>> findings[0].id
'F001'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlglot import exp

from domain.analysis.advise import KeptType, TypeFix
from domain.analysis.catalog import Catalog
from domain.analysis.estimate import estimate
from domain.analysis.findings import Issue, Severity
from domain.analysis.layout import Layout, TargetTable
from domain.analysis.migrate import SPLIT_TRANSFORMS
from domain.analysis.names import TableName, trino_sql
from domain.analysis.profile import Profile
from domain.analysis.restructure import ORDER_BY_DROPPED, PREDICATE_REWRITTEN, TYPE_FIXED
from domain.analysis.retarget import (
    PARTIALLY_RETARGETED,
    RETARGETED,
    REWRITTEN,
    UNCHANGED,
    Rewrite,
)
from domain.analysis.usage import NUMBER_TYPES
from domain.result import Finding, Report
from domain.statistics import WorkloadStatistics

__all__ = ["ATTENTION_SHARE", "advice_issues", "build_report", "number_findings", "rewrite_issues"]

ATTENTION_SHARE = 0.25
TRINO_VERSION = "Trino 4xx (Iceberg connector: format, format_version, partitioning, sorted_by)"
_WRITERS = (
    "Trino's Iceberg writer fails an INSERT that opens more than "
    "iceberg.max-partitions-per-writer (100 by default) partitions per writer. A target "
    "partitioned by month, day or hour is filled by 13 INSERTs (one per calendar month, one "
    "for NULL), each opening one calendar month's partitions, unless the statistics show its "
    "partitions fit one writer (then one INSERT); buckets are 16. If the data "
    "spans many years (or day partitions over 3 years), raise the limit for the migration "
    "session: SET SESSION <catalog>.max_partitions_per_writer = 1000."
)

_WEIGHT_METHOD = (
    "weight = runquantity × executiontime, a missing executiontime counting as 1; "
    "weight_share = the query's weight / the workload's total weight"
)
_VERIFICATION_METHOD = (
    "structural: a retargeted query differs from the original only in the names of the "
    "tables it reads (a renamed table keeps its old name as alias), and each new table holds "
    "exactly the rows of its source table once the migrations have run (split migrations "
    "are disjoint and cover every row), so the query returns the same rows by construction; "
    "a rewritten query differs further only by the equivalences of the restructure pass "
    "(prunable ranges, ORDER BY without effect, fixed column types), each checked by the "
    "engine's test suite in DuckDB over generated data with NULLs and boundary values; "
    "queries were not executed against your data"
)


def build_report(
    *,
    catalog: Catalog,
    layout: Layout,
    profile: Profile,
    rewrites: Sequence[Rewrite],
    issues: Sequence[Issue],
    ddl_errors: int,
    pre_aggregation: Mapping[str, Any] | None = None,
    stored_results: Mapping[str, Any] | None = None,
    statistics: WorkloadStatistics | None = None,
) -> Report:
    weights: dict[str, float] = {}
    for query in profile.queries:
        weights[query.queryid] = weights.get(query.queryid, 0.0) + query.weight
    issues = [*issues, *advice_issues(layout, profile), *rewrite_issues(rewrites)]
    findings = number_findings(issues, weights, profile.total_weight)
    estimates = _estimates(catalog, layout, profile, statistics)
    if pre_aggregation:
        estimates["pre_aggregation"] = dict(pre_aggregation)
    if stored_results:
        estimates["stored_results"] = dict(stored_results)
    return Report(
        summary=_summary(layout, rewrites, findings, ddl_errors, estimates),
        findings=tuple(findings),
        estimates=estimates,
        verification=_verification(rewrites),
    )


def _severity(queryids: Sequence[str], weights: Mapping[str, float], total: float) -> Severity:
    share = _share(sum(weights.get(q, 0.0) for q in dict.fromkeys(queryids)), total)
    return Severity.WARNING if share >= ATTENTION_SHARE else Severity.INFO


def advice_issues(layout: Layout, profile: Profile) -> list[Issue]:
    """The findings the advice makes, table by table in DDL order."""
    weights: dict[str, float] = {}
    words: dict[TableName, set[str]] = {}  # the words of the queries naming each table
    for query in profile.queries:
        weights[query.queryid] = weights.get(query.queryid, 0.0) + query.weight
        for read in query.known:
            found = words.get(read)
            if found is None:
                found = words[read] = set()
            found.update(query.words)
    total = profile.total_weight
    issues: list[Issue] = []
    for source, target in layout.targets.items():
        usage = profile.usage.get(source)
        table = str(target.name)
        advice = target.advice
        if usage is not None and usage.full_scans:
            issues.append(
                Issue(
                    "full_scan",
                    _severity(usage.full_scans, weights, total),
                    f"{len(usage.full_scans)} quer{'ies' if len(usage.full_scans) != 1 else 'y'}"
                    f" read {source} whole",
                    "They filter the table on no column a partition or sort order could use, "
                    "so every layout reads all of it for them.",
                    table=table,
                    queryids=usage.full_scans,
                    effect="No layout change helps these queries; only a narrower query would.",
                )
            )
        if advice is not None and advice.partitioning:
            ids = tuple(dict.fromkeys(q for f in advice.partitioning for q in f.queryids))
            split = advice.temporal is not None and advice.temporal.transform in SPLIT_TRANSFORMS
            issues.append(
                Issue(
                    "partition_recommended",
                    _severity(ids, weights, total),
                    f"Partition {source} by {', '.join(f.spec() for f in advice.partitioning)}",
                    " ".join(f"{f.spec()}: {f.reason}." for f in advice.partitioning),
                    table=table,
                    queryids=ids,
                    effect="The queries filtering on these columns read only the partitions "
                    "they ask for (see estimates).",
                    risk=(_replaced(target) + _WRITERS).strip(),
                    details={
                        "partitioning": [f.spec() for f in advice.partitioning],
                        "migration_statements": 13 if split else 1,
                        "fields": [
                            {"spec": f.spec(), "reason": f.reason, "queryids": list(f.queryids)}
                            for f in advice.partitioning
                        ],
                    },
                )
            )
        if advice is not None and advice.sorted_by:
            ids = tuple(dict.fromkeys(q for k in advice.sorted_by for q in k.queryids))
            issues.append(
                Issue(
                    "sort_recommended",
                    _severity(ids, weights, total),
                    f"Sort {source} by {', '.join(k.column for k in advice.sorted_by)}",
                    " ".join(f"{k.reason}." for k in advice.sorted_by),
                    table=table,
                    queryids=ids,
                    effect="Files and row groups hold narrow ranges of the sort key, so "
                    "filters on it skip most of them.",
                    risk="Writes sort each file, which costs some write time.",
                    details={"sorted_by": [k.column for k in advice.sorted_by]},
                )
            )
        if advice is not None and advice.bloom_filter:
            ids = tuple(dict.fromkeys(q for k in advice.bloom_filter for q in k.queryids))
            columns = [k.column for k in advice.bloom_filter]
            issues.append(
                Issue(
                    "bloom_filter_recommended",
                    _severity(ids, weights, total),
                    f"Bloom filters on {', '.join(columns)} of {source}",
                    " ".join(f"{k.reason}." for k in advice.bloom_filter)
                    + " The table is not sorted by these keys first, so every row group holds some "
                    "of their range and min/max skip none; a Parquet bloom filter per row group "
                    "tells Trino which ones cannot hold the value looked up.",
                    table=table,
                    queryids=ids,
                    effect="Point lookups on these keys read only the row groups that may "
                    "hold the value.",
                    risk="A few KB per row group and column, and some write time.",
                    details={"parquet_bloom_filter_columns": columns},
                )
            )
        for fix in advice.type_fixes if advice is not None else ():
            new_type = trino_sql(fix.new_type)
            name = fix.sql_name
            if fix.new_type.this in NUMBER_TYPES:
                issues.append(_number_fix_issue(fix, str(source), table, weights, total))
                continue
            if fix.new_type.this == exp.DataType.Type.DATE:
                shape, back, length = "'YYYY-MM-DD'", f"CAST({name} AS varchar)", 10
                read_back = f"CAST(try_cast({name} AS date) AS varchar)"
            else:
                shape, back, length = (
                    "'YYYY-MM-DD HH:MM:SS'",
                    f"substr(CAST({name} AS varchar), 1, 19)",
                    19,
                )
                read_back = f"substr(CAST(try_cast({name} AS {new_type}) AS varchar), 1, 19)"
            check = (
                f"SELECT count(*) FROM {source} WHERE {name} IS NOT NULL AND "
                f"(length({name}) <> {length} OR try_cast({name} AS {new_type}) IS NULL OR "
                f"{read_back} <> {name})"
            )
            issues.append(
                Issue(
                    "type_fix",
                    _severity(fix.queryids, weights, total),
                    f"Store {source}.{name} as {new_type} instead of VARCHAR",
                    f"The queries compare {name} with {shape} literals only: it holds "
                    f"{'dates' if length == 10 else 'timestamps'}. As {new_type} it is "
                    "smaller, compares faster and can be partitioned and pruned by range; "
                    f"queries are rewritten to compare with {new_type} literals and to read "
                    f"{back} (the text it held) wherever the text is used.",
                    table=table,
                    queryids=fix.queryids,
                    effect="Range filters on the column become prunable.",
                    risk="The migration CASTs every value and fails (losing nothing) if one is "
                    f"not a {'date' if length == 10 else 'timestamp'}; run the check first: it "
                    f"must return 0 (it also proves every value is written as {shape}).",
                    details={
                        "column": name,
                        "from": fix.old_type,
                        "to": new_type,
                        "check": check,
                    },
                )
            )
        if advice is not None and advice.refused_fixes:
            columns = [f.sql_name for f in advice.refused_fixes]
            blocking = tuple(dict.fromkeys(q for q, _ in advice.refusals))
            suggested = (
                f"The queries compare {', '.join(columns)} with 'YYYY-MM-DD' literals "
                "only, so it could be stored as DATE"
                if all(f.new_type.this not in NUMBER_TYPES for f in advice.refused_fixes)
                else "The queries' uses suggest storing "
                + ", ".join(
                    f"{f.sql_name} as {trino_sql(f.new_type)}" for f in advice.refused_fixes
                )
            )
            issues.append(
                Issue(
                    "type_fix_refused",
                    Severity.WARNING,
                    f"{source}.{', '.join(columns)} kept as VARCHAR",
                    f"{suggested}, but "
                    f"{len(blocking)} quer{'ies' if len(blocking) != 1 else 'y'} read the "
                    "table in a way the rewrite cannot adapt to the new type; changing it "
                    "would change what they return, so the type is kept.",
                    table=table,
                    queryids=blocking,
                    effect="Every query keeps its results; range filters on the text "
                    "column still compare strings.",
                    risk="None; rewriting the blocking queries (list the columns of a "
                    "SELECT *, qualify the column) would let the fix be made.",
                    details={
                        "columns": columns,
                        "queries": [{"queryid": q, "reason": r} for q, r in advice.refusals],
                    },
                )
            )
        for kept in advice.kept_types if advice is not None else ():
            issues.append(_kept_type_issue(kept, str(source), table))
        if advice is not None and not advice.changed:
            issues.append(
                Issue(
                    "layout_unchanged",
                    Severity.INFO,
                    f"{source} keeps its layout",
                    f"Left as it is: {advice.unchanged_reason}.",
                    table=table,
                    queryids=usage.queryids if usage is not None else (),
                    effect="None: the copy keeps the source's partitioning and sort order.",
                )
            )
        unused = _unused(target, profile, words.get(source, set()))
        if unused:
            issues.append(
                Issue(
                    "unused_columns",
                    Severity.INFO,
                    f"{len(unused)} column(s) of {source} are never read",
                    "No query of the workload reads them; they are kept (a migration drops "
                    "no column), but a narrower table or view would read less.",
                    table=table,
                    details={"columns": unused},
                )
            )
    return issues


def _replaced(target: TargetTable) -> str:
    old = [p.name for p in target.source.properties if p.name in ("partitioning", "partitioned_by")]
    if not old:
        return ""
    return (
        "It replaces the source's partitioning, which no query of the workload filters by; "
        "queries outside the workload may have used it. "
    )


def _unused(target: TargetTable, profile: Profile, words: Collection[str]) -> list[str]:
    """Columns whose name no query reading the table contains (as a word): `words` are
    those of the queries naming it."""
    stats = profile.columns.get(target.source.name, {})
    usage = profile.usage.get(target.source.name)
    if usage is None or "*" in stats or not target.source.typed:
        return []
    return [c.sql_name for c in target.columns if c.key.isidentifier() and c.key not in words]


def rewrite_issues(rewrites: Sequence[Rewrite]) -> list[Issue]:
    by_kind: dict[str, list[str]] = {}
    for rewrite in rewrites:
        for kind in rewrite.kinds:
            by_kind.setdefault(kind, []).append(rewrite.queryid)
    texts = {
        PREDICATE_REWRITTEN: (
            "Predicates made prunable",
            "year(), CAST(… AS date), date() and date_trunc() comparisons on a date or "
            "timestamp column became ranges on the column itself, which partition and file "
            "pruning can use; each is equal to the original for every value, NULL included.",
        ),
        ORDER_BY_DROPPED: (
            "ORDER BY without effect dropped",
            "A subquery or CTE ordered its rows without LIMIT, OFFSET or FETCH; SQL gives that "
            "order no meaning, so dropping it saves a sort and changes no row.",
        ),
        TYPE_FIXED: (
            "Queries adapted to a fixed column type",
            "Date strings became DATE literals and other uses of the column read it back as "
            "varchar, so each query returns what it returned before.",
        ),
        "type_unfixed": (
            "Query not adapted to a fixed column type",
            "The query reads a column whose type changes and its rewrite failed although "
            "the fix was checked against it (an engine bug); it is only retargeted.",
        ),
    }
    issues = []
    for kind, (title, rationale) in texts.items():
        ids = by_kind.get(kind)
        if ids:
            issues.append(
                Issue(
                    kind if kind != "type_unfixed" else "type_fix_skipped",
                    Severity.WARNING if kind == "type_unfixed" else Severity.INFO,
                    f"{title} in {len(ids)} quer{'ies' if len(ids) != 1 else 'y'}",
                    rationale,
                    queryids=tuple(ids),
                    risk=""
                    if kind != "type_unfixed"
                    else "The column's type in its result changes from varchar to date.",
                )
            )
    return issues


def number_findings(
    issues: Sequence[Issue], weights: Mapping[str, float], total_weight: float
) -> list[Finding]:
    findings = []
    for number, issue in enumerate(issues, start=1):
        weight = sum(weights.get(q, 0.0) for q in dict.fromkeys(issue.queryids))
        findings.append(
            Finding(
                id=f"F{number:03d}",
                code=issue.code,
                severity=issue.severity,
                title=issue.title,
                rationale=issue.rationale,
                table=issue.table,
                queryids=issue.queryids,
                weight_share=_share(weight, total_weight),
                effect=issue.effect,
                risk=issue.risk,
                details=issue.details,
            )
        )
    return findings


def _share(weight: float, total: float) -> float:
    return round(weight / total, 6) if total > 0 else 0.0


def _summary(
    layout: Layout,
    rewrites: Sequence[Rewrite],
    findings: Sequence[Finding],
    ddl_errors: int,
    estimates: Mapping[str, Any],
) -> str:
    counts = Counter(r.status for r in rewrites)
    schema = f"{layout.catalog}.{layout.schema}"
    tables = len(layout.targets)
    changed = sum(1 for t in layout.targets.values() if t.advice is not None and t.advice.changed)
    queries = len(rewrites)
    read = estimates.get("data_read", {}).get("by_runquantity", {})
    sentences = [
        f"{tables} table{'s' if tables != 1 else ''} copied into Iceberg/Parquet tables in "
        f"{schema}: {changed} with a new layout chosen from the workload, "
        f"{tables - changed} left as they were. Of {queries} "
        f"quer{'ies' if queries != 1 else 'y'}, {counts[REWRITTEN]} rewritten for the new "
        f"layout, {counts[RETARGETED]} only retargeted, {counts[PARTIALLY_RETARGETED]} partly "
        f"retargeted (they read tables outside the DDL) and {counts[UNCHANGED]} returned "
        "unchanged.",
    ]
    if read:
        sentences.append(
            f"Estimated share of data read (weighted by runquantity): {read['before']:.0%} "
            f"before, {read['after']:.0%} after (model and assumptions in estimates)."
        )
    if ddl_errors:
        sentences.append(f"{ddl_errors} DDL statement(s) could not be parsed.")
    attention = sum(1 for f in findings if f.severity != "info")
    if attention:
        sentences.append(f"{attention} finding(s) need attention.")
    return " ".join(sentences)


def _estimates(
    catalog: Catalog, layout: Layout, profile: Profile, statistics: WorkloadStatistics | None
) -> dict[str, Any]:
    total = profile.total_weight
    return {
        "method": _WEIGHT_METHOD,
        "total_weight": total,
        "weights": [
            {"queryid": q.queryid, "weight": q.weight, "weight_share": _share(q.weight, total)}
            for q in profile.queries
        ],
        "table_weights": [
            {
                "table": str(target.name),
                "source": str(source),
                "queryids": len(profile.usage[source].queryids) if source in profile.usage else 0,
                "weight_share": _share(
                    profile.usage[source].weight if source in profile.usage else 0.0, total
                ),
            }
            for source, target in layout.targets.items()
            if catalog.get(source) is not None
        ],
        **_column_weights(catalog, layout, profile),
        **estimate(layout, profile, statistics),
        "trino": TRINO_VERSION,
        "compression": "left to the catalog's iceberg.compression-codec (ZSTD by default); "
        "the compression_codec table property exists only in recent releases",
        "migration_writers": _WRITERS,
    }


TOP_COLUMNS = 50
TOP_JOIN_PATHS = 20


def _column_weights(catalog: Catalog, layout: Layout, profile: Profile) -> dict[str, Any]:
    """Where the weight goes below the tables: the columns the queries filter or join on, and
    the join paths (the tables a query joins, by their join keys), each weighed once per query
    that uses it, heaviest first (at most `TOP_COLUMNS` and `TOP_JOIN_PATHS`).

    >>> from domain.analysis.engine import analyze
    >>> from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
    >>> w = Workload("jdbc:trino://h:1?catalog=l", (DdlStatement("CREATE TABLE l.s.a (k int)"),
    ...     DdlStatement("CREATE TABLE l.s.b (k int, v int)")),
    ...     (Query("q", "SELECT * FROM l.s.a JOIN l.s.b ON a.k = b.k WHERE v = 1"),),
    ...     AnalysisOptions())
    >>> [j["path"] for j in analyze(w).report.estimates["join_weights"]]
    ['l.optimized.a.k ⋈ l.optimized.b.k']
    """
    weights = {q.queryid: q.weight for q in profile.queries}
    total = profile.total_weight
    names = {
        source: str(target.name)
        for source, target in layout.targets.items()
        if catalog.get(source) is not None
    }
    columns: list[dict[str, Any]] = []
    for source, stats in profile.columns.items():
        if source not in names:
            continue
        for column, stat in stats.items():
            if column == "*":
                continue
            queryids = stat.ids(*stat.queryids)
            columns.append(
                {
                    "table": names[source],
                    "column": column,
                    "uses": sorted(stat.queryids),
                    "queryids": len(queryids),
                    "weight_share": _share(sum(weights[q] for q in queryids), total),
                }
            )
    paths: dict[tuple[str, ...], list[str]] = {}
    for query in profile.queries:
        keys = sorted(
            {
                f"{names[use.table]}.{use.column}"
                for use in query.uses
                if use.kind == "join" and use.table in names
            }
        )
        if len({key.rsplit(".", 1)[0] for key in keys}) > 1:
            paths.setdefault(tuple(keys), []).append(query.queryid)
    joins: list[dict[str, Any]] = [
        {
            "path": " ⋈ ".join(keys),
            "tables": sorted({key.rsplit(".", 1)[0] for key in keys}),
            "queryids": len(queryids),
            "weight_share": _share(sum(weights[q] for q in queryids), total),
        }
        for keys, queryids in paths.items()
    ]
    columns.sort(key=lambda c: (-c["weight_share"], c["table"], c["column"]))
    joins.sort(key=lambda j: (-j["weight_share"], j["path"]))
    return {"column_weights": columns[:TOP_COLUMNS], "join_weights": joins[:TOP_JOIN_PATHS]}


def _verification(rewrites: Sequence[Rewrite]) -> dict[str, Any]:
    counts = Counter(r.status for r in rewrites)
    return {
        "method": _VERIFICATION_METHOD,
        "executed": False,
        "counts": {s: counts[s] for s in (REWRITTEN, RETARGETED, PARTIALLY_RETARGETED, UNCHANGED)},
        "queries": [
            {"queryid": r.queryid, "status": r.status, "reason": r.reason} for r in rewrites
        ],
    }


_FLOATING = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


def number_check(source: str, column: str, new_type: exp.DataType) -> str:
    """The query that proves a varchar column may be stored as the number type `new_type`
    with every query keeping its rows: the count of values that do not convert or — for an
    integer or a decimal, whose text the rewritten queries read back as ``CAST(col AS
    varchar)`` — that are not written as Trino prints that number. It must return 0. A
    double's text is never read back (see `advise`): converting is enough."""
    type_sql = trino_sql(new_type)
    failing = f"try_cast({column} AS {type_sql}) IS NULL"
    if new_type.this not in _FLOATING:
        failing += f" OR CAST(try_cast({column} AS {type_sql}) AS varchar) <> {column}"
    return f"SELECT count(*) FROM {source} WHERE {column} IS NOT NULL AND ({failing})"


def _number_fix_issue(
    fix: TypeFix, source: str, table: str, weights: Mapping[str, float], total: float
) -> Issue:
    new_type = trino_sql(fix.new_type)
    name = fix.sql_name
    floating = fix.new_type.this in _FLOATING
    decimals = (
        ", every decimal of its scale" if fix.new_type.this == exp.DataType.Type.DECIMAL else ""
    )
    shape = (
        f"the number written as Trino prints a {new_type} (no leading zero, '+' or space{decimals})"
    )
    read_back = (
        "No query reads its text, which a floating type would print otherwise (1.0E2)."
        if floating
        else f"Wherever a query reads the text, it reads CAST({name} AS varchar), the text it held."
    )
    return Issue(
        "type_fix",
        _severity(fix.queryids, weights, total),
        f"Store {source}.{name} as {new_type} instead of VARCHAR",
        f"The queries use {name} only as CAST({name} AS {new_type}) or as a whole text: it "
        f"holds numbers. As {new_type} it is smaller and needs no conversion at every read; "
        f"the casts become the column itself. {read_back}",
        table=table,
        queryids=fix.queryids,
        effect="No text is parsed into a number at each read; the column compresses better "
        "and its min/max statistics order numbers.",
        risk="The migration CASTs every value and fails (losing nothing) if one is not a "
        "number; run the check first: it must return 0."
        if floating
        else "The migration CASTs every value and fails (losing nothing) if one is not a "
        f"number; run the check first: it must return 0 (it also proves every value is "
        f"{shape}, so the text read back is the text stored).",
        details={
            "column": name,
            "from": fix.old_type,
            "to": new_type,
            "check": number_check(source, name, fix.new_type),
        },
    )


def _kept_type_issue(kept: KeptType, source: str, table: str) -> Issue:
    fix = kept.fix
    blocking = tuple(dict.fromkeys(q for q, _ in kept.reasons))
    return Issue(
        "type_fix_refused",
        Severity.INFO,
        f"{source}.{fix.sql_name} kept as VARCHAR",
        f"The queries cast {fix.sql_name} to {trino_sql(fix.new_type)}, so it may hold "
        f"numbers, but {len(blocking)} quer{'ies' if len(blocking) != 1 else 'y'} show it "
        "may hold more (or be read otherwise) than that type gives back; the type is kept.",
        table=table,
        queryids=blocking,
        effect="Every query keeps its results; the text is still converted at every read.",
        risk="None.",
        details={
            "columns": [fix.sql_name],
            "to": trino_sql(fix.new_type),
            "queries": [{"queryid": q, "reason": r} for q, r in kept.reasons],
        },
    )
