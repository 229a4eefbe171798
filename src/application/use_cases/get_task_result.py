"""Hand out the result of a completed task."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.errors import TaskNotCompleted, TaskNotFound
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.result import AnalysisResult
from domain.task import TaskStatus

__all__ = ["GetTaskResult", "GetTaskResultRequest"]


@dataclass(frozen=True, slots=True)
class GetTaskResultRequest:
    task_id: uuid.UUID


class GetTaskResult:
    """Raises `TaskNotFound` for an unknown id and `TaskNotCompleted` while there is no result."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, request: GetTaskResultRequest) -> AnalysisResult:
        async with self._uow_factory() as uow:
            task = await uow.tasks.get(request.task_id)
        if task is None:
            raise TaskNotFound(request.task_id)
        if task.status is not TaskStatus.COMPLETED or task.result is None:
            raise TaskNotCompleted(task.id, task.status, task.error)
        return task.result
