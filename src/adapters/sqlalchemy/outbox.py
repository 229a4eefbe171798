"""SQLAlchemy `Outbox` over the `outbox` table (PostgreSQL or SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.exc import StatementError

from adapters.sqlalchemy.mapping import message_from_row, message_from_values, message_to_row
from adapters.sqlalchemy.tables import UtcDateTime, outbox
from adapters.sqlalchemy.transaction import SqlAlchemyTransaction
from application.ports.outbox import Outbox, OutboxMessage

__all__ = ["SqlAlchemyOutbox"]

# Built once, the row given at execution (see `task_repository`).
_ADD = insert(outbox)


class SqlAlchemyOutbox(Outbox):
    """Outbox rows in the unit of work's transaction, oldest first.

    `unpublished` locks what it returns with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
    relays publish disjoint batches; on SQLite the relay's transaction takes the write lock.
    """

    def __init__(self, transaction: SqlAlchemyTransaction) -> None:
        self._transaction = transaction

    async def add(self, message: OutboxMessage) -> None:
        statements = self._transaction.statements
        if statements is not None:
            add = statements.add_message
            await self._transaction.execute(add.sql, add.arguments(message_to_row(message)))
            return
        connection = await self._transaction.connection(write=True)
        await connection.execute(_ADD, message_to_row(message))

    async def unpublished(self, limit: int) -> list[OutboxMessage]:
        statements = self._transaction.statements
        if statements is not None:
            select_ = statements.unpublished
            records = await self._transaction.fetch_locked(select_.sql, [limit])
            return [
                message_from_values(select_.values(record, statements.dialect))
                for record in records
            ]
        connection = await self._transaction.connection(write=True)
        statement = (
            select(outbox)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.created_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [message_from_row(row) for row in await connection.execute(statement)]

    async def mark_published(self, message_id: uuid.UUID, now: datetime) -> None:
        # A message published twice keeps the first time.
        published_at = func.coalesce(outbox.c.published_at, literal(now, UtcDateTime()))
        await self._update(message_id, published_at=published_at)

    async def mark_all_published(self, message_ids: Sequence[uuid.UUID], now: datetime) -> None:
        ids = set(message_ids)
        if not ids:
            return
        statements = self._transaction.statements
        if statements is not None:
            try:
                at = statements.utc.process_bind_param(now, statements.dialect)
            except ValueError as exc:
                raise StatementError(str(exc), statements.mark_published, None, exc) from exc
            status = await self._transaction.execute(statements.mark_published, [at, list(ids)])
            marked = int(status.rsplit(" ", 1)[-1])
            if marked != len(ids):
                raise LookupError(f"{len(ids) - marked} of the outbox messages do not exist")
            return
        connection = await self._transaction.connection(write=True)
        published_at = func.coalesce(outbox.c.published_at, literal(now, UtcDateTime()))
        result = await connection.execute(
            update(outbox).where(outbox.c.id.in_(ids)).values(published_at=published_at)
        )
        if result.rowcount != len(ids):
            raise LookupError(f"{len(ids) - result.rowcount} of the outbox messages do not exist")

    async def mark_failed(self, message_id: uuid.UUID, error: str) -> None:
        await self._update(message_id, attempts=outbox.c.attempts + 1, last_error=error)

    async def mark_all_failed(self, message_ids: Sequence[uuid.UUID], error: str) -> None:
        ids = set(message_ids)
        if not ids:
            return
        connection = await self._transaction.connection(write=True)
        result = await connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(attempts=outbox.c.attempts + 1, last_error=error)
        )
        if result.rowcount != len(ids):
            raise LookupError(f"{len(ids) - result.rowcount} of the outbox messages do not exist")

    async def _update(self, message_id: uuid.UUID, **values: object) -> None:
        connection = await self._transaction.connection(write=True)
        result = await connection.execute(
            update(outbox).where(outbox.c.id == message_id).values(values)
        )
        if result.rowcount == 0:
            raise LookupError(f"outbox message {message_id} does not exist")
