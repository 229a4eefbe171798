"""Port: the analysis pipeline that turns a workload into a result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import Workload

__all__ = ["Analyzer", "ProgressSink"]

ProgressSink = Callable[[Progress], Awaitable[None]]


class Analyzer(Protocol):
    """Analyses a workload, reporting progress through `on_progress` as it goes."""

    async def analyze(self, workload: Workload, on_progress: ProgressSink) -> AnalysisResult: ...
