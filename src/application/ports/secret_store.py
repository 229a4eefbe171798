"""Port: the JDBC credentials of a task, kept encrypted apart from it while it runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from domain.workload import Credentials

__all__ = ["SecretStore"]


class SecretStore(Protocol):
    """Keeps each task's credentials encrypted, in the unit of work's transaction, until the
    task ends; changes become durable only when the unit of work commits."""

    async def put(self, task_id: uuid.UUID, credentials: Credentials, created_at: datetime) -> None:
        """Stage the task's credentials, replacing any it had. The task must exist (staged in
        this unit of work or committed): there is no secret without its task."""
        ...

    async def get(self, task_id: uuid.UUID) -> Credentials | None:
        """The task's credentials, decrypted; None when it has none, or when they cannot be
        decrypted with the current key (the key changed): the task then runs without them."""
        ...

    async def delete(self, task_id: uuid.UUID) -> None:
        """Stage the removal of the task's credentials; nothing happens when it has none."""
        ...

    async def sweep(self, older_than: datetime) -> int:
        """Stage the removal of every secret created before `older_than`; how many there were."""
        ...
