"""An analyzer driven by a function: the shape of httpx's `MockTransport`, for tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from application.ports.analyzer import Analyzer, ProgressSink
from domain.result import AnalysisResult
from domain.workload import Credentials, Workload

__all__ = ["AnalyzeFunction", "FunctionAnalyzer"]

AnalyzeFunction = Callable[[Workload, ProgressSink], Awaitable[AnalysisResult]]


class FunctionAnalyzer(Analyzer):
    """Answers every `analyze` call with `handler(workload, on_progress)`; keeps the workloads
    it was called with and, apart, the credentials each call was given."""

    def __init__(self, handler: AnalyzeFunction) -> None:
        self._handler = handler
        self.calls: list[Workload] = []
        self.credentials: list[Credentials | None] = []

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        self.calls.append(workload)
        self.credentials.append(credentials)
        return await self._handler(workload, on_progress)
