"""Resolving providers that may be async (dependency-injector's async mode cascades)."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["resolve"]


async def resolve(value: Any) -> Any:
    """The provided object, awaited when the provider answered with an awaitable."""
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value
