"""One unit of work's connection and transaction, shared by its repository and outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sqlalchemy.engine import prepare_sqlite_write

__all__ = ["SqlAlchemyTransaction"]


class SqlAlchemyTransaction:
    """Holds one `AsyncConnection` from `open()` to `close()`.

    The transaction begins with the first statement, because only then is it known whether the
    unit of work writes: on SQLite a writing one must begin with `BEGIN IMMEDIATE` (see
    `adapters.sqlalchemy.engine`). Statements after `commit()` begin a new transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def open(self) -> None:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._connection = await self._engine.connect()

    async def connection(self, *, write: bool) -> AsyncConnection:
        """The connection, inside a transaction. `write`: this statement locks or changes rows."""
        connection = self._require_open()
        if not connection.in_transaction():
            if write:
                prepare_sqlite_write(connection)
            await connection.begin()
        return connection

    async def commit(self) -> None:
        connection = self._require_open()
        if connection.in_transaction():
            await connection.commit()

    async def rollback(self) -> None:
        connection = self._require_open()
        if connection.in_transaction():
            await connection.rollback()

    async def close(self) -> None:
        """Roll back whatever was not committed and give the connection back to the pool."""
        connection, self._connection = self._require_open(), None
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            await connection.close()

    def _require_open(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._connection
