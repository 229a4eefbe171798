"""The Task aggregate's life cycle, checked as a state machine over every sequence of actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import InvalidTransition
from domain.result import AnalysisResult, Report
from domain.task import ATTEMPTS_EXHAUSTED, Progress, Task, TaskError, TaskStatus
from domain.workload import DdlStatement, Query, Workload

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=5)

# What each action is allowed from; anything else must raise InvalidTransition.
ALLOWED_FROM = {
    "claim": {TaskStatus.PENDING},
    "report_progress": {TaskStatus.PROCESSING},
    "complete": {TaskStatus.PROCESSING},
    "fail": {TaskStatus.PROCESSING},
    "release": {TaskStatus.PROCESSING},
}


def a_workload() -> Workload:
    return Workload.from_request(
        "jdbc:trino://h:8080?catalog=c&user=u&password=secret",
        (DdlStatement("CREATE TABLE c.s.t (a int)"),),
        (Query("q1", "SELECT a FROM c.s.t", 10, 2.0),),
    )


def a_result() -> AnalysisResult:
    return AnalysisResult(ddl=(), migrations=(), queries=(), report=Report("nothing"))


class TaskLifeCycle(RuleBasedStateMachine):
    @initialize(max_attempts=st.integers(min_value=1, max_value=4))
    def submit(self, max_attempts: int) -> None:
        self.now = T0
        self.task = Task.submit(a_workload(), self.now, max_attempts=max_attempts)
        self.final_status: TaskStatus | None = None

    def _act(self, action: str, *args: object) -> None:
        before = self.task.status
        attempts_before = self.task.attempts
        self.now += timedelta(seconds=1)
        allowed = before in ALLOWED_FROM[action]
        if action == "claim" and self.task.attempts_left == 0:
            allowed = False
        if action == "release" and self.task.attempts_left == 0:
            allowed = False
        if not allowed:
            with pytest.raises(InvalidTransition):
                getattr(self.task, action)(*args)
            assert self.task.status is before
            assert self.task.attempts == attempts_before
            return
        getattr(self.task, action)(*args)
        assert self.task.updated_at == self.now
        if action == "claim":
            assert self.task.attempts == attempts_before + 1
            assert self.task.lease_expires_at == self.now + LEASE

    @rule()
    def claim(self) -> None:
        self._act("claim", self.now + timedelta(seconds=1), LEASE)

    @rule(percent=st.integers(min_value=0, max_value=100))
    def report_progress(self, percent: int) -> None:
        self._act("report_progress", Progress("profile", percent), self.now + timedelta(seconds=1))

    @rule()
    def complete(self) -> None:
        self._act("complete", a_result(), self.now + timedelta(seconds=1))

    @rule()
    def fail(self) -> None:
        self._act("fail", TaskError("boom", "it broke"), self.now + timedelta(seconds=1))

    @rule()
    def release(self) -> None:
        self._act("release", self.now + timedelta(seconds=1), "lease expired")

    @rule()
    def expire_lease(self) -> None:
        before = self.task.status
        self.now += timedelta(seconds=1)
        if before is not TaskStatus.PROCESSING:
            with pytest.raises(InvalidTransition):
                self.task.expire_lease(self.now)
            return
        had_attempts_left = self.task.attempts_left > 0
        status = self.task.expire_lease(self.now)
        if had_attempts_left:
            assert status is TaskStatus.PENDING
        else:
            assert status is TaskStatus.FAILED
            assert self.task.error is not None
            assert self.task.error.code == ATTEMPTS_EXHAUSTED

    @invariant()
    def final_states_are_final(self) -> None:
        if self.final_status is not None:
            assert self.task.status is self.final_status
        elif self.task.status.is_final:
            self.final_status = self.task.status

    @invariant()
    def attempts_never_exceed_the_maximum(self) -> None:
        assert 0 <= self.task.attempts <= self.task.max_attempts

    @invariant()
    def a_pending_task_can_always_be_claimed(self) -> None:
        if self.task.status is TaskStatus.PENDING:
            assert self.task.attempts_left > 0

    @invariant()
    def only_a_completed_task_has_a_result(self) -> None:
        assert (self.task.result is not None) == (self.task.status is TaskStatus.COMPLETED)

    @invariant()
    def only_a_processing_task_holds_a_lease(self) -> None:
        assert (self.task.lease_expires_at is not None) == (
            self.task.status is TaskStatus.PROCESSING
        )


TestTaskLifeCycle = TaskLifeCycle.TestCase


def test_a_submitted_task_is_pending_with_no_attempts() -> None:
    task = Task.submit(a_workload(), T0)

    assert task.status is TaskStatus.PENDING
    assert task.attempts == 0
    assert task.progress == Progress("queued", 0)
    assert task.created_at == task.updated_at == T0


def test_the_lease_expires_only_after_its_deadline() -> None:
    task = Task.submit(a_workload(), T0)
    task.claim(T0, LEASE)

    assert not task.lease_expired(T0 + LEASE - timedelta(seconds=1))
    assert task.lease_expired(T0 + LEASE)


def test_progress_outside_0_to_100_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        Progress("parse", 101)


def test_the_workload_keeps_no_credentials_from_the_jdbc_url() -> None:
    workload = a_workload()

    assert "secret" not in workload.url
    assert "user" not in workload.url
    assert workload.catalog == "c"
