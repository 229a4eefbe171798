"""What the in-memory unit of work adds to the storage contract."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from tests.unit.adapters.adapter_contract import a_task, load, store


async def test_adding_a_task_twice_is_refused() -> None:
    uow_factory = InMemoryUnitOfWorkFactory()
    task = a_task()
    await store(uow_factory, task)

    async with uow_factory() as uow:
        with pytest.raises(ValueError, match="already exists"):
            await uow.tasks.add(task)


async def test_a_second_unit_of_work_adding_the_same_task_waits_then_is_refused() -> None:
    # given a unit of work that added a task and has not committed yet
    uow_factory = InMemoryUnitOfWorkFactory()
    task = a_task()
    async with uow_factory() as first, uow_factory() as second:
        await first.tasks.add(task)

        # when another one adds the same task
        adding = asyncio.create_task(second.tasks.add(task))
        await asyncio.sleep(0.01)

        # then it waits for the first to finish, like a primary key on a database, and fails
        assert not adding.done()
        await first.commit()
        with pytest.raises(ValueError, match="already exists"):
            await adding

    assert await load(uow_factory, task.id) is not None


async def test_factories_sharing_a_store_see_the_same_tasks() -> None:
    shared = InMemoryStore()
    task = a_task()
    await store(InMemoryUnitOfWorkFactory(shared), task)

    assert await load(InMemoryUnitOfWorkFactory(shared), task.id) is not None
    assert await load(InMemoryUnitOfWorkFactory(), task.id) is None


async def test_a_unit_of_work_cannot_be_entered_twice_at_once() -> None:
    uow = InMemoryUnitOfWorkFactory()()
    async with uow:
        with pytest.raises(RuntimeError):
            await uow.__aenter__()
