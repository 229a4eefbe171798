"""The use cases on in-memory adapters: what each promises, from submit to result."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest

from adapters.memory import InMemoryUnitOfWorkFactory, InProcessTaskQueue
from adapters.memory.function_analyzer import FunctionAnalyzer
from application.errors import TaskNotCompleted, TaskNotFound
from application.ports.analyzer import ProgressSink
from application.ports.task_queue import TaskQueueUnavailable
from application.use_cases.get_task_result import GetTaskResult, GetTaskResultRequest
from application.use_cases.get_task_status import GetTaskStatus, GetTaskStatusRequest
from application.use_cases.process_task import ProcessOutcome, ProcessTask, ProcessTaskRequest
from application.use_cases.relay_outbox import RelayOutbox, RelayOutboxRequest
from application.use_cases.republish_pending_tasks import RepublishPendingTasks
from application.use_cases.requeue_stale_tasks import RequeueStaleTasks, RequeueStaleTasksRequest
from application.use_cases.submit_task import SubmitTask, SubmitTaskRequest
from domain.result import AnalysisResult
from domain.task import ATTEMPTS_EXHAUSTED, Progress, TaskStatus
from domain.workload import Workload
from tests.unit.application.conftest import FixedClock
from tests.unit.builders import a_result, a_workload

LEASE = timedelta(minutes=10)


async def succeed(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
    await on_progress(Progress("parse", 10))
    await on_progress(Progress("rewrite", 70))
    return a_result(workload)


async def submit(
    uow: InMemoryUnitOfWorkFactory, clock: FixedClock, max_attempts: int = 3
) -> uuid.UUID:
    submitted = await SubmitTask(uow, clock, max_attempts).execute(SubmitTaskRequest(a_workload()))
    return submitted.task_id


def processor(
    uow: InMemoryUnitOfWorkFactory, clock: FixedClock, analyzer: FunctionAnalyzer
) -> ProcessTask:
    return ProcessTask(uow, analyzer, clock, LEASE)


async def load(uow_factory: InMemoryUnitOfWorkFactory, task_id: uuid.UUID):  # type: ignore[no-untyped-def]
    async with uow_factory() as uow:
        task = await uow.tasks.get(task_id)
    assert task is not None
    return task


class FailingPublisher:
    def __init__(self) -> None:
        self.attempts = 0

    async def publish(self, task_id: uuid.UUID) -> None:
        self.attempts += 1
        raise TaskQueueUnavailable("broker down")

    async def publish_many(self, task_ids: Sequence[uuid.UUID]) -> None:
        self.attempts += 1
        raise TaskQueueUnavailable("broker down")


async def test_submitting_stores_a_pending_task_and_its_outbox_message_together(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)

    task = await load(uow_factory, task_id)
    assert task.status is TaskStatus.PENDING
    async with uow_factory() as uow:
        messages = await uow.outbox.unpublished(10)
    assert [m.task_id for m in messages] == [task_id]


async def test_the_submitted_workload_keeps_no_credentials(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task = await load(uow_factory, await submit(uow_factory, clock))

    assert "s3cr3t-pw" not in repr(task.workload)
    assert "alice" not in repr(task.workload)


async def test_the_relay_publishes_each_message_once_and_marks_it(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, queue: InProcessTaskQueue
) -> None:
    first, second = await submit(uow_factory, clock), await submit(uow_factory, clock)
    relay = RelayOutbox(uow_factory, queue, clock)

    summary = await relay.execute(RelayOutboxRequest())
    again = await relay.execute(RelayOutboxRequest())

    assert summary.published == 2
    assert again.published == 0
    assert {await queue.get(), await queue.get()} == {first, second}


async def test_a_queue_outage_keeps_the_message_for_the_next_round(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, queue: InProcessTaskQueue
) -> None:
    task_id = await submit(uow_factory, clock)
    down = FailingPublisher()

    summary = await RelayOutbox(uow_factory, down, clock).execute(RelayOutboxRequest())
    assert summary.queue_down
    async with uow_factory() as uow:
        [message] = await uow.outbox.unpublished(10)
    assert message.attempts == 1
    assert message.last_error == "broker down"

    recovered = await RelayOutbox(uow_factory, queue, clock).execute(RelayOutboxRequest())
    assert recovered.published == 1
    assert await queue.get() == task_id


async def test_with_the_queue_down_only_the_first_message_of_a_batch_is_tried(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, queue: InProcessTaskQueue
) -> None:
    submitted = [await submit(uow_factory, clock) for _ in range(5)]

    summary = await RelayOutbox(uow_factory, FailingPublisher(), clock).execute(
        RelayOutboxRequest()
    )

    assert (summary.published, summary.failed) == (0, 1)
    async with uow_factory() as uow:
        waiting = await uow.outbox.unpublished(10)
    assert sorted(message.attempts for message in waiting) == [0, 0, 0, 0, 1]
    recovered = await RelayOutbox(uow_factory, queue, clock).execute(RelayOutboxRequest())
    assert recovered.published == 5
    assert {await queue.get() for _ in submitted} == set(submitted)


async def test_a_long_analysis_without_progress_keeps_its_lease(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given a task whose analysis waits (queued for a process, or on the LLM) and reports
    # nothing, on a lease of 0.3 s
    task_id = await submit(uow_factory, clock)
    lease = timedelta(seconds=0.3)
    started, release = asyncio.Event(), asyncio.Event()

    async def waits(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        started.set()
        await release.wait()
        return a_result(workload)

    working = asyncio.create_task(
        ProcessTask(uow_factory, FunctionAnalyzer(waits), clock, lease).execute(
            ProcessTaskRequest(task_id)
        )
    )
    await asyncio.wait_for(started.wait(), 5)

    # when time passes far beyond the lease it was claimed with
    clock.advance(timedelta(minutes=10))

    # then the worker extends the lease from the new time, without any progress
    deadline = asyncio.get_running_loop().time() + 5
    while (await load(uow_factory, task_id)).lease_expires_at != clock.now() + lease:
        assert asyncio.get_running_loop().time() < deadline, "the lease was not extended"
        await asyncio.sleep(0.02)
    # and another worker finds the task held, not expired
    other = ProcessTask(uow_factory, FunctionAnalyzer(succeed), clock, lease)
    assert await other.execute(ProcessTaskRequest(task_id)) is ProcessOutcome.HELD_ELSEWHERE
    release.set()
    assert await asyncio.wait_for(working, 5) is ProcessOutcome.COMPLETED
    assert (await load(uow_factory, task_id)).attempts == 1


async def test_processing_completes_the_task_and_stores_its_result(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    analyzer = FunctionAnalyzer(succeed)

    outcome = await processor(uow_factory, clock, analyzer).execute(ProcessTaskRequest(task_id))

    assert outcome is ProcessOutcome.COMPLETED
    task = await load(uow_factory, task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.attempts == 1
    assert task.progress == Progress("done", 100)
    result = await GetTaskResult(uow_factory).execute(GetTaskResultRequest(task_id))
    assert [q.queryid for q in result.queries] == ["q1"]


async def test_redelivered_message_for_completed_task_is_ignored(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    analyzer = FunctionAnalyzer(succeed)
    process = processor(uow_factory, clock, analyzer)
    await process.execute(ProcessTaskRequest(task_id))

    outcome = await process.execute(ProcessTaskRequest(task_id))

    assert outcome is ProcessOutcome.ALREADY_FINAL
    assert len(analyzer.calls) == 1


async def test_a_message_for_an_unknown_task_is_dropped(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    process = processor(uow_factory, clock, FunctionAnalyzer(succeed))

    assert await process.execute(ProcessTaskRequest(uuid.uuid4())) is ProcessOutcome.NOT_FOUND


async def test_a_task_held_by_a_live_worker_is_left_alone(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        started.set()
        await release.wait()
        return a_result(workload)

    first = asyncio.create_task(
        processor(uow_factory, clock, FunctionAnalyzer(slow)).execute(ProcessTaskRequest(task_id))
    )
    await started.wait()
    duplicate = FunctionAnalyzer(succeed)

    outcome = await processor(uow_factory, clock, duplicate).execute(ProcessTaskRequest(task_id))
    release.set()

    assert outcome is ProcessOutcome.HELD_ELSEWHERE
    assert duplicate.calls == []
    assert await first is ProcessOutcome.COMPLETED


async def test_a_task_whose_lease_expired_is_taken_over_with_a_new_attempt(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    async with uow_factory() as uow:
        task = await uow.tasks.get(task_id)
        assert task is not None
        task.claim(clock.now(), LEASE)  # a worker claimed it, then died
        await uow.tasks.save(task)
        await uow.commit()
    clock.advance(LEASE + timedelta(seconds=1))

    outcome = await processor(uow_factory, clock, FunctionAnalyzer(succeed)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.COMPLETED
    assert (await load(uow_factory, task_id)).attempts == 2


async def test_a_task_abandoned_on_its_last_attempt_fails(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock, max_attempts=1)
    async with uow_factory() as uow:
        task = await uow.tasks.get(task_id)
        assert task is not None
        task.claim(clock.now(), LEASE)
        await uow.tasks.save(task)
        await uow.commit()
    clock.advance(LEASE)

    outcome = await processor(uow_factory, clock, FunctionAnalyzer(succeed)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.FAILED
    task = await load(uow_factory, task_id)
    assert task.error is not None
    assert task.error.code == ATTEMPTS_EXHAUSTED


async def test_an_analysis_error_fails_the_task_with_its_reason(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)

    async def reject(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        raise ValueError("the workload names no table")

    outcome = await processor(uow_factory, clock, FunctionAnalyzer(reject)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.FAILED
    with pytest.raises(TaskNotCompleted) as refused:
        await GetTaskResult(uow_factory).execute(GetTaskResultRequest(task_id))
    assert refused.value.status is TaskStatus.FAILED
    assert refused.value.error is not None
    assert refused.value.error.message == "the workload names no table"


async def test_a_worker_that_lost_its_lease_does_not_overwrite_the_new_holder(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)

    async def stalls_past_its_lease(
        workload: Workload, on_progress: ProgressSink
    ) -> AnalysisResult:
        clock.advance(LEASE + timedelta(seconds=1))
        # meanwhile another worker takes the task over
        takeover = FunctionAnalyzer(succeed)
        outcome = await processor(uow_factory, clock, takeover).execute(ProcessTaskRequest(task_id))
        assert outcome is ProcessOutcome.COMPLETED
        await on_progress(Progress("rewrite", 80))
        return a_result(workload)

    outcome = await processor(uow_factory, clock, FunctionAnalyzer(stalls_past_its_lease)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.LEASE_LOST
    task = await load(uow_factory, task_id)
    assert task.status is TaskStatus.COMPLETED
    assert task.attempts == 2


async def test_progress_is_visible_while_the_analysis_runs(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    seen: list[tuple[str, int]] = []

    async def observe(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        await on_progress(Progress("profile", 40))
        view = await GetTaskStatus(uow_factory).execute(GetTaskStatusRequest(task_id))
        seen.append((view.progress.stage, view.progress.percent))
        seen.append((str(view.status), view.attempts))
        return a_result(workload)

    await processor(uow_factory, clock, FunctionAnalyzer(observe)).execute(
        ProcessTaskRequest(task_id)
    )

    assert seen == [("profile", 40), ("processing", 1)]


async def test_stale_tasks_go_back_to_the_queue_until_attempts_run_out(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    alive = await submit(uow_factory, clock, max_attempts=2)
    last_try = await submit(uow_factory, clock, max_attempts=1)
    async with uow_factory() as uow:
        for task_id in (alive, last_try):
            task = await uow.tasks.get(task_id)
            assert task is not None
            task.claim(clock.now(), LEASE)
            await uow.tasks.save(task)
        await uow.commit()
        # the submit messages were published already
    async with uow_factory() as uow:
        for message in await uow.outbox.unpublished(10):
            await uow.outbox.mark_published(message.id, clock.now())
        await uow.commit()
    clock.advance(LEASE + timedelta(seconds=1))

    summary = await RequeueStaleTasks(uow_factory, clock).execute(RequeueStaleTasksRequest())

    assert summary.released == (alive,)
    assert summary.failed == (last_try,)
    assert (await load(uow_factory, alive)).status is TaskStatus.PENDING
    assert (await load(uow_factory, last_try)).status is TaskStatus.FAILED
    async with uow_factory() as uow:
        assert [m.task_id for m in await uow.outbox.unpublished(10)] == [alive]


async def test_pending_tasks_are_published_again_after_a_restart(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    async with uow_factory() as uow:
        for message in await uow.outbox.unpublished(10):
            await uow.outbox.mark_published(message.id, clock.now())
        await uow.commit()

    republished = await RepublishPendingTasks(uow_factory, clock).execute()

    assert republished == 1
    async with uow_factory() as uow:
        assert [m.task_id for m in await uow.outbox.unpublished(10)] == [task_id]


async def test_status_and_result_of_an_unknown_task_are_not_found(
    uow_factory: InMemoryUnitOfWorkFactory,
) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(TaskNotFound):
        await GetTaskStatus(uow_factory).execute(GetTaskStatusRequest(unknown))
    with pytest.raises(TaskNotFound):
        await GetTaskResult(uow_factory).execute(GetTaskResultRequest(unknown))


async def test_the_result_of_a_pending_task_is_not_ready(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)

    with pytest.raises(TaskNotCompleted) as refused:
        await GetTaskResult(uow_factory).execute(GetTaskResultRequest(task_id))
    assert refused.value.status is TaskStatus.PENDING


async def test_a_task_interrupted_by_a_shutdown_goes_back_to_pending(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    started = asyncio.Event()

    async def endless(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    running = asyncio.create_task(
        processor(uow_factory, clock, FunctionAnalyzer(endless)).execute(
            ProcessTaskRequest(task_id)
        )
    )
    await started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    task = await load(uow_factory, task_id)
    assert task.status is TaskStatus.PENDING
    assert task.attempts == 1
    async with uow_factory() as uow:
        assert task_id in [m.task_id for m in await uow.outbox.unpublished(10)]


async def test_an_unexpected_error_retries_the_task_on_a_later_attempt(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock)
    async with uow_factory() as uow:
        for message in await uow.outbox.unpublished(10):
            await uow.outbox.mark_published(message.id, clock.now())
        await uow.commit()
    failures = iter([RuntimeError("database went away")])

    async def flaky(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        for failure in failures:
            raise failure
        return a_result(workload)

    process = processor(uow_factory, clock, FunctionAnalyzer(flaky))

    first = await process.execute(ProcessTaskRequest(task_id))
    assert first is ProcessOutcome.RETRY_LATER
    assert (await load(uow_factory, task_id)).status is TaskStatus.PENDING
    async with uow_factory() as uow:
        assert [m.task_id for m in await uow.outbox.unpublished(10)] == [task_id]

    second = await process.execute(ProcessTaskRequest(task_id))
    assert second is ProcessOutcome.COMPLETED
    assert (await load(uow_factory, task_id)).attempts == 2


async def test_an_unexpected_error_on_the_last_attempt_fails_the_task(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock, max_attempts=1)

    async def broken(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        raise KeyError("a bug")

    outcome = await processor(uow_factory, clock, FunctionAnalyzer(broken)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.FAILED
    task = await load(uow_factory, task_id)
    assert task.error is not None
    assert task.error.code == "internal_error"
    assert "KeyError" in task.error.message
