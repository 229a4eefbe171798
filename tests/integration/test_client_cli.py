"""`dbanalysis submit / status / result` against a real `dbanalysis serve` process: the
progress people watch and the exit codes scripts read (0 done, 1 failed, 3 not found,
4 unreachable, 5 not finished), over real HTTP."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.task import TaskError
from entrypoints.api.schemas import NewTaskRequest
from entrypoints.client.commands import ExitCode
from tests.integration.conftest_kafka import free_port
from tests.integration.embedded_service import EmbeddedService, embedded_service
from tests.integration.processes import CLI

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "flights.json"
PROGRESS = re.compile(r"^(pending|processing|completed|failed)\s+(\d+)%\s+(\S+)$")


# A task whose statistics come from a "Trino" that accepts connections and never answers
# stays in its statistics stage until this limit: long enough to be seen, whatever the load.
STATEMENT_SECONDS = "3"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedService]:
    env = {
        "DBANALYSIS_STATISTICS_STATEMENT_SECONDS": STATEMENT_SECONDS,
        "DBANALYSIS_STATISTICS_BUDGET_SECONDS": STATEMENT_SECONDS,
    }
    with embedded_service(tmp_path_factory.mktemp("serve"), env) as service:
        yield service


@pytest.fixture
def silent_trino_workload(tmp_path: Path) -> Iterator[Path]:
    """The example workload, its URL naming a server that accepts and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes connections; nobody reads or replies
        body = json.loads(EXAMPLE.read_text())
        port = listener.getsockname()[1]
        body["url"] = f"jdbc:trino://127.0.0.1:{port}?catalog=flights&user=reader"
        path = tmp_path / "workload.json"
        path.write_text(json.dumps(body))
        yield path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_submit_wait_shows_the_stages_then_the_report_and_exits_done(
    service: EmbeddedService, silent_trino_workload: Path, tmp_path: Path
) -> None:
    output = tmp_path / "result.json"

    run = cli(
        "submit", str(silent_trino_workload), "--url", service.base_url, "--wait",
        "--interval", "0.05", "-o", str(output),
    )  # fmt: skip

    assert run.returncode == ExitCode.DONE, run.stderr
    steps = [m.groups() for m in map(PROGRESS.match, run.stderr.splitlines()) if m]
    assert steps, run.stderr
    # a stage of the work was seen before the end
    assert ("processing", "statistics") in [(s, stage) for s, _, stage in steps], steps
    assert steps[-1] == ("completed", "100", "done")
    percents = [int(p) for _, p, _ in steps]
    assert percents == sorted(percents), steps  # progress only moves forward
    # the result written is the service's, and the report shows each query beside its original
    task_id = re.search(r"task (\S+) accepted", run.stderr)
    assert task_id is not None
    served = httpx.get(f"{service.base_url}/getresult", params={"taskid": task_id[1]}).json()
    assert json.loads(output.read_text()) == served
    for finding in served["report"]["findings"]:
        assert finding["id"] in run.stdout
    for query in json.loads(EXAMPLE.read_text())["queries"]:
        assert query["queryid"] in run.stdout
    assert "original:" in run.stdout


def test_on_a_terminal_the_progress_is_a_live_bar(
    service: EmbeddedService, silent_trino_workload: Path
) -> None:
    # rich draws its live bar when told the output is a terminal (TTY_COMPATIBLE)
    run = cli(
        "submit", str(silent_trino_workload), "--url", service.base_url, "--wait", "--json",
        env={"TTY_COMPATIBLE": "1", "COLUMNS": "100"},
    )  # fmt: skip

    assert run.returncode == ExitCode.DONE, run.stderr
    assert "processing · statistics" in run.stderr
    assert "completed · done" in run.stderr
    assert "100%" in run.stderr
    assert "━" in run.stderr  # the bar
    json.loads(run.stdout)


def test_submit_prints_the_task_id_and_status_and_result_follow_it(
    service: EmbeddedService, tmp_path: Path
) -> None:
    submitted = cli("submit", str(EXAMPLE), "--url", service.base_url)
    assert submitted.returncode == ExitCode.DONE, submitted.stderr
    task_id = submitted.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", task_id)

    done = cli("submit", str(EXAMPLE), "--url", service.base_url, "--wait")  # same engine
    assert done.returncode == ExitCode.DONE
    status = cli("status", task_id, "--url", service.base_url, "--json")
    assert status.returncode == ExitCode.DONE, status.stdout
    assert json.loads(status.stdout)["status"] == "completed"

    output = tmp_path / "result.json"
    result = cli("result", task_id, "--url", service.base_url, "-o", str(output))
    assert result.returncode == ExitCode.DONE, result.stderr
    assert json.loads(output.read_text())["queries"]
    assert "Findings" in result.stdout


def test_a_failed_task_exits_failed_with_its_error(service: EmbeddedService) -> None:
    workload = NewTaskRequest.model_validate(json.loads(EXAMPLE.read_text())).to_workload()
    task_id = str(
        service.put_task(workload, error=TaskError("analysis_failed", "the engine gave up"))
    )

    status = cli("status", task_id, "--url", service.base_url)
    result = cli("result", task_id, "--url", service.base_url)

    assert status.returncode == ExitCode.FAILED
    assert "analysis_failed: the engine gave up" in status.stdout
    assert result.returncode == ExitCode.FAILED
    assert "analysis_failed: the engine gave up" in result.stderr


def test_a_task_not_finished_exits_not_finished(service: EmbeddedService) -> None:
    workload = NewTaskRequest.model_validate(json.loads(EXAMPLE.read_text())).to_workload()
    task_id = str(service.put_task(workload))  # pending, and never queued

    assert cli("status", task_id, "--url", service.base_url).returncode == ExitCode.NOT_FINISHED
    result = cli("result", task_id, "--url", service.base_url)
    assert result.returncode == ExitCode.NOT_FINISHED
    assert "is pending" in result.stderr


def test_an_unknown_task_exits_not_found(service: EmbeddedService) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    for command in ("status", "result"):
        run = cli(command, unknown, "--url", service.base_url)
        assert run.returncode == ExitCode.NOT_FOUND, (command, run.stderr)
        assert f"no task with id {unknown}" in run.stderr


def test_an_invalid_workload_exits_usage_with_each_problem(
    service: EmbeddedService, tmp_path: Path
) -> None:
    workload = tmp_path / "bad.json"
    workload.write_text(json.dumps({"url": "jdbc:trino://h:1", "ddl": [], "queries": []}))

    run = cli("submit", str(workload), "--url", service.base_url)

    assert run.returncode == ExitCode.USAGE
    assert "ddl:" in run.stderr
    assert "queries:" in run.stderr


def test_a_service_that_is_not_there_exits_unreachable(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    for args in (
        ["submit", str(EXAMPLE), "--wait"],
        ["status", "00000000-0000-4000-8000-000000000000"],
        ["result", "00000000-0000-4000-8000-000000000000"],
    ):
        run = cli(*args, "--url", nowhere)
        assert run.returncode == ExitCode.UNREACHABLE, (args, run.stderr)
        assert f"cannot reach the service at {nowhere}" in run.stderr
