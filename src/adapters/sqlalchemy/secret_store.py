"""SQLAlchemy `SecretStore` over the `task_secrets` table (PostgreSQL or SQLite)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from adapters.fernet import FernetCredentialsCipher, UnreadableSecret
from adapters.sqlalchemy.tables import task_secrets
from adapters.sqlalchemy.transaction import SqlAlchemyTransaction
from application.ports.secret_store import SecretStore
from domain.workload import Credentials

__all__ = ["SqlAlchemySecretStore", "secret_to_row"]

log = logging.getLogger(__name__)


def secret_to_row(
    cipher: FernetCredentialsCipher,
    task_id: uuid.UUID,
    credentials: Credentials,
    created_at: datetime,
) -> dict[str, Any]:
    """The `task_secrets` row of a task's credentials: encrypted."""
    return {
        "task_id": task_id,
        "ciphertext": cipher.encrypt(credentials),
        "created_at": created_at,
    }


class SqlAlchemySecretStore(SecretStore):
    """Encrypted credentials in the unit of work's transaction: the row holds the ciphertext
    only, and its foreign key ties it to its task (no secret without a task)."""

    def __init__(self, transaction: SqlAlchemyTransaction, cipher: FernetCredentialsCipher) -> None:
        self._transaction = transaction
        self._cipher = cipher

    async def put(self, task_id: uuid.UUID, credentials: Credentials, created_at: datetime) -> None:
        connection = await self._transaction.connection(write=True)
        # Delete, then insert: a replacement that needs no dialect's upsert.
        await connection.execute(delete(task_secrets).where(task_secrets.c.task_id == task_id))
        row = secret_to_row(self._cipher, task_id, credentials, created_at)
        await connection.execute(insert(task_secrets).values(row))

    async def get(self, task_id: uuid.UUID) -> Credentials | None:
        connection = await self._transaction.connection(write=False)
        statement = select(task_secrets.c.ciphertext).where(task_secrets.c.task_id == task_id)
        ciphertext = (await connection.execute(statement)).scalar_one_or_none()
        if ciphertext is None:
            return None
        try:
            return self._cipher.decrypt(ciphertext)
        except UnreadableSecret:
            log.warning("task %s: its credentials cannot be decrypted with this key", task_id)
            return None

    async def delete(self, task_id: uuid.UUID) -> None:
        connection = await self._transaction.connection(write=True)
        await connection.execute(delete(task_secrets).where(task_secrets.c.task_id == task_id))

    async def sweep(self, older_than: datetime) -> int:
        connection = await self._transaction.connection(write=True)
        result = await connection.execute(
            delete(task_secrets).where(task_secrets.c.created_at < older_than)
        )
        return result.rowcount
