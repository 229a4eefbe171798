"""The storage contract and the migrations on PostgreSQL, each test in a database of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.health import DatabaseProbe
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
    assert_same_state,
    load,
    load_secret,
    some_credentials,
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


async def test_a_task_added_and_committed_in_one_call_is_one_statement_on_postgres(
    postgres_database_url: str,
) -> None:
    # given a storage whose statements to PostgreSQL are recorded, its connection opened
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=1)
    sent: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def record(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda query: sent.append(query.query))

    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    try:
        async with factory() as uow:
            assert await uow.tasks.summary(a_task().id) is None
        await _delivered_to_query_loggers()
        sent.clear()

        # when a task is added with its message and credentials, and committed
        task = a_task()
        message = a_message(task, T0)
        async with factory() as uow:
            await uow.add_task_and_commit(task, message, some_credentials())
        await _delivered_to_query_loggers()

        # then one statement was sent: no BEGIN, no COMMIT; and all three were stored
        assert len(sent) == 1
        assert sent[0].startswith("WITH ")
        assert_same_state(await load(factory, task.id), task)
        assert await load_secret(factory, task.id) == some_credentials()
        async with factory() as uow:
            assert await uow.outbox.unpublished(10) == [message]
    finally:
        await engine.dispose()


async def _delivered_to_query_loggers() -> None:
    # asyncpg hands each query to its loggers with `loop.call_soon`: one turn of the loop
    # delivers every query already sent (a yield, not a wait for time to pass).
    await asyncio.sleep(0)


async def test_a_unit_of_work_cancelled_while_its_statement_waits_gives_back_a_clean_connection(
    postgres_database_url: str,
) -> None:
    """On PostgreSQL a unit of work sends BEGIN, COMMIT and ROLLBACK itself: cancelled in the
    middle of its transaction, it must still leave its connection outside any transaction."""
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=2, max_overflow=0)
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    try:
        task = a_task()
        async with factory() as holder:
            # given an uncommitted task, which a second insert of its id waits for
            await holder.tasks.add(task)

            async def add_it_again() -> None:
                async with factory() as uow:
                    await uow.tasks.add(task)

            waiting = asyncio.create_task(add_it_again())
            await _until_a_statement_waits_for_a_lock(postgres_database_url)

            # when the waiting unit of work is cancelled, and the first ends without commit
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting

        # then both connections of the pool serve new units of work, each its own transaction
        async def submit_one() -> Task:
            added = a_task()
            async with factory() as uow:
                assert await uow.tasks.summary(task.id) is None
                await uow.add_task_and_commit(added, a_message(added, T0))
            return added

        added = await asyncio.gather(submit_one(), submit_one())
        for one in added:
            assert_same_state(await load(factory, one.id), one)
        assert await load(factory, task.id) is None
    finally:
        await engine.dispose()


async def _until_a_statement_waits_for_a_lock(url: str, within: float = 10.0) -> None:
    # On a connection of its own: the pool's are both taken.
    observer = create_engine(url, poolclass=NullPool)
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    try:
        async with asyncio.timeout(within), observer.connect() as connection:
            while not (await connection.execute(query)).scalar_one():
                await connection.rollback()  # a fresh snapshot of pg_stat_activity
                await asyncio.sleep(0.02)
    finally:
        await observer.dispose()


async def test_units_of_work_hand_their_connection_on_while_others_are_open(
    postgres_database_url: str,
) -> None:
    """A unit of work that ends while another is open leaves its connection for the next one;
    the last to end gives every connection back to the pool (nothing kept out of it when no
    unit of work is open, so disposing of the engine closes them all)."""
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=4, max_overflow=0)
    pool: Any = engine.pool
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    task = a_task()
    try:
        async with factory() as first:
            await first.tasks.summary(task.id)
            async with factory() as second:
                await second.add_task_and_commit(task, a_message(task, T0))
            # the second's connection is kept, out of the pool, for the next unit of work
            assert pool.checkedout() == 2
            async with factory() as third:
                assert (await third.tasks.summary(task.id)) is not None
                assert pool.checkedout() == 2  # the kept one, not a third from the pool
            async with factory() as fourth:
                await fourth.tasks.add(a_task())  # a transaction left open: rolled back
            async with factory() as fifth:
                assert len(await fifth.tasks.pending_ids()) == 1
                await fifth.commit()
        assert pool.checkedout() == 0
    finally:
        await engine.dispose()


async def test_a_kept_connection_the_server_ended_is_not_handed_on(
    postgres_database_url: str,
) -> None:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=4, max_overflow=0)
    pool: Any = engine.pool
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    killer = create_engine(postgres_database_url, poolclass=NullPool)
    try:
        async with factory() as first:
            await first.tasks.summary(a_task().id)
            async with factory() as second:
                await second.tasks.summary(a_task().id)
            assert pool.checkedout() == 2
            # the server ends both connections (a restart, an administrator)
            async with killer.connect() as connection:
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            await asyncio.sleep(0.2)  # the driver sees its sockets closed
            async with factory() as third:
                assert await third.tasks.summary(a_task().id) is None
        assert pool.checkedout() == 0
        async with factory() as again:
            assert await again.tasks.summary(a_task().id) is None
    finally:
        await killer.dispose()
        await engine.dispose()


async def test_the_health_probe_takes_a_kept_connection_rather_than_wait_for_the_pool(
    postgres_database_url: str,
) -> None:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=2, max_overflow=0, pool_timeout=2)
    pool: Any = engine.pool
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    probe = DatabaseProbe(engine)
    try:
        async with factory() as first:
            await first.tasks.summary(a_task().id)
            async with factory() as second:
                await second.tasks.summary(a_task().id)
            assert pool.checkedout() == 2  # the pool has none left: one open, one kept

            await probe.check()

            async with factory() as third:
                assert await third.tasks.summary(a_task().id) is None
        assert pool.checkedout() == 0
    finally:
        await engine.dispose()


async def test_a_unit_of_work_waiting_for_the_pool_gets_the_next_connection_given_back(
    postgres_database_url: str,
) -> None:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url, pool_size=1, max_overflow=0, pool_timeout=5)
    factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    try:
        started = asyncio.Event()

        async def second() -> None:
            started.set()
            async with factory() as uow:  # waits: the pool's only connection is the first's
                assert await uow.tasks.summary(a_task().id) is None

        async with factory() as first:
            await first.tasks.summary(a_task().id)
            waiting = asyncio.create_task(second())
            await started.wait()
            await asyncio.sleep(0.1)
        # the first ends while the second waits: its connection goes to the second
        async with asyncio.timeout(3):
            await waiting
    finally:
        await engine.dispose()
