"""KafkaTaskConsumer against a real broker: at least once, commit after the work, dead letters."""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from adapters.kafka import (
    DLQ_ERROR_HEADER,
    DLQ_GROUP_HEADER,
    DLQ_SOURCE_OFFSET_HEADER,
    DLQ_SOURCE_PARTITION_HEADER,
    DLQ_SOURCE_TOPIC_HEADER,
    KafkaTaskPublisher,
    TaskHandler,
    dead_letter_topic,
    ensure_topics,
)
from tests.integration.conftest_kafka import (
    committed_count,
    committed_offsets,
    eventually,
    fast_consumer,
    free_port,
    kafka_bootstrap,  # noqa: F401  (the fixture; the lead also registers the plugin)
    read_topic,
    running,
    unique_name,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def topic(kafka_bootstrap: str) -> str:  # noqa: F811
    name = unique_name("tasks")
    assert await ensure_topics(kafka_bootstrap, name, partitions=3)
    return name


@pytest.fixture
def group() -> str:
    return unique_name("workers")


async def publish_all(bootstrap: str, topic: str, task_ids: list[uuid.UUID]) -> None:
    publisher = KafkaTaskPublisher(bootstrap, topic, client_id="test-publisher")
    try:
        for task_id in task_ids:
            await publisher.publish(task_id)
    finally:
        await publisher.stop()


async def produce_raw(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def test_published_task_ids_are_each_handled_once(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given five tasks on the topic
    task_ids = [uuid.uuid4() for _ in range(5)]
    await publish_all(kafka_bootstrap, topic, task_ids)
    handled: list[uuid.UUID] = []

    async def handle(task_id: uuid.UUID) -> None:
        handled.append(task_id)

    # when a worker consumes them
    async with running(fast_consumer(kafka_bootstrap, topic, group), handle):
        await eventually(lambda: len(handled) >= len(task_ids), what="all tasks handled")
        # then every offset is committed: the group has read all five messages
        await eventually(
            lambda: committed_count(kafka_bootstrap, group, len(task_ids)),
            what="offsets committed",
        )

    # then each id was handled exactly once
    assert sorted(handled) == sorted(task_ids)


async def test_offset_is_committed_only_after_handle_returned(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given a task, and a first worker whose handler never gets to return
    task_id = uuid.uuid4()
    await publish_all(kafka_bootstrap, topic, [task_id])
    started = asyncio.Event()
    never = asyncio.Event()

    async def stuck(received: uuid.UUID) -> None:
        started.set()
        await never.wait()

    first = fast_consumer(kafka_bootstrap, topic, group)
    first_run = asyncio.create_task(first.run(stuck))
    await asyncio.wait_for(started.wait(), 30)

    # when that worker dies mid-task (its run is cancelled, so handle never returned)
    first_run.cancel()
    await asyncio.gather(first_run, return_exceptions=True)

    # then nothing was committed
    assert await committed_offsets(kafka_bootstrap, group) == {}

    # and a second worker of the same group gets the same task again, and commits it
    handled: list[uuid.UUID] = []

    async def handle(received: uuid.UUID) -> None:
        handled.append(received)

    async with running(fast_consumer(kafka_bootstrap, topic, group), handle):
        await eventually(lambda: handled == [task_id], what="the task redelivered")
        await eventually(
            lambda: committed_count(kafka_bootstrap, group, 1), what="offset committed"
        )


async def test_handler_failure_is_retried_then_committed(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given a task whose first handling fails
    task_id = uuid.uuid4()
    await publish_all(kafka_bootstrap, topic, [task_id])
    calls: list[uuid.UUID] = []

    async def flaky(received: uuid.UUID) -> None:
        calls.append(received)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    # when the worker consumes it
    async with running(fast_consumer(kafka_bootstrap, topic, group), flaky):
        await eventually(lambda: len(calls) >= 2, what="the retry")
        await eventually(
            lambda: committed_count(kafka_bootstrap, group, 1), what="offset committed"
        )
        # then, once committed, it is not handled again
        assert calls == [task_id, task_id]

    # and nothing was committed before the successful attempt: exactly one message is consumed
    assert await committed_count(kafka_bootstrap, group, 1)


async def test_garbage_message_lands_in_dead_letter_topic_and_consumer_moves_on(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given a message that is no task, then a bare-UUID one, then a regular one, on one partition
    garbage = b"\xffnot a task"
    bare, regular = uuid.uuid4(), uuid.uuid4()
    key = b"same-partition"
    await produce_raw(kafka_bootstrap, topic, garbage, key)
    await produce_raw(kafka_bootstrap, topic, str(bare).encode(), key)
    await produce_raw(kafka_bootstrap, topic, f'{{"taskid": "{regular}"}}'.encode(), key)
    handled: list[uuid.UUID] = []

    async def handle(task_id: uuid.UUID) -> None:
        handled.append(task_id)

    # when the worker consumes the partition
    async with running(fast_consumer(kafka_bootstrap, topic, group), handle):
        # then the valid messages behind the garbage are served, in order
        await eventually(lambda: handled == [bare, regular], what="valid messages handled")
        await eventually(lambda: committed_count(kafka_bootstrap, group, 3), what="all committed")

    # and the garbage is in the dead-letter topic, unchanged, with the reason and its origin
    [dead] = await read_topic(kafka_bootstrap, dead_letter_topic(topic), 1)
    assert dead.value == garbage
    assert dead.key == key
    headers = dict(dead.headers)
    assert headers[DLQ_SOURCE_TOPIC_HEADER] == topic.encode()
    assert headers[DLQ_SOURCE_OFFSET_HEADER] == b"0"
    assert int(headers[DLQ_SOURCE_PARTITION_HEADER]) in range(3)
    assert headers[DLQ_GROUP_HEADER] == group.encode()
    assert b"UTF-8" in headers[DLQ_ERROR_HEADER]


async def test_two_consumers_in_one_group_share_the_work(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given two workers of one group on a three-partition topic, both with partitions assigned
    handled: dict[str, list[uuid.UUID]] = collections.defaultdict(list)

    def handler(name: str) -> TaskHandler:
        async def handle(task_id: uuid.UUID) -> None:
            handled[name].append(task_id)

        return handle

    async with (
        running(fast_consumer(kafka_bootstrap, topic, group, client_id="a"), handler("a")),
        running(fast_consumer(kafka_bootstrap, topic, group, client_id="b"), handler("b")),
    ):
        await eventually(
            lambda: _stable_with_members(kafka_bootstrap, group, 2), what="a stable group of two"
        )

        # when thirty tasks are published
        task_ids = [uuid.uuid4() for _ in range(30)]
        await publish_all(kafka_bootstrap, topic, task_ids)

        # then between them they handle every task
        await eventually(
            lambda: set(handled["a"]) | set(handled["b"]) == set(task_ids),
            what="every task handled",
        )
        await eventually(
            lambda: committed_count(kafka_bootstrap, group, len(task_ids)),
            what="all committed",
        )

    # and both took a share
    assert handled["a"]
    assert handled["b"]
    assert len(handled["a"]) + len(handled["b"]) >= len(task_ids)


async def test_worker_joining_mid_stream_takes_partitions_and_no_task_is_lost(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given thirty tasks, and a first worker that stalls on its fifth until the second one works
    task_ids = [uuid.uuid4() for _ in range(30)]
    await publish_all(kafka_bootstrap, topic, task_ids)
    handled: dict[str, list[uuid.UUID]] = collections.defaultdict(list)
    second_working = asyncio.Event()

    async def first(task_id: uuid.UUID) -> None:
        handled["first"].append(task_id)
        if len(handled["first"]) == 5:
            await second_working.wait()

    async def second(task_id: uuid.UUID) -> None:
        handled["second"].append(task_id)
        second_working.set()

    # the first worker gives up waiting for its stalled task after 1s of a rebalance
    async with running(
        fast_consumer(kafka_bootstrap, topic, group, client_id="first", revoke_grace=1.0), first
    ):
        await eventually(lambda: len(handled["first"]) >= 5, what="the first worker busy")

        # when a second worker joins the group while a task is in flight
        async with running(
            fast_consumer(kafka_bootstrap, topic, group, client_id="second"), second
        ):
            # then the group rebalances, and between them every task is handled
            await eventually(
                lambda: set(handled["first"]) | set(handled["second"]) == set(task_ids),
                what="every task handled",
            )
            await eventually(
                lambda: committed_count(kafka_bootstrap, group, len(task_ids)),
                what="all committed",
            )

    assert handled["second"], "the second worker got no partition"


async def test_consumer_keeps_trying_to_connect_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given no broker at all at the address
    consumer = fast_consumer(f"127.0.0.1:{free_port()}", unique_name("tasks"), unique_name("g"))
    handled: list[uuid.UUID] = []

    async def handle(task_id: uuid.UUID) -> None:
        handled.append(task_id)

    with caplog.at_level(logging.WARNING, logger="adapters.kafka.consumer"):
        run = asyncio.create_task(consumer.run(handle))

        # when it has failed to connect a few times
        await eventually(
            lambda: caplog.text.count("cannot reach") >= 3, what="three connection attempts"
        )
        assert not run.done()

        # then stop() ends it promptly, and twice is fine
        async with asyncio.timeout(5):
            await consumer.stop()
            await consumer.stop()
    assert run.done()
    assert run.exception() is None
    assert handled == []


async def _stable_with_members(bootstrap: str, group: str, members: int) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    description = response.to_object()["groups"][0]
    return description["state"] == "Stable" and len(description["members"]) == members


async def test_the_lag_counts_what_is_not_done_yet_and_falls_to_zero(
    kafka_bootstrap: str,  # noqa: F811
    topic: str,
    group: str,
) -> None:
    # given five tasks, and a worker stuck on the first it takes
    task_ids = [uuid.uuid4() for _ in range(5)]
    await publish_all(kafka_bootstrap, topic, task_ids)
    release = asyncio.Event()
    handled: list[uuid.UUID] = []

    async def slow(task_id: uuid.UUID) -> None:
        await release.wait()
        handled.append(task_id)

    consumer = fast_consumer(kafka_bootstrap, topic, group)
    assert await consumer.lag() is None  # not consuming yet
    async with running(consumer, slow):
        # then nothing is done: the lag is all five
        async def lag_is(expected: int) -> bool:
            return await consumer.lag() == expected

        await eventually(lambda: lag_is(5), what="a lag of 5")
        # and once the worker gets through them, it falls to zero
        release.set()
        await eventually(lambda: len(handled) == 5, what="all tasks handled")
        await eventually(lambda: lag_is(0), what="a lag of 0")
