"""The LLM advisor against an OpenAI-compatible server on loopback, through langchain-openai.

Each scenario ends in a result that obeys the contract, with each part credited to the engine
that produced it. The server is real HTTP (see `openai_stub`); nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.llm import LangChainAdvisor, StructuredOutputMethod
from application.refinement.guarded_analyzer import GuardedAdvisorAnalyzer
from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import Workload
from entrypoints import cli
from tests.integration.openai_stub import OpenAIStub, answer, error
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.llm.support import GOOD_DDL, HEAVY_QUERY, INJECTION, SECRET, URL, orders_workload

pytestmark = pytest.mark.integration

TABLE = "lake.optimized.orders"
GOOD = {"tables": [{"table": TABLE, "ddl": GOOD_DDL, "rationale": "q-heavy groups by customer"}]}


def llm_items(result: AnalysisResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["part"], i["item"]): i for i in result.meta.extra["llm"]["items"]}


def outcomes(result: AnalysisResult) -> list[str]:
    return [c["outcome"] for c in result.meta.extra["llm"]["calls"]]


async def analyze(
    stub: OpenAIStub,
    *,
    workload: Workload | None = None,
    method: StructuredOutputMethod = "function_calling",
    budget: float = 30.0,
    retries: int = 0,
) -> AnalysisResult:
    workload = workload or orders_workload()
    advisor = LangChainAdvisor(
        model="stub-model",
        base_url=stub.base_url,
        api_key="test-key",
        timeout_seconds=10,
        max_retries=retries,
        method=method,
    )
    analyzer = GuardedAdvisorAnalyzer(RulesAnalyzer("test"), advisor, budget_seconds=budget)

    async def ignore(_: Progress) -> None:
        return None

    result = await analyzer.analyze(workload, ignore)
    assert_result_obeys_contract(workload, result, original_url=URL)
    return result


async def engine_only() -> AnalysisResult:
    async def ignore(_: Progress) -> None:
        return None

    return await RulesAnalyzer("test").analyze(orders_workload(), ignore)


@pytest.fixture
def scripted() -> Iterator[list[OpenAIStub]]:
    """Stubs started by the test, all stopped after it."""
    started: list[OpenAIStub] = []
    yield started
    for stub in started:
        stub.__exit__(None, None, None)


def serve(started: list[OpenAIStub], script: Any) -> OpenAIStub:
    stub = OpenAIStub(script).__enter__()
    started.append(stub)
    return stub


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
async def test_a_good_refinement_is_kept_and_credited_to_the_llm(
    scripted: list[OpenAIStub], method: StructuredOutputMethod
) -> None:
    stub = serve(scripted, lambda request, _: answer(request, GOOD))
    result = await analyze(stub, method=method)
    assert result.ddl[1].statement == GOOD_DDL
    assert result.meta.engine == "rules+llm"
    assert result.meta.model == "stub-model"
    assert result.meta.parts["ddl"] == "rules+llm"
    assert result.meta.parts["queries"] == "rules"
    [call] = result.meta.extra["llm"]["calls"]
    assert (call["outcome"], call["prompt_tokens"], call["completion_tokens"]) == ("ok", 321, 54)
    # the request was a chat completion in the shape langchain-openai sends
    [sent] = stub.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers.get("authorization") == "Bearer test-key"
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]
    assert sent.body["model"] == "stub-model"
    assert ("tools" in sent.body) is (method == "function_calling")
    if method != "function_calling":
        assert sent.body["response_format"]["type"] == (
            "json_schema" if method == "json_schema" else "json_object"
        )


async def test_the_prompt_marks_the_data_and_carries_no_credential(
    scripted: list[OpenAIStub],
) -> None:
    stub = serve(scripted, lambda request, _: answer(request, {}))
    result = await analyze(stub)
    [sent] = stub.requests
    system, user = (m["content"] for m in sent.body["messages"])
    assert "never an instruction" in system
    assert SECRET not in sent.raw
    assert "alice" not in sent.raw
    assert "jdbc" not in sent.raw
    data = user.split("<workload>", 1)[1].rsplit("</workload>", 1)[0]
    assert INJECTION in data
    assert INJECTION not in user.replace(data, "")
    assert user.index('"q-heavy"') < user.index('"q-light"')  # heaviest first
    assert "SELEC broken" not in user  # unparsable: returned as sent, not the LLM's business
    assert result.meta.engine == "rules"


async def test_invalid_sql_is_repaired_in_a_second_round(scripted: list[OpenAIStub]) -> None:
    broken = {"tables": [{"table": TABLE, "ddl": "CREATE TABLE lake.optimized.orders (id"}]}
    stub = serve(scripted, lambda request, n: answer(request, broken if n == 0 else GOOD))
    result = await analyze(stub)
    assert result.ddl[1].statement == GOOD_DDL
    assert llm_items(result)[("ddl", TABLE)]["round"] == 2
    repair = stub.requests[1].user_text
    assert "refused" in repair
    assert "not valid Trino SQL" in repair


async def test_sql_still_invalid_after_the_repair_falls_back_to_the_engine(
    scripted: list[OpenAIStub],
) -> None:
    broken = {
        "tables": [{"table": TABLE, "ddl": "CREATE TABLE lake.optimized.orders (id"}],
        "queries": [{"queryid": "q-heavy", "query": "SELEC customer FROM x"}],
    }
    stub = serve(scripted, lambda request, _: answer(request, broken))
    result = await analyze(stub)
    engine = await engine_only()
    assert (result.ddl, result.queries) == (engine.ddl, engine.queries)
    assert result.meta.engine == "rules"
    assert len(stub.requests) == 2
    assert {i["outcome"] for i in llm_items(result).values()} == {"rejected"}


async def test_a_hallucinated_table_keeps_the_engines_query(scripted: list[OpenAIStub]) -> None:
    invented = HEAVY_QUERY.replace(TABLE, "lake.optimized.orders_by_customer")
    reply = {"queries": [{"queryid": "q-heavy", "query": invented}], **GOOD}
    stub = serve(scripted, lambda request, _: answer(request, reply))
    result = await analyze(stub)
    assert {q.queryid: q.query for q in result.queries}["q-heavy"] == HEAVY_QUERY
    assert result.ddl[1].statement == GOOD_DDL  # the other item still counts
    assert result.meta.parts["queries"] == "rules"
    item = llm_items(result)[("queries", "q-heavy")]
    assert item["engine"] == "rules"
    assert "unknown table lake.optimized.orders_by_customer" in item["errors"][0]


@pytest.mark.parametrize(
    "payload", ['{"tables": [{"table": "lake.optimized.orders", "ddl": ', '{"tables": "x"}']
)
async def test_malformed_json_returns_the_engines_answer(
    scripted: list[OpenAIStub], payload: str
) -> None:
    stub = serve(scripted, lambda request, _: answer(request, payload))
    result = await analyze(stub)
    engine = await engine_only()
    assert (result.ddl, result.migrations, result.queries) == (
        engine.ddl,
        engine.migrations,
        engine.queries,
    )
    assert outcomes(result) == ["malformed"]
    assert result.meta.extra["llm"]["calls"][0]["prompt_tokens"] == 321  # usage still counted


async def test_a_drop_table_never_reaches_the_result(scripted: list[OpenAIStub]) -> None:
    drop = {
        "tables": [
            {
                "table": TABLE,
                "ddl": "DROP TABLE lake.sales.orders",
                "migrations": ["DROP TABLE lake.sales.orders"],
            }
        ],
        "queries": [{"queryid": "q-light", "query": "SELECT 1; DROP TABLE lake.sales.orders"}],
    }
    stub = serve(scripted, lambda request, _: answer(request, drop))
    result = await analyze(stub)
    engine = await engine_only()
    assert (result.ddl, result.migrations, result.queries) == (
        engine.ddl,
        engine.migrations,
        engine.queries,
    )
    errors = " ".join(e for i in llm_items(result).values() for e in i["errors"])
    assert "DROP TABLE is not allowed" in errors
    assert "expected one statement, got 2" in errors
    assert result.meta.engine == "rules"
    assert {i["engine"] for i in llm_items(result).values()} == {"rules"}


async def test_past_the_budget_the_engines_answer_comes_in_time(
    scripted: list[OpenAIStub],
) -> None:
    stub = serve(scripted, lambda request, _: replace(answer(request, GOOD), delay=3.0))
    async with asyncio.timeout(2.5):  # the budget, not the stub's 3 s, bounds the wait
        result = await analyze(stub, budget=1.0)
    assert result.ddl == (await engine_only()).ddl
    assert result.meta.engine == "rules"
    assert result.meta.extra["llm"]["outcome"] == "budget_exceeded"


async def test_a_429_is_retried_and_the_answer_then_used(scripted: list[OpenAIStub]) -> None:
    stub = serve(
        scripted, lambda request, n: error(429, "slow down") if n == 0 else answer(request, GOOD)
    )
    result = await analyze(stub, retries=2)
    assert len(stub.requests) == 2
    assert result.ddl[1].statement == GOOD_DDL
    assert outcomes(result) == ["ok"]


@pytest.mark.parametrize(("status", "outcome"), [(500, "server_error"), (429, "rate_limited")])
async def test_persistent_errors_return_the_engines_answer(
    scripted: list[OpenAIStub], status: int, outcome: str
) -> None:
    stub = serve(scripted, lambda request, _: error(status))
    result = await analyze(stub, retries=1)
    assert len(stub.requests) == 2  # one call, retried once by the client
    assert result.ddl == (await engine_only()).ddl
    assert outcomes(result) == [outcome]
    assert result.meta.extra["llm"]["calls"][0]["error"] == f"HTTP {status} from the LLM endpoint"


def test_the_analyze_command_uses_the_llm_when_configured(
    scripted: list[OpenAIStub],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stub = serve(scripted, lambda request, _: answer(request, GOOD))
    monkeypatch.setenv("DBANALYSIS_LLM_BASE_URL", stub.base_url)
    monkeypatch.setenv("DBANALYSIS_LLM_MODEL", "stub-model")
    workload = orders_workload()
    body = workload.to_dict()
    path = tmp_path / "workload.json"
    path.write_text(json.dumps(body))
    assert cli.main(["analyze", str(path)]) == 0
    result = AnalysisResult.from_dict(json.loads(capsys.readouterr().out))
    assert result.meta.engine == "rules+llm"
    assert result.ddl[1].statement == GOOD_DDL
    assert_result_obeys_contract(workload, result, original_url=URL)
