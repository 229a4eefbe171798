"""Application errors: what a use case can refuse, mapped to HTTP codes only at the edge.

ApplicationError
├── TaskNotFound        no task has this id
└── TaskNotCompleted    the task has no result yet (or failed); carries its status and error
"""

from __future__ import annotations

import uuid

from domain.task import TaskError, TaskStatus

__all__ = ["ApplicationError", "TaskNotCompleted", "TaskNotFound"]


class ApplicationError(Exception):
    """Base class of the errors use cases raise on purpose."""


class TaskNotFound(ApplicationError):
    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"no task with id {task_id}")
        self.task_id = task_id


class TaskNotCompleted(ApplicationError):
    def __init__(self, task_id: uuid.UUID, status: TaskStatus, error: TaskError | None) -> None:
        super().__init__(f"task {task_id} is {status}, it has no result")
        self.task_id = task_id
        self.status = status
        self.error = error
