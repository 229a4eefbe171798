"""Whether two query results hold the same rows, as Trino returns them through its Python client.

Decides when a rewritten query "returns the same rows" as the original:

- **As multisets.** Row order is ignored (a query without ORDER BY has none), duplicates are
  not: a row the original returns twice must come back twice. `ordered=True` compares
  position by position instead, for queries whose ORDER BY is part of what they mean.
- **Floats within a tolerance.** An AVG or SUM over ``double`` adds in the order the files are
  read, which differs between layouts, so its last bits differ: a float (or a Decimal compared
  with a float) equals a number within `rel_tol` of it (or `abs_tol`, near zero). Integers and
  Decimals against each other are exact: Trino computes them exactly. NaN equals NaN, since
  both sides computed the same undefined value.
- **Everything else exactly.** None only equals None; a bool is not the number 1; a date is not
  a timestamp; arrays and rows (lists, tuples) and maps (dicts) compare element by element.

**How, in O(n log n).** Both sides are sorted by a canonical key in which each number is
rounded to 33 significant bits (about 10 decimal digits), so values within the tolerance
almost always sort alike, and the sorted rows are compared pairwise with the tolerance. The key
ranks values by type first, so a column mixing types (NULLs and numbers, say) sorts without
raising. When the pairwise pass fails (a row is missing, or a value rounded across a boundary
and sorts apart from its partner), a merge of the two sorted lists pairs the equal rows whose
rounded keys agree, and each row left over is tried against the left-over rows of the other
side that agree with it in everything but their numbers and sort next to it: the first equal
one is taken. Only the rows still unpaired make the results differ.

The pairing is greedy, so "equal" is always right (every pair is within the tolerance), but
rows that differ among themselves by less than the tolerance, perturbed by nearly as much,
may be paired so that two are left over: then the results are reported different.

>>> compare_results([(1, "a"), (2, "b")], [(2, "b"), (1, "a")]).equal
True
>>> compare_results([(0.1 + 0.2,)], [(0.3,)]).equal
True
>>> compare_results([(1,), (1,)], [(1,)]).detail
'1 row only in the original, 0 only in the rewrite; first: (1,)'
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

__all__ = ["Comparison", "compare_results"]

Row = Sequence[object]
Key = tuple[Any, ...]

_MAX_SHOWN = 200  # characters of a row quoted in a detail
# Bits a number keeps in the sort key: about 10 decimal digits, finer than any useful tolerance.
_BITS = 33
_SCALE = float(2**_BITS)
# Left-over rows a row is tried against on each side of where it sorts among them: a value that
# rounded across a boundary sorts next to its partner; trying more would only cost time when
# the results differ in bulk (and would make that quadratic).
_NEIGHBOURS = 8

# Type ranks of the sort key: values of different types never compare with each other.
_NONE, _BOOL, _NUMBER, _STR, _BYTES, _DATE, _DATETIME, _TIME, _INTERVAL = range(9)
_SEQUENCE, _MAP, _OTHER = 9, 10, 11
_RANKS: dict[type, int] = {
    type(None): _NONE,
    bool: _BOOL,
    int: _NUMBER,
    float: _NUMBER,
    Decimal: _NUMBER,
    str: _STR,
    bytes: _BYTES,
    bytearray: _BYTES,
    datetime: _DATETIME,
    date: _DATE,
    time: _TIME,
    timedelta: _INTERVAL,
    list: _SEQUENCE,
    tuple: _SEQUENCE,
    dict: _MAP,
}
# Types whose values are equal exactly when `==` says so (Decimal is not: NaN).
_EXACT = frozenset({type(None), bool, int, str, bytes, date, datetime, time, timedelta})
_NULL_KEY = (_NONE,)
_NAN_KEY = (_NUMBER, 1)  # after every number: NaN neither sorts nor compares with them
_SOME_NUMBER = (_NUMBER,)  # a number's place in a skeleton (see `_skeleton`)
_SMALL_INT = 2**_BITS  # integers below it are their own rounding
_SPLITTER = float(2 ** (53 - _BITS) + 1)
_SPLIT_LIMIT = 2.0**1000  # beyond it, the split's product would overflow


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing two results; `detail` says why they differ ("" when equal)."""

    equal: bool
    rows_before: int
    rows_after: int
    detail: str


def compare_results(
    before: Sequence[Sequence[object]],
    after: Sequence[Sequence[object]],
    *,
    ordered: bool = False,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-12,
) -> Comparison:
    """Compare the rows `before` (the original query's) with `after` (the rewrite's).

    >>> compare_results([(1,), (2,)], [(2,), (1,)], ordered=True).detail
    'row 1 differs: (1,) in the original, (2,) in the rewrite; the same rows in another order'
    """
    if not (rel_tol >= 0 and abs_tol >= 0):
        raise ValueError(f"tolerances must not be negative: rel_tol={rel_tol}, abs_tol={abs_tol}")
    tolerance = _Tolerance(rel_tol, abs_tol)
    widths_before, widths_after = _widths(before), _widths(after)
    if widths_before and widths_after and widths_before != widths_after:
        detail = (
            f"column counts differ: {_listed(widths_before)} in the original, "
            f"{_listed(widths_after)} in the rewrite"
        )
    elif ordered:
        detail = _ordered_difference(before, after, tolerance)
        if detail and not _unordered_difference(before, after, tolerance):
            detail += "; the same rows in another order"
    else:
        detail = _unordered_difference(before, after, tolerance)
    return Comparison(not detail, len(before), len(after), detail)


@dataclass(frozen=True, slots=True)
class _Tolerance:
    rel_tol: float
    abs_tol: float

    def rows(self, a: Row, b: Row) -> bool:
        if len(a) != len(b):
            return False
        # `values`, with its common cases inlined: this loop is most of a comparison's time.
        rel_tol, abs_tol = self.rel_tol, self.abs_tol
        for x, y in zip(a, b, strict=True):
            if x is y:  # the same object is equal to itself, NaN included
                continue
            if type(x) is float and type(y) is float:
                close = math.isclose(x, y, rel_tol=rel_tol, abs_tol=abs_tol)
                if not (close or (x != x and y != y)):  # NaN equals NaN
                    return False
            elif type(x) in _EXACT and type(y) is type(x):
                if x != y:
                    return False
            elif not self.values(x, y):
                return False
        return True

    def values(self, a: object, b: object) -> bool:
        if type(a) in _EXACT and type(b) is type(a):
            return a == b
        rank = _rank(a)
        if rank != _rank(b):
            return False  # None is not 0, a bool is not 1, a date is not a timestamp
        if rank == _NUMBER:
            return self._numbers(a, b)  # type: ignore[arg-type]
        if rank == _SEQUENCE:
            return self.rows(a, b)  # type: ignore[arg-type]
        if rank == _MAP:
            return self._maps(a, b)  # type: ignore[arg-type]
        if rank == _OTHER:
            return type(a) is type(b) and a == b
        return a == b

    def _numbers(self, a: int | float | Decimal, b: int | float | Decimal) -> bool:
        if _is_nan(a) or _is_nan(b):
            return _is_nan(a) and _is_nan(b)
        if not (isinstance(a, float) or isinstance(b, float)):
            return a == b  # integers and decimals are computed exactly
        try:
            x, y = float(a), float(b)
        except OverflowError:  # an integer beyond any float: no float is close to it
            return False
        return math.isclose(x, y, rel_tol=self.rel_tol, abs_tol=self.abs_tol)

    def _maps(self, a: Mapping[Any, Any], b: Mapping[Any, Any]) -> bool:
        if len(a) != len(b):
            return False
        missing = object()
        return all(self.values(value, b.get(key, missing)) for key, value in a.items())


def _is_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def _widths(rows: Sequence[Row]) -> set[int]:
    return {len(row) for row in rows}


def _listed(widths: set[int]) -> str:
    return "/".join(str(w) for w in sorted(widths))


# --- ordered --------------------------------------------------------------------------------


def _ordered_difference(before: Sequence[Row], after: Sequence[Row], equal: _Tolerance) -> str:
    for index, (a, b) in enumerate(zip(before, after, strict=False)):
        if not equal.rows(a, b):
            return f"row {index + 1} differs: {_show(a)} in the original, {_show(b)} in the rewrite"
    if len(before) == len(after):
        return ""
    longer, side = (before, "original") if len(before) > len(after) else (after, "rewrite")
    extra = longer[min(len(before), len(after))]
    return (
        f"{_rows(len(before))} in the original, {len(after)} in the rewrite; "
        f"first extra row in the {side}: {_show(extra)}"
    )


# --- unordered ------------------------------------------------------------------------------


def _unordered_difference(before: Sequence[Row], after: Sequence[Row], equal: _Tolerance) -> str:
    keys_before = [_row_key(row) for row in before]
    keys_after = [_row_key(row) for row in after]
    order_before = sorted(range(len(before)), key=keys_before.__getitem__)
    order_after = sorted(range(len(after)), key=keys_after.__getitem__)
    if len(before) == len(after) and all(
        equal.rows(before[i], after[j]) for i, j in zip(order_before, order_after, strict=True)
    ):
        return ""
    # A missing row shifts every pair after it: merge the sorted lists instead, pairing equal
    # rows and leaving out the ones that are not.
    left_before: list[int] = []
    left_after: list[int] = []
    i = j = 0
    while i < len(order_before) and j < len(order_after):
        b, a = order_before[i], order_after[j]
        key_before, key_after = keys_before[b], keys_after[a]
        # Only rows whose rounded keys agree pair here: pairing any two equal rows would let a
        # row take the partner of the next one, that one the partner of the one after…
        if key_before[:-1] == key_after[:-1] and equal.rows(before[b], after[a]):
            i, j = i + 1, j + 1
        elif key_before < key_after:
            left_before.append(b)
            i += 1
        else:
            left_after.append(a)
            j += 1
    left_before += order_before[i:]
    left_after += order_after[j:]
    only_before, only_after = _pair_leftovers(
        (before, keys_before, left_before), (after, keys_after, left_after), equal
    )
    if not only_before and not only_after:
        return ""
    if only_before and only_after:
        first = (
            f"{_show(before[min(only_before)])} (original) vs "
            f"{_show(after[min(only_after)])} (rewrite)"
        )
    elif only_before:
        first = _show(before[min(only_before)])
    else:
        first = _show(after[min(only_after)])
    return (
        f"{_rows(len(only_before))} only in the original, {len(only_after)} only in the "
        f"rewrite; first: {first}"
    )


_Side = tuple[Sequence[Row], list[Key], list[int]]  # rows, their keys, the indexes left over


def _pair_leftovers(before: _Side, after: _Side, equal: _Tolerance) -> tuple[list[int], list[int]]:
    """Pair the rows the merge left over, greedily; the indexes of those still unpaired.

    A row is tried against the left-over rows of the other side with the same skeleton
    (everything but the numbers) that sort next to where it would sort among them.
    """
    rows_before, keys_before, left_before = before
    rows_after, keys_after, left_after = after
    if not left_before or not left_after:
        return sorted(left_before), sorted(left_after)
    groups: dict[Key, list[int]] = {}
    for index in left_after:
        groups.setdefault(_row_skeleton(rows_after[index]), []).append(index)
    candidates = {
        skeleton: _Candidates(indexes, keys_after) for skeleton, indexes in groups.items()
    }
    unpaired: list[int] = []
    for index in sorted(left_before, key=keys_before.__getitem__):
        row = rows_before[index]
        group = candidates.get(_row_skeleton(row))
        if group is None or not group.take(row, keys_before[index], rows_after, equal):
            unpaired.append(index)
    taken = {index for group in candidates.values() for index in group.taken}
    return sorted(unpaired), sorted(index for index in left_after if index not in taken)


class _Candidates:
    """The left-over rows of one skeleton on the rewrite's side, in key order."""

    def __init__(self, indexes: list[int], keys: list[Key]) -> None:
        self.indexes = sorted(indexes, key=keys.__getitem__)
        self.keys = [keys[i] for i in self.indexes]
        # The first untaken position at or after each position (union-find, path-compressed).
        self.next = list(range(len(self.indexes) + 1))
        self.taken: list[int] = []

    def take(self, row: Row, key: Key, rows: Sequence[Row], equal: _Tolerance) -> bool:
        """Pair `row` with the first equal untaken row near `key`; whether there was one."""
        where = bisect.bisect_left(self.keys, key)
        position = self._free(max(0, where - _NEIGHBOURS))
        # Untaken rows tried: a run of taken ones (duplicates paired already) does not count.
        for _ in range(2 * _NEIGHBOURS + 1):
            if position >= len(self.indexes):
                break
            if equal.rows(row, rows[self.indexes[position]]):
                self.taken.append(self.indexes[position])
                self.next[position] = position + 1
                return True
            position = self._free(position + 1)
        return False

    def _free(self, position: int) -> int:
        root = position
        while self.next[root] != root:
            root = self.next[root]
        while self.next[position] != root:
            self.next[position], position = root, self.next[position]
        return root


# --- keys -----------------------------------------------------------------------------------


def _rank(value: object) -> int:
    rank = _RANKS.get(type(value))
    if rank is not None:
        return rank
    # Subclasses: the client's row values (a tuple subclass), str or int enums…
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int | float | Decimal):
        return _NUMBER
    if isinstance(value, str):
        return _STR
    if isinstance(value, bytes | bytearray):
        return _BYTES
    if isinstance(value, datetime):  # before date: a datetime is a date
        return _DATETIME
    if isinstance(value, date):
        return _DATE
    if isinstance(value, time):
        return _TIME
    if isinstance(value, timedelta):
        return _INTERVAL
    if isinstance(value, list | tuple):
        return _SEQUENCE
    if isinstance(value, Mapping):
        return _MAP
    return _OTHER


def _row_key(row: Row) -> Key:
    """The row's sort key: its values' keys, then the exact numbers as a tiebreak.

    Flat, for speed: comparing one tuple costs less than comparing tuples of tuples. It orders
    rows as nested keys would: two keys that agree up to a column's end agree on its rank and
    layout, so the next columns line up. The exact numbers come last so that the key without
    its last element is the rounded one, which the merge compares.
    """
    exact: list[object] = []
    key = list(chain.from_iterable([_key(value, exact) for value in row]))
    key.append(tuple(exact))
    return tuple(key)


def _key(value: Any, exact: list[object]) -> Key:
    """A total order over every value the client returns: (type rank, comparable value…), the
    numbers rounded (their exact values are appended to `exact`, in order)."""
    kind = type(value)
    # The common types first, without the rank lookup.
    if kind is float:
        if value != value:
            return _NAN_KEY
        exact.append(value)
        if -_SPLIT_LIMIT < value < _SPLIT_LIMIT:  # `_rounded`, inlined: most values are floats
            split = value * _SPLITTER
            return (_NUMBER, 0, split - (split - value))
        return (_NUMBER, 0, _rounded(value))
    if kind is int:
        exact.append(value)
        return (_NUMBER, 0, value if -_SMALL_INT < value < _SMALL_INT else _rounded(value))
    if kind is str:
        return (_STR, value)
    if value is None:
        return _NULL_KEY
    rank = _rank(value)
    if rank == _NUMBER:
        if _is_nan(value):
            return _NAN_KEY
        exact.append(value)
        return (_NUMBER, 0, _rounded(value))
    if rank == _DATETIME:
        return (rank, *_instant(value))
    if rank == _TIME:
        return (rank, *_time_of_day(value))
    if rank == _SEQUENCE:
        return (rank, tuple([_key(v, exact) for v in value]))
    if rank == _MAP:
        items = sorted(value.items(), key=lambda item: _key(item[0], []))
        return (rank, tuple([(_key(k, exact), _key(v, exact)) for k, v in items]))
    if rank == _OTHER:
        return (rank, kind.__qualname__, repr(value))
    return (rank, value)


def _rounded(value: int | float | Decimal) -> float:
    """`value` rounded to nearest on `_BITS` significant bits."""
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return math.inf if value > 0 else -math.inf
    if -_SPLIT_LIMIT < number < _SPLIT_LIMIT:
        # Veltkamp's split: three operations, where frexp/round/ldexp take three calls.
        split = number * _SPLITTER
        return split - (split - number)
    if math.isinf(number):
        return number
    mantissa, exponent = math.frexp(number)
    return math.ldexp(round(mantissa * _SCALE), exponent - _BITS)


def _instant(value: datetime) -> tuple[int, datetime]:
    """Aware timestamps by their instant (as Python compares them), naive ones apart."""
    offset = value.utcoffset()
    if offset is None:
        return (0, value)
    try:
        return (1, value.replace(tzinfo=None) - offset)
    except OverflowError:
        return (1, value.replace(tzinfo=None))


def _time_of_day(value: time) -> tuple[int, int]:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    offset = value.utcoffset()
    if offset is None:
        return (0, micros)
    return (1, micros - offset // timedelta(microseconds=1))


def _row_skeleton(row: Row) -> Key:
    return tuple([_skeleton(value) for value in row])


def _skeleton(value: Any) -> Key:
    """The key of `value` with every number in it replaced by one placeholder."""
    rank = _rank(value)
    if rank == _NUMBER:
        return _SOME_NUMBER
    if rank == _SEQUENCE:
        return (rank, tuple([_skeleton(v) for v in value]))
    if rank == _MAP:
        items = sorted(value.items(), key=lambda item: _key(item[0], []))
        return (rank, tuple([(_key(k, []), _skeleton(v)) for k, v in items]))
    return _key(value, [])


# --- details --------------------------------------------------------------------------------


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _show(row: Row) -> str:
    text = repr(tuple(row))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"
