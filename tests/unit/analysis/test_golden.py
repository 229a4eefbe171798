"""Golden decisions on the example workloads: the layout chosen for each table, its reasons,
and the rewrites — asserted on the decisions, not on whole SQL texts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from domain.analysis import analyze
from domain.result import AnalysisResult, Finding
from domain.workload import Workload
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.analysis.support import layout_only

Loader = Callable[[str], Workload]


def create(result: AnalysisResult, table: str) -> str:
    return next(s.statement for s in result.ddl if s.statement.startswith(f"CREATE TABLE {table} "))


def findings(result: AnalysisResult, code: str, table: str | None = None) -> list[Finding]:
    return [f for f in result.report.findings if f.code == code and table in (None, f.table)]


def query(result: AnalysisResult, queryid: str) -> str:
    return next(q.query for q in result.queries if q.queryid == queryid)


@pytest.fixture
def flights(load_example: Loader) -> AnalysisResult:
    return analyze(layout_only(load_example("flights")))


def test_flights_of_unknown_size_is_bucketed_by_tail_and_sorted_by_its_date(
    flights: AnalysisResult,
) -> None:
    ddl = create(flights, "flights.optimized.flights")
    # without statistics no time partition (see sizing): the date the quarter ranges ask
    # for leads the sort; the year/month filter of f-airline-month reads a rollup
    assert "partitioning = ARRAY['bucket(tail_number, 16)']" in ddl
    # cancelled = false keeps nearly every flight: the flag is not a sort key
    assert "sorted_by = ARRAY['flightdate', 'tail_number']" in ddl
    assert "flights_rollup" in query(flights, "f-airline-month")
    [partition] = findings(flights, "partition_recommended")
    assert set(partition.queryids) == {"f-tail"}
    assert partition.details["migration_statements"] == 1
    [sort] = findings(flights, "sort_recommended")
    assert set(sort.queryids) == {"f-route-delays", "f-tail"}


def test_flights_year_and_month_filters_are_not_rewritten_into_dates(
    flights: AnalysisResult,
) -> None:
    # nothing in the DDL proves year/month are flightdate's parts
    assert re.search(
        r"WHERE (r\.)?year = 2022 AND (r\.)?month = 6", query(flights, "f-airline-month")
    )


def test_flights_order_by_inside_a_cte_is_dropped(flights: AnalysisResult) -> None:
    rewritten = query(flights, "f-peak-taxi")
    assert "GROUP BY origin, MONTH(flightdate)), ranked" in rewritten
    assert "RANK() OVER (PARTITION BY m ORDER BY n DESC)" in rewritten
    assert findings(flights, "order_by_dropped")[0].queryids == ("f-peak-taxi",)


def test_flights_data_read_estimate_drops(flights: AnalysisResult) -> None:
    read = flights.report.estimates["data_read"]["by_runquantity"]
    assert read["before"] == 1.0
    assert read["after"] < 0.5


def test_tickets_are_bucketed_by_customer_and_sorted_for_open_tickets(
    load_example: Loader,
) -> None:
    result = analyze(layout_only(load_example("tickets")))
    ddl = create(result, "support.optimized.tickets")
    assert "partitioning = ARRAY['bucket(customer_id, 16)']" in ddl
    assert "sorted_by = ARRAY['customer_id', 'closed_at']" in ddl
    assert findings(result, "partition_recommended")[0].queryids == ("k-customer",)
    # agents is only joined: nothing gains, and the report says so
    assert "WITH (format = 'PARQUET', format_version = 2)" in create(
        result, "support.optimized.agents"
    )
    assert findings(result, "layout_unchanged", "support.optimized.agents")


def test_messy_orders_are_partitioned_by_status_instead_of_an_unused_day(
    load_example: Loader,
) -> None:
    result = analyze(load_example("messy"))
    assert "partitioning = ARRAY['status']" in create(result, "lake.optimized.sales_orders")
    [partition] = findings(result, "partition_recommended", "lake.optimized.sales_orders")
    assert set(partition.queryids) == {"m-oneline-comment", "m-cte-shadow", "m-qualified-columns"}
    assert "replaces the source's partitioning" in partition.risk
    assert findings(result, "full_scan", "lake.optimized.sales_orders")[0].queryids == (
        "m-qualified-mix",
        "m-union",
        "m-unknown-table",
    )


class TestClicks:
    """examples/clicks.json: a date kept as varchar, compared with date strings and cast."""

    @pytest.fixture
    def result(self, load_example: Loader) -> AnalysisResult:
        return analyze(layout_only(load_example("clicks")))

    def test_the_varchar_date_becomes_a_date_and_leads_the_sort_of_unknown_size(
        self, result: AnalysisResult
    ) -> None:
        ddl = create(result, "web.optimized.clicks")
        assert "event_date DATE" in ddl
        # the queries ask for days; without statistics the table may be small (see sizing)
        assert "partitioning" not in ddl
        assert "sorted_by = ARRAY['event_date', 'country', 'event_ts']" in ddl
        [fix] = findings(result, "type_fix")
        assert fix.details["check"].startswith("SELECT count(*) FROM web.events.clicks")
        [copy] = [m.statement for m in result.migrations if "web.optimized.clicks" in m.statement]
        assert "CAST(event_date AS DATE)" in copy

    def test_queries_compare_with_dates_and_read_the_text_back(
        self, result: AnalysisResult
    ) -> None:
        assert "event_date = CAST('2024-03-05' AS DATE)" in query(result, "c-country")
        assert "c.event_date >= CAST('2024-03-01' AS DATE)" in query(result, "c-day-cast")
        assert query(result, "c-daily").startswith(
            "SELECT CAST(event_date AS VARCHAR) AS event_date"
        )
        assert "CAST(clicks.event_date AS VARCHAR) AS event_date" in query(result, "c-export")

    def test_year_of_a_timestamp_becomes_a_range(self, result: AnalysisResult) -> None:
        assert "event_ts >= CAST('2024-01-01 00:00:00' AS TIMESTAMP)" in query(result, "c-year")
        assert findings(result, "predicate_rewritten")[0].queryids == ("c-year",)


@pytest.mark.parametrize("name", ["flights", "tickets", "messy", "clicks"])
def test_every_example_keeps_its_contract_with_the_advice(load_example: Loader, name: str) -> None:
    workload = load_example(name)
    assert_result_obeys_contract(workload, analyze(workload))
