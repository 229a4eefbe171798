"""Benchmark of the analysis engine: tables × queries → seconds and peak memory, against the
time sqlglot alone takes to parse the same statements (the parse floor).

    uv run python bench/bench_engine.py                   # 10/100/1,000 tables × 100/1,000/10,000
    uv run python bench/bench_engine.py --quick           # the small cases only
    uv run python bench/bench_engine.py --workload W.json # any workload (the body of POST /new)
    uv run python bench/bench_engine.py --workload W.json --repeat 5

Each case runs in its own subprocess, so that peak memory (ru_maxrss) is the case's own, and
its parse floor in another: `sqlglot.parse_one(statement, read="trino")` of every DDL statement
and every query, once each, and nothing else. The CPU time of each is shown beside its wall
time: on a busy machine it is the steadier of the two, and the ratio (the analysis's CPU time
over the floor's) is taken from it. Even CPU time varies by a fifth from run to run on a shared
virtual machine, and the machine's speed drifts between runs; `--repeat N` runs the analysis
and the floor N times each, in turn, and shows the least of each (the run least disturbed) and
the median of the N ratios, each the analysis over the floor run just after it (two runs close
in time see the same machine), with their range.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = [(t, q) for t in (10, 100, 1000) for q in (100, 1000, 10000)]
QUICK = [(t, q) for t in (10, 100) for q in (100, 1000)]

if __package__ in (None, ""):
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from domain.workload import Workload  # noqa: E402


def load_workload(case: str) -> Workload:
    """A generated workload (`TABLES,QUERIES`) or a workload file, as the service takes it."""
    if "," in case and not Path(case).exists():
        from bench.generate import workload

        tables, queries = (int(n) for n in case.split(","))
        return workload(tables, queries)
    raw = Workload.from_dict(json.loads(Path(case).read_text(encoding="utf-8")))
    return Workload.from_request(raw.url, raw.ddl, raw.queries, raw.options)


def run_case(case: str) -> dict[str, float]:
    """Time `analyze` alone on the case's workload; peak RSS of this process."""
    from domain.analysis import analyze

    load = load_workload(case)
    start, cpu = time.perf_counter(), time.process_time()
    result = analyze(load)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(result.queries) == len(load.queries)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "tables": len(load.ddl),
        "queries": len(load.queries),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mib": peak_mib,
    }


def parse_floor(case: str) -> dict[str, float]:
    """Time sqlglot parsing every DDL statement and query once (Trino), nothing else."""
    import sqlglot

    load = load_workload(case)
    statements = [d.statement for d in load.ddl] + [q.query for q in load.queries]
    start, cpu = time.perf_counter(), time.process_time()
    for statement in statements:
        sqlglot.parse_one(statement, read="trino")
    return {"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def _subprocess(flag: str, case: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, flag, case], check=True, capture_output=True, text=True
    ).stdout
    row: dict[str, float] = json.loads(out)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument(
        "--workload", type=Path, action="append", help="a workload JSON file (repeatable)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each, in turn; the least is shown"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    if args.floor:
        print(json.dumps(parse_floor(args.floor)))
        return
    if args.workload:
        cases = [str(path) for path in args.workload]
    else:
        cases = [f"{t},{q}" for t, q in (QUICK if args.quick else FULL)]
    repeat = max(args.repeat, 1)
    print(
        f"{'tables':>7} {'queries':>8} {'seconds':>8} {'cpu s':>8} {'peak MiB':>9} "
        f"{'floor s':>8} {'floor cpu':>9} {'ratio':>6}"
        + (f"  {'ratios':>11}" if repeat > 1 else "")
        + ("  workload" if args.workload else "")
    )
    for case in cases:
        rows, floors = [], []
        for _ in range(repeat):
            rows.append(_subprocess("--case", case))
            floors.append(_subprocess("--floor", case))
        row = min(rows, key=lambda r: r["cpu_seconds"])
        floor = min(floors, key=lambda r: r["cpu_seconds"])
        ratios = sorted(
            r["cpu_seconds"] / f["cpu_seconds"] if f["cpu_seconds"] else 0.0
            for r, f in zip(rows, floors, strict=True)
        )
        ratio = statistics.median(ratios)
        print(
            f"{row['tables']:>7.0f} {row['queries']:>8.0f} {row['seconds']:>8.2f} "
            f"{row['cpu_seconds']:>8.2f} {row['peak_mib']:>9.0f} {floor['seconds']:>8.2f} "
            f"{floor['cpu_seconds']:>9.2f} {ratio:>6.2f}"
            + (f"  {ratios[0]:>5.2f}–{ratios[-1]:<5.2f}" if repeat > 1 else "")
            + (f"  {case}" if args.workload else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
