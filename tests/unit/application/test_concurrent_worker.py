"""The in-process worker works on several tasks at once, never more than it is allowed, and
completes each exactly once — also when the same id comes twice; stopped, it hands back what
it holds."""

from __future__ import annotations

import asyncio
import uuid

from adapters.memory import InMemoryUnitOfWorkFactory, InProcessTaskQueue
from adapters.memory.function_analyzer import FunctionAnalyzer
from application.ports.analyzer import ProgressSink
from domain.result import AnalysisResult
from domain.task import TaskStatus
from domain.workload import Workload
from entrypoints.runners import InProcessWorkerLoop
from tests.unit.application.conftest import FixedClock
from tests.unit.application.test_task_credentials import a_marker, processor, submit, task_of
from tests.unit.builders import a_result


class SlowAnalyzer:
    """Waits `seconds` per analysis (an LLM's answer, say) and counts how many run at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.analysed: list[Workload] = []
        self.all_running = asyncio.Event()
        self.expected = 0

    async def __call__(self, workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        self.running += 1
        self.most = max(self.most, self.running)
        if self.running == self.expected:
            self.all_running.set()
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.running -= 1
        self.analysed.append(workload)
        return a_result(workload)


async def test_tasks_run_together_up_to_the_concurrency_and_each_completes_once(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, queue: InProcessTaskQueue
) -> None:
    # given 20 tasks, each published twice (delivery is at least once)
    ids = [await submit(uow_factory, clock, a_marker()) for _ in range(20)]
    for task_id in ids + ids:
        await queue.publish(task_id)
    slow = SlowAnalyzer(0.2)
    loop = InProcessWorkerLoop(queue, processor(uow_factory, clock, FunctionAnalyzer(slow)), 5)

    # when the worker runs with a concurrency of 5, the tasks are done well before one at a
    # time would finish them (4 s): the deadline
    running = asyncio.create_task(loop.run())
    await asyncio.wait_for(queue.join(), 20 * 0.2 / 2)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    # then five at a time, never more, and every task completed on its first attempt, once
    assert slow.most == 5
    assert len(slow.analysed) == 20
    for task_id in ids:
        task = await task_of(uow_factory, task_id)
        assert task.status is TaskStatus.COMPLETED
        assert task.attempts == 1


async def test_a_stopped_worker_hands_back_every_task_it_holds(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, queue: InProcessTaskQueue
) -> None:
    ids = [await submit(uow_factory, clock, a_marker()) for _ in range(3)]
    for task_id in ids:
        await queue.publish(task_id)
    slow = SlowAnalyzer(60)
    slow.expected = 3
    loop = InProcessWorkerLoop(queue, processor(uow_factory, clock, FunctionAnalyzer(slow)), 3)
    running = asyncio.create_task(loop.run())
    await asyncio.wait_for(slow.all_running.wait(), 10)

    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    for task_id in ids:
        task = await task_of(uow_factory, task_id)
        assert task.status is TaskStatus.PENDING
        assert task.attempts == 1
    assert isinstance(ids[0], uuid.UUID)
