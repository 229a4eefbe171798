"""Settings every test starts from."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Speed is measured by the benchmarks, never by a test: hypothesis' per-example deadline
# (200 ms) fails properties on a loaded CI machine (measured: 509 ms at load 10).
settings.register_profile("no_deadline", deadline=None)
settings.load_profile("no_deadline")

# A developer's shell (or a CI runner) may hold an LLM endpoint or key; the service turns the
# LLM on whenever one is set. Tests that want the LLM set these themselves.
LLM_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(autouse=True)
def _no_llm_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*LLM_VARIABLES, *(v for v in os.environ if v.startswith("DBANALYSIS_LLM_"))]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The root logger's handlers and level restored after each test: a test that runs a
    command configures logging for a process (a handler on the stderr of that moment), which
    must not outlive it and write into another test's captured output."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
