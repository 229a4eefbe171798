"""The `dbanalysis` command line.

dbanalysis serve [--host H] [--port P]      API + worker + relay in one process (embedded)
dbanalysis analyze WORKLOAD.json [-o OUT]   run the pipeline once, print the result JSON
dbanalysis api [--host H] [--port P]        the HTTP API alone (PostgreSQL + Kafka)
dbanalysis worker                           a worker alone (Kafka consumer)
dbanalysis migrate                          bring the database schema to the latest revision

dbanalysis submit WORKLOAD.json [--wait]     send a workload to a running service (--url)
dbanalysis status TASKID                     where a task is
dbanalysis result TASKID [-o FILE]           its result, as a report (or --json)

The client commands talk HTTP only; their exit codes are in `entrypoints.client.commands`.

`api` and `worker` need DBANALYSIS_SECRET_KEY and refuse to start without it; `serve` makes a
key in var/secret.key on its first start and reuses it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entrypoints.client.commands import (
    CLIENT_COMMANDS,
    add_client_commands,
    run_client_command,
)
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings, service_version

if TYPE_CHECKING:
    from domain.result import AnalysisResult
    from entrypoints.api.schemas import NewTaskRequest

# The service's modules (SQLAlchemy, the engine, the LLM client…) are imported by the commands
# that use them: the client commands and --help answer at once, without loading them.

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dbanalysis",
        description="LLM DB Analysis Service: better Trino/Iceberg layouts from your workload.",
    )
    parser.add_argument("--version", action="version", version=service_version())
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="API, worker and relay in one process (embedded)")
    serve.add_argument("--host", help="listen address (default: DBANALYSIS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: DBANALYSIS_PORT or 8000)")

    analyze = commands.add_parser("analyze", help="analyse a workload file once, no server")
    analyze.add_argument("workload", type=Path, help="workload JSON, the body of POST /new")
    analyze.add_argument("-o", "--output", type=Path, help="also write the result here")

    api = commands.add_parser("api", help="the HTTP API alone; tasks go to Kafka")
    api.add_argument("--host", help="listen address (default: DBANALYSIS_HOST or 127.0.0.1)")
    api.add_argument("--port", type=int, help="listen port (default: DBANALYSIS_PORT or 8000)")

    commands.add_parser("worker", help="a worker: consumes tasks from Kafka and processes them")
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    add_client_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in CLIENT_COMMANDS:
        return run_client_command(args)  # a client: none of the service's settings apply
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, process_name=args.command)
    if args.command == "serve":
        return _serve(settings, args.host, args.port)
    if args.command == "api":
        return _api(settings, args.host, args.port)
    if args.command == "worker":
        if not _has_secret_key(settings):
            return 2
        from entrypoints.processes import run_worker

        asyncio.run(run_worker(settings))
        return 0
    if args.command == "analyze":
        return _analyze(settings, args.workload, args.output)
    if args.command == "migrate":
        from adapters.sqlalchemy.migrate import upgrade
        from entrypoints.embedded import ensure_sqlite_directory

        ensure_sqlite_directory(settings.database_url)
        asyncio.run(upgrade(settings.database_url))
        return 0
    raise AssertionError(args.command)  # argparse rejects unknown commands


def _has_secret_key(settings: Settings) -> bool:
    """Whether the key `api` and `worker` need is there; if not, say why and how to make one."""
    from entrypoints.secret_key import SecretKeyError, require_secret_key

    try:
        require_secret_key(settings)
    except SecretKeyError as exc:
        print(f"dbanalysis: {exc}", file=sys.stderr)
        return False
    return True


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from entrypoints.embedded import create_embedded_app
    from entrypoints.secret_key import SecretKeyError, with_embedded_secret_key

    try:
        settings = with_embedded_secret_key(settings)
    except SecretKeyError as exc:
        print(f"dbanalysis: {exc}", file=sys.stderr)
        return 2
    app = create_embedded_app(settings)
    _settle_heap()
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_config=None)
    return 0


def _settle_heap() -> None:
    """For a process that serves HTTP from here on: what is loaded by now (modules, the app)
    lives as long as the process, so the collector stops scanning it, and it runs less often
    among the short-lived objects of requests, which seldom form cycles. bench/api_load.py:
    POST /new p99 148 -> 70 ms, 1.28 -> 1.04 ms CPU per request."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def _api(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from entrypoints.processes import create_api_app

    if not _has_secret_key(settings):
        return 2
    app = create_api_app(settings)
    _settle_heap()
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_config=None)
    return 0


def _analyze(settings: Settings, path: Path, output: Path | None) -> int:
    from pydantic import ValidationError

    from entrypoints.api.schemas import NewTaskRequest

    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"dbanalysis: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        request = NewTaskRequest.model_validate(raw)
    except ValidationError as exc:
        print(f"dbanalysis: {path} is not a valid workload:", file=sys.stderr)
        for error in exc.errors(include_input=False):
            location = ".".join(str(part) for part in error["loc"]) or "(body)"
            print(f"  {location}: {error['msg']}", file=sys.stderr)
        return 2
    result = asyncio.run(_run_once(settings, request))
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


async def _run_once(settings: Settings, request: NewTaskRequest) -> AnalysisResult:
    from domain.task import Progress
    from domain.workload import credentials_from_jdbc_url
    from entrypoints.containers import analyzer_from_settings

    async def ignore_progress(_: Progress) -> None:
        return None

    analyzer = analyzer_from_settings(settings, service_version())
    credentials = credentials_from_jdbc_url(request.url)
    return await analyzer.analyze(request.to_workload(), ignore_progress, credentials=credentials)


if __name__ == "__main__":
    raise SystemExit(main())
