"""An in-process task queue: the embedded default's stand-in for Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from application.ports.task_queue import TaskPublisher, TaskQueueUnavailable

__all__ = ["InProcessTaskQueue"]


class InProcessTaskQueue(TaskPublisher):
    """A bounded asyncio queue. Publishing into a full queue is refused like a broker outage
    (`TaskQueueUnavailable`), so the outbox keeps the message and the relay retries it."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._queue: asyncio.Queue[uuid.UUID] = asyncio.Queue(maxsize)

    async def publish(self, task_id: uuid.UUID) -> None:
        try:
            self._queue.put_nowait(task_id)
        except asyncio.QueueFull as exc:
            raise TaskQueueUnavailable("the in-process queue is full") from exc

    async def publish_many(self, task_ids: Sequence[uuid.UUID]) -> None:
        """Queue the ids in order until the queue is full, as a broker takes part of a batch;
        the refusal names the ids that were queued."""
        for position, task_id in enumerate(task_ids):
            try:
                self._queue.put_nowait(task_id)
            except asyncio.QueueFull as exc:
                raise TaskQueueUnavailable(
                    f"the in-process queue is full: {position} of {len(task_ids)} ids queued",
                    acknowledged=task_ids[:position],
                ) from exc

    async def get(self) -> uuid.UUID:
        """Wait for the next task id."""
        return await self._queue.get()

    def task_done(self) -> None:
        self._queue.task_done()

    async def join(self) -> None:
        """Wait until every published id was taken and marked done."""
        await self._queue.join()

    def qsize(self) -> int:
        return self._queue.qsize()
