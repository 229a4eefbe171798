"""Load benchmark of `POST /new` and `GET /status`: the `dbanalysis api` process on real
PostgreSQL + Kafka, side by side in the same run with a bare FastAPI + asyncpg endpoint that only
inserts a row (`bench/bare_app.py`, the practical ceiling here).

    source scripts/test-services.sh   # or set the two variables below yourself
    DBANALYSIS_TEST_DATABASE_URL=postgresql+asyncpg://… DBANALYSIS_TEST_KAFKA_BOOTSTRAP=host:port \\
        .venv/bin/python bench/api_load.py [--seconds 10] [--concurrency 32]

Each server is a process of its own (one uvicorn worker each); a fresh database is made for the
run and dropped after. The load generator is one asyncio process with `concurrency` clients in
a closed loop, each on a keep-alive connection of its own, sending requests encoded once: it
costs little, but it shares the machine's CPUs with the servers, the database and Kafka, so
compare the rows of one run, not a figure with another machine's. Prints requests/s, p50/p99
latency and the server's CPU time per request for each server and each call, and how the api's
outbox relay kept up: the messages accepted and published to Kafka while `POST /new` ran (its
publishing rate, and the backlog left at the end of the run), and how long the backlog then
took to drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
BODY = {
    "url": "jdbc:trino://trino.example.com:443?catalog=lake",
    "ddl": [{"statement": "CREATE TABLE lake.sales.orders (order_id bigint, ts timestamp(6))"}],
    "queries": [
        {
            "queryid": "q1",
            "query": "SELECT order_id FROM lake.sales.orders WHERE ts > DATE '2024-01-01'",
            "runquantity": 100,
            "executiontime": 2.5,
        }
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process `pid` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plain_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def wait_ready(url: str, process: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{url}: the server exited with {process.returncode}")
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} not ready within {within}s")
            await asyncio.sleep(0.1)


@dataclass(frozen=True)
class Call:
    """One request of a load, encoded once: a lean HTTP/1.1 client on keep-alive connections,
    so that the load generator (which shares the machine's CPUs with the servers) costs tens of
    microseconds a request, not the milliseconds of a full client."""

    method: str
    path: str
    body: Any = None

    def encode(self, host: str) -> bytes:
        payload = b"" if self.body is None else json.dumps(self.body).encode()
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: {host}\r\n"
        if self.body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        return (head + "\r\n").encode() + payload


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request, read its whole answer: (status, the server keeps the connection)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def load(
    call: Call,
    base_url: str,
    seconds: float,
    concurrency: int,
    expect: int,
) -> dict[str, float]:
    """`concurrency` clients in a closed loop for `seconds`, each on a connection of its own."""
    address = urlsplit(base_url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    request = call.encode(f"{host}:{port}")
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def one_client() -> None:
        nonlocal errors
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            try:
                status, keep = await _exchange(*connection, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                status, keep = 0, False
            latencies.append(time.perf_counter() - started)
            if status != expect:
                errors += 1
            if not keep:
                connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    started = time.monotonic()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "errors": errors,
        "requests": len(ordered),
    }


async def admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(plain_url(server_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def drop_database(server_url: str, name: str, seconds: float = 30.0) -> None:
    """Drops the run's database. FORCE ends the sessions still on it, but not one of another
    role (an autovacuum worker of the superuser's): that refusal is tried again until it ends."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def bench(args: argparse.Namespace) -> None:
    server_url = os.environ["DBANALYSIS_TEST_DATABASE_URL"]
    bootstrap = os.environ["DBANALYSIS_TEST_KAFKA_BOOTSTRAP"]
    name = f"dbanalysis_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin(server_url, f'CREATE DATABASE "{name}"'))
    database_url = server_url.rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        "DBANALYSIS_DATABASE_URL": database_url,
        "DBANALYSIS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DBANALYSIS_KAFKA_TOPIC": f"bench-{uuid.uuid4().hex[:10]}",
        "DBANALYSIS_SECRET_KEY": "UvUYcj5C0bCiTfXiLO8CuJH1fS5Q8rRmUdZmdV4aeDA=",
        "DBANALYSIS_LOG_LEVEL": args.log_level,
        "BARE_DATABASE_URL": plain_url(database_url),
        "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), str(ROOT))),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([sys.executable, "-m", "entrypoints.cli", "migrate"], env=env, check=True)
        api_port, bare_port = free_port(), free_port()
        commands = [
            [sys.executable, "-m", "entrypoints.cli", "api", "--port", str(api_port)],
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(bare_port)],
        ]
        for command in commands:
            processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        servers = {
            "dbanalysis api": (f"http://127.0.0.1:{api_port}", "/health/ready"),
            "bare FastAPI + asyncpg": (f"http://127.0.0.1:{bare_port}", "/docs"),
        }
        rows, relay = asyncio.run(measure(servers, processes, plain_url(database_url), args))
        report(rows, relay, args)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        asyncio.run(drop_database(server_url, name))


@dataclass
class RelayFigures:
    """The api's outbox while `POST /new` ran: messages accepted and published to Kafka, the
    backlog left at the end of the run, and the seconds it then took to publish it."""

    accepted: int = 0
    published: int = 0
    backlog: int = 0
    seconds: float = 0.0
    drain_s: float | None = None


async def outbox_counts(database_url: str) -> tuple[int, int]:
    """The api's outbox: (messages accepted, messages published to Kafka)."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow("SELECT count(*), count(published_at) FROM outbox")
    finally:
        await connection.close()
    return int(row[0]), int(row[1])


async def drained_after(database_url: str, within: float) -> float | None:
    """Seconds until the relay has published every accepted message; None past `within`."""
    started = time.monotonic()
    while True:
        accepted, published = await outbox_counts(database_url)
        if published >= accepted:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            return None
        await asyncio.sleep(0.05)


async def measure(
    servers: dict[str, tuple[str, str]],
    processes: list[subprocess.Popen[bytes]],
    api_database_url: str,
    args: argparse.Namespace,
) -> tuple[list[tuple[str, str, dict[str, float]]], RelayFigures]:
    for (base, ready), process in zip(servers.values(), processes, strict=True):
        await wait_ready(base + ready, process)
    rows: list[tuple[str, str, dict[str, float]]] = []
    relay = RelayFigures()
    for (label, (base, _)), process in zip(servers.items(), processes, strict=True):
        async with httpx.AsyncClient(base_url=base) as client:
            seeded = (await client.post("/new", json=BODY)).json()["taskid"]

        post = Call("POST", "/new", BODY)
        get = Call("GET", f"/status?taskid={seeded}")
        await load(post, base, 2, args.concurrency, 202)  # warm-up
        is_api = label == "dbanalysis api"
        if is_api:
            # the warm-up's messages first, so that the run starts with no backlog
            await drained_after(api_database_url, 60)
        for call, function, expect in (("POST /new", post, 202), ("GET /status", get, 200)):
            if is_api and call == "POST /new":
                accepted_before, published_before = await outbox_counts(api_database_url)
            before = cpu_seconds(process.pid)
            figures = await load(function, base, args.seconds, args.concurrency, expect)
            figures["cpu_ms"] = (cpu_seconds(process.pid) - before) * 1000 / figures["requests"]
            rows.append((label, call, figures))
            if is_api and call == "POST /new":
                accepted, published = await outbox_counts(api_database_url)
                relay = RelayFigures(
                    accepted=accepted - accepted_before,
                    published=published - published_before,
                    backlog=accepted - published,
                    seconds=args.seconds,
                    drain_s=await drained_after(api_database_url, 120),
                )
    return rows, relay


def report(
    rows: list[tuple[str, str, dict[str, Any]]],
    relay: RelayFigures,
    args: argparse.Namespace,
) -> None:
    print(
        f"\n{args.seconds:.0f} s per case, {args.concurrency} concurrent clients, "
        f"{os.cpu_count()} CPUs, api log level {args.log_level}\n"
    )
    print(
        f"{'server':<24} {'call':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'CPU ms/req':>11}"
    )
    for label, call, figures in rows:
        print(
            f"{label:<24} {call:<12} {figures['rps']:>8.0f} {figures['p50_ms']:>8.1f} "
            f"{figures['p99_ms']:>8.1f} {figures['errors']:>7} {figures['cpu_ms']:>11.2f}"
        )
    by = {(label, call): figures["rps"] for label, call, figures in rows}
    for call in ("POST /new", "GET /status"):
        ratio = by[("dbanalysis api", call)] / by[("bare FastAPI + asyncpg", call)]
        print(f"{call}: the api does {ratio:.2f} × the bare endpoint's throughput")
    drain, seconds = relay.drain_s, relay.seconds
    print(
        f"outbox relay during POST /new: {relay.accepted} accepted "
        f"({relay.accepted / seconds:.0f}/s), {relay.published} published to Kafka "
        f"({relay.published / seconds:.0f}/s); {relay.backlog} left at the end of the run, "
        + (f"published {drain:.1f} s later" if drain is not None else "not drained in 120 s")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--log-level", default="WARNING", help="the api's DBANALYSIS_LOG_LEVEL")
    bench(parser.parse_args())


if __name__ == "__main__":
    main()
