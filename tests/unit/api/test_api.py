"""The HTTP API through an ASGI transport: the contract's status codes and bodies."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.ports.analyzer import ProgressSink
from domain.result import AnalysisResult
from domain.workload import Workload
from entrypoints.settings import Settings
from tests.unit.api.support import Api, Handler, a_body, instant, running_api
from tests.unit.builders import a_result


@pytest.fixture
def handler() -> Handler:
    return instant


@pytest.fixture
async def api(handler: Handler) -> AsyncIterator[Api]:
    async with running_api(Settings(relay_interval_seconds=0.05), handler) as running:
        yield running


async def test_submitting_a_workload_answers_202_with_a_pending_task(api: Api) -> None:
    response = await api.client.post("/new", json=a_body())

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert uuid.UUID(body["taskid"])


async def test_a_submitted_task_completes_and_its_result_is_served(api: Api) -> None:
    task_id = await api.submit()

    status = await api.wait_for(task_id, "completed")
    result = await api.client.get("/getresult", params={"taskid": str(task_id)})

    assert status["status"] == "completed"
    assert status["progress"] == {"stage": "done", "percent": 100}
    assert status["attempts"] == 1
    assert status["error"] is None
    assert result.status_code == 200
    assert set(result.json()) == {"ddl", "migrations", "queries", "report", "meta"}
    assert [q["queryid"] for q in result.json()["queries"]] == ["q1"]


async def test_task_id_is_accepted_as_an_alias_of_taskid(api: Api) -> None:
    task_id = await api.submit()
    await api.wait_for(task_id, "completed")

    status = await api.client.get("/status", params={"task_id": str(task_id)})
    result = await api.client.get("/getresult", params={"task_id": str(task_id)})

    assert status.status_code == 200
    assert result.status_code == 200


@pytest.mark.parametrize("path", ["/status", "/getresult"])
async def test_an_unknown_task_is_404(api: Api, path: str) -> None:
    response = await api.client.get(path, params={"taskid": str(uuid.uuid4())})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/task-not-found"
    assert "no task" in response.json()["detail"]


class Gate:
    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def handler(self, workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        await self.opened.wait()
        return a_result(workload)


class TestAnUnfinishedTask:
    @pytest.fixture
    def gate(self) -> Gate:
        return Gate()

    @pytest.fixture
    def handler(self, gate: Gate) -> Handler:
        return gate.handler

    async def test_its_result_is_409_with_its_status(self, api: Api, gate: Gate) -> None:
        task_id = await api.submit()
        await api.wait_for(task_id, "processing")

        response = await api.client.get("/getresult", params={"taskid": str(task_id)})
        gate.opened.set()

        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 409
        assert response.json()["task_status"] == "processing"
        assert response.json()["taskid"] == str(task_id)
        assert response.json()["error"] is None


class TestAFailedTask:
    @pytest.fixture
    def handler(self) -> Handler:
        async def reject(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
            raise ValueError("nothing to analyse")

        return reject

    async def test_its_result_is_409_with_its_error(self, api: Api) -> None:
        task_id = await api.submit()
        status = await api.wait_for(task_id, "failed")

        response = await api.client.get("/getresult", params={"taskid": str(task_id)})

        error = {"code": "analysis_failed", "message": "nothing to analyse"}
        assert status["error"] == error
        assert response.status_code == 409
        assert response.json()["error"] == error


BAD_BODIES = {
    "missing url": {k: v for k, v in a_body().items() if k != "url"},
    "missing ddl": {k: v for k, v in a_body().items() if k != "ddl"},
    "missing queries": {k: v for k, v in a_body().items() if k != "queries"},
    "empty ddl": a_body(ddl=[]),
    "empty queries": a_body(queries=[]),
    "ddl not a list": a_body(ddl="CREATE TABLE t (a int)"),
    "statement not a string": a_body(ddl=[{"statement": 42}]),
    "runquantity a string": a_body(
        queries=[{"queryid": "q1", "query": "SELECT 1", "runquantity": "many"}]
    ),
    "runquantity a numeric string": a_body(
        queries=[{"queryid": "q1", "query": "SELECT 1", "runquantity": "5"}]
    ),
    "negative runquantity": a_body(
        queries=[{"queryid": "q1", "query": "SELECT 1", "runquantity": -1}]
    ),
    "negative executiontime": a_body(
        queries=[{"queryid": "q1", "query": "SELECT 1", "executiontime": -3}]
    ),
    "missing queryid": a_body(queries=[{"query": "SELECT 1"}]),
    "duplicate queryid": a_body(
        queries=[{"queryid": "q1", "query": "SELECT 1"}, {"queryid": "q1", "query": "SELECT 2"}]
    ),
    "url not jdbc:trino": a_body(url="postgresql://u:p@host/db"),
    "bad target schema": a_body(options={"target_schema": "new schema; DROP"}),
    "unknown option": a_body(options={"target_schema": "x", "turbo": True}),
    "use_llm not a bool": a_body(options={"use_llm": "yes"}),
    "body a list": [a_body()],
    "body a string": "hello",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_an_invalid_workload_is_422_with_where_and_what(api: Api, body: Any) -> None:
    response = await api.client.post("/new", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors
    assert all(e["loc"] and e["msg"] for e in errors)


async def test_a_statement_over_its_length_limit_is_422(api: Api) -> None:
    body = a_body(queries=[{"queryid": "q1", "query": "S" * 1_000_001}])

    response = await api.client.post("/new", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "queries", 0, "query"]


async def test_malformed_json_is_400(api: Api) -> None:
    response = await api.client.post(
        "/new", content=b'{"url": "jdbc:trino://h",', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-body"


async def test_a_rejected_workload_never_echoes_the_credentials(api: Api) -> None:
    body = a_body(queries=[])

    response = await api.client.post("/new", json=body)

    assert response.status_code == 422
    assert "s3cr3t-pw" not in response.text
    assert "alice" not in response.text


async def test_the_credentials_of_the_url_reach_the_analyzer_and_no_response(api: Api) -> None:
    # given a workload whose URL carries a user and a password
    task_id = await api.submit(a_body())

    # when the task completes
    await api.wait_for(task_id, "completed")

    # then the analyzer got the credentials apart from the (redacted) workload
    [credentials] = api.analyzer.credentials
    assert credentials is not None
    assert (credentials.user, credentials.password) == ("alice", "s3cr3t-pw")
    [workload] = api.analyzer.calls
    assert "s3cr3t-pw" not in repr(workload)
    # and no answer of the API shows them
    for path in ("/status", "/getresult"):
        response = await api.client.get(path, params={"taskid": str(task_id)})
        assert response.status_code == 200
        assert "s3cr3t-pw" not in response.text
        assert "alice" not in response.text


@pytest.mark.parametrize("path", ["/status", "/getresult"])
@pytest.mark.parametrize(
    "params",
    [{"taskid": "not-a-uuid"}, {"task_id": "123"}, {}, {"taskid": ""}],
    ids=["bad taskid", "bad task_id", "missing", "empty"],
)
async def test_a_bad_or_missing_task_id_is_422(api: Api, path: str, params: dict[str, str]) -> None:
    response = await api.client.get(path, params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][0] == "query"


async def test_the_openapi_document_shows_a_request_example(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()

    schema = spec["components"]["schemas"]["NewTaskRequest"]
    assert schema["examples"][0]["queries"][0]["queryid"]
    assert {"/new", "/status", "/getresult", "/health", "/health/live", "/health/ready"} <= set(
        spec["paths"]
    )


async def test_health_answers_ok(api: Api) -> None:
    assert (await api.client.get("/health")).json() == {"status": "ok"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "url",
                    "ddl",
                    "queries",
                    "statement",
                    "queryid",
                    "query",
                    "runquantity",
                    "executiontime",
                    "options",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
async def test_no_body_whatsoever_makes_a_500(api: Api, body: Any) -> None:
    response = await api.client.post(
        "/new", content=json.dumps(body), headers={"content-type": "application/json"}
    )

    assert response.status_code in {202, 422}
