"""SQLAlchemy `UnitOfWork` and its factory: one connection and transaction per `async with`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy.outbox import SqlAlchemyOutbox
from adapters.sqlalchemy.secret_store import SqlAlchemySecretStore
from adapters.sqlalchemy.task_repository import SqlAlchemyTaskRepository
from adapters.sqlalchemy.transaction import DriverStatements, SqlAlchemyTransaction
from application.ports.outbox import Outbox
from application.ports.secret_store import SecretStore
from application.ports.task_repository import TaskRepository
from application.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["SqlAlchemyUnitOfWork", "SqlAlchemyUnitOfWorkFactory"]


class SqlAlchemyUnitOfWork(UnitOfWork):
    """Tasks, outbox messages and secrets changed in one database transaction, kept only on
    `commit()`."""

    tasks: TaskRepository
    outbox: Outbox
    secrets: SecretStore

    def __init__(
        self,
        engine: AsyncEngine,
        cipher: FernetCredentialsCipher,
        statements: DriverStatements | None = None,
    ) -> None:
        # `statements`: those of `DriverStatements.for_engine(engine)`, made once by the factory.
        self._transaction = SqlAlchemyTransaction(engine, statements)
        self.tasks = SqlAlchemyTaskRepository(self._transaction)
        self.outbox = SqlAlchemyOutbox(self._transaction)
        self.secrets = SqlAlchemySecretStore(self._transaction, cipher)

    async def __aenter__(self) -> Self:
        await self._transaction.open()
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
        await self._transaction.rollback()


class SqlAlchemyUnitOfWorkFactory(UnitOfWorkFactory):
    """Makes units of work on one engine (the engine's owner disposes of it), encrypting the
    secrets with `cipher`, whose key must outlive the process: the secrets do."""

    def __init__(self, engine: AsyncEngine, cipher: FernetCredentialsCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self._statements = DriverStatements.for_engine(engine)

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.cipher, self._statements)
