"""InProcessTaskQueue: a batch is queued in order, and a full queue says which ids it took."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import InProcessTaskQueue
from application.ports.task_queue import TaskQueueUnavailable


async def drain(queue: InProcessTaskQueue) -> list[uuid.UUID]:
    return [await queue.get() for _ in range(queue.qsize())]


async def test_a_batch_is_queued_in_order() -> None:
    queue = InProcessTaskQueue()
    task_ids = [uuid.uuid4() for _ in range(5)]

    await queue.publish_many(task_ids)

    assert await drain(queue) == task_ids


async def test_an_empty_batch_queues_nothing() -> None:
    queue = InProcessTaskQueue(maxsize=1)

    await queue.publish_many([])

    assert queue.qsize() == 0


async def test_a_batch_into_a_full_queue_is_refused_with_nothing_acknowledged() -> None:
    queue = InProcessTaskQueue(maxsize=1)
    await queue.publish(uuid.uuid4())

    with pytest.raises(TaskQueueUnavailable, match="full") as refused:
        await queue.publish_many([uuid.uuid4()])

    assert refused.value.acknowledged == frozenset()


@given(
    maxsize=st.integers(1, 8),
    already=st.integers(0, 8),
    batch=st.integers(0, 12),
)
def test_a_batch_larger_than_the_room_left_acknowledges_exactly_the_ids_queued(
    maxsize: int, already: int, batch: int
) -> None:
    async def scenario() -> None:
        # given a queue holding some ids
        queue = InProcessTaskQueue(maxsize=maxsize)
        earlier = [uuid.uuid4() for _ in range(min(already, maxsize))]
        await queue.publish_many(earlier)
        task_ids = [uuid.uuid4() for _ in range(batch)]

        # when a batch is published into it
        try:
            await queue.publish_many(task_ids)
            acknowledged = set(task_ids)
            refused = False
        except TaskQueueUnavailable as exc:
            acknowledged, refused = set(exc.acknowledged), True

        # then the queue holds the earlier ids and then exactly the acknowledged ones, in order
        room = maxsize - len(earlier)
        assert refused == (batch > room)
        assert await drain(queue) == earlier + task_ids[:room]
        assert acknowledged == set(task_ids[:room])

    asyncio.run(scenario())
