"""The storage contract on the in-memory adapters and on SQLAlchemy over SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from adapters.fernet import FernetCredentialsCipher
from adapters.memory import InMemoryUnitOfWorkFactory
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.migrate import upgrade
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.task import Task
from tests.unit.adapters.adapter_contract import (
    T0,
    MigrationContract,
    SkipLockedContract,
    SqlAlchemyContract,
    StorageContract,
    a_message,
    a_task,
    load,
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


@asynccontextmanager
async def submissions_to_sqlite(
    directory: Path, **engine_options: Any
) -> AsyncIterator[tuple[SqlAlchemyUnitOfWorkFactory, Callable[[Task], Awaitable[None]]]]:
    """A migrated SQLite's units of work, and a submission to it as `POST /new` makes one."""
    url = sqlite_url(directory)
    await upgrade(url)
    engine = create_engine(url, **engine_options)
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())

    async def submit(task: Task) -> None:
        async with factory() as uow:
            await uow.add_task_and_commit(task, a_message(task, T0))

    try:
        yield factory, submit
    finally:
        await engine.dispose()


async def test_submissions_at_once_on_sqlite_share_their_transactions(tmp_path: Path) -> None:
    # given SQLite, counting its commits
    async with submissions_to_sqlite(tmp_path) as (factory, submit):
        commits: list[int] = []
        event.listen(factory.engine.sync_engine, "commit", lambda _: commits.append(1))
        tasks = [a_task() for _ in range(40)]

        # when 40 submissions arrive at once
        await asyncio.gather(*(submit(task) for task in tasks))

        # then all are kept, written by far fewer transactions than there were submissions
        assert 1 <= len(commits) <= 4
        for task in tasks:
            assert await load(factory, task.id) is not None


async def test_a_submission_given_up_on_sqlite_leaves_the_others_of_its_batch(
    tmp_path: Path,
) -> None:
    async with submissions_to_sqlite(tmp_path) as (factory, submit):
        # when 20 submissions wait together and one of them is given up (its client left)
        tasks = [a_task() for _ in range(20)]
        submissions = [asyncio.create_task(submit(task)) for task in tasks]
        await asyncio.sleep(0)  # each has joined the queue
        submissions[5].cancel()
        outcomes = await asyncio.gather(*submissions, return_exceptions=True)

        # then that one alone is cancelled, and every other is kept
        assert isinstance(outcomes[5], asyncio.CancelledError)
        assert [outcome for index, outcome in enumerate(outcomes) if index != 5] == [None] * 19
        for index, task in enumerate(tasks):
            if index != 5:
                assert await load(factory, task.id) is not None


async def test_waiting_submissions_hold_no_connection_of_the_pool(tmp_path: Path) -> None:
    # given SQLite with a pool of a single connection, which waits at most a second for it
    options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 1}
    async with submissions_to_sqlite(tmp_path, **options) as (factory, submit):
        # when ten submit at once, then each is kept: the one connection writes them all
        tasks = [a_task() for _ in range(10)]
        await asyncio.gather(*(submit(task) for task in tasks))
        for task in tasks:
            assert await load(factory, task.id) is not None
