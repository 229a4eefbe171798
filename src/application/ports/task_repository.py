"""Port: storage of Task aggregates."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.task import Progress, Task, TaskError, TaskStatus

__all__ = ["TaskRepository", "TaskSummary"]


@dataclass(frozen=True, slots=True)
class TaskSummary:
    """Where a task is, without its workload and its result (which may be large)."""

    task_id: uuid.UUID
    status: TaskStatus
    progress: Progress
    attempts: int
    created_at: datetime
    updated_at: datetime
    error: TaskError | None

    @classmethod
    def of(cls, task: Task) -> TaskSummary:
        return cls(
            task_id=task.id,
            status=task.status,
            progress=task.progress,
            attempts=task.attempts,
            created_at=task.created_at,
            updated_at=task.updated_at,
            error=task.error,
        )


class TaskRepository(Protocol):
    """Stores and loads tasks; changes become durable only when the unit of work commits."""

    async def add(self, task: Task) -> None:
        """Stage a new task."""
        ...

    async def get(self, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
        """The task with this id, or None. `for_update` locks it until the unit of work ends."""
        ...

    async def summary(self, task_id: uuid.UUID) -> TaskSummary | None:
        """What `get` would tell of where the task is, or None; reads neither its workload nor
        its result (a status poll needs neither)."""
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
