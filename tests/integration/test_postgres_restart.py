"""A real PostgreSQL restarted while tasks are submitted: the api answers 503 with Retry-After
while it is down, serves again by itself once it is up, and every task it accepted (202) is
there afterwards.

The shared PostgreSQL serves other tests, so this test runs a cluster of its own: the server
binaries (Debian keeps them in /usr/lib/postgresql/N/bin, as `scripts/services/postgres.sh`
finds them), a data directory in a temporary directory, a free port, trust authentication on
loopback. Run as root, the cluster belongs to the `postgres` OS user (initdb refuses root).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from adapters.sqlalchemy.migrate import upgrade
from tests.integration.conftest_kafka import eventually, free_port, kafka_bootstrap
from tests.integration.test_storage_outage import api_process
from tests.unit.api.support import a_body

pytestmark = pytest.mark.integration

__all__ = ["kafka_bootstrap"]  # the fixture, imported for pytest


def server_binaries() -> Path | None:
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{directory}/pg_ctl", os.X_OK) and os.access(f"{directory}/initdb", os.X_OK):
            return Path(directory)
    pg_ctl, initdb = shutil.which("pg_ctl"), shutil.which("initdb")
    return Path(pg_ctl).resolve().parent if pg_ctl and initdb else None


class OwnPostgres:
    """A cluster in `base`, on 127.0.0.1:`port`, run by `owner` (None: this user)."""

    def __init__(self, binaries: Path, base: Path, owner: str | None) -> None:
        self.binaries = binaries
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.socket_dir = base / "run"
        self.owner = owner
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self.owner is not None:
            shutil.chown(self.socket_dir, self.owner)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C",
            "--auth=trust",
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (pg_ctl, initdb) on this machine")
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres").pw_name
        except KeyError:
            pytest.skip("run as root and there is no postgres OS user to own a cluster")
    base = Path(tempfile.mkdtemp(prefix="dbanalysis-pg-restart-"))
    if owner is not None:
        shutil.chown(base, owner)
    server = OwnPostgres(binaries, base, owner)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


async def test_a_postgres_restart_loses_no_accepted_task_and_answers_503_meanwhile(
    own_postgres: OwnPostgres, kafka_bootstrap: str, tmp_path: Path
) -> None:
    await upgrade(own_postgres.url)
    async with api_process(own_postgres.url, kafka_bootstrap, tmp_path) as (client, api):
        accepted: list[str] = []
        refused: list[tuple[int, str | None]] = []
        submitting = True

        async def submitter() -> None:
            while submitting:
                response = await client.post("/new", json=a_body())
                if response.status_code == 202:
                    accepted.append(response.json()["taskid"])
                else:
                    refused.append((response.status_code, response.headers.get("retry-after")))
                await asyncio.sleep(0.01)

        # given tasks submitted all along
        submitters = [asyncio.create_task(submitter()) for _ in range(4)]
        try:
            await eventually(lambda: len(accepted) >= 20, within=60, what="20 tasks accepted")

            # when PostgreSQL stops (fast: its connections are cut) ...
            await asyncio.to_thread(own_postgres.stop)
            # then the api refuses with 503 and Retry-After while it is down
            await eventually(lambda: len(refused) >= 5, within=60, what="503s while it is down")
            before_restart = len(accepted)

            # ... and starts again
            await asyncio.to_thread(own_postgres.start)

            # and the api accepts tasks again by itself
            await eventually(
                lambda: len(accepted) >= before_restart + 20,
                within=60,
                what="tasks accepted after the restart",
            )
        finally:
            submitting = False
            await asyncio.gather(*submitters)
        api.assert_alive()

        assert refused, "nothing was refused while the database was down"
        assert {status for status, _ in refused} == {503}, refused[:10]
        assert all(after is not None and int(after) > 0 for _, after in refused)

        # and every task that was accepted is there, once
        assert len(set(accepted)) == len(accepted)
        for task_id in accepted:
            response = await client.get("/status", params={"taskid": task_id})
            assert response.status_code == 200, (task_id, response.text)
    connection = await asyncpg.connect(own_postgres.url.replace("+asyncpg", ""))
    try:
        stored = {
            str(row["id"])
            for row in await connection.fetch(
                "SELECT id FROM tasks WHERE id = ANY($1::uuid[])",
                [uuid.UUID(t) for t in accepted],
            )
        }
    finally:
        await connection.close()
    assert stored == set(accepted)
