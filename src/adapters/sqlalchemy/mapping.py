"""Rows ↔ domain objects, written out by hand.

The Task aggregate is a plain dataclass with nested frozen value objects (`Progress`,
`TaskError`) and two JSON documents (`Workload`, `AnalysisResult`). Explicit functions over Core
tables keep it that way — no ORM instrumentation, identity map or composite types — and make
the stored shape plain to read: progress and error are flattened into columns, workload and
result use their own `to_dict`/`from_dict`, and pending events are not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from application.ports.outbox import OutboxMessage
from application.ports.task_repository import TaskSummary
from domain.result import AnalysisResult
from domain.task import Progress, Task, TaskError, TaskStatus
from domain.workload import Workload

__all__ = [
    "message_from_row",
    "message_from_values",
    "message_to_row",
    "summary_from_values",
    "task_from_row",
    "task_from_values",
    "task_to_row",
]

# Written once by `add`: no transition changes them, so `save` leaves them alone (the workload
# document can be large).
TASK_IMMUTABLE_COLUMNS = frozenset({"id", "workload", "created_at"})


def task_to_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "status": task.status.value,
        "workload": task.workload.to_dict(),
        "attempts": task.attempts,
        "max_attempts": task.max_attempts,
        "progress_stage": task.progress.stage,
        "progress_percent": task.progress.percent,
        "lease_expires_at": task.lease_expires_at,
        "error_code": task.error.code if task.error is not None else None,
        "error_message": task.error.message if task.error is not None else None,
        "result": task.result.to_dict() if task.result is not None else None,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


def task_from_row(row: Row[Any]) -> Task:
    return task_from_values(row._mapping)


def task_from_values(values: Mapping[Any, Any]) -> Task:
    error_code, error_message = values["error_code"], values["error_message"]
    return Task(
        id=values["id"],
        workload=Workload.from_dict(values["workload"]),
        status=TaskStatus(values["status"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        attempts=values["attempts"],
        max_attempts=values["max_attempts"],
        progress=Progress(values["progress_stage"], values["progress_percent"]),
        lease_expires_at=values["lease_expires_at"],
        error=TaskError(error_code, error_message or "") if error_code is not None else None,
        result=AnalysisResult.from_dict(values["result"]) if values["result"] is not None else None,
    )


# What `summary_from_values` needs: where a task is, not its workload or result.
TASK_SUMMARY_COLUMNS = (
    "id",
    "status",
    "attempts",
    "progress_stage",
    "progress_percent",
    "error_code",
    "error_message",
    "created_at",
    "updated_at",
)


def summary_from_values(values: Mapping[Any, Any]) -> TaskSummary:
    error_code, error_message = values["error_code"], values["error_message"]
    return TaskSummary(
        task_id=values["id"],
        status=TaskStatus(values["status"]),
        progress=Progress(values["progress_stage"], values["progress_percent"]),
        attempts=values["attempts"],
        created_at=values["created_at"],
        updated_at=values["updated_at"],
        error=TaskError(error_code, error_message or "") if error_code is not None else None,
    )


def message_to_row(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "task_id": message.task_id,
        "created_at": message.created_at,
        "published_at": None,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }


# What `message_from_values` needs.
MESSAGE_COLUMNS = ("id", "task_id", "created_at", "attempts", "last_error")


def message_from_row(row: Row[Any]) -> OutboxMessage:
    return message_from_values(row._mapping)


def message_from_values(values: Mapping[Any, Any]) -> OutboxMessage:
    return OutboxMessage(
        id=values["id"],
        task_id=values["task_id"],
        created_at=values["created_at"],
        attempts=values["attempts"],
        last_error=values["last_error"],
    )
