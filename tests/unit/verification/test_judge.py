"""How two results are judged the same: multisets, order under LIMIT, ties at the cut."""

from __future__ import annotations

import pytest

from domain.verification.judge import judge, order_dependent, result_shape, with_order_keys

Rows = list[tuple[object, ...]]


def never() -> Rows | None:
    raise AssertionError("the original without LIMIT was not needed")


def test_without_order_and_limit_rows_compare_as_multisets() -> None:
    shape = result_shape("SELECT a, b FROM t ORDER BY a")  # ORDER BY alone: order not required
    assert judge(shape, [(1, 2.0), (3, 4.0)], [(3, 4.0 + 1e-12), (1, 2.0)], never)[0] == "verified"
    assert judge(shape, [(1, 2.0), (1, 2.0)], [(1, 2.0)], never)[0] == "differs"


def test_both_empty_is_its_own_outcome() -> None:
    assert judge(result_shape("SELECT a FROM t"), [], [], never)[0] == "empty"


def test_under_order_and_limit_a_reversed_order_differs() -> None:
    shape = result_shape("SELECT a, n FROM t ORDER BY n DESC LIMIT 3")
    outcome, detail = judge(shape, [(1, 9), (2, 8), (3, 7)], [(3, 7), (2, 8), (1, 9)], never)
    assert outcome == "differs"
    assert "order keys differ" in detail


def test_rows_tied_at_the_cut_may_be_any_of_the_tied_rows() -> None:
    # given three rows tie on n = 8 where LIMIT 2 cuts
    shape = result_shape("SELECT a, n FROM t ORDER BY n DESC LIMIT 2")
    everything = [(1, 9), (2, 8), (3, 8), (4, 8)]
    # then a rewrite returning another of the tied rows is as right
    outcome, detail = judge(shape, [(1, 9), (2, 8)], [(1, 9), (4, 8)], lambda: everything)
    assert outcome == "verified"
    assert "tie" in detail
    # but not a row that is not tied, nor a row the original does not have
    assert judge(shape, [(1, 9), (2, 8)], [(2, 8), (1, 9)], lambda: everything)[0] == "differs"
    assert judge(shape, [(1, 9), (2, 8)], [(1, 9), (5, 8)], lambda: everything)[0] == "differs"


def test_rows_before_the_cut_must_match_even_when_keys_tie_there() -> None:
    shape = result_shape("SELECT a, n FROM t ORDER BY 2 DESC LIMIT 3")
    before = [(1, 9), (2, 9), (3, 7)]
    assert judge(shape, before, [(2, 9), (1, 9), (3, 7)], never)[0] == "verified"
    assert judge(shape, before, [(2, 9), (5, 9), (3, 7)], never)[0] == "differs"


def test_limit_without_order_takes_any_rows_of_the_original() -> None:
    shape = result_shape("SELECT a FROM t LIMIT 2")
    everything = [(1,), (2,), (3,)]
    assert judge(shape, [(1,), (2,)], [(3,), (1,)], lambda: everything)[0] == "verified"
    assert judge(shape, [(1,), (2,)], [(4,), (1,)], lambda: everything)[0] == "differs"
    assert judge(shape, [(1,), (2,)], [(1,)], lambda: everything)[0] == "differs"


def test_order_keys_are_found_by_position_name_or_expression() -> None:
    assert result_shape("SELECT a, b AS x FROM t ORDER BY x LIMIT 5").keys == (1,)
    assert result_shape("SELECT a, sum(b) FROM t GROUP BY a ORDER BY sum(b) LIMIT 5").keys == (1,)
    assert result_shape("SELECT a FROM t ORDER BY b LIMIT 5").keys is None
    assert result_shape("SELECT * FROM t ORDER BY b LIMIT 5").keys is None


def test_keys_not_in_the_output_are_appended_to_it() -> None:
    sql, shape = with_order_keys("SELECT * FROM t ORDER BY day DESC, id LIMIT 10") or ("", None)
    assert sql == (
        "SELECT *, day AS __order_key_0, id AS __order_key_1 FROM t ORDER BY day DESC, id LIMIT 10"
    )
    assert shape is not None
    assert shape.keys == (-2, -1)
    assert shape.limit == 10
    assert with_order_keys("SELECT DISTINCT a FROM t ORDER BY a LIMIT 3") is None


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT k, approx_percentile(x, 0.95) FROM t GROUP BY k", "APPROX_PERCENTILE()"),
        ("SELECT max_by(a, b) FROM t", "MAX_BY()"),
        ("SELECT min_by(a, b) FROM t", "MIN_BY()"),
        ("SELECT approx_most_frequent(3, a, 100) FROM t", "APPROX_MOST_FREQUENT()"),
        ("SELECT count(*), approx_distinct(a), sum(x) FROM t", None),
    ],
)
def test_sketches_and_picks_among_ties_depend_on_the_order_rows_are_read(
    sql: str, named: str | None
) -> None:
    # a t-digest's estimate depends on the order values are merged in, max_by on ties;
    # a HyperLogLog's and a sum's do not (beyond rounding)
    assert order_dependent(sql) == named
