"""Whether the database answers: a `SELECT 1` on a connection from the pool."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sqlalchemy.transaction import DriverConnections

__all__ = ["DatabaseProbe"]


class DatabaseProbe:
    name = "database"
    required = True

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # On PostgreSQL the units of work may keep every connection of the pool while they
        # run (`DriverConnections`): the probe takes one the same way, so it never waits.
        self._connections = DriverConnections.of(engine)

    async def check(self) -> None:
        if self._connections is None:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        connection, adapted = await self._connections.checkout()
        try:
            await connection.execute(text("SELECT 1"))
            await connection.rollback()
        finally:
            await self._connections.checkin(connection, adapted)
