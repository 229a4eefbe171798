"""Pytest plugin for the Apache Kafka integration tests: the `kafka_bootstrap` fixture and helpers.

Where the broker comes from, first match wins:

1. ``DBANALYSIS_TEST_KAFKA_BOOTSTRAP`` (e.g. ``127.0.0.1:59092`` from
   ``scripts/services/kafka.sh start``): used as is.
2. ``DBANALYSIS_TEST_USE_TESTCONTAINERS=1`` (set by ``scripts/test-services.sh`` where a Docker
   engine answers): a KRaft Kafka container for the session.
3. Otherwise the Kafka tests are skipped with the reason, except under CI (``CI`` set), where
   a missing broker is a failure: CI must never go green by skipping.

Helpers for the tests (unique names, polling with a deadline, reading a topic back) live here
too, so that every test module shares one way of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from adapters.kafka import Backoff, KafkaTaskConsumer, TaskHandler

__all__ = [
    "PrivateBroker",
    "committed_count",
    "committed_offsets",
    "eventually",
    "fast_consumer",
    "free_port",
    "kafka_bootstrap",
    "read_topic",
    "require_or_skip",
    "running",
    "unique_name",
]

BOOTSTRAP_ENV = "DBANALYSIS_TEST_KAFKA_BOOTSTRAP"
TESTCONTAINERS_ENV = "DBANALYSIS_TEST_USE_TESTCONTAINERS"
KAFKA_IMAGE_ENV = "DBANALYSIS_TEST_KAFKA_IMAGE"
DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"


def require_or_skip(reason: str) -> None:
    """Skip the test with `reason`, or fail it under CI, where skipping would hide a gap."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap servers of a running Apache Kafka broker for this test session."""
    address = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if address:
        yield address
        return
    if os.environ.get(TESTCONTAINERS_ENV) == "1":
        from testcontainers.community.kafka import KafkaContainer

        image = os.environ.get(KAFKA_IMAGE_ENV, DEFAULT_KAFKA_IMAGE)
        with KafkaContainer(image).with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    require_or_skip(
        f"no Apache Kafka for the integration tests: set {BOOTSTRAP_ENV} "
        f"(e.g. `scripts/services/kafka.sh start` and {BOOTSTRAP_ENV}=127.0.0.1:59092) "
        f"or {TESTCONTAINERS_ENV}=1 where Docker runs"
    )


def unique_name(prefix: str) -> str:
    """A topic or group name no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A loopback TCP port with nothing listening on it (at the time of the call)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def eventually(
    check: Callable[[], Awaitable[bool] | bool],
    *,
    within: float = 30.0,
    every: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll `check` until it is true; fail the test when `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} not reached within {within:.0f}s", pytrace=False)
        await asyncio.sleep(every)


async def read_topic(bootstrap: str, topic: str, count: int, *, within: float = 30.0) -> list[Any]:
    """The first `count` records of `topic`, read from the start without a consumer group."""
    # Without a group, aiokafka assigns itself every partition of the subscribed topic.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:

        async def enough() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
            return len(records) >= count

        await eventually(enough, within=within, what=f"{count} records on {topic}")
    finally:
        await consumer.stop()
    return records


async def committed_count(bootstrap: str, group_id: str, expected: int) -> bool:
    """Whether the committed offsets of `group_id` add up to `expected` messages consumed.

    Every test topic starts empty, so a partition's committed offset is the number of its
    messages the group is done with.
    """
    return sum((await committed_offsets(bootstrap, group_id)).values()) == expected


async def committed_offsets(bootstrap: str, group_id: str) -> dict[TopicPartition, int]:
    """The offsets group `group_id` has committed, by partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


@contextlib.asynccontextmanager
async def running(
    consumer: KafkaTaskConsumer, handle: TaskHandler
) -> AsyncIterator[asyncio.Task[None]]:
    """Run `consumer.run(handle)` in a task for the block; stop it (or cancel it) afterwards."""
    task = asyncio.create_task(consumer.run(handle), name=f"consumer-{consumer.group_id}")
    try:
        yield task
    finally:
        try:
            async with asyncio.timeout(30):
                await consumer.stop()
        except TimeoutError:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=30)
        assert done, "the consumer did not stop"
        if not task.cancelled() and task.exception() is not None:
            raise AssertionError("consumer.run() failed") from task.exception()


def fast_consumer(bootstrap: str, topic: str, group_id: str, **overrides: Any) -> KafkaTaskConsumer:
    """A consumer with test-sized backoffs: retries and reconnects take a fraction of a second."""
    options: dict[str, Any] = {
        "client_id": f"test-{group_id}",
        "retry_backoff": Backoff(initial=0.1, maximum=0.5),
        "connect_backoff": Backoff(initial=0.2, maximum=1.0),
        "revoke_grace": 5.0,
        "request_timeout_ms": 10_000,
        "connect_timeout": 10.0,
        "poll_timeout_ms": 100,
    }
    options.update(overrides)
    return KafkaTaskConsumer(bootstrap, topic, group_id, **options)


REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "scripts" / "services" / "kafka.sh"


class PrivateBroker:
    """A single-node Kafka of this module's own, which tests may stop and start at will."""

    def __init__(self, var_dir: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "DBANALYSIS_VAR": str(var_dir),
            "DBANALYSIS_KAFKA_PORT": str(self.port),
            "DBANALYSIS_KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        shared_libs = Path(os.environ.get("DBANALYSIS_VAR", REPO_ROOT / "var")) / "kafka" / "libs"
        if (shared_libs / ".stamp").is_file():
            (var_dir / "kafka").mkdir(parents=True, exist_ok=True)
            (var_dir / "kafka" / "libs").symlink_to(shared_libs, target_is_directory=True)

    def _script(self, command: str) -> None:
        done = subprocess.run(
            ["bash", str(KAFKA_SH), command],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"kafka.sh {command} failed:\n{done.stderr[-3000:]}", pytrace=False)

    async def start(self) -> None:
        await asyncio.to_thread(self._script, "start")

    async def stop(self) -> None:
        await asyncio.to_thread(self._script, "stop")
