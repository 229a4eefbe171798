"""Comparing query results: the same rows as multisets, floats within a tolerance, every value
type the Trino client returns, and a short reason when they differ."""

from __future__ import annotations

import doctest
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import domain.rowsets
from domain.rowsets import Comparison, compare_results

# --- multisets ------------------------------------------------------------------------------


def test_the_same_rows_in_another_order_are_equal() -> None:
    before = [(1, "a", 2.5), (2, "b", None), (3, "c", 0.0)]
    after = [(3, "c", 0.0), (1, "a", 2.5), (2, "b", None)]

    assert compare_results(before, after) == Comparison(True, 3, 3, "")


def test_a_missing_row_makes_results_differ_and_the_detail_names_it() -> None:
    before = [(1, "a"), (2, "b"), (3, "c")]
    after = [(1, "a"), (3, "c")]

    comparison = compare_results(before, after)

    assert not comparison.equal
    assert (comparison.rows_before, comparison.rows_after) == (3, 2)
    assert comparison.detail == "1 row only in the original, 0 only in the rewrite; first: (2, 'b')"


def test_a_duplicated_row_counts_as_another_row() -> None:
    # multisets, not sets: DISTINCT dropped by a rewrite must be caught
    comparison = compare_results([(1, "a"), (1, "a")], [(1, "a")])

    assert not comparison.equal
    assert comparison.detail.startswith("1 row only in the original, 0 only in the rewrite")
    assert not compare_results([(1,)], [(1,), (1,)]).equal


def test_rows_differing_on_both_sides_are_shown_side_by_side() -> None:
    comparison = compare_results([(1, "a"), (2, "b")], [(1, "a"), (2, "B")])

    assert comparison.detail == (
        "1 row only in the original, 1 only in the rewrite; first: (2, 'b') (original) vs "
        "(2, 'B') (rewrite)"
    )


def test_two_empty_results_are_equal() -> None:
    assert compare_results([], []) == Comparison(True, 0, 0, "")
    assert not compare_results([], [(1,)]).equal


def test_results_with_different_column_counts_differ() -> None:
    comparison = compare_results([(1, 2)], [(1, 2, 3)])

    assert not comparison.equal
    assert comparison.detail == "column counts differ: 2 in the original, 3 in the rewrite"


# --- floats ---------------------------------------------------------------------------------


def test_floats_within_relative_tolerance_are_equal() -> None:
    # an AVG summed in another order differs in its last bits
    assert compare_results([(0.1 + 0.2,)], [(0.3,)]).equal
    assert compare_results([(1e20,)], [(1e20 * (1 + 1e-12),)]).equal


def test_floats_outside_the_tolerance_differ() -> None:
    assert not compare_results([(1.0,)], [(1.0 + 1e-6,)]).equal
    assert not compare_results([(1.0,)], [(1.0 + 1e-6,)], rel_tol=1e-7).equal
    assert compare_results([(1.0,)], [(1.0 + 1e-6,)], rel_tol=1e-5).equal


def test_floats_near_zero_are_compared_with_the_absolute_tolerance() -> None:
    assert compare_results([(0.0,)], [(1e-15,)]).equal
    assert not compare_results([(0.0,)], [(1e-6,)]).equal


def test_nan_equals_nan_and_nothing_else() -> None:
    assert compare_results([(math.nan, 1)], [(float("nan"), 1)]).equal
    assert compare_results([(Decimal("NaN"),)], [(math.nan,)]).equal
    assert not compare_results([(math.nan,)], [(0.0,)]).equal
    assert not compare_results([(math.nan,)], [(None,)]).equal


def test_infinities_equal_only_themselves() -> None:
    assert compare_results([(math.inf,), (-math.inf,)], [(-math.inf,), (math.inf,)]).equal
    assert not compare_results([(math.inf,)], [(1e308,)]).equal


def test_a_value_rounded_across_a_sort_boundary_is_still_matched() -> None:
    # 1 + 2**-33 is where the sort key's rounding changes: the first row's value sorts below
    # it in the original and above it in the rewrite, past the other row, so the sorted rows
    # no longer pair up; the values still agree to 1e-14.
    boundary = 1 + 2**-33
    before = [(boundary - 2**-45, "z"), (boundary + 2**-46, "a")]
    after = [(boundary + 2**-45, "z"), (boundary + 2**-46, "a")]

    assert compare_results(before, after).equal


# --- other types ----------------------------------------------------------------------------


def test_none_only_equals_none() -> None:
    assert compare_results([(None,)], [(None,)]).equal
    assert not compare_results([(None,)], [(0,)]).equal
    assert not compare_results([(0.0,)], [(None,)]).equal
    assert not compare_results([(None,)], [("",)]).equal
    assert not compare_results([(None,)], [(False,)]).equal


def test_a_bool_is_not_a_number() -> None:
    assert compare_results([(True,)], [(True,)]).equal
    assert not compare_results([(True,)], [(1,)]).equal
    assert not compare_results([(False,)], [(0.0,)]).equal


def test_decimals_mixed_with_floats_are_compared_within_the_tolerance() -> None:
    assert compare_results([(Decimal("0.3"),)], [(0.1 + 0.2,)]).equal
    assert not compare_results([(Decimal("0.3"),)], [(0.31,)]).equal


def test_decimals_and_integers_are_compared_exactly() -> None:
    assert compare_results([(Decimal("12.50"),)], [(Decimal("12.5"),)]).equal
    assert compare_results([(Decimal("3"),)], [(3,)]).equal
    assert not compare_results([(Decimal("1.0000000000001"),)], [(Decimal("1"),)]).equal
    assert not compare_results([(10**17,)], [(10**17 + 1,)]).equal


def test_nested_arrays_rows_and_maps_compare_element_by_element() -> None:
    before = [([1.0, 2.0], {"a": [0.1 + 0.2]}, (1, "x"))]
    assert compare_results(before, [([1.0, 2.0], {"a": [0.3]}, (1, "x"))]).equal
    assert not compare_results(before, [([2.0, 1.0], {"a": [0.3]}, (1, "x"))]).equal
    assert not compare_results(before, [([1.0, 2.0, 3.0], {"a": [0.3]}, (1, "x"))]).equal
    assert not compare_results(before, [([1.0, 2.0], {"b": [0.3]}, (1, "x"))]).equal
    assert not compare_results(before, [([1.0, 2.0], {"a": [0.3]}, (1, "y"))]).equal


def test_dates_times_and_bytes_compare_exactly() -> None:
    moment = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    row = (date(2024, 3, 1), moment, time(12, 30), b"\x00\x01", timedelta(days=1))

    assert compare_results([row], [row]).equal
    assert not compare_results([(date(2024, 3, 1),)], [(datetime(2024, 3, 1),)]).equal
    assert not compare_results([(b"a",)], [("a",)]).equal
    # the same instant written in another zone is the same timestamp with time zone
    elsewhere = moment.astimezone(timezone(timedelta(hours=2)))
    assert compare_results([(moment,), (None,)], [(None,), (elsewhere,)]).equal


def test_a_column_mixing_types_sorts_without_error() -> None:
    naive, aware = datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC)
    values: list[object] = [None, 1, "1", 1.5, True, b"1", [1], {"k": 1}, naive, aware, object]
    before = [(v,) for v in values]

    assert compare_results(before, list(reversed(before))).equal
    assert not compare_results(before, [*before[1:], (2,)]).equal


def test_negative_tolerances_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        compare_results([], [], rel_tol=-1.0)


# --- ordered results ------------------------------------------------------------------------


def test_ordered_comparison_detects_rows_in_another_order() -> None:
    before = [(1, "a"), (2, "b")]

    comparison = compare_results(before, [(2, "b"), (1, "a")], ordered=True)

    assert not comparison.equal
    assert comparison.detail == (
        "row 1 differs: (1, 'a') in the original, (2, 'b') in the rewrite; "
        "the same rows in another order"
    )
    assert compare_results(before, [(1, "a"), (2, "b")], ordered=True).equal


def test_ordered_comparison_still_allows_the_float_tolerance() -> None:
    assert compare_results([(0.3, 1), (0.5, 2)], [(0.1 + 0.2, 1), (0.5, 2)], ordered=True).equal


def test_ordered_comparison_names_the_first_extra_row() -> None:
    comparison = compare_results([(1,), (2,)], [(1,), (2,), (3,)], ordered=True)

    assert comparison.detail == (
        "2 rows in the original, 3 in the rewrite; first extra row in the rewrite: (3,)"
    )


# --- properties -----------------------------------------------------------------------------

FLOATS = st.floats(min_value=-1e300, max_value=1e300) | st.sampled_from(
    [math.nan, math.inf, -math.inf, 0.0, -0.0]
)
# One strategy per column type, as a Trino column has one type (NULLs aside).
COLUMNS = [
    st.integers(-(2**63), 2**63 - 1),
    FLOATS,
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6),
    st.text(max_size=5),
    st.booleans(),
    st.dates(),
    st.lists(FLOATS, max_size=3),
    st.dictionaries(st.text(max_size=2), FLOATS, max_size=2),
]


@st.composite
def results(draw: st.DrawFn) -> list[tuple[object, ...]]:
    """A result: rows of a few typed columns, each value possibly NULL, duplicates likely."""
    kinds = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=4))
    row = st.tuples(*(st.none() | kind for kind in kinds))
    rows = draw(st.lists(row, max_size=12))
    duplicated = draw(st.booleans())
    if rows and duplicated:
        rows += draw(st.lists(st.sampled_from(rows), max_size=4))
    return rows


def perturbed(value: object, factor: float) -> object:
    """`value` with every float in it multiplied by `factor`."""
    if isinstance(value, float):
        return value * factor
    if isinstance(value, list):
        return [perturbed(v, factor) for v in value]
    if isinstance(value, dict):
        return {k: perturbed(v, factor) for k, v in value.items()}
    return value


def changed(value: object) -> object:
    """A value no tolerance confuses with `value`."""
    if value is None:
        return "changed"
    if isinstance(value, bool):
        return not value
    if isinstance(value, float):
        return 1.0 if not math.isfinite(value) else value + 1.0 + abs(value)
    if isinstance(value, int | Decimal):
        return value + 1
    if isinstance(value, str):
        return value + "!"
    if isinstance(value, date):
        return value + timedelta(days=1) if value < date.max else value - timedelta(days=1)
    if isinstance(value, list):
        return [*value, 0.0]
    if isinstance(value, dict):
        return {**value, "new": 0.0} if "new" not in value else {}
    raise AssertionError(f"no change for {value!r}")


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=results())
def test_a_result_equals_any_permutation_of_itself(
    data: st.DataObject, rows: list[tuple[object, ...]]
) -> None:
    shuffled = data.draw(st.permutations(rows))

    assert compare_results(rows, shuffled) == Comparison(True, len(rows), len(rows), "")


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=results(), sign=st.sampled_from([1.0, -1.0]))
def test_a_result_equals_itself_with_every_float_perturbed_in_its_last_bits(
    data: st.DataObject, rows: list[tuple[object, ...]], sign: float
) -> None:
    factor = 1 + sign * 1e-13
    shuffled = data.draw(st.permutations(rows))
    noisy = [tuple(perturbed(v, factor) for v in row) for row in shuffled]

    assert compare_results(rows, noisy).equal


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=results().filter(bool))
def test_changing_one_value_beyond_the_tolerance_makes_results_differ(
    data: st.DataObject, rows: list[tuple[object, ...]]
) -> None:
    row = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.integers(0, len(rows[0]) - 1))
    edited = list(rows)
    values = list(edited[row])
    values[column] = changed(values[column])
    edited[row] = tuple(values)
    shuffled = data.draw(st.permutations(edited))

    comparison = compare_results(rows, shuffled)

    assert not comparison.equal
    assert "only in the original" in comparison.detail


def test_docstring_examples_hold() -> None:
    outcome = doctest.testmod(domain.rowsets)

    assert outcome.attempted > 0
    assert outcome.failed == 0
