"""The benchmark's generator makes workloads the engine answers within its contract."""

from __future__ import annotations

from bench.generate import workload
from domain.analysis import analyze
from tests.unit.analysis.contract import assert_result_obeys_contract


def test_a_small_generated_workload_is_advised_within_the_contract() -> None:
    generated = workload(5, 60)
    result = analyze(generated)
    assert_result_obeys_contract(generated, result)
    assert any(f.code == "partition_recommended" for f in result.report.findings)
    assert result.report.verification["counts"]["rewritten"] > 0
