"""200 tasks through ONE `dbanalysis worker` whose LLM answers after 2 s: the api and the
worker on real PostgreSQL + Kafka, an OpenAI-compatible stub server in this process (the idea
of `tests/integration/openai_stub.py`: a threading HTTP server that answers a forced tool
call, here an empty refinement, after `--llm-seconds`).

    source scripts/test-services.sh   # or set DBANALYSIS_TEST_DATABASE_URL / _KAFKA_BOOTSTRAP
    PYTHONPATH=. .venv/bin/python bench/worker_llm.py [--tasks 200] [--concurrency 64] \\
        [--processes 1] [--llm-seconds 2] [--no-verify]

One task goes through first, untimed, so that the worker is warm (in its group, its modules
imported, its analysis processes started). Prints the time from the first submission to the
last completion, tasks/s, the p50/p99 of a task's time from accepted to completed (its
`created_at` to `updated_at`), the LLM calls served and the attempts (each task must complete
once, on attempt 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.api_load import BODY, ROOT, admin, free_port, wait_ready


class SlowLlm:
    """Answers every chat completion with an empty refinement, `delay` seconds late."""

    def __init__(self, delay: float) -> None:
        self.calls = 0
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"] or 0)))
                with lock:
                    owner.calls += 1
                time.sleep(delay)
                arguments = json.dumps({"tables": [], "queries": [], "notes": [], "summary": ""})
                message: dict[str, Any] = {"role": "assistant", "content": arguments}
                if body.get("tools"):
                    name = body["tools"][0]["function"]["name"]
                    message = {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": name, "arguments": arguments},
                            }
                        ],
                    }
                reply = json.dumps(
                    {
                        "id": "chatcmpl-bench",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "bench"),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 300, "completion_tokens": 20},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 1024
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def warm_up(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """One task through the worker before the clock starts: the worker has joined its group,
    imported what the task needs and started its analysis processes."""
    task_id = (await client.post("/new", json=body)).json()["taskid"]
    while True:
        status = (await client.get("/status", params={"taskid": task_id})).json()
        if status["status"] in {"completed", "failed"}:
            return
        await asyncio.sleep(0.1)


async def run(base: str, args: argparse.Namespace, llm: SlowLlm) -> dict[str, Any]:
    body = {**BODY, "options": {"use_llm": True, "verify": not args.no_verify}}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async with asyncio.timeout(args.timeout):
            await warm_up(client, body)
        llm.calls = 0
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.post("/new", json=body) for _ in range(args.tasks))
        )
        ids = [r.json()["taskid"] for r in responses if r.status_code == 202]
        submitted = time.monotonic() - started
        final: dict[str, dict[str, Any]] = {}
        while len(final) < len(ids):
            if time.monotonic() - started > args.timeout:
                break
            for task_id in [t for t in ids if t not in final]:
                status = (await client.get("/status", params={"taskid": task_id})).json()
                if status["status"] in {"completed", "failed"}:
                    final[task_id] = status
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started
    latencies = sorted(
        (
            datetime.fromisoformat(s["updated_at"]) - datetime.fromisoformat(s["created_at"])
        ).total_seconds()
        for s in final.values()
    )
    return {
        "accepted": len(ids),
        "submitted_s": submitted,
        "finished": len(final),
        "completed": sum(s["status"] == "completed" for s in final.values()),
        "attempts": sorted({s["attempts"] for s in final.values()}),
        "elapsed_s": elapsed,
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p99_s": latencies[max(0, int(len(latencies) * 0.99) - 1)] if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64, help="DBANALYSIS_WORKER_CONCURRENCY")
    parser.add_argument("--processes", type=int, default=1, help="DBANALYSIS_ANALYSIS_PROCESSES")
    parser.add_argument("--llm-seconds", type=float, default=2.0)
    parser.add_argument("--no-verify", action="store_true", help="tasks with options.verify off")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()

    llm = SlowLlm(args.llm_seconds)
    server_url = os.environ["DBANALYSIS_TEST_DATABASE_URL"]
    name = f"dbanalysis_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env |= {
        "DBANALYSIS_DATABASE_URL": server_url.rsplit("/", 1)[0] + f"/{name}",
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": os.environ["DBANALYSIS_TEST_KAFKA_BOOTSTRAP"],
        "DBANALYSIS_KAFKA_TOPIC": f"bench-{uuid.uuid4().hex[:10]}",
        "DBANALYSIS_KAFKA_GROUP": f"bench-{uuid.uuid4().hex[:10]}",
        "DBANALYSIS_SECRET_KEY": "UvUYcj5C0bCiTfXiLO8CuJH1fS5Q8rRmUdZmdV4aeDA=",
        "DBANALYSIS_LLM_BASE_URL": llm.base_url,
        "DBANALYSIS_LLM_API_KEY": "bench-key",
        "DBANALYSIS_STATISTICS_ENABLED": "false",
        "DBANALYSIS_WORKER_CONCURRENCY": str(args.concurrency),
        "DBANALYSIS_ANALYSIS_PROCESSES": str(args.processes),
        "DBANALYSIS_RELAY_INTERVAL_SECONDS": "0.2",
        "DBANALYSIS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT))),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([sys.executable, "-m", "entrypoints.cli", "migrate"], env=env, check=True)
        port = free_port()
        for command in (["api", "--port", str(port)], ["worker"]):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "entrypoints.cli", *command],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(base + "/health/ready", processes[0]))
        figures = asyncio.run(run(base, args, llm))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        llm.server.shutdown()
    average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"\n{args.tasks} tasks, one worker (concurrency {args.concurrency}, "
        f"{args.processes} analysis process(es)), LLM answering after {args.llm_seconds:g} s, "
        f"verify {'off' if args.no_verify else 'on'}; {os.cpu_count()} CPUs, load average "
        f"{average}"
    )
    print(
        f"accepted {figures['accepted']} in {figures['submitted_s']:.1f} s; finished "
        f"{figures['finished']} ({figures['completed']} completed) in "
        f"{figures['elapsed_s']:.1f} s = {figures['finished'] / figures['elapsed_s']:.1f} "
        f"tasks/s; per task p50 {figures['p50_s']:.1f} s, p99 {figures['p99_s']:.1f} s; "
        f"attempts {figures['attempts']}; LLM calls {llm.calls}"
    )


if __name__ == "__main__":
    main()
