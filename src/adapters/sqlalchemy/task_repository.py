"""SQLAlchemy `TaskRepository` over the `tasks` table (PostgreSQL or SQLite)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update

from adapters.sqlalchemy.mapping import (
    TASK_IMMUTABLE_COLUMNS,
    TASK_SUMMARY_COLUMNS,
    summary_from_values,
    task_from_row,
    task_from_values,
    task_to_row,
)
from adapters.sqlalchemy.tables import tasks
from adapters.sqlalchemy.transaction import SqlAlchemyTransaction
from application.ports.task_repository import TaskRepository, TaskSummary
from domain.task import Task, TaskStatus

__all__ = ["SqlAlchemyTaskRepository"]

# Built once, the values given at execution: a statement built with `.values(row)` for each
# call spent more CPU on coercing the values and keying the statement cache than the database
# spent on the row (bench/api_load.py).
_ADD = insert(tasks)
_SAVE = update(tasks).where(tasks.c.id == bindparam("saved_id"))
_GET = select(tasks).where(tasks.c.id == bindparam("task_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_SUMMARY = select(*(tasks.c[name] for name in TASK_SUMMARY_COLUMNS)).where(
    tasks.c.id == bindparam("task_id")
)


class SqlAlchemyTaskRepository(TaskRepository):
    """Reads and writes tasks inside the unit of work's transaction.

    Locking: `get(for_update=True)` is `SELECT … FOR UPDATE` on PostgreSQL; `expired_leases`
    adds `SKIP LOCKED`, so two recoverers never take the same task. On SQLite both begin the
    transaction with `BEGIN IMMEDIATE`, which serializes writers instead.
    """

    def __init__(self, transaction: SqlAlchemyTransaction) -> None:
        self._transaction = transaction

    async def add(self, task: Task) -> None:
        statements = self._transaction.statements
        if statements is not None:
            add = statements.add_task
            await self._transaction.execute(add.sql, add.arguments(task_to_row(task)))
            return
        connection = await self._transaction.connection(write=True)
        await connection.execute(_ADD, task_to_row(task))

    async def get(self, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
        statements = self._transaction.statements
        if statements is not None and not for_update:
            get = statements.get_task
            record = await self._transaction.fetchrow(get.sql, [task_id])
            if record is None:
                return None
            return task_from_values(get.values(record, statements.dialect))
        connection = await self._transaction.connection(write=for_update)
        row = (
            await connection.execute(_GET_FOR_UPDATE if for_update else _GET, {"task_id": task_id})
        ).one_or_none()
        return task_from_row(row) if row is not None else None

    async def summary(self, task_id: uuid.UUID) -> TaskSummary | None:
        statements = self._transaction.statements
        if statements is not None:
            get = statements.get_summary
            record = await self._transaction.fetchrow(get.sql, [task_id])
            if record is None:
                return None
            return summary_from_values(get.values(record, statements.dialect))
        connection = await self._transaction.connection(write=False)
        row = (await connection.execute(_SUMMARY, {"task_id": task_id})).one_or_none()
        return summary_from_values(row._mapping) if row is not None else None

    async def save(self, task: Task) -> None:
        connection = await self._transaction.connection(write=True)
        changes = {
            column: value
            for column, value in task_to_row(task).items()
            if column not in TASK_IMMUTABLE_COLUMNS
        }
        result = await connection.execute(_SAVE, {"saved_id": task.id, **changes})
        if result.rowcount == 0:
            raise LookupError(f"task {task.id} does not exist; add it first")

    async def pending_ids(self) -> list[uuid.UUID]:
        # Counted as a write: whoever lists pending tasks writes outbox messages for them next,
        # and on SQLite a read transaction that turns into a write can fail on a busy database.
        connection = await self._transaction.connection(write=True)
        statement = (
            select(tasks.c.id)
            .where(tasks.c.status == TaskStatus.PENDING.value)
            .order_by(tasks.c.created_at, tasks.c.id)
        )
        return list((await connection.execute(statement)).scalars())

    async def expired_leases(self, now: datetime, limit: int) -> list[Task]:
        """Locks the tasks it returns and skips those another unit of work holds."""
        connection = await self._transaction.connection(write=True)
        statement = (
            select(tasks)
            .where(
                tasks.c.status == TaskStatus.PROCESSING.value,
                tasks.c.lease_expires_at <= now,
            )
            .order_by(tasks.c.lease_expires_at, tasks.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [task_from_row(row) for row in await connection.execute(statement)]

    async def count_by_status(self) -> dict[TaskStatus, int]:
        connection = await self._transaction.connection(write=False)
        statement = select(tasks.c.status, func.count()).group_by(tasks.c.status)
        return {TaskStatus(status): count for status, count in await connection.execute(statement)}
