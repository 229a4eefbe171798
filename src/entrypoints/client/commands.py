"""`dbanalysis submit / status / result`: the client subcommands and their exit codes.

Exit codes, for scripts:

    0  done: the task is completed (or, for `submit` without --wait, accepted)
    1  failed: the task failed (its error is printed)
    2  usage: bad arguments, an unreadable workload file, or a workload the service rejected
    3  not found: the service knows no such task
    4  unreachable: no answer from the service (or a server error, 5xx)
    5  not finished: the task is still pending or processing (or --timeout passed first)
    6  refused: the service refused the request (API key missing or wrong) or gave an answer
       this client does not understand

Progress, messages and errors go to stderr; stdout carries what a script reads: the task id
(`submit`), the status or the result (rendered, or JSON with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from entrypoints.client.render import render_result, render_status
from entrypoints.client.service import (
    AccessDenied,
    RequestRejected,
    ServiceClient,
    ServiceError,
    ServiceUnreachable,
    TaskNotFound,
    TaskNotReady,
)

__all__ = ["CLIENT_COMMANDS", "ExitCode", "add_client_commands", "run_client_command"]

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "DBANALYSIS_URL"
API_KEY_ENV = "DBANALYSIS_API_KEY"
FINAL = {"completed", "failed"}
# While waiting, a service that stops answering for this long is taken as gone.
UNREACHABLE_GRACE_SECONDS = 10.0


class ExitCode(IntEnum):
    DONE = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    UNREACHABLE = 4
    NOT_FINISHED = 5
    REFUSED = 6


CLIENT_COMMANDS = frozenset({"submit", "status", "result"})


def _service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_ENV, DEFAULT_URL),
        help=f"the service (default: {URL_ENV} or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"sent as the X-API-Key header (default: {API_KEY_ENV})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a report")


def add_client_commands(commands: Any) -> None:
    """Add the client subcommands to the CLI's subparsers."""
    epilog = "exit codes: 0 done, 1 failed, 2 usage or invalid workload, 3 not found, " + (
        "4 service unreachable, 5 not finished, 6 refused (API key)"
    )
    submit = commands.add_parser(
        "submit", help="send a workload to a running service", epilog=epilog
    )
    submit.add_argument("workload", type=Path, help="workload JSON, the body of POST /new")
    submit.add_argument(
        "--wait", action="store_true", help="follow the task's progress, then show its result"
    )
    submit.add_argument(
        "--timeout", type=float, default=None, help="with --wait: give up after this many seconds"
    )
    submit.add_argument(
        "--interval", type=float, default=0.5, help="with --wait: seconds between polls"
    )
    submit.add_argument("-o", "--output", type=Path, help="with --wait: write the result JSON here")
    _service_options(submit)

    status = commands.add_parser("status", help="where a task is", epilog=epilog)
    status.add_argument("taskid")
    _service_options(status)

    result = commands.add_parser("result", help="the result of a completed task", epilog=epilog)
    result.add_argument("taskid")
    result.add_argument("-o", "--output", type=Path, help="write the result JSON here")
    _service_options(result)


def run_client_command(
    args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None
) -> int:
    """Run `submit`, `status` or `result`; the exit code. `transport` replaces the network
    (tests)."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)  # messages are never wrapped
    try:
        with ServiceClient(args.url, api_key=args.api_key, transport=transport) as client:
            if args.command == "submit":
                return _submit(client, args, out, err)
            if args.command == "status":
                return _status(client, args, out)
            return _result(client, args, out, err)
    except ServiceError as exc:
        return _report_error(exc, err)


def _report_error(exc: ServiceError, err: Console) -> int:
    err.print(f"dbanalysis: {exc}", markup=False)
    if isinstance(exc, TaskNotReady):
        if exc.status == "failed":
            error = exc.error or {}
            err.print(f"  {error.get('code')}: {error.get('message')}", markup=False)
            return ExitCode.FAILED
        return ExitCode.NOT_FINISHED
    if isinstance(exc, RequestRejected):
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False)
        return ExitCode.USAGE
    if isinstance(exc, TaskNotFound):
        return ExitCode.NOT_FOUND
    if isinstance(exc, ServiceUnreachable):
        return ExitCode.UNREACHABLE
    if isinstance(exc, AccessDenied):
        return ExitCode.REFUSED
    raise AssertionError(type(exc))


def _print_json(data: Any) -> None:
    """JSON for scripts, as it is: never colored or wrapped, whatever the terminal."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _status_code(status: str) -> ExitCode:
    if status == "completed":
        return ExitCode.DONE
    if status == "failed":
        return ExitCode.FAILED
    return ExitCode.NOT_FINISHED


def _status(client: ServiceClient, args: argparse.Namespace, out: Console) -> int:
    status = client.status(args.taskid)
    if args.json:
        _print_json(status)
    else:
        render_status(out, status)
    return _status_code(str(status["status"]))


def _result(client: ServiceClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    result = client.result(args.taskid)
    _show(result, args, out, err, originals=None)
    return ExitCode.DONE


def _show(
    result: dict[str, Any],
    args: argparse.Namespace,
    out: Console,
    err: Console,
    originals: dict[str, str] | None,
) -> None:
    if args.output is not None:
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
        err.print(f"result written to {args.output}", markup=False)
    if args.json:
        _print_json(result)
    else:
        render_result(out, result, originals)


def _submit(client: ServiceClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    try:
        workload = args.workload.read_bytes()
    except OSError as exc:
        err.print(f"dbanalysis: cannot read {args.workload}: {exc}", markup=False)
        return ExitCode.USAGE
    task_id = client.submit(workload)
    if not args.wait:
        out.print(task_id, markup=False)
        return ExitCode.DONE
    err.print(f"task {task_id} accepted by {client.base_url}", markup=False)
    try:
        status = _follow(client, task_id, err, args.interval, args.timeout)
    except KeyboardInterrupt:
        err.print(f"stopped waiting; the task goes on: dbanalysis status {task_id}", markup=False)
        return 130
    if status["status"] == "failed":
        error = status.get("error") or {}
        err.print(
            f"dbanalysis: task {task_id} failed: {error.get('code')}: {error.get('message')}",
            markup=False,
        )
        return ExitCode.FAILED
    if status["status"] != "completed":
        err.print(
            f"dbanalysis: task {task_id} still {status['status']} after {args.timeout} s; "
            f"see later: dbanalysis status {task_id}",
            markup=False,
        )
        return ExitCode.NOT_FINISHED
    _show(client.result(task_id), args, out, err, originals=_originals(workload))
    return ExitCode.DONE


def _originals(workload: bytes) -> dict[str, str]:
    """The submitted queries by id, to show beside their rewrites (the service accepted them)."""
    body = json.loads(workload)
    return {str(q["queryid"]): str(q["query"]) for q in body.get("queries", [])}


def _follow(
    client: ServiceClient,
    task_id: str,
    err: Console,
    interval: float,
    timeout: float | None,
) -> dict[str, Any]:
    """Poll the task's status until it is final (or `timeout` passes), showing its progress:
    a live bar on a terminal, else one line per change of stage."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if err.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err, transient=False) as bar:
            handle = bar.add_task("pending", total=100)

            def show(status: dict[str, Any]) -> None:
                progress = status.get("progress") or {}
                bar.update(
                    handle,
                    completed=progress.get("percent", 0),
                    description=f"{status['status']} · {progress.get('stage', '')}",
                )

            return _poll(client, task_id, show, interval, deadline)

    seen: list[tuple[str, str, int]] = []

    def log(status: dict[str, Any]) -> None:
        progress = status.get("progress") or {}
        step = (str(status["status"]), str(progress.get("stage", "")), progress.get("percent", 0))
        if not seen or seen[-1] != step:
            seen.append(step)
            err.print(f"{step[0]:<10} {step[2]:>3}%  {step[1]}", markup=False)

    return _poll(client, task_id, log, interval, deadline)


def _poll(
    client: ServiceClient,
    task_id: str,
    show: Callable[[dict[str, Any]], None],
    interval: float,
    deadline: float | None,
) -> dict[str, Any]:
    last: dict[str, Any] | None = None
    silent_since: float | None = None
    while True:
        try:
            last = client.status(task_id)
        except ServiceUnreachable:
            # A restart of the service is not the end of the task: keep asking for a while.
            now = time.monotonic()
            silent_since = silent_since or now
            if now - silent_since > UNREACHABLE_GRACE_SECONDS or (
                last is None and deadline is not None and now >= deadline
            ):
                raise
        else:
            silent_since = None
            show(last)
            if last["status"] in FINAL:
                return last
        if last is not None and deadline is not None and time.monotonic() >= deadline:
            return last
        time.sleep(interval)
