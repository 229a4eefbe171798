"""KafkaTaskPublisher and ensure_topics: the wire format, and failing fast when Kafka is away."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from adapters.kafka import KafkaTaskPublisher, dead_letter_topic, ensure_topics
from application.ports.task_queue import TaskQueueUnavailable
from tests.integration.conftest_kafka import (
    free_port,
    kafka_bootstrap,  # noqa: F401  (the fixture; the lead also registers the plugin)
    read_topic,
    unique_name,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """An address that accepts TCP connections and never answers: a hung broker."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def test_publisher_is_built_without_a_broker_or_an_event_loop() -> None:
    # when a publisher is made for an address where nothing listens, outside any event loop
    publisher = KafkaTaskPublisher(f"127.0.0.1:{free_port()}", "tasks")

    # then nothing failed: it connects on the first publish
    assert publisher.topic == "tasks"


async def test_published_message_is_the_task_id_as_key_and_json_value(
    kafka_bootstrap: str,  # noqa: F811
) -> None:
    # given a publisher on a fresh topic
    topic = unique_name("tasks")
    publisher = KafkaTaskPublisher(kafka_bootstrap, topic)
    task_id = uuid.uuid4()

    # when it publishes a task id
    try:
        await publisher.start()
        await publisher.publish(task_id)
    finally:
        await publisher.stop()

    # then the topic holds it keyed by the id, with the JSON value the workers read
    [record] = await read_topic(kafka_bootstrap, topic, 1)
    assert record.key == str(task_id).encode()
    assert json.loads(record.value) == {"taskid": str(task_id)}


async def test_publisher_to_a_closed_port_fails_fast_and_keeps_failing_fast() -> None:
    # given a publisher whose broker is not there
    publisher = KafkaTaskPublisher(f"127.0.0.1:{free_port()}", "tasks", publish_timeout=5.0)

    # when it is started (a warm-up) and asked to publish, twice
    async with asyncio.timeout(1):
        await publisher.start()
    for _ in range(2):
        # then each publish is refused at once, well within its timeout (the deadline)
        async with asyncio.timeout(2.0):
            with pytest.raises(TaskQueueUnavailable, match="Unable to bootstrap"):
                await publisher.publish(uuid.uuid4())

    # and stop is quick and idempotent, and a stopped publisher refuses too
    async with asyncio.timeout(5):
        await publisher.stop()
        await publisher.stop()
    with pytest.raises(TaskQueueUnavailable, match="stopped"):
        await publisher.publish(uuid.uuid4())


async def test_publisher_to_a_broker_that_never_answers_fails_within_its_timeout(
    silent_server: str,
) -> None:
    # given a publisher whose broker accepts connections but never replies
    publisher = KafkaTaskPublisher(
        silent_server, "tasks", publish_timeout=2.0, request_timeout_ms=1_000
    )

    # when it publishes, then it gives up after about its timeout instead of hanging
    async with asyncio.timeout(4.0):
        with pytest.raises(TaskQueueUnavailable):
            await publisher.publish(uuid.uuid4())
    async with asyncio.timeout(10):
        await publisher.stop()


async def test_ensure_topics_creates_the_topic_and_its_dead_letter_topic_once(
    kafka_bootstrap: str,  # noqa: F811
) -> None:
    topic = unique_name("tasks")

    # when the topics are ensured twice
    assert await ensure_topics(kafka_bootstrap, topic, partitions=6)
    assert await ensure_topics(kafka_bootstrap, topic, partitions=6)

    # then both exist with the asked partition count
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic, dead_letter_topic(topic)])
    finally:
        await admin.close()
    partitions = {entry["topic"]: len(entry["partitions"]) for entry in described}
    assert partitions == {topic: 6, dead_letter_topic(topic): 6}


async def test_ensure_topics_reports_false_when_the_broker_is_unreachable() -> None:
    # within its time limit (the deadline), not after aiokafka's own retries
    async with asyncio.timeout(5.5):
        created = await ensure_topics(f"127.0.0.1:{free_port()}", "tasks", time_limit=5.0)

    assert created is False


async def test_a_batch_lands_on_the_topic_every_id_once_keyed_by_itself(
    kafka_bootstrap: str,  # noqa: F811
) -> None:
    # given a publisher on a fresh topic of several partitions
    topic = unique_name("tasks")
    assert await ensure_topics(kafka_bootstrap, topic, partitions=3)
    publisher = KafkaTaskPublisher(kafka_bootstrap, topic)
    task_ids = [uuid.uuid4() for _ in range(500)]

    # when it publishes them as one batch (and an empty one, which does nothing)
    try:
        await publisher.publish_many([])
        await publisher.publish_many(task_ids)
    finally:
        await publisher.stop()

    # then the topic holds each id exactly once, keyed by itself, in the format the workers read
    records = await read_topic(kafka_bootstrap, topic, len(task_ids))
    assert sorted(record.key for record in records) == sorted(str(t).encode() for t in task_ids)
    assert all(json.loads(record.value) == {"taskid": record.key.decode()} for record in records)


async def test_a_batch_to_a_closed_port_is_refused_with_nothing_acknowledged() -> None:
    publisher = KafkaTaskPublisher(f"127.0.0.1:{free_port()}", "tasks", publish_timeout=5.0)
    try:
        with pytest.raises(TaskQueueUnavailable, match="took 0 of 3") as refused:
            await publisher.publish_many([uuid.uuid4() for _ in range(3)])
        assert refused.value.acknowledged == frozenset()
    finally:
        async with asyncio.timeout(5):
            await publisher.stop()


async def test_a_batch_to_a_broker_that_never_answers_is_refused_with_nothing_acknowledged(
    silent_server: str,
) -> None:
    publisher = KafkaTaskPublisher(
        silent_server, "tasks", publish_timeout=2.0, request_timeout_ms=1_000
    )
    try:
        with pytest.raises(TaskQueueUnavailable) as refused:
            await publisher.publish_many([uuid.uuid4() for _ in range(3)])
        assert refused.value.acknowledged == frozenset()
    finally:
        async with asyncio.timeout(10):
            await publisher.stop()
