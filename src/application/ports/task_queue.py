"""Port: the queue that carries task ids from the API to the workers."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Protocol

__all__ = ["TaskPublisher", "TaskQueueUnavailable"]


class TaskQueueUnavailable(Exception):
    """The queue could not take the message now; the caller keeps it and retries later.

    `acknowledged` holds the ids of a `publish_many` that the queue did take before it failed
    (none for `publish`): only those may be treated as published, every other id must be kept.
    """

    def __init__(self, message: str, acknowledged: Collection[uuid.UUID] = ()) -> None:
        super().__init__(message)
        self.acknowledged: frozenset[uuid.UUID] = frozenset(acknowledged)


class TaskPublisher(Protocol):
    """Publishes a task id so that a worker picks it up (at least once)."""

    async def publish(self, task_id: uuid.UUID) -> None:
        """Raises `TaskQueueUnavailable` when the message was not accepted."""
        ...

    async def publish_many(self, task_ids: Sequence[uuid.UUID]) -> None:
        """Publish every id at once; returns when the queue acknowledged all of them.

        Raises `TaskQueueUnavailable` when any was not accepted, with the ids that were in its
        `acknowledged`; the others may have reached the queue too (at least once, never zero).
        """
        ...
