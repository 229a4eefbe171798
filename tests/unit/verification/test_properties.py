"""Properties: on workloads of every shape, the engine's rewrites pass their verification, and
whatever the verifier finds, the result keeps its contract."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.shapes import SHAPES
from bench.shapes import workload as shape_workload
from domain.analysis import analyze
from domain.statistics import ColumnStatistics
from domain.workload import Workload
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.analysis.test_rollup import aggregate_queries, big
from tests.unit.analysis.test_rollup import workload as sales_workload
from tests.unit.verification.support import verify


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(sorted(SHAPES)), seed=st.integers(0, 10_000))
def test_no_rewrite_of_a_shaped_workload_differs(shape: str, seed: int) -> None:
    load = Workload.from_dict(shape_workload(shape, seed=seed, queries=25))
    checked = verify(load, analyze(load), rows=1_000)
    assert not [q for q in checked.report.verification["queries"] if "replaced" in q]
    assert_result_obeys_contract(load, checked)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries=st.lists(aggregate_queries(), min_size=1, max_size=4))
def test_every_rollup_rewrite_is_verified_or_unexercised(queries: list[str]) -> None:
    # given aggregate queries that statistics let rollups answer
    statistics = big(
        country=ColumnStatistics(distinct=3, null_fraction=0.1),
        device=ColumnStatistics(distinct=3),
        day=ColumnStatistics(distinct=150, low="2023-12-01", high="2024-04-30"),
    )
    load = sales_workload(*queries)
    result = analyze(load, statistics=statistics)
    # when the answer is verified on data shaped by the same statistics
    checked = verify(load, result, rows=1_000, statistics=statistics)
    # then every query returned its original's rows, or neither returned any
    outcomes = {q["queryid"]: q for q in checked.report.verification["queries"]}
    assert all(q["outcome"] in ("verified", "empty") for q in outcomes.values()), outcomes
    assert checked.queries == result.queries
