"""Port: the analysis pipeline that turns a workload into a result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import Credentials, Workload

__all__ = ["Analyzer", "ProgressSink"]

ProgressSink = Callable[[Progress], Awaitable[None]]


class Analyzer(Protocol):
    """Analyses a workload, reporting progress through `on_progress` as it goes."""

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        """`credentials` log in to the user's Trino to read statistics, and serve nothing else:
        they never reach a log line, an error, an LLM or the result."""
        ...
