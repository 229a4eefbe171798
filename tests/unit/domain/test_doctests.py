"""The examples in the domain modules' docstrings outside the engine are run, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "synthetic",
    "scoring",
    "statistics",
    "verification.judge",
    "verification.checks",
    "verification.data",
]  # rowsets: see test_rowsets


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"domain.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
