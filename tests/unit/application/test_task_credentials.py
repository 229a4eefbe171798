"""The credentials of a task, on in-memory adapters: stored encrypted apart from the task when
it is submitted, handed to the analyzer when it runs, deleted when it ends, swept when too old;
never in the task, its outbox message, an error or a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import timedelta

import pytest

from adapters.memory import InMemoryUnitOfWorkFactory
from adapters.memory.function_analyzer import FunctionAnalyzer
from application.ports.analyzer import ProgressSink
from application.use_cases.process_task import ProcessOutcome, ProcessTask, ProcessTaskRequest
from application.use_cases.requeue_stale_tasks import RequeueStaleTasks, RequeueStaleTasksRequest
from application.use_cases.submit_task import SubmitTask, SubmitTaskRequest
from application.use_cases.sweep_expired_secrets import SweepExpiredSecrets
from domain.result import AnalysisResult
from domain.task import Task, TaskStatus
from domain.workload import Credentials, DdlStatement, Query, Workload, credentials_from_jdbc_url
from tests.unit.application.conftest import FixedClock
from tests.unit.builders import a_result

LEASE = timedelta(minutes=10)
TTL = timedelta(hours=24)


def a_marker() -> str:
    return f"marker-{uuid.uuid4().hex}"


def url_with(marker: str) -> str:
    return (
        f"jdbc:trino://trino.example.com:443?catalog=lake&user=alice-{marker}"
        f"&password=pw-{marker}&accessToken=tok-{marker}"
    )


def a_workload(url: str) -> Workload:
    return Workload.from_request(
        url,
        (DdlStatement("CREATE TABLE lake.sales.orders (order_id bigint)"),),
        (Query("q1", "SELECT order_id FROM lake.sales.orders", 10, 2.0),),
    )


async def submit(
    uow_factory: InMemoryUnitOfWorkFactory,
    clock: FixedClock,
    marker: str,
    *,
    max_attempts: int = 3,
) -> uuid.UUID:
    url = url_with(marker)
    request = SubmitTaskRequest(a_workload(url), credentials_from_jdbc_url(url))
    submitted = await SubmitTask(uow_factory, clock, max_attempts).execute(request)
    return submitted.task_id


async def succeed(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
    return a_result(workload)


def processor(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, analyzer: FunctionAnalyzer
) -> ProcessTask:
    return ProcessTask(uow_factory, analyzer, clock, LEASE)


async def secret_of(
    uow_factory: InMemoryUnitOfWorkFactory, task_id: uuid.UUID
) -> Credentials | None:
    async with uow_factory() as uow:
        return await uow.secrets.get(task_id)


async def task_of(uow_factory: InMemoryUnitOfWorkFactory, task_id: uuid.UUID) -> Task:
    async with uow_factory() as uow:
        task = await uow.tasks.get(task_id)
    assert task is not None
    return task


# submit ---------------------------------------------------------------------------------------


async def test_submitting_stores_the_credentials_encrypted_and_not_in_the_task_or_its_message(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given a workload whose URL carries a user, a password and a token, each with a marker
    marker = a_marker()

    # when it is submitted
    task_id = await submit(uow_factory, clock, marker)

    # then the secret store gives the credentials back
    assert await secret_of(uow_factory, task_id) == Credentials(
        f"alice-{marker}", f"pw-{marker}", (("accessToken", f"tok-{marker}"),)
    )
    # and the task, its outbox message and the stored secret hold no trace of them
    task = await task_of(uow_factory, task_id)
    async with uow_factory() as uow:
        messages = await uow.outbox.unpublished(10)
    assert [m.task_id for m in messages] == [task_id]
    assert marker not in json.dumps(task.workload.to_dict())
    assert marker not in repr(task)
    assert marker not in repr(messages)
    [secret] = uow_factory.store.secrets.values()
    assert marker.encode() not in secret.ciphertext


async def test_a_url_without_credentials_stores_no_secret(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    url = "jdbc:trino://trino.example.com:8080?catalog=lake"
    request = SubmitTaskRequest(a_workload(url), credentials_from_jdbc_url(url))

    submitted = await SubmitTask(uow_factory, clock).execute(request)

    assert await secret_of(uow_factory, submitted.task_id) is None
    assert uow_factory.store.secrets == {}


# process --------------------------------------------------------------------------------------


async def test_processing_hands_the_credentials_to_the_analyzer_and_deletes_them_on_completion(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    marker = a_marker()
    task_id = await submit(uow_factory, clock, marker)
    analyzer = FunctionAnalyzer(succeed)

    outcome = await processor(uow_factory, clock, analyzer).execute(ProcessTaskRequest(task_id))

    assert outcome is ProcessOutcome.COMPLETED
    [given] = analyzer.credentials
    assert given is not None
    assert given.password == f"pw-{marker}"
    assert marker not in repr(analyzer.calls)  # the workload it was given is redacted
    assert await secret_of(uow_factory, task_id) is None
    task = await task_of(uow_factory, task_id)
    assert task.result is not None
    assert marker not in json.dumps(task.result.to_dict())


async def test_a_task_without_credentials_is_analysed_without_them(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    url = "jdbc:trino://trino.example.com:8080?catalog=lake"
    submitted = await SubmitTask(uow_factory, clock).execute(SubmitTaskRequest(a_workload(url)))
    analyzer = FunctionAnalyzer(succeed)

    outcome = await processor(uow_factory, clock, analyzer).execute(
        ProcessTaskRequest(submitted.task_id)
    )

    assert outcome is ProcessOutcome.COMPLETED
    assert analyzer.credentials == [None]


async def test_a_failed_analysis_deletes_the_credentials_and_its_error_does_not_quote_them(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # given an analysis that fails with a message quoting the password
    marker = a_marker()
    task_id = await submit(uow_factory, clock, marker)

    async def reject(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        raise ValueError(f"login with pw-{marker} refused")

    # when the task is processed
    with caplog.at_level(logging.DEBUG):
        outcome = await processor(uow_factory, clock, FunctionAnalyzer(reject)).execute(
            ProcessTaskRequest(task_id)
        )

    # then it fails, its secret is gone, and neither its error nor the logs hold the password
    assert outcome is ProcessOutcome.FAILED
    assert await secret_of(uow_factory, task_id) is None
    task = await task_of(uow_factory, task_id)
    assert task.error is not None
    assert task.error.message == "login with *** refused"
    assert marker not in caplog.text


async def test_a_broken_last_attempt_deletes_the_credentials_and_logs_no_secret(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    marker = a_marker()
    task_id = await submit(uow_factory, clock, marker, max_attempts=1)

    async def broken(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        raise ConnectionError(f"trino://alice-{marker}:pw-{marker}@trino.example.com refused")

    with caplog.at_level(logging.DEBUG):
        outcome = await processor(uow_factory, clock, FunctionAnalyzer(broken)).execute(
            ProcessTaskRequest(task_id)
        )

    assert outcome is ProcessOutcome.FAILED
    assert await secret_of(uow_factory, task_id) is None
    task = await task_of(uow_factory, task_id)
    assert task.error is not None
    assert task.error.message == "ConnectionError: trino://***:***@trino.example.com refused"
    assert marker not in caplog.text
    assert "in broken" in caplog.text  # the traceback's frames are still logged


async def test_a_task_released_for_another_attempt_keeps_its_credentials_for_it(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given an analysis that breaks once, then succeeds
    marker = a_marker()
    task_id = await submit(uow_factory, clock, marker)
    failures = iter([RuntimeError("database went away")])

    async def flaky(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
        for failure in failures:
            raise failure
        return a_result(workload)

    analyzer = FunctionAnalyzer(flaky)
    process = processor(uow_factory, clock, analyzer)

    # when the first attempt breaks, the task goes back to pending with its credentials
    assert await process.execute(ProcessTaskRequest(task_id)) is ProcessOutcome.RETRY_LATER
    assert (await task_of(uow_factory, task_id)).status is TaskStatus.PENDING
    assert await secret_of(uow_factory, task_id) is not None

    # and the second attempt gets them too, and deletes them once completed
    assert await process.execute(ProcessTaskRequest(task_id)) is ProcessOutcome.COMPLETED
    assert [c.password if c else None for c in analyzer.credentials] == [f"pw-{marker}"] * 2
    assert await secret_of(uow_factory, task_id) is None


async def test_a_task_handed_back_by_a_stopping_worker_keeps_its_credentials(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock, a_marker())
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

    assert (await task_of(uow_factory, task_id)).status is TaskStatus.PENDING
    assert await secret_of(uow_factory, task_id) is not None


async def test_a_task_whose_lease_ran_out_on_its_last_attempt_loses_its_credentials(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given a task claimed on its only attempt by a worker that died
    task_id = await submit(uow_factory, clock, a_marker(), max_attempts=1)
    async with uow_factory() as uow:
        task = await uow.tasks.get(task_id, for_update=True)
        assert task is not None
        task.claim(clock.now(), LEASE)
        await uow.tasks.save(task)
        await uow.commit()
    clock.advance(LEASE)

    # when another worker gets its message, then the task fails and its credentials go
    outcome = await processor(uow_factory, clock, FunctionAnalyzer(succeed)).execute(
        ProcessTaskRequest(task_id)
    )

    assert outcome is ProcessOutcome.FAILED
    assert await secret_of(uow_factory, task_id) is None


async def test_stale_task_recovery_keeps_the_credentials_of_a_released_task_only(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given two tasks abandoned by a dead worker: one with attempts left, one without
    released = await submit(uow_factory, clock, a_marker(), max_attempts=2)
    exhausted = await submit(uow_factory, clock, a_marker(), max_attempts=1)
    async with uow_factory() as uow:
        for task_id in (released, exhausted):
            task = await uow.tasks.get(task_id, for_update=True)
            assert task is not None
            task.claim(clock.now(), LEASE)
            await uow.tasks.save(task)
        await uow.commit()
    clock.advance(LEASE)

    # when the recovery runs
    summary = await RequeueStaleTasks(uow_factory, clock).execute(RequeueStaleTasksRequest())

    # then the released task keeps its credentials, the failed one loses them
    assert summary.released == (released,)
    assert summary.failed == (exhausted,)
    assert await secret_of(uow_factory, released) is not None
    assert await secret_of(uow_factory, exhausted) is None


# sweep ----------------------------------------------------------------------------------------


async def test_the_sweep_deletes_the_credentials_older_than_their_time_to_live(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    # given a secret stored a day and an hour ago, and one stored two hours ago
    old = await submit(uow_factory, clock, a_marker())
    clock.advance(TTL - timedelta(hours=1))
    recent = await submit(uow_factory, clock, a_marker())
    clock.advance(timedelta(hours=2))

    # when the sweep runs
    swept = await SweepExpiredSecrets(uow_factory, clock, TTL).execute()

    # then only the old one is gone; its task is still there
    assert swept == 1
    assert await secret_of(uow_factory, old) is None
    assert await secret_of(uow_factory, recent) is not None
    assert (await task_of(uow_factory, old)).status is TaskStatus.PENDING


async def test_a_task_whose_credentials_were_swept_still_runs_without_them(
    uow_factory: InMemoryUnitOfWorkFactory, clock: FixedClock
) -> None:
    task_id = await submit(uow_factory, clock, a_marker())
    clock.advance(TTL + timedelta(seconds=1))
    await SweepExpiredSecrets(uow_factory, clock, TTL).execute()
    analyzer = FunctionAnalyzer(succeed)

    outcome = await processor(uow_factory, clock, analyzer).execute(ProcessTaskRequest(task_id))

    assert outcome is ProcessOutcome.COMPLETED
    assert analyzer.credentials == [None]
