"""Port: the queue that carries task ids from the API to the workers."""

from __future__ import annotations

import uuid
from typing import Protocol

__all__ = ["TaskPublisher", "TaskQueueUnavailable"]


class TaskQueueUnavailable(Exception):
    """The queue could not take the message now; the caller keeps it and retries later."""


class TaskPublisher(Protocol):
    """Publishes a task id so that a worker picks it up (at least once)."""

    async def publish(self, task_id: uuid.UUID) -> None:
        """Raises `TaskQueueUnavailable` when the message was not accepted."""
        ...
