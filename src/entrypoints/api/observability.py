"""Health probes, Prometheus metrics and the request metrics middleware.

    GET /health/live    200 while the process serves HTTP (nothing else is checked)
    GET /health/ready   200 when every required probe passes (the database), else 503;
                        optional probes (Kafka) are reported, and fail only as "degraded":
                        the API takes tasks while Kafka is down, its outbox keeps them
    GET /health         the same as /health/live (kept for existing healthchecks)
    GET /metrics        Prometheus text format (`entrypoints.metrics`)

None of them needs an API key, and none shows anything about a task but counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.task import TaskStatus
from entrypoints.logs import task_context
from entrypoints.metrics import HTTP_REQUESTS, HTTP_SECONDS, TASKS

__all__ = [
    "Probe",
    "RequestMetrics",
    "TaskCounter",
    "install_observability",
    "task_context",
]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 3.0

TaskCounter = Callable[[], Awaitable[Mapping[TaskStatus, int]]]


class Probe(Protocol):
    """A dependency /health/ready checks: `check` raises when it is not usable."""

    @property
    def name(self) -> str: ...

    @property
    def required(self) -> bool: ...

    async def check(self) -> None: ...


async def _run(probe: Probe) -> str:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await probe.check()
    except Exception as exc:  # any failure is "down"; the reason is its type, never its text
        return f"down ({type(exc).__name__})"
    return "ok"


class RequestMetrics:
    """Counts every HTTP answer by method, route template and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def install_observability(app: FastAPI, dependencies: Callable[[Request], Any]) -> None:
    """`dependencies(request)` gives the `ApiDependencies` (their probes and task counter)."""
    app.add_middleware(RequestMetrics)

    @app.get("/health", summary="Liveness (the same as /health/live)", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/live", summary="Liveness: the process serves HTTP", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/health/ready",
        summary="Readiness: the database answers (Kafka is reported)",
        tags=["operations"],
        responses={503: {"description": "A required dependency is down"}},
    )
    async def ready(request: Request) -> JSONResponse:
        probes = tuple(dependencies(request).probes)
        results = await asyncio.gather(*(_run(probe) for probe in probes))
        checks = {probe.name: result for probe, result in zip(probes, results, strict=True)}
        down = [probe for probe, result in zip(probes, results, strict=True) if result != "ok"]
        if any(probe.required for probe in down):
            return JSONResponse(
                {"status": "unavailable", "checks": checks},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"status": "degraded" if down else "ready", "checks": checks})

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "text format"}},
    )
    async def metrics(request: Request) -> Response:
        count = dependencies(request).count_tasks
        if count is not None:
            try:
                async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                    counts = await count()
            except Exception as exc:
                log.warning("cannot count tasks for /metrics: %s", type(exc).__name__)
            else:
                for status, number in counts.items():
                    TASKS.labels(str(status)).set(number)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
