"""The storage contract: what every task repository, outbox, secret store and unit of work
promises.

`StorageContract` is subclassed once per adapter (in-memory, SQLAlchemy on SQLite, SQLAlchemy on
PostgreSQL); the subclass's module provides two fixtures:

- `uow_factory`: a `UnitOfWorkFactory` over a fresh, empty store (migrated, for a database);
- `empty_database_url` (databases only, see `MigrationContract`): a URL of an empty database.

`SkipLockedContract` and `SqlAlchemyContract` hold what only some adapters promise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.fernet import FernetCredentialsCipher
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory
from adapters.sqlalchemy.migrate import (
    alembic_config,
    downgrade,
    schema_differences,
    upgrade,
)
from adapters.sqlalchemy.tables import task_secrets, tasks
from application.ports.outbox import OutboxMessage
from application.ports.task_repository import TaskSummary
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.errors import InvalidTransition
from domain.result import (
    AnalysisResult,
    Finding,
    Meta,
    Report,
    RewrittenQuery,
    Severity,
    SqlStatement,
)
from domain.task import Progress, Task, TaskError, TaskStatus
from domain.workload import AnalysisOptions, Credentials, DdlStatement, Query, Workload

__all__ = [
    "MigrationContract",
    "SkipLockedContract",
    "SqlAlchemyContract",
    "StorageContract",
]

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


# builders ---------------------------------------------------------------------------------------


def a_workload() -> Workload:
    return Workload.from_request(
        "jdbc:trino://u:secret@trino:8080?catalog=lake&user=u&password=p",
        (DdlStatement("CREATE TABLE lake.sales.orders (order_id bigint, order_ts timestamp)"),),
        (
            Query("q1", "SELECT count(*) FROM lake.sales.orders", 4200, 18.5),
            Query("q2", "SELECT * FROM lake.sales.orders WHERE order_id = 1"),
        ),
        AnalysisOptions(target_schema="optimized", use_llm=False, verify=True),
    )


def a_result() -> AnalysisResult:
    return AnalysisResult(
        ddl=(
            SqlStatement("CREATE SCHEMA lake.optimized"),
            SqlStatement("CREATE TABLE lake.optimized.orders (order_id bigint)"),
        ),
        migrations=(SqlStatement("INSERT INTO lake.optimized.orders SELECT 1"),),
        queries=(RewrittenQuery("q1", "SELECT count(*) FROM lake.optimized.orders"),),
        report=Report(
            summary="Partition orders by day.",
            findings=(
                Finding(
                    id="f1",
                    code="full_scan",
                    severity=Severity.WARNING,
                    title="Full scan",
                    rationale="q1 reads every partition",
                    table="lake.sales.orders",
                    queryids=("q1",),
                    weight_share=0.75,
                    details={"columns": ["order_ts"], "nested": {"n": 1, "ok": True}},
                ),
            ),
            estimates={"scan_reduction": 0.9},
            verification={"q1": "equal"},
        ),
        meta=Meta(engine="rules", duration_ms=12, version="0.1.0", parts={"ddl": "rules"}),
    )


def a_task(now: datetime = T0, *, max_attempts: int = 3) -> Task:
    return Task.submit(a_workload(), now, max_attempts=max_attempts)


def some_credentials(marker: str = "s3cr3t") -> Credentials:
    """Credentials whose every secret part holds `marker`, with characters that need care."""
    return Credentials(
        user=f"ålice-{marker}",
        password=f"p@ss+wörd %20-{marker}",
        parameters=(("accessToken", f"eyJ-{marker}"), ("extraCredentials", f"k:{marker};x:y")),
    )


def a_message(task: Task, created_at: datetime) -> OutboxMessage:
    return OutboxMessage(id=uuid.uuid4(), task_id=task.id, created_at=created_at)


async def stored_messages(uow_factory: UnitOfWorkFactory, count: int) -> list[OutboxMessage]:
    """`count` messages of one task, a second apart from T0, committed with it."""
    task = a_task()
    messages = [a_message(task, T0 + timedelta(seconds=n)) for n in range(count)]
    async with uow_factory() as uow:
        await uow.tasks.add(task)
        for message in messages:
            await uow.outbox.add(message)
        await uow.commit()
    return messages


def stored_state(task: Task) -> dict[str, Any]:
    """Everything a store must keep: every field but the pending events."""
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task) if f.name != "events"}


def assert_same_state(loaded: Task | None, expected: Task) -> None:
    assert loaded is not None
    assert stored_state(loaded) == stored_state(expected)
    for moment in (loaded.created_at, loaded.updated_at, loaded.lease_expires_at):
        assert moment is None or moment.utcoffset() is not None, "timestamps come back aware"


async def store(uow_factory: UnitOfWorkFactory, *tasks: Task) -> None:
    async with uow_factory() as uow:
        for task in tasks:
            await uow.tasks.add(task)
        await uow.commit()


async def store_announced(uow_factory: UnitOfWorkFactory) -> tuple[Task, OutboxMessage]:
    """A new task stored with the outbox message that announces it, as a submission stores it."""
    task = a_task()
    message = a_message(task, T0)
    async with uow_factory() as uow:
        await uow.add_task_and_commit(task, message)
    return task, message


async def load(uow_factory: UnitOfWorkFactory, task_id: uuid.UUID) -> Task | None:
    async with uow_factory() as uow:
        return await uow.tasks.get(task_id)


async def store_with_secret(
    uow_factory: UnitOfWorkFactory, task: Task, credentials: Credentials, created_at: datetime = T0
) -> None:
    async with uow_factory() as uow:
        await uow.tasks.add(task)
        await uow.secrets.put(task.id, credentials, created_at)
        await uow.commit()


async def load_secret(uow_factory: UnitOfWorkFactory, task_id: uuid.UUID) -> Credentials | None:
    async with uow_factory() as uow:
        return await uow.secrets.get(task_id)


async def save(uow_factory: UnitOfWorkFactory, task: Task) -> None:
    async with uow_factory() as uow:
        await uow.tasks.save(task)
        await uow.commit()


# strategies for the property test ---------------------------------------------------------------

# PostgreSQL text and JSONB cannot hold NUL, and JSON cannot hold lone surrogates.
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
# JSONB keeps numbers as `numeric`: floats with more digits than a double round-trip only in
# this range (beyond it PostgreSQL prints them as integers).
floats = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | floats | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    ),
)
leases = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1))

workloads = st.builds(
    Workload,
    url=texts,
    ddl=st.lists(st.builds(DdlStatement, texts), max_size=2).map(tuple),
    queries=st.lists(
        st.builds(
            Query,
            queryid=texts,
            query=texts,
            runquantity=st.integers(0, 10**9),
            executiontime=st.none() | floats,
        ),
        max_size=2,
    ).map(tuple),
    options=st.builds(AnalysisOptions, target_schema=texts, use_llm=st.booleans()),
)
findings = st.builds(
    Finding,
    id=texts,
    code=texts,
    severity=st.sampled_from(Severity),
    title=texts,
    rationale=texts,
    table=st.none() | texts,
    queryids=st.lists(texts, max_size=2).map(tuple),
    weight_share=floats,
    effect=texts,
    risk=texts,
    details=json_objects,
)
results = st.builds(
    AnalysisResult,
    ddl=st.lists(st.builds(SqlStatement, texts), max_size=2).map(tuple),
    migrations=st.lists(st.builds(SqlStatement, texts), max_size=2).map(tuple),
    queries=st.lists(st.builds(RewrittenQuery, texts, texts), max_size=2).map(tuple),
    report=st.builds(
        Report,
        summary=texts,
        findings=st.lists(findings, max_size=2).map(tuple),
        estimates=json_objects,
        verification=json_objects,
    ),
    meta=st.builds(
        Meta,
        engine=texts,
        model=st.none() | texts,
        duration_ms=st.integers(0, 10**9),
        version=texts,
        parts=st.dictionaries(texts, texts, max_size=2),
        # Meta.to_dict merges `extra` into the top level, so its keys must not be known ones.
        extra=st.dictionaries(st.sampled_from(["notes", "tokens"]), json_values, max_size=2),
    ),
)
# The transitions each status may allow (the domain has the last word: `apply`).
transitions_from = {
    TaskStatus.PENDING: st.tuples(st.just("claim"), moments, leases),
    TaskStatus.PROCESSING: st.one_of(
        st.tuples(
            st.just("report_progress"), moments, st.builds(Progress, texts, st.integers(0, 100))
        ),
        st.tuples(st.just("extend_lease"), moments, leases),
        st.tuples(st.just("complete"), moments, results),
        st.tuples(st.just("fail"), moments, st.builds(TaskError, texts, texts)),
        st.tuples(st.just("release"), moments, texts),
        st.tuples(st.just("expire_lease"), moments, st.none()),
    ),
}


def apply(task: Task, transition: tuple[Any, ...]) -> bool:
    """Apply one transition; False when the domain refuses it (and the task is unchanged)."""
    name, now, argument = transition
    try:
        match name:
            case "claim" | "extend_lease":
                getattr(task, name)(now, argument)
            case "report_progress" | "complete" | "fail":
                getattr(task, name)(argument, now)
            case "release":
                task.release(now, argument)
            case "expire_lease":
                task.expire_lease(now)
    except InvalidTransition:
        return False
    return True


# the contract -----------------------------------------------------------------------------------


class StorageContract:
    """Task repository + outbox + secret store + unit of work, as the use cases rely on them."""

    # tasks ---------------------------------------------------------------------------------

    async def test_a_task_round_trips_through_every_state(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a submitted task, stored
        task = a_task()
        await store(uow_factory, task)
        assert_same_state(await load(uow_factory, task.id), task)

        # when it is claimed, makes progress and completes, each step saved and committed
        steps: list[Callable[[], None]] = [
            lambda: task.claim(T0 + timedelta(seconds=1), LEASE),
            lambda: task.report_progress(Progress("profile", 40), T0 + timedelta(seconds=2)),
            lambda: task.extend_lease(T0 + timedelta(seconds=3), LEASE),
            lambda: task.complete(a_result(), T0 + timedelta(seconds=4)),
        ]
        for step in steps:
            step()
            await save(uow_factory, task)
            # then each state reads back equal, timestamps included
            assert_same_state(await load(uow_factory, task.id), task)

        loaded = await load(uow_factory, task.id)
        assert loaded is not None
        assert loaded.status is TaskStatus.COMPLETED
        assert loaded.result == a_result()
        assert loaded.events == []

    async def test_a_failed_and_a_released_task_round_trip(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given two processing tasks
        failing, released = a_task(), a_task()
        await store(uow_factory, failing, released)
        for task in (failing, released):
            task.claim(T0 + timedelta(seconds=1), LEASE)
            await save(uow_factory, task)

        # when one fails and the other goes back to the queue
        failing.fail(TaskError("parse_error", "line 1: unexpected 'FROM'"), T0 + LEASE)
        released.release(T0 + LEASE, "lease expired")
        await save(uow_factory, failing)
        await save(uow_factory, released)

        # then both read back as they were left
        assert_same_state(await load(uow_factory, failing.id), failing)
        assert_same_state(await load(uow_factory, released.id), released)
        loaded = await load(uow_factory, failing.id)
        assert loaded is not None
        assert loaded.error == TaskError("parse_error", "line 1: unexpected 'FROM'")
        assert loaded.result is None

    async def test_timestamps_in_any_timezone_come_back_as_the_same_instant(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task submitted with a clock in UTC+05:30
        india = timezone(timedelta(hours=5, minutes=30))
        task = a_task(datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=india))
        await store(uow_factory, task)

        # when it is loaded
        loaded = await load(uow_factory, task.id)

        # then its timestamps are aware and mean the same instant, to the microsecond
        assert loaded is not None
        assert loaded.created_at == datetime(2026, 1, 1, 4, 30, 0, 123456, tzinfo=UTC)
        assert loaded.created_at.utcoffset() is not None

    async def test_an_unknown_task_is_none(self, uow_factory: UnitOfWorkFactory) -> None:
        assert await load(uow_factory, uuid.uuid4()) is None
        async with uow_factory() as uow:
            assert await uow.tasks.summary(uuid.uuid4()) is None

    async def test_the_summary_of_a_task_tells_what_the_task_tells_in_every_state(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        submitted, completed, failed = a_task(), a_task(), a_task()
        await store(uow_factory, submitted, completed, failed)
        for task in (completed, failed):
            task.claim(T0 + timedelta(seconds=1), LEASE)
            task.report_progress(Progress("profile", 40), T0 + timedelta(seconds=2))
        completed.complete(a_result(), T0 + timedelta(seconds=3))
        failed.fail(TaskError("parse_error", "line 1: unexpected 'FROM'"), T0 + LEASE)
        for task in (completed, failed):
            await save(uow_factory, task)

        for task in (submitted, completed, failed):
            async with uow_factory() as uow:
                assert await uow.tasks.summary(task.id) == TaskSummary.of(task)

    async def test_a_unit_of_work_sees_the_summary_of_its_own_staged_changes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            task.claim(T0, LEASE)
            await uow.tasks.save(task)
            assert await uow.tasks.summary(task.id) == TaskSummary.of(task)
            async with uow_factory() as other:
                assert await other.tasks.summary(task.id) is None

    async def test_saving_a_task_that_was_never_added_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            with pytest.raises(LookupError):
                await uow.tasks.save(a_task())

    # unit of work ---------------------------------------------------------------------------

    async def test_changes_without_commit_are_dropped(self, uow_factory: UnitOfWorkFactory) -> None:
        # given a stored task
        stored = a_task()
        await store(uow_factory, stored)

        # when a unit of work adds a task and claims the stored one, but does not commit
        added = a_task()
        async with uow_factory() as uow:
            await uow.tasks.add(added)
            task = await uow.tasks.get(stored.id, for_update=True)
            assert task is not None
            task.claim(T0, LEASE)
            await uow.tasks.save(task)

        # then neither change is kept
        assert await load(uow_factory, added.id) is None
        assert_same_state(await load(uow_factory, stored.id), stored)

    async def test_an_exception_inside_the_unit_of_work_rolls_back(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()

        async def submit_then_crash() -> None:
            async with uow_factory() as uow:
                await uow.tasks.add(task)
                await uow.outbox.add(a_message(task, T0))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await submit_then_crash()

        assert await load(uow_factory, task.id) is None
        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == []

    async def test_rollback_drops_what_was_staged_since_the_last_commit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        kept, dropped = a_task(), a_task()
        async with uow_factory() as uow:
            await uow.tasks.add(kept)
            await uow.commit()
            await uow.tasks.add(dropped)
            await uow.rollback()
            # the unit of work stays usable after a rollback
            assert await uow.tasks.get(dropped.id) is None
            assert await uow.tasks.get(kept.id) is not None

        assert await load(uow_factory, kept.id) is not None
        assert await load(uow_factory, dropped.id) is None

    async def test_a_unit_of_work_reads_its_own_staged_changes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            task.claim(T0, LEASE)
            await uow.tasks.save(task)
            assert_same_state(await uow.tasks.get(task.id), task)

    async def test_another_unit_of_work_does_not_see_uncommitted_changes(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a stored task
        stored = a_task()
        await store(uow_factory, stored)

        # when one unit of work has staged a new task and a claim, not yet committed
        added = a_task()
        async with uow_factory() as writer:
            await writer.tasks.add(added)
            claimed = await writer.tasks.get(stored.id, for_update=True)
            assert claimed is not None
            claimed.claim(T0, LEASE)
            await writer.tasks.save(claimed)

            # then a second one sees neither
            async with uow_factory() as reader:
                assert await reader.tasks.get(added.id) is None
                assert_same_state(await reader.tasks.get(stored.id), stored)

            await writer.commit()

        # and after the commit, everybody sees both
        assert await load(uow_factory, added.id) is not None
        assert_same_state(await load(uow_factory, stored.id), claimed)

    async def test_a_loaded_task_changed_but_not_saved_stays_unchanged(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a stored task
        task = a_task()
        await store(uow_factory, task)

        # when it is loaded and claimed, and the unit of work commits without saving it
        async with uow_factory() as uow:
            loaded = await uow.tasks.get(task.id)
            assert loaded is not None
            loaded.claim(T0, LEASE)
            await uow.commit()
        # and the object that was added is changed after the commit
        task.claim(T0, LEASE)

        # then the stored task is still pending
        reloaded = await load(uow_factory, task.id)
        assert reloaded is not None
        assert reloaded.status is TaskStatus.PENDING
        assert reloaded.attempts == 0

    async def test_using_a_unit_of_work_outside_async_with_is_an_error(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        uow = uow_factory()
        with pytest.raises(RuntimeError):
            await uow.tasks.get(uuid.uuid4())
        with pytest.raises(RuntimeError):
            await uow.commit()

    async def test_concurrent_claims_of_one_task_serialize(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a pending task
        task = a_task()
        await store(uow_factory, task)
        first_holds_the_task = asyncio.Event()
        first_may_commit = asyncio.Event()

        async def claim(*, hold: bool) -> bool:
            async with uow_factory() as uow:
                loaded = await uow.tasks.get(task.id, for_update=True)
                assert loaded is not None
                claimed = loaded.status is TaskStatus.PENDING
                if claimed:
                    loaded.claim(T0, LEASE)
                    await uow.tasks.save(loaded)
                if hold:
                    first_holds_the_task.set()
                    await first_may_commit.wait()
                await uow.commit()
                return claimed

        # when a second worker asks for the task while the first holds it
        first = asyncio.create_task(claim(hold=True))
        await asyncio.wait_for(first_holds_the_task.wait(), timeout=5)
        second = asyncio.create_task(claim(hold=False))
        await asyncio.sleep(0.2)

        # then the second waits for the first to commit, and then sees its claim
        assert not second.done()
        first_may_commit.set()
        assert await asyncio.wait_for(first, timeout=5) is True
        assert await asyncio.wait_for(second, timeout=5) is False
        loaded = await load(uow_factory, task.id)
        assert loaded is not None
        assert (loaded.status, loaded.attempts) == (TaskStatus.PROCESSING, 1)

    async def test_pending_ids_are_the_tasks_waiting_to_be_claimed_oldest_first(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given tasks in every state, one of them released back to the queue
        newest, oldest, released = (a_task(T0 + timedelta(seconds=s)) for s in (3, 1, 2))
        processing, done = a_task(T0), a_task(T0)
        await store(uow_factory, newest, oldest, released, processing, done)
        for task in (released, processing, done):
            task.claim(T0 + timedelta(seconds=5), LEASE)
        released.release(T0 + timedelta(seconds=6), "retryable error")
        done.complete(a_result(), T0 + timedelta(seconds=6))
        for task in (released, processing, done):
            await save(uow_factory, task)

        # when the pending ones are listed
        async with uow_factory() as uow:
            pending = await uow.tasks.pending_ids()

        # then they come in the order they were submitted
        assert pending == [oldest.id, released.id, newest.id]

    async def test_tasks_are_counted_by_status(self, uow_factory: UnitOfWorkFactory) -> None:
        # given two pending tasks, one processing, one completed and one failed
        now = T0 + timedelta(minutes=1)
        tasks_ = [a_task() for _ in range(5)]
        await store(uow_factory, *tasks_)
        processing, done, failed = tasks_[2:]
        for task in (processing, done, failed):
            task.claim(now, LEASE)
        done.complete(a_result(), now)
        failed.fail(TaskError("boom", "boom"), now)
        for task in (processing, done, failed):
            await save(uow_factory, task)

        # when they are counted
        async with uow_factory() as uow:
            counts = await uow.tasks.count_by_status()

        # then each status has its number, and statuses without a task are left out
        assert counts == {
            TaskStatus.PENDING: 2,
            TaskStatus.PROCESSING: 1,
            TaskStatus.COMPLETED: 1,
            TaskStatus.FAILED: 1,
        }

    # expired leases ---------------------------------------------------------------------------

    async def test_expired_leases_are_processing_tasks_whose_lease_ended(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given tasks in every state, three of them processing with different leases
        now = T0 + timedelta(hours=1)
        pending, done, failed = a_task(), a_task(), a_task()
        long_expired, just_expired, running = a_task(), a_task(), a_task()
        await store(uow_factory, pending, done, failed, long_expired, just_expired, running)
        claims = {
            done: now - timedelta(hours=1),
            failed: now - timedelta(hours=1),
            long_expired: now - timedelta(minutes=30) - LEASE,
            just_expired: now - LEASE,  # the lease ends exactly now
            running: now - LEASE + timedelta(microseconds=1),
        }
        for task, claimed_at in claims.items():
            task.claim(claimed_at, LEASE)
        done.complete(a_result(), now - timedelta(minutes=50))
        failed.fail(TaskError("boom", "boom"), now - timedelta(minutes=50))
        for task in claims:
            await save(uow_factory, task)

        # when the recoverer looks for them
        async with uow_factory() as uow:
            expired = await uow.tasks.expired_leases(now, limit=10)
            first_only = await uow.tasks.expired_leases(now, limit=1)

        # then it gets the processing tasks whose lease ended, the longest expired first
        assert [t.id for t in expired] == [long_expired.id, just_expired.id]
        assert [t.id for t in first_only] == [long_expired.id]
        assert all(t.lease_expired(now) for t in expired)
        assert_same_state(expired[0], long_expired)

    # outbox -----------------------------------------------------------------------------------

    async def test_the_outbox_gives_the_oldest_unpublished_messages_first(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given three messages written in a different order than they were created
        task = a_task()
        newest, oldest, middle = (a_message(task, T0 + timedelta(seconds=s)) for s in (3, 1, 2))
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            for message in (newest, oldest, middle):
                await uow.outbox.add(message)
            await uow.commit()

        # when the relay asks for two
        async with uow_factory() as uow:
            batch = await uow.outbox.unpublished(limit=2)

        # then it gets the two oldest, as written
        assert batch == [oldest, middle]

    async def test_a_published_message_is_not_given_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        first, second = a_message(task, T0), a_message(task, T0 + timedelta(seconds=1))
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            await uow.outbox.add(first)
            await uow.outbox.add(second)
            await uow.commit()

        async with uow_factory() as uow:
            await uow.outbox.mark_published(first.id, T0 + timedelta(seconds=5))
            await uow.commit()

        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [second]

    async def test_a_batch_marked_published_at_once_is_not_given_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        messages = await stored_messages(uow_factory, 4)

        async with uow_factory() as uow:
            await uow.outbox.mark_all_published([m.id for m in messages[:3]], T0)
            await uow.outbox.mark_all_published([], T0)
            await uow.commit()

        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [messages[3]]
            with pytest.raises(LookupError):
                await uow.outbox.mark_all_published([messages[3].id, uuid.uuid4()], T0)

    async def test_marking_published_without_commit_keeps_the_message_waiting(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        message = a_message(task, T0)
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            await uow.outbox.add(message)
            await uow.commit()

        async with uow_factory() as uow:
            await uow.outbox.mark_published(message.id, T0)

        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [message]

    async def test_a_failed_publish_counts_an_attempt_and_keeps_the_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        message = a_message(task, T0)
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            await uow.outbox.add(message)
            await uow.commit()

        for error in ("broker down", "still down"):
            async with uow_factory() as uow:
                await uow.outbox.mark_failed(message.id, error)
                await uow.commit()

        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [
                dataclasses.replace(message, attempts=2, last_error="still down")
            ]

    async def test_a_batch_that_failed_at_once_counts_an_attempt_for_each_message(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        messages = await stored_messages(uow_factory, 3)

        async with uow_factory() as uow:
            await uow.outbox.mark_all_failed([m.id for m in messages[1:]], "broker down")
            await uow.outbox.mark_all_failed([], "nothing")
            await uow.commit()

        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [
                messages[0],
                *(
                    dataclasses.replace(m, attempts=1, last_error="broker down")
                    for m in messages[1:]
                ),
            ]
            with pytest.raises(LookupError):
                await uow.outbox.mark_all_failed([messages[0].id, uuid.uuid4()], "error")

    async def test_marking_an_unknown_message_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            with pytest.raises(LookupError):
                await uow.outbox.mark_published(uuid.uuid4(), T0)
            with pytest.raises(LookupError):
                await uow.outbox.mark_failed(uuid.uuid4(), "error")

    async def test_the_task_and_its_message_are_kept_or_dropped_together(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        kept, dropped = a_task(), a_task()
        for task, commit in ((kept, True), (dropped, False)):
            async with uow_factory() as uow:
                await uow.tasks.add(task)
                await uow.outbox.add(a_message(task, T0))
                if commit:
                    await uow.commit()

        async with uow_factory() as uow:
            assert [m.task_id for m in await uow.outbox.unpublished(10)] == [kept.id]
        assert await load(uow_factory, dropped.id) is None

    @pytest.mark.parametrize("credentials", [None, some_credentials()], ids=["bare", "secret"])
    async def test_a_task_added_and_committed_in_one_call_is_kept_with_its_message(
        self, uow_factory: UnitOfWorkFactory, credentials: Credentials | None
    ) -> None:
        # given a task, the message that announces it, and perhaps its credentials
        task = a_task()
        message = a_message(task, T0)

        # when they are added and committed in one call
        async with uow_factory() as uow:
            await uow.add_task_and_commit(task, message, credentials)

        # then another unit of work reads them all
        assert_same_state(await load(uow_factory, task.id), task)
        assert await load_secret(uow_factory, task.id) == credentials
        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [message]
            # the credentials, stored as of the task's creation
            assert await uow.secrets.sweep(task.created_at) == 0
            swept = await uow.secrets.sweep(task.created_at + timedelta(seconds=1))
            assert swept == (0 if credentials is None else 1)

    async def test_adding_and_committing_in_one_call_commits_what_was_staged_before(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a unit of work that staged a task of its own first
        staged, submitted = a_task(), a_task()
        async with uow_factory() as uow:
            await uow.tasks.add(staged)
            # when it adds and commits another in one call
            await uow.add_task_and_commit(submitted, a_message(submitted, T0))

        # then both are kept
        assert_same_state(await load(uow_factory, staged.id), staged)
        assert_same_state(await load(uow_factory, submitted.id), submitted)

    async def test_a_refused_addition_in_one_call_keeps_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task stored with its message
        task, message = await store_announced(uow_factory)

        # when the same task, or a new task with the same message id, is added again
        again, other = dataclasses.replace(a_task(), id=task.id), a_task()
        reused = dataclasses.replace(a_message(other, T0), id=message.id)
        # (a database raises IntegrityError, the memory adapter ValueError)
        database = isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
        refused = IntegrityError if database else ValueError
        for added, announced in ((again, a_message(again, T0)), (other, reused)):
            async with uow_factory() as uow:
                with pytest.raises(refused):
                    await uow.add_task_and_commit(added, announced, some_credentials())

        # then what was stored is unchanged, and nothing of the refused calls is kept
        assert_same_state(await load(uow_factory, task.id), task)
        assert await load(uow_factory, other.id) is None
        assert await load_secret(uow_factory, task.id) is None
        async with uow_factory() as uow:
            assert await uow.outbox.unpublished(10) == [message]

    async def test_submissions_at_once_are_each_kept_or_refused_on_their_own(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task stored with its message
        stored, first = await store_announced(uow_factory)
        # and 30 submissions at once, one of which reuses the stored task's id
        tasks = [a_task() for _ in range(30)]
        tasks[17] = dataclasses.replace(tasks[17], id=stored.id)
        messages = [a_message(task, T0) for task in tasks]

        async def submit(task: Task, message: OutboxMessage) -> None:
            async with uow_factory() as uow:
                await uow.add_task_and_commit(task, message, some_credentials())

        # when they are all submitted together
        outcomes = await asyncio.gather(
            *(submit(task, message) for task, message in zip(tasks, messages, strict=True)),
            return_exceptions=True,
        )

        # then only the one that reused an id is refused, and the others are all kept
        refused = [index for index, outcome in enumerate(outcomes) if outcome is not None]
        assert refused == [17]
        database = isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
        assert isinstance(outcomes[17], IntegrityError if database else ValueError)
        for index, task in enumerate(tasks):
            if index != 17:
                assert_same_state(await load(uow_factory, task.id), task)
                assert await load_secret(uow_factory, task.id) == some_credentials()
        assert await load_secret(uow_factory, stored.id) is None
        async with uow_factory() as uow:
            kept = {message.id for message in await uow.outbox.unpublished(100)}
        announced = {message.id for index, message in enumerate(messages) if index != 17}
        assert kept == announced | {first.id}

    # secrets ----------------------------------------------------------------------------------

    async def test_a_secret_stored_with_its_task_reads_back_equal(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task stored with its credentials in one unit of work
        task, credentials = a_task(), some_credentials()
        await store_with_secret(uow_factory, task, credentials)

        # when another unit of work reads them, then they come back decrypted, equal
        assert await load_secret(uow_factory, task.id) == credentials

    async def test_a_task_without_a_secret_has_none(self, uow_factory: UnitOfWorkFactory) -> None:
        task = a_task()
        await store(uow_factory, task)

        assert await load_secret(uow_factory, task.id) is None
        assert await load_secret(uow_factory, uuid.uuid4()) is None

    async def test_the_task_its_message_and_its_secret_are_kept_or_dropped_together(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        kept, dropped, crashed = a_task(), a_task(), a_task()

        async def submit(task: Task, *, commit: bool, crash: bool = False) -> None:
            async with uow_factory() as uow:
                await uow.tasks.add(task)
                await uow.outbox.add(a_message(task, T0))
                await uow.secrets.put(task.id, some_credentials(), T0)
                if crash:
                    raise RuntimeError("boom")
                if commit:
                    await uow.commit()

        await submit(kept, commit=True)
        await submit(dropped, commit=False)
        with pytest.raises(RuntimeError, match="boom"):
            await submit(crashed, commit=True, crash=True)

        assert await load_secret(uow_factory, kept.id) == some_credentials()
        for task in (dropped, crashed):
            assert await load(uow_factory, task.id) is None
            assert await load_secret(uow_factory, task.id) is None

    async def test_another_unit_of_work_does_not_see_an_uncommitted_secret(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a stored task
        task = a_task()
        await store(uow_factory, task)

        # when one unit of work has put its secret and not yet committed
        async with uow_factory() as writer:
            await writer.secrets.put(task.id, some_credentials(), T0)
            # then it reads its own write, and a second one sees nothing
            assert await writer.secrets.get(task.id) == some_credentials()
            async with uow_factory() as reader:
                assert await reader.secrets.get(task.id) is None
            await writer.commit()

        assert await load_secret(uow_factory, task.id) == some_credentials()

    async def test_putting_a_secret_again_replaces_it(self, uow_factory: UnitOfWorkFactory) -> None:
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials("first"))

        async with uow_factory() as uow:
            await uow.secrets.put(task.id, some_credentials("second"), T0 + LEASE)
            await uow.commit()

        assert await load_secret(uow_factory, task.id) == some_credentials("second")

    async def test_a_deleted_secret_is_gone_once_the_deletion_is_committed(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task with its secret
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials())

        # when a unit of work deletes it without committing, then the secret stays
        async with uow_factory() as uow:
            await uow.secrets.delete(task.id)
            assert await uow.secrets.get(task.id) is None
        assert await load_secret(uow_factory, task.id) == some_credentials()

        # and when one deletes it and commits, it is gone, and the task stays
        async with uow_factory() as uow:
            await uow.secrets.delete(task.id)
            await uow.commit()
        assert await load_secret(uow_factory, task.id) is None
        assert_same_state(await load(uow_factory, task.id), task)

    async def test_deleting_a_secret_that_is_not_there_does_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        await store(uow_factory, task)

        async with uow_factory() as uow:
            await uow.secrets.delete(task.id)
            await uow.secrets.delete(uuid.uuid4())
            await uow.commit()

        assert_same_state(await load(uow_factory, task.id), task)

    async def test_a_sweep_deletes_the_secrets_created_before_the_moment_it_is_given(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given secrets created before, exactly at and after a moment (one in another timezone)
        moment = T0 + timedelta(hours=1)
        india = timezone(timedelta(hours=5, minutes=30))
        older, also_older, at, newer = a_task(), a_task(), a_task(), a_task()
        await store_with_secret(uow_factory, older, some_credentials(), moment - timedelta(hours=2))
        await store_with_secret(
            uow_factory,
            also_older,
            some_credentials(),
            (moment - timedelta(microseconds=1)).astimezone(india),
        )
        await store_with_secret(uow_factory, at, some_credentials(), moment)
        await store_with_secret(uow_factory, newer, some_credentials(), moment + timedelta(hours=1))

        # when a sweep runs for that moment
        async with uow_factory() as uow:
            swept = await uow.secrets.sweep(moment)
            await uow.commit()

        # then only the secrets created before it are gone, and their tasks stay
        assert swept == 2
        assert await load_secret(uow_factory, older.id) is None
        assert await load_secret(uow_factory, also_older.id) is None
        assert await load_secret(uow_factory, at.id) == some_credentials()
        assert await load_secret(uow_factory, newer.id) == some_credentials()
        assert await load(uow_factory, older.id) is not None

    async def test_a_sweep_without_commit_deletes_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials(), T0)

        async with uow_factory() as uow:
            assert await uow.secrets.sweep(T0 + LEASE) == 1

        assert await load_secret(uow_factory, task.id) == some_credentials()

    # property ---------------------------------------------------------------------------------

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        workload=workloads,
        submitted_at=moments,
        max_attempts=st.integers(1, 3),
        data=st.data(),
    )
    async def test_any_sequence_of_transitions_reads_back_equal(
        self,
        uow_factory: UnitOfWorkFactory,
        workload: Workload,
        submitted_at: datetime,
        max_attempts: int,
        data: st.DataObject,
    ) -> None:
        # given any submitted task, stored
        task = Task.submit(workload, submitted_at, max_attempts=max_attempts)
        await store(uow_factory, task)
        assert_same_state(await load(uow_factory, task.id), task)

        # when it goes through any allowed transitions, each saved and committed
        for _ in range(data.draw(st.integers(0, 10), label="steps")):
            allowed = transitions_from.get(task.status)
            if allowed is None:
                break
            if not apply(task, data.draw(allowed)):
                continue
            await save(uow_factory, task)

            # then each state reads back equal
            assert_same_state(await load(uow_factory, task.id), task)


class MigrationContract:
    """The Alembic migrations, on a real database: a stairway and agreement with the code."""

    async def test_every_migration_goes_up_down_and_up_again(self, empty_database_url: str) -> None:
        url = empty_database_url
        script = ScriptDirectory.from_config(alembic_config(url))
        revisions = list(reversed(list(script.walk_revisions())))
        assert revisions, "there are migrations"
        for revision in revisions:
            await upgrade(url, revision.revision)
            await downgrade(url, "-1")
            await upgrade(url, revision.revision)
        await upgrade(url, "head")
        assert await current_revision(url) == script.get_current_head()

    async def test_the_migrated_schema_matches_the_tables_in_code(
        self, empty_database_url: str
    ) -> None:
        await upgrade(empty_database_url)
        assert await schema_differences(empty_database_url) == []

    async def test_alembic_commands_work_from_async_code_without_a_connection(
        self, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given the URL only in the environment, as for the `alembic` command line
        monkeypatch.setenv("DBANALYSIS_DATABASE_URL", empty_database_url)

        # when a plain Alembic command runs inside this test's event loop
        command.upgrade(alembic_config(), "head")

        # then env.py ran the migration on a loop of its own
        assert await current_revision(empty_database_url) is not None

    async def test_downgrading_to_base_leaves_nothing_behind(self, empty_database_url: str) -> None:
        await upgrade(empty_database_url)
        await downgrade(empty_database_url, "base")
        assert await table_names(empty_database_url) <= {"alembic_version"}


async def current_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


class SkipLockedContract:
    """Where rows are locked one by one (in memory, PostgreSQL), a second relay or recoverer
    skips what the first holds instead of waiting. (SQLite has one write lock: it waits.)"""

    async def test_two_relays_take_disjoint_batches(self, uow_factory: UnitOfWorkFactory) -> None:
        # given four waiting messages
        task = a_task()
        messages = [a_message(task, T0 + timedelta(seconds=s)) for s in range(4)]
        async with uow_factory() as uow:
            await uow.tasks.add(task)
            for message in messages:
                await uow.outbox.add(message)
            await uow.commit()

        # when a second relay asks while the first holds a batch of two
        async with uow_factory() as first:
            first_batch = await first.outbox.unpublished(limit=2)
            async with uow_factory() as second:
                second_batch = await asyncio.wait_for(second.outbox.unpublished(10), 5)

        # then each gets different messages, oldest first
        assert first_batch == messages[:2]
        assert second_batch == messages[2:]

    async def test_two_recoverers_take_different_expired_tasks(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given two tasks whose leases expired
        older, newer = a_task(), a_task()
        await store(uow_factory, older, newer)
        older.claim(T0, LEASE)
        newer.claim(T0 + timedelta(seconds=1), LEASE)
        await save(uow_factory, older)
        await save(uow_factory, newer)
        now = T0 + timedelta(hours=1)

        # when a second recoverer looks while the first holds one
        async with uow_factory() as first:
            first_batch = await first.tasks.expired_leases(now, limit=1)
            async with uow_factory() as second:
                second_batch = await asyncio.wait_for(second.tasks.expired_leases(now, 10), 5)

        # then they get one task each
        assert [t.id for t in first_batch] == [older.id]
        assert [t.id for t in second_batch] == [newer.id]


class SqlAlchemyContract:
    """What the database adds to the contract: its constraints and its view of time."""

    async def test_a_naive_timestamp_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        task = a_task(datetime(2026, 1, 1, 12, 0))  # no tzinfo
        async with uow_factory() as uow:
            with pytest.raises(StatementError, match="naive datetime"):
                await uow.tasks.add(task)

    async def test_an_outbox_message_for_an_unknown_task_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            with pytest.raises(IntegrityError):
                await uow.outbox.add(a_message(a_task(), T0))

    async def test_adding_a_task_twice_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        task = a_task()
        await store(uow_factory, task)
        async with uow_factory() as uow:
            with pytest.raises(IntegrityError):
                await uow.tasks.add(task)

    async def test_a_secret_for_an_unknown_task_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        async with uow_factory() as uow:
            with pytest.raises(IntegrityError):
                await uow.secrets.put(uuid.uuid4(), some_credentials(), T0)

    async def test_the_secrets_table_holds_ciphertext_only(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # given a task stored with credentials that carry a marker
        assert isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
        marker = uuid.uuid4().hex
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials(marker))

        # when the table is read as it is stored
        async with uow_factory.engine.connect() as connection:
            rows = (await connection.execute(select(task_secrets))).all()

        # then its one row holds bytes in which no part of the credentials can be found
        [row] = rows
        assert row.task_id == task.id
        ciphertext = bytes(row.ciphertext)
        assert marker.encode() not in ciphertext
        assert b"alice" not in ciphertext
        assert b"accessToken" not in ciphertext

    async def test_a_secret_made_with_another_key_reads_as_none(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        assert isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials())

        rekeyed = SqlAlchemyUnitOfWorkFactory(
            uow_factory.engine, FernetCredentialsCipher.with_new_key()
        )

        assert await load_secret(rekeyed, task.id) is None
        assert await load_secret(uow_factory, task.id) == some_credentials()

    async def test_a_deleted_task_takes_its_secret_with_it(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        assert isinstance(uow_factory, SqlAlchemyUnitOfWorkFactory)
        task = a_task()
        await store_with_secret(uow_factory, task, some_credentials())

        async with uow_factory.engine.begin() as connection:
            await connection.execute(delete(tasks).where(tasks.c.id == task.id))

        async with uow_factory.engine.connect() as connection:
            assert (await connection.execute(select(task_secrets))).all() == []
