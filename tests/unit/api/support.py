"""A running embedded app on in-memory storage, reached over an ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from dependency_injector import providers

from adapters.memory.function_analyzer import FunctionAnalyzer
from application.ports.analyzer import ProgressSink
from domain.result import AnalysisResult
from domain.workload import Workload
from entrypoints.containers import EmbeddedContainer, MemoryStorageContainer
from entrypoints.embedded import create_embedded_app
from entrypoints.settings import Settings
from tests.unit.builders import SECRET_URL, a_result

Handler = Callable[[Workload, ProgressSink], Awaitable[AnalysisResult]]


async def instant(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
    return a_result(workload)


def a_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": SECRET_URL,
        "ddl": [{"statement": "CREATE TABLE lake.sales.orders (order_id bigint)"}],
        "queries": [
            {
                "queryid": "q1",
                "query": "SELECT order_id FROM lake.sales.orders",
                "runquantity": 10,
                "executiontime": 2.5,
            }
        ],
    }
    body.update(overrides)
    return body


class Api:
    """A running embedded app on in-memory storage, reached over an ASGI transport."""

    def __init__(self, client: httpx.AsyncClient, analyzer: FunctionAnalyzer) -> None:
        self.client = client
        self.analyzer = analyzer

    async def submit(self, body: dict[str, Any] | None = None) -> uuid.UUID:
        response = await self.client.post("/new", json=body or a_body())
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["taskid"])

    async def wait_for(self, task_id: uuid.UUID, *statuses: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while True:
            body: dict[str, Any] = (
                await self.client.get("/status", params={"taskid": str(task_id)})
            ).json()
            if body["status"] in statuses or time.monotonic() > deadline:
                return body
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_api(settings: Settings, handler: Handler = instant) -> AsyncIterator[Api]:
    container = EmbeddedContainer(settings=settings)
    container.storage.override(MemoryStorageContainer(settings=container.settings))
    analyzer = FunctionAnalyzer(handler)
    container.analyzer.override(providers.Object(analyzer))
    app = create_embedded_app(container.settings(), container, migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client, analyzer)
