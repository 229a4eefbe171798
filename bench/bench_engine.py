"""Benchmark of the analysis engine: tables × queries → seconds and peak memory.

    uv run python bench/bench_engine.py           # 10/100/1,000 tables × 100/1,000/10,000
    uv run python bench/bench_engine.py --quick   # the small cases only

Each case runs in its own subprocess, so that peak memory (ru_maxrss) is the case's own. The
CPU time of the analysis is shown beside its wall time: on a busy machine it is the steadier
of the two.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = [(t, q) for t in (10, 100, 1000) for q in (100, 1000, 10000)]
QUICK = [(t, q) for t in (10, 100) for q in (100, 1000)]


def run_case(tables: int, queries: int) -> dict[str, float]:
    """Generate the workload, then time `analyze` alone; peak RSS of this process."""
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    from bench.generate import workload
    from domain.analysis import analyze

    load = workload(tables, queries)
    start, cpu = time.perf_counter(), time.process_time()
    result = analyze(load)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(result.queries) == queries
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "tables": tables,
        "queries": queries,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mib": peak_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--case", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(*args.case)))
        return
    print(f"{'tables':>7} {'queries':>8} {'seconds':>8} {'cpu s':>8} {'peak MiB':>9}")
    for tables, queries in QUICK if args.quick else FULL:
        out = subprocess.run(
            [sys.executable, __file__, "--case", str(tables), str(queries)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out)
        print(
            f"{tables:>7} {queries:>8} {row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f} "
            f"{row['peak_mib']:>9.0f}"
        )


if __name__ == "__main__":
    main()
