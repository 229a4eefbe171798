"""In-memory `TaskRepository`: tasks kept as snapshots in an `InMemoryStore`."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from datetime import datetime

from adapters.memory.store import InMemoryTransaction
from application.ports.task_repository import TaskRepository, TaskSummary
from domain.task import Task, TaskStatus

__all__ = ["InMemoryTaskRepository"]


class InMemoryTaskRepository(TaskRepository):
    """Stages tasks in the unit of work's transaction; readers get copies, never live objects."""

    def __init__(self, transaction: InMemoryTransaction) -> None:
        self._transaction = transaction

    async def add(self, task: Task) -> None:
        self._transaction.require_active()
        await self._transaction.lock("task", task.id)
        if self._transaction.task(task.id) is not None:
            raise ValueError(f"task {task.id} already exists")
        self._transaction.stage_task(task, new=True)

    async def get(self, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
        self._transaction.require_active()
        if for_update:
            await self._transaction.lock("task", task_id)
        task = self._transaction.task(task_id)
        return copy.deepcopy(task) if task is not None else None

    async def summary(self, task_id: uuid.UUID) -> TaskSummary | None:
        self._transaction.require_active()
        task = self._transaction.task(task_id)
        return TaskSummary.of(task) if task is not None else None

    async def save(self, task: Task) -> None:
        self._transaction.require_active()
        # Like an UPDATE, saving takes the row lock and waits for whoever holds it.
        await self._transaction.lock("task", task.id)
        if self._transaction.task(task.id) is None:
            raise LookupError(f"task {task.id} does not exist; add it first")
        self._transaction.stage_task(task, new=False)

    async def pending_ids(self) -> list[uuid.UUID]:
        pending = (t for t in self._transaction.visible_tasks() if t.status is TaskStatus.PENDING)
        return [task.id for task in sorted(pending, key=lambda task: (task.created_at, task.id))]

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Locks the tasks it returns and skips those another unit of work holds."""
        candidates = sorted(
            (task for task in self._transaction.visible_tasks() if _lease_expired(task, now)),
            key=lambda task: (task.lease_expires_at, task.id),
        )
        claimed = set(self._transaction.claim_free("task", (t.id for t in candidates), limit))
        return [copy.deepcopy(task) for task in candidates if task.id in claimed]

    async def count_by_status(self) -> dict[TaskStatus, int]:
        self._transaction.require_active()
        return dict(Counter(task.status for task in self._transaction.visible_tasks()))


def _lease_expired(task: Task, now: datetime) -> bool:
    return (
        task.status is TaskStatus.PROCESSING
        and task.lease_expires_at is not None
        and task.lease_expires_at <= now
    )
