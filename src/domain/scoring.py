"""The score an answer gets when it is run in Trino, as the service's users judge it.

    x = Σ(Qᵢ·Aᵢ/Tᵢ) / ΣQᵢ   Q the query's runquantity, A its time on the original tables,
                             T its time on the new ones
    y = S / C                storage before over storage after
    z = x^(2/3) · y

A query that failed, ran past the limit (10 minutes), or returned other rows than its
original counts as the limit: a wrong answer is worse than a slow one, and a user who finds
one stops trusting the rest.

>>> timings = [QueryTiming("q1", 10, 2.0, 1.0), QueryTiming("q2", 30, 1.0, 1.0)]
>>> s = score(timings, storage_before=100, storage_after=50)
>>> (s.x, s.y, round(s.z, 3))
(1.25, 2.0, 2.321)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LIMIT_SECONDS", "QueryTiming", "Score", "score"]

LIMIT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class QueryTiming:
    """One query: how often it runs, its time before (A) and after (T), and whether the
    rewrite held (ran, in time, with the original's rows)."""

    queryid: str
    runquantity: int
    before: float
    after: float
    held: bool = True

    @property
    def counted_after(self) -> float:
        return min(self.after, LIMIT_SECONDS) if self.held else LIMIT_SECONDS

    @property
    def speedup(self) -> float:
        return self.before / max(self.counted_after, 1e-9)


@dataclass(frozen=True, slots=True)
class Score:
    x: float
    y: float
    z: float


def score(timings: Sequence[QueryTiming], storage_before: int, storage_after: int) -> Score:
    """x, y and z of an answer (x = 1 without queries, y = 1 without storage on both sides)."""
    total = sum(t.runquantity for t in timings)
    x = sum(t.runquantity * t.speedup for t in timings) / total if total else 1.0
    if storage_after > 0:
        y = storage_before / storage_after
    else:
        y = 1.0 if storage_before == 0 else float("inf")
    return Score(x, y, x ** (2 / 3) * y)
