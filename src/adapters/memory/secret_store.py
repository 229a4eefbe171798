"""In-memory `SecretStore`: credentials encrypted, kept in an `InMemoryStore` like a table."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from adapters.fernet import FernetCredentialsCipher, UnreadableSecret
from adapters.memory.store import InMemoryTransaction, SecretRecord
from application.ports.secret_store import SecretStore
from domain.workload import Credentials

__all__ = ["InMemorySecretStore"]

log = logging.getLogger(__name__)


class InMemorySecretStore(SecretStore):
    """Encrypts on the way in, as the SQLAlchemy store does, so that both behave alike: the
    store holds ciphertext only, and another key cannot read it back."""

    def __init__(self, transaction: InMemoryTransaction, cipher: FernetCredentialsCipher) -> None:
        self._transaction = transaction
        self._cipher = cipher

    async def put(self, task_id: uuid.UUID, credentials: Credentials, created_at: datetime) -> None:
        self._transaction.require_active()
        await self._transaction.lock("secret", task_id)
        # The foreign key of the database's table: no secret without its task.
        if self._transaction.task(task_id) is None:
            raise LookupError(f"task {task_id} does not exist; add it first")
        record = SecretRecord(self._cipher.encrypt(credentials), created_at)
        self._transaction.stage_secret(task_id, record)

    async def get(self, task_id: uuid.UUID) -> Credentials | None:
        record = self._transaction.secret(task_id)
        if record is None:
            return None
        try:
            return self._cipher.decrypt(record.ciphertext)
        except UnreadableSecret:
            log.warning("task %s: its credentials cannot be decrypted with this key", task_id)
            return None

    async def delete(self, task_id: uuid.UUID) -> None:
        self._transaction.require_active()
        await self._transaction.lock("secret", task_id)
        self._transaction.stage_secret(task_id, None)

    async def sweep(self, older_than: datetime) -> int:
        """Skips the secrets another unit of work holds (it is storing or deleting them)."""
        expired = [
            task_id
            for task_id, record in self._transaction.visible_secrets().items()
            if record.created_at < older_than
        ]
        claimed = self._transaction.claim_free("secret", expired, len(expired))
        for task_id in claimed:
            self._transaction.stage_secret(task_id, None)
        return len(claimed)
