"""Port: statistics of a workload's tables, read from the user's Trino."""

from __future__ import annotations

from typing import Protocol

from domain.statistics import WorkloadStatistics
from domain.workload import Credentials, Workload

__all__ = ["StatisticsReader"]


class StatisticsReader(Protocol):
    """Reads what the user's Trino knows of the workload's tables: read-only, budgeted, and
    never raising for trouble (it becomes `WorkloadStatistics.problems`)."""

    async def read(
        self, workload: Workload, credentials: Credentials | None
    ) -> WorkloadStatistics: ...
