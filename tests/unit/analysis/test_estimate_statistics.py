"""With statistics the estimates speak in bytes and seconds, from the real sizes and spans;
without them, in shares under stated assumptions."""

from __future__ import annotations

from typing import Any

import pytest

from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.statistics import (
    ColumnStatistics,
    QueryEstimate,
    TableStatistics,
    WorkloadStatistics,
)
from domain.workload import Workload

GIB = 1 << 30
EVENTS = TableName("lake", "app", "events")
USERS = TableName("lake", "app", "users")


def workload() -> Workload:
    return Workload.from_dict(
        {
            "url": "jdbc:trino://h:8080/lake/app",
            "ddl": [
                {
                    "statement": "CREATE TABLE lake.app.events (event_id bigint, user_id bigint,"
                    " ts timestamp(6), kind varchar, amount double)"
                },
                {"statement": "CREATE TABLE lake.app.users (user_id bigint, country varchar)"},
            ],
            "queries": [
                {
                    "queryid": "month",
                    "query": "SELECT event_id, user_id, amount FROM lake.app.events WHERE ts >="
                    " TIMESTAMP '2025-03-01 00:00:00' AND ts < TIMESTAMP '2025-04-01 00:00:00'",
                    "runquantity": 100,
                    "executiontime": 40.0,
                },
                {
                    "queryid": "join",
                    "query": "SELECT u.country, count(*) FROM lake.app.events e JOIN "
                    "lake.app.users u ON u.user_id = e.user_id GROUP BY u.country",
                    "runquantity": 10,
                },
            ],
        }
    )


def statistics() -> WorkloadStatistics:
    span = ColumnStatistics(low="2023-01-01 00:00:00", high="2025-12-31 23:59:59")
    return WorkloadStatistics(
        tables={
            EVENTS: TableStatistics(
                rows=4e9, data_bytes=800 * GIB, files=6000, columns={"ts": span}
            ),
            USERS: TableStatistics(rows=1e6, data_bytes=GIB // 4, files=2),
        },
        source="https://trino.example.com:443",
    )


def by_id(estimates: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["queryid"]: q for q in estimates["queries"]}


def test_a_month_of_three_years_reads_its_share_of_the_tables_bytes() -> None:
    estimates = analyze(workload(), statistics=statistics()).report.estimates
    month = by_id(estimates)["month"]
    # before: no partition prunes, every byte is read
    assert month["bytes_before"] == 800 * GIB
    # after: the month's share of the real span (31 of ~1,095 days), not of an assumed two years
    assert month["bytes_after"] == pytest.approx(800 * GIB * 31 / 1095, rel=0.05)
    assert month["seconds_before"] == 40.0
    assert month["seconds_after"] == pytest.approx(40.0 * 31 / 1095, rel=0.05)
    assert estimates["sized_from"] == "statistics"
    assert any("statistics read" in a for a in estimates["assumptions"])


def test_a_join_reads_the_bytes_of_both_tables_not_the_mean_of_their_shares() -> None:
    estimates = analyze(workload(), statistics=statistics()).report.estimates
    join = by_id(estimates)["join"]
    assert join["bytes_before"] == 800 * GIB + GIB // 4
    assert join["seconds_before"] == 1.0  # no executiontime given: one second, as assumed


def test_the_workload_time_is_summed_over_runs_and_its_speedup_weighed_by_runs() -> None:
    estimates = analyze(workload(), statistics=statistics()).report.estimates
    time = estimates["time"]
    queries = by_id(estimates)
    assert time["queries_runs"] == 110
    assert time["seconds_all_runs_before"] == pytest.approx(100 * 40.0 + 10 * 1.0, abs=0.1)
    after = 100 * queries["month"]["seconds_after"] + 10 * queries["join"]["seconds_after"]
    assert time["seconds_all_runs_after"] == pytest.approx(after, abs=0.5)
    assert time["speedup_by_runquantity"] > 1.0
    assert estimates["tables_bytes"]["lake.optimized.events"] == 800 * GIB


def test_without_statistics_there_are_shares_and_no_bytes() -> None:
    estimates = analyze(workload()).report.estimates
    assert "sized_from" not in estimates
    assert all("bytes_before" not in q for q in estimates["queries"])
    assert by_id(estimates)["month"]["after"] < by_id(estimates)["month"]["before"]


def test_what_the_users_trino_plans_to_read_is_shown_beside_the_model() -> None:
    planned = statistics()
    planned = WorkloadStatistics(
        tables=planned.tables,
        queries={"month": QueryEstimate(rows=1.1e8, data_bytes=23 * GIB)},
        source=planned.source,
    )
    queries = by_id(analyze(workload(), statistics=planned).report.estimates)
    assert queries["month"]["planned_bytes_before"] == 23 * GIB
    assert "planned_bytes_before" not in queries["join"]
