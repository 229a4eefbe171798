"""Process one task: claim it, run the analysis, store the outcome.

Delivery is at least once, so this use case is idempotent: a task that is already final, or
held by another worker whose lease is still running, is left alone. A worker that lost its lease
(another one re-claimed the task) does not overwrite the other's outcome: every write checks that
the task is still on the attempt this worker claimed.

The task's credentials are read, decrypted, with the claim and live only in a local variable
for the analyzer; they are deleted in the transaction that stores the final outcome (completed
or failed), and kept when the task goes back to pending for another attempt. Error messages
that are stored or logged are scrubbed of them first.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from application.ports.analyzer import Analyzer, ProgressSink
from application.ports.clock import Clock
from application.ports.outbox import OutboxMessage
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import DomainError
from domain.result import AnalysisResult
from domain.task import Progress, Task, TaskError, TaskStatus
from domain.workload import Credentials

__all__ = ["ProcessOutcome", "ProcessTask", "ProcessTaskRequest"]

log = logging.getLogger(__name__)

ANALYSIS_FAILED = "analysis_failed"
INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class ProcessTaskRequest:
    task_id: uuid.UUID


class ProcessOutcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    ALREADY_FINAL = "already_final"
    HELD_ELSEWHERE = "held_elsewhere"
    LEASE_LOST = "lease_lost"
    RETRY_LATER = "retry_later"
    NOT_FOUND = "not_found"


class _LeaseLost(Exception):
    """Raised inside the analysis to stop it once another worker holds the task."""


class ProcessTask:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        analyzer: Analyzer,
        clock: Clock,
        lease: timedelta = timedelta(minutes=15),
    ) -> None:
        self._uow_factory = uow_factory
        self._analyzer = analyzer
        self._clock = clock
        self._lease = lease

    async def execute(self, request: ProcessTaskRequest) -> ProcessOutcome:
        # A stop (cancellation) that comes while the claim commits must not leave the task
        # processing until its lease runs out: the claim runs to its end, then is handed back.
        claiming = asyncio.ensure_future(self._claim(request.task_id))
        try:
            claimed = await asyncio.shield(claiming)
        except asyncio.CancelledError:
            claimed = await claiming
            if not isinstance(claimed, ProcessOutcome):
                held = claimed[0]
                await self._update(held.id, held.attempts, self._hand_back)
            raise
        if isinstance(claimed, ProcessOutcome):
            return claimed
        task, credentials = claimed
        attempt = task.attempts

        async def on_progress(progress: Progress) -> None:
            if not await self._update(task.id, attempt, lambda t: self._progress(t, progress)):
                raise _LeaseLost

        try:
            result = await self._analyzed(task, attempt, on_progress, credentials)
        except asyncio.CancelledError:
            # The process is stopping: hand the task back now rather than after its lease.
            await asyncio.shield(self._update(task.id, attempt, self._hand_back))
            raise
        except _LeaseLost:
            log.warning("task %s: lease lost during analysis, outcome left to its holder", task.id)
            return ProcessOutcome.LEASE_LOST
        except (DomainError, ValueError) as exc:
            # The engine answers every input; an error here is a bug or a workload it rejects.
            # Retrying would fail the same way, so the task fails now with the reason.
            message = _scrubbed(str(exc) or type(exc).__name__, credentials)
            error = TaskError(ANALYSIS_FAILED, message)
            log.warning("task %s failed: %s", task.id, error.message)
            failed = await self._update(
                task.id, attempt, lambda t: t.fail(error, self._clock.now())
            )
            return ProcessOutcome.FAILED if failed else ProcessOutcome.LEASE_LOST
        except Exception as exc:
            # A bug or a passing fault (say, the database went away mid-way): try again on a
            # later attempt, so that one bad moment does not fail the task; the last attempt
            # fails it with the reason.
            error = TaskError(
                INTERNAL_ERROR, _scrubbed(f"{type(exc).__name__}: {exc}", credentials)
            )
            _log_broken(task.id, attempt, exc, error.message, credentials)
            settled = await self._update(task.id, attempt, lambda t: self._retry_or_fail(t, error))
            if not settled:
                return ProcessOutcome.LEASE_LOST
            return (
                ProcessOutcome.RETRY_LATER if attempt < task.max_attempts else ProcessOutcome.FAILED
            )
        # The result is stored even when the stop comes while it is written (then re-raised).
        completing = asyncio.ensure_future(
            self._update(task.id, attempt, lambda t: t.complete(result, self._clock.now()))
        )
        try:
            completed = await asyncio.shield(completing)
        except asyncio.CancelledError:
            await completing
            raise
        return ProcessOutcome.COMPLETED if completed else ProcessOutcome.LEASE_LOST

    async def _analyzed(
        self,
        task: Task,
        attempt: int,
        on_progress: ProgressSink,
        credentials: Credentials | None,
    ) -> AnalysisResult:
        """The analysis, with the lease kept alive while it runs."""
        stop = asyncio.Event()
        heartbeat = asyncio.ensure_future(self._keep_lease(task.id, attempt, stop))
        try:
            return await self._analyzer.analyze(task.workload, on_progress, credentials=credentials)
        finally:
            stop.set()
            await asyncio.shield(heartbeat)

    async def _keep_lease(self, task_id: uuid.UUID, attempt: int, stop: asyncio.Event) -> None:
        """Extends the lease every third of it until `stop`. Progress extends it too, but a task
        can go long without any: queued behind others for the analysis processes, or waiting
        on the LLM or the user's Trino; a lease that lapsed then would have the task run twice.
        A dead worker's lease still lapses: nothing extends it. An extension never breaks off
        mid-way (`stop` is waited for between them), and one that fails is logged and tried
        again at the next beat; a lease found lost ends the beats (the next write finds out)."""
        interval = self._lease.total_seconds() / 3
        while True:
            try:
                await asyncio.wait_for(stop.wait(), interval)
                return
            except TimeoutError:
                pass
            try:
                if not await self._update(task_id, attempt, self._renew):
                    return
            except Exception as exc:  # the database away for a moment: the next beat retries
                log.warning("task %s: the lease could not be extended: %s", task_id, exc)

    def _renew(self, task: Task) -> None:
        task.extend_lease(self._clock.now(), self._lease)

    async def _claim(self, task_id: uuid.UUID) -> tuple[Task, Credentials | None] | ProcessOutcome:
        async with self._uow_factory() as uow:
            task = await uow.tasks.get(task_id, for_update=True)
            if task is None:
                return ProcessOutcome.NOT_FOUND
            if task.status.is_final:
                return ProcessOutcome.ALREADY_FINAL
            now = self._clock.now()
            if task.status is TaskStatus.PROCESSING:
                if not task.lease_expired(now):
                    return ProcessOutcome.HELD_ELSEWHERE
                if task.expire_lease(now) is TaskStatus.FAILED:
                    await uow.tasks.save(task)
                    await uow.secrets.delete(task.id)
                    await uow.commit()
                    return ProcessOutcome.FAILED
            task.claim(now, self._lease)
            await uow.tasks.save(task)
            credentials = await uow.secrets.get(task.id)
            await uow.commit()
            return task, credentials

    def _retry_or_fail(self, task: Task, error: TaskError) -> None:
        if task.attempts_left > 0:
            task.release(self._clock.now(), error.message)
        else:
            task.fail(error, self._clock.now())

    def _hand_back(self, task: Task) -> None:
        if task.attempts_left > 0:
            task.release(self._clock.now(), "worker stopped")

    def _progress(self, task: Task, progress: Progress) -> None:
        now = self._clock.now()
        task.report_progress(progress, now)
        task.extend_lease(now, self._lease)

    async def _update(
        self, task_id: uuid.UUID, attempt: int, change: Callable[[Task], None]
    ) -> bool:
        """Apply `change` if this worker still holds the task; False when it lost it."""
        async with self._uow_factory() as uow:
            task = await uow.tasks.get(task_id, for_update=True)
            if task is None or not _held_on(task, attempt):
                return False
            change(task)
            if task.status is TaskStatus.PENDING:
                # Handed back: publish it again, or no worker would hear of it. Its credentials
                # stay for the next attempt.
                await uow.outbox.add(
                    OutboxMessage(id=uuid.uuid4(), task_id=task.id, created_at=self._clock.now())
                )
            elif task.status.is_final:
                await uow.secrets.delete(task.id)
            await uow.tasks.save(task)
            await uow.commit()
            return True


def _scrubbed(message: str, credentials: Credentials | None) -> str:
    return credentials.scrub(message) if credentials is not None else message


def _log_broken(
    task_id: uuid.UUID,
    attempt: int,
    exc: Exception,
    message: str,
    credentials: Credentials | None,
) -> None:
    """Log an attempt that broke, with its traceback; when the task has credentials, an
    exception's text may quote them, so only the scrubbed message and the frames are logged."""
    if credentials is None:
        log.exception("task %s: attempt %d broke", task_id, attempt)
        return
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("task %s: attempt %d broke: %s\n%s", task_id, attempt, message, frames)


def _held_on(task: Task, attempt: int) -> bool:
    """Whether the task is still processing on the attempt this worker claimed."""
    return task.status is TaskStatus.PROCESSING and task.attempts == attempt
