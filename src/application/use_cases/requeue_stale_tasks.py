"""Recover tasks whose worker died: release them for another attempt, or fail them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from application.ports.clock import Clock
from application.ports.outbox import OutboxMessage
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.task import TaskStatus

__all__ = ["RequeueStaleTasks", "RequeueStaleTasksRequest", "RequeueSummary"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RequeueStaleTasksRequest:
    limit: int = 100


@dataclass(frozen=True, slots=True)
class RequeueSummary:
    released: tuple[uuid.UUID, ...]
    failed: tuple[uuid.UUID, ...]


class RequeueStaleTasks:
    """A task whose lease expired goes back to `pending` with a new outbox message (so it is
    published again) while attempts remain, keeping its credentials; otherwise it fails with
    `attempts_exhausted`, and its credentials are deleted with that outcome."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def execute(self, request: RequeueStaleTasksRequest) -> RequeueSummary:
        released: list[uuid.UUID] = []
        failed: list[uuid.UUID] = []
        async with self._uow_factory() as uow:
            now = self._clock.now()
            for task in await uow.tasks.expired_leases(now, request.limit):
                if task.expire_lease(now) is TaskStatus.PENDING:
                    await uow.outbox.add(
                        OutboxMessage(id=uuid.uuid4(), task_id=task.id, created_at=now)
                    )
                    released.append(task.id)
                else:
                    await uow.secrets.delete(task.id)
                    failed.append(task.id)
                await uow.tasks.save(task)
            await uow.commit()
        if released or failed:
            log.info("requeued %d stale task(s), failed %d", len(released), len(failed))
        return RequeueSummary(tuple(released), tuple(failed))
