"""What the in-memory unit of work adds to the storage contract."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.fernet import FernetCredentialsCipher
from adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from tests.unit.adapters.adapter_contract import (
    T0,
    a_task,
    load,
    load_secret,
    some_credentials,
    store,
    store_with_secret,
)


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


async def test_a_secret_for_an_unknown_task_is_refused() -> None:
    uow_factory = InMemoryUnitOfWorkFactory()
    async with uow_factory() as uow:
        with pytest.raises(LookupError, match="does not exist"):
            await uow.secrets.put(uuid.uuid4(), some_credentials(), T0)


async def test_the_store_holds_the_secrets_as_ciphertext_only() -> None:
    # given a task stored with credentials that carry a marker
    uow_factory = InMemoryUnitOfWorkFactory()
    marker = uuid.uuid4().hex
    task = a_task()
    await store_with_secret(uow_factory, task, some_credentials(marker))

    # then what the store keeps is bytes in which no part of them can be found
    [record] = uow_factory.store.secrets.values()
    assert isinstance(record.ciphertext, bytes)
    assert marker.encode() not in record.ciphertext
    assert b"alice" not in record.ciphertext
    assert marker not in repr(uow_factory.store.secrets)


async def test_a_factory_with_another_key_cannot_read_the_secrets_of_a_shared_store() -> None:
    shared = InMemoryStore()
    cipher = FernetCredentialsCipher.with_new_key()
    task = a_task()
    await store_with_secret(InMemoryUnitOfWorkFactory(shared, cipher), task, some_credentials())

    assert await load_secret(InMemoryUnitOfWorkFactory(shared, cipher), task.id) == (
        some_credentials()
    )
    assert await load_secret(InMemoryUnitOfWorkFactory(shared), task.id) is None
