"""Fixtures for the integration tests: the PostgreSQL server and the lab's Trino to run against.

`DBANALYSIS_TEST_DATABASE_URL` names it (`postgresql+asyncpg://user:password@host:port/db`; the
user may create databases); else, with `DBANALYSIS_TEST_USE_TESTCONTAINERS=1` (set by
`scripts/test-services.sh` where a Docker engine answers), a PostgreSQL testcontainer. Without
either the tests are skipped on a developer box, and fail in CI (`CI` set): integration tests
never pass by being silently skipped. The lab's Trino is named by `DBANALYSIS_TEST_TRINO`
(`host:port`), the same way.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from adapters.trino.lab import TrinoLab
from adapters.trino.runner import TrinoRunner
from adapters.trino.statistics import TrinoEndpoint, read_statistics
from bench.shapes import workload as shape_workload
from domain.analysis.names import TableName
from domain.statistics import WorkloadStatistics
from domain.workload import Workload

TEST_DATABASE_URL = "DBANALYSIS_TEST_DATABASE_URL"
TEST_TRINO = "DBANALYSIS_TEST_TRINO"
TESTCONTAINERS_ENV = "DBANALYSIS_TEST_USE_TESTCONTAINERS"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of the test PostgreSQL server: as given, else a testcontainer where Docker runs."""
    url = os.environ.get(TEST_DATABASE_URL)
    if url:
        yield url
        return
    if os.environ.get(TESTCONTAINERS_ENV) == "1":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="asyncpg") as container:
            yield container.get_connection_url()
        return
    reason = f"{TEST_DATABASE_URL} is not set: no PostgreSQL to run the integration tests on"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def postgres_database_url(postgres_url: str) -> AsyncIterator[str]:
    """A URL of a new, empty database on the test server, dropped after the test."""
    server = make_url(postgres_url)
    name = f"dbanalysis_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await _drop_database(admin, name)
        await admin.dispose()


async def _drop_database(admin: AsyncEngine, name: str, seconds: float = 30.0) -> None:
    """Drop a test database, waiting out an autovacuum worker that may be on it.

    WITH (FORCE) ends the other sessions on the database, but a test role may not end an
    autovacuum worker (the bootstrap superuser's, until PostgreSQL 18's
    pg_signal_autovacuum_worker): the drop then fails at once, and succeeds once the worker
    has moved on, within moments. Polled until a deadline; any other error is raised.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError as error:
            if "pg_signal_backend" not in str(error) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
def trino_address() -> tuple[str, int]:
    """The lab's Trino (`host:port` in DBANALYSIS_TEST_TRINO, started by `make test`)."""
    address = os.environ.get(TEST_TRINO)
    if not address:
        reason = f"{TEST_TRINO} is not set: no Trino to run the lab tests on"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    host, _, port = address.rpartition(":")
    return host, int(port)


@pytest.fixture(scope="session")
def trino_https() -> tuple[TrinoEndpoint, str, str]:
    """The lab's HTTPS port, the CA that signed its certificate, and the lab user's password."""
    names = (
        "DBANALYSIS_TEST_TRINO_HTTPS",
        "DBANALYSIS_TEST_TRINO_CA",
        "DBANALYSIS_TEST_TRINO_PASSWORD",
    )
    values = [os.environ.get(name) for name in names]
    if not all(values):
        reason = f"{', '.join(names)} are not set: no TLS Trino to log in to"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    address, ca, password = (v or "" for v in values)
    host, _, port = address.rpartition(":")
    return TrinoEndpoint(host, int(port), https=True), ca, password


LAB_ROWS = 20_000  # rows the lab loads into the largest table of a workload
_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(trino_address: tuple[str, int]) -> Iterator[TrinoLab]:
    """The lab on the test Trino: loads workloads' tables, applies answers."""
    warehouse = Path(
        os.environ.get("DBANALYSIS_TEST_TRINO_WAREHOUSE", _ROOT / "var/trino/warehouse")
    )
    runner = TrinoRunner(*trino_address, session_properties={"query_max_execution_time": "120s"})
    yield TrinoLab(runner, warehouse)
    runner.close()


def session_runner(
    lab: TrinoLab, trino_address: tuple[str, int], workload: Workload, rows: int = LAB_ROWS
) -> TrinoRunner:
    """The workload's tables loaded, and a runner whose session completes its short names."""
    catalog = lab.load(workload, rows).plan.catalog
    assert catalog is not None
    return TrinoRunner(
        *trino_address, catalog=catalog.session.catalog, schema=catalog.session.schema
    )


def loaded_shape(
    lab: TrinoLab, trino_address: tuple[str, int], shape: str
) -> tuple[Workload, TrinoRunner, WorkloadStatistics]:
    """A shape of `bench/shapes.py` loaded in the lab, a runner for its original queries, and
    the statistics the service reads of its tables."""
    workload = Workload.from_dict(shape_workload(shape))
    originals = session_runner(lab, trino_address, workload)
    tables = [TableName.of(*s.statement.split()[2].split(".")) for s in workload.ddl]
    statistics = read_statistics(
        TrinoEndpoint(*trino_address, https=False), tables, user="lab", password=None
    )
    return workload, originals, statistics
