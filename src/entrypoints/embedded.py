"""The embedded default: API, worker and outbox relay in one process, on an in-process queue.

The queue lives in memory, so whatever it held is gone after a restart. The database is what
counts: on start, every task still pending is put back in the outbox, so nothing accepted is
lost across a restart. So does the secret key (`entrypoints.secret_key`): `dbanalysis serve` keeps
the one it made in `var/secret.key`, so the credentials of those tasks can still be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from adapters.sqlalchemy.migrate import upgrade
from application.use_cases.republish_pending_tasks import RepublishPendingTasks
from entrypoints.api.app import ApiDependencies, ApiOptions, create_app
from entrypoints.containers import EmbeddedContainer
from entrypoints.resolve import resolve
from entrypoints.runners import InProcessWorkerLoop, OutboxRelayLoop, StaleTaskLoop
from entrypoints.settings import Settings, service_version

__all__ = ["EmbeddedService", "create_embedded_app", "ensure_sqlite_directory"]

log = logging.getLogger(__name__)


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its directory (`var/` on a fresh clone)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


class EmbeddedService:
    """Starts and stops everything the embedded process runs, in order."""

    def __init__(self, container: EmbeddedContainer, *, migrate: bool = True) -> None:
        self.container = container
        self._migrate = migrate
        self._tasks: list[asyncio.Task[None]] = []
        self.relay_loop: OutboxRelayLoop | None = None

    async def start(self) -> ApiDependencies:
        settings: Settings = self.container.settings()
        if self._migrate:
            ensure_sqlite_directory(settings.database_url)
            await upgrade(settings.database_url)
        await resolve(self.container.init_resources())
        use_cases = self.container.use_cases
        relay = OutboxRelayLoop(
            await resolve(use_cases.relay()),
            settings.relay_interval_seconds,
            settings.relay_batch_size,
        )
        worker = InProcessWorkerLoop(
            await resolve(self.container.queue()),
            await resolve(use_cases.process()),
            settings.worker_concurrency,
        )
        stale = StaleTaskLoop(
            await resolve(use_cases.requeue()),
            settings.requeue_interval_seconds,
            relay,
            await resolve(use_cases.sweep_secrets()),
        )
        republished = await RepublishPendingTasks(
            await resolve(self.container.storage.uow_factory()),
            await resolve(self.container.core.clock()),
        ).execute()
        if republished:
            log.info("re-queued %d pending task(s) left from a previous run", republished)
        self.relay_loop = relay
        for name, loop in (("relay", relay), ("worker", worker), ("stale", stale)):
            self._tasks.append(asyncio.create_task(loop.run(), name=f"embedded-{name}"))
        relay.wake()
        return ApiDependencies(
            submit=await resolve(use_cases.submit()),
            get_status=await resolve(use_cases.get_status()),
            get_result=await resolve(use_cases.get_result()),
            on_submitted=relay.wake,
            probes=await resolve(self.container.storage.probes()),
            count_tasks=(await resolve(use_cases.count_tasks())).execute,
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await resolve(self.container.shutdown_resources())


def create_embedded_app(
    settings: Settings, container: EmbeddedContainer | None = None, *, migrate: bool = True
) -> FastAPI:
    """The FastAPI app of `dbanalysis serve`, whose lifespan runs the worker and the relay.

    Database storage needs `settings.secret_key` (`with_embedded_secret_key` gives one)."""
    service = EmbeddedService(container or EmbeddedContainer(settings=settings), migrate=migrate)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.deps = await service.start()
        app.state.service = service
        try:
            yield
        finally:
            await service.stop()

    return create_app(
        lifespan, version=service_version(), options=ApiOptions.from_settings(settings)
    )
