"""Benchmark of the verification step: seconds to verify the examples and generated workloads,
and the embedded service's submit → completed time with verification on and off.

    uv run python bench/bench_verify.py            # examples, 100-query workloads, embedded
    uv run python bench/bench_verify.py --quick    # examples and one generated workload
    uv run python bench/bench_verify.py --rows 20000

Each row: the workload, its queries, the engine's seconds, the verification's seconds (DuckDB,
embedded, one thread), and the outcomes (verified / differs / empty / not verifiable /
unchanged). A differing rewrite is a finding to look at, not a failure of the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from adapters.verify.duckdb_verifier import DuckDbVerifier  # noqa: E402
from domain.analysis import analyze  # noqa: E402
from domain.verification.checks import build_checks  # noqa: E402
from domain.verification.merge import verified_result  # noqa: E402
from domain.verification.model import VerificationRequest  # noqa: E402
from domain.workload import Workload  # noqa: E402

SHAPES = ("wide", "star", "vault", "events")


def workloads(quick: bool) -> Iterator[tuple[str, Workload]]:
    import json

    from bench import generate, shapes

    for path in sorted((ROOT / "examples").glob("*.json")):
        yield f"example {path.stem}", Workload.from_dict(json.loads(path.read_text()))
    yield "generated 10 tables", generate.workload(10, 100)
    if quick:
        return
    for shape in SHAPES:
        yield f"shape {shape}", Workload.from_dict(shapes.workload(shape, queries=100))


def verify_one(load: Workload, rows: int, budget: float) -> dict[str, object]:
    started = time.perf_counter()
    result = analyze(load)
    engine = time.perf_counter() - started
    started = time.perf_counter()
    checks = build_checks(load, result)
    request = VerificationRequest(load, result, checks, rows_per_table=rows, budget_seconds=budget)
    verification = DuckDbVerifier().verify_now(request)
    checked = verified_result(result, verification, checks)
    seconds = time.perf_counter() - started
    return {
        "queries": len(load.queries),
        "engine": engine,
        "verify": seconds,
        "outcomes": checked.report.verification["outcomes"],
        "spent": verification.budget_spent,
    }


async def embedded_seconds(load: Workload, verify: bool) -> float:
    """Submit `load` to the embedded service (SQLite, in-process queue) and wait for it."""
    from cryptography.fernet import Fernet

    from application.use_cases.get_task_status import GetTaskStatusRequest
    from application.use_cases.submit_task import SubmitTaskRequest
    from domain.task import TaskStatus
    from entrypoints.containers import EmbeddedContainer
    from entrypoints.embedded import EmbeddedService
    from entrypoints.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{folder}/bench.sqlite3",
            secret_key=Fernet.generate_key().decode(),
            statistics_enabled=False,  # the example's URL names a Trino that is not there
            llm_base_url=None,
            llm_api_key=None,
            verify_enabled=verify,
            relay_interval_seconds=0.01,
        )
        service = EmbeddedService(EmbeddedContainer(settings=settings))
        deps = await service.start()
        try:
            started = time.perf_counter()
            submitted = await deps.submit.execute(SubmitTaskRequest(load))
            deps.on_submitted()
            while True:
                view = await deps.get_status.execute(GetTaskStatusRequest(submitted.task_id))
                if view.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
                    break
                await asyncio.sleep(0.005)
            assert view.status is TaskStatus.COMPLETED, view.error
            return time.perf_counter() - started
        finally:
            await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="examples and one generated load")
    parser.add_argument("--rows", type=int, default=2_000, help="rows per table (facts)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per task")
    args = parser.parse_args()
    print(f"rows per table: {args.rows}, budget: {args.budget:g} s")
    print(f"{'workload':<22} {'queries':>7} {'engine s':>9} {'verify s':>9}  outcomes")
    for name, load in workloads(args.quick):
        row = verify_one(load, args.rows, args.budget)
        outcomes = row["outcomes"]
        assert isinstance(outcomes, dict)
        shown = " ".join(f"{k}={v}" for k, v in outcomes.items() if v)
        spent = "  (budget spent)" if row["spent"] else ""
        print(
            f"{name:<22} {row['queries']:>7} {row['engine']:>9.2f} {row['verify']:>9.2f}  "
            f"{shown}{spent}"
        )
    if args.quick:
        return
    import json

    flights = Workload.from_dict(json.loads((ROOT / "examples" / "flights.json").read_text()))
    flights = Workload.from_request(flights.url, flights.ddl, flights.queries, flights.options)
    for verify in (False, True):
        seconds = asyncio.run(embedded_seconds(flights, verify))
        label = "on" if verify else "off"
        print(f"embedded submit -> completed, flights, verification {label}: {seconds:.2f} s")


if __name__ == "__main__":
    main()
