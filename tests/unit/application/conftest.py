from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory import InMemoryUnitOfWorkFactory, InProcessTaskQueue


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def uow_factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def queue() -> InProcessTaskQueue:
    return InProcessTaskQueue()
