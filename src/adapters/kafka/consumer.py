"""`KafkaTaskConsumer`: the worker's end of the task queue, at least once.

The offset of a message is committed only after `handle(task_id)` returned, so a worker that dies
mid-task leaves the message to be delivered again (processing is idempotent: a redelivered id for
a finished task is a no-op). Nothing is ever skipped:

- `handle` raises → no commit; the consumer seeks back to the message and retries it after an
  exponential backoff (bounded, cut short by `stop()`).
- the value is not a task message → it goes to the dead-letter topic ``<topic>.dlq`` with the
  reason and its origin in headers, and only once the broker took it is the offset committed. If
  the dead-letter topic cannot be written, the message is retried like a failed `handle`.
- a rebalance revokes partitions → the revoke listener lets the in-flight message finish (up to
  `revoke_grace` seconds) and commits what is done before the partitions move; a commit refused
  because the group rebalanced is logged and dropped, and the message comes again.
- the broker is down when `run()` starts → it keeps trying to connect, with backoff, until
  `stop()`.

Messages are taken one at a time (`max_records=1`): each one is a long task, and a small
prefetch means a revoked partition leaves little already-fetched work behind. Up to
`concurrency` of them are handled at once (a task mostly waits: on the LLM, on the user's
Trino, on the analysis processes). A partition's offset is committed up to its oldest message
still in hand, never past it; a `handle` that raises is tried again in place, after a backoff,
so the messages behind it go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError

from adapters.kafka._producer import (
    BROKER_ERRORS,
    close_producer,
    describe,
    new_producer,
    start_producer,
)
from adapters.kafka.messages import UndecodableMessage, decode_task_id
from adapters.kafka.topics import DEFAULT_GROUP_ID, DEFAULT_TOPIC, dead_letter_topic

__all__ = [
    "CONNECT_BACKOFF",
    "DLQ_ERROR_HEADER",
    "DLQ_GROUP_HEADER",
    "DLQ_SOURCE_OFFSET_HEADER",
    "DLQ_SOURCE_PARTITION_HEADER",
    "DLQ_SOURCE_TOPIC_HEADER",
    "RETRY_BACKOFF",
    "Backoff",
    "KafkaTaskConsumer",
    "TaskHandler",
]

log = logging.getLogger(__name__)

TaskHandler = Callable[[uuid.UUID], Awaitable[None]]

DLQ_ERROR_HEADER = "dlq.error"
DLQ_SOURCE_TOPIC_HEADER = "dlq.source.topic"
DLQ_SOURCE_PARTITION_HEADER = "dlq.source.partition"
DLQ_SOURCE_OFFSET_HEADER = "dlq.source.offset"
DLQ_GROUP_HEADER = "dlq.group"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential delays: `initial`, then times `factor` per attempt, never above `maximum`.

    >>> [Backoff(initial=1.0, maximum=5.0).delay(n) for n in range(5)]
    [1.0, 2.0, 4.0, 5.0, 5.0]
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        # The exponent is capped so that a long outage cannot overflow the float.
        return min(self.maximum, self.initial * self.factor ** min(attempt, 32))


RETRY_BACKOFF = Backoff(initial=0.5, maximum=30.0)
CONNECT_BACKOFF = Backoff(initial=1.0, maximum=30.0)


class KafkaTaskConsumer:
    """Consumes task ids from `topic` in consumer group `group_id` and hands each to a handler.

    `run(handle)` loops until `stop()`; `stop()` is idempotent, returns once `run()` has left the
    group and closed its connections, and lets the message being handled finish first. To give
    up on that message (it will be redelivered), cancel the task that runs `run()` instead.

    `max_poll_interval_ms` must exceed the longest `handle` call (the task lease is a good
    value): a consumer that does not come back for the next message within it is dropped from
    the group and its partitions go to another worker.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str = DEFAULT_TOPIC,
        group_id: str = DEFAULT_GROUP_ID,
        *,
        client_id: str = "dbanalysis-worker",
        retry_backoff: Backoff = RETRY_BACKOFF,
        connect_backoff: Backoff = CONNECT_BACKOFF,
        max_poll_interval_ms: int = 900_000,
        session_timeout_ms: int = 10_000,
        rebalance_timeout_ms: int = 30_000,
        request_timeout_ms: int = 30_000,
        revoke_grace: float = 20.0,
        commit_timeout: float = 30.0,
        connect_timeout: float = 30.0,
        poll_timeout_ms: int = 500,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._dead_letter_topic = dead_letter_topic(topic)
        self._group_id = group_id
        self._client_id = client_id
        self._retry_backoff = retry_backoff
        self._connect_backoff = connect_backoff
        self._max_poll_interval_ms = max_poll_interval_ms
        self._session_timeout_ms = session_timeout_ms
        self._rebalance_timeout_ms = rebalance_timeout_ms
        self._request_timeout_ms = request_timeout_ms
        self._revoke_grace = revoke_grace
        self._commit_timeout = commit_timeout
        self._connect_timeout = connect_timeout
        self._poll_timeout_ms = poll_timeout_ms
        self._concurrency = concurrency

        self._stop_requested = asyncio.Event()
        self._finished = asyncio.Event()
        self._finished.set()
        self._run_task: asyncio.Task[Any] | None = None
        # Cleared while messages are being handled and committed; the revoke listener waits on it.
        self._idle = asyncio.Event()
        self._idle.set()
        self._handlers: set[asyncio.Task[None]] = set()
        # Per partition: the offsets of the messages in hand, and the next offset after the
        # last one done. What may be committed is the smaller of the two.
        self._in_hand: dict[Any, set[int]] = {}
        self._done_until: dict[Any, int] = {}
        # Offsets (next to read) whose messages are done but whose commit has not succeeded yet.
        self._uncommitted: dict[Any, int] = {}
        self._committing = asyncio.Lock()
        self._failed_at: tuple[Any, int] | None = None
        self._failures = 0
        self._dead_letters: Any | None = None
        self._active: Any | None = None  # the started aiokafka consumer, while run() consumes

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def group_id(self) -> str:
        return self._group_id

    async def run(self, handle: TaskHandler) -> None:
        """Hand every task id on the topic to `handle`, until `stop()`.

        Returns at once if `stop()` was already called: a stopped consumer stays stopped.
        Raises only what aiokafka reports as fatal (e.g. the group is not authorized).
        """
        if not self._finished.is_set():
            raise RuntimeError("KafkaTaskConsumer.run() is already running")
        if self._stop_requested.is_set():
            return
        self._finished.clear()
        self._run_task = asyncio.current_task()
        consumer: Any | None = None
        try:
            consumer = await self._connect()
            if consumer is not None:
                self._active = consumer
                await self._consume(consumer, handle)
                # A clean stop: one more try for offsets whose commit failed earlier.
                await self._commit_pending(consumer, None)
        finally:
            try:
                if consumer is not None:
                    await self._close_consumer(consumer)
                if self._dead_letters is not None:
                    producer, self._dead_letters = self._dead_letters, None
                    timeout = self._request_timeout_ms / 1000
                    await close_producer(producer, grace=timeout, force_within=timeout)
            finally:
                self._active = None
                self._uncommitted.clear()
                self._in_hand.clear()
                self._done_until.clear()
                self._run_task = None
                self._finished.set()

    async def stop(self) -> None:
        """Ask `run()` to return after the message in hand, and wait until it has; idempotent."""
        self._stop_requested.set()
        if asyncio.current_task() is self._run_task:
            return  # called from inside handle(): waiting for run() here would wait forever
        await self._finished.wait()

    async def lag(self) -> int | None:
        """Messages on this consumer's partitions not yet done: the end of each partition minus
        the group's committed offset (its beginning when nothing was committed). None while not
        consuming. Summed over a group's workers it is the group's lag."""
        consumer = self._active
        if consumer is None:
            return None
        partitions = list(consumer.assignment())
        if not partitions:
            return 0
        ends = await consumer.end_offsets(partitions)
        beginnings = await consumer.beginning_offsets(partitions)
        total = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            done = committed if committed is not None else beginnings[tp]
            total += max(0, ends[tp] - done)
        return total

    # -- connecting ---------------------------------------------------------------------------

    async def _connect(self) -> Any | None:
        """A started consumer, or None if `stop()` came before the broker answered."""
        attempt = 0
        while not self._stop_requested.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap_servers,
                group_id=self._group_id,
                client_id=self._client_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=self._max_poll_interval_ms,
                session_timeout_ms=self._session_timeout_ms,
                rebalance_timeout_ms=self._rebalance_timeout_ms,
                request_timeout_ms=self._request_timeout_ms,
            )
            consumer.subscribe([self._topic], listener=_CommitBeforeRevoke(self, consumer))
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await consumer.start()
            except BROKER_ERRORS as exc:
                await self._close_consumer(consumer)
                delay = self._connect_backoff.delay(attempt)
                attempt += 1
                log.warning(
                    "kafka consumer: cannot reach %s (%s); retrying in %.1fs",
                    self._bootstrap_servers,
                    describe(exc),
                    delay,
                )
                await self._pause(delay)
                continue
            except BaseException:
                await self._close_consumer(consumer)
                raise
            log.info(
                "kafka consumer: group %s consuming %s from %s",
                self._group_id,
                self._topic,
                self._bootstrap_servers,
            )
            return consumer
        return None

    async def _close_consumer(self, consumer: Any) -> None:
        """Leave the group and close; bounded, because leaving needs the broker. Never raises."""
        try:
            async with asyncio.timeout(self._request_timeout_ms / 1000):
                await consumer.stop()
        except BROKER_ERRORS as exc:
            log.warning("kafka consumer: closed uncleanly: %s", describe(exc))

    # -- consuming ----------------------------------------------------------------------------

    async def _consume(self, consumer: Any, handle: TaskHandler) -> None:
        try:
            while not self._stop_requested.is_set():
                if len(self._handlers) >= self._concurrency:
                    await asyncio.wait(
                        self._handlers,
                        timeout=self._poll_timeout_ms / 1000,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    continue
                # A short poll keeps stop() responsive; the fetcher keeps prefetching meanwhile.
                batch = await consumer.getmany(timeout_ms=self._poll_timeout_ms, max_records=1)
                for records in batch.values():
                    for record in records:
                        await self._process(consumer, record, handle)
            if self._handlers:  # stopping: the messages in hand finish first
                await asyncio.wait(self._handlers)
        finally:
            # Cancelled (or failed): give up on the messages in hand; they come again.
            handlers = list(self._handlers)
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    async def _process(self, consumer: Any, record: Any, handle: TaskHandler) -> None:
        tp = TopicPartition(record.topic, record.partition)
        if tp not in consumer.assignment():
            return  # revoked since it was fetched: the new owner reads it from the commit
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        try:
            task_id = decode_task_id(record.value)
        except UndecodableMessage as exc:
            if await self._dead_letter(record, exc):
                log.warning(
                    "kafka consumer: %s is not a task message (%s); dead-lettered", where, exc
                )
                self._failed_at, self._failures = None, 0
                in_hand = self._in_hand.setdefault(tp, set())
                await self._commit_done(consumer, tp, record.offset, in_hand)
            else:
                await self._retry_later(consumer, tp, record.offset)
            return
        in_hand = self._in_hand.setdefault(tp, set())
        in_hand.add(record.offset)
        self._idle.clear()
        handler = asyncio.create_task(
            self._handle(consumer, tp, record.offset, in_hand, task_id, handle, where),
            name=f"kafka-task-{task_id}",
        )
        self._handlers.add(handler)
        handler.add_done_callback(self._handler_done)

    def _handler_done(self, handler: asyncio.Task[None]) -> None:
        self._handlers.discard(handler)
        if not self._handlers:
            self._idle.set()

    async def _handle(
        self,
        consumer: Any,
        tp: Any,
        offset: int,
        in_hand: set[int],
        task_id: uuid.UUID,
        handle: TaskHandler,
        where: str,
    ) -> None:
        """`handle(task_id)` until it succeeds, then commit; given up (left uncommitted, so
        it comes again) when the partition moves away or the consumer stops."""
        failures = 0
        while True:
            try:
                await handle(task_id)
            except Exception as exc:
                log.error(
                    "kafka consumer: handling task %s from %s failed; will retry",
                    task_id,
                    where,
                    exc_info=exc,
                )
            else:
                await self._commit_done(consumer, tp, offset, in_hand)
                return
            delay = self._retry_backoff.delay(failures)
            failures += 1
            log.info("kafka consumer: retrying %s in %.1fs", where, delay)
            await self._pause(delay)
            if self._stop_requested.is_set() or tp not in consumer.assignment():
                return

    async def _retry_later(self, consumer: Any, tp: Any, offset: int) -> None:
        """Rewind to the message at `offset` and wait before it comes again."""
        if self._failed_at == (tp, offset):
            self._failures += 1
        else:
            self._failed_at, self._failures = (tp, offset), 0
        try:
            consumer.seek(tp, offset)
        except IllegalStateError:
            return  # revoked meanwhile: the new owner starts from the last commit
        delay = self._retry_backoff.delay(self._failures)
        log.info("kafka consumer: retrying %s@%d in %.1fs", tp, offset, delay)
        await self._pause(delay)

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less if `stop()` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop_requested.wait()

    # -- committing ---------------------------------------------------------------------------

    async def _commit_done(self, consumer: Any, tp: Any, offset: int, in_hand: set[int]) -> None:
        """The message at `offset` is done: commit as far as the oldest one still in hand.

        `in_hand` is the partition's set when the message was taken: if the partition was
        revoked since (and maybe assigned back), its offsets are no longer this message's to
        commit."""
        if self._in_hand.get(tp) is not in_hand:
            return
        in_hand.discard(offset)
        done_until = max(self._done_until.get(tp, 0), offset + 1)
        self._done_until[tp] = done_until
        self._uncommitted[tp] = min(in_hand) if in_hand else done_until
        await self._commit_pending(consumer, None)

    async def _before_revoke(self, consumer: Any, revoked: set[Any]) -> None:
        """Called by the rebalance listener before `revoked` go to other members."""
        try:
            async with asyncio.timeout(self._revoke_grace):
                await self._idle.wait()
        except TimeoutError:
            # Its commit will find the partition gone (or reassigned) and the message comes again.
            log.warning("kafka consumer: a task is still running while %s are revoked", revoked)
        await self._commit_pending(consumer, revoked)
        for tp in revoked:  # whatever is still in hand comes again to the new owner
            self._in_hand.pop(tp, None)
            self._done_until.pop(tp, None)

    async def _commit_pending(self, consumer: Any, partitions: Iterable[Any] | None) -> None:
        """Commit the offsets of finished messages (of `partitions`, or all); never raises.

        A refused commit is not retried blindly: its message is done, and at worst it is
        delivered again and found finished. Offsets of partitions no longer assigned are
        dropped, as committing them could move another member's position backwards.
        """
        assigned = consumer.assignment()
        for tp in [tp for tp in self._uncommitted if tp not in assigned]:
            del self._uncommitted[tp]
        wanted = None if partitions is None else set(partitions)
        offsets = {
            tp: offset for tp, offset in self._uncommitted.items() if wanted is None or tp in wanted
        }
        if not offsets:
            return
        try:
            async with self._committing, asyncio.timeout(self._commit_timeout):
                await consumer.commit(offsets)
        except (CommitFailedError, RebalanceInProgressError, IllegalStateError) as exc:
            # The group moved on; whoever owns the partitions now gets these messages again.
            log.warning("kafka consumer: commit of %s refused (%s)", offsets, describe(exc))
            for tp in offsets:
                self._uncommitted.pop(tp, None)
            return
        except BROKER_ERRORS as exc:
            log.warning(
                "kafka consumer: commit of %s failed (%s); will try again with the next one",
                offsets,
                describe(exc),
            )
            return
        for tp, offset in offsets.items():
            if self._uncommitted.get(tp) == offset:
                del self._uncommitted[tp]

    # -- dead letters -------------------------------------------------------------------------

    async def _dead_letter(self, record: Any, error: UndecodableMessage) -> bool:
        """Copy `record` to the dead-letter topic; True once the broker acknowledged it."""
        headers = [
            *(record.headers or ()),
            (DLQ_ERROR_HEADER, str(error).encode("utf-8")),
            (DLQ_SOURCE_TOPIC_HEADER, record.topic.encode("utf-8")),
            (DLQ_SOURCE_PARTITION_HEADER, str(record.partition).encode("ascii")),
            (DLQ_SOURCE_OFFSET_HEADER, str(record.offset).encode("ascii")),
            (DLQ_GROUP_HEADER, self._group_id.encode("utf-8")),
        ]
        # aiokafka refuses a record with neither key nor value; an empty value keeps it.
        value = record.value if record.value is not None or record.key is not None else b""
        timeout = self._request_timeout_ms / 1000
        try:
            if self._dead_letters is None:
                producer = new_producer(
                    self._bootstrap_servers,
                    f"{self._client_id}-dead-letters",
                    self._request_timeout_ms,
                )
                await start_producer(producer, timeout)
                self._dead_letters = producer
            async with asyncio.timeout(timeout):
                await self._dead_letters.send_and_wait(
                    self._dead_letter_topic, value=value, key=record.key, headers=headers
                )
        except BROKER_ERRORS as exc:
            log.warning(
                "kafka consumer: cannot write to %s (%s); will retry",
                self._dead_letter_topic,
                describe(exc),
            )
            if self._dead_letters is not None:
                producer, self._dead_letters = self._dead_letters, None
                await close_producer(producer, grace=0, force_within=timeout)
            return False
        return True


# aiokafka checks the listener with isinstance, so it must subclass its (untyped) base.
class _CommitBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move, let the message in hand finish and commit what is done."""

    def __init__(self, owner: KafkaTaskConsumer, consumer: Any) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        if revoked:
            await self._owner._before_revoke(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[Any]) -> None:
        log.info("kafka consumer: assigned %s", sorted(assigned))
