"""Group commit of submissions on SQLite: the submissions that arrive while one transaction
writes are written together by the next, one `BEGIN IMMEDIATE … COMMIT` for all of them.

A submission alone (`add_task_and_commit`: the task, its outbox message, perhaps its secret)
took about 11 calls through aiosqlite's thread, each a hand-over of the GIL, and one fsync of
the WAL: 2.9 ms of CPU, and since SQLite has one writer, every other submission waited for it
(`bench/embedded_load.py`: `POST /new` p50 32 ms, p99 70–130 ms while analysing). Written
together, a batch costs about what one did.

Each submission still returns only once its own rows are committed, and a refused one (an id
already stored) still raises and keeps nothing: when a batch fails, its submissions are
written one by one, so each gets its own outcome and none is lost for another's fault.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sqlalchemy.tables import outbox, task_secrets, tasks
from adapters.sqlalchemy.transaction import SqlAlchemyTransaction

__all__ = ["Submission", "SubmissionWriter"]

# At most this many submissions per transaction; more wait for the next one.
_BATCH = 256

_INSERTS = (insert(tasks), insert(outbox), insert(task_secrets))


@dataclass(frozen=True, slots=True)
class Submission:
    """The rows of one submission: its task, its outbox message and perhaps its secret."""

    task: dict[str, Any]
    message: dict[str, Any]
    secret: dict[str, Any] | None = None


@dataclass(slots=True)
class _Waiting:
    submission: Submission
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _Queue:
    """The submissions of one event loop waiting to be written, and the task writing them."""

    def __init__(self) -> None:
        self.waiting: list[_Waiting] = []
        self.writer: asyncio.Task[None] | None = None


class SubmissionWriter:
    """Writes submissions to one SQLite engine in batches (see the module).

    The writing is a task of its own: a submitter that is cancelled while it waits (its
    client went away) stops waiting, but neither the batch it joined nor the others in it.
    Its rows may be committed all the same, as they could be when it wrote them itself."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # One queue per event loop: its futures and its writer belong to that loop.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def write(self, submission: Submission) -> None:
        """Return once `submission` is committed; raise what writing it alone raised."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        waiting = _Waiting(submission)
        queue.waiting.append(waiting)
        if queue.writer is None:
            queue.writer = loop.create_task(self._write_all(queue))
        await waiting.done

    async def _write_all(self, queue: _Queue) -> None:
        batch: list[_Waiting] = []
        try:
            while queue.waiting:
                batch, queue.waiting = queue.waiting[:_BATCH], queue.waiting[_BATCH:]
                try:
                    await self._commit([each.submission for each in batch])
                except Exception as error:
                    if len(batch) == 1:
                        _settle(batch[0].done, error)
                        continue
                    # One of them may be at fault: each on its own gets its own outcome.
                    for each in batch:
                        await self._commit_one(each)
                else:
                    for each in batch:
                        _settle(each.done, None)
        except BaseException as error:
            # Cancelled (the loop is closing): none of those left is known to be kept.
            for each in batch + queue.waiting:
                _settle(each.done, error)
            queue.waiting = []
            raise
        finally:
            queue.writer = None

    async def _commit_one(self, waiting: _Waiting) -> None:
        try:
            await self._commit([waiting.submission])
        except Exception as error:
            _settle(waiting.done, error)
        else:
            _settle(waiting.done, None)

    async def _commit(self, submissions: Sequence[Submission]) -> None:
        """Write `submissions` in one transaction, or nothing of them."""
        transaction = SqlAlchemyTransaction(self._engine)
        await transaction.open()
        try:
            connection = await transaction.connection(write=True)
            secrets = [each.secret for each in submissions if each.secret is not None]
            rows = ([each.task for each in submissions], [each.message for each in submissions])
            for statement, parameters in zip(_INSERTS, (*rows, secrets), strict=True):
                if parameters:
                    await connection.execute(statement, parameters)
            await transaction.commit()
        finally:
            await transaction.close()


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its submitter was cancelled while it waited
        return
    if error is None:
        done.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(error)
