"""Metrics around the analysis and the LLM advisor, as decorators of their ports (so neither the
application nor the adapters know about Prometheus).

`InstrumentedAnalyzer` times each stage the pipeline reports (from one reported stage to the
next, the last one until the end) and the whole analysis; `InstrumentedAdvisor` times each call
to the LLM and counts the tokens it says it spent.
"""

from __future__ import annotations

import time

from application.ports.advisor import AdviceReply, AdviceRequest, Advisor, AdvisorError, CallStats
from application.ports.analyzer import Analyzer, ProgressSink
from domain.result import AnalysisResult
from domain.task import Progress
from domain.workload import Credentials, Workload
from entrypoints.metrics import ANALYSIS_SECONDS, LLM_SECONDS, LLM_TOKENS, STAGE_SECONDS

__all__ = ["InstrumentedAdvisor", "InstrumentedAnalyzer"]


class InstrumentedAnalyzer:
    def __init__(self, inner: Analyzer) -> None:
        self._inner = inner

    @property
    def inner(self) -> Analyzer:
        return self._inner

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        started = time.perf_counter()
        stage: str | None = None
        since = started

        async def timed(progress: Progress) -> None:
            nonlocal stage, since
            if progress.stage != stage:
                now = time.perf_counter()
                if stage is not None:
                    STAGE_SECONDS.labels(stage).observe(now - since)
                stage, since = progress.stage, now
            await on_progress(progress)

        outcome = "error"
        try:
            result = await self._inner.analyze(workload, timed, credentials=credentials)
            outcome = "ok"
            return result
        finally:
            now = time.perf_counter()
            if stage is not None:
                STAGE_SECONDS.labels(stage).observe(now - since)
            ANALYSIS_SECONDS.labels(outcome).observe(now - started)


class InstrumentedAdvisor:
    def __init__(self, inner: Advisor) -> None:
        self._inner = inner

    @property
    def model(self) -> str | None:
        return self._inner.model

    async def refine(self, request: AdviceRequest) -> AdviceReply:
        started = time.perf_counter()
        try:
            reply = await self._inner.refine(request)
        except AdvisorError as error:
            _observe(error.outcome, time.perf_counter() - started, error.stats)
            raise
        except Exception:
            _observe("error", time.perf_counter() - started, None)
            raise
        _observe("ok", time.perf_counter() - started, reply.stats)
        return reply


def _observe(outcome: str, seconds: float, stats: CallStats | None) -> None:
    LLM_SECONDS.labels(outcome).observe(seconds)
    if stats is not None:
        if stats.prompt_tokens:
            LLM_TOKENS.labels("prompt").inc(stats.prompt_tokens)
        if stats.completion_tokens:
            LLM_TOKENS.labels("completion").inc(stats.completion_tokens)
