"""The storage contract and the migrations on PostgreSQL, each test in a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.migrate import upgrade
from application.ports.unit_of_work import UnitOfWorkFactory
from tests.unit.adapters.adapter_contract import (
    MigrationContract,
    SkipLockedContract,
    SqlAlchemyContract,
    StorageContract,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def uow_factory(postgres_database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url)
    try:
        yield SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    finally:
        await engine.dispose()


@pytest.fixture
def empty_database_url(postgres_database_url: str) -> str:
    return postgres_database_url


class TestStorageOnPostgres(StorageContract):
    """Includes two units of work claiming one task with `for_update`: the second waits on
    the row lock (`SELECT … FOR UPDATE`) and then sees the first's claim."""


class TestRowLocksOnPostgres(SkipLockedContract):
    pass


class TestSqlAlchemyOnPostgres(SqlAlchemyContract):
    pass


class TestPostgresMigrations(MigrationContract):
    pass
