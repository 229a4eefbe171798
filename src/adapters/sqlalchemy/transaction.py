"""One unit of work's connection and transaction, shared by its repository and outbox."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from adapters.sqlalchemy.driver import (
    DriverInsert,
    DriverInsertAll,
    DriverSelect,
    translate_error,
)
from adapters.sqlalchemy.engine import prepare_sqlite_write
from adapters.sqlalchemy.mapping import MESSAGE_COLUMNS, TASK_SUMMARY_COLUMNS
from adapters.sqlalchemy.tables import UtcDateTime, outbox, task_secrets, tasks

__all__ = ["DriverConnections", "DriverStatements", "SqlAlchemyTransaction"]


class DriverConnections:
    """The connections of one PostgreSQL (asyncpg) engine's units of work, in autocommit mode,
    handed from one unit of work to the next while others are open.

    Checking a connection out of SQLAlchemy's pool and back (a greenlet, whose first frame
    maps a fresh stack chunk; a `Connection`; the pool's events; autocommit set and reset) cost
    about a tenth of a `POST /new`'s CPU (bench/api_load.py). A unit of work that ends while
    others are still open leaves its connection here instead, for the next to take as it is;
    the last one to end gives them all back, and one that ends while another waits for the
    pool (all its connections taken) gives its own back, for that one. So under load they
    seldom go back to the pool, and when the units of work stop (between bursts, before the
    engine is disposed) none is kept out of it. Only a connection in a clean state is kept:
    not invalidated or closed, and in no transaction of SQLAlchemy's or the server's. One that
    was invalidated or that the server ended makes the others go back to the pool too, where
    SQLAlchemy deals with them as it does with any.

    One per engine (`of`), shared by its units of work and its health probe: whoever checks a
    connection out here takes a kept one first, so keeping all of the pool's connections
    starves no one."""

    def __init__(self, engine: AsyncEngine) -> None:
        # The same pool; each connection is set to autocommit as it is checked out, and set
        # back as it is returned (no round trip on asyncpg: a flag of the adapter).
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        pool = engine.pool
        self._keep = pool.size() if isinstance(pool, QueuePool) else 2
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._open = 0  # units of work between `checkout` and `checkin`
        self._waiting = 0  # of them, those waiting for a connection from the pool

    @classmethod
    def of(cls, engine: AsyncEngine) -> DriverConnections | None:
        """Those of `engine` on PostgreSQL through asyncpg; None for any other database."""
        if engine.dialect.name != "postgresql" or engine.dialect.driver != "asyncpg":
            return None
        connections = _connections_of.get(engine.sync_engine)
        if connections is None:
            connections = _connections_of[engine.sync_engine] = cls(engine)
        return connections

    async def checkout(self) -> tuple[AsyncConnection, Any]:
        """A connection in autocommit mode, and its adapted (DBAPI) connection."""
        self._open += 1
        try:
            while self._idle:
                connection, adapted = self._idle.pop()
                if not adapted.driver_connection.is_closed():
                    return connection, adapted
                await connection.invalidate()
                await connection.close()
            # None kept: one from the pool, which may have to wait for one given back to it.
            self._waiting += 1
            try:
                connection = await self._engine.connect()
            finally:
                self._waiting -= 1
        except BaseException:
            self._open -= 1
            raise
        # Read without `get_raw_connection()`, which hands the same attribute over through a
        # greenlet: a connection just checked out is valid, reading it does no I/O.
        synchronous = connection.sync_connection
        assert synchronous is not None
        return connection, synchronous.connection.dbapi_connection

    async def checkin(self, connection: AsyncConnection, adapted: Any) -> None:
        """Keep `connection` for the next unit of work, or give it back to the pool."""
        self._open -= 1
        broken = (
            connection.invalidated or connection.closed or adapted.driver_connection.is_closed()
        )
        clean = not (
            broken or connection.in_transaction() or adapted.driver_connection.is_in_transaction()
        )
        # Kept only while no one waits for the pool: a connection kept here would not reach them.
        if clean and self._open > 0 and not self._waiting and len(self._idle) < self._keep:
            self._idle.append((connection, adapted))
            return
        returning = [(connection, adapted)]
        if broken or self._open == 0:
            returning += self._idle
            self._idle.clear()
        for each, each_adapted in returning:
            if each.closed:
                continue
            if not each.invalidated and each_adapted.driver_connection.is_closed():
                # The server ended it: the pool must not hand it out again.
                await each.invalidate()
            await each.close()


_connections_of: weakref.WeakKeyDictionary[Engine, DriverConnections] = weakref.WeakKeyDictionary()


class DriverStatements:
    """What the units of work of one PostgreSQL (asyncpg) engine send to asyncpg directly: its
    connections in autocommit mode, so that `BEGIN`, `COMMIT` and `ROLLBACK` are theirs to send
    (and a lone read needs none), and the statements of the hot path (`adapters.sqlalchemy.driver`).
    None for any other database: SQLAlchemy does it all there."""

    def __init__(self, engine: AsyncEngine) -> None:
        dialect = engine.dialect
        self.dialect = dialect
        connections = DriverConnections.of(engine)
        assert connections is not None
        self.connections = connections
        self.add_task = DriverInsert(tasks, dialect)
        self.add_message = DriverInsert(outbox, dialect)
        # A submission: the task, its outbox message and (when the URL had them) its
        # credentials, one statement.
        self.add_submission = DriverInsertAll((tasks, outbox), dialect)
        self.add_submission_with_secret = DriverInsertAll((tasks, outbox, task_secrets), dialect)
        self.get_task = DriverSelect(tasks, "id")
        self.get_summary = DriverSelect(tasks, "id", TASK_SUMMARY_COLUMNS)
        # The relay's two statements: its oldest unpublished messages, locked, and marking a
        # batch published with one statement whatever its size (an `IN` list of n ids is a new
        # statement to prepare for each n).
        self.unpublished = DriverSelect(
            outbox,
            "id",
            MESSAGE_COLUMNS,
            rest="WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 "
            "FOR UPDATE SKIP LOCKED",
        )
        self.mark_published = (
            "UPDATE outbox SET published_at = coalesce(published_at, $1) WHERE id = ANY($2::uuid[])"
        )
        self.utc = UtcDateTime()

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> DriverStatements | None:
        if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
            return cls(engine)
        return None


class SqlAlchemyTransaction:
    """Holds one `AsyncConnection` from `open()` to `close()`.

    The transaction begins with the first statement, because only then is it known whether the
    unit of work writes: on SQLite a writing one must begin with `BEGIN IMMEDIATE` (see
    `adapters.sqlalchemy.engine`). Statements after `commit()` begin a new transaction.

    On SQLite the writers of one process also queue for the write lock in the order they came
    (`_write_turn`): SQLite's own wait is a poll with sleeps of up to 100 ms that favours no
    one, and under a load of submissions some waited seconds for it (`bench/embedded_load.py`).

    On PostgreSQL (`statements` given) the connection is in autocommit mode for SQLAlchemy, and
    this object sends `BEGIN` before the first statement that goes through SQLAlchemy or writes,
    and `COMMIT`/`ROLLBACK` itself; a read sent with `fetchrow` outside a transaction goes on its
    own. `close` ends whatever transaction is open, or invalidates the connection if it cannot:
    no connection goes back to the pool inside a transaction.
    """

    def __init__(self, engine: AsyncEngine, statements: DriverStatements | None = None) -> None:
        self._engine = engine
        self._opened = False
        # On SQLite, taken from the pool only by the first statement: a unit of work whose
        # submission goes to the group commit (`adapters.sqlalchemy.group_commit`) never
        # holds one, which the writer of its batch would need.
        self._connection: AsyncConnection | None = None
        self._turn: asyncio.Lock | None = None
        # On PostgreSQL: the statements sent to asyncpg directly, the adapted (DBAPI) connection
        # and whether this unit of work has sent its `BEGIN` (SQLAlchemy's connection is in
        # autocommit mode there, and knows nothing of the transaction).
        self.statements = statements
        self._adapted: Any = None
        self._begun = False

    async def open(self) -> None:
        if self._opened:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._opened = True
        if self.statements is not None:
            self._connection, self._adapted = await self.statements.connections.checkout()

    async def execute(self, sql: str, arguments: list[Any]) -> str:
        """Send a writing statement to asyncpg, in the transaction (begun first if need be);
        its status (`UPDATE 3`)."""
        self._require_open()
        if not self._begun:
            await self._begin()
        status: str = await self._driver_call("execute", sql, arguments)
        return status

    @property
    def in_transaction(self) -> bool:
        """Whether a statement of this unit of work began a transaction not yet ended."""
        connection = self._connected()
        if self.statements is not None:
            return self._begun
        return connection is not None and connection.in_transaction()

    async def execute_alone(self, sql: str, arguments: list[Any]) -> None:
        """On PostgreSQL, outside a transaction: send a writing statement on its own, in
        autocommit mode (one round trip, no `BEGIN` and `COMMIT` around it). It is committed
        when this returns, or it changed nothing."""
        self._require_open()
        if self._begun:
            raise RuntimeError("a transaction is open: its statements go with `execute`")
        await self._driver_call("execute", sql, arguments)

    async def fetch_locked(self, sql: str, arguments: list[Any]) -> list[Any]:
        """Send a statement that locks the rows it reads, in the transaction (begun first if
        need be); its rows."""
        self._require_open()
        if not self._begun:
            await self._begin()
        rows: list[Any] = await self._driver_call("fetch", sql, arguments)
        return rows

    async def fetchrow(self, sql: str, arguments: list[Any]) -> Any:
        """Send a reading statement to asyncpg: in the transaction if there is one, else on its
        own (autocommit: one round trip, no `BEGIN` and `ROLLBACK` around it; PostgreSQL reads
        committed data either way, a fresh snapshot for each statement)."""
        self._require_open()
        return await self._driver_call("fetchrow", sql, arguments)

    async def _begin(self) -> None:
        await self._driver_call("execute", "BEGIN", None)
        self._begun = True

    async def _end(self, statement: str) -> None:
        self._begun = False
        await self._driver_call("execute", statement, None)

    async def _driver_call(self, method: str, sql: str, arguments: list[Any] | None) -> Any:
        statements, connection = self.statements, self._require_open()
        assert statements is not None
        driver = self._adapted.driver_connection
        try:
            if arguments is None:
                return await getattr(driver, method)(sql)
            return await getattr(driver, method)(sql, *arguments)
        except Exception as error:
            translated, broken = translate_error(
                error, sql, arguments, self._adapted, statements.dialect
            )
            if broken:
                self._begun = False
                await connection.invalidate(translated)
            if translated is error:
                raise
            raise translated from error

    async def connection(self, *, write: bool) -> AsyncConnection:
        """The connection, inside a transaction. `write`: this statement locks or changes rows."""
        connection = self._connected()
        if self.statements is not None:
            assert connection is not None
            if not self._begun:
                await self._begin()
            return connection
        if connection is None:
            connection = self._connection = await self._engine.connect()
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
        connection = self._connected()
        if self.statements is not None:
            if self._begun:
                await self._end("COMMIT")
            return
        try:
            if connection is not None and connection.in_transaction():
                await connection.commit()
        finally:
            self._end_write_turn()

    async def rollback(self) -> None:
        connection = self._connected()
        if self.statements is not None:
            if self._begun:
                await self._end("ROLLBACK")
            return
        try:
            if connection is not None and connection.in_transaction():
                await connection.rollback()
        finally:
            self._end_write_turn()

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back to the pool."""
        connection = self._connected()
        if connection is None:
            self._opened = False
            return
        if self.statements is not None:
            try:
                if not connection.invalidated and (
                    self._begun or self._adapted.driver_connection.is_in_transaction()
                ):
                    await self._end("ROLLBACK")
            except BaseException:
                # Never back to the pool inside a transaction.
                if not connection.invalidated:
                    await connection.invalidate()
                raise
            finally:
                adapted, self._connection, self._adapted = self._adapted, None, None
                self._opened = False
                await self.statements.connections.checkin(connection, adapted)
            return
        self._connection, self._opened = None, False
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
        connection = self._connected()
        if connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return connection

    def _connected(self) -> AsyncConnection | None:
        """The connection, or None on SQLite before the first statement."""
        if not self._opened:
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
