"""An analyzer that lets an advisor (an LLM) refine the engine's answer, item by item, guarded.

    draft   the engine's result (the `Analyzer` it wraps): complete and safe on its own
    ask     the advisor gets a brief of the draft (see `brief`) and proposes items
    guard   each proposal is checked (`domain.guards`): a table's DDL, its migrations, a query
    repair  the refused proposals go back once, with the guards' errors
    keep    what passes replaces the engine's item; everything else stays the engine's

An item is a table's DDL, a table's migrations, or a query (by queryid), so one bad proposal
costs only itself. A query rewrite is kept only when it is provably equivalent to the
engine's (see `domain.guards.equivalent`), so every returned query still returns the rows the
original returned. Notes become findings (``llm_note``), and each kept layout a finding
(``llm_layout``) that says the estimates describe the engine's layout.

Nothing the advisor does fails the task. An `AdvisorError` or any other exception in the first
round, or the time budget running out at any point, returns the engine's answer whole (a late
answer is not trusted to be complete); an error in the repair round keeps what the first
round got through the guards. Cancellation (the worker stopping) and errors from the
progress sink (a lost lease) propagate, as they must.

`meta` says what came from where: ``engine`` is ``rules+llm`` when an LLM item was kept;
``parts`` maps ddl / migrations / queries / report to ``rules``, ``llm`` or ``rules+llm``;
``llm`` holds the outcome, each call (round, outcome, latency, tokens, error) and each
proposal's fate (``items``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from application.ports.advisor import (
    AdviceReply,
    AdviceRequest,
    Advisor,
    AdvisorError,
    CallStats,
    ProposedNote,
    Repair,
)
from application.ports.analyzer import Analyzer, ProgressSink
from application.refinement.brief import build_request, guard_context, name_sql
from domain.guards import (
    GuardContext,
    TableKey,
    equivalent,
    migration_errors,
    parse_statement,
    query_errors,
    table_ddl_errors,
    table_key,
)
from domain.result import (
    AnalysisResult,
    Finding,
    Meta,
    Report,
    RewrittenQuery,
    Severity,
    SqlStatement,
)
from domain.task import Progress
from domain.workload import Credentials, Workload

__all__ = ["DEFAULT_BUDGET_SECONDS", "GuardedAdvisorAnalyzer"]

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 600.0
RULES, LLM = "rules", "llm"
_REFINE = Progress("refine", 90)
_MAX_TEXT = 600
_MAX_NOTES = 10
_DISCARDED = frozenset({"budget_exceeded", "advisor_failed"})


class GuardedAdvisorAnalyzer(Analyzer):
    """The engine's answer, refined by `advisor` where the guards allow, within a budget."""

    def __init__(
        self,
        engine: Analyzer,
        advisor: Advisor,
        *,
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
        max_queries: int = 40,
        max_chars: int = 60_000,
    ) -> None:
        self._engine = engine
        self._advisor = advisor
        self._budget = budget_seconds
        self._max_queries = max_queries
        self._max_chars = max_chars

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        started = time.perf_counter()
        # The credentials go to the engine (its statistics) and no further: the brief the
        # advisor sees is built from the engine's result and the redacted workload alone.
        draft = await self._engine.analyze(workload, on_progress, credentials=credentials)
        if not workload.options.use_llm:
            return _with_llm_meta(draft, {"enabled": False, "outcome": "not_requested"})
        context = guard_context(draft)
        request = (
            build_request(
                workload, draft, context, max_queries=self._max_queries, max_chars=self._max_chars
            )
            if context is not None
            else None
        )
        if context is None or request is None or not (request.tables or request.queries):
            return _with_llm_meta(draft, {"enabled": True, "outcome": "nothing_to_refine"})
        await on_progress(_REFINE)
        session = _Session(draft, context, request, self._advisor.model)
        try:
            async with asyncio.timeout(self._budget):
                await session.run(self._advisor)
        except TimeoutError:
            session.record_call(
                session.round,
                "budget_exceeded",
                CallStats(model=self._advisor.model),
                f"no answer within the budget of {self._budget:g} s",
                latency_ms=int((time.perf_counter() - session.round_started) * 1000),
            )
            session.discard_all("budget_exceeded")
        result = session.result(budget_seconds=self._budget)
        elapsed = int((time.perf_counter() - started) * 1000)
        return dataclasses.replace(
            result, meta=dataclasses.replace(result.meta, duration_ms=elapsed)
        )


@dataclass
class _Item:
    """One proposal and its fate."""

    part: str  # ddl, migrations, queries
    item: str  # table name or queryid
    proposed: tuple[str, ...]
    rationale: str
    round: int
    errors: list[str] = field(default_factory=list)
    outcome: str = "pending"  # accepted, same_as_engine, rejected, discarded

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "item": self.item,
            "engine": LLM if self.outcome == "accepted" else RULES,
            "outcome": self.outcome,
            "round": self.round,
            "errors": self.errors[:5],
        }


class _Session:
    """One refinement: the calls made, the proposals judged, and the result they make."""

    def __init__(
        self,
        draft: AnalysisResult,
        context: GuardContext,
        request: AdviceRequest,
        model: str | None,
    ) -> None:
        self.draft = draft
        self.context = context
        self.request = request
        self.model = model
        self.round = 1
        self.round_started = time.perf_counter()
        self.calls: list[dict[str, Any]] = []
        self.items: dict[tuple[str, str], _Item] = {}
        self.rejected_elsewhere: list[dict[str, Any]] = []
        self.notes: list[ProposedNote] = []
        self.summary = ""
        self.outcome = "unchanged"
        self.tables = {name_sql(k): k for k in context.tables}
        self.queries = {q.queryid: q.query for q in draft.queries}
        self.eligible = {q.queryid for q in request.queries}

    async def run(self, advisor: Advisor) -> None:
        reply = await self._call(advisor, self.request)
        if reply is None:
            self.discard_all("advisor_failed")
            return
        self.notes = list(reply.notes[:_MAX_NOTES])
        self.summary = reply.summary.strip()[:_MAX_TEXT]
        self._judge(reply, round_=1)
        repairs = tuple(
            Repair(i.part, i.item, i.proposed, tuple(i.errors))
            for i in self.items.values()
            if i.outcome == "rejected"
        )
        if not repairs:
            return
        self.round = 2
        self.round_started = time.perf_counter()
        repair = dataclasses.replace(self.request, round=2, repairs=repairs)
        reply = await self._call(advisor, repair)
        if reply is not None:
            wanted = {(r.part, r.item) for r in repairs}
            self._judge(reply, round_=2, only=wanted)

    async def _call(self, advisor: Advisor, request: AdviceRequest) -> AdviceReply | None:
        started = time.perf_counter()
        try:
            reply = await advisor.refine(request)
        except AdvisorError as error:
            self.record_call(
                request.round,
                error.outcome,
                error.stats,
                str(error),
                latency_ms=int((time.perf_counter() - started) * 1000),
            )
            return None
        except Exception as error:  # an advisor bug must not fail the task either
            self.record_call(
                request.round,
                "error",
                CallStats(model=self.model),
                f"{type(error).__name__}: {error}",
                latency_ms=int((time.perf_counter() - started) * 1000),
            )
            return None
        self.record_call(
            request.round,
            "ok",
            reply.stats,
            None,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )
        return reply

    def record_call(
        self, round_: int, outcome: str, stats: CallStats, error: str | None, *, latency_ms: int
    ) -> None:
        latency = stats.latency_ms or latency_ms
        self.calls.append(
            {
                "round": round_,
                "outcome": outcome,
                "latency_ms": latency,
                "prompt_tokens": stats.prompt_tokens,
                "completion_tokens": stats.completion_tokens,
                "error": error[:_MAX_TEXT] if error else None,
            }
        )
        level = logging.INFO if outcome == "ok" else logging.WARNING
        log.log(
            level,
            "llm call round=%d outcome=%s latency_ms=%d prompt_tokens=%s completion_tokens=%s "
            "model=%s%s",
            round_,
            outcome,
            latency,
            stats.prompt_tokens,
            stats.completion_tokens,
            stats.model or self.model,
            f" error={error[:200]!r}" if error else "",
        )

    def discard_all(self, outcome: str) -> None:
        """Back to the engine's answer, whole."""
        self.outcome = outcome
        self.notes = []
        self.summary = ""
        for item in self.items.values():
            if item.outcome == "accepted":
                item.outcome = "discarded"

    # -- judging ---------------------------------------------------------------------------

    def _judge(
        self, reply: AdviceReply, *, round_: int, only: set[tuple[str, str]] | None = None
    ) -> None:
        proposals: list[tuple[str, str, tuple[str, ...], str]] = []
        for table in reply.tables:
            key = self._table(table.table)
            name = name_sql(key) if key is not None else table.table
            if table.ddl is not None:
                proposals.append(("ddl", name, (table.ddl,), table.rationale))
            if table.migrations is not None:
                proposals.append(("migrations", name, tuple(table.migrations), table.rationale))
        for query in reply.queries:
            proposals.append(("queries", query.queryid, (query.query,), query.rationale))
        seen: dict[tuple[str, str], int] = {}
        for part, name, _, _ in proposals:
            seen[(part, name)] = seen.get((part, name), 0) + 1
        for part, name, proposed, rationale in proposals:
            if only is not None and (part, name) not in only:
                continue
            item = _Item(part, name, proposed, rationale.strip()[:_MAX_TEXT], round_)
            if not self._known(part, name):
                item.outcome = "rejected"
                item.errors = [_unknown(part, name)]
                self.rejected_elsewhere.append(item.to_dict())
                continue
            if seen[(part, name)] > 1:
                item.errors = [f"{name} proposed {seen[(part, name)]} times: propose it once"]
            else:
                item.errors = self._errors(part, name, proposed)
            if item.errors:
                item.outcome = "rejected"
            elif self._same_as_engine(part, name, proposed):
                item.outcome = "same_as_engine"
            else:
                item.outcome = "accepted"
            self.items[(part, name)] = item

    def _table(self, text: str) -> TableKey | None:
        try:
            table = exp.to_table(text, dialect="trino")
        except (SqlglotError, ValueError):
            return None
        key = table_key(table)
        return (key[0], key[1], key[2]) if len(key) == 3 else None

    def _known(self, part: str, name: str) -> bool:
        if part == "queries":
            return name in self.eligible
        return name in self.tables

    def _errors(self, part: str, name: str, proposed: tuple[str, ...]) -> list[str]:
        if part == "queries":
            errors = query_errors(proposed[0], self.context)
            if not errors and not equivalent(proposed[0], self.queries[name], self.context):
                errors = [
                    "not shown to return the same rows as the engine's query (it must reach "
                    "the same canonical form under sqlglot's optimizer): "
                    + self.queries[name][:_MAX_TEXT]
                ]
            return errors
        spec = self.context.tables[self.tables[name]]
        if part == "ddl":
            return table_ddl_errors(proposed[0], spec)
        return migration_errors(proposed, spec)

    def _same_as_engine(self, part: str, name: str, proposed: tuple[str, ...]) -> bool:
        if part == "queries":
            return _canonical(proposed) == _canonical((self.queries[name],))
        spec = self.context.tables[self.tables[name]]
        if part == "ddl":
            return _canonical(proposed) == _canonical((spec.create.sql(dialect="trino"),))
        engine = tuple(m.sql(dialect="trino") for m in spec.migrations)
        return _canonical(proposed) == _canonical(engine)

    # -- the result ------------------------------------------------------------------------

    def accepted(self, part: str) -> dict[str, _Item]:
        return {
            i.item: i for i in self.items.values() if i.part == part and i.outcome == "accepted"
        }

    def result(self, *, budget_seconds: float) -> AnalysisResult:
        draft = self.draft
        if self.outcome in _DISCARDED:
            meta = dataclasses.replace(
                draft.meta,
                model=self.model,
                extra={**draft.meta.extra, "llm": self._meta(budget_seconds)},
            )
            return dataclasses.replace(draft, meta=meta)
        ddl_items, migration_items = self.accepted("ddl"), self.accepted("migrations")
        query_items = self.accepted("queries")
        ddl = [draft.ddl[0]]
        for statement in draft.ddl[1:]:
            item = ddl_items.get(self._named(statement.statement, "CREATE TABLE") or "")
            ddl.append(SqlStatement(item.proposed[0]) if item is not None else statement)
        migrations: list[SqlStatement] = []
        placed: set[str] = set()  # a split copy is replaced as a whole, where it began
        for statement in draft.migrations:
            name = self._named(statement.statement, "INSERT") or ""
            item = migration_items.get(name)
            if item is None:
                migrations.append(statement)
            elif name not in placed:
                placed.add(name)
                migrations += [SqlStatement(s) for s in item.proposed]
        queries = [
            RewrittenQuery(q.queryid, query_items[q.queryid].proposed[0])
            if q.queryid in query_items
            else q
            for q in draft.queries
        ]
        report = self._report(ddl_items, query_items)
        kept = bool(ddl_items or migration_items or query_items)
        if kept:
            self.outcome = "refined"
        every_table = len(self.tables) == len(draft.ddl) - 1
        parts = {
            "ddl": _part(bool(ddl_items)),  # CREATE SCHEMA is always the engine's
            "migrations": _part(
                bool(migration_items),
                all_llm=every_table and len(migration_items) == len(self.tables),
            ),
            "queries": _part(bool(query_items), all_llm=len(query_items) == len(queries)),
            "report": _part(report is not draft.report),
        }
        meta = dataclasses.replace(
            draft.meta,
            engine="rules+llm" if kept else RULES,
            model=self.model,
            parts={**draft.meta.parts, **parts},
            extra={**draft.meta.extra, "llm": self._meta(budget_seconds)},
        )
        return AnalysisResult(
            ddl=tuple(ddl),
            migrations=tuple(migrations),
            queries=tuple(queries),
            report=report,
            meta=meta,
        )

    def _meta(self, budget_seconds: float) -> dict[str, Any]:
        tokens_in = [c["prompt_tokens"] or 0 for c in self.calls]
        tokens_out = [c["completion_tokens"] or 0 for c in self.calls]
        return {
            "enabled": True,
            "outcome": self.outcome,
            "budget_seconds": budget_seconds,
            "calls": self.calls,
            "tokens": {"prompt": sum(tokens_in), "completion": sum(tokens_out)},
            "brief": {
                "tables": len(self.request.tables),
                "queries": len(self.request.queries),
                "omitted_queries": self.request.omitted_queries,
            },
            "items": [i.to_dict() for i in self.items.values()] + self.rejected_elsewhere,
        }

    def _named(self, statement: str, kind: str) -> str | None:
        """The name of the table a CREATE TABLE creates or an INSERT fills."""
        tree, _ = parse_statement(statement, [kind])
        table = tree.find(exp.Table) if tree is not None else None
        key = table_key(table) if table is not None else ()
        return name_sql(key) if len(key) == 3 else None

    def _report(self, ddl_items: Mapping[str, _Item], query_items: Mapping[str, _Item]) -> Report:
        report = self.draft.report
        findings = list(report.findings)
        shares = _weight_shares(report.estimates)
        for name, item in ddl_items.items():
            findings.append(
                _finding(
                    len(findings) + 1,
                    "llm_layout",
                    f"Layout of {name} refined by the LLM",
                    (item.rationale or "The LLM proposed another partitioning or sort order.")
                    + " The guards checked it changes the layout only (same columns, types "
                    "and storage properties). The estimates describe the engine's layout.",
                    table=name,
                    details={"statement": item.proposed[0]},
                )
            )
        for note in self.notes:
            ids = tuple(q for q in dict.fromkeys(note.queryids) if q in self.queries)
            table = self._table(note.table) if note.table else None
            findings.append(
                _finding(
                    len(findings) + 1,
                    "llm_note",
                    note.title.strip()[:200] or "Note from the LLM",
                    note.rationale.strip()[:_MAX_TEXT],
                    table=name_sql(table)
                    if table is not None and table in self.context.tables
                    else None,
                    queryids=ids,
                    weight_share=min(1.0, round(sum(shares.get(q, 0.0) for q in ids), 6)),
                )
            )
        verification = dict(report.verification)
        entries = verification.get("queries")
        changed = any(i.part == "queries" for i in self.items.values())
        if isinstance(entries, Sequence) and changed:
            verification["queries"] = [self._verified(e, query_items) for e in entries]
        if len(findings) == len(report.findings) and not changed and not self.summary:
            return report
        summary = report.summary
        if self.summary:
            summary += f" LLM: {self.summary}"
        return Report(
            summary=summary,
            findings=tuple(findings),
            estimates=report.estimates,
            verification=verification,
        )

    def _verified(self, entry: Any, kept: Mapping[str, _Item]) -> Any:
        if not isinstance(entry, Mapping):
            return entry
        queryid = entry.get("queryid")
        item = self.items.get(("queries", str(queryid)))
        if item is None or item.outcome == "same_as_engine":
            return entry
        if queryid in kept:
            return {
                **entry,
                "engine": LLM,
                "reason": f"{entry.get('reason', '')}; the LLM's version is returned: it has "
                "the same canonical form as the engine's under sqlglot's optimizer".lstrip("; "),
            }
        why = item.errors[0][:200] if item.errors else "it did not pass the guards"
        return {
            **entry,
            "engine": RULES,
            "reason": f"{entry.get('reason', '')}; an LLM rewrite was not returned: {why}".lstrip(
                "; "
            ),
        }


def _canonical(statements: tuple[str, ...]) -> list[str]:
    forms = []
    for sql in statements:
        try:
            forms.append(sqlglot.parse_one(sql, read="trino").sql(dialect="trino", normalize=True))
        except SqlglotError:
            forms.append(sql)
    return forms


def _part(llm: bool, *, all_llm: bool = False) -> str:
    if not llm:
        return RULES
    return LLM if all_llm else "rules+llm"


def _unknown(part: str, name: str) -> str:
    if part == "queries":
        return f"unknown or untouchable queryid {name}: propose only the queryids given"
    return f"unknown table {name}: propose only the tables given"


def _weight_shares(estimates: Mapping[str, Any]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for entry in estimates.get("weights") or []:
        if isinstance(entry, Mapping):
            shares[str(entry.get("queryid"))] = float(entry.get("weight_share") or 0.0)
    return shares


def _finding(
    number: int,
    code: str,
    title: str,
    rationale: str,
    *,
    table: str | None = None,
    queryids: tuple[str, ...] = (),
    weight_share: float = 0.0,
    details: Mapping[str, Any] | None = None,
) -> Finding:
    return Finding(
        id=f"F{number:03d}",
        code=code,
        severity=Severity.INFO,
        title=title,
        rationale=rationale,
        table=table,
        queryids=queryids,
        weight_share=weight_share,
        details=dict(details or {}),
    )


def _with_llm_meta(result: AnalysisResult, llm: dict[str, Any]) -> AnalysisResult:
    meta: Meta = dataclasses.replace(result.meta, extra={**result.meta.extra, "llm": llm})
    return dataclasses.replace(result, meta=meta)
