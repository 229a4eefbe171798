"""SQLAlchemy `UnitOfWork` and its factory: one connection and transaction per `async with`."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy.group_commit import Submission, SubmissionWriter
from adapters.sqlalchemy.mapping import message_to_row, task_to_row
from adapters.sqlalchemy.outbox import SqlAlchemyOutbox
from adapters.sqlalchemy.secret_store import SqlAlchemySecretStore, secret_to_row
from adapters.sqlalchemy.task_repository import SqlAlchemyTaskRepository
from adapters.sqlalchemy.transaction import DriverStatements, SqlAlchemyTransaction
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
        submissions: SubmissionWriter | None = None,
    ) -> None:
        # `statements`: those of `DriverStatements.for_engine(engine)`, made once by the factory;
        # `submissions`: the group commit of its engine's submissions (SQLite), likewise.
        self._transaction = SqlAlchemyTransaction(engine, statements)
        self._submissions = submissions
        self._cipher = cipher
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

    async def add_task_and_commit(
        self, task: Task, message: OutboxMessage, credentials: Credentials | None = None
    ) -> None:
        """Outside a transaction: on PostgreSQL one statement in autocommit mode, one round
        trip where `BEGIN`, the inserts and `COMMIT` took three; on SQLite, with the other
        submissions of the moment in one transaction (`group_commit`). Inside one, the calls
        in turn."""
        transaction, statements = self._transaction, self._transaction.statements
        if transaction.in_transaction or (statements is None and self._submissions is None):
            await add_task_and_commit_in_turn(self, task, message, credentials)
            return
        task_row, message_row = task_to_row(task), message_to_row(message)
        secret = None
        if credentials is not None:
            secret = secret_to_row(self._cipher, task.id, credentials, task.created_at)
        if statements is None:
            assert self._submissions is not None
            await self._submissions.write(Submission(task_row, message_row, secret))
            return
        rows = [task_row, message_row]
        if secret is None:
            insert = statements.add_submission
        else:
            insert = statements.add_submission_with_secret
            rows.append(secret)
        await transaction.execute_alone(insert.sql, insert.arguments(*rows))


class SqlAlchemyUnitOfWorkFactory(UnitOfWorkFactory):
    """Makes units of work on one engine (the engine's owner disposes of it), encrypting the
    secrets with `cipher`, whose key must outlive the process: the secrets do."""

    def __init__(self, engine: AsyncEngine, cipher: FernetCredentialsCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self._statements = DriverStatements.for_engine(engine)
        self._submissions = SubmissionWriter(engine) if engine.dialect.name == "sqlite" else None

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, self.cipher, self._statements, self._submissions)
