"""Run `dbanalysis api` / `dbanalysis worker` as real processes for the integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

__all__ = ["Process", "run_cli", "started"]

CLI = [sys.executable, "-m", "entrypoints.cli"]


class Process:
    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def assert_alive(self) -> None:
        if self.popen.poll() is not None:
            raise AssertionError(
                f"{self.name} exited with {self.popen.returncode}:\n{self.output()}"
            )

    def terminate(self, within: float = 60.0) -> int:
        """SIGTERM, then wait for a clean exit (SIGKILL after `within` seconds)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(within)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120.0) -> None:
    completed = subprocess.run(
        [*CLI, *args], env={**os.environ, **env}, capture_output=True, timeout=timeout, check=False
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")


@contextlib.contextmanager
def started(name: str, args: list[str], env: dict[str, str], logs: Path) -> Iterator[Process]:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [*CLI, *args], env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
    process = Process(name, popen, log)
    try:
        yield process
    finally:
        code = process.terminate()
        # uvicorn re-raises the SIGTERM it handled once shut down, so -SIGTERM is a clean exit
        # too; a crash, a timeout (SIGKILL) or an error code is a shutdown bug worth seeing.
        assert code in (0, -signal.SIGTERM), (
            f"{name} did not stop cleanly ({code}):\n{process.output()[-4000:]}"
        )


def wait_until_healthy(base_url: str, process: Process, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while True:
        process.assert_alive()
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{process.name} not healthy within {within}s:\n{process.output()}"
            )
        time.sleep(0.1)
