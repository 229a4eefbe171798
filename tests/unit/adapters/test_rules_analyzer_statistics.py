"""The analyzer reads the tables' statistics with the task's login, and only with it."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.engine.rules_analyzer import RulesAnalyzer
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
