"""Settings every test starts from."""

from __future__ import annotations

import os

import pytest

# A developer's shell (or a CI runner) may hold an LLM endpoint or key; the service turns the
# LLM on whenever one is set. Tests that want the LLM set these themselves.
LLM_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(autouse=True)
def _no_llm_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*LLM_VARIABLES, *(v for v in os.environ if v.startswith("DBANALYSIS_LLM_"))]:
        monkeypatch.delenv(name, raising=False)
