"""Helpers shared by the analysis tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from domain.workload import Workload

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

WorkloadFactory = Callable[..., Workload]


def example(name: str) -> Workload:
    """The workload of `examples/<name>.json`, as the client sent it (URL not redacted)."""
    return Workload.from_dict(json.loads((EXAMPLES / f"{name}.json").read_text()))
