"""Shared plumbing for the idempotent producers (task publisher and dead-letter writer).

aiokafka is untyped; its objects stay `Any` inside this package and never cross the port.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

__all__ = ["BROKER_ERRORS", "close_producer", "describe", "new_producer", "start_producer"]

log = logging.getLogger(__name__)

# What a broker outage looks like from aiokafka: its own errors, socket errors, and our timeouts.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KafkaError, OSError, TimeoutError)


def describe(exc: BaseException) -> str:
    """A one-line reason; aiokafka's timeouts and some of its errors have an empty message."""
    name, text = type(exc).__name__, str(exc).strip()
    if not text or text == name:
        return name
    # aiokafka's errors already start their text with the class name.
    return text if text.startswith(name) else f"{name}: {text}"


def new_producer(bootstrap_servers: str, client_id: str, request_timeout_ms: int) -> Any:
    """An idempotent, acks=all producer: a retried send never duplicates within a session.

    Must be called inside the running event loop (aiokafka binds to it at construction).
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=request_timeout_ms,
        # Few, small messages: send at once rather than batching for throughput.
        linger_ms=0,
    )


async def start_producer(producer: Any, within: float) -> None:
    """Connect `producer` within `within` seconds, or close it and re-raise.

    The timeout matters: with idempotence on, start() asks for a producer id and retries that
    forever while the broker does not answer.
    """
    try:
        async with asyncio.timeout(within):
            await producer.start()
    except BaseException:
        # A half-started producer still holds sockets and a metadata task.
        await close_producer(producer, grace=0, force_within=within)
        raise


async def close_producer(producer: Any, grace: float, force_within: float) -> None:
    """Stop `producer`; what the broker has not acknowledged after `grace` seconds is dropped.

    Never raises. Dropping is safe because every caller still holds the message: the outbox
    keeps a task id until publish() returned, and the consumer rewinds an undelivered
    dead letter. `force_within` bounds the rest of the shutdown (in-flight requests, sockets).
    """
    try:
        async with asyncio.timeout(grace):
            await producer.flush()
        flushed = True
    except TimeoutError:
        flushed = False
    try:
        async with asyncio.timeout(force_within):
            if flushed:
                await producer.stop()
            else:
                await _abandon(producer)
    except BROKER_ERRORS as exc:
        log.warning("kafka producer did not close cleanly: %s", describe(exc))


async def _abandon(producer: Any) -> None:
    """Close `producer` without waiting for its unacknowledged messages.

    An idempotent producer never expires a batch: it retries it until the broker acknowledges,
    and stop() waits for exactly that, so stop() would hang while the broker is down. aiokafka
    offers no public way to give up; this does what stop() does minus that wait. (Failing the
    queued batches instead trips aiokafka's own bookkeeping of re-queued batches.)
    """
    producer._closed = True  # as stop() does first; keeps __del__ from warning "unclosed"
    try:
        await producer._sender.close()  # cancels the retry loop; in-flight requests end first
    finally:
        await producer.client.close()
