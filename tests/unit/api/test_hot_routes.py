"""`POST /new` and `GET /status` go the fast way (`entrypoints.api.hot`) when they can: the
answers must be those of the full application, whatever the request.

Every request here is sent to two applications on the same kind of storage, one with the fast
way and one without (`app.hot = None`), and their answers compared: status, headers that
matter, body (task ids and timestamps aside)."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.clock import SystemClock
from adapters.memory import InMemoryUnitOfWorkFactory
from application.use_cases.get_task_result import GetTaskResult
from application.use_cases.get_task_status import GetTaskStatus
from application.use_cases.submit_task import SubmitTask, SubmitTaskRequest
from entrypoints.api.app import ApiDependencies, ApiOptions, ServiceApi, create_app
from entrypoints.api.schemas import NewTaskRequest, NewTaskResponse
from tests.unit.api.support import a_body
from tests.unit.api.test_hostile_requests import ACCEPTED, CORPUS, LIMIT, Bad, send

KEY = "k-123"
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


class Broken:
    """A use case whose every call raises `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def execute(self, request: Any) -> Any:
        raise self.error


class CountingStack:
    """A middleware of the full application: counts the requests that went the full way."""

    seen: ClassVar[list[str]] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            CountingStack.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@dataclass
class Pair:
    fast: httpx.AsyncClient
    full: httpx.AsyncClient
    fast_app: ServiceApi
    submitted: uuid.UUID  # a task both storages hold under the same id


def deps_of(uow: InMemoryUnitOfWorkFactory, broken: Exception | None) -> ApiDependencies:
    submit: Any = SubmitTask(uow, SystemClock()) if broken is None else Broken(broken)
    status: Any = GetTaskStatus(uow) if broken is None else Broken(broken)
    return ApiDependencies(submit=submit, get_status=status, get_result=GetTaskResult(uow))


@contextlib.asynccontextmanager
async def pair(
    options: ApiOptions | None = None, broken: Exception | None = None
) -> AsyncIterator[Pair]:
    options = options or ApiOptions(max_request_bytes=LIMIT)
    storage = InMemoryUnitOfWorkFactory()
    seeded = await SubmitTask(storage, SystemClock()).execute(_seed_request())

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        app.state.deps = deps_of(storage, broken)
        yield

    fast = create_app(lifespan, version="0.0.0", options=options)
    full = create_app(lifespan, version="0.0.0", options=options)
    assert isinstance(fast, ServiceApi)
    assert isinstance(full, ServiceApi)
    assert fast.hot is not None
    full.hot = None
    fast.add_middleware(CountingStack)
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in (fast, full):
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://test")
                )
            )
        yield Pair(clients[0], clients[1], fast, seeded.task_id)


def _seed_request() -> SubmitTaskRequest:
    body = NewTaskRequest.model_validate(a_body())
    return SubmitTaskRequest(body.to_workload(), body.credentials())


def comparable(response: httpx.Response) -> tuple[Any, ...]:
    text = UUID_TEXT.sub("<uuid>", TIMESTAMP.sub("<time>", response.text))
    headers = {
        name: response.headers.get(name)
        for name in (
            "content-type",
            "retry-after",
            "www-authenticate",
            "access-control-allow-origin",
            "connection",
        )
    }
    if response.headers.get("content-type", "").endswith("json") and response.content:
        content_length = None  # the ids and times are the same length; the rest must match
        assert int(response.headers["content-length"]) == len(response.content)
    else:
        content_length = response.headers.get("content-length")
    return response.status_code, headers, content_length, text


async def both(p: Pair, request: Callable[[httpx.AsyncClient], Any]) -> httpx.Response:
    fast = await request(p.fast)
    full = await request(p.full)
    assert comparable(fast) == comparable(full)
    return fast  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", CORPUS)
async def test_a_bad_request_gets_the_full_applications_answer(name: str) -> None:
    async with pair() as p:
        await both(p, lambda client: send(client, CORPUS[name]))


@pytest.mark.parametrize("name", ACCEPTED)
async def test_a_valid_workload_gets_the_full_applications_answer(name: str) -> None:
    async with pair() as p:
        response = await both(p, lambda client: client.post("/new", json=ACCEPTED[name]))
    assert response.status_code == 202


def raw(content: bytes, content_type: str | None = "application/json", **headers: str) -> Bad:
    if content_type is not None:
        headers["content-type"] = content_type
    return Bad("POST", "/new", content=content, headers=headers)


BODY = json.dumps(a_body()).encode()
EDGES = {
    "plain": raw(BODY),
    "charset": raw(BODY, "application/json; charset=utf-8"),
    "upper-case type": raw(BODY, "Application/JSON"),
    "problem+json type": raw(BODY, "application/problem+json"),
    "text type": raw(BODY, "text/plain"),
    "no type": raw(BODY, None),
    "byte order mark": raw(b"\xef\xbb\xbf" + BODY),
    "utf-16": raw(json.dumps(a_body()).encode("utf-16")),
    "duplicate key": raw(BODY[:-1] + b', "url": "jdbc:trino://[::1"}'),
    "lone surrogate": raw(BODY.replace(b'"q1"', b'"\\ud800"')),
    "invalid utf-8": raw(BODY.replace(b'"q1"', b'"\xff"')),
    "trailing data": raw(BODY + b"{}"),
    "empty": raw(b""),
    "float count": raw(BODY.replace(b'"runquantity": 10', b'"runquantity": 10.0')),
    "NaN time": raw(BODY.replace(b'"executiontime": 2.5', b'"executiontime": NaN')),
    "over the limit": raw(b" " * (LIMIT + 1) + BODY),
    "status": Bad("GET", "/status", params={"taskid": "<seeded>"}),
    "status alias": Bad("GET", "/status", params={"task_id": "<seeded>"}),
    "status both names": Bad("GET", "/status", raw_query="taskid=<seeded>&task_id=nope"),
    "status twice": Bad("GET", "/status", raw_query="taskid=nope&taskid=<seeded>"),
    "status spaces": Bad("GET", "/status", raw_query="taskid=%20<seeded>%20"),
    "status unknown": Bad("GET", "/status", params={"taskid": str(uuid.uuid4())}),
    "status bad": Bad("GET", "/status", params={"taskid": "nope"}),
    "status none": Bad("GET", "/status"),
    "status head": Bad("HEAD", "/status", params={"taskid": "<seeded>"}),
    "new slash": Bad("POST", "/new/", content=BODY, headers={"content-type": "application/json"}),
}


def seeded(bad: Bad, task_id: uuid.UUID) -> Bad:
    params = (
        {name: value.replace("<seeded>", str(task_id)) for name, value in bad.params.items()}
        if bad.params
        else bad.params
    )
    raw_query = bad.raw_query.replace("<seeded>", str(task_id)) if bad.raw_query else None
    return Bad(
        bad.method, bad.path, bad.json_body, bad.content, bad.headers, params, None, raw_query
    )


@pytest.mark.parametrize("name", EDGES)
async def test_an_edge_case_gets_the_full_applications_answer(name: str) -> None:
    async with pair() as p:
        await both(p, lambda client: send(client, seeded(EDGES[name], p.submitted)))


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": KEY}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"x-api-key": KEY}],
)
@pytest.mark.parametrize("call", ["new", "status"])
async def test_api_keys_are_checked_the_same_way(headers: dict[str, str], call: str) -> None:
    async with pair(ApiOptions(api_keys=(KEY,))) as p:

        def request(client: httpx.AsyncClient) -> Any:
            if call == "new":
                return client.post("/new", json=a_body(), headers=headers)
            return client.get("/status", params={"taskid": str(p.submitted)}, headers=headers)

        await both(p, request)


@pytest.mark.parametrize("origin", [None, "https://app.example", "https://evil.example"])
async def test_cors_is_answered_the_same_way(origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    async with pair(ApiOptions(cors_allow_origins=("https://app.example",))) as p:
        await both(p, lambda client: client.post("/new", json=a_body(), headers=headers))


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, ConnectionRefusedError("down")),
        ConnectionResetError("reset"),
        RuntimeError("unexpected"),
    ],
    ids=["storage-down", "socket", "unexpected"],
)
@pytest.mark.parametrize("call", ["new", "status"])
async def test_an_error_of_the_use_case_is_answered_by_its_handler(
    error: Exception, call: str
) -> None:
    async with pair(broken=error) as p:

        def request(client: httpx.AsyncClient) -> Any:
            if call == "new":
                return client.post("/new", json=a_body())
            return client.get("/status", params={"taskid": str(p.submitted)})

        response = await both(p, request)
    assert response.status_code in {500, 503}
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unexpected_error_is_raised_to_the_server_as_well() -> None:
    async with pair(broken=RuntimeError("unexpected")) as p:
        app = p.fast_app
        transport = httpx.ASGITransport(app=app)  # raises what the application raises
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with pytest.raises(RuntimeError, match="unexpected"):
                await client.post("/new", json=a_body())


async def test_the_usual_calls_go_the_fast_way_and_the_rest_the_full_way() -> None:
    async with pair() as p:
        CountingStack.seen.clear()
        created = await p.fast.post("/new", json=a_body())
        task_id = created.json()["taskid"]
        polled = await p.fast.get("/status", params={"taskid": task_id})
        refused = await p.fast.post("/new", json=a_body(url="ftp://nope"))
        unknown = await p.fast.get("/status", params={"taskid": str(uuid.uuid4())})
        bad = await p.fast.get("/status", params={"taskid": "nope"})

    assert (created.status_code, polled.status_code) == (202, 200)
    assert (refused.status_code, unknown.status_code, bad.status_code) == (422, 404, 422)
    assert CountingStack.seen == ["POST /new", "GET /status"]  # the refusal, the bad id


async def test_the_answer_of_a_submission_is_what_its_model_dumps() -> None:
    async with pair() as p:
        response = await p.fast.post("/new", json=a_body())

    task_id = uuid.UUID(response.json()["taskid"])
    expected = NewTaskResponse(taskid=task_id, status="pending").model_dump_json()
    assert response.content == expected.encode()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(expected))


def metric(route: str, status: str, method: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("dbanalysis_http_requests_total", labels) or 0.0


async def test_the_fast_way_counts_its_requests_like_the_full_way() -> None:
    async with pair() as p:
        before = (metric("/new", "202", "POST"), metric("/status", "200", "GET"))
        created = await p.fast.post("/new", json=a_body())
        await p.fast.get("/status", params={"taskid": created.json()["taskid"]})
        after = (metric("/new", "202", "POST"), metric("/status", "200", "GET"))

    assert after == (before[0] + 1, before[1] + 1)
