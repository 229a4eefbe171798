"""Publish the outbox: every stored task id reaches the queue, however long the queue is down."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from application.ports.clock import Clock
from application.ports.outbox import OutboxMessage
from application.ports.task_queue import TaskPublisher, TaskQueueUnavailable
from application.ports.unit_of_work import UnitOfWorkFactory

__all__ = ["DEFAULT_BATCH_SIZE", "RelayOutbox", "RelayOutboxRequest", "RelaySummary"]

log = logging.getLogger(__name__)

# A round costs a few round trips to the database and to the queue whatever its size, and
# under a load of submissions each waits its turn on a busy event loop and connection pool:
# rounds of 100 published about 400 messages/s while 500 submissions/s came in
# (bench/api_load.py). The batch must be large enough that the rounds keep up.
DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class RelayOutboxRequest:
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass(frozen=True, slots=True)
class RelaySummary:
    published: int
    failed: int

    @property
    def queue_down(self) -> bool:
        return self.failed > 0


class RelayOutbox:
    """Publishes unpublished messages oldest first and marks them once the queue took them.

    A message is marked only after the queue acknowledged it, so a crash in between publishes it
    twice — never zero times; the worker ignores the duplicate. The first message of a batch
    goes alone: if the queue is down it fails alone, is counted, and the batch stops — the next
    round retries from it. The rest go in one `publish_many` (one round trip to the queue for
    the whole batch, not one per message) and are marked in one transaction. When the queue
    refuses part of that batch, the messages it acknowledged are marked and the others counted
    as failed (in one update), to be tried again next round. Rows carrying the same task id
    are published once.
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
        published: list[OutboxMessage] = []
        failed: list[OutboxMessage] = []
        refusal: TaskQueueUnavailable | None = None
        unexpected: Exception | None = None
        for group in (messages[:1], messages[1:]):
            if not group:
                continue
            try:
                await self._publisher.publish_many(
                    list(dict.fromkeys(message.task_id for message in group))
                )
            except TaskQueueUnavailable as exc:
                refusal = exc
                for message in group:
                    (published if message.task_id in exc.acknowledged else failed).append(message)
                break
            except Exception as exc:
                # Which messages the queue took is unknown: none is marked, all are tried again.
                unexpected = exc
                break
            published.extend(group)
        if refusal is not None:
            log.warning("outbox: queue unavailable, will retry: %s", refusal)
        if published or failed:
            async with self._uow_factory() as uow:
                if published:
                    await uow.outbox.mark_all_published(
                        [message.id for message in published], self._clock.now()
                    )
                if failed:
                    await uow.outbox.mark_all_failed(
                        [message.id for message in failed], str(refusal)
                    )
                await uow.commit()
        if unexpected is not None:
            raise unexpected
        return RelaySummary(len(published), len(failed))
