"""The committed state of the in-memory adapters, and one unit of work's view of it.

`InMemoryStore` plays the database: it holds snapshots (deep copies) of what was committed, so a
task loaded, changed and never saved leaves the store untouched. `InMemoryTransaction` plays one
transaction: it stages writes, reads its own writes first, and holds row locks the way
`SELECT … FOR UPDATE` does on PostgreSQL — another unit of work asking for the same row waits
until the holder commits or rolls back. Secrets are kept as the database keeps them: ciphertext.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from application.ports.outbox import OutboxMessage
from domain.task import Task

__all__ = ["InMemoryStore", "InMemoryTransaction", "OutboxRecord", "SecretRecord"]

RowKind = Literal["task", "message", "secret"]
RowKey = tuple[RowKind, uuid.UUID]


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """An outbox row: the message and when it was published (None while it waits)."""

    message: OutboxMessage
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """A task's credentials as stored: encrypted, with when they were stored."""

    ciphertext: bytes
    created_at: datetime


def snapshot(task: Task) -> Task:
    """A detached copy of a task, without its pending events (a database does not keep them)."""
    return copy.deepcopy(dataclasses.replace(task, events=[]))


class InMemoryStore:
    """What was committed, shared by every unit of work made by one factory."""

    def __init__(self) -> None:
        self.tasks: dict[uuid.UUID, Task] = {}
        self.outbox: dict[uuid.UUID, OutboxRecord] = {}
        self.secrets: dict[uuid.UUID, SecretRecord] = {}
        self.commit_lock = asyncio.Lock()
        self._row_owners: dict[RowKey, object] = {}
        self._row_released = asyncio.Condition()

    async def lock_row(self, key: RowKey, owner: object) -> None:
        """Wait until no other owner holds the row, then hold it."""
        async with self._row_released:
            await self._row_released.wait_for(lambda: self._row_owners.get(key, owner) is owner)
            self._row_owners[key] = owner

    def try_lock_row(self, key: RowKey, owner: object) -> bool:
        """Hold the row if it is free (or already ours); never wait (`SKIP LOCKED`)."""
        if self._row_owners.get(key, owner) is not owner:
            return False
        self._row_owners[key] = owner
        return True

    async def unlock_rows(self, owner: object) -> None:
        async with self._row_released:
            for key in [key for key, holder in self._row_owners.items() if holder is owner]:
                del self._row_owners[key]
            self._row_released.notify_all()


class InMemoryTransaction:
    """One unit of work's staged changes and row locks over an `InMemoryStore`."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._active = False
        self._tasks: dict[uuid.UUID, Task] = {}
        self._new_tasks: set[uuid.UUID] = set()
        self._messages: dict[uuid.UUID, OutboxRecord] = {}
        self._new_messages: set[uuid.UUID] = set()
        self._secrets: dict[uuid.UUID, SecretRecord | None] = {}  # None: deleted

    # life cycle -------------------------------------------------------------------------------

    def begin(self) -> None:
        if self._active:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._active = True

    def require_active(self) -> None:
        if not self._active:
            raise RuntimeError("use the unit of work inside `async with`")

    async def commit(self) -> None:
        self.require_active()
        store = self._store
        async with store.commit_lock:
            # Checked again under the lock: another unit of work may have committed the same id
            # since `add` (a primary key violation, on a database).
            for task_id in self._new_tasks:
                if task_id in store.tasks:
                    raise ValueError(f"task {task_id} already exists")
            for message_id in self._new_messages:
                if message_id in store.outbox:
                    raise ValueError(f"outbox message {message_id} already exists")
            store.tasks.update(self._tasks)
            store.outbox.update(self._messages)
            for task_id, secret in self._secrets.items():
                if secret is None:
                    store.secrets.pop(task_id, None)
                else:
                    store.secrets[task_id] = secret
        self._clear()
        await store.unlock_rows(self)

    async def end(self) -> None:
        """Drop whatever was not committed and release the locks."""
        self._clear()
        await self._store.unlock_rows(self)

    async def close(self) -> None:
        await self.end()
        self._active = False

    def _clear(self) -> None:
        self._tasks.clear()
        self._new_tasks.clear()
        self._messages.clear()
        self._new_messages.clear()
        self._secrets.clear()

    # rows -------------------------------------------------------------------------------------

    async def lock(self, kind: RowKind, row_id: uuid.UUID) -> None:
        await self._store.lock_row((kind, row_id), self)

    def task(self, task_id: uuid.UUID) -> Task | None:
        """The task as this unit of work sees it (its own staged version first)."""
        self.require_active()
        if task_id in self._tasks:
            return self._tasks[task_id]
        return self._store.tasks.get(task_id)

    def stage_task(self, task: Task, *, new: bool) -> None:
        self.require_active()
        self._tasks[task.id] = snapshot(task)
        if new:
            self._new_tasks.add(task.id)

    def message(self, message_id: uuid.UUID) -> OutboxRecord | None:
        self.require_active()
        if message_id in self._messages:
            return self._messages[message_id]
        return self._store.outbox.get(message_id)

    def stage_message(self, record: OutboxRecord, *, new: bool) -> None:
        self.require_active()
        self._messages[record.message.id] = record
        if new:
            self._new_messages.add(record.message.id)

    def secret(self, task_id: uuid.UUID) -> SecretRecord | None:
        self.require_active()
        if task_id in self._secrets:
            return self._secrets[task_id]
        return self._store.secrets.get(task_id)

    def stage_secret(self, task_id: uuid.UUID, secret: SecretRecord | None) -> None:
        """Stage the task's secret, or its removal (None)."""
        self.require_active()
        self._secrets[task_id] = secret

    def visible_secrets(self) -> dict[uuid.UUID, SecretRecord]:
        self.require_active()
        merged = {**self._store.secrets, **self._secrets}
        return {task_id: secret for task_id, secret in merged.items() if secret is not None}

    def visible_tasks(self) -> list[Task]:
        self.require_active()
        return list({**self._store.tasks, **self._tasks}.values())

    def visible_messages(self) -> list[OutboxRecord]:
        self.require_active()
        return list({**self._store.outbox, **self._messages}.values())

    def claim_free(
        self, kind: RowKind, candidates: Iterable[uuid.UUID], limit: int
    ) -> list[uuid.UUID]:
        """Lock up to `limit` of the candidates no other unit of work holds, in order."""
        claimed: list[uuid.UUID] = []
        for row_id in candidates:
            if len(claimed) >= limit:
                break
            if self._store.try_lock_row((kind, row_id), self):
                claimed.append(row_id)
        return claimed
