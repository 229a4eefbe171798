"""Port: the transactional outbox — messages stored with the change that causes them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["Outbox", "OutboxMessage"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A task id waiting to be published to the task queue."""

    id: uuid.UUID
    task_id: uuid.UUID
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None


class Outbox(Protocol):
    """Messages written in the same transaction as the task, published after commit."""

    async def add(self, message: OutboxMessage) -> None:
        """Stage a message."""
        ...

    async def unpublished(self, limit: int) -> list[OutboxMessage]:
        """The oldest messages not yet published."""
        ...

    async def mark_published(self, message_id: uuid.UUID, now: datetime) -> None:
        """The message reached the queue; it will not be returned by `unpublished` again."""
        ...

    async def mark_all_published(self, message_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """`mark_published` for each of `message_ids`, at once; all must exist."""
        ...

    async def mark_failed(self, message_id: uuid.UUID, error: str) -> None:
        """Publishing failed; count the attempt and keep the message for the next round."""
        ...

    async def mark_all_failed(self, message_ids: Sequence[uuid.UUID], error: str) -> None:
        """`mark_failed` for each of `message_ids`, at once; all must exist."""
        ...
