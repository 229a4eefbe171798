"""One unit of work's connection and transaction, shared by its repository and outbox."""

from __future__ import annotations

import asyncio
import weakref

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sqlalchemy.engine import prepare_sqlite_write

__all__ = ["SqlAlchemyTransaction"]


class SqlAlchemyTransaction:
    """Holds one `AsyncConnection` from `open()` to `close()`.

    The transaction begins with the first statement, because only then is it known whether the
    unit of work writes: on SQLite a writing one must begin with `BEGIN IMMEDIATE` (see
    `adapters.sqlalchemy.engine`). Statements after `commit()` begin a new transaction.

    On SQLite the writers of one process also queue for the write lock in the order they came
    (`_write_turn`): SQLite's own wait is a poll with sleeps of up to 100 ms that favours no
    one, and under a load of submissions some waited seconds for it (`bench/embedded_load.py`).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._turn: asyncio.Lock | None = None

    async def open(self) -> None:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._connection = await self._engine.connect()

    async def connection(self, *, write: bool) -> AsyncConnection:
        """The connection, inside a transaction. `write`: this statement locks or changes rows."""
        connection = self._require_open()
        if not connection.in_transaction():
            if write and connection.dialect.name == "sqlite":
                await self._wait_for_write_turn()
                prepare_sqlite_write(connection)
            try:
                await connection.begin()
            except BaseException:
                self._end_write_turn()
                raise
        return connection

    async def commit(self) -> None:
        connection = self._require_open()
        try:
            if connection.in_transaction():
                await connection.commit()
        finally:
            self._end_write_turn()

    async def rollback(self) -> None:
        connection = self._require_open()
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            self._end_write_turn()

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back to the pool."""
        connection, self._connection = self._require_open(), None
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            self._end_write_turn()
            await connection.close()

    async def _wait_for_write_turn(self) -> None:
        turn = _write_turn(self._engine.sync_engine)
        try:
            # Never longer than SQLite would wait by itself: a unit of work nested in another
            # that writes falls back on SQLite's own wait (and its "database is locked").
            async with asyncio.timeout(_TURN_SECONDS):
                await turn.acquire()
        except TimeoutError:
            return
        self._turn = turn

    def _end_write_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def _require_open(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection


# How long a writer waits for its turn before it falls back on SQLite's own wait.
_TURN_SECONDS = 4.0

_turns: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Engine, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _write_turn(engine: Engine) -> asyncio.Lock:
    """The queue of this process's writers to `engine`, on the running loop (a lock belongs to
    one loop)."""
    per_engine = _turns.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    turn = per_engine.get(engine)
    if turn is None:
        turn = per_engine[engine] = asyncio.Lock()
    return turn
