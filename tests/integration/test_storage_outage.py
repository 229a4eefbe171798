"""PostgreSQL unreachable, then back, seen by a real `dbanalysis api` process.

The shared PostgreSQL serves other tests at the same time, so it is never stopped: the api
reaches it through a TCP proxy of this test's own, which the test cuts (refusing new connections
and severing the open ones, as a server going down does) and restores on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from adapters.fernet import generate_key
from adapters.sqlalchemy.migrate import upgrade
from tests.integration.conftest_kafka import eventually, free_port, kafka_bootstrap, unique_name
from tests.integration.processes import Process, started
from tests.unit.api.support import a_body

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest

API_KEY = "outage-test-key"


class TcpProxy:
    """Forwards 127.0.0.1:`port` to a target, on an event loop in a thread of its own (so that
    nothing the test does blocks it). `cut()` and `restore()` are called from the test."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def restore(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._close())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, upstream_writer})

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        self._writers.difference_update({writer, upstream_writer})


@pytest.fixture
def proxied_database(postgres_database_url: str) -> Iterator[tuple[str, TcpProxy]]:
    url = make_url(postgres_database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        yield proxied.render_as_string(hide_password=False), proxy


@contextlib.asynccontextmanager
async def api_process(
    database_url: str, bootstrap: str, logs: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Process]]:
    port = free_port()
    env = {
        "DBANALYSIS_DATABASE_URL": database_url,
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DBANALYSIS_KAFKA_TOPIC": unique_name("outage-tasks"),
        "DBANALYSIS_KAFKA_PARTITIONS": "1",
        "DBANALYSIS_SECRET_KEY": generate_key(),
        "DBANALYSIS_API_KEYS": API_KEY,
        "DBANALYSIS_LOG_FORMAT": "json",
    }
    with started("api", ["api", "--port", str(port)], env, logs) as api:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}, timeout=30
        ) as client:

            async def ready() -> bool:
                api.assert_alive()
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=60, every=0.1, what="the api ready")
            yield client, api


async def test_the_api_answers_503_while_postgres_is_unreachable_and_recovers_by_itself(
    postgres_database_url: str,
    proxied_database: tuple[str, TcpProxy],
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    await upgrade(postgres_database_url)
    database_url, proxy = proxied_database
    async with api_process(database_url, kafka_bootstrap, tmp_path) as (client, api):
        # given a task accepted while the database answers
        accepted = await client.post("/new", json=a_body())
        assert accepted.status_code == 202, accepted.text
        task_id = accepted.json()["taskid"]

        # when the database becomes unreachable
        proxy.cut()

        # then requests that need it answer 503 with Retry-After, in the problem shape
        refused = await client.post("/new", json=a_body())
        status = await client.get("/status", params={"taskid": task_id})
        for response in (refused, status):
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "/problems/storage-unavailable"
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("down")
        assert (await client.get("/health/live")).status_code == 200
        api.assert_alive()

        # and when it is back, the api serves again without a restart, and lost nothing
        proxy.restore()

        async def accepting() -> bool:
            return (await client.post("/new", json=a_body())).status_code == 202

        await eventually(accepting, within=30, every=0.2, what="POST /new accepted again")
        again = await client.get("/status", params={"taskid": task_id})
        assert again.status_code == 200
        assert again.json()["taskid"] == task_id
        assert (await client.get("/health/ready")).status_code == 200

    # and every line the api logged is a JSON object; the accepted task's line carries its id
    records = [json.loads(line) for line in api.output().splitlines() if line.strip()]
    assert any(r.get("task_id") == task_id and r["process"] == "api" for r in records)
    assert not any("s3cr3t-pw" in json.dumps(r) for r in records)
