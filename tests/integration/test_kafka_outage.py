"""Kafka going down and coming back, on a private broker that these tests stop and start.

The shared broker (``DBANALYSIS_TEST_KAFKA_BOOTSTRAP``) may serve other tests running at the same
time, so it is never stopped here. Instead this module runs its own single-node broker with
``scripts/services/kafka.sh`` on free ports under a temporary ``DBANALYSIS_VAR`` (the broker jars
are shared through a symlink, so nothing is downloaded again). A start takes ~5-10 s, a stop ~1-5 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

from adapters.clock import SystemClock
from adapters.kafka import KafkaTaskPublisher
from adapters.memory import InMemoryUnitOfWorkFactory
from application.ports.outbox import OutboxMessage
from application.ports.task_queue import TaskQueueUnavailable
from application.use_cases.relay_outbox import RelayOutbox, RelayOutboxRequest
from tests.integration.conftest_kafka import (
    PrivateBroker,
    committed_count,
    eventually,
    fast_consumer,
    kafka_bootstrap,  # noqa: F401  (the fixture; the lead also registers the plugin)
    read_topic,
    require_or_skip,
    running,
    unique_name,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(
    kafka_bootstrap: str,  # noqa: F811  (Kafka tests are enabled: the same opt-in as the others)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PrivateBroker]:
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        require_or_skip("the broker outage tests run a private Kafka and need Java 17+")
    private = PrivateBroker(tmp_path_factory.mktemp("kafka-outage"))
    try:
        yield private
    finally:
        asyncio.run(private.stop())


async def publish_until_accepted(
    publisher: KafkaTaskPublisher, task_id: uuid.UUID, within: float = 60.0
) -> None:
    """What the outbox relay does: try again until the queue takes the message."""
    failures: list[str] = []

    async def accepted() -> bool:
        try:
            await publisher.publish(task_id)
        except TaskQueueUnavailable as exc:
            failures.append(str(exc))
            return False
        return True

    await eventually(accepted, within=within, every=0.2, what=f"publish of {task_id}")


async def test_same_publisher_fails_while_the_broker_is_down_and_works_once_it_is_back(
    broker: PrivateBroker,
) -> None:
    # given a publisher whose broker is down when the process starts
    await broker.stop()
    topic = unique_name("tasks")
    publisher = KafkaTaskPublisher(
        broker.bootstrap, topic, publish_timeout=5.0, request_timeout_ms=2_000, close_timeout=2.0
    )
    await publisher.start()
    first, second = uuid.uuid4(), uuid.uuid4()
    try:
        # when it publishes, it is refused at once (the deadline)
        async with asyncio.timeout(2.0):
            with pytest.raises(TaskQueueUnavailable):
                await publisher.publish(first)

        # when the broker comes up, the same publisher delivers
        await broker.start()
        await publish_until_accepted(publisher, first)

        # when the broker goes away under a connected publisher, publishing fails in bounded time
        await broker.stop()
        async with asyncio.timeout(5.0 + 1.0):
            with pytest.raises(TaskQueueUnavailable):
                await publisher.publish(second)

        # and when it is back, the same publisher delivers again
        await broker.start()
        await publish_until_accepted(publisher, second)
    finally:
        async with asyncio.timeout(10):
            await publisher.stop()

    # then both tasks are on the topic
    records = await read_topic(broker.bootstrap, topic, 2)
    assert {record.key for record in records} >= {str(first).encode(), str(second).encode()}


async def test_worker_started_while_the_broker_is_down_serves_once_it_is_up_and_after_a_restart(
    broker: PrivateBroker,
) -> None:
    # given a worker started while the broker is down
    await broker.stop()
    topic, group = unique_name("tasks"), unique_name("workers")
    publisher = KafkaTaskPublisher(broker.bootstrap, topic, request_timeout_ms=2_000)
    consumer = fast_consumer(broker.bootstrap, topic, group, request_timeout_ms=5_000)
    handled: list[uuid.UUID] = []

    async def handle(task_id: uuid.UUID) -> None:
        handled.append(task_id)

    first, second = uuid.uuid4(), uuid.uuid4()
    try:
        async with running(consumer, handle) as run:
            # when the broker comes up and a task is published
            await broker.start()
            assert not run.done()
            await publish_until_accepted(publisher, first)

            # then the worker handles it
            await eventually(lambda: first in handled, within=60, what="the first task handled")

            # and across a broker restart it keeps serving
            await broker.stop()
            await broker.start()
            await publish_until_accepted(publisher, second)
            await eventually(lambda: second in handled, within=60, what="the second task handled")
            await eventually(
                lambda: committed_count(broker.bootstrap, group, 2),
                within=60,
                what="both offsets committed",
            )
    finally:
        await publisher.stop()
    assert handled.count(first) >= 1
    assert handled.count(second) >= 1


async def test_the_relay_keeps_a_batch_while_the_broker_is_down_and_publishes_all_of_it_after(
    broker: PrivateBroker,
) -> None:
    # given stored outbox messages and a broker that is down
    await broker.stop()
    topic = unique_name("tasks")
    uow_factory = InMemoryUnitOfWorkFactory()
    clock = SystemClock()
    task_ids = [uuid.uuid4() for _ in range(200)]
    async with uow_factory() as uow:
        for task_id in task_ids:
            await uow.outbox.add(OutboxMessage(uuid.uuid4(), task_id, clock.now()))
        await uow.commit()
    publisher = KafkaTaskPublisher(
        broker.bootstrap, topic, publish_timeout=5.0, request_timeout_ms=2_000, close_timeout=2.0
    )
    relay = RelayOutbox(uow_factory, publisher, clock)
    try:
        # when the relay runs, nothing is marked: the first message fails alone
        summary = await relay.execute(RelayOutboxRequest())
        assert (summary.published, summary.failed) == (0, 1)

        # when the broker is back, the relay's rounds publish every message and mark it
        await broker.start()

        async def drained() -> bool:
            await relay.execute(RelayOutboxRequest())
            async with uow_factory() as uow:
                return not await uow.outbox.unpublished(1)

        await eventually(drained, within=60, every=0.2, what="the outbox drained")
    finally:
        async with asyncio.timeout(10):
            await publisher.stop()

    # then every task id is on the topic
    records = await read_topic(broker.bootstrap, topic, len(task_ids))
    assert {record.key for record in records} >= {str(t).encode() for t in task_ids}
