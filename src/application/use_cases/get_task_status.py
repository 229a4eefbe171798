"""Tell where a task is: status, progress, attempts, timestamps, error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from application.errors import TaskNotFound
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.task import Progress, TaskError, TaskStatus

__all__ = ["GetTaskStatus", "GetTaskStatusRequest", "TaskStatusView"]


@dataclass(frozen=True, slots=True)
class GetTaskStatusRequest:
    task_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TaskStatusView:
    task_id: uuid.UUID
    status: TaskStatus
    progress: Progress
    attempts: int
    created_at: datetime
    updated_at: datetime
    error: TaskError | None


class GetTaskStatus:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, request: GetTaskStatusRequest) -> TaskStatusView:
        async with self._uow_factory() as uow:
            task = await uow.tasks.get(request.task_id)
        if task is None:
            raise TaskNotFound(request.task_id)
        return TaskStatusView(
            task_id=task.id,
            status=task.status,
            progress=task.progress,
            attempts=task.attempts,
            created_at=task.created_at,
            updated_at=task.updated_at,
            error=task.error,
        )
