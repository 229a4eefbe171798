"""Report pass: numbered findings with weight shares, estimates and verification."""

from __future__ import annotations

import pytest

from domain.analysis import analyze
from domain.analysis.findings import Issue, Severity
from domain.analysis.report import number_findings
from domain.workload import Query
from tests.unit.analysis.support import WorkloadFactory


def test_findings_are_numbered_in_order_and_weighed_by_their_queries() -> None:
    issues = [
        Issue("parse_error", Severity.ERROR, "a", "r", queryids=("q1",)),
        Issue("unknown_table", Severity.WARNING, "b", "r", queryids=("q1", "q2", "q1")),
        Issue("name_collision", Severity.INFO, "c", "r"),
    ]
    findings = number_findings(issues, {"q1": 30.0, "q2": 10.0, "q3": 60.0}, 100.0)
    assert [f.id for f in findings] == ["F001", "F002", "F003"]
    assert [f.weight_share for f in findings] == [0.3, 0.4, 0.0]


def test_estimates_give_each_query_its_weight_and_share_and_the_data_it_reads(
    make_workload: WorkloadFactory,
) -> None:
    workload = make_workload(
        ["CREATE TABLE orders (id bigint)"],
        [Query("q1", "SELECT * FROM orders", 3, 10), Query("q2", "SELECT 1", 10, None)],
    )
    estimates = analyze(workload).report.estimates
    assert estimates["total_weight"] == 40.0
    assert estimates["weights"] == [
        {"queryid": "q1", "weight": 30.0, "weight_share": 0.75},
        {"queryid": "q2", "weight": 10.0, "weight_share": 0.25},
    ]
    assert estimates["table_weights"] == [
        {
            "table": "lake.optimized.orders",
            "source": "lake.sales.orders",
            "queryids": 1,
            "weight_share": 0.75,
        }
    ]
    # q1 filters nothing, q2 reads no table: the whole table is read before and after
    assert estimates["queries"] == [{"queryid": "q1", "before": 1.0, "after": 1.0}]
    assert estimates["data_read"]["by_runquantity"] == {"before": 1.0, "after": 1.0}
    assert estimates["assumptions"]


def test_verification_gives_every_query_a_status_and_states_its_method(
    make_workload: WorkloadFactory,
) -> None:
    workload = make_workload(
        ["CREATE TABLE orders (id bigint)"],
        [
            ("full", "SELECT * FROM orders"),
            ("part", "SELECT * FROM orders, refunds"),
            ("none", "SELECT 1"),
            ("bad", "SELEC 1"),
        ],
    )
    verification = analyze(workload).report.verification
    assert [(q["queryid"], q["status"]) for q in verification["queries"]] == [
        ("full", "retargeted"),
        ("part", "partially_retargeted"),
        ("none", "unchanged"),
        ("bad", "unchanged"),
    ]
    assert verification["counts"] == {
        "rewritten": 0,
        "retargeted": 1,
        "partially_retargeted": 1,
        "unchanged": 2,
    }
    assert verification["method"].startswith("structural")
    assert verification["executed"] is False


@pytest.mark.parametrize("queries", [[], [Query("q", "SELECT 1", 0, 0)]])
def test_a_weightless_workload_has_zero_shares_not_a_division_error(
    make_workload: WorkloadFactory, queries: list[Query]
) -> None:
    report = analyze(make_workload([], queries)).report
    assert report.estimates["total_weight"] == 0.0
    assert all(q["weight_share"] == 0.0 for q in report.estimates["weights"])


def test_the_summary_is_one_paragraph_naming_the_new_schema(make_workload: WorkloadFactory) -> None:
    summary = analyze(
        make_workload(["CREATE TABLE t (x int)"], [("q", "SELECT x FROM t")])
    ).report.summary
    assert "lake.optimized" in summary
    assert "\n" not in summary


def test_estimates_weigh_the_columns_filtered_or_joined_on_and_the_join_paths(
    make_workload: WorkloadFactory,
) -> None:
    # given two tables joined by one query and one filtered by another
    workload = make_workload(
        [
            "CREATE TABLE orders (id bigint, customer_id bigint, status varchar)",
            "CREATE TABLE customers (customer_id bigint, name varchar)",
        ],
        [
            Query(
                "join",
                "SELECT c.name, count(*) FROM orders o JOIN customers c "
                "ON o.customer_id = c.customer_id GROUP BY c.name",
                1,
                30,
            ),
            Query("filter", "SELECT * FROM orders WHERE status = 'open'", 10, 1),
        ],
    )
    # when it is analysed
    estimates = analyze(workload).report.estimates
    # then each column carries the share of the queries using it, heaviest first
    assert [(c["column"], c["uses"], c["weight_share"]) for c in estimates["column_weights"]] == [
        ("customer_id", ["join"], 0.75),
        ("customer_id", ["join"], 0.75),
        ("status", ["eq"], 0.25),
    ]
    # and the join path names both sides' keys in the new schema
    assert estimates["join_weights"] == [
        {
            "path": "lake.optimized.customers.customer_id ⋈ lake.optimized.orders.customer_id",
            "tables": ["lake.optimized.customers", "lake.optimized.orders"],
            "queryids": 1,
            "weight_share": 0.75,
        }
    ]
