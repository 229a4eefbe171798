"""The examples in the passes' docstrings are run, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "names",
    "findings",
    "parse",
    "catalog",
    "profile",
    "layout",
    "usage",
    "advise",
    "restructure",
    "estimate",
    "migrate",
    "retarget",
    "report",
    "engine",
    "sizing",
    "cardinality",
    "rollup",
]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"domain.analysis.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
