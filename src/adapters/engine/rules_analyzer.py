"""The deterministic analyzer: the domain's engine, run off the event loop (in a thread, or in
a process of a `ComputePool`)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from application.ports.analyzer import Analyzer, ProgressSink
from application.ports.compute import ComputePool
from application.ports.statistics import StatisticsReader
from domain.analysis import analyze
from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.task import Progress
from domain.workload import Credentials, Workload

STATISTICS_PERCENT = 5

__all__ = ["RulesAnalyzer"]

log = logging.getLogger(__name__)


class RulesAnalyzer(Analyzer):
    """Runs the pure engine in a worker thread so the event loop keeps serving (heartbeats,
    HTTP requests) during a long analysis. Progress is stored before the engine moves on, and
    an error raised by the sink (say, the lease was lost) stops the engine.

    With a `statistics` reader, the tables' statistics are read from the user's Trino first
    (stage ``statistics``), with the task's credentials — the only use they have. A workload
    whose URL carries no login is not read: the report says its figures are assumed.

    With a `pool`, the engine runs in one of its processes instead of a thread, so it does not
    hold this process's GIL. Only the workload and its statistics go there: the credentials
    are used here, by the statistics reader, and go nowhere else. The engine then does not wait
    for each stage to be stored (it runs on; the stages are stored in order, and the first that
    fails — a lost lease — ends the analysis with that error).
    """

    def __init__(
        self,
        version: str,
        statistics: StatisticsReader | None = None,
        *,
        pool: ComputePool | None = None,
    ) -> None:
        self._version = version
        self._statistics = statistics
        self._pool = pool

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        loop = asyncio.get_running_loop()

        async def report(progress: Progress) -> None:
            await on_progress(progress)

        # The engine's stages start at 0; after the statistics stage they must not move the
        # progress back (a bar that jumps backwards reads as a restart).
        floor = 0

        def on_stage(stage: str, percent: int) -> None:
            progress = Progress(stage, max(percent, floor))
            asyncio.run_coroutine_threadsafe(report(progress), loop).result()

        started = time.perf_counter()
        statistics = None
        if self._statistics is not None and credentials is not None:
            floor = STATISTICS_PERCENT
            await on_progress(Progress("statistics", STATISTICS_PERCENT))
            try:
                statistics = await self._statistics.read(workload, credentials)
            except Exception as error:  # statistics are a help: trouble never fails the task
                log.warning("statistics not read: %s", type(error).__name__)
                statistics = WorkloadStatistics(
                    problems=(f"the statistics reader failed ({type(error).__name__})",)
                )
        if self._pool is not None:

            async def stage_reached(stage: str, percent: int) -> None:
                await on_progress(Progress(stage, max(percent, floor)))

            result = await self._pool.run(
                analyze,
                workload,
                version=self._version,
                statistics=statistics,
                on_stage=stage_reached,
            )
        else:
            result = await asyncio.to_thread(
                analyze, workload, version=self._version, on_stage=on_stage, statistics=statistics
            )
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        return dataclasses.replace(
            result, meta=dataclasses.replace(result.meta, duration_ms=elapsed_ms)
        )
