"""The storage contract on the in-memory adapters and on SQLAlchemy over SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.fernet import FernetCredentialsCipher
from adapters.memory import InMemoryUnitOfWorkFactory
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.migrate import upgrade
from application.ports.unit_of_work import UnitOfWorkFactory
from tests.unit.adapters.adapter_contract import (
    MigrationContract,
    SkipLockedContract,
    SqlAlchemyContract,
    StorageContract,
    a_task,
)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'tasks.db'}"


async def migrated_sqlite(directory: Path) -> AsyncIterator[SqlAlchemyUnitOfWorkFactory]:
    url = sqlite_url(directory)
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    finally:
        await engine.dispose()


class TestStorage(StorageContract):
    """The in-memory and the SQLite adapters keep the storage contract."""

    @pytest.fixture(params=["memory", "sqlite"])
    async def uow_factory(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> AsyncIterator[UnitOfWorkFactory]:
        if request.param == "memory":
            yield InMemoryUnitOfWorkFactory()
        else:
            async for factory in migrated_sqlite(tmp_path):
                yield factory


class TestInMemoryRowLocks(SkipLockedContract):
    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory()


class TestSqlAlchemyOnSqlite(SqlAlchemyContract):
    @pytest.fixture
    async def uow_factory(self, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
        async for factory in migrated_sqlite(tmp_path):
            yield factory


class TestSqliteMigrations(MigrationContract):
    @pytest.fixture
    def empty_database_url(self, tmp_path: Path) -> str:
        return sqlite_url(tmp_path)


async def test_many_writers_at_once_on_sqlite_all_commit(
    tmp_path: Path,
) -> None:
    # given SQLite that waits at most 0.2 s for its write lock by itself
    url = sqlite_url(tmp_path)
    await upgrade(url)
    engine = create_engine(url, busy_timeout=timedelta(seconds=0.2))
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    committed: list[int] = []

    async def submit(number: int) -> None:
        async with factory() as uow:
            await uow.tasks.add(a_task())
            await asyncio.sleep(0.01)  # the loop serves others while the lock is held
            await uow.commit()
            committed.append(number)

    try:
        # when 60 units of work write at once, each holding the lock for a while
        await asyncio.gather(*(submit(number) for number in range(60)))
    finally:
        await engine.dispose()

    # then none gave up on "database is locked": they took turns
    assert sorted(committed) == list(range(60))
