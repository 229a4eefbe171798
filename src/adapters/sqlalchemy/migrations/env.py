"""Alembic environment for the service's schema (`adapters.sqlalchemy.tables.metadata`).

Three ways in:
- `adapters.sqlalchemy.migrate` hands over a connection in `config.attributes["connection"]`;
- the `alembic` CLI (repo-root `alembic.ini`) gives a URL in `sqlalchemy.url`, or none, and then
  `DBANALYSIS_DATABASE_URL` is used; the migration runs on its own event loop;
- `alembic … --sql` renders the SQL offline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from adapters.sqlalchemy.migrate import run_in_migration_transaction
from adapters.sqlalchemy.tables import metadata

config = context.config

if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DBANALYSIS_DATABASE_URL")
    if not url:
        raise RuntimeError(
            "no database URL: set sqlalchemy.url (alembic -x / alembic.ini) "
            "or the DBANALYSIS_DATABASE_URL environment variable"
        )
    return url


def do_run_migrations(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by rebuilding them; the engine lets SQLAlchemy emit BEGIN, so
        # its DDL is transactional too.
        render_as_batch=is_sqlite,
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration broke foreign keys: {broken}")


def run_migrations_offline() -> None:
    url = database_url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    migration = run_in_migration_transaction(database_url(), do_run_migrations)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(migration)
        return
    # Called from async code without a connection: the running loop cannot be re-entered, so
    # the migration gets a loop of its own in a worker thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, migration).result()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
