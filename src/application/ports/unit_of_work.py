"""Port: one atomic change across the task repository, the outbox and the secret store."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from application.ports.outbox import Outbox, OutboxMessage
from application.ports.secret_store import SecretStore
from application.ports.task_repository import TaskRepository
from domain.task import Task
from domain.workload import Credentials

__all__ = ["UnitOfWork", "UnitOfWorkFactory", "add_task_and_commit_in_turn"]


class UnitOfWork(Protocol):
    """Everything staged inside `async with uow:` is kept only if `commit()` was called."""

    tasks: TaskRepository
    outbox: Outbox
    secrets: SecretStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make the staged changes durable."""
        ...

    async def rollback(self) -> None:
        """Drop the staged changes."""
        ...

    async def add_task_and_commit(
        self, task: Task, message: OutboxMessage, credentials: Credentials | None = None
    ) -> None:
        """Add a new task, the outbox message that announces it and, when given, its
        credentials (stored as of the task's `created_at`), and commit: what `tasks.add`,
        `outbox.add`, `secrets.put` and `commit()` do in turn (`add_task_and_commit_in_turn`),
        in one call, which a storage may make one statement. It raises what those would (a
        task or message id already stored…), and then commits nothing; once it returns, the
        task is durable."""
        ...


async def add_task_and_commit_in_turn(
    uow: UnitOfWork, task: Task, message: OutboxMessage, credentials: Credentials | None = None
) -> None:
    """`UnitOfWork.add_task_and_commit` as the unit of work's other calls make it."""
    await uow.tasks.add(task)
    await uow.outbox.add(message)
    if credentials is not None:
        await uow.secrets.put(task.id, credentials, task.created_at)
    await uow.commit()


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per operation."""

    def __call__(self) -> UnitOfWork: ...
