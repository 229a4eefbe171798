"""Tell where a task is: status, progress, attempts, timestamps, error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.errors import TaskNotFound
from application.ports.task_repository import TaskSummary
from application.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["GetTaskStatus", "GetTaskStatusRequest", "TaskStatusView"]


@dataclass(frozen=True, slots=True)
class GetTaskStatusRequest:
    task_id: uuid.UUID


# Where a task is: status, progress, attempts, timestamps, error.
TaskStatusView = TaskSummary


class GetTaskStatus:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, request: GetTaskStatusRequest) -> TaskStatusView:
        async with self._uow_factory() as uow:
            summary = await uow.tasks.summary(request.task_id)
        if summary is None:
            raise TaskNotFound(request.task_id)
        return summary
