"""Leases and recovery with real processes: a worker killed (SIGKILL) in the middle of a task
leaves it `processing`; once its lease expires another worker takes it over, on a new attempt,
and completes it exactly once.

The task is held in the middle by the LLM: an OpenAI-compatible stub whose first answer never
comes in time. Later calls fail at once, and the engine's answer is kept (the LLM only refines).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.fernet import generate_key
from tests.integration.conftest_kafka import eventually, free_port, kafka_bootstrap, unique_name
from tests.integration.openai_stub import OpenAIStub, StubReply, error
from tests.integration.processes import CLI, run_cli, started

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "flights.json"
LEASE_SECONDS = 4


def hang_first_then_fail(request: dict[str, Any], number: int) -> StubReply:
    if number == 0:
        return StubReply(delay=120.0, body={})
    return error(500)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(hang_first_then_fail) as server:
        yield server


def stack_env(database_url: str, bootstrap: str, stub: OpenAIStub) -> dict[str, str]:
    return {
        "DBANALYSIS_DATABASE_URL": database_url,
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DBANALYSIS_KAFKA_TOPIC": unique_name("recovery-tasks"),
        "DBANALYSIS_KAFKA_GROUP": unique_name("recovery-workers"),
        "DBANALYSIS_KAFKA_PARTITIONS": "1",
        "DBANALYSIS_SECRET_KEY": generate_key(),
        "DBANALYSIS_LEASE_SECONDS": str(LEASE_SECONDS),
        "DBANALYSIS_REQUEUE_INTERVAL_SECONDS": "0.5",
        "DBANALYSIS_RELAY_INTERVAL_SECONDS": "0.2",
        "DBANALYSIS_LLM_BASE_URL": stub.base_url,
        "DBANALYSIS_LLM_API_KEY": "test-key",
        "DBANALYSIS_LLM_MAX_RETRIES": "0",
        "DBANALYSIS_LLM_TIMEOUT_SECONDS": "300",
        "DBANALYSIS_LLM_BUDGET_SECONDS": "300",
        "DBANALYSIS_STATISTICS_ENABLED": "false",
        "DBANALYSIS_LOG_FORMAT": "json",
    }


async def test_a_killed_workers_task_is_taken_over_after_its_lease_and_completed_once(
    postgres_database_url: str, kafka_bootstrap: str, stub: OpenAIStub, tmp_path: Path
) -> None:
    port = free_port()
    env = stack_env(postgres_database_url, kafka_bootstrap, stub)
    run_cli(["migrate"], env)
    body = json.loads(EXAMPLE.read_text())
    with started("api", ["api", "--port", str(port)], env, tmp_path) as api:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def ready() -> bool:
                api.assert_alive()
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=60, every=0.1, what="the api ready")

            async def status(task_id: str) -> dict[str, Any]:
                response = await client.get("/status", params={"taskid": task_id})
                assert response.status_code == 200, response.text
                document: dict[str, Any] = response.json()
                return document

            # given a worker in the middle of a task (waiting on the LLM)
            doomed = _spawn_worker(env, tmp_path / "doomed-worker.log")
            try:
                accepted = await client.post("/new", json=body)
                assert accepted.status_code == 202, accepted.text
                task_id = accepted.json()["taskid"]
                await eventually(
                    lambda: len(stub.requests) == 1, within=90, what="the first LLM call"
                )
                assert (await status(task_id))["status"] == "processing"
            finally:
                # when it is killed, with no chance to hand anything back
                doomed.kill()
                doomed.wait(30)

            # then another worker takes the task over once the lease has expired
            metrics_port = free_port()
            second = {**env, "DBANALYSIS_WORKER_METRICS_PORT": str(metrics_port)}
            with started("worker", ["worker"], second, tmp_path) as worker:

                async def finished() -> bool:
                    worker.assert_alive()
                    return (await status(task_id))["status"] in {"completed", "failed"}

                await eventually(finished, within=120, every=0.2, what="the task finished")
                final = await status(task_id)
                result = await client.get("/getresult", params={"taskid": task_id})

                # and its own /metrics tell how long the analysis, its stages and the LLM
                # took, and how much is left on its partitions
                metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
                scraped = ""

                async def lag_gauged() -> bool:
                    nonlocal scraped
                    scraped = (await client.get(metrics_url)).text
                    return "dbanalysis_consumer_lag{" in scraped

                await eventually(lag_gauged, within=30, every=0.5, what="the lag gauged")

    # and completes it exactly once, on its second attempt, with the engine's answer
    assert final["status"] == "completed", final
    assert final["attempts"] == 2
    assert result.status_code == 200
    assert len(stub.requests) == 2  # one LLM call per attempt: the task ran twice, no more
    assert 'dbanalysis_analysis_duration_seconds_count{outcome="ok"} 1.0' in scraped
    assert "dbanalysis_stage_duration_seconds_count{stage=" in scraped
    assert "dbanalysis_llm_request_duration_seconds_count{outcome=" in scraped
    records = [json.loads(line) for line in worker.output().splitlines() if line.strip()]
    assert any(r.get("task_id") == task_id for r in records)


def _spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [*CLI, "worker"], env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )


def slow_then_fail(request: dict[str, Any], number: int) -> StubReply:
    return dataclasses.replace(error(500), delay=6.0 if number == 0 else 0.0)


async def test_sigterm_lets_the_worker_finish_the_task_in_hand_then_exit_cleanly(
    postgres_database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    with OpenAIStub(slow_then_fail) as stub:
        env = stack_env(postgres_database_url, kafka_bootstrap, stub)
        env["DBANALYSIS_LEASE_SECONDS"] = "120"  # no takeover: this worker must finish it
        run_cli(["migrate"], env)
        with started("api", ["api", "--port", str(port)], env, tmp_path):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

                async def ready() -> bool:
                    try:
                        return (await client.get("/health/ready")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(ready, within=60, every=0.1, what="the api ready")
                worker = _spawn_worker(env, tmp_path / "worker.log")
                try:
                    # given a worker in the middle of a task (its LLM call takes 6 s)
                    accepted = await client.post("/new", json=json.loads(EXAMPLE.read_text()))
                    task_id = accepted.json()["taskid"]
                    await eventually(
                        lambda: len(stub.requests) == 1, within=90, what="the LLM call"
                    )

                    # when it is asked to stop
                    worker.send_signal(signal.SIGTERM)
                    code = await asyncio.to_thread(worker.wait, 60)
                finally:
                    if worker.poll() is None:
                        worker.kill()
                        worker.wait(30)
                final = (await client.get("/status", params={"taskid": task_id})).json()

    # then it finished the task first, on its one attempt, and exited cleanly
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert final["status"] == "completed", final
    assert final["attempts"] == 1
    assert len(stub.requests) == 1
