"""Load benchmark of the embedded default (`dbanalysis serve`) while it analyses: `POST /new`
and `GET /status` while heavy analyses run, with the analyses in a thread of the API's process
(`DBANALYSIS_ANALYSIS_PROCESSES=0`, as before) and in a process of their own (`=1`, the
default), side by side in the same run.

    .venv/bin/python bench/embedded_load.py [--heavy 6] [--tables 40] [--queries 400] \\
        [--seconds 10] [--concurrency 16]

Each mode is a fresh `serve` on SQLite in a temporary directory, the LLM off. `--heavy`
workloads from `bench/generate.py` (each several seconds of engine and verification) are
submitted first; the load starts once one of them is being analysed, and the figures count
only if analyses were still running when the load ended (the script says how many). The
requests of the load are tasks too (tiny ones), queued behind the heavy ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api_load import BODY, ROOT, Call, free_port, load, wait_ready
from bench.generate import workload

MODES = {"thread (before)": "0", "process pool (after)": "1"}


def heavy_body(tables: int, queries: int, seed: int) -> dict[str, Any]:
    document = workload(tables, queries, seed).to_dict()
    document["options"] = {"target_schema": "optimized", "use_llm": False, "verify": True}
    return document


async def statuses(client: httpx.AsyncClient, ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task_id in ids:
        status = (await client.get("/status", params={"taskid": task_id})).json()["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


async def measure(base: str, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        heavy = []
        for seed in range(args.heavy):
            response = await client.post("/new", json=heavy_body(args.tables, args.queries, seed))
            response.raise_for_status()
            heavy.append(response.json()["taskid"])
        seeded = (await client.post("/new", json=BODY)).json()["taskid"]
        deadline = time.monotonic() + 60
        while (await statuses(client, heavy)).get("processing", 0) == 0:
            if time.monotonic() > deadline:
                raise SystemExit("no heavy analysis started within 60 s")
            await asyncio.sleep(0.1)

        post = Call("POST", "/new", BODY)
        get = Call("GET", f"/status?taskid={seeded}")

        rows = []
        for call, function, expect in (("POST /new", post, 202), ("GET /status", get, 200)):
            figures = await load(function, base, args.seconds, args.concurrency, expect)
            rows.append((call, figures))
        after = await statuses(client, heavy)
        for _, figures in rows:
            figures["heavy_after"] = after
    return rows


def run_mode(processes: str, args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="dbanalysis-embedded-bench-") as tmp:
        port = free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("DBANALYSIS_") and key != "OPENAI_API_KEY"
        }
        env |= {
            "DBANALYSIS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
            "DBANALYSIS_SECRET_KEY_FILE": f"{tmp}/secret.key",
            "DBANALYSIS_ANALYSIS_PROCESSES": processes,
            "DBANALYSIS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT))),
        }
        command = [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_ready(base + "/health/ready", process))
            return asyncio.run(measure(base, args))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", type=int, default=6, help="heavy workloads submitted first")
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    results = {mode: run_mode(processes, args) for mode, processes in MODES.items()}
    loadavg = Path("/proc/loadavg")
    average = " ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "?"
    print(
        f"\nembedded `serve` while {args.heavy} analyses of {args.tables} tables × "
        f"{args.queries} queries run; {args.seconds:.0f} s per case, {args.concurrency} "
        f"concurrent clients, {os.cpu_count()} CPUs, load average {average}\n"
    )
    print(
        f"{'analyses in':<22} {'call':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7}  heavy tasks after"
    )
    for mode, rows in results.items():
        for call, figures in rows:
            print(
                f"{mode:<22} {call:<12} {figures['rps']:>8.0f} {figures['p50_ms']:>8.1f} "
                f"{figures['p99_ms']:>8.1f} {figures['errors']:>7}  {figures['heavy_after']}"
            )


if __name__ == "__main__":
    main()
