"""Port: an advisor (an LLM) that refines the engine's draft, item by item.

The advisor sees a compact brief built from the engine's result — never the workload's URL or
anything else that could carry a credential — and answers with proposals per item: a table's
DDL, a table's migrations, a query's rewrite, and notes for the report. It guarantees nothing:
every proposal is checked by the guards before it may replace the engine's item.

    AdvisorError              the call failed; `outcome` says how (and no item is proposed)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AdviceReply",
    "AdviceRequest",
    "Advisor",
    "AdvisorError",
    "CallStats",
    "FindingBrief",
    "ProposedNote",
    "ProposedQuery",
    "ProposedTable",
    "QueryBrief",
    "Repair",
    "TableBrief",
]


@dataclass(frozen=True, slots=True)
class TableBrief:
    """A new table as the engine drafted it."""

    name: str  # catalog.schema.table, in the new schema
    source: str  # the table it copies
    ddl: str
    migrations: tuple[str, ...]  # the first statement alone when the copy is split…
    split_by: tuple[str, ...] = ()  # …then each statement's WHERE condition, in order


@dataclass(frozen=True, slots=True)
class QueryBrief:
    """A query as the engine drafted it, with its weight in the workload."""

    queryid: str
    query: str  # the engine's version, reading the new schema
    weight_share: float
    runquantity: int
    executiontime: float | None
    status: str  # how the engine changed it (retargeted, rewritten…)


@dataclass(frozen=True, slots=True)
class FindingBrief:
    code: str
    title: str
    table: str | None
    queryids: tuple[str, ...]
    weight_share: float


@dataclass(frozen=True, slots=True)
class Repair:
    """A proposal the guards refused, sent back once with the reasons."""

    part: str  # "ddl", "migrations" or "queries"
    item: str  # the table's name or the queryid
    proposed: tuple[str, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdviceRequest:
    """The brief. `repairs` is empty on the first round; on the repair round it lists only
    the items to fix, and the advisor answers for those alone."""

    catalog: str
    schema: str
    summary: str
    tables: tuple[TableBrief, ...]
    queries: tuple[QueryBrief, ...]  # heaviest first
    findings: tuple[FindingBrief, ...] = ()
    omitted_queries: int = 0  # lighter queries left out of the brief to keep it compact
    round: int = 1
    repairs: tuple[Repair, ...] = ()


@dataclass(frozen=True, slots=True)
class ProposedTable:
    """A table's DDL and/or migrations; None keeps the engine's."""

    table: str
    ddl: str | None = None
    migrations: tuple[str, ...] | None = None
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class ProposedQuery:
    queryid: str
    query: str
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class ProposedNote:
    """An observation for the report."""

    title: str
    rationale: str
    table: str | None = None
    queryids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CallStats:
    """What one call cost: for the result's meta and the logs."""

    model: str | None = None
    latency_ms: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "latency_ms": self.latency_ms,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass(frozen=True, slots=True)
class AdviceReply:
    tables: tuple[ProposedTable, ...] = ()
    queries: tuple[ProposedQuery, ...] = ()
    notes: tuple[ProposedNote, ...] = ()
    summary: str = ""
    stats: CallStats = field(default_factory=CallStats)


class AdvisorError(Exception):
    """The advisor could not answer. `outcome` is a stable word for the meta and the logs
    (`rate_limited`, `server_error`, `timeout`, `connection_error`, `malformed`, `error`)."""

    def __init__(self, outcome: str, message: str, stats: CallStats | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.stats = stats or CallStats()


class Advisor(Protocol):
    """Proposes refinements of the engine's draft; raises `AdvisorError` when it cannot."""

    @property
    def model(self) -> str | None: ...

    async def refine(self, request: AdviceRequest) -> AdviceReply: ...
