"""The credentials through the real production stack: `dbanalysis api` and `dbanalysis worker`
as processes on PostgreSQL and Apache Kafka, an LLM behind an OpenAI-compatible server, and the
lab's Trino over HTTPS with a password.

Tasks whose JDBC URL carries a unique password marker meet every kind of trouble reading
statistics — a wrong password, a closed port, a server that never answers — and one with the
right password asks for a table that does not exist. Each task completes, with a finding that
says what could not be read and why; and the marker is found nowhere: not in the database
(tasks, outbox, and the secrets table once the tasks are done), not in the processes' logs,
not in the Kafka messages, not in what the LLM was sent, not in the results.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.trino.statistics import TrinoEndpoint
from tests.integration.conftest_kafka import free_port, kafka_bootstrap, read_topic
from tests.integration.openai_stub import OpenAIStub, answer
from tests.integration.test_processes import running_stack

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest

DDL = "CREATE TABLE tpch.nowhere.orders_missing (order_id bigint, ts timestamp, status varchar)"
QUERIES = [
    {
        "queryid": "by-status",
        "query": "SELECT status, count(*) FROM tpch.nowhere.orders_missing "
        "WHERE ts >= TIMESTAMP '2024-01-01 00:00:00' GROUP BY status",
        "runquantity": 500,
        "executiontime": 12.0,
    },
    {
        "queryid": "lookup",
        "query": "SELECT * FROM tpch.nowhere.orders_missing WHERE order_id = 42",
        "runquantity": 2000,
        "executiontime": 3.0,
    },
]


def a_body(host: str, port: int, user: str, password: str) -> dict[str, Any]:
    return {
        "url": f"jdbc:trino://{host}:{port}/tpch/nowhere?user={user}&password={password}&SSL=true",
        "ddl": [{"statement": DDL}],
        "queries": QUERIES,
    }


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose socket accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield silent.getsockname()[1]


def problems_of(result: dict[str, Any]) -> str:
    findings = [f for f in result["report"]["findings"] if f["code"] == "statistics_missing"]
    assert findings, [f["code"] for f in result["report"]["findings"]]
    return " ".join(" ".join(f["details"].get("problems", [])) for f in findings)


def forms_of(user: str, marker: str) -> list[str]:
    """The marker as it could leak: plain, hex, and inside a Basic authorization header."""
    basic = base64.b64encode(f"{user}:{marker}".encode()).decode()
    return [marker, marker.encode().hex(), basic]


async def database_rows(database_url: str) -> dict[str, list[str]]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            found: dict[str, list[str]] = {}
            for table in list(tables):
                rows = await connection.execute(
                    text(f'SELECT row_to_json(t)::text FROM "{table}" t')
                )
                found[table] = list(rows.scalars())
            return found
    finally:
        await engine.dispose()


async def test_a_password_is_found_nowhere_whatever_goes_wrong_reading_statistics(
    postgres_database_url: str,
    kafka_bootstrap: str,
    tmp_path: Path,
    trino_https: tuple[TrinoEndpoint, str, str],
    silent_port: int,
) -> None:
    # given the stack, an LLM that is asked, and the lab's Trino over TLS
    lab, ca, lab_password = trino_https
    marker = f"pw{uuid.uuid4().hex}"
    bodies = {
        "wrong password": a_body(lab.host, lab.port, "lab", marker),
        "closed port": a_body("127.0.0.1", free_port(), "lab", marker),
        "never answers": a_body("127.0.0.1", silent_port, "lab", marker),
        "missing table": a_body(lab.host, lab.port, "lab", lab_password),
    }
    expected = {
        "wrong password": "login was refused",
        "closed port": "could not be reached",
        "never answers": "did not answer in time",
        "missing table": "orders_missing",
    }
    settings = {
        "DBANALYSIS_TRINO_CA_BUNDLE": ca,
        "DBANALYSIS_STATISTICS_STATEMENT_SECONDS": "15",
        "DBANALYSIS_STATISTICS_BUDGET_SECONDS": "30",
        "DBANALYSIS_LOG_LEVEL": "DEBUG",
        "DBANALYSIS_LLM_API_KEY": "test-key",
        "DBANALYSIS_LLM_MODEL": "stub-model",
    }
    with OpenAIStub(lambda request, _: answer(request, {})) as llm:
        settings["DBANALYSIS_LLM_BASE_URL"] = llm.base_url
        async with running_stack(
            postgres_database_url, kafka_bootstrap, tmp_path, settings
        ) as stack:
            # when a task is submitted for each kind of trouble
            tasks = {case: await stack.submit(body) for case, body in bodies.items()}

            # then each completes, with a finding that says what could not be read and why
            results: dict[str, dict[str, Any]] = {}
            for case, task_id in tasks.items():
                await stack.wait_completed(task_id, within=120.0)
                results[case] = await stack.result(task_id)
                assert expected[case] in problems_of(results[case]), case
            messages = await read_topic(stack.bootstrap, stack.topic, len(tasks))
            logs = stack.api.output() + stack.worker.output()
        sent = [request.raw for request in llm.requests]

    # and the LLM was asked, the rows were stored, the messages sent: there was something to
    # search, and the secrets table is empty now that the tasks are done
    assert len(sent) >= len(tasks)
    rows = await database_rows(postgres_database_url)
    assert len(rows["tasks"]) == len(tasks)
    assert rows["task_secrets"] == []
    assert len(messages) >= len(tasks)
    assert all(str(task_id) in logs for task_id in tasks.values())  # the logs speak of them
    # and the marker, in any form, is found nowhere
    places = {
        "results": json.dumps(results),
        "database": json.dumps(rows),
        "logs": logs,
        "kafka": json.dumps([repr(m.value) + repr(m.key) for m in messages]),
        "llm requests": "\n".join(sent),
    }
    for form in forms_of("lab", marker):
        leaks = [place for place, content in places.items() if form in content]
        assert leaks == [], f"{form!r} found in {leaks}"
    # nor the lab's real password, which only reached Trino
    assert [p for p, content in places.items() if lab_password in content] == []
