"""Every error the API answers, in one shape: RFC 9457 problem details.

    {"type": "/problems/invalid-request", "title": "Invalid request", "status": 422,
     "detail": "2 invalid field(s)", "instance": "/new",
     "errors": [{"loc": ["body", "queries", 0, "queryid"], "msg": "...", "type": "missing"}]}

served as `application/problem+json`. `type` names the kind of problem (a relative URI: it needs
no resolving, it is an identifier clients may switch on); `about:blank` when the HTTP status says
it all. Members beyond the standard five: `errors` (what is invalid, where) on 400/422, and
`taskid`, `task_status`, `error` on the 409 of an unfinished task. No response ever echoes what
the client sent (the JDBC URL may carry a password).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException

from application.errors import TaskNotCompleted, TaskNotFound
from entrypoints.api.schemas import ErrorInfo

__all__ = [
    "PROBLEM_JSON",
    "BadTaskId",
    "FieldError",
    "NotCompletedProblem",
    "Problem",
    "ProblemResponse",
    "ValidationProblem",
    "install_error_handlers",
    "problem_openapi",
    "problem_response",
]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5

# The problem types this service defines (the others are `about:blank`).
INVALID_REQUEST = "/problems/invalid-request"
MALFORMED_BODY = "/problems/malformed-body"
BODY_TOO_LARGE = "/problems/body-too-large"
TASK_NOT_FOUND = "/problems/task-not-found"
TASK_NOT_COMPLETED = "/problems/task-not-completed"
UNAUTHORIZED = "/problems/unauthorized"
STORAGE_UNAVAILABLE = "/problems/storage-unavailable"
INTERNAL_ERROR = "/problems/internal-error"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: `body`, `query`, then the path inside it")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(default="about:blank", description="the kind of problem (a URI reference)")
    title: str = Field(description="a short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong this time")
    instance: str | None = Field(default=None, description="the path that was requested")


class ValidationProblem(Problem):
    errors: list[FieldError] = Field(default_factory=list)


class NotCompletedProblem(Problem):
    taskid: uuid.UUID
    task_status: str = Field(description="pending, processing or failed")
    error: ErrorInfo | None = Field(description="why a failed task failed")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        # ASCII escapes: a lone surrogate or any odd character in a message can never make
        # the encoding of an error fail.
        return json.dumps(content, ensure_ascii=True, allow_nan=False).encode("ascii")


def problem_response(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


class BadTaskId(Exception):
    """The task id query parameter is missing or not a UUID."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # Pydantic echoes the offending input; that input may be the JDBC URL with its password,
    # so only the location, the message and the error type go back to the client.
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


# What the database driver raises when the server cannot be reached or went away: SQLAlchemy's
# wrappers, and the socket errors asyncpg raises as they are (refused, reset, timed out, DNS).
STORAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    OSError,
)


# SQLSTATE classes of a server that is going away or not there yet: 08 connection exception,
# 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now ("the database system
# is shutting down" / "is starting up"). A real restart raises these, as plain DBAPIErrors.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _server_unavailable(exc: DBAPIError) -> bool:
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
    return False


def _storage_unavailable(request: Request, exc: Exception) -> ProblemResponse:
    log.warning("storage unavailable on %s: %s", request.url.path, type(exc).__name__)
    return problem_response(
        503,
        "the database cannot be reached; the request was not carried out, try again",
        type_=STORAGE_UNAVAILABLE,
        title="Storage unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _internal_error(request: Request) -> ProblemResponse:
    return problem_response(
        500,
        "an unexpected error occurred; it has been logged",
        type_=INTERNAL_ERROR,
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc.errors())
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(
                400,
                "the body is not valid JSON",
                type_=MALFORMED_BODY,
                title="Malformed body",
                instance=request.url.path,
                errors=errors,
            )
        return problem_response(
            422,
            f"{len(errors)} invalid field(s)",
            type_=INVALID_REQUEST,
            title="Invalid request",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(BadTaskId)
    async def on_bad_task_id(request: Request, exc: BadTaskId) -> JSONResponse:
        return problem_response(
            422,
            str(exc),
            type_=INVALID_REQUEST,
            title="Invalid request",
            instance=request.url.path,
            errors=[{"loc": ["query", exc.loc], "msg": str(exc), "type": "uuid"}],
        )

    @app.exception_handler(TaskNotFound)
    async def on_not_found(request: Request, exc: TaskNotFound) -> JSONResponse:
        return problem_response(
            404,
            str(exc),
            type_=TASK_NOT_FOUND,
            title="Task not found",
            instance=request.url.path,
        )

    @app.exception_handler(TaskNotCompleted)
    async def on_not_completed(request: Request, exc: TaskNotCompleted) -> JSONResponse:
        error = {"code": exc.error.code, "message": exc.error.message} if exc.error else None
        return problem_response(
            409,
            str(exc),
            type_=TASK_NOT_COMPLETED,
            title="Task not completed",
            instance=request.url.path,
            taskid=str(exc.task_id),
            task_status=str(exc.status),
            error=error,
        )

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        problem_type = {413: BODY_TOO_LARGE, 401: UNAUTHORIZED}.get(exc.status_code, "about:blank")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            exc.status_code,
            detail,
            type_=problem_type,
            instance=request.url.path,
            headers=exc.headers,
        )

    # Handled here, by class, rather than in the catch-all below: Starlette re-raises what
    # reaches the catch-all (to be logged as a crash), which an outage is not.
    async def on_storage_down(request: Request, exc: Exception) -> JSONResponse:
        return _storage_unavailable(request, exc)

    for error in STORAGE_ERRORS:
        app.add_exception_handler(error, on_storage_down)

    @app.exception_handler(DBAPIError)
    async def on_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or _server_unavailable(exc):
            return _storage_unavailable(request, exc)
        log.error("database error on %s", request.url.path, exc_info=exc)
        return _internal_error(request)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception once this answer is sent.
        return _internal_error(request)


def problem_openapi(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers above do: every 4xx/5xx response is
    `application/problem+json`, and FastAPI's own validation-error schemas are not used."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for path in document.get("paths", {}).values():
            for operation in path.values():
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if code[:1] in {"4", "5"} and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        schemas = document.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
