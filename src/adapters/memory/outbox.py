"""In-memory `Outbox`: messages staged with the task and kept in an `InMemoryStore`."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime

from adapters.memory.store import InMemoryTransaction, OutboxRecord
from application.ports.outbox import Outbox, OutboxMessage

__all__ = ["InMemoryOutbox", "stage_new_message"]


async def stage_new_message(transaction: InMemoryTransaction, message: OutboxMessage) -> None:
    transaction.require_active()
    await transaction.lock("message", message.id)
    if transaction.message(message.id) is not None:
        raise ValueError(f"outbox message {message.id} already exists")
    transaction.stage_message(OutboxRecord(message), new=True)


class InMemoryOutbox(Outbox):
    """Outbox rows in the unit of work's transaction, published in the order they were made."""

    def __init__(self, transaction: InMemoryTransaction) -> None:
        self._transaction = transaction

    async def add(self, message: OutboxMessage) -> None:
        await stage_new_message(self._transaction, message)

    async def unpublished(self, limit: int) -> list[OutboxMessage]:
        """Locks the messages it returns and skips those another unit of work holds."""
        waiting = sorted(
            (r.message for r in self._transaction.visible_messages() if r.published_at is None),
            key=lambda message: (message.created_at, message.id),
        )
        claimed = set(self._transaction.claim_free("message", (m.id for m in waiting), limit))
        return [message for message in waiting if message.id in claimed]

    async def mark_published(self, message_id: uuid.UUID, now: datetime) -> None:
        record = await self._locked(message_id)
        if record.published_at is None:
            self._transaction.stage_message(
                dataclasses.replace(record, published_at=now), new=False
            )

    async def mark_all_published(self, message_ids: Sequence[uuid.UUID], now: datetime) -> None:
        for message_id in message_ids:
            await self.mark_published(message_id, now)

    async def mark_failed(self, message_id: uuid.UUID, error: str) -> None:
        record = await self._locked(message_id)
        message = dataclasses.replace(
            record.message, attempts=record.message.attempts + 1, last_error=error
        )
        self._transaction.stage_message(dataclasses.replace(record, message=message), new=False)

    async def mark_all_failed(self, message_ids: Sequence[uuid.UUID], error: str) -> None:
        for message_id in dict.fromkeys(message_ids):
            await self.mark_failed(message_id, error)

    async def _locked(self, message_id: uuid.UUID) -> OutboxRecord:
        self._transaction.require_active()
        await self._transaction.lock("message", message_id)
        record = self._transaction.message(message_id)
        if record is None:
            raise LookupError(f"outbox message {message_id} does not exist")
        return record
