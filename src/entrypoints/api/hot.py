"""The two calls clients make all the time — `POST /new` and `GET /status` — answered without
going through Starlette's middleware stack and FastAPI's request handling.

Those layers (eight middlewares, the router, the dependency solver, the body parsed by `json`
then validated, the response sent back through a wrapper per middleware) cost more CPU than the
work of the call itself: about half of a `POST /new` on PostgreSQL (bench/api_load.py). Here a
request whose answer is a success is served directly; every other request — an invalid or
oversized body, a body that is not `application/json`, a missing or wrong API key, a
cross-origin call when CORS is on, a malformed task id — goes through the full application as
before, with the body already read handed on unchanged. So every refusal is the full
application's, and the fast way only ever gives the answer the full application would have
given: the same validation (`NewTaskRequest`, in one pass over the raw JSON: a body that it does
not accept as it is goes the full way and is judged there), the same status code, headers and
body, the same metrics, the same logs. An exception of the use case is answered by the same
handler as in the full application (`errors.install_error_handlers`), and one without a handler
of its own is answered 500 and raised again to the server, as Starlette's `ServerErrorMiddleware`
does.

The routes stay declared in the FastAPI application: the OpenAPI document states them, and they
serve what the fast way hands over.
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from prometheus_client.metrics import Counter, Histogram
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.api.options import ApiOptions
from entrypoints.api.schemas import NewTaskRequest
from entrypoints.api.security import API_KEY_HEADER, key_digest, key_matches
from entrypoints.metrics import HTTP_REQUESTS, HTTP_SECONDS

__all__ = ["HotRoutes", "json_headers"]

_API_KEY = API_KEY_HEADER.lower().encode("latin-1")

Deps = TypeVar("Deps")
Handlers = Mapping[Any, Callable[..., Any]]


def json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """The headers Starlette's `Response(body, media_type="application/json")` sends."""
    return [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]


class _Series:
    """The request counter and latency histogram of one route, its children looked up once."""

    def __init__(self, method: str, route: str) -> None:
        self._method, self._route = method, route
        self._counts: dict[int, Counter] = {}
        self.seconds: Histogram = HTTP_SECONDS.labels(method, route)

    def record(self, status: int, started: float) -> None:
        count = self._counts.get(status)
        if count is None:
            count = self._counts[status] = HTTP_REQUESTS.labels(self._method, self._route, status)
        count.inc()
        self.seconds.observe(time.perf_counter() - started)


class HotRoutes(Generic[Deps]):
    """Serves `POST /new` and `GET /status` when it can, else hands the request to `full`.

    `submit(body)` does what the route `POST /new` does once the body is valid and returns the
    body of the 202; `status(task_id)` returns the body of the 200 of `GET /status`. Both are
    given the dependencies of the running application (`dependencies()`, None before its
    lifespan has set them: then the full application answers)."""

    def __init__(
        self,
        full: ASGIApp,
        options: ApiOptions,
        dependencies: Callable[[], Deps | None],
        submit: Callable[[Deps, NewTaskRequest], Awaitable[bytes]],
        status: Callable[[Deps, uuid.UUID], Awaitable[bytes]],
        exception_handlers: Callable[[], Handlers],
        task_id: Callable[[str | None, str | None], uuid.UUID],
    ) -> None:
        self._full = full
        self._max_bytes = options.max_request_bytes
        self._digests = tuple(key_digest(key) for key in options.api_keys)
        self._cors = bool(options.cors_allow_origins)
        self._dependencies = dependencies
        self._submit = submit
        self._status = status
        self._exception_handlers = exception_handlers
        self._task_id = task_id
        self._new_series = _Series("POST", "/new")
        self._status_series = _Series("GET", "/status")

    def serves(self, scope: Scope) -> bool:
        """Whether this request may be one for the fast way (the rest goes the full way)."""
        method: str = scope["method"]
        path: str = scope["path"]
        return (path == "/new" and method == "POST") or (path == "/status" and method == "GET")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deps = self._dependencies()
        if deps is None or scope.get("root_path") or not self._headers_allow(scope):
            await self._full(scope, receive, send)
        elif scope["path"] == "/new":
            await self._new(deps, scope, receive, send)
        else:
            await self._get_status(deps, scope, receive, send)

    def _headers_allow(self, scope: Scope) -> bool:
        """The request passes the API key check, needs no CORS answer, and for `POST /new`
        declares a JSON body within the size limit."""
        key: bytes | None = None
        content_type: bytes | None = None
        length: bytes | None = None
        for name, value in scope["headers"]:
            if name == _API_KEY:
                key = value if key is None else key
            elif name == b"content-type":
                content_type = value if content_type is None else content_type
            elif name == b"content-length":
                length = value if length is None else length
            elif name == b"transfer-encoding" or (name == b"origin" and self._cors):
                return False
        if self._digests and not (key and key_matches(key.decode("latin-1"), self._digests)):
            return False
        if scope["method"] != "POST":
            return True
        if content_type is None or length is None:
            return False
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            return False
        try:
            return 0 < int(length) <= self._max_bytes
        except ValueError:
            return False

    async def _new(self, deps: Deps, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                await self._full(scope, _replay(messages, receive), send)
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            if size > self._max_bytes:
                raise ValueError("over the size limit")
            request = NewTaskRequest.model_validate_json(body)
        except Exception:
            # Refused, or not in the form this way takes: the full application judges it.
            await self._full(scope, _replay(messages, receive), send)
            return
        try:
            answer = await self._submit(deps, request)
        except Exception as exc:
            await self._answer_error(scope, receive, send, exc, self._new_series, started)
            return
        await _send_json(send, 202, answer)
        self._new_series.record(202, started)

    async def _get_status(self, deps: Deps, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        query = QueryParams(scope["query_string"])
        try:
            task_id = self._task_id(query.get("taskid"), query.get("task_id"))
        except Exception:
            await self._full(scope, receive, send)
            return
        try:
            answer = await self._status(deps, task_id)
        except Exception as exc:
            await self._answer_error(scope, receive, send, exc, self._status_series, started)
            return
        await _send_json(send, 200, answer)
        self._status_series.record(200, started)

    async def _answer_error(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exc: Exception,
        series: _Series,
        started: float,
    ) -> None:
        """Answer `exc` as the full application does: by the handler its `ExceptionMiddleware`
        would choose; else as its `ServerErrorMiddleware` does, 500 by the handler of
        `Exception` (or plain text), then `exc` raised again for the server to log."""
        handlers = self._exception_handlers()
        request = Request(scope, receive)
        handler = _handler_for(exc, handlers)
        unhandled = handler is None
        if handler is None:
            handler = handlers.get(500) or handlers.get(Exception)
        if handler is not None:
            response = await _call(handler, request, exc)
        else:
            response = PlainTextResponse("Internal Server Error", status_code=500)
        await response(scope, receive, send)
        series.record(response.status_code, started)
        if unhandled:
            raise exc


def _handler_for(exc: Exception, handlers: Handlers) -> Callable[..., Any] | None:
    """The handler Starlette's `ExceptionMiddleware` would choose for `exc` (not the one for
    500/`Exception`, which is `ServerErrorMiddleware`'s)."""
    if isinstance(exc, HTTPException) and exc.status_code in handlers:
        return handlers[exc.status_code]
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


async def _call(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    response = handler(request, exc)
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response)
    return response


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": json_headers(body)})
    await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the messages already read again, then the server's."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
