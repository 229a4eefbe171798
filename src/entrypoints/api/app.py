"""The FastAPI application: routes, and the one place where errors become HTTP codes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from application.errors import TaskNotCompleted, TaskNotFound
from application.use_cases.get_task_result import GetTaskResult, GetTaskResultRequest
from application.use_cases.get_task_status import GetTaskStatus, GetTaskStatusRequest
from application.use_cases.submit_task import SubmitTask, SubmitTaskRequest
from entrypoints.api.page import install_page
from entrypoints.api.schemas import (
    ErrorBody,
    ErrorInfo,
    NewTaskRequest,
    NewTaskResponse,
    NotCompletedBody,
    StatusResponse,
)

__all__ = ["ApiDependencies", "create_app"]

log = logging.getLogger(__name__)

TASK_ID_DOC = "The task id returned by POST /new (`task_id` is accepted as an alias)."


@dataclass(frozen=True)
class ApiDependencies:
    """What the routes need; built by a composition root (a container), never by the routes."""

    submit: SubmitTask
    get_status: GetTaskStatus
    get_result: GetTaskResult
    on_submitted: Callable[[], None] | None = None  # wakes the outbox relay after a commit


def _dependencies(request: Request) -> ApiDependencies:
    deps: ApiDependencies = request.app.state.deps
    return deps


Deps = Annotated[ApiDependencies, Depends(_dependencies)]


def create_app(lifespan: Any, *, version: str = "") -> FastAPI:
    """The API. Its `lifespan` builds the use cases and sets `app.state.deps` before serving."""
    app = FastAPI(
        title="LLM DB Analysis Service",
        version=version,
        summary="Better Trino/Iceberg table layouts and query rewrites from your workload.",
        lifespan=lifespan,
    )
    _install_error_handlers(app)

    @app.post(
        "/new",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=NewTaskResponse,
        responses={422: {"model": ErrorBody, "description": "The workload is invalid"}},
        summary="Submit a workload for analysis",
    )
    async def new_task(body: Annotated[NewTaskRequest, Body()], deps: Deps) -> NewTaskResponse:
        submitted = await deps.submit.execute(
            SubmitTaskRequest(body.to_workload(), credentials=body.credentials())
        )
        if deps.on_submitted is not None:
            deps.on_submitted()
        return NewTaskResponse(taskid=submitted.task_id, status=str(submitted.status))

    @app.get(
        "/status",
        response_model=StatusResponse,
        responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
        summary="Where a task is",
    )
    async def get_status(
        deps: Deps,
        taskid: Annotated[str | None, Query(description=TASK_ID_DOC)] = None,
        task_id: Annotated[str | None, Query(include_in_schema=False)] = None,
    ) -> StatusResponse:
        view = await deps.get_status.execute(GetTaskStatusRequest(_task_id(taskid, task_id)))
        return StatusResponse.from_view(view)

    @app.get(
        "/getresult",
        responses={
            200: {"description": "The result: ddl, migrations, queries, report, meta"},
            404: {"model": ErrorBody},
            409: {"model": NotCompletedBody, "description": "The task is not completed"},
            422: {"model": ErrorBody},
        },
        summary="The result of a completed task",
    )
    async def get_result(
        deps: Deps,
        taskid: Annotated[str | None, Query(description=TASK_ID_DOC)] = None,
        task_id: Annotated[str | None, Query(include_in_schema=False)] = None,
    ) -> dict[str, Any]:
        result = await deps.get_result.execute(GetTaskResultRequest(_task_id(taskid, task_id)))
        return result.to_dict()

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    install_page(app)
    return app


class _BadTaskId(Exception):
    def __init__(self, loc: str, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _task_id(taskid: str | None, alias: str | None) -> uuid.UUID:
    loc, raw = ("taskid", taskid) if taskid is not None else ("task_id", alias)
    if raw is None:
        raise _BadTaskId("taskid", "the query parameter taskid is required")
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise _BadTaskId(loc, f"{loc} must be a UUID, got {raw[:64]!r}") from None


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Pydantic echoes the offending input; that input may be the JDBC URL with its password,
    # so only the location, the message and the error type go back to the client.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": _validation_errors(exc.errors())},
        )

    @app.exception_handler(_BadTaskId)
    async def on_bad_task_id(_: Request, exc: _BadTaskId) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": [{"loc": ["query", exc.loc], "msg": str(exc), "type": "uuid"}]},
        )

    @app.exception_handler(TaskNotFound)
    async def on_not_found(_: Request, exc: TaskNotFound) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(exc)})

    @app.exception_handler(TaskNotCompleted)
    async def on_not_completed(_: Request, exc: TaskNotCompleted) -> JSONResponse:
        body = NotCompletedBody(
            detail=str(exc),
            taskid=exc.task_id,
            status=str(exc.status),
            error=ErrorInfo(code=exc.error.code, message=exc.error.message) if exc.error else None,
        )
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT, content=body.model_dump(mode="json")
        )
