"""The pipeline's last step: every rewrite and migration run before the result is returned.

Wraps the analyzer (the engine, refined by the LLM or not): when the workload's options ask
for it (`verify`, on by default), the result goes to a `Verifier` — the source tables built
and filled with generated rows, the new DDL and migrations run, each original query compared
with its rewrite — within a budget of rows per table and seconds per task. A rewrite that
returns other rows is replaced by the original only retargeted (see
`domain.verification.merge`); the report's verification says what was run and found.

Nothing here fails the task: a verifier that breaks leaves the structural verification in
place, with the reason; a budget spent leaves the queries it did not reach `not_verifiable`.
The stage shows in the task's progress as ``verify``.

Building the checks, generating the rows and merging are CPU work (seconds for hundreds of
queries): with a `ComputePool` the whole step (`verify_result_now`) runs there, given the
verifier (plain configuration), the workload, the result and the statistics — nothing secret.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from application.ports.analyzer import Analyzer, ProgressSink
from application.ports.compute import ComputePool
from application.ports.verifier import Verifier
from application.verification.statistics_memo import RememberingStatisticsReader
from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.task import Progress
from domain.verification.checks import build_checks
from domain.verification.merge import verified_result
from domain.verification.model import VerificationRequest
from domain.workload import Credentials, Workload

__all__ = ["VERIFY_STAGE", "VerifiedAnalyzer", "verify_result", "verify_result_now"]

log = logging.getLogger(__name__)

VERIFY_STAGE = Progress("verify", 95)


class VerifiedAnalyzer(Analyzer):
    def __init__(
        self,
        analyzer: Analyzer,
        verifier: Verifier,
        *,
        rows_per_table: int = 2_000,
        budget_seconds: float = 60.0,
        seed: int = 0,
        statistics: RememberingStatisticsReader | None = None,
        pool: ComputePool | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._verifier = verifier
        self._rows = rows_per_table
        self._budget = budget_seconds
        self._seed = seed
        self._statistics = statistics
        self._pool = pool

    @property
    def inner(self) -> Analyzer:
        """The analyzer whose results this one verifies."""
        return self._analyzer

    @property
    def verifier(self) -> Verifier:
        return self._verifier

    async def analyze(
        self,
        workload: Workload,
        on_progress: ProgressSink,
        *,
        credentials: Credentials | None = None,
    ) -> AnalysisResult:
        result = await self._analyzer.analyze(workload, on_progress, credentials=credentials)
        statistics = self._statistics.recall(workload) if self._statistics is not None else None
        if not workload.options.verify:
            return result
        await on_progress(VERIFY_STAGE)
        if self._pool is not None:
            return await self._pool.run(
                verify_result_now,
                self._verifier,
                workload,
                result,
                statistics=statistics,
                rows_per_table=self._rows,
                budget_seconds=self._budget,
                seed=self._seed,
            )
        return await verify_result(
            self._verifier,
            workload,
            result,
            statistics=statistics,
            rows_per_table=self._rows,
            budget_seconds=self._budget,
            seed=self._seed,
        )


def verify_result_now(
    verifier: Verifier,
    workload: Workload,
    result: AnalysisResult,
    *,
    statistics: WorkloadStatistics | None,
    rows_per_table: int,
    budget_seconds: float,
    seed: int,
) -> AnalysisResult:
    """`verify_result` on an event loop of its own: what a process of a pool runs."""
    return asyncio.run(
        verify_result(
            verifier,
            workload,
            result,
            statistics=statistics,
            rows_per_table=rows_per_table,
            budget_seconds=budget_seconds,
            seed=seed,
        )
    )


async def verify_result(
    verifier: Verifier,
    workload: Workload,
    result: AnalysisResult,
    *,
    statistics: WorkloadStatistics | None,
    rows_per_table: int,
    budget_seconds: float,
    seed: int,
) -> AnalysisResult:
    """`result` verified by `verifier`; a verifier that breaks leaves it as it was, with the
    reason in its report."""
    started = time.perf_counter()
    checks = build_checks(workload, result)
    request = VerificationRequest(
        workload=workload,
        result=result,
        checks=checks,
        seed=seed,
        rows_per_table=rows_per_table,
        budget_seconds=budget_seconds,
        statistics=statistics,
    )
    try:
        verification = await verifier.verify(request)
        verified = verified_result(result, verification, checks)
    except Exception as error:  # a verifier bug must not fail the task
        log.warning("verification failed: %s: %s", type(error).__name__, error)
        report = dataclasses.replace(
            result.report,
            verification={
                **result.report.verification,
                "executed": False,
                "error": f"the verifier failed ({type(error).__name__}: {error})"[:300],
            },
        )
        return dataclasses.replace(result, report=report)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    meta = dataclasses.replace(
        verified.meta, extra={**verified.meta.extra, "verification_ms": elapsed_ms}
    )
    return dataclasses.replace(verified, meta=meta)
