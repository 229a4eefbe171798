"""Port: CPU-bound calls run away from the event loop that serves (in other processes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

__all__ = ["ComputePool", "StageSink"]

T = TypeVar("T")
StageSink = Callable[[str, int], Awaitable[None]]


class ComputePool(Protocol):
    """Runs `fn(*args, **kwargs)` elsewhere and awaits its result; `fn` and what it is given
    and returns must pickle. With `on_stage`, `fn` gets an `on_stage(stage, percent)` of its own
    whose calls are awaited here in order; what `on_stage` raises ends the call."""

    async def run(
        self, fn: Callable[..., T], /, *args: Any, on_stage: StageSink | None = None, **kwargs: Any
    ) -> T: ...
