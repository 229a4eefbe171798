"""The CPU-bound steps of an analysis run in other processes: the event loop of the process
that serves stays free, stages arrive in order, errors come back, and a dead child costs only
the calls it held."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from adapters.engine.rules_analyzer import RulesAnalyzer
from adapters.process import ProcessPool
from domain.task import Progress
from domain.workload import Credentials, Workload

FLIGHTS = Path(__file__).resolve().parents[3] / "examples" / "flights.json"


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPool]:
    pool = ProcessPool(1)
    try:
        yield pool
    finally:
        pool.close()


# -- what the children run (module-level: they are pickled by name) ---------------------------


def spin(seconds: float) -> int:
    """Holds a CPU for `seconds`."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def stages(count: int, on_stage: Callable[[str, int], None]) -> str:
    for i in range(count):
        on_stage(f"s{i}", i)
    return "done"


def raises_value_error() -> None:
    raise ValueError("the workload says no")


class Picky(Exception):
    def __init__(self, code: int, where: str) -> None:
        super().__init__(f"{code} at {where}")


def raises_unpicklable() -> None:
    raise Picky(7, "there")


def pid() -> int:
    return os.getpid()


def niceness() -> int:
    return os.nice(0)


def dies() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


# -- the tests ---------------------------------------------------------------------------------


async def longest_pause_while(work: asyncio.Future[object]) -> float:
    """The longest the event loop went without running a 5 ms ticker while `work` ran."""
    longest, last = 0.0, time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    await work
    return longest


async def test_a_cpu_bound_call_leaves_the_event_loop_free(pool: ProcessPool) -> None:
    await pool.run(spin, 0.01)  # the child is started and warm
    in_pool = await longest_pause_while(asyncio.ensure_future(pool.run(spin, 1.5)))
    assert in_pool < 0.5  # the machine may be busy; run here, the pause would be 1.5 s


async def test_stages_reach_the_sink_in_order_before_the_result(pool: ProcessPool) -> None:
    seen: list[tuple[str, int]] = []

    async def sink(stage: str, percent: int) -> None:
        await asyncio.sleep(0)  # a sink that stores, slowly
        seen.append((stage, percent))

    assert await pool.run(stages, 50, on_stage=sink) == "done"
    assert seen == [(f"s{i}", i) for i in range(50)]


async def test_a_sink_that_raises_ends_the_call_with_its_error(pool: ProcessPool) -> None:
    class LeaseLost(Exception):
        pass

    async def sink(stage: str, percent: int) -> None:
        raise LeaseLost

    with pytest.raises(LeaseLost):
        await pool.run(stages, 3, on_stage=sink)
    assert await pool.run(spin, 0.0) >= 0  # the pool carries on


async def test_errors_come_back_with_their_type_or_as_a_runtime_error(pool: ProcessPool) -> None:
    with pytest.raises(ValueError, match="the workload says no"):
        await pool.run(raises_value_error)
    with pytest.raises(RuntimeError, match="Picky: 7 at there"):
        await pool.run(raises_unpicklable)
    assert await pool.run(spin, 0.0) >= 0


async def test_a_child_that_dies_fails_its_call_and_the_next_call_gets_a_new_one(
    pool: ProcessPool,
) -> None:
    first = await pool.run(pid)
    with pytest.raises(BrokenProcessPool):
        await pool.run(dies)
    second = await pool.run(pid)
    assert second != first


# A process that owns a pool, prints the pids of its fork server and children, and waits.
OWNER = """
import asyncio, os
from adapters.process import ProcessPool

async def main() -> None:
    pool = ProcessPool(2)
    server = await pool.run(os.getppid)
    print(server, flush=True)
    await asyncio.sleep(3600)

if __name__ == "__main__":
    asyncio.run(main())
"""


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_the_children_end_with_a_parent_killed_by_sigkill() -> None:
    """A worker killed with SIGKILL leaves no analysis process behind, nor its fork server."""
    src = Path(__file__).resolve().parents[3] / "src"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    try:
        assert owner.stdout is not None
        server = int(owner.stdout.readline())
        processes = {server, *_children(server)}
        assert len(processes) == 3  # the fork server and the pool's two children
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in processes if _alive(p)]


async def test_close_stops_a_child_in_the_middle_of_a_long_call() -> None:
    pool = ProcessPool(1)
    running = asyncio.ensure_future(pool.run(spin, 60))
    await asyncio.sleep(0.5)
    pool.close()
    # the child stops at once, not when its 60 s call ends: the deadline
    with pytest.raises(BrokenProcessPool):
        await asyncio.wait_for(running, 10)


async def test_the_children_run_at_the_lower_priority_asked_for() -> None:
    niced = ProcessPool(1, niceness=5)
    try:
        assert await niced.run(niceness) == os.nice(0) + 5
    finally:
        niced.close()


def test_a_niceness_outside_unix_range_is_refused() -> None:
    for wrong in (-1, 20):
        with pytest.raises(ValueError, match="from 0 to 19"):
            ProcessPool(1, niceness=wrong)


async def test_a_cancelled_call_returns_at_once(pool: ProcessPool) -> None:
    running = asyncio.ensure_future(pool.run(spin, 3))
    await asyncio.sleep(0.3)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_the_engine_gives_the_same_result_in_a_child_and_stores_every_stage(
    pool: ProcessPool,
) -> None:
    workload = Workload.from_dict(json.loads(FLIGHTS.read_text()))
    here: list[Progress] = []
    there: list[Progress] = []

    async def on_here(progress: Progress) -> None:
        here.append(progress)

    async def on_there(progress: Progress) -> None:
        there.append(progress)

    in_thread = await RulesAnalyzer("1").analyze(workload, on_here)
    in_child = await RulesAnalyzer("1", pool=pool).analyze(workload, on_there)

    def without_time(result: object) -> dict[str, object]:
        document = result.to_dict()  # type: ignore[attr-defined]
        document["meta"].pop("duration_ms", None)
        return document

    assert without_time(in_child) == without_time(in_thread)
    assert there == here
    assert next(p.stage for p in there) == "parse"


class NoReading:
    """Statistics that say the table is small; keeps the credentials it was given."""

    def __init__(self) -> None:
        self.credentials: list[Credentials | None] = []

    async def read(self, workload: Workload, credentials: Credentials | None) -> object:
        from domain.statistics import WorkloadStatistics

        self.credentials.append(credentials)
        return WorkloadStatistics()


async def test_the_credentials_stay_in_this_process(
    pool: ProcessPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[object] = []
    run = pool.run

    async def spying(fn: object, *args: object, **kwargs: object) -> object:
        sent.append((args, kwargs))
        return await run(fn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pool, "run", spying)
    reader = NoReading()
    login = Credentials("reader", "not-a-real-password")
    raw = Workload.from_dict(json.loads(FLIGHTS.read_text()))
    # as a task holds it: the URL redacted, the login apart
    workload = Workload.from_request(
        "jdbc:trino://trino.example.com:443?catalog=flights&user=reader"
        "&password=not-a-real-password",
        raw.ddl,
        raw.queries,
        raw.options,
    )

    async def ignore(progress: Progress) -> None:
        pass

    result = await RulesAnalyzer("1", reader, pool=pool).analyze(  # type: ignore[arg-type]
        workload, ignore, credentials=login
    )
    assert reader.credentials == [login]
    assert sent
    assert "not-a-real-password" not in repr(sent)
    assert "not-a-real-password" not in json.dumps(dataclasses.asdict(result), default=str)


async def test_the_whole_pipeline_gives_the_same_result_with_its_cpu_work_in_a_child(
    pool: ProcessPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from entrypoints.containers import analyzer_from_settings
    from entrypoints.settings import Settings

    for name in ("OPENAI_API_KEY", "DBANALYSIS_LLM_API_KEY", "DBANALYSIS_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    workload = Workload.from_dict(json.loads(FLIGHTS.read_text()))
    sent: list[str] = []
    run = pool.run

    async def spying(fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        sent.append(fn.__name__)
        return await run(fn, *args, **kwargs)

    monkeypatch.setattr(pool, "run", spying)

    async def ignore(progress: Progress) -> None:
        pass

    here = await analyzer_from_settings(Settings(), "1").analyze(workload, ignore)
    there = await analyzer_from_settings(Settings(), "1", pool).analyze(workload, ignore)

    def without_time(result: object) -> dict[str, object]:
        document = result.to_dict()  # type: ignore[attr-defined]
        document["meta"].pop("duration_ms", None)
        document["meta"].pop("verification_ms", None)
        return document

    assert sent == ["analyze", "verify_result_now"]
    assert there.report.verification.get("executed") is True
    assert without_time(there) == without_time(here)
