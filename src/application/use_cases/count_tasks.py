"""How many tasks are in each status (for the operators' metrics)."""

from __future__ import annotations

from application.ports.unit_of_work import UnitOfWorkFactory
from domain.task import TaskStatus

__all__ = ["CountTasks"]


class CountTasks:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self) -> dict[TaskStatus, int]:
        """Every status, those without a task at 0."""
        async with self._uow_factory() as uow:
            counts = await uow.tasks.count_by_status()
        return {status: counts.get(status, 0) for status in TaskStatus}
