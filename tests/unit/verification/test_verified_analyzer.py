"""The verification step of the pipeline: switched by options.verify, shown in progress, and
never the reason a task fails."""

from __future__ import annotations

import dataclasses

from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.verify.duckdb_verifier import DuckDbVerifier
from application.verification.statistics_memo import RememberingStatisticsReader
from application.verification.verified_analyzer import VerifiedAnalyzer
from domain.statistics import WorkloadStatistics
from domain.task import Progress
from domain.verification.model import Verification, VerificationRequest
from domain.workload import AnalysisOptions, Credentials, Workload
from tests.unit.verification.support import workload

ORDERS = "CREATE TABLE lake.shop.orders (id bigint, status varchar, amount double)"


def orders(verify: bool = True) -> Workload:
    load = workload("SELECT id FROM orders WHERE status = 'open'", ddl=(ORDERS,))
    return dataclasses.replace(load, options=AnalysisOptions(verify=verify))


class Recorder:
    def __init__(self) -> None:
        self.stages: list[Progress] = []

    async def __call__(self, progress: Progress) -> None:
        self.stages.append(progress)


class Broken:
    engine = "broken"

    async def verify(self, request: VerificationRequest) -> Verification:
        raise RuntimeError("the sandbox exploded")


class Spy:
    """A verifier that records the request and delegates to DuckDB."""

    engine = "spy"

    def __init__(self) -> None:
        self.requests: list[VerificationRequest] = []

    async def verify(self, request: VerificationRequest) -> Verification:
        self.requests.append(request)
        return await DuckDbVerifier().verify(request)


async def test_the_result_is_verified_and_the_stage_shows_in_progress() -> None:
    progress = Recorder()
    analyzer = VerifiedAnalyzer(RulesAnalyzer("test"), DuckDbVerifier(), rows_per_table=300)
    result = await analyzer.analyze(orders(), progress)
    assert progress.stages[-1] == Progress("verify", 95)
    assert result.report.verification["executed"] is True
    assert result.report.verification["rows_per_table"] == 300
    assert result.report.verification["queries"][0]["outcome"] == "verified"
    assert "verification_ms" in result.meta.to_dict()


async def test_verify_off_keeps_the_structural_verification() -> None:
    progress = Recorder()
    spy = Spy()
    result = await VerifiedAnalyzer(RulesAnalyzer("test"), spy).analyze(orders(False), progress)
    assert spy.requests == []
    assert "verify" not in [p.stage for p in progress.stages]
    assert result.report.verification["executed"] is False


async def test_a_broken_verifier_leaves_the_result_unverified_not_failed() -> None:
    result = await VerifiedAnalyzer(RulesAnalyzer("test"), Broken()).analyze(orders(), Recorder())
    assert result.report.verification["executed"] is False
    assert "the sandbox exploded" in result.report.verification["error"]
    assert [q.queryid for q in result.queries] == ["q0"]


class FixedReader:
    def __init__(self, statistics: WorkloadStatistics) -> None:
        self.statistics = statistics
        self.reads = 0

    async def read(self, workload: Workload, credentials: Credentials | None) -> WorkloadStatistics:
        self.reads += 1
        return self.statistics


async def test_the_statistics_the_engine_read_shape_the_data_without_a_second_read() -> None:
    read = WorkloadStatistics(problems=("nothing to read",))
    reader = FixedReader(read)
    memo = RememberingStatisticsReader(reader)
    spy = Spy()
    analyzer = VerifiedAnalyzer(RulesAnalyzer("test", memo), spy, statistics=memo)
    await analyzer.analyze(orders(), Recorder(), credentials=Credentials("u", "p"))
    assert reader.reads == 1
    assert spy.requests[0].statistics is read
    assert memo.recall(orders()) is None  # told once, then forgotten


def test_a_scratch_trino_url_moves_the_verification_to_trino() -> None:
    from adapters.verify.trino_verifier import TrinoVerifier, scratch_from_url
    from entrypoints.containers import analyzer_from_settings
    from entrypoints.instrumentation import InstrumentedAnalyzer
    from entrypoints.settings import Settings

    scratch = scratch_from_url("http://127.0.0.1:8080?catalog=scratch&user=v")
    assert (scratch.host, scratch.port, scratch.catalog, scratch.user) == (
        "127.0.0.1",
        8080,
        "scratch",
        "v",
    )

    def timed(analyzer: object) -> object:  # every process's analyzer is timed for /metrics
        assert isinstance(analyzer, InstrumentedAnalyzer)
        return analyzer.inner

    on_trino = timed(
        analyzer_from_settings(
            Settings(verify_trino_url="trino://v@127.0.0.1:8080/scratch", llm_base_url=None), "1"
        )
    )
    assert isinstance(on_trino, VerifiedAnalyzer)
    assert isinstance(on_trino.verifier, TrinoVerifier)
    embedded = timed(analyzer_from_settings(Settings(llm_base_url=None), "1"))
    assert isinstance(embedded, VerifiedAnalyzer)
    assert isinstance(embedded.verifier, DuckDbVerifier)
    off = timed(analyzer_from_settings(Settings(verify_enabled=False, llm_base_url=None), "1"))
    assert isinstance(off, RulesAnalyzer)
