"""The terminal rendering of a result: every part people read is there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from domain.analysis import analyze
from entrypoints.api.schemas import NewTaskRequest
from entrypoints.client.render import render_result

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize("name", ["tickets", "flights", "clicks", "messy"])
def test_the_report_shows_findings_gains_weights_statements_and_each_query(name: str) -> None:
    body = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    result = analyze(NewTaskRequest.model_validate(body).to_workload()).to_dict()
    console = Console(record=True, width=160, color_system=None)

    render_result(console, result)

    text = console.export_text()
    for heading in ("Summary", "Estimated gains", "Where the workload's weight goes", "Findings"):
        assert heading in text
    for finding in result["report"]["findings"]:
        assert finding["id"] in text
    assert f"New DDL ({len(result['ddl'])})" in text
    assert f"Migrations ({len(result['migrations'])})" in text
    for check in result["report"]["verification"]["queries"]:
        assert f"{check['queryid']}  {check['status']}" in text
    assert "CREATE SCHEMA" in text


def test_a_result_without_report_details_still_renders_its_statements() -> None:
    console = Console(record=True, width=100, color_system=None)
    result = {
        "ddl": [{"statement": "CREATE SCHEMA lake.optimized"}],
        "migrations": [],
        "queries": [{"queryid": "q1", "query": "SELECT 1"}],
        "report": {"summary": "nothing to say"},
        "meta": {},
    }

    render_result(console, result, {"q1": "SELECT 1"})

    text = console.export_text()
    assert "nothing to say" in text
    assert "CREATE SCHEMA lake.optimized" in text
    assert "Estimated gains" not in text
