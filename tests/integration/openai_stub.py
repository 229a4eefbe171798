"""An OpenAI-compatible chat completions server on loopback, scripted per test.

A real HTTP server (stdlib `ThreadingHTTPServer` in a background thread) answering
``POST /v1/chat/completions`` (and ``/chat/completions``) in the OpenAI response shape, with
``usage``. What it answers is decided by the test's script, a function of the request's JSON
and its number (0, 1…) returning a `StubReply`; `answer(request, payload)` builds the right
shape for the request: a forced tool call when it sent ``tools`` (langchain's
``function_calling``), else JSON in the message content (``json_schema`` / ``json_mode``).
Every request is recorded (body and headers) so tests can look at what was sent.

    with OpenAIStub(script) as stub:
        ChatOpenAI(base_url=stub.base_url, api_key="test-key", ...)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["OpenAIStub", "RecordedRequest", "StubReply", "answer", "error"]

USAGE = {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375}


@dataclass(frozen=True)
class StubReply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON, a str as it is
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str

    @property
    def user_text(self) -> str:
        return "\n".join(str(m.get("content")) for m in self.body.get("messages", []))


Script = Callable[[dict[str, Any], int], StubReply]


def answer(request: dict[str, Any], payload: dict[str, Any] | str) -> StubReply:
    """A successful completion carrying `payload` (a str is sent verbatim: malformed JSON)."""
    arguments = payload if isinstance(payload, str) else json.dumps(payload)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "stop"
    tools = request.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = arguments
    return StubReply(
        body={
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "stub-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": USAGE,
        }
    )


def error(status: int, message: str = "scripted failure") -> StubReply:
    """An OpenAI-shaped error; `retry-after-ms` keeps the client's retries fast in tests."""
    return StubReply(
        status=status,
        body={"error": {"message": message, "type": "server_error", "code": None}},
        headers={"retry-after-ms": "20"},
    )


class OpenAIStub:
    """The server; a context manager that starts it on a free loopback port."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                    self._send(StubReply(404, {"error": {"message": "not found"}}))
                    return
                body = json.loads(raw)
                with stub._lock:
                    number = len(stub.requests)
                    stub.requests.append(
                        RecordedRequest(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw
                        )
                    )
                reply = stub.script(body, number)
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)

            def _send(self, reply: StubReply) -> None:
                data = (
                    reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout, the budget): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
