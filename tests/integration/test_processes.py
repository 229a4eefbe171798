"""The production stack for real: `dbanalysis api` and `dbanalysis worker` as separate processes
on PostgreSQL and Apache Kafka. Nothing accepted is lost; every message is processed once."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from adapters.fernet import generate_key
from domain.result import AnalysisResult
from entrypoints.api.schemas import NewTaskRequest
from tests.integration.conftest_kafka import (
    PrivateBroker,
    committed_offsets,
    eventually,
    free_port,
    kafka_bootstrap,
    read_topic,
    unique_name,
)
from tests.integration.processes import Process, run_cli, started, wait_until_healthy
from tests.unit.analysis.contract import assert_result_obeys_contract

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


@dataclass
class Stack:
    base_url: str
    bootstrap: str
    topic: str
    group: str
    api: Process
    worker: Process
    client: httpx.AsyncClient

    async def submit(self, body: dict[str, Any]) -> uuid.UUID:
        response = await self.client.post("/new", json=body)
        assert response.status_code == 202, response.text
        return uuid.UUID(response.json()["taskid"])

    async def status(self, task_id: uuid.UUID) -> dict[str, Any]:
        response = await self.client.get("/status", params={"taskid": str(task_id)})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_completed(self, task_id: uuid.UUID, within: float = 90.0) -> dict[str, Any]:
        async def done() -> bool:
            self.api.assert_alive()
            self.worker.assert_alive()
            return (await self.status(task_id))["status"] in {"completed", "failed"}

        await eventually(done, within=within, every=0.1, what=f"task {task_id} finished")
        status = await self.status(task_id)
        assert status["status"] == "completed", (status, self.worker.output()[-3000:])
        return status

    async def result(self, task_id: uuid.UUID) -> dict[str, Any]:
        response = await self.client.get("/getresult", params={"taskid": str(task_id)})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str, bootstrap: str, logs: Path, extra_env: Mapping[str, str] | None = None
) -> AsyncIterator[Stack]:
    """Migrate, then run `dbanalysis api` and `dbanalysis worker` against `bootstrap` (with
    `extra_env` added to both processes' environment)."""
    port = free_port()
    topic, group = unique_name("tasks"), unique_name("workers")
    env = {
        "DBANALYSIS_DATABASE_URL": database_url,
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DBANALYSIS_KAFKA_TOPIC": topic,
        "DBANALYSIS_KAFKA_GROUP": group,
        "DBANALYSIS_KAFKA_PARTITIONS": "3",
        "DBANALYSIS_RELAY_INTERVAL_SECONDS": "0.2",
        "DBANALYSIS_REQUEUE_INTERVAL_SECONDS": "1",
        # api and worker refuse to start without a key, and must share it.
        "DBANALYSIS_SECRET_KEY": generate_key(),
        **(extra_env or {}),
    }
    run_cli(["migrate"], env)
    base_url = f"http://127.0.0.1:{port}"
    with (
        started("api", ["api", "--port", str(port)], env, logs) as api,
        started("worker", ["worker"], env, logs) as worker,
    ):
        wait_until_healthy(base_url, api)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            yield Stack(base_url, bootstrap, topic, group, api, worker, client)


@pytest.fixture
async def stack(
    postgres_database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with running_stack(postgres_database_url, kafka_bootstrap, tmp_path) as running:
        yield running


def load_example(path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(path.read_text())
    return body


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
async def test_each_example_workload_completes_with_a_valid_result(
    stack: Stack, example: Path
) -> None:
    body = load_example(example)

    task_id = await stack.submit(body)
    status = await stack.wait_completed(task_id)
    result = await stack.result(task_id)

    assert status["attempts"] == 1
    workload = NewTaskRequest.model_validate(body).to_workload()
    assert_result_obeys_contract(
        workload, AnalysisResult.from_dict(result), original_url=body["url"]
    )


async def test_a_redelivered_message_is_processed_once(stack: Stack) -> None:
    task_id = await stack.submit(load_example(EXAMPLES[0]))
    first = await stack.wait_completed(task_id)

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(
                stack.topic,
                json.dumps({"taskid": str(task_id)}).encode(),
                key=str(task_id).encode(),
            )
    finally:
        await producer.stop()
    await _wait_until_group_caught_up(stack)

    again = await stack.status(task_id)
    assert again["attempts"] == 1
    assert again["updated_at"] == first["updated_at"]


async def test_a_garbage_message_goes_to_the_dlq_and_the_worker_keeps_serving(
    stack: Stack,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(stack.topic, b"\x00 definitely not a task id")
    finally:
        await producer.stop()

    [dead] = await read_topic(stack.bootstrap, f"{stack.topic}.dlq", 1, within=60)
    assert dead.value == b"\x00 definitely not a task id"

    task_id = await stack.submit(load_example(EXAMPLES[-1]))
    await stack.wait_completed(task_id)


async def test_tasks_submitted_while_kafka_is_down_all_complete_once_it_is_back(
    postgres_database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # A broker of this test's own: stopping the shared one would disturb other tests.
    broker = PrivateBroker(tmp_path / "broker")
    await broker.start()
    try:
        async with running_stack(postgres_database_url, broker.bootstrap, tmp_path) as stack:
            body = load_example(EXAMPLES[0])
            await broker.stop()
            task_ids = [await stack.submit(body) for _ in range(20)]
            assert {(await stack.status(t))["status"] for t in task_ids} == {"pending"}

            await broker.start()

            for task_id in task_ids:
                await stack.wait_completed(task_id, within=180)
    finally:
        await broker.stop()


async def _wait_until_group_caught_up(stack: Stack) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    probe = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap)
    await probe.start()
    try:
        partitions = [
            TopicPartition(stack.topic, p) for p in probe.partitions_for_topic(stack.topic) or ()
        ]
        if not partitions:
            await probe.topics()
            partitions = [
                TopicPartition(stack.topic, p)
                for p in probe.partitions_for_topic(stack.topic) or ()
            ]
        ends = await probe.end_offsets(partitions)
    finally:
        await probe.stop()

    async def caught_up() -> bool:
        committed = await committed_offsets(stack.bootstrap, stack.group)
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())

    await eventually(caught_up, within=60, every=0.2, what="the worker group caught up")
