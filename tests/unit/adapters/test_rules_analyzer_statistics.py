"""The analyzer reads the tables' statistics with the task's login, and only with it."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.trino.statistics import TrinoStatisticsReader
from domain.analysis.names import TableName
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from domain.task import Progress
from domain.workload import Credentials, Workload

FLIGHTS = Path(__file__).resolve().parents[3] / "examples" / "flights.json"


class RecordingReader:
    """A statistics reader that answers a small flights table and remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[Credentials | None] = []

    async def read(self, workload: Workload, credentials: Credentials | None) -> WorkloadStatistics:
        self.calls.append(credentials)
        table = TableStatistics(
            rows=10_000,
            data_bytes=2 << 20,
            files=1,
            columns={"flightdate": ColumnStatistics(low="2022-01-01", high="2022-12-31")},
        )
        return WorkloadStatistics({TableName("flights", "public", "flights"): table})


def workload() -> Workload:
    return Workload.from_dict(json.loads(FLIGHTS.read_text()))


async def test_statistics_are_read_with_the_tasks_login_and_shape_the_layout() -> None:
    reader = RecordingReader()
    stages: list[str] = []

    async def on_progress(progress: Progress) -> None:
        stages.append(progress.stage)

    login = Credentials("reader", "not-a-real-password")
    result = await RulesAnalyzer("test", reader).analyze(workload(), on_progress, credentials=login)

    assert reader.calls == [login]
    assert stages[0] == "statistics"
    create = next(s.statement for s in result.ddl if "optimized.flights" in s.statement)
    assert "partitioning" not in create  # a 2 MiB table stays unpartitioned
    assert "not-a-real-password" not in json.dumps(result.to_dict())


async def test_without_a_login_nothing_is_read_and_the_report_says_so() -> None:
    reader = RecordingReader()

    async def on_progress(progress: Progress) -> None:
        return None

    result = await RulesAnalyzer("test", reader).analyze(workload(), on_progress)

    assert reader.calls == []
    assert any(f.code == "statistics_missing" for f in result.report.findings)


async def test_a_trino_that_cannot_be_reached_leaves_a_finding_and_the_task_completes() -> None:
    # given a workload whose URL points at a closed port on this machine
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"jdbc:trino://127.0.0.1:{port}/flights/public?SSL=true"
    closed = dataclasses.replace(workload(), url=url)
    analyzer = RulesAnalyzer("test", TrinoStatisticsReader(statement_seconds=2, budget_seconds=5))

    async def on_progress(progress: Progress) -> None:
        return None

    # when it is analysed with a login
    login = Credentials("reader", "marker-password-51c9")
    result = await analyzer.analyze(closed, on_progress, credentials=login)

    # then the result is complete, says what could not be read, and never quotes the password
    missing = [f for f in result.report.findings if f.code == "statistics_missing"]
    assert "could not be reached" in missing[0].rationale
    assert len(result.queries) == len(closed.queries)
    assert "marker-password-51c9" not in json.dumps(result.to_dict())


async def test_a_password_for_a_plain_http_trino_is_not_sent_and_the_report_says_why() -> None:
    plain = dataclasses.replace(workload(), url="jdbc:trino://127.0.0.1:9/flights/public")
    analyzer = RulesAnalyzer("test", TrinoStatisticsReader(statement_seconds=2, budget_seconds=5))

    async def on_progress(progress: Progress) -> None:
        return None

    login = Credentials("reader", "marker-password-51c9")
    result = await analyzer.analyze(plain, on_progress, credentials=login)

    missing = [f for f in result.report.findings if f.code == "statistics_missing"]
    assert "only over TLS" in missing[0].rationale


async def test_progress_never_moves_back_after_the_statistics_stage() -> None:
    seen: list[int] = []

    async def on_progress(progress: Progress) -> None:
        seen.append(progress.percent)

    login = Credentials("reader", "not-a-real-password")
    await RulesAnalyzer("test", RecordingReader()).analyze(
        workload(), on_progress, credentials=login
    )

    assert len(seen) > 1
    assert seen == sorted(seen)
