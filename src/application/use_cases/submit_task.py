"""Submit a workload: store the task, its outbox message and its credentials in one
transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.ports.clock import Clock
from application.ports.outbox import OutboxMessage
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.task import DEFAULT_MAX_ATTEMPTS, Task, TaskStatus
from domain.workload import Credentials, Workload

__all__ = ["SubmitTask", "SubmitTaskRequest", "SubmittedTask"]


@dataclass(frozen=True, slots=True)
class SubmitTaskRequest:
    """The redacted workload, and apart from it the credentials its URL carried (if any)."""

    workload: Workload
    credentials: Credentials | None = None


@dataclass(frozen=True, slots=True)
class SubmittedTask:
    task_id: uuid.UUID
    status: TaskStatus


class SubmitTask:
    """Accept a workload. Once this returns, the task is durable and will be processed even if
    the queue is down right now: the outbox relay publishes it when the queue is back.

    The credentials go to the secret store, encrypted, in the same transaction: never into the
    task or its outbox message, so never onto the queue."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._max_attempts = max_attempts

    async def execute(self, request: SubmitTaskRequest) -> SubmittedTask:
        now = self._clock.now()
        task = Task.submit(request.workload, now, max_attempts=self._max_attempts)
        message = OutboxMessage(id=uuid.uuid4(), task_id=task.id, created_at=now)
        async with self._uow_factory() as uow:
            # One call: on PostgreSQL one statement that commits on its own, one round trip.
            await uow.add_task_and_commit(task, message, request.credentials)
        return SubmittedTask(task.id, task.status)
