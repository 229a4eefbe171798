#!/usr/bin/env python3
"""Readiness probe for the local Kafka broker (used by kafka.sh).

An open TCP port is not enough: a KRaft broker binds its listener before it
has caught up with the metadata log, so we send a real Metadata request and
only report ready once the broker lists itself and knows the active
controller. Stdlib only (the project venv may not exist yet), and polling in
one process is much cheaper than launching a JVM tool per attempt.

Exit codes: 0 ready, 1 deadline passed, 2 the watched --pid exited.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

# Metadata v4 is the oldest version Kafka 4.x still serves (KIP-896) and the
# newest one without "flexible" (tagged-field) encoding, so it stays simple.
_API_METADATA = 3
_METADATA_VERSION = 4


def _metadata_request(correlation_id: int) -> bytes:
    client_id = b"dbanalysis-probe"
    header = (
        struct.pack(">hhih", _API_METADATA, _METADATA_VERSION, correlation_id, len(client_id))
        + client_id
    )
    # topics: empty array (not null: null would mean "all topics"); allow_auto_topic_creation: false
    body = struct.pack(">ib", 0, 0)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        value = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return value


def probe_once(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """One Metadata round trip; returns (ready, human readable detail)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(_metadata_request(correlation_id=1))
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        r = _Reader(_recv_exact(sock, size))
    if r.take(">i") != 1:
        return False, "unexpected correlation id"
    r.take(">i")  # throttle_time_ms
    brokers = []
    for _ in range(r.take(">i")):
        node_id = r.take(">i")
        broker_host = r.string()
        broker_port = r.take(">i")
        r.string()  # rack
        brokers.append(f"{node_id}@{broker_host}:{broker_port}")
    cluster_id = r.string()
    controller_id = r.take(">i")
    if not brokers or controller_id < 0:
        return False, f"brokers={brokers} controller={controller_id}"
    return True, f"cluster_id={cluster_id} brokers={','.join(brokers)} controller={controller_id}"


def _alive(pid: int) -> bool:
    # Not os.kill(pid, 0): a dead broker lingers as a zombie until its adoptive
    # parent reaps it, and a zombie still "exists" for kill().
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="keep polling this many seconds (0: try once)"
    )
    parser.add_argument("--pid", type=int, help="give up early if this process exits")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    detail = "no attempt"
    interval = 0.1
    while True:
        if args.pid is not None and not _alive(args.pid):
            print(f"kafka_probe: process {args.pid} exited", file=sys.stderr)
            return 2
        try:
            ready, detail = probe_once(args.host, args.port, timeout=2.0)
        except (OSError, struct.error, UnicodeDecodeError) as exc:
            ready, detail = False, f"{type(exc).__name__}: {exc}"
        if ready:
            if args.verbose:
                print(detail)
            return 0
        if time.monotonic() >= deadline:
            print(f"kafka_probe: {args.host}:{args.port} not ready ({detail})", file=sys.stderr)
            return 1
        # Back off gently: fast while the JVM boots, never more than 0.5s between polls.
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


if __name__ == "__main__":
    sys.exit(main())
