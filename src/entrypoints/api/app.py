"""The FastAPI application: routes, and where errors become HTTP codes (`errors`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request, Response, status
from starlette.types import Receive, Scope, Send

from application.use_cases.get_task_result import GetTaskResult, GetTaskResultRequest
from application.use_cases.get_task_status import GetTaskStatus, GetTaskStatusRequest
from application.use_cases.submit_task import SubmitTask, SubmitTaskRequest
from entrypoints.api.errors import (
    BadTaskId,
    NotCompletedProblem,
    Problem,
    ValidationProblem,
    install_error_handlers,
    problem_openapi,
)
from entrypoints.api.hot import HotRoutes
from entrypoints.api.limits import BodySizeLimit
from entrypoints.api.observability import Probe, TaskCounter, install_observability, task_context
from entrypoints.api.options import ApiOptions
from entrypoints.api.page import install_page
from entrypoints.api.schemas import NewTaskRequest, NewTaskResponse, StatusResponse
from entrypoints.api.security import install_security

__all__ = ["ApiDependencies", "ApiOptions", "create_app"]

log = logging.getLogger(__name__)

TASK_ID_DOC = "The task id returned by POST /new (`task_id` is accepted as an alias)."

# The task id parameter as the document states it: required, a UUID. The routes read `taskid`
# and its alias `task_id` themselves (FastAPI cannot express "one of two names").
TASK_ID_PARAMETER = {
    "parameters": [
        {
            "name": "taskid",
            "in": "query",
            "required": True,
            "description": TASK_ID_DOC,
            "schema": {"type": "string", "format": "uuid"},
        }
    ]
}

Documented = dict[int | str, dict[str, Any]]

INVALID: dict[str, Any] = {"model": ValidationProblem, "description": "Invalid request"}
UNKNOWN_TASK: dict[str, Any] = {"model": Problem, "description": "No task has this id"}
STORAGE_DOWN: dict[str, Any] = {
    "model": Problem,
    "description": "The database cannot be reached; retry after `Retry-After` seconds",
}
UNAUTHORIZED: dict[str, Any] = {
    "model": Problem,
    "description": "A valid `X-API-Key` header is required",
}


@dataclass(frozen=True)
class ApiDependencies:
    """What the routes need; built by a composition root (a container), never by the routes."""

    submit: SubmitTask
    get_status: GetTaskStatus
    get_result: GetTaskResult
    on_submitted: Callable[[], None] | None = None  # wakes the outbox relay after a commit
    # What GET /health/ready checks (the database, Kafka…); none: always ready.
    probes: tuple[Probe, ...] = field(default_factory=tuple)
    # Counts tasks by status for GET /metrics; none: that gauge is not exported.
    count_tasks: TaskCounter | None = None


def _dependencies(request: Request) -> ApiDependencies:
    # Read by the routes themselves rather than declared as a FastAPI dependency: solving one
    # more dependency for each request cost more CPU than this line (bench/api_load.py).
    deps: ApiDependencies = request.app.state.deps
    return deps


async def _accept(deps: ApiDependencies, body: NewTaskRequest) -> bytes:
    """What `POST /new` does with a valid body; the body of its 202."""
    submitted = await deps.submit.execute(
        SubmitTaskRequest(body.to_workload(), credentials=body.credentials())
    )
    with task_context(submitted.task_id):
        log.info("task accepted: %d quer(ies)", len(body.queries))
    if deps.on_submitted is not None:
        deps.on_submitted()
    return (
        NewTaskResponse(taskid=submitted.task_id, status=str(submitted.status))
        .model_dump_json()
        .encode()
    )


async def _status(deps: ApiDependencies, task_id: uuid.UUID) -> bytes:
    """The body of the 200 of `GET /status` for `task_id`."""
    view = await deps.get_status.execute(GetTaskStatusRequest(task_id))
    return StatusResponse.from_view(view).model_dump_json().encode()


class ServiceApi(FastAPI):
    """The FastAPI application, whose `POST /new` and `GET /status` go the fast way
    (`entrypoints.api.hot`) when they can."""

    hot: HotRoutes[ApiDependencies] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot
        if hot is not None and scope["type"] == "http" and hot.serves(scope):
            await hot(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def full(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request through the whole application: middlewares, router, FastAPI."""
        await super().__call__(scope, receive, send)

    def deps(self) -> ApiDependencies | None:
        deps: ApiDependencies | None = getattr(self.state, "deps", None)
        return deps


def create_app(lifespan: Any, *, version: str = "", options: ApiOptions | None = None) -> FastAPI:
    """The API. Its `lifespan` builds the use cases and sets `app.state.deps` before serving."""
    options = options or ApiOptions()
    app = ServiceApi(
        title="LLM DB Analysis Service",
        version=version,
        summary="Better Trino/Iceberg table layouts and query rewrites from your workload.",
        lifespan=lifespan,
        # This service's telemetry is its Prometheus /metrics and its logs: FastAPI's own
        # OpenTelemetry hooks stay off, whatever the process's global providers.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=options.max_request_bytes)
    protected = install_security(app, options)
    guarded: Documented = {401: UNAUTHORIZED} if options.api_keys else {}

    @app.post(
        "/new",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=NewTaskResponse,
        dependencies=protected,
        responses={
            400: {"model": ValidationProblem, "description": "The body is not valid JSON"},
            **guarded,
            413: {"model": Problem, "description": "The body is larger than the limit"},
            422: INVALID,
            503: STORAGE_DOWN,
        },
        summary="Submit a workload for analysis",
    )
    async def new_task(body: Annotated[NewTaskRequest, Body()], request: Request) -> Response:
        answer = await _accept(_dependencies(request), body)
        return Response(answer, status.HTTP_202_ACCEPTED, media_type="application/json")

    @app.get(
        "/status",
        response_model=StatusResponse,
        dependencies=protected,
        responses={**guarded, 404: UNKNOWN_TASK, 422: INVALID, 503: STORAGE_DOWN},
        summary="Where a task is",
        openapi_extra=TASK_ID_PARAMETER,
    )
    async def get_status(request: Request) -> Response:
        # The query is read here, not declared to FastAPI: its parameters cost a pass of its
        # validation per poll for two optional strings (the document states them all the same).
        query = request.query_params
        task_id = _task_id(query.get("taskid"), query.get("task_id"))
        answer = await _status(_dependencies(request), task_id)
        return Response(answer, media_type="application/json")

    @app.get(
        "/getresult",
        dependencies=protected,
        responses={
            200: {"description": "The result: ddl, migrations, queries, report, meta"},
            **guarded,
            404: UNKNOWN_TASK,
            409: {"model": NotCompletedProblem, "description": "The task is not completed"},
            422: INVALID,
            503: STORAGE_DOWN,
        },
        summary="The result of a completed task",
        openapi_extra=TASK_ID_PARAMETER,
    )
    async def get_result(
        request: Request,
        taskid: Annotated[str | None, Query(include_in_schema=False)] = None,
        task_id: Annotated[str | None, Query(include_in_schema=False)] = None,
    ) -> dict[str, Any]:
        result = await _dependencies(request).get_result.execute(
            GetTaskResultRequest(_task_id(taskid, task_id))
        )
        return result.to_dict()

    install_observability(app, _dependencies)
    install_page(app)
    problem_openapi(app)
    if not app.debug and app.max_body_size is None:
        app.hot = HotRoutes(
            app.full,
            options,
            app.deps,
            _accept,
            _status,
            lambda: app.exception_handlers,
            _task_id,
        )
    return app


def _task_id(taskid: str | None, alias: str | None) -> uuid.UUID:
    loc, raw = ("taskid", taskid) if taskid is not None else ("task_id", alias)
    if raw is None:
        raise BadTaskId("taskid", "the query parameter taskid is required")
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise BadTaskId(loc, f"{loc} must be a UUID, got {raw[:64]!r}") from None
