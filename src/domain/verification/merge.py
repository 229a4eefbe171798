"""The result as verified: rewrites that returned other rows replaced, the report told.

For each query the first candidate that did not differ is returned (the result's own rewrite,
else the plainly retargeted original); when every candidate differed, the original text is
returned, reading the source tables the service never changes, so it still returns exactly
its rows. A table that only withdrawn rewrites read (a rollup) is no longer created or filled;
copies of the source tables always are. `report.verification` gets the method, the engine,
the seed, the tables' row counts, each migration's check and each query's outcome; the summary
says what was found and a ``rewrite_replaced`` finding lists the queries whose rewrite was
withdrawn.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.names import normalize
from domain.result import (
    AnalysisResult,
    Finding,
    Report,
    RewrittenQuery,
    Severity,
    SqlStatement,
)
from domain.verification.model import (
    DIFFERS,
    EMPTY,
    NOT_VERIFIABLE,
    OUTCOMES,
    UNCHANGED,
    VERIFIED,
    CandidateOutcome,
    MigrationCheck,
    QueryCheck,
    QueryVerification,
    Verification,
)

__all__ = ["EXECUTED_METHOD", "verified_result"]

RETARGETED = "retargeted"
RETURNED_UNCHANGED = "unchanged"

EXECUTED_METHOD = (
    "executed on generated data: the source tables built from the input DDL and filled with "
    "rows from a fixed seed, made so that the queries find rows (their literals, time ranges, "
    "join keys that meet, NULLs, skew; shaped by the tables' statistics when they were read); "
    "the new DDL and the migrations run on them; each original query run on the source tables "
    "and its rewrite on the new ones, and the results compared as multisets (floats within a "
    "relative 1e-6; in order where the query orders and limits, ties at the LIMIT allowed). "
    "A rewrite that returned other rows is replaced by the original only retargeted to the "
    "new tables (or by the original itself when that differs too). An empty or unverifiable "
    "rewrite is kept on the engine's structural argument: it differs from the original only "
    "by equivalences the engine's test suite checks; the report says which queries these are"
)


def verified_result(
    result: AnalysisResult, verification: Verification, checks: Sequence[QueryCheck]
) -> AnalysisResult:
    found = verification.by_queryid()
    originals = {c.queryid: c for c in checks}
    entries = _entries(result.report.verification)
    queries: list[RewrittenQuery] = []
    report_queries: list[dict[str, Any]] = []
    replaced: list[str] = []
    for query in result.queries:
        entry = dict(entries.get(query.queryid) or {"queryid": query.queryid})
        checked = found.get(query.queryid)
        check = originals.get(query.queryid)
        if checked is None or not checked.tried or check is None:
            queries.append(query)
            entry.setdefault("outcome", NOT_VERIFIABLE)
            entry.setdefault("detail", "not checked")
            report_queries.append(entry)
            continue
        sql, outcome = _choice(checked, check)
        entry.update(_described(outcome))
        if sql != query.query:
            replaced.append(query.queryid)
            first = checked.tried[0]
            retargeted = sql != check.original
            entry["status"] = RETARGETED if retargeted else RETURNED_UNCHANGED
            how = (
                "returned only retargeted to the new tables (that version returned the "
                "original's rows)"
                if retargeted
                else "returned as it came (its plainly retargeted version differed too), "
                "reading the source tables"
            )
            entry["reason"] = (
                f"the rewrite returned other rows than the original on generated data "
                f"({first.detail}); {how}"
            )
            entry["replaced"] = {"query": first.sql, "outcome": DIFFERS, "detail": first.detail}
        queries.append(RewrittenQuery(query.queryid, sql))
        report_queries.append(entry)
    ddl, migrations, dropped = _without_unread(result, verification, queries, replaced)
    verification_dict = _verification_dict(result, verification, report_queries)
    if dropped:
        verification_dict["dropped_tables"] = dropped
    findings = list(result.report.findings)
    if replaced:
        findings.append(_replaced_finding(len(findings) + 1, replaced, result.report.estimates))
    broken = [m for m in verification.migrations if m.status in ("failed", DIFFERS)]
    if broken:
        findings.append(_migration_finding(len(findings) + 1, broken, verification.engine))
    report = Report(
        summary=f"{result.report.summary} {_sentence(verification, report_queries, replaced)}",
        findings=tuple(findings),
        estimates=result.report.estimates,
        verification=verification_dict,
    )
    return dataclasses.replace(
        result, ddl=ddl, migrations=migrations, queries=tuple(queries), report=report
    )


def _without_unread(
    result: AnalysisResult,
    verification: Verification,
    queries: Sequence[RewrittenQuery],
    replaced: Sequence[str],
) -> tuple[tuple[SqlStatement, ...], tuple[SqlStatement, ...], list[str]]:
    """The DDL and migrations without the tables only withdrawn rewrites read (a rollup that
    serves no query any more costs storage and gains nothing). Copies of source tables are
    always kept: nothing is dropped."""
    if not replaced:
        return result.ddl, result.migrations, []
    copies = {m.table for m in verification.migrations if m.source is not None}
    withdrawn: set[str] = set()
    for query in result.queries:
        if query.queryid in replaced:
            withdrawn |= _tables(query.query)
    still = set().union(*(_tables(q.query) for q in queries)) if queries else set()
    unread = {t for t in withdrawn - still - copies if _created(result, t)}
    if not unread:
        return result.ddl, result.migrations, []
    ddl = tuple(s for s in result.ddl if _target(s.statement) not in unread)
    migrations = tuple(s for s in result.migrations if _target(s.statement) not in unread)
    return ddl, migrations, sorted(unread)


def _tables(sql: str) -> set[str]:
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return set()
    return {_name(t) for t in tree.find_all(exp.Table) if t.catalog and t.db}


def _name(table: exp.Table) -> str:
    return ".".join(normalize(p) for p in (table.catalog, table.db, table.name))


def _target(statement: str) -> str | None:
    try:
        tree = sqlglot.parse_one(statement, read="trino")
    except (SqlglotError, ValueError):
        return None
    if not isinstance(tree, exp.Create | exp.Insert):
        return None
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    return _name(target) if isinstance(target, exp.Table) and target.catalog else None


def _created(result: AnalysisResult, table: str) -> bool:
    return any(_target(s.statement) == table for s in result.ddl)


def _choice(checked: QueryVerification, check: QueryCheck) -> tuple[str, CandidateOutcome]:
    """The SQL to return (the first candidate that did not differ, else the original text)
    and the outcome that decided it."""
    for tried in checked.tried:
        if tried.outcome != DIFFERS:
            return tried.sql, tried
    return check.original, checked.tried[-1]


def _described(outcome: CandidateOutcome) -> dict[str, Any]:
    described: dict[str, Any] = {"outcome": outcome.outcome, "detail": outcome.detail}
    if outcome.rows_original is not None or outcome.rows_rewrite is not None:
        described["rows"] = {"original": outcome.rows_original, "rewrite": outcome.rows_rewrite}
    return described


def _entries(verification: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    entries = verification.get("queries") or []
    return {str(e.get("queryid")): e for e in entries if isinstance(e, Mapping) and "queryid" in e}


def _verification_dict(
    result: AnalysisResult, verification: Verification, queries: list[dict[str, Any]]
) -> dict[str, Any]:
    structural = result.report.verification
    statuses = Counter(str(q.get("status")) for q in queries)
    outcomes = Counter(str(q.get("outcome")) for q in queries)
    counts = dict(structural.get("counts") or {})
    counts = {status: statuses.get(status, 0) for status in counts} or dict(statuses)
    return {
        "method": EXECUTED_METHOD,
        "executed": True,
        "engine": verification.engine,
        "seed": verification.seed,
        "rows_per_table": verification.rows_per_table,
        "statistics_used": verification.statistics_used,
        "budget_seconds": verification.budget_seconds,
        "budget_spent": verification.budget_spent,
        "structural": structural.get("method"),
        "tables": [
            {"table": t.table, "rows": t.rows, "role": t.role, "error": t.error}
            for t in verification.tables
        ],
        "migrations": [m.to_dict() for m in verification.migrations],
        "counts": counts,
        "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
        "notes": list(verification.notes),
        "queries": queries,
    }


def _sentence(
    verification: Verification, queries: list[dict[str, Any]], replaced: list[str]
) -> str:
    outcomes = Counter(str(q.get("outcome")) for q in queries)
    parts = [f"{outcomes[VERIFIED]} verified"]
    if outcomes[EMPTY]:
        parts.append(f"{outcomes[EMPTY]} returned no rows on either side")
    if outcomes[NOT_VERIFIABLE]:
        parts.append(f"{outcomes[NOT_VERIFIABLE]} could not be run")
    if outcomes[UNCHANGED]:
        parts.append(f"{outcomes[UNCHANGED]} returned as sent")
    text = (
        f"Verified by execution on generated data ({verification.engine}, seed "
        f"{verification.seed}): {', '.join(parts)}."
    )
    if replaced:
        text += (
            f" {len(replaced)} rewrite(s) returned other rows and were replaced by the "
            f"original only retargeted: {', '.join(replaced)}."
        )
    if verification.budget_spent:
        text += " The verification budget ran out; the queries left are not verified."
    return text


def _replaced_finding(number: int, queryids: list[str], estimates: Mapping[str, Any]) -> Finding:
    shares: dict[str, float] = {}
    for entry in estimates.get("weights") or []:
        if isinstance(entry, Mapping):
            shares[str(entry.get("queryid"))] = float(entry.get("weight_share") or 0.0)
    return Finding(
        id=f"F{number:03d}",
        code="rewrite_replaced",
        severity=Severity.WARNING,
        title=f"{len(queryids)} rewrite(s) withdrawn: they returned other rows",
        rationale="Run on generated data, these rewrites did not return the rows their "
        "original returned, so each is returned only retargeted to the new tables (see "
        "verification.queries for the rows that differed).",
        queryids=tuple(queryids),
        weight_share=min(1.0, round(sum(shares.get(q, 0.0) for q in queryids), 6)),
        effect="These queries keep their results; they gain only from the new layout.",
    )


def _migration_finding(number: int, broken: list[MigrationCheck], engine: str) -> Finding:
    tables = ", ".join(m.table for m in broken)
    return Finding(
        id=f"F{number:03d}",
        code="migration_unverified",
        severity=Severity.WARNING,
        title=f"The DDL or migrations of {len(broken)} table(s) did not hold on generated data",
        rationale=f"Run on generated data ({engine}), the statements creating or filling "
        f"{tables} failed or left other row counts than the source's (see "
        "verification.migrations). The queries reading them are returned as they verified.",
        details={"migrations": [m.to_dict() for m in broken]},
        risk="Applying these statements as they are may fail or lose rows.",
    )
