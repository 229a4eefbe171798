"""The credentials on PostgreSQL, end to end: submitted through the API, they are found nowhere
in the tasks and outbox tables, the secrets table holds only ciphertext, the worker hands them
to the analyzer, and once the task has completed their row is gone."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import SystemClock
from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.fernet import FernetCredentialsCipher
from adapters.memory.function_analyzer import FunctionAnalyzer
from adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine
from adapters.sqlalchemy.migrate import upgrade
from application.ports.analyzer import ProgressSink
from application.use_cases.get_task_result import GetTaskResult
from application.use_cases.get_task_status import GetTaskStatus
from application.use_cases.process_task import ProcessOutcome, ProcessTask, ProcessTaskRequest
from application.use_cases.submit_task import SubmitTask
from domain.result import AnalysisResult
from domain.workload import Workload
from entrypoints.api.app import ApiDependencies, create_app

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(postgres_database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade(postgres_database_url)
    engine = create_engine(postgres_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def api_client(uow_factory: SqlAlchemyUnitOfWorkFactory) -> AsyncIterator[httpx.AsyncClient]:
    clock = SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.deps = ApiDependencies(
            submit=SubmitTask(uow_factory, clock),
            get_status=GetTaskStatus(uow_factory),
            get_result=GetTaskResult(uow_factory),
        )
        yield

    app = create_app(lifespan, version="test")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def a_body(marker: str) -> dict[str, Any]:
    return {
        "url": (
            f"jdbc:trino://user-{marker}:{marker}@trino.example.com:8443/lake"
            f"?user=user-{marker}&password={marker}&accessToken=token-{marker}&SSL=true"
        ),
        "ddl": [{"statement": "CREATE TABLE lake.sales.orders (order_id bigint, ts timestamp)"}],
        "queries": [
            {
                "queryid": "q1",
                "query": "SELECT order_id FROM lake.sales.orders WHERE ts >= DATE '2024-01-01'",
                "runquantity": 100,
                "executiontime": 3.5,
            }
        ],
    }


async def rows_as_text(engine: AsyncEngine, table: str) -> list[str]:
    async with engine.connect() as connection:
        result = await connection.execute(text(f"SELECT row_to_json(t)::text FROM {table} t"))
        return list(result.scalars())


async def test_submitted_credentials_are_kept_as_ciphertext_only_and_deleted_on_completion(
    engine: AsyncEngine,
) -> None:
    # given the API on PostgreSQL, and a password no other text contains
    uow_factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    marker = f"pw{uuid.uuid4().hex}"

    # when a workload whose URL carries it is submitted
    async with api_client(uow_factory) as client:
        response = await client.post("/new", json=a_body(marker))
        assert response.status_code == 202, response.text
        task_id = uuid.UUID(response.json()["taskid"])

        # then neither the tasks nor the outbox table holds any part of the credentials
        [task_row] = await rows_as_text(engine, "tasks")
        [outbox_row] = await rows_as_text(engine, "outbox")
        for row in (task_row, outbox_row):
            assert str(task_id) in row
            assert marker not in row
        assert "trino.example.com:8443/lake?SSL=true" in task_row
        # and the secrets table holds one row of ciphertext, in which they cannot be found
        [secret_row] = await rows_as_text(engine, "task_secrets")
        assert marker not in secret_row
        assert marker.encode().hex() not in secret_row
        async with engine.connect() as connection:
            [(stored_id, ciphertext)] = (
                await connection.execute(text("SELECT task_id, ciphertext FROM task_secrets"))
            ).all()
        assert stored_id == task_id
        assert marker.encode() not in bytes(ciphertext)

        # when a worker processes the task
        async def rules(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
            return await RulesAnalyzer("test").analyze(workload, on_progress)

        analyzer = FunctionAnalyzer(rules)
        outcome = await ProcessTask(uow_factory, analyzer, SystemClock()).execute(
            ProcessTaskRequest(task_id)
        )

        # then the analyzer got the credentials, decrypted
        assert outcome is ProcessOutcome.COMPLETED
        [credentials] = analyzer.credentials
        assert credentials is not None
        assert (credentials.user, credentials.password) == (f"user-{marker}", marker)
        assert credentials.parameters == (("accessToken", f"token-{marker}"),)
        # and once the task completed, the secret's row is gone
        assert await rows_as_text(engine, "task_secrets") == []
        # and neither the stored result nor the API's answers hold the credentials
        [task_row] = await rows_as_text(engine, "tasks")
        assert '"status":"completed"' in task_row
        assert marker not in task_row
        for path in ("/status", "/getresult"):
            answer = await client.get(path, params={"taskid": str(task_id)})
            assert answer.status_code == 200, answer.text
            assert marker not in answer.text


async def test_a_failed_task_loses_its_credentials_and_its_error_does_not_quote_them(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # given a task submitted with a unique password, and an analysis that fails quoting it
    uow_factory = SqlAlchemyUnitOfWorkFactory(engine, FernetCredentialsCipher.with_new_key())
    marker = f"pw{uuid.uuid4().hex}"
    async with api_client(uow_factory) as client:
        response = await client.post("/new", json=a_body(marker))
        assert response.status_code == 202, response.text
        task_id = uuid.UUID(response.json()["taskid"])
        assert len(await rows_as_text(engine, "task_secrets")) == 1

        async def reject(workload: Workload, on_progress: ProgressSink) -> AnalysisResult:
            raise ValueError(f"login as user-{marker} with {marker} refused")

        # when a worker processes it
        with caplog.at_level(logging.DEBUG):
            outcome = await ProcessTask(
                uow_factory, FunctionAnalyzer(reject), SystemClock()
            ).execute(ProcessTaskRequest(task_id))

        # then it failed, the secret's row is gone, and no row, log or answer holds the marker
        assert outcome is ProcessOutcome.FAILED
        assert await rows_as_text(engine, "task_secrets") == []
        [task_row] = await rows_as_text(engine, "tasks")
        assert '"status":"failed"' in task_row
        assert "refused" in task_row
        assert marker not in task_row
        assert marker not in caplog.text
        answer = await client.get("/status", params={"taskid": str(task_id)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "failed"
        assert marker not in answer.text
