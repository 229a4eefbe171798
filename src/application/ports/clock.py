"""Port: the current time (injected so that tests control it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Tells the current time, timezone-aware, in UTC."""

    def now(self) -> datetime: ...
