"""Port: one atomic change across the task repository, the outbox and the secret store."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from application.ports.outbox import Outbox
from application.ports.secret_store import SecretStore
from application.ports.task_repository import TaskRepository

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


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


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per operation."""

    def __call__(self) -> UnitOfWork: ...
