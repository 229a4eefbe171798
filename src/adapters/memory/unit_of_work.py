"""In-memory `UnitOfWork` and its factory: the fakes the use case tests and the embedded
default run on. They keep the ports' promises: nothing is visible to another unit of work before
`commit()`, leaving `async with` without it rolls back, and `get(for_update=True)` makes a second
claimant wait."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.fernet import FernetCredentialsCipher
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.secret_store import InMemorySecretStore
from adapters.memory.store import InMemoryStore, InMemoryTransaction
from adapters.memory.task_repository import InMemoryTaskRepository
from application.ports.outbox import Outbox, OutboxMessage
from application.ports.secret_store import SecretStore
from application.ports.task_repository import TaskRepository
from application.ports.unit_of_work import (
    UnitOfWork,
    UnitOfWorkFactory,
    add_task_and_commit_in_turn,
)
from domain.task import Task
from domain.workload import Credentials

__all__ = ["InMemoryUnitOfWork", "InMemoryUnitOfWorkFactory"]


class InMemoryUnitOfWork(UnitOfWork):
    """One transaction over an `InMemoryStore`. Use it once, in one `async with`."""

    tasks: TaskRepository
    outbox: Outbox
    secrets: SecretStore

    def __init__(self, store: InMemoryStore, cipher: FernetCredentialsCipher) -> None:
        self._transaction = InMemoryTransaction(store)
        self.tasks = InMemoryTaskRepository(self._transaction)
        self.outbox = InMemoryOutbox(self._transaction)
        self.secrets = InMemorySecretStore(self._transaction, cipher)

    async def __aenter__(self) -> Self:
        self._transaction.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transaction.close()

    async def commit(self) -> None:
        await self._transaction.commit()

    async def rollback(self) -> None:
        self._transaction.require_active()
        await self._transaction.end()

    async def add_task_and_commit(
        self, task: Task, message: OutboxMessage, credentials: Credentials | None = None
    ) -> None:
        await add_task_and_commit_in_turn(self, task, message, credentials)


class InMemoryUnitOfWorkFactory(UnitOfWorkFactory):
    """Makes units of work that share one store (pass `store` to share it between factories,
    and the same `cipher` to read each other's secrets). Without a cipher the factory makes one
    with a key of its own: nothing it stores outlives the process anyway."""

    def __init__(
        self, store: InMemoryStore | None = None, cipher: FernetCredentialsCipher | None = None
    ) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.cipher = cipher if cipher is not None else FernetCredentialsCipher.with_new_key()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, self.cipher)
