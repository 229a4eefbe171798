"""Run the Alembic migrations from code: `await upgrade(url)`.

The package ships its migrations (`adapters/sqlalchemy/migrations`), so this works from an
installed wheel and any working directory; no `alembic.ini` is needed. The whole upgrade or
downgrade runs in one transaction on the caller's event loop, through a connection handed to
`env.py` in `config.attributes["connection"]`.

    await upgrade("postgresql+asyncpg://app@db/app")            # to head
    await downgrade("sqlite+aiosqlite:///var/tasks.db", "base")
    alembic_config(url)  # for any other `alembic.command`, called with a connection or not
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from adapters.sqlalchemy.engine import create_engine, prepare_sqlite_write
from adapters.sqlalchemy.tables import metadata

__all__ = [
    "MIGRATIONS_DIRECTORY",
    "alembic_config",
    "downgrade",
    "run_in_migration_transaction",
    "schema_differences",
    "upgrade",
]

MIGRATIONS_DIRECTORY = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic `Config` for the packaged migrations and this database URL.

    Without `url`, `env.py` reads `DBANALYSIS_DATABASE_URL`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    # New revisions are named like the first one: `0002_add_something.py`, with `--rev-id 0002`.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        # The value goes through ConfigParser interpolation, where `%` (URL-encoded passwords)
        # must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`."""
    config = alembic_config(url)
    await _run_command(url, config, lambda: command.upgrade(config, revision))


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`"base"` empties it, `"-1"` one step)."""
    config = alembic_config(url)
    await _run_command(url, config, lambda: command.downgrade(config, revision))


async def schema_differences(url: str) -> list[Any]:
    """What `alembic check` would find between the database and `tables.metadata` (empty when
    the migrations and the code agree)."""
    differences: list[Any] = []

    def compare(connection: Connection) -> None:
        differences.extend(compare_metadata(MigrationContext.configure(connection), metadata))

    await run_in_migration_transaction(url, compare)
    return differences


async def run_in_migration_transaction(url: str, work: Callable[[Connection], None]) -> None:
    """Run `work` on a sync connection inside one transaction, committed if `work` returns.

    The engine is the application's, with SQLite foreign keys off (a batch migration rebuilds a
    table by dropping it, which must not cascade) and the write lock taken up front.
    """
    engine = create_engine(url, foreign_keys=False, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            prepare_sqlite_write(connection)
            async with connection.begin():
                await connection.run_sync(work)
    finally:
        await engine.dispose()


async def _run_command(url: str, config: Config, run: Callable[[], None]) -> None:
    def with_connection(connection: Connection) -> None:
        config.attributes["connection"] = connection
        run()

    await run_in_migration_transaction(url, with_connection)
