"""The guarded refinement: the LLM refines the engine's answer item by item and never breaks it.

Driven by `FunctionAdvisor`, a fake advisor whose answers are a function of the request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.memory.fake_advisor import FunctionAdvisor
from adapters.memory.function_analyzer import FunctionAnalyzer
from application.ports.advisor import (
    AdviceReply,
    AdviceRequest,
    AdvisorError,
    CallStats,
    ProposedNote,
    ProposedQuery,
    ProposedTable,
)
from application.ports.analyzer import ProgressSink
from application.refinement.guarded_analyzer import GuardedAdvisorAnalyzer
from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import DdlStatement, Workload, credentials_from_jdbc_url
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.llm.support import (
    GOOD_DDL,
    HEAVY_QUERY,
    INJECTION,
    LIGHT_QUERY,
    ORDERS,
    SECRET,
    URL,
    orders_workload,
)

TABLE = "lake.optimized.orders"
STATS = CallStats(model="fake-model", latency_ms=12, prompt_tokens=900, completion_tokens=80)


def answering(*replies: AdviceReply | Exception) -> FunctionAdvisor:
    """An advisor that gives `replies` in turn (an exception is raised)."""
    queue = list(replies)

    async def handler(_: AdviceRequest) -> AdviceReply:
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return FunctionAdvisor(handler)


async def run(
    advisor: FunctionAdvisor,
    workload: Workload | None = None,
    *,
    budget: float = 60.0,
    progress: list[Progress] | None = None,
) -> AnalysisResult:
    workload = workload or orders_workload()
    seen = progress if progress is not None else []

    async def on_progress(step: Progress) -> None:
        seen.append(step)

    analyzer = GuardedAdvisorAnalyzer(RulesAnalyzer("test"), advisor, budget_seconds=budget)
    result = await analyzer.analyze(workload, on_progress)
    assert_result_obeys_contract(workload, result)
    return result


async def engine_only(workload: Workload | None = None) -> AnalysisResult:
    async def ignore(_: Progress) -> None:
        return None

    return await RulesAnalyzer("test").analyze(workload or orders_workload(), ignore)


def items(result: AnalysisResult) -> dict[tuple[str, str], dict[str, object]]:
    return {(i["part"], i["item"]): i for i in result.meta.extra["llm"]["items"]}


def same_lists(a: AnalysisResult, b: AnalysisResult) -> bool:
    return (a.ddl, a.migrations, a.queries) == (b.ddl, b.migrations, b.queries)


async def test_an_accepted_layout_comes_from_the_llm_and_the_meta_says_so() -> None:
    # given an advisor proposing another sort order for the table
    advisor = answering(
        AdviceReply(tables=(ProposedTable(TABLE, ddl=GOOD_DDL, rationale="sort"),), stats=STATS)
    )
    # when the workload is analysed
    result = await run(advisor)
    # then the DDL is the LLM's, the rest the engine's, and the meta says which is which
    assert result.ddl[1].statement == GOOD_DDL
    assert result.meta.engine == "rules+llm"
    assert result.meta.model == "fake-model"
    assert result.meta.parts["ddl"] == "rules+llm"
    assert result.meta.parts["queries"] == "rules"
    assert items(result)[("ddl", TABLE)]["engine"] == "llm"
    assert [f.code for f in result.report.findings][-1] == "llm_layout"
    [call] = result.meta.extra["llm"]["calls"]
    assert call["outcome"] == "ok"
    assert (call["prompt_tokens"], call["completion_tokens"]) == (900, 80)
    # and the result survives storage
    assert AnalysisResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


async def test_one_refused_item_falls_back_to_the_engine_alone() -> None:
    # given a good DDL and a query reading a table that does not exist, twice
    bad = ProposedQuery("q-heavy", HEAVY_QUERY.replace("orders", "orders_daily"))
    advisor = answering(
        AdviceReply(tables=(ProposedTable(TABLE, ddl=GOOD_DDL),), queries=(bad,)),
        AdviceReply(queries=(bad,)),
    )
    result = await run(advisor)
    engine = await engine_only()
    # then the DDL is the LLM's and the query the engine's
    assert result.ddl[1].statement == GOOD_DDL
    assert result.queries == engine.queries
    assert items(result)[("queries", "q-heavy")]["outcome"] == "rejected"
    assert "unknown table" in str(items(result)[("queries", "q-heavy")]["errors"])
    entry = next(e for e in result.report.verification["queries"] if e["queryid"] == "q-heavy")
    assert entry["engine"] == "rules"
    assert "not returned" in entry["reason"]


async def test_the_repair_round_gets_the_errors_and_only_the_failing_items() -> None:
    # given a DDL that is not valid SQL at first, then fixed
    advisor = answering(
        AdviceReply(tables=(ProposedTable(TABLE, ddl="CREATE TABLE lake.optimized.orders ("),)),
        AdviceReply(tables=(ProposedTable(TABLE, ddl=GOOD_DDL),)),
    )
    result = await run(advisor)
    # then the second request asks for that item with the parser's message
    first, second = advisor.requests
    assert (first.round, first.repairs) == (1, ())
    assert second.round == 2
    [repair] = second.repairs
    assert (repair.part, repair.item) == ("ddl", TABLE)
    assert repair.errors[0].startswith("not valid Trino SQL")
    # and the repaired item is kept, from the second round
    assert result.ddl[1].statement == GOOD_DDL
    assert items(result)[("ddl", TABLE)]["round"] == 2
    assert [c["round"] for c in result.meta.extra["llm"]["calls"]] == [1, 2]


async def test_a_drop_table_is_refused_and_the_engines_ddl_kept() -> None:
    drop = ProposedTable(TABLE, ddl="DROP TABLE lake.sales.orders")
    advisor = answering(AdviceReply(tables=(drop,)), AdviceReply(tables=(drop,)))
    result = await run(advisor)
    assert same_lists(result, await engine_only())
    assert result.meta.engine == "rules"
    assert "DROP TABLE is not allowed" in str(items(result)[("ddl", TABLE)]["errors"])


@pytest.mark.parametrize(
    "failure",
    [
        AdvisorError("rate_limited", "HTTP 429 after 2 retries"),
        AdvisorError("malformed", "the answer is not the expected JSON"),
        RuntimeError("a bug in the adapter"),
    ],
)
async def test_an_advisor_failure_returns_the_engines_answer(failure: Exception) -> None:
    result = await run(answering(failure))
    assert same_lists(result, await engine_only())
    assert result.report == (await engine_only()).report
    assert result.meta.engine == "rules"
    assert result.meta.extra["llm"]["outcome"] == "advisor_failed"
    [call] = result.meta.extra["llm"]["calls"]
    assert call["outcome"] == getattr(failure, "outcome", "error")
    assert call["error"]


async def test_a_failed_repair_round_keeps_what_the_first_round_got_through() -> None:
    bad = ProposedQuery("q-heavy", "SELECT nope FROM lake.optimized.orders")
    advisor = answering(
        AdviceReply(tables=(ProposedTable(TABLE, ddl=GOOD_DDL),), queries=(bad,)),
        AdvisorError("server_error", "HTTP 500"),
    )
    result = await run(advisor)
    assert result.ddl[1].statement == GOOD_DDL
    assert result.queries == (await engine_only()).queries
    assert [c["outcome"] for c in result.meta.extra["llm"]["calls"]] == ["ok", "server_error"]


async def test_past_the_budget_the_engines_answer_is_returned_in_time() -> None:
    async def slow(_: AdviceRequest) -> AdviceReply:
        await asyncio.sleep(30)
        return AdviceReply(tables=(ProposedTable(TABLE, ddl=GOOD_DDL),))

    async with asyncio.timeout(5):  # the budget, not the advisor's 30 s, bounds the wait
        result = await run(FunctionAdvisor(slow), budget=0.3)
    assert same_lists(result, await engine_only())
    assert result.meta.extra["llm"]["outcome"] == "budget_exceeded"
    assert result.meta.extra["llm"]["calls"][-1]["outcome"] == "budget_exceeded"


async def test_use_llm_false_never_asks_the_advisor() -> None:
    advisor = answering()
    result = await run(advisor, orders_workload(use_llm=False))
    assert advisor.requests == []
    assert result.meta.engine == "rules"
    assert result.meta.extra["llm"] == {"enabled": False, "outcome": "not_requested"}


async def test_every_queryid_once_duplicates_and_unknown_ids_are_refused() -> None:
    twice = ProposedQuery("q-light", LIGHT_QUERY)
    advisor = answering(
        AdviceReply(
            queries=(
                twice,
                twice,
                ProposedQuery("q-invented", LIGHT_QUERY),
                ProposedQuery("q-broken", "SELECT 1"),
            )
        ),
        AdviceReply(),
    )
    result = await run(advisor)
    assert result.queries == (await engine_only()).queries
    found = items(result)
    assert "proposed 2 times" in str(found[("queries", "q-light")]["errors"])
    assert found[("queries", "q-invented")]["outcome"] == "rejected"
    assert found[("queries", "q-broken")]["outcome"] == "rejected"


async def test_an_equivalent_rewrite_is_kept_and_the_verification_says_why() -> None:
    rewrite = (
        "SELECT o.customer, SUM(o.amount) AS total FROM lake.optimized.orders AS o "
        "WHERE DATE '2024-01-01' <= o.day GROUP BY o.customer"
    )
    result = await run(answering(AdviceReply(queries=(ProposedQuery("q-heavy", rewrite),))))
    assert {q.queryid: q.query for q in result.queries}["q-heavy"] == rewrite
    assert result.meta.parts["queries"] == "rules+llm"
    entry = next(e for e in result.report.verification["queries"] if e["queryid"] == "q-heavy")
    assert entry["engine"] == "llm"
    assert "canonical form" in entry["reason"]


async def test_a_rewrite_that_changes_the_rows_is_not_returned() -> None:
    narrower = HEAVY_QUERY.replace(">=", ">")
    advisor = answering(
        AdviceReply(queries=(ProposedQuery("q-heavy", narrower),)),
        AdviceReply(queries=(ProposedQuery("q-heavy", narrower),)),
    )
    result = await run(advisor)
    assert {q.queryid: q.query for q in result.queries}["q-heavy"] == HEAVY_QUERY
    assert "same rows" in str(items(result)[("queries", "q-heavy")]["errors"])


async def test_a_migration_that_copies_every_row_once_is_accepted() -> None:
    # given a copy split by calendar month and its NULLs, where the engine makes one INSERT
    copy = (
        f"INSERT INTO {TABLE} (id, customer, amount, ordered_at, day) "
        "SELECT id, customer, amount, ordered_at, day FROM lake.sales.orders"
    )
    split = (
        *(f"{copy} WHERE month(day) = {m}" for m in range(1, 13)),
        f"{copy} WHERE day IS NULL",
    )
    result = await run(answering(AdviceReply(tables=(ProposedTable(TABLE, migrations=split),))))
    assert [m.statement for m in result.migrations] == list(split)
    assert result.meta.parts["migrations"] == "llm"


async def test_notes_become_numbered_findings_limited_to_known_queries() -> None:
    note = ProposedNote("Cache q-heavy", "It runs 100 times a day.", TABLE, ("q-heavy", "zz"))
    result = await run(answering(AdviceReply(notes=(note,), summary="One note.")))
    last = result.report.findings[-1]
    assert (last.code, last.table, last.queryids) == ("llm_note", TABLE, ("q-heavy",))
    assert 0 < last.weight_share <= 1
    assert result.report.summary.endswith("LLM: One note.")
    assert result.meta.parts["report"] == "rules+llm"
    assert result.meta.engine == "rules"  # a note changes no statement


async def test_the_brief_is_heaviest_first_without_credentials_or_untouchable_queries() -> None:
    advisor = answering(AdviceReply())
    progress: list[Progress] = []
    await run(advisor, progress=progress)
    [request] = advisor.requests
    assert [q.queryid for q in request.queries] == ["q-heavy", "q-light"]
    assert (request.catalog, request.schema) == ("lake", "optimized")
    assert SECRET not in repr(request)
    assert "alice" not in repr(request)
    assert INJECTION in request.tables[0].ddl  # data, carried as data
    # without statistics the engine fills the table with one INSERT: no split to keep
    assert request.tables[0].split_by == ()
    assert Progress("refine", 90) in progress


async def test_the_brief_carries_the_engines_split_of_a_copy() -> None:
    # given a source partitioned by month, whose copy the engine splits by calendar month
    workload = orders_workload()
    partitioned = DdlStatement(f"{ORDERS} WITH (partitioning = ARRAY['month(day)'])")
    advisor = answering(AdviceReply())
    await run(advisor, dataclasses.replace(workload, ddl=(partitioned,)))
    [request] = advisor.requests
    assert request.tables[0].split_by[0] == "MONTH(day) = 1"
    assert request.tables[0].split_by[-1] == "day IS NULL"


async def test_the_credentials_reach_the_engine_and_never_the_advisor() -> None:
    # given the guarded analyzer over an engine that records what it is given
    async def rules(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        return await RulesAnalyzer("test").analyze(workload, on_progress)

    engine = FunctionAnalyzer(rules)
    advisor = answering(AdviceReply())
    credentials = credentials_from_jdbc_url(URL)
    assert credentials is not None

    async def ignore(_: Progress) -> None:
        return None

    # when it analyses a workload with the credentials of its URL
    analyzer = GuardedAdvisorAnalyzer(engine, advisor)
    result = await analyzer.analyze(orders_workload(), ignore, credentials=credentials)

    # then the engine got them (for its statistics), and neither the brief nor the result
    # holds any part of them
    assert engine.credentials == [credentials]
    [request] = advisor.requests
    for text in (repr(request), json.dumps(result.to_dict())):
        assert SECRET not in text
        assert "alice" not in text


async def test_a_lost_lease_during_refinement_propagates() -> None:
    class LeaseLost(Exception):
        pass

    async def on_progress(step: Progress) -> None:
        if step.stage == "refine":
            raise LeaseLost

    analyzer = GuardedAdvisorAnalyzer(RulesAnalyzer("test"), answering(AdviceReply()))
    with pytest.raises(LeaseLost):
        await analyzer.analyze(orders_workload(), on_progress)
