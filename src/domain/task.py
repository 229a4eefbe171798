"""The Task aggregate: one analysis request and its life cycle.

    pending ──claim──▶ processing ──complete──▶ completed
       ▲                   │ └────────fail──────▶ failed
       └─────release───────┘

`completed` and `failed` are final. Every other move raises `InvalidTransition`. Each change
appends a small frozen event to `task.events`, which adapters may publish or log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidTransition
from domain.result import AnalysisResult
from domain.workload import Workload

__all__ = [
    "ATTEMPTS_EXHAUSTED",
    "DEFAULT_MAX_ATTEMPTS",
    "Progress",
    "Task",
    "TaskCompleted",
    "TaskCreated",
    "TaskError",
    "TaskEvent",
    "TaskFailed",
    "TaskReleased",
    "TaskStatus",
]

DEFAULT_MAX_ATTEMPTS = 3
ATTEMPTS_EXHAUSTED = "attempts_exhausted"


class TaskStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the pipeline is: a named stage and a percentage (0–100)."""

    stage: str
    percent: int

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError(f"progress percent must be within 0..100, got {self.percent}")


@dataclass(frozen=True, slots=True)
class TaskError:
    """Why a task failed: a stable machine-readable code and a human message."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TaskCreated:
    task_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TaskCompleted:
    task_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TaskFailed:
    task_id: uuid.UUID
    error: TaskError


@dataclass(frozen=True, slots=True)
class TaskReleased:
    task_id: uuid.UUID
    reason: str


TaskEvent = TaskCreated | TaskCompleted | TaskFailed | TaskReleased


@dataclass(eq=False)
class Task:
    """An analysis task. Identity is its `id`; state changes only through its methods."""

    id: uuid.UUID
    workload: Workload
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    progress: Progress = field(default_factory=lambda: Progress("queued", 0))
    lease_expires_at: datetime | None = None
    error: TaskError | None = None
    result: AnalysisResult | None = None
    events: list[TaskEvent] = field(default_factory=list, repr=False)

    @classmethod
    def submit(
        cls,
        workload: Workload,
        now: datetime,
        *,
        task_id: uuid.UUID | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> Task:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        task = cls(
            id=task_id or uuid.uuid4(),
            workload=workload,
            status=TaskStatus.PENDING,
            created_at=now,
            updated_at=now,
            max_attempts=max_attempts,
        )
        task.events.append(TaskCreated(task.id))
        return task

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def attempts_left(self) -> int:
        return max(self.max_attempts - self.attempts, 0)

    def lease_expired(self, now: datetime) -> bool:
        return (
            self.status is TaskStatus.PROCESSING
            and self.lease_expires_at is not None
            and self.lease_expires_at <= now
        )

    def claim(self, now: datetime, lease: timedelta) -> None:
        """A worker takes the task: one more attempt, held until `now + lease`."""
        self._require(TaskStatus.PENDING, "claim")
        if self.attempts_left == 0:
            raise InvalidTransition(self.id, self.status, "claim with no attempts left")
        self.status = TaskStatus.PROCESSING
        self.attempts += 1
        self.lease_expires_at = now + lease
        self.progress = Progress("started", 0)
        self.updated_at = now

    def report_progress(self, progress: Progress, now: datetime) -> None:
        self._require(TaskStatus.PROCESSING, "report progress")
        self.progress = progress
        self.updated_at = now

    def extend_lease(self, now: datetime, lease: timedelta) -> None:
        self._require(TaskStatus.PROCESSING, "extend the lease")
        self.lease_expires_at = now + lease
        self.updated_at = now

    def complete(self, result: AnalysisResult, now: datetime) -> None:
        self._require(TaskStatus.PROCESSING, "complete")
        self.status = TaskStatus.COMPLETED
        self.result = result
        self.error = None
        self.lease_expires_at = None
        self.progress = Progress("done", 100)
        self.updated_at = now
        self.events.append(TaskCompleted(self.id))

    def fail(self, error: TaskError, now: datetime) -> None:
        self._require(TaskStatus.PROCESSING, "fail")
        self.status = TaskStatus.FAILED
        self.error = error
        self.lease_expires_at = None
        self.updated_at = now
        self.events.append(TaskFailed(self.id, error))

    def release(self, now: datetime, reason: str) -> None:
        """Give the task back to the queue (its lease expired or a retryable error happened).

        Only while attempts remain: a task with none left must `fail`, so that a pending task
        can always be claimed.
        """
        self._require(TaskStatus.PROCESSING, "release")
        if self.attempts_left == 0:
            raise InvalidTransition(self.id, self.status, "release with no attempts left")
        self.status = TaskStatus.PENDING
        self.lease_expires_at = None
        self.progress = Progress("queued", 0)
        self.updated_at = now
        self.events.append(TaskReleased(self.id, reason))

    def expire_lease(self, now: datetime) -> TaskStatus:
        """The worker holding the task is gone: release it while attempts remain, else fail it
        with `attempts_exhausted`. Returns the new status."""
        self._require(TaskStatus.PROCESSING, "expire the lease")
        if self.attempts_left > 0:
            self.release(now, "lease expired")
        else:
            self.fail(
                TaskError(
                    ATTEMPTS_EXHAUSTED,
                    f"the task was abandoned by its worker {self.attempts} time(s); "
                    "no attempts left",
                ),
                now,
            )
        return self.status

    def _require(self, status: TaskStatus, action: str) -> None:
        if self.status is not status:
            raise InvalidTransition(self.id, self.status, action)
