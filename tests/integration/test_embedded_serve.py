"""`dbanalysis serve` as a real process on SQLite, reached over real HTTP — what `make run` starts.

Every example workload (the project's own, and the shared ones when the checkout has them)
comes back `completed` with a result that obeys the contract, and the same result as
`dbanalysis analyze` gives for the same file. Tasks accepted before a restart are not lost.
"""

from __future__ import annotations

import json
import stat
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.result import AnalysisResult
from entrypoints.api.schemas import NewTaskRequest
from tests.integration.conftest_kafka import free_port
from tests.integration.processes import CLI, started, wait_until_healthy
from tests.unit.analysis.contract import assert_result_obeys_contract

ROOT = Path(__file__).parents[2]
SHARED = ROOT.parent / "shared" / "workloads"
WORKLOADS = sorted((ROOT / "examples").glob("*.json")) + sorted(SHARED.glob("*.json"))


def wait_completed(client: httpx.Client, task_id: str, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        status: dict[str, Any] = client.get("/status", params={"taskid": task_id}).json()
        if status["status"] in {"completed", "failed"} or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def without_timing(result: dict[str, Any]) -> dict[str, Any]:
    timing = ("duration_ms", "verification_ms")
    return {**result, "meta": {k: v for k, v in result["meta"].items() if k not in timing}}


@pytest.fixture
def serve_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # No key given: `serve` makes its own in the key file, as `make run` does on a fresh clone.
    monkeypatch.delenv("DBANALYSIS_SECRET_KEY", raising=False)
    return {
        "DBANALYSIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/dbanalysis.sqlite3",
        "DBANALYSIS_SECRET_KEY_FILE": str(tmp_path / "var" / "secret.key"),
    }


def test_every_example_completes_with_the_same_result_as_analyze(
    serve_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with started("serve", ["serve", "--port", str(port)], serve_env, tmp_path) as serve:
        wait_until_healthy(base_url, serve)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            submitted = {}
            for path in WORKLOADS:
                response = client.post(
                    "/new",
                    content=path.read_bytes(),
                    headers={"Content-Type": "application/json"},
                )
                assert response.status_code == 202, response.text
                submitted[path] = response.json()["taskid"]
            results = {}
            for path, task_id in submitted.items():
                status = wait_completed(client, task_id)
                assert status["status"] == "completed", (path.name, status)
                results[path] = client.get("/getresult", params={"taskid": task_id}).json()

    for path, result in results.items():
        body = json.loads(path.read_text())
        workload = NewTaskRequest.model_validate(body).to_workload()
        assert_result_obeys_contract(
            workload, AnalysisResult.from_dict(result), original_url=body["url"]
        )
        analyzed = subprocess.run(
            [*CLI, "analyze", str(path)], capture_output=True, check=True, timeout=120
        )
        assert without_timing(json.loads(analyzed.stdout)) == without_timing(result), path.name


def test_tasks_accepted_before_a_restart_complete_after_it(
    serve_env: dict[str, str], tmp_path: Path
) -> None:
    body = (ROOT / "examples" / "tickets.json").read_bytes()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The first run accepts tasks and is stopped at once; whatever it did not finish waits in
    # the database (pending, or handed back by the interrupted worker) for the next run.
    with started("first", ["serve", "--port", str(port)], serve_env, tmp_path) as first:
        wait_until_healthy(base_url, first)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            task_ids = [
                client.post(
                    "/new", content=body, headers={"Content-Type": "application/json"}
                ).json()["taskid"]
                for _ in range(10)
            ]
    assert all(uuid.UUID(t) for t in task_ids)
    key_file = Path(serve_env["DBANALYSIS_SECRET_KEY_FILE"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with started("second", ["serve", "--port", str(port)], serve_env, tmp_path) as second:
        wait_until_healthy(base_url, second)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            statuses = [wait_completed(client, t)["status"] for t in task_ids]

    assert statuses == ["completed"] * len(task_ids)
    # the second run read the key the first one made, and with it the tasks' credentials
    assert key_file.read_text() == key
    assert "cannot be decrypted" not in second.output()
