"""Report pass: what was done, what was noticed, what it is worth and how it was checked.

Decides how the passes' issues are presented. Findings are numbered ``F001``, ``F002``… in
pipeline order (parse, catalog, layout, profile), so the same workload always gets the same
ids, and each carries the share of the workload's weight its queries account for.

The baseline estimates no gain: it keeps every table's columns and layout, so each query
reads the same data as before; the estimates give each query's weight and share instead,
which is what the advisor will rank its recommendations by. Its verification is structural:
a retargeted query differs from the original only in table names, and each new table holds
the source's rows once the migrations have run, so it returns the same rows by construction.

>>> from domain.analysis.findings import Issue, Severity
>>> findings = number_findings([Issue("parse_error", Severity.ERROR, "t", "r")], {}, 0.0)
>>> findings[0].id
'F001'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from domain.analysis.catalog import Catalog
from domain.analysis.findings import Issue
from domain.analysis.layout import Layout
from domain.analysis.profile import Profile
from domain.analysis.retarget import PARTIALLY_RETARGETED, RETARGETED, UNCHANGED, Rewrite
from domain.result import Finding, Report

__all__ = ["build_report", "number_findings"]

_WEIGHT_METHOD = (
    "weight = runquantity × executiontime, a missing executiontime counting as 1; "
    "weight_share = the query's weight / the workload's total weight"
)
_VERIFICATION_METHOD = (
    "structural: a retargeted query differs from the original only in the names of the "
    "tables it reads (a renamed table keeps its old name as alias), and each new table holds "
    "exactly the rows of its source table once the migrations have run, so the query returns "
    "the same rows by construction; queries were not executed"
)
_DATA_READ = (
    "unchanged: the baseline keeps each table's columns, partitioning and sort order, so "
    "each query reads the same data as before (only the storage format becomes Parquet)"
)


def build_report(
    *,
    catalog: Catalog,
    layout: Layout,
    profile: Profile,
    rewrites: Sequence[Rewrite],
    issues: Sequence[Issue],
    ddl_errors: int,
) -> Report:
    weights: dict[str, float] = {}
    for query in profile.queries:
        weights[query.queryid] = weights.get(query.queryid, 0.0) + query.weight
    findings = number_findings(issues, weights, profile.total_weight)
    return Report(
        summary=_summary(layout, rewrites, findings, ddl_errors),
        findings=tuple(findings),
        estimates=_estimates(catalog, layout, profile),
        verification=_verification(rewrites),
    )


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
    layout: Layout, rewrites: Sequence[Rewrite], findings: Sequence[Finding], ddl_errors: int
) -> str:
    counts = Counter(r.status for r in rewrites)
    schema = f"{layout.catalog}.{layout.schema}"
    tables = len(layout.targets)
    queries = len(rewrites)
    sentences = [
        f"Baseline layout: {tables} table{'s' if tables != 1 else ''} copied, with the same "
        f"columns and layout, into Iceberg tables stored as Parquet in {schema}; of "
        f"{queries} quer{'ies' if queries != 1 else 'y'}, {counts[RETARGETED]} "
        f"retargeted to the new tables, {counts[PARTIALLY_RETARGETED]} partly retargeted "
        f"(they read tables outside the DDL) and {counts[UNCHANGED]} returned unchanged.",
        "No layout change is recommended yet, so each query reads the same data as before.",
    ]
    if ddl_errors:
        sentences.append(f"{ddl_errors} DDL statement(s) could not be parsed.")
    attention = sum(1 for f in findings if f.severity != "info")
    if attention:
        sentences.append(f"{attention} finding(s) need attention.")
    return " ".join(sentences)


def _estimates(catalog: Catalog, layout: Layout, profile: Profile) -> dict[str, Any]:
    total = profile.total_weight
    return {
        "method": _WEIGHT_METHOD,
        "total_weight": total,
        "queries": [
            {"queryid": q.queryid, "weight": q.weight, "weight_share": _share(q.weight, total)}
            for q in profile.queries
        ],
        "tables": [
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
        "data_read": _DATA_READ,
        "data_read_change": 0.0,
    }


def _verification(rewrites: Sequence[Rewrite]) -> dict[str, Any]:
    counts = Counter(r.status for r in rewrites)
    return {
        "method": _VERIFICATION_METHOD,
        "executed": False,
        "counts": {s: counts[s] for s in (RETARGETED, PARTIALLY_RETARGETED, UNCHANGED)},
        "queries": [
            {"queryid": r.queryid, "status": r.status, "reason": r.reason} for r in rewrites
        ],
    }
