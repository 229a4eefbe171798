"""Whether a rewrite returned its original's rows: the rules, whatever engine ran them.

- **As multisets**, floats within a tolerance (`domain.rowsets.compare_results`): a query
  without ORDER BY has no order, and one whose ORDER BY has no LIMIT under it returns the
  same rows in an order a client may rely on, but two layouts sort ties differently.
- **In order where the top level orders and limits** (``ORDER BY … LIMIT n``): the order
  decides which rows come back. When the order keys are among the output columns (by
  position, by name, or the same expression), the keys must come back in the same sequence,
  and the rows must be equal as multisets except those tied with the last row at the cut:
  of a tie that LIMIT cuts, any of the tied rows may be returned, so the rewrite's are only
  required to be rows of the original without its LIMIT that carry that key.
- **LIMIT without ORDER BY** returns any n rows: the rewrite must return as many, each a row
  of the original without its LIMIT.
- Keys that are not in the output cannot tell a tie from a wrong order: then rows that do
  not match exactly make the rewrite differ (returning the plainly retargeted query instead
  is always safe).

>>> shape = result_shape("SELECT a, b FROM t ORDER BY 2 DESC LIMIT 2")
>>> (shape.limit, shape.keys)
(2, (1,))
>>> judge(shape, [(1, 9), (2, 8)], [(3, 9), (2, 8)], lambda: None)[0]
'differs'
>>> judge(shape, [(1, 9), (2, 8)], [(1, 9), (3, 8)], lambda: [(1, 9), (2, 8), (3, 8)])[0]
'verified'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.rowsets import compare_results
from domain.verification.model import DIFFERS, EMPTY, VERIFIED

__all__ = [
    "REL_TOL",
    "ResultShape",
    "judge",
    "order_dependent",
    "result_shape",
    "with_order_keys",
    "without_top_limit",
]

REL_TOL = 1e-6  # sums and averages of doubles add up in another order on another layout

Row = Sequence[object]
Rows = Sequence[Row]


@dataclass(frozen=True, slots=True)
class ResultShape:
    """What the top level of a query says about the order of its rows."""

    ordered: bool = False
    limit: int | None = None  # a literal LIMIT / FETCH FIRST at the top level
    keys: tuple[int, ...] | None = None  # output columns the ORDER BY keys are, when all are


def result_shape(sql: str) -> ResultShape:
    """The shape of a Trino query's top level (nothing known when it does not parse)."""
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return ResultShape()
    if not isinstance(tree, exp.Query):
        return ResultShape()
    order = tree.args.get("order")
    limit = _limit(tree.args.get("limit"))
    if tree.args.get("offset") is not None:
        limit = None  # an offset under an order: compared by the same rules, less strictly
    if not isinstance(order, exp.Order) or not order.expressions:
        return ResultShape(ordered=False, limit=limit)
    return ResultShape(ordered=True, limit=limit, keys=_keys(tree, order))


def with_order_keys(sql: str) -> tuple[str, ResultShape] | None:
    """The query with its ORDER BY keys appended to its output, and the shape that points at
    them (the last columns): for a query that orders and limits by keys it does not output
    (``SELECT * … ORDER BY day DESC LIMIT 10``), so that ties can be told from a wrong
    order. None when the query cannot take them (DISTINCT, a set operation, no SELECT).

    >>> with_order_keys("SELECT * FROM t ORDER BY day DESC LIMIT 3")[0]
    'SELECT *, day AS __order_key_0 FROM t ORDER BY day DESC LIMIT 3'
    """
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return None
    order = tree.args.get("order") if isinstance(tree, exp.Select) else None
    if not isinstance(tree, exp.Select) or not isinstance(order, exp.Order):
        return None
    if tree.args.get("distinct") is not None or not order.expressions:
        return None
    count = len(order.expressions)
    for index, ordered in enumerate(order.expressions):
        key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if isinstance(key, exp.Literal):
            return None  # a position: result_shape maps those already
        tree.select(exp.alias_(key.copy(), f"__order_key_{index}"), copy=False)
    shape = ResultShape(ordered=True, limit=_limit(tree.args.get("limit")))
    keys = tuple(range(-count, 0))
    return tree.sql(dialect="trino"), ResultShape(shape.ordered, shape.limit, keys)


# Functions whose value depends on the order rows arrive in, unless an ORDER BY fixes it.
_ORDER_DEPENDENT = frozenset(
    {
        "row_number",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
        "array_agg",
        "arbitrary",
        "any_value",
        "listagg",
        "string_agg",
        "map_agg",
        "multimap_agg",
        # sketches whose estimate depends on the order values are merged in, and picks
        # among ties: two layouts of the same rows may answer differently
        "approx_percentile",
        "approx_quantile",
        "approx_most_frequent",
        "numeric_histogram",
        "min_by",
        "max_by",
        "arg_min",
        "arg_max",
    }
)


def order_dependent(sql: str) -> str | None:
    """What in a query may make its answer depend on the order rows are read in — a
    ``row_number()`` over keys with ties, ``array_agg`` without ORDER BY, ``arbitrary``, a
    LIMIT below the top level — or None.

    >>> order_dependent("SELECT id, row_number() OVER (ORDER BY day) FROM t")
    'ROW_NUMBER()'
    >>> order_dependent("SELECT day, count(*) FROM t GROUP BY day") is None
    True
    """
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return None
    for node in tree.walk():
        if isinstance(node, exp.Limit | exp.Fetch) and node.parent is not tree:
            return "a LIMIT inside the query"
        if isinstance(node, exp.Func):
            name = (str(node.this) if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _ORDER_DEPENDENT or isinstance(
                node, exp.RowNumber | exp.ArrayAgg | exp.AnyValue | exp.GroupConcat
            ):
                return node.sql(dialect="trino").split("(")[0].upper() + "()"
    return None


def without_top_limit(sql: str) -> str | None:
    """The query without its top-level LIMIT (Trino SQL), or None when it has none."""
    try:
        tree = sqlglot.parse_one(sql, read="trino")
    except (SqlglotError, ValueError):
        return None
    if not isinstance(tree, exp.Query) or tree.args.get("limit") is None:
        return None
    tree.set("limit", None)
    return tree.sql(dialect="trino")


def _limit(node: object) -> int | None:
    if isinstance(node, exp.Limit | exp.Fetch):
        count = (
            node.args.get("expression") if isinstance(node, exp.Limit) else node.args.get("count")
        )
        if isinstance(count, exp.Literal) and count.is_int:
            return int(count.this)
    return None


def _keys(tree: exp.Query, order: exp.Order) -> tuple[int, ...] | None:
    selects = tree.selects
    names = [s.alias_or_name.lower() for s in selects]
    bare = [s.unalias() if isinstance(s, exp.Alias) else s for s in selects]
    keys: list[int] = []
    for ordered in order.expressions:
        key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        index: int | None = None
        if isinstance(key, exp.Literal) and key.is_int:
            index = int(key.this) - 1
        elif isinstance(key, exp.Column) and not key.table and key.name.lower() in names:
            index = names.index(key.name.lower())
        elif any(key == b for b in bare):
            index = next(i for i, b in enumerate(bare) if key == b)
        if index is None or not 0 <= index < len(selects) or isinstance(selects[index], exp.Star):
            return None
        keys.append(index)
    return tuple(keys)


def judge(
    shape: ResultShape, before: Rows, after: Rows, unlimited: Callable[[], Rows | None]
) -> tuple[str, str]:
    """The outcome of comparing the original's rows (`before`) with the rewrite's (`after`),
    and why. `unlimited()` runs the original without its top-level LIMIT (None when it could
    not), and is called only to tell a tie at the cut from a difference."""
    if not before and not after:
        return EMPTY, "both returned no rows: the generated data did not exercise the query"
    same = compare_results(before, after, rel_tol=REL_TOL)
    if shape.limit is None:
        return (VERIFIED, "") if same.equal else (DIFFERS, same.detail)
    if not shape.ordered:
        if same.equal:
            return VERIFIED, ""
        return _any_rows(before, after, unlimited, same.detail)
    if shape.keys is None:
        ordered = compare_results(before, after, ordered=True, rel_tol=REL_TOL)
        if ordered.equal:
            return VERIFIED, ""
        return DIFFERS, (
            f"{ordered.detail} (the ORDER BY keys are not among the output columns, so a tie "
            "cannot be told from a wrong order)"
        )
    return _ordered_with_ties(shape.keys, shape.limit, before, after, unlimited)


def _any_rows(
    before: Rows, after: Rows, unlimited: Callable[[], Rows | None], detail: str
) -> tuple[str, str]:
    if len(before) != len(after):
        return DIFFERS, detail
    everything = unlimited()
    if everything is None:
        return DIFFERS, detail + " (LIMIT without ORDER BY: the original's other rows unknown)"
    if _contained(after, everything):
        return VERIFIED, (
            "LIMIT without ORDER BY returns any rows: the rewrite returned as many, each a row "
            "of the original without its LIMIT"
        )
    return DIFFERS, detail


def _ordered_with_ties(
    keys: tuple[int, ...],
    limit: int,
    before: Rows,
    after: Rows,
    unlimited: Callable[[], Rows | None],
) -> tuple[str, str]:
    key_before = [tuple(row[k] for k in keys) for row in before]
    key_after = [tuple(row[k] for k in keys) for row in after]
    sequence = compare_results(key_before, key_after, ordered=True, rel_tol=REL_TOL)
    if not sequence.equal:
        return DIFFERS, f"the order keys differ: {sequence.detail}"
    if len(before) < limit:  # no cut: every row of the ordered result came back
        same = compare_results(before, after, rel_tol=REL_TOL)
        return (VERIFIED, "") if same.equal else (DIFFERS, same.detail)
    cut = key_before[-1]

    def at_cut(key: tuple[object, ...]) -> bool:
        return compare_results([key], [cut], rel_tol=REL_TOL).equal

    kept_before = [r for r, k in zip(before, key_before, strict=True) if not at_cut(k)]
    kept_after = [r for r, k in zip(after, key_after, strict=True) if not at_cut(k)]
    same = compare_results(kept_before, kept_after, rel_tol=REL_TOL)
    if not same.equal:
        return DIFFERS, same.detail
    tied_before = [r for r, k in zip(before, key_before, strict=True) if at_cut(k)]
    tied_after = [r for r, k in zip(after, key_after, strict=True) if at_cut(k)]
    if compare_results(tied_before, tied_after, rel_tol=REL_TOL).equal:
        return VERIFIED, ""
    everything = unlimited()
    if everything is None:
        return (
            DIFFERS,
            "rows tied at the LIMIT differ and the original's other tied rows are unknown",
        )
    tied_all = [r for r in everything if at_cut(tuple(r[k] for k in keys))]
    if _contained(tied_after, tied_all):
        return VERIFIED, (
            f"{len(tied_all)} rows tie on the order keys at the LIMIT cut; the rewrite returned "
            "other ones of them, which is as correct"
        )
    return DIFFERS, "rows tied at the LIMIT are not rows of the original"


def _contained(part: Rows, whole: Rows) -> bool:
    """Whether every row of `part` is a row of `whole`, counted with multiplicity (floats and
    decimals compared on 6 significant digits)."""
    if len(part) > len(whole):
        return False
    available = Counter(_loose(row) for row in whole)
    needed = Counter(_loose(row) for row in part)
    return all(available[key] >= count for key, count in needed.items())


def _loose(row: Row) -> tuple[str, ...]:
    return tuple(f"{float(v):.6g}" if isinstance(v, float | Decimal) else repr(v) for v in row)
