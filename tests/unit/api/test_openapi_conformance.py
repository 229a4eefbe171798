"""Schemathesis against the OpenAPI document the service publishes: requests generated from it,
valid and invalid, sent over real HTTP to the embedded app (in-memory storage). Every check
passes: no 5xx, every status code and content type documented, responses match their schemas,
valid data accepted, invalid data rejected."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from dependency_injector import providers
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from adapters.memory.function_analyzer import FunctionAnalyzer
from entrypoints.containers import EmbeddedContainer, MemoryStorageContainer
from entrypoints.embedded import create_embedded_app
from entrypoints.settings import Settings
from tests.unit.api.support import instant


def _app() -> Any:
    container = EmbeddedContainer(settings=Settings(relay_interval_seconds=0.05))
    container.storage.override(MemoryStorageContainer(settings=container.settings))
    container.analyzer.override(providers.Object(FunctionAnalyzer(instant)))
    return create_embedded_app(container.settings(), container, migrate=False)


APP = _app()
schema = schemathesis.openapi.from_dict(APP.openapi())


@schema.hook
def filter_body(context: Any, body: Any) -> bool:
    """The one rule JSON Schema cannot state: queryids are unique (the document says it in
    words, and a repeated one is refused with 422). Bodies that break it are not generated."""
    if not isinstance(body, dict) or not isinstance(body.get("queries"), list):
        return True
    ids = [q.get("queryid") for q in body["queries"] if isinstance(q, dict)]
    return len(ids) == len(set(map(repr, ids)))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(APP, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


@schema.parametrize()
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_the_service_does_what_its_openapi_document_says(case: Any, base_url: str) -> None:
    case.call_and_validate(base_url=base_url)
