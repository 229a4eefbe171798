"""`dbanalysis serve` started as a real process for the client tests (CLI and web page), and
tasks put straight into its database in states a fast engine never leaves them in."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from domain.task import Task, TaskError
from domain.workload import Workload
from tests.integration.conftest_kafka import free_port
from tests.integration.processes import started, wait_until_healthy

__all__ = ["EmbeddedService", "embedded_service"]


class EmbeddedService:
    def __init__(self, base_url: str, database_url: str) -> None:
        self.base_url = base_url
        self.database_url = database_url

    def put_task(self, workload: Workload, *, error: TaskError | None = None) -> uuid.UUID:
        """A task stored as the service stores one, never queued: `pending` (no worker will
        take it) or, with `error`, `failed` after one attempt."""

        async def put() -> uuid.UUID:
            now = datetime.now(UTC)
            task = Task.submit(workload, now)
            if error is not None:
                task.claim(now, timedelta(minutes=15))
                task.fail(error, now)
            engine = create_engine(self.database_url)
            try:
                factory = SqlAlchemyUnitOfWorkFactory(
                    engine, FernetCredentialsCipher.with_new_key()
                )
                async with factory() as uow:
                    await uow.tasks.add(task)
                    await uow.commit()
            finally:
                await engine.dispose()
            return task.id

        return asyncio.run(put())


@contextlib.contextmanager
def embedded_service(
    directory: Path, env: dict[str, str] | None = None
) -> Iterator[EmbeddedService]:
    """`dbanalysis serve` on a fresh SQLite database in `directory`, healthy; `env` adds to
    its environment."""
    database_url = f"sqlite+aiosqlite:///{directory}/var/dbanalysis.sqlite3"
    env = {
        "DBANALYSIS_DATABASE_URL": database_url,
        "DBANALYSIS_SECRET_KEY_FILE": str(directory / "var" / "secret.key"),
        **(env or {}),
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with started("serve", ["serve", "--port", str(port)], env, directory) as serve:
        wait_until_healthy(base_url, serve)
        yield EmbeddedService(base_url, database_url)
