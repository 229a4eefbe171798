"""100 tasks through two real workers, one of them killed with SIGKILL five times while tasks
are being processed (and started again): every task completes, and completes once.

"Once" is read in the workers' JSON logs: a worker logs `task <id>: completed` right after the
commit that completed it, so no task may have two such lines across every worker that ran (a
worker killed between its commit and its log line leaves none, hence the `>=` on the total).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.fernet import generate_key
from tests.integration.conftest_kafka import eventually, free_port, kafka_bootstrap, unique_name
from tests.integration.processes import CLI, run_cli, started
from tests.unit.api.support import a_body

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest

TASKS = 100
KILLS = 5


def workload(number: int) -> dict[str, Any]:
    tables = "".join(f", c{i} varchar" for i in range(number % 7))
    return a_body(
        ddl=[{"statement": f"CREATE TABLE lake.sales.orders (order_id bigint{tables})"}],
        queries=[
            {
                "queryid": f"q{number}",
                "query": f"SELECT order_id FROM lake.sales.orders WHERE order_id = {number}",
                "runquantity": number + 1,
            }
        ],
    )


class Workers:
    """Worker processes started by the test, each logging to a file of its own."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def start(self) -> None:
        self.started += 1
        with (self.logs / f"worker-{self.started}.log").open("wb") as sink:
            self.running.append(
                subprocess.Popen(
                    [*CLI, "worker"],
                    env={**os.environ, **self.env},
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            )

    def kill_one(self, rng: random.Random) -> None:
        victim = self.running.pop(rng.randrange(len(self.running)))
        victim.kill()
        victim.wait(30)

    def stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def completions(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for log in sorted(self.logs.glob("worker-*.log")):
            for line in log.read_text(errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by SIGKILL
                message = str(record.get("message", ""))
                if message.startswith("task ") and message.endswith(": completed"):
                    counts[message.split()[1].rstrip(":")] += 1
        return counts


async def test_tasks_survive_workers_killed_mid_task_and_complete_exactly_once(
    postgres_database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(12)
    port = free_port()
    env = {
        "DBANALYSIS_DATABASE_URL": postgres_database_url,
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DBANALYSIS_KAFKA_TOPIC": unique_name("chaos-tasks"),
        "DBANALYSIS_KAFKA_GROUP": unique_name("chaos-workers"),
        "DBANALYSIS_KAFKA_PARTITIONS": "4",
        "DBANALYSIS_SECRET_KEY": generate_key(),
        "DBANALYSIS_LEASE_SECONDS": "4",
        "DBANALYSIS_MAX_ATTEMPTS": "20",
        "DBANALYSIS_REQUEUE_INTERVAL_SECONDS": "0.5",
        "DBANALYSIS_RELAY_INTERVAL_SECONDS": "0.2",
        "DBANALYSIS_STATISTICS_ENABLED": "false",
        "DBANALYSIS_LOG_FORMAT": "json",
    }
    run_cli(["migrate"], env)
    workers = Workers(env, tmp_path)
    with started("api", ["api", "--port", str(port)], env, tmp_path) as api:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def ready() -> bool:
                api.assert_alive()
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            async def gauge(status: str) -> float:
                text = (await client.get("/metrics")).text
                prefix = f'dbanalysis_tasks{{status="{status}"}} '
                line = next(line for line in text.splitlines() if line.startswith(prefix))
                return float(line.removeprefix(prefix))

            await eventually(ready, within=60, every=0.1, what="the api ready")
            workers.start()
            workers.start()
            try:
                ids = []
                for number in range(TASKS):
                    response = await client.post("/new", json=workload(number))
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["taskid"])

                for kill in range(KILLS):
                    # a worker dies while tasks are being processed, and another takes its place
                    async def processing() -> bool:
                        return await gauge("processing") > 0

                    await eventually(processing, within=120, every=0.02, what=f"kill {kill}")
                    workers.kill_one(rng)
                    workers.start()

                async def all_completed() -> bool:
                    return await gauge("completed") + await gauge("failed") == TASKS

                await eventually(all_completed, within=240, every=0.5, what="every task done")
                statuses = [
                    (await client.get("/status", params={"taskid": task_id})).json()
                    for task_id in ids
                ]
                results = [
                    (await client.get("/getresult", params={"taskid": task_id})).status_code
                    for task_id in ids
                ]
            finally:
                workers.stop_all()

    assert [s["status"] for s in statuses] == ["completed"] * TASKS
    assert results == [200] * TASKS
    assert all(s["attempts"] >= 1 for s in statuses)
    assert any(s["attempts"] >= 2 for s in statuses), "no kill hit a task in the middle"
    completions = workers.completions()
    assert max(completions.values()) == 1, completions.most_common(3)
    assert set(completions) <= set(ids)
    assert sum(completions.values()) >= TASKS - KILLS
