"""Put every pending task back in the outbox (after a restart of an in-process queue)."""

from __future__ import annotations

import uuid

from application.ports.clock import Clock
from application.ports.outbox import OutboxMessage
from application.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["RepublishPendingTasks"]


class RepublishPendingTasks:
    """An in-process queue forgets what it held when the process stops; the tasks it held are
    still `pending` in the database. Publishing them again is safe: processing is idempotent."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def execute(self) -> int:
        async with self._uow_factory() as uow:
            task_ids = await uow.tasks.pending_ids()
            now = self._clock.now()
            for task_id in task_ids:
                await uow.outbox.add(
                    OutboxMessage(id=uuid.uuid4(), task_id=task_id, created_at=now)
                )
            await uow.commit()
        return len(task_ids)
