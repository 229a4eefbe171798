"""The async engine, set up the same way for the application and for migrations.

On SQLite the driver's own transaction handling is switched off and SQLAlchemy emits `BEGIN`
itself, so that every statement — reads and DDL included — runs inside the unit of work's
transaction. A unit of work that means to write starts with `BEGIN IMMEDIATE`: it takes SQLite's
single write lock up front (waiting up to `busy_timeout` for it), which is how two claims of the
same task serialize on SQLite, where `SELECT … FOR UPDATE` does not exist. Reading units of work
start with a plain `BEGIN` and, thanks to WAL, never wait for a writer. (A unit of work that
reads with a plain `get` and then writes must upgrade its lock, and fails with "database is
locked" if another wrote in between: load with `for_update=True` what you mean to change.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["create_engine", "prepare_sqlite_write"]

# Where a unit of work leaves the BEGIN statement for the `begin` listener to emit.
_SQLITE_BEGIN = "dbanalysis.sqlite_begin"


def create_engine(
    url: str | URL,
    *,
    echo: bool = False,
    busy_timeout: timedelta = timedelta(seconds=5),
    foreign_keys: bool = True,
    **options: Any,
) -> AsyncEngine:
    """An `AsyncEngine` for `postgresql+asyncpg://…` or `sqlite+aiosqlite:///path`.

    SQLite gets WAL, enforced foreign keys (`foreign_keys=False` is for migrations, whose table
    rebuilds must not cascade) and `busy_timeout`. Use a file: an in-memory SQLite database is
    one shared connection, so units of work would not be isolated.
    """
    engine = create_async_engine(make_url(url), echo=echo, **options)
    if engine.dialect.name == "sqlite":
        _set_up_sqlite(engine, busy_timeout=busy_timeout, foreign_keys=foreign_keys)
    return engine


def prepare_sqlite_write(connection: AsyncConnection) -> None:
    """Make the next transaction on this connection begin with `BEGIN IMMEDIATE`."""
    if connection.dialect.name == "sqlite":
        connection.info[_SQLITE_BEGIN] = "BEGIN IMMEDIATE"


def _set_up_sqlite(engine: AsyncEngine, *, busy_timeout: timedelta, foreign_keys: bool) -> None:
    milliseconds = int(busy_timeout.total_seconds() * 1000)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {milliseconds}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.info.pop(_SQLITE_BEGIN, "BEGIN"))
