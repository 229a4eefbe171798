"""The production processes: `dbanalysis api` and `dbanalysis worker`, each with its own
container, on PostgreSQL and Apache Kafka.

    api      HTTP + the outbox relay (publishes accepted tasks to Kafka after commit)
    worker   Kafka consumer → ProcessTask, plus stale-task recovery and its own relay

Both stop cleanly on SIGTERM: the API through uvicorn's lifespan; the worker finishes the
message in hand, commits it, leaves the group and closes its connections. Both refuse to start
without `DBANALYSIS_SECRET_KEY` (`entrypoints.secret_key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import start_http_server

from adapters.kafka import KafkaTaskConsumer, ensure_topics
from adapters.kafka.health import KafkaProbe
from application.use_cases.process_task import ProcessTaskRequest
from entrypoints.api.app import ApiDependencies, ApiOptions, create_app
from entrypoints.containers import ApiContainer, WorkerContainer
from entrypoints.logs import task_context
from entrypoints.metrics import CONSUMER_LAG
from entrypoints.resolve import resolve
from entrypoints.runners import OutboxRelayLoop, StaleTaskLoop
from entrypoints.secret_key import require_secret_key
from entrypoints.settings import Settings, service_version

__all__ = ["create_api_app", "run_worker"]

log = logging.getLogger(__name__)


def _background(
    *loops: tuple[str, OutboxRelayLoop | StaleTaskLoop],
) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop.run(), name=name) for name, loop in loops]


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def create_api_app(settings: Settings, container: ApiContainer | None = None) -> FastAPI:
    """Raises `SecretKeyError` at once without a valid secret key."""
    require_secret_key(settings)
    container = container or ApiContainer(settings=settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await resolve(container.init_resources())
        # Best effort: with the broker down the API still starts and accepts tasks.
        await ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_topic, settings.kafka_partitions
        )
        use_cases = container.use_cases
        relay = OutboxRelayLoop(
            await resolve(use_cases.relay()),
            settings.relay_interval_seconds,
            settings.relay_batch_size,
        )
        tasks = _background(("api-relay", relay))
        app.state.deps = ApiDependencies(
            submit=await resolve(use_cases.submit()),
            get_status=await resolve(use_cases.get_status()),
            get_result=await resolve(use_cases.get_result()),
            on_submitted=relay.wake,
            probes=(
                *await resolve(container.storage.probes()),
                KafkaProbe(settings.kafka_bootstrap_servers),
            ),
            count_tasks=(await resolve(use_cases.count_tasks())).execute,
        )
        try:
            yield
        finally:
            await _cancel(tasks)
            await resolve(container.shutdown_resources())

    return create_app(
        lifespan, version=service_version(), options=ApiOptions.from_settings(settings)
    )


LAG_INTERVAL_SECONDS = 5.0


async def _gauge_lag(consumer: KafkaTaskConsumer, interval: float = LAG_INTERVAL_SECONDS) -> None:
    """Keeps `dbanalysis_consumer_lag` current for the worker's /metrics."""
    while True:
        try:
            lag = await consumer.lag()
        except Exception as exc:  # the broker may be away; the next round tries again
            log.debug("consumer lag unknown: %s", type(exc).__name__)
        else:
            if lag is not None:
                CONSUMER_LAG.labels(consumer.topic).set(lag)
        await asyncio.sleep(interval)


class _Heartbeat:
    """Touches a file while the worker's loop is alive (a container healthcheck reads it)."""

    def __init__(self, path: str | None, interval: float = 10.0) -> None:
        self._path = Path(path) if path else None
        self._interval = interval

    async def run(self) -> None:
        if self._path is None:
            return
        while True:
            self._path.touch()
            await asyncio.sleep(self._interval)


async def run_worker(settings: Settings, container: WorkerContainer | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly. Raises `SecretKeyError` before
    anything starts without a valid secret key."""
    require_secret_key(settings)
    container = container or WorkerContainer(settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    if settings.worker_metrics_port is not None:
        # A thread of its own: the stage durations and LLM calls of this worker's analyses.
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    await resolve(container.init_resources())
    try:
        await ensure_topics(
            settings.kafka_bootstrap_servers, settings.kafka_topic, settings.kafka_partitions
        )
        use_cases = container.use_cases
        process = await resolve(use_cases.process())
        relay = OutboxRelayLoop(
            await resolve(use_cases.relay()),
            settings.relay_interval_seconds,
            settings.relay_batch_size,
        )
        stale = StaleTaskLoop(
            await resolve(use_cases.requeue()),
            settings.requeue_interval_seconds,
            relay,
            await resolve(use_cases.sweep_secrets()),
        )
        consumer = await resolve(container.consumer())

        async def handle(task_id: uuid.UUID) -> None:
            with task_context(task_id):
                outcome = await process.execute(ProcessTaskRequest(task_id))
                log.info("task %s: %s", task_id, outcome)

        tasks = _background(("worker-relay", relay), ("worker-stale", stale))
        heartbeat = asyncio.create_task(_Heartbeat(settings.worker_heartbeat_file).run())
        lag = asyncio.create_task(_gauge_lag(consumer), name="worker-lag")
        consuming = asyncio.create_task(consumer.run(handle), name="worker-consumer")
        log.info("worker consuming %s as group %s", settings.kafka_topic, settings.kafka_group)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({consuming, stopping}, return_when=asyncio.FIRST_COMPLETED)
        log.info("worker stopping")
        await consumer.stop()
        stopping.cancel()
        await _cancel([*tasks, heartbeat, lag])
        if consuming.done() and consuming.exception() is not None:
            raise consuming.exception()  # type: ignore[misc]
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await resolve(container.shutdown_resources())
        log.info("worker stopped")
