"""Publish the outbox: every stored task id reaches the queue, however long the queue is down."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.ports.clock import Clock
from application.ports.task_queue import TaskPublisher, TaskQueueUnavailable
from application.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["RelayOutbox", "RelayOutboxRequest", "RelaySummary"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayOutboxRequest:
    batch_size: int = 100


@dataclass(frozen=True, slots=True)
class RelaySummary:
    published: int
    failed: int

    @property
    def queue_down(self) -> bool:
        return self.failed > 0


class RelayOutbox:
    """Publishes unpublished messages oldest first and marks each one once the queue took it.

    A message is marked only after the queue accepted it, so a crash in between publishes it
    twice — never zero times; the worker ignores the duplicate. The first failure stops the
    batch: the queue is down, and the next round retries from the same message.
    """

    def __init__(
        self, uow_factory: UnitOfWorkFactory, publisher: TaskPublisher, clock: Clock
    ) -> None:
        self._uow_factory = uow_factory
        self._publisher = publisher
        self._clock = clock

    async def execute(self, request: RelayOutboxRequest) -> RelaySummary:
        async with self._uow_factory() as uow:
            messages = await uow.outbox.unpublished(request.batch_size)
        published = 0
        for message in messages:
            try:
                await self._publisher.publish(message.task_id)
            except TaskQueueUnavailable as exc:
                log.warning("outbox: queue unavailable, will retry: %s", exc)
                async with self._uow_factory() as uow:
                    await uow.outbox.mark_failed(message.id, str(exc))
                    await uow.commit()
                return RelaySummary(published, 1)
            async with self._uow_factory() as uow:
                await uow.outbox.mark_published(message.id, self._clock.now())
                await uow.commit()
            published += 1
        return RelaySummary(published, 0)
