"""The brief an advisor gets: the engine's draft, compact, heaviest queries first.

What goes in is chosen, not filtered: the new schema's catalog and schema names, each new
table's DDL and migrations, the queries the advisor may improve (the engine's version, with
weight), the findings and the summary. The workload's URL never goes in — it is not even
read here — so no credential can reach the model, and neither does a query the engine could
not parse or retarget (the design returns those unchanged, whatever anyone proposes).

A table filled by thirteen month-by-month INSERTs is sent as its first statement and the
thirteen WHERE conditions, which says the same in a thirteenth of the tokens. Queries are
added heaviest first until `max_queries` or `max_chars` is reached; the rest keep the engine's
version and the brief says how many were left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from application.ports.advisor import AdviceRequest, FindingBrief, QueryBrief, TableBrief
from domain.guards import (
    GuardContext,
    TableSpec,
    parse_statement,
    query_errors,
    table_key,
    table_specs,
)
from domain.result import AnalysisResult
from domain.workload import Workload

__all__ = ["ELIGIBLE_STATUSES", "build_request", "eligible_queryids", "guard_context", "name_sql"]

# Queries the engine retargeted or rewrote read the new schema only: an advisor may improve
# them. The others (unparsable, reading tables outside the DDL, left as sent) stay the engine's.
ELIGIBLE_STATUSES = frozenset({"retargeted", "rewritten"})
_UNTOUCHABLE_FINDINGS = frozenset({"parse_error", "rewrite_error", "internal_error"})
_MAX_FINDINGS = 40
_MAX_FINDING_QUERYIDS = 10


def guard_context(draft: AnalysisResult) -> GuardContext | None:
    """The new schema and tables of `draft`, or None when its first statement names none."""
    if not draft.ddl:
        return None
    tree, errors = parse_statement(draft.ddl[0].statement, ["CREATE SCHEMA"])
    if tree is None or errors or not isinstance(tree.this, exp.Table):
        return None
    name = table_key(tree.this)
    if len(name) != 2:
        return None
    specs = table_specs(
        [s.statement for s in draft.ddl[1:]], [s.statement for s in draft.migrations]
    )
    return GuardContext(name[0], name[1], specs)


def eligible_queryids(draft: AnalysisResult) -> set[str]:
    """The queries an advisor may rewrite: those the engine retargeted or rewrote."""
    untouchable = {
        q
        for f in draft.report.findings
        if f.code in _UNTOUCHABLE_FINDINGS or f.code == "unknown_table"
        for q in f.queryids
    }
    statuses = _statuses(draft.report.verification)
    return {
        q.queryid
        for q in draft.queries
        if q.queryid not in untouchable and statuses.get(q.queryid) in ELIGIBLE_STATUSES
    }


def build_request(
    workload: Workload,
    draft: AnalysisResult,
    context: GuardContext,
    *,
    max_queries: int = 40,
    max_chars: int = 60_000,
) -> AdviceRequest:
    tables = tuple(_table_brief(spec) for spec in context.tables.values())
    used = sum(len(t.ddl) + sum(len(m) for m in t.migrations) for t in tables)
    eligible = eligible_queryids(draft)
    statuses = _statuses(draft.report.verification)
    drafted = {q.queryid: q.query for q in draft.queries}
    total = sum(q.weight for q in workload.queries)
    ranked = sorted(
        (q for q in workload.queries if q.queryid in eligible),
        key=lambda q: -q.weight,  # sorted() is stable: equal weights keep input order
    )
    queries: list[QueryBrief] = []
    for query in ranked:
        sql = drafted[query.queryid]
        if len(queries) >= max_queries or (queries and used + len(sql) > max_chars):
            break
        if query_errors(sql, context):  # the guards would refuse even the engine's version
            continue
        used += len(sql)
        queries.append(
            QueryBrief(
                queryid=query.queryid,
                query=sql,
                weight_share=round(query.weight / total, 4) if total > 0 else 0.0,
                runquantity=query.runquantity,
                executiontime=query.executiontime,
                status=statuses.get(query.queryid, ""),
            )
        )
    findings = tuple(
        FindingBrief(
            code=f.code,
            title=f.title,
            table=f.table,
            queryids=f.queryids[:_MAX_FINDING_QUERYIDS],
            weight_share=round(f.weight_share, 4),
        )
        for f in draft.report.findings[:_MAX_FINDINGS]
    )
    return AdviceRequest(
        catalog=context.catalog,
        schema=context.schema,
        summary=draft.report.summary,
        tables=tables,
        queries=tuple(queries),
        findings=findings,
        omitted_queries=len(ranked) - len(queries),
    )


def _table_brief(spec: TableSpec) -> TableBrief:
    migrations = [m.sql(dialect="trino") for m in spec.migrations]
    split: Sequence[str] = ()
    if len(migrations) > 1:
        wheres = []
        for insert in spec.migrations:
            select = insert.expression
            where = select.args.get("where") if isinstance(select, exp.Select) else None
            wheres.append(where.this.sql(dialect="trino") if where is not None else "TRUE")
        split = wheres
        migrations = migrations[:1]
    return TableBrief(
        name=name_sql(spec.name),
        source=name_sql(spec.source),
        ddl=spec.create.sql(dialect="trino"),
        migrations=tuple(migrations),
        split_by=tuple(split),
    )


def name_sql(key: Sequence[str]) -> str:
    """A table key as Trino SQL, quoted only where needed: `lake.opt."order items"`."""
    return ".".join(exp.to_identifier(part).sql(dialect="trino") for part in key)


def _statuses(verification: Mapping[str, Any]) -> dict[str, str]:
    entries = verification.get("queries") or []
    return {
        str(e.get("queryid")): str(e.get("status"))
        for e in entries
        if isinstance(e, Mapping) and e.get("queryid") is not None
    }
