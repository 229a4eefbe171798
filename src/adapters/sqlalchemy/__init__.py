"""SQLAlchemy (async) adapters: one repository, outbox, secret store and unit of work for
PostgreSQL (asyncpg) and SQLite (aiosqlite). The schema lives in `tables` and is created by the
Alembic migrations in `migrations`, run with `adapters.sqlalchemy.migrate.upgrade(url)`."""

from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.outbox import SqlAlchemyOutbox
from adapters.sqlalchemy.secret_store import SqlAlchemySecretStore
from adapters.sqlalchemy.tables import metadata
from adapters.sqlalchemy.task_repository import SqlAlchemyTaskRepository
from adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory

__all__ = [
    "SqlAlchemyOutbox",
    "SqlAlchemySecretStore",
    "SqlAlchemyTaskRepository",
    "SqlAlchemyUnitOfWork",
    "SqlAlchemyUnitOfWorkFactory",
    "create_engine",
    "metadata",
]
