"""The client subcommands against a fake service (httpx.MockTransport): each answer of the
REST contract becomes the documented exit code, and what a script reads goes to stdout."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.analysis import analyze
from entrypoints.api.schemas import NewTaskRequest
from entrypoints.client.commands import ExitCode, add_client_commands, run_client_command

ROOT = Path(__file__).parents[3]
TASK = "0b5f2f0e-8a43-4e0c-9d55-7a1f3c1b2a10"
Handler = Callable[[httpx.Request], httpx.Response]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_client_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args([*argv, "--url", "http://service.test"])


def run(handler: Handler, *argv: str) -> int:
    return run_client_command(parse(*argv), transport=httpx.MockTransport(handler))


def a_status(status: str, error: dict[str, str] | None = None) -> dict[str, Any]:
    stage, percent = {"completed": ("done", 100), "processing": ("profile", 30)}.get(
        status, ("queued", 0)
    )
    return {
        "taskid": TASK,
        "status": status,
        "progress": {"stage": stage, "percent": percent},
        "attempts": 1,
        "created_at": "2026-12-02T08:00:00Z",
        "updated_at": "2026-12-02T08:00:01Z",
        "error": error,
    }


def example_result(name: str = "tickets") -> dict[str, Any]:
    body = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    return analyze(NewTaskRequest.model_validate(body).to_workload()).to_dict()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("completed", ExitCode.DONE),
        ("failed", ExitCode.FAILED),
        ("pending", ExitCode.NOT_FINISHED),
        ("processing", ExitCode.NOT_FINISHED),
    ],
)
def test_status_exits_with_the_code_of_the_tasks_status(
    status: str, code: ExitCode, capsys: pytest.CaptureFixture[str]
) -> None:
    error = {"code": "analysis_failed", "message": "boom"} if status == "failed" else None
    assert run(lambda _: httpx.Response(200, json=a_status(status, error)), "status", TASK) == code
    assert status in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (httpx.Response(404, json={"detail": f"no task with id {TASK}"}), ExitCode.NOT_FOUND),
        (httpx.Response(401, json={"detail": "missing API key"}), ExitCode.REFUSED),
        (httpx.Response(403, json={"detail": "wrong API key"}), ExitCode.REFUSED),
        (httpx.Response(502, text="bad gateway"), ExitCode.UNREACHABLE),
        (httpx.Response(418, text="?"), ExitCode.REFUSED),
        (
            httpx.Response(
                409, json={"detail": "x", "status": 409, "taskid": TASK, "task_status": "pending"}
            ),
            ExitCode.NOT_FINISHED,
        ),
        (
            httpx.Response(
                409,
                json={
                    "detail": "x",
                    "status": 409,
                    "taskid": TASK,
                    "task_status": "failed",
                    "error": {"code": "analysis_failed", "message": "the engine broke"},
                },
            ),
            ExitCode.FAILED,
        ),
    ],
)
def test_result_maps_each_answer_to_its_exit_code(answer: httpx.Response, code: ExitCode) -> None:
    assert run(lambda _: answer, "result", TASK) == code


def test_a_service_that_does_not_answer_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert run(refuse, "status", TASK) == ExitCode.UNREACHABLE
    assert "cannot reach the service at http://service.test" in capsys.readouterr().err


def test_a_rejected_workload_is_a_usage_error_listing_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = tmp_path / "w.json"
    workload.write_text('{"url": "x"}')
    errors = [{"loc": ["body", "ddl"], "msg": "Field required", "type": "missing"}]
    problem = {"status": 422, "detail": "1 invalid field(s)", "errors": errors}

    code = run(lambda _: httpx.Response(422, json=problem), "submit", str(workload))

    assert code == ExitCode.USAGE
    assert "ddl: Field required" in capsys.readouterr().err


def test_an_unreadable_workload_file_is_a_usage_error(tmp_path: Path) -> None:
    def unexpected(_: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing is sent")

    assert run(unexpected, "submit", str(tmp_path / "missing.json")) == ExitCode.USAGE


def test_submit_prints_the_task_id_alone_and_sends_the_api_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = tmp_path / "w.json"
    workload.write_bytes((ROOT / "examples" / "tickets.json").read_bytes())
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"taskid": TASK, "status": "pending"})

    code = run(accept, "submit", str(workload), "--api-key", "k-123")

    assert code == ExitCode.DONE
    assert capsys.readouterr().out == f"{TASK}\n"
    assert seen[0].headers["X-API-Key"] == "k-123"
    assert seen[0].content == workload.read_bytes()


def test_submit_wait_shows_each_stage_then_the_report_and_writes_the_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = tmp_path / "w.json"
    workload.write_bytes((ROOT / "examples" / "tickets.json").read_bytes())
    output = tmp_path / "result.json"
    result = example_result("tickets")
    statuses = iter(["pending", "processing", "processing", "completed"])

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/new":
            return httpx.Response(202, json={"taskid": TASK, "status": "pending"})
        if request.url.path == "/status":
            return httpx.Response(200, json=a_status(next(statuses)))
        return httpx.Response(200, json=result)

    code = run(service, "submit", str(workload), "--wait", "--interval", "0", "-o", str(output))

    captured = capsys.readouterr()
    assert code == ExitCode.DONE
    progress = [line.split() for line in captured.err.splitlines() if "%" in line]
    assert progress == [
        ["pending", "0%", "queued"],
        ["processing", "30%", "profile"],
        ["completed", "100%", "done"],
    ]
    assert json.loads(output.read_text()) == result
    assert "k-customer" in captured.out
    assert "original:" in captured.out  # the submitted query beside its new form


def test_submit_wait_reports_a_failed_task_with_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workload = tmp_path / "w.json"
    workload.write_bytes((ROOT / "examples" / "tickets.json").read_bytes())
    failed = a_status("failed", {"code": "analysis_failed", "message": "the engine broke"})

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/new":
            return httpx.Response(202, json={"taskid": TASK, "status": "pending"})
        return httpx.Response(200, json=failed)

    code = run(service, "submit", str(workload), "--wait", "--interval", "0")

    assert code == ExitCode.FAILED
    assert "analysis_failed: the engine broke" in capsys.readouterr().err


def test_submit_wait_gives_up_after_its_timeout_with_not_finished(tmp_path: Path) -> None:
    workload = tmp_path / "w.json"
    workload.write_bytes((ROOT / "examples" / "tickets.json").read_bytes())

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/new":
            return httpx.Response(202, json={"taskid": TASK, "status": "pending"})
        return httpx.Response(200, json=a_status("processing"))

    code = run(service, "submit", str(workload), "--wait", "--interval", "0", "--timeout", "0")
    assert code == ExitCode.NOT_FINISHED
