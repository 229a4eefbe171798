"""A worker stopped (its asyncio task cancelled) at any moment leaves no task `processing`
until its lease runs out: a claim being committed is handed back, a result being stored is
stored."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.memory import InMemoryUnitOfWorkFactory
from adapters.memory.function_analyzer import FunctionAnalyzer
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.use_cases.process_task import ProcessTaskRequest
from domain.task import TaskStatus
from tests.unit.application.conftest import FixedClock
from tests.unit.application.test_task_credentials import (
    a_marker,
    processor,
    submit,
    succeed,
    task_of,
)


class GatedUnitOfWorkFactory(InMemoryUnitOfWorkFactory):
    """Units of work over `store` whose `gated`-th commit waits at a gate: the test stops the
    worker right then, and opens the gate."""

    def __init__(self, shared: InMemoryUnitOfWorkFactory, gated: int) -> None:
        super().__init__(shared.store, shared.cipher)
        self.commits = 0
        self.gated = gated
        self.reached = asyncio.Event()
        self.gate = asyncio.Event()

    def __call__(self) -> InMemoryUnitOfWork:
        unit = super().__call__()
        commit = unit.commit

        async def gated_commit() -> None:
            self.commits += 1
            if self.commits == self.gated:
                self.reached.set()
                await self.gate.wait()
            await commit()

        unit.commit = gated_commit  # type: ignore[method-assign]
        return unit


async def stop_at_commit(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, commit: int
) -> uuid.UUID:
    task_id = await submit(uow_factory, clock, a_marker())
    gated = GatedUnitOfWorkFactory(uow_factory, commit)
    worker = processor(gated, clock, FunctionAnalyzer(succeed))  # type: ignore[arg-type]
    running = asyncio.create_task(worker.execute(ProcessTaskRequest(task_id)))
    await gated.reached.wait()
    running.cancel()  # the process is stopping
    gated.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    return task_id


async def test_a_worker_stopped_while_its_claim_commits_hands_the_task_back(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # the first commit of the worker's is its claim
    task_id = await stop_at_commit(uow_factory, clock, commit=1)
    task = await task_of(uow_factory, task_id)
    assert task.status is TaskStatus.PENDING
    assert task.attempts == 1


async def test_a_worker_stopped_while_it_stores_the_result_stores_it(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # the claim, then (no progress reported) the result
    task_id = await stop_at_commit(uow_factory, clock, commit=2)
    task = await task_of(uow_factory, task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.result is not None
