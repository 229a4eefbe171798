"""Distinct values scaled from a sample: what the statistics reader uses where SHOW STATS has
none. Exact at both ends — a key scales with the table, a category was seen whole — and never
more than the table's rows or less than the sample saw."""

from __future__ import annotations

import doctest

from hypothesis import given
from hypothesis import strategies as st

from adapters.trino import statistics
from adapters.trino.statistics import scaled_distinct


def test_a_key_scales_with_the_table_and_a_category_does_not() -> None:
    assert scaled_distinct(10_000, 10_000, 0.01, 1_000_000) == 1_000_000
    assert scaled_distinct(12, 10_000, 0.01, 1_000_000) < 13


def test_the_whole_table_read_is_taken_as_it_is() -> None:
    assert scaled_distinct(4_321, 20_000, 1.0, 20_000) == 4_321


@given(
    seen=st.integers(1, 1_000_000),
    share=st.floats(0.0001, 1.0),
    data=st.data(),
)
def test_the_estimate_lies_between_the_sample_and_the_table(
    seen: int, share: float, data: st.DataObject
) -> None:
    distinct = data.draw(st.integers(1, seen))
    rows = max(seen / share, seen)
    estimate = scaled_distinct(distinct, seen, share, rows)
    assert distinct - 0.05 <= estimate <= rows + 0.05
    more = data.draw(st.integers(distinct, seen))
    assert scaled_distinct(more, seen, share, rows) >= estimate - 0.05


def test_the_examples_in_the_module_hold() -> None:
    assert doctest.testmod(statistics).failed == 0
