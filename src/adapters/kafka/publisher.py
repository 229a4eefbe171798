"""`KafkaTaskPublisher`: the `TaskPublisher` port on Apache Kafka.

The API must start and take tasks while Kafka is down (the outbox keeps them), so nothing here
touches the broker before the first publish: the producer is created lazily, every broker call is
bounded by a timeout, and every failure becomes `TaskQueueUnavailable`. After a failure the
producer is thrown away and the next publish starts a fresh one, so a publisher outlives any
number of broker outages.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaError

from adapters.kafka._producer import (
    BROKER_ERRORS,
    close_producer,
    describe,
    new_producer,
    start_producer,
)
from adapters.kafka.messages import encode_task_message
from adapters.kafka.topics import DEFAULT_TOPIC
from application.ports.task_queue import TaskPublisher, TaskQueueUnavailable

__all__ = ["KafkaTaskPublisher"]

log = logging.getLogger(__name__)

_WARM_UP_ERRORS: tuple[type[BaseException], ...] = (TaskQueueUnavailable, *BROKER_ERRORS)


class KafkaTaskPublisher(TaskPublisher):
    """Publishes `{"taskid": ...}` keyed by the task id, idempotently, with acks from all replicas.

    `publish_timeout` bounds a whole publish (connecting included); `request_timeout_ms` is
    aiokafka's per-request timeout and should be shorter. `stop()` gives unacknowledged messages
    `close_timeout` seconds before dropping them (their outbox rows are still unpublished).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str = DEFAULT_TOPIC,
        *,
        client_id: str = "dbanalysis-publisher",
        publish_timeout: float = 10.0,
        request_timeout_ms: int = 5_000,
        close_timeout: float = 5.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._client_id = client_id
        self._publish_timeout = publish_timeout
        self._request_timeout_ms = request_timeout_ms
        self._close_timeout = close_timeout
        self._producer: Any | None = None
        # One connection attempt at a time: concurrent publishes share the producer it makes.
        self._connecting = asyncio.Lock()
        self._warm_up: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._stopped = False

    @property
    def topic(self) -> str:
        return self._topic

    async def start(self) -> None:
        """Start connecting in the background and return at once; never raises.

        Optional: it only saves the first publish the connection time. A process calling it
        while the broker is down starts anyway; publish() connects when the broker is back.
        """
        if self._stopped or self._warm_up is not None:
            return
        self._warm_up = asyncio.create_task(self._connect_quietly(), name="kafka-publisher-warm-up")

    async def publish(self, task_id: uuid.UUID) -> None:
        key, value = encode_task_message(task_id)
        producer: Any | None = None
        try:
            async with asyncio.timeout(self._publish_timeout):
                producer = await self._ready_producer()
                await producer.send_and_wait(self._topic, value=value, key=key)
        except BROKER_ERRORS as exc:
            if producer is not None:
                self._discard(producer)
            raise TaskQueueUnavailable(
                f"Kafka did not take task {task_id} on {self._topic!r}: {describe(exc)}"
            ) from exc

    async def publish_many(self, task_ids: Sequence[uuid.UUID]) -> None:
        """Hand every message to the producer, then wait once for all their acknowledgements.

        The producer packs the messages into one request per partition instead of one per
        message; `publish_timeout` bounds the whole batch. A message counts as acknowledged only
        when its own delivery future resolved without an error: those are reported in the
        refusal's `acknowledged`, every other one (failed, timed out, never handed over) is not.
        """
        if not task_ids:
            return
        deliveries: list[asyncio.Future[Any]] = []
        producer: Any | None = None
        try:
            async with asyncio.timeout(self._publish_timeout):
                producer = await self._ready_producer()
                for task_id in task_ids:
                    key, value = encode_task_message(task_id)
                    deliveries.append(await producer.send(self._topic, value=value, key=key))
                await asyncio.wait(deliveries)
                failure = next(
                    (error for error in map(_delivery_error, deliveries) if error is not None),
                    None,
                )
                if failure is not None:
                    raise failure
        except BROKER_ERRORS as exc:
            if producer is not None:
                self._discard(producer)
            acknowledged = [
                task_id
                for task_id, delivery in zip(task_ids, deliveries, strict=False)
                if delivery.done() and _delivery_error(delivery) is None
            ]
            for delivery in deliveries:
                # A delivery abandoned here may still fail later: nobody else will look at it.
                delivery.add_done_callback(_delivery_error)
            raise TaskQueueUnavailable(
                f"Kafka took {len(acknowledged)} of {len(task_ids)} tasks on {self._topic!r}: "
                f"{describe(exc)}",
                acknowledged=acknowledged,
            ) from exc

    async def stop(self) -> None:
        """Close the producer; idempotent. Later publishes raise `TaskQueueUnavailable`."""
        self._stopped = True
        if self._warm_up is not None:
            self._warm_up.cancel()
            await asyncio.gather(self._warm_up, return_exceptions=True)
        async with self._connecting:
            producer, self._producer = self._producer, None
        if producer is not None:
            await close_producer(
                producer, grace=self._close_timeout, force_within=self._close_timeout
            )
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def _ready_producer(self) -> Any:
        async with self._connecting:
            if self._stopped:
                raise TaskQueueUnavailable("the Kafka publisher is stopped")
            if self._producer is None:
                producer = new_producer(
                    self._bootstrap_servers, self._client_id, self._request_timeout_ms
                )
                await start_producer(producer, self._publish_timeout)
                self._producer = producer
                log.info("kafka publisher connected to %s", self._bootstrap_servers)
            return self._producer

    async def _connect_quietly(self) -> None:
        try:
            async with asyncio.timeout(self._publish_timeout):
                await self._ready_producer()
        except _WARM_UP_ERRORS as exc:
            log.warning(
                "kafka publisher: %s not reachable yet (%s); will connect on the first publish",
                self._bootstrap_servers,
                describe(exc),
            )

    def _discard(self, producer: Any) -> None:
        """Forget a producer that failed; close it in the background so publish() returns now."""
        if producer is not self._producer:
            return  # a concurrent publish already replaced it
        self._producer = None
        closing = asyncio.create_task(
            close_producer(producer, grace=0, force_within=self._close_timeout),
            name="kafka-publisher-discard",
        )
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)


def _delivery_error(delivery: asyncio.Future[Any]) -> BaseException | None:
    """Why a finished delivery failed (None when acknowledged); retrieving it also keeps asyncio
    from logging the exception as never retrieved."""
    if delivery.cancelled():
        # As a broker error, not a CancelledError: this coroutine itself was not cancelled.
        cancelled: BaseException = KafkaError("the delivery was cancelled")
        return cancelled
    return delivery.exception()
