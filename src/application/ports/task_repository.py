"""Port: storage of Task aggregates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from application.ports.outbox import OutboxMessage
from domain.task import Task, TaskStatus

__all__ = ["TaskRepository"]


class TaskRepository(Protocol):
    """Stores and loads tasks; changes become durable only when the unit of work commits."""

    async def add(self, task: Task, *, message: OutboxMessage | None = None) -> None:
        """Stage a new task; with `message`, the outbox message that announces it too, as
        `Outbox.add` would (a storage may write both at once)."""
        ...

    async def get(self, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
        """The task with this id, or None. `for_update` locks it until the unit of work ends."""
        ...

    async def save(self, task: Task) -> None:
        """Stage the changes made to a task loaded from this repository."""
        ...

    async def pending_ids(self) -> list[uuid.UUID]:
        """Ids of every task still waiting to be claimed, oldest first."""
        ...

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Tasks still `processing` whose lease ended before `now` (a worker died)."""
        ...

    async def count_by_status(self) -> dict[TaskStatus, int]:
        """How many tasks there are in each status (statuses without a task are left out)."""
        ...
