"""The outbox relay with a queue that takes batches: nothing is marked that the queue did not
acknowledge, and nothing accepted is ever lost, whatever the queue refuses on the way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory import InMemoryUnitOfWorkFactory
from application.ports.outbox import OutboxMessage
from application.ports.task_queue import TaskPublisher, TaskQueueUnavailable
from application.use_cases.relay_outbox import RelayOutbox, RelayOutboxRequest
from tests.unit.application.conftest import FixedClock

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class QueueCrashed(RuntimeError):
    """Not a refusal: the queue's client broke, and what it sent is unknown."""


# What the queue does with one call: take everything (None), take only the ids at the given
# positions and refuse the rest, or crash after taking those positions.
Reply = None | frozenset[int] | tuple[str, frozenset[int]]


@dataclass
class ScriptedQueue(TaskPublisher):
    """A queue that answers each call as its script says, then takes everything; it records
    every id it acknowledged and every batch it was handed."""

    script: list[Reply] = field(default_factory=list)
    delivered: list[uuid.UUID] = field(default_factory=list)
    calls: list[list[uuid.UUID]] = field(default_factory=list)

    async def publish(self, task_id: uuid.UUID) -> None:
        await self.publish_many([task_id])

    async def publish_many(self, task_ids: Sequence[uuid.UUID]) -> None:
        self.calls.append(list(task_ids))
        reply = self.script.pop(0) if self.script else None
        if reply is None:
            self.delivered.extend(task_ids)
            return
        crash = isinstance(reply, tuple)
        positions = reply[1] if isinstance(reply, tuple) else reply
        taken = [task_id for position, task_id in enumerate(task_ids) if position in positions]
        self.delivered.extend(taken)
        if crash:
            raise QueueCrashed("the client broke")
        if len(taken) < len(task_ids):
            raise TaskQueueUnavailable("broker refused part of the batch", acknowledged=taken)


async def stored(
    uow_factory: InMemoryUnitOfWorkFactory, task_ids: Sequence[uuid.UUID]
) -> list[OutboxMessage]:
    """One outbox row per id, oldest first (an id may repeat: a task published again)."""
    messages = [
        OutboxMessage(uuid.uuid4(), task_id, START + timedelta(seconds=position))
        for position, task_id in enumerate(task_ids)
    ]
    async with uow_factory() as uow:
        for message in messages:
            await uow.outbox.add(message)
        await uow.commit()
    return messages


async def waiting(uow_factory: InMemoryUnitOfWorkFactory) -> list[OutboxMessage]:
    async with uow_factory() as uow:
        return await uow.outbox.unpublished(10_000)


async def test_a_batch_reaches_the_queue_in_two_calls_first_message_alone() -> None:
    # given five stored messages
    uow_factory, queue = InMemoryUnitOfWorkFactory(), ScriptedQueue()
    task_ids = [uuid.uuid4() for _ in range(5)]
    await stored(uow_factory, task_ids)

    # when the relay runs one round
    summary = await RelayOutbox(uow_factory, queue, FixedClock(START)).execute(RelayOutboxRequest())

    # then the first went alone, the other four in one batch, and all are marked
    assert queue.calls == [task_ids[:1], task_ids[1:]]
    assert (summary.published, summary.failed) == (5, 0)
    assert await waiting(uow_factory) == []


async def test_a_partly_refused_batch_marks_only_what_the_queue_acknowledged() -> None:
    # given five stored messages and a queue that takes the 1st and 3rd of the batch after the
    # first message
    uow_factory = InMemoryUnitOfWorkFactory()
    queue = ScriptedQueue(script=[None, frozenset({0, 2})])
    task_ids = [uuid.uuid4() for _ in range(5)]
    await stored(uow_factory, task_ids)

    # when the relay runs one round
    summary = await RelayOutbox(uow_factory, queue, FixedClock(START)).execute(RelayOutboxRequest())

    # then three are marked, the two refused wait with one failed attempt and the reason
    assert (summary.published, summary.failed) == (3, 2)
    left = await waiting(uow_factory)
    assert [message.task_id for message in left] == [task_ids[2], task_ids[4]]
    assert all(message.attempts == 1 for message in left)
    assert all("refused part of the batch" in (message.last_error or "") for message in left)

    # and the next round publishes them
    again = await RelayOutbox(uow_factory, queue, FixedClock(START)).execute(RelayOutboxRequest())
    assert again.published == 2
    assert set(queue.delivered) == set(task_ids)


async def test_a_crash_of_the_queue_client_marks_nothing_of_its_batch_and_is_raised() -> None:
    # given three stored messages and a queue client that breaks on the batch after taking one
    uow_factory = InMemoryUnitOfWorkFactory()
    queue = ScriptedQueue(script=[None, ("crash", frozenset({0}))])
    task_ids = [uuid.uuid4() for _ in range(3)]
    await stored(uow_factory, task_ids)

    # when the relay runs one round, the error reaches its caller
    with pytest.raises(QueueCrashed):
        await RelayOutbox(uow_factory, queue, FixedClock(START)).execute(RelayOutboxRequest())

    # and only the first message, acknowledged alone, is marked: the batch is tried again
    assert [message.task_id for message in await waiting(uow_factory)] == task_ids[1:]


async def test_rows_of_one_task_are_published_once_and_all_marked() -> None:
    # given a task whose id two rows carry (published again after a restart), among others
    uow_factory, queue = InMemoryUnitOfWorkFactory(), ScriptedQueue()
    first, twice, last = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await stored(uow_factory, [first, twice, last, twice])

    # when the relay runs one round
    summary = await RelayOutbox(uow_factory, queue, FixedClock(START)).execute(RelayOutboxRequest())

    # then the batch carries the id once, and every row is marked
    assert queue.calls == [[first], [twice, last]]
    assert summary.published == 4
    assert await waiting(uow_factory) == []


replies = st.one_of(
    st.none(),
    st.frozensets(st.integers(0, 12)),
    st.tuples(st.just("crash"), st.frozensets(st.integers(0, 12))),
)


@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    script=st.lists(replies, max_size=8),
    batch_size=st.integers(1, 13),
)
def test_no_message_is_marked_unacknowledged_nor_lost_whatever_the_queue_refuses(
    ids: list[int], script: list[Reply], batch_size: int
) -> None:
    # given stored messages (some ids repeated) and a queue that refuses, takes part of a
    # batch or crashes as the script says, then recovers
    async def scenario() -> None:
        uow_factory, queue = InMemoryUnitOfWorkFactory(), ScriptedQueue(script=list(script))
        task_ids = [uuid.UUID(int=number + 1) for number in ids]
        messages = await stored(uow_factory, task_ids)
        relay = RelayOutbox(uow_factory, queue, FixedClock(START))

        # when the relay runs round after round
        for _ in range(len(script) + len(task_ids) + 1):
            before = {message.id for message in await waiting(uow_factory)}
            try:
                summary = await relay.execute(RelayOutboxRequest(batch_size))
            except QueueCrashed:
                summary = None
            after = {message.id for message in await waiting(uow_factory)}

            # then every round marks exactly what it reports, and only messages whose task id
            # the queue acknowledged
            newly_marked = before - after
            if summary is not None:
                assert summary.published == len(newly_marked)
            marked_ids = {m.task_id for m in messages if m.id in newly_marked}
            assert marked_ids <= set(queue.delivered)
            if not after:
                break

        # and in the end every message is marked and every task id reached the queue
        assert await waiting(uow_factory) == []
        assert set(task_ids) <= set(queue.delivered)

    asyncio.run(scenario())
