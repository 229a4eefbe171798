"""The score is the judges' formula: speedup weighted by runquantity, storage linear."""

from __future__ import annotations

import pytest

from domain.scoring import LIMIT_SECONDS, QueryTiming, score


def test_speedup_is_weighted_by_how_often_each_query_runs() -> None:
    timings = [QueryTiming("hot", 900, 10.0, 1.0), QueryTiming("cold", 100, 10.0, 10.0)]
    result = score(timings, storage_before=1, storage_after=1)
    assert result.x == pytest.approx((900 * 10 + 100 * 1) / 1000)


def test_a_failed_or_wrong_rewrite_counts_as_the_ten_minute_limit() -> None:
    failed = QueryTiming("q", 1, 60.0, 0.5, held=False)
    assert failed.counted_after == LIMIT_SECONDS
    assert score([failed], 1, 1).x == pytest.approx(60.0 / LIMIT_SECONDS)


def test_a_rewrite_slower_than_the_limit_counts_as_the_limit() -> None:
    assert QueryTiming("q", 1, 60.0, 3600.0).counted_after == LIMIT_SECONDS


def test_z_is_x_to_the_two_thirds_times_y() -> None:
    result = score([QueryTiming("q", 1, 8.0, 1.0)], storage_before=300, storage_after=100)
    assert (result.x, result.y) == (8.0, 3.0)
    assert result.z == pytest.approx(4.0 * 3.0)


def test_no_queries_and_no_storage_leave_the_score_at_one() -> None:
    assert score([], 0, 0) == score([], 5, 5)
    assert score([], 0, 0).z == 1.0
