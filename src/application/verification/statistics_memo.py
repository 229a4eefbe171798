"""Statistics read once per task, for the engine and then for the verifier.

The engine's analyzer reads the tables' statistics with the task's credentials; the verifier,
which runs after it (and after the LLM), shapes its generated data with the same figures.
Rather than read the user's Trino twice, the reader the analyzer uses remembers what it read
for the last few workloads, and the verifier asks it (`recall`) without credentials.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from application.ports.statistics import StatisticsReader
from domain.statistics import WorkloadStatistics
from domain.workload import Credentials, Workload

__all__ = ["RememberingStatisticsReader"]


class RememberingStatisticsReader(StatisticsReader):
    """A `StatisticsReader` that keeps the last `size` answers, by workload."""

    def __init__(self, reader: StatisticsReader, size: int = 16) -> None:
        self._reader = reader
        self._size = size
        self._kept: OrderedDict[Workload, WorkloadStatistics] = OrderedDict()
        self._lock = threading.Lock()

    async def read(self, workload: Workload, credentials: Credentials | None) -> WorkloadStatistics:
        statistics = await self._reader.read(workload, credentials)
        with self._lock:
            self._kept[workload] = statistics
            self._kept.move_to_end(workload)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return statistics

    def recall(self, workload: Workload) -> WorkloadStatistics | None:
        """What was read for `workload`, if it was read lately; it is forgotten as it is told."""
        with self._lock:
            return self._kept.pop(workload, None)
