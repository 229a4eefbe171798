"""Background loops of a process: the outbox relay, the in-process worker, stale-task recovery
(with the sweep of expired secrets).

Each loop survives the failure of one round (it logs and carries on), and stops when its
asyncio task is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from adapters.memory.queue import InProcessTaskQueue
from application.use_cases.process_task import ProcessTask, ProcessTaskRequest
from application.use_cases.relay_outbox import DEFAULT_BATCH_SIZE, RelayOutbox, RelayOutboxRequest
from application.use_cases.requeue_stale_tasks import RequeueStaleTasks, RequeueStaleTasksRequest
from application.use_cases.sweep_expired_secrets import SweepExpiredSecrets
from entrypoints.logs import task_context

__all__ = ["InProcessWorkerLoop", "OutboxRelayLoop", "StaleTaskLoop"]

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


class OutboxRelayLoop:
    """Publishes the outbox as soon as it is woken (after a submit) or every `interval`.

    While the queue is down the wait doubles, up to `MAX_BACKOFF_SECONDS`, so a broker outage
    costs a few log lines a minute rather than a busy loop.
    """

    def __init__(
        self, relay: RelayOutbox, interval: float, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self._relay = relay
        self._interval = interval
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        delay = self._interval
        while True:
            try:
                summary = await self._relay.execute(RelayOutboxRequest(self._batch_size))
            except Exception:
                log.exception("outbox relay round failed")
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            else:
                if summary.queue_down:
                    delay = min(delay * 2, MAX_BACKOFF_SECONDS)
                else:
                    delay = self._interval
                    if summary.published == self._batch_size:
                        continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()


class InProcessWorkerLoop:
    """Takes task ids from the in-process queue and processes up to `concurrency` at a time.

    Cancelled, it cancels the tasks in hand (each is handed back, see `ProcessTask`) and
    returns once they are."""

    def __init__(self, queue: InProcessTaskQueue, process: ProcessTask, concurrency: int = 1):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._queue = queue
        self._process = process
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._slots.acquire()
                try:
                    task_id = await self._queue.get()
                except BaseException:
                    self._slots.release()
                    raise
                one = asyncio.create_task(self._one(task_id), name=f"task-{task_id}")
                running.add(one)
                one.add_done_callback(running.discard)
        finally:
            for one in running:
                one.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _one(self, task_id: uuid.UUID) -> None:
        try:
            with task_context(task_id):
                outcome = await self._process.execute(ProcessTaskRequest(task_id))
                log.info("task %s: %s", task_id, outcome)
        except Exception:
            # Storage failed mid-way: the task stays pending or processing and is picked up
            # again by the stale-task recovery; nothing is lost.
            log.exception("task %s: processing failed", task_id, extra={"task_id": task_id})
        finally:
            self._queue.task_done()
            self._slots.release()


class StaleTaskLoop:
    """Every `interval`, hands tasks abandoned by a dead worker back to the queue, and deletes
    the secrets kept past their time."""

    def __init__(
        self,
        requeue: RequeueStaleTasks,
        interval: float,
        relay: OutboxRelayLoop,
        sweep: SweepExpiredSecrets,
    ) -> None:
        self._requeue = requeue
        self._interval = interval
        self._relay = relay
        self._sweep = sweep

    async def run(self) -> None:
        while True:
            try:
                summary = await self._requeue.execute(RequeueStaleTasksRequest())
                if summary.released:
                    self._relay.wake()
            except Exception:
                log.exception("stale task recovery failed")
            try:
                await self._sweep.execute()
            except Exception:
                log.exception("sweeping expired secrets failed")
            await asyncio.sleep(self._interval)
