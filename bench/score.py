"""Score an answer on the lab's Trino as its users judge it: x (speed), y (storage), z.

    scripts/services/trino.sh start
    uv run python bench/score.py examples/flights.json --rows 1000000 --runs 3
    uv run python bench/score.py WORKLOAD.json --result RESULT.json --json scores.json

Loads the workload's source tables into the lab with `--rows` rows in the largest (a table
loaded before from the same DDL, rows and seed is kept), times every original query (one
warm-up, then the median of `--runs`), measures S from the tables' data files; then, for the
engine's answer (or `--result`) and for the identity answer (every table copied unchanged,
queries only retargeted: the noise floor of this shared machine), runs the DDL in order, the
migrations in order and every rewritten query, measures T and C, checks that each rewrite
returns its original's rows, and prints x, y, z with a table per query.

A statement Trino rejects is reported; a query that fails, runs past 10 minutes or returns
other rows counts as 10 minutes. Statements that are not queries (INSERT, SHOW…) are not
timed. Exit code 0 when every statement of the engine's answer ran and every rewrite held.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

import sqlglot  # noqa: E402
from sqlglot import exp  # noqa: E402
from sqlglot.errors import SqlglotError  # noqa: E402

from adapters.trino.lab import TrinoLab  # noqa: E402
from adapters.trino.runner import Outcome, TrinoRunner  # noqa: E402
from domain.analysis import analyze  # noqa: E402
from domain.analysis.identity import identity_result  # noqa: E402
from domain.analysis.names import TRINO  # noqa: E402
from domain.result import AnalysisResult  # noqa: E402
from domain.rowsets import compare_results  # noqa: E402
from domain.scoring import LIMIT_SECONDS, QueryTiming, score  # noqa: E402
from domain.workload import Workload  # noqa: E402

IDENTITY_SCHEMA = "lab_identity"


@dataclass
class QueryRun:
    """One query on one side: median seconds, bytes read, rows, Trino's error."""

    seconds: float | None = None
    physical_input_bytes: int = 0
    rows: int = 0
    error: str | None = None
    result: list[list[Any]] = field(default_factory=list, repr=False)


@dataclass
class AnswerScore:
    name: str
    x: float
    y: float
    z: float
    storage_bytes: int
    data_files: int
    failures: list[tuple[str, str, str]]
    queries: dict[str, dict[str, Any]]
    apply_seconds: dict[str, float]


def is_query(text: str) -> bool:
    try:
        tree = sqlglot.parse_one(text, dialect=TRINO)
    except (SqlglotError, ValueError):
        return False
    return isinstance(tree, exp.Query)


def time_query(runner: TrinoRunner, sql: str, runs: int) -> QueryRun:
    """One run that keeps the rows (and warms the caches), then the median of `runs` more."""
    first: Outcome = runner.run(sql)
    if first.error is not None:
        return QueryRun(error=first.error)
    seconds = [first.seconds]
    for _ in range(runs):
        again = runner.run(sql, keep_rows=False)
        if again.error is not None:
            return QueryRun(error=again.error)
        seconds.append(again.seconds)
    timed = seconds[1:] or seconds
    return QueryRun(
        seconds=statistics.median(timed),
        physical_input_bytes=first.physical_input_bytes,
        rows=first.row_count,
        result=[list(r) for r in first.rows],
    )


def score_answer(
    name: str,
    result: AnalysisResult,
    workload: Workload,
    originals: dict[str, QueryRun],
    storage_before: int,
    lab: TrinoLab,
    runner: TrinoRunner,
    runs: int,
) -> AnswerScore:
    applied = lab.apply(result)
    storage_after = files = 0
    for catalog, schema in applied.schemas:
        size, count = lab.schema_bytes(catalog, schema)
        storage_after, files = storage_after + size, files + count
    rewritten = {q.queryid: q.query for q in result.queries}
    timings: list[QueryTiming] = []
    per_query: dict[str, dict[str, Any]] = {}
    for query in workload.queries:
        original = originals.get(query.queryid)
        if original is None or original.seconds is None:
            continue
        after = time_query(runner, rewritten.get(query.queryid, ""), runs)
        equal = None
        detail = ""
        if after.error is None:
            comparison = compare_results(original.result, after.result, rel_tol=1e-6)
            equal, detail = comparison.equal, comparison.detail
        held = after.error is None and bool(equal)
        seconds = after.seconds if after.seconds is not None else LIMIT_SECONDS
        timings.append(QueryTiming(query.queryid, query.runquantity, original.seconds, seconds, held))
        per_query[query.queryid] = {
            "seconds": after.seconds,
            "physical_input_bytes": after.physical_input_bytes,
            "rows": after.rows,
            "rows_equal": equal,
            "difference": detail,
            "error": after.error,
        }
    s = score(timings, storage_before, storage_after)
    return AnswerScore(
        name, s.x, s.y, s.z, storage_after, files, applied.failures, per_query, applied.seconds
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", type=Path, help="workload JSON (the body of POST /new)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the largest table")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--result", type=Path, help="score this result instead of the engine's")
    parser.add_argument("--no-identity", action="store_true", help="skip the identity answer")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=58080)
    parser.add_argument("--warehouse", type=Path, default=ROOT / "var" / "trino" / "warehouse")
    args = parser.parse_args(argv)

    workload = Workload.from_dict(json.loads(args.workload.read_text()))
    if args.result is not None:
        engine = AnalysisResult.from_dict(json.loads(args.result.read_text()))
    else:
        engine = analyze(workload, version="bench")
    limit = {"query_max_execution_time": f"{int(LIMIT_SECONDS)}s"}
    lab = TrinoLab(TrinoRunner(args.host, args.port, session_properties=limit), args.warehouse)
    loaded = lab.load(workload, args.rows, args.seed)
    catalog = loaded.plan.catalog
    assert catalog is not None
    print(f"loaded in {loaded.seconds:.1f} s: {loaded.rows} (kept from before: {loaded.reused})")
    for note in loaded.notes:
        print(f"  note: {note}")
    for table, error in loaded.failed.items():
        print(f"  source table {table} could not be created: {error}")

    session = TrinoRunner(
        args.host,
        args.port,
        catalog=catalog.session.catalog,
        schema=catalog.session.schema,
        session_properties=limit,
    )
    storage_before = files_before = 0
    for table in catalog.tables.values():
        if str(table.name) in loaded.rows:
            size, count = lab.table_bytes(table.name)
            storage_before, files_before = storage_before + size, files_before + count
    originals: dict[str, QueryRun] = {}
    skipped: list[str] = []
    for query in workload.queries:
        if not is_query(query.query):
            skipped.append(query.queryid)
            continue
        originals[query.queryid] = time_query(session, query.query, args.runs)

    answers = [("engine", engine)]
    if not args.no_identity:
        answers.append(("identity", identity_result(workload, target_schema=IDENTITY_SCHEMA)))
    scores = [
        score_answer(name, result, workload, originals, storage_before, lab, session, args.runs)
        for name, result in answers
    ]
    print_report(workload, originals, skipped, storage_before, files_before, scores)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "workload": str(args.workload),
                    "rows": args.rows,
                    "runs": args.runs,
                    "seed": args.seed,
                    "storage_before": storage_before,
                    "data_files_before": files_before,
                    "load": {"rows": loaded.rows, "notes": loaded.notes, "failed": loaded.failed},
                    "originals": {
                        k: {**asdict(v), "result": None} for k, v in originals.items()
                    },
                    "not_timed": skipped,
                    "answers": [asdict(s) for s in scores],
                },
                indent=2,
                default=str,
            )
        )
    engine_score = scores[0]
    held = all(q["rows_equal"] for q in engine_score.queries.values())
    return 0 if held and not engine_score.failures else 1


def print_report(
    workload: Workload,
    originals: dict[str, QueryRun],
    skipped: list[str],
    storage_before: int,
    files_before: int,
    scores: list[AnswerScore],
) -> None:
    names = [s.name for s in scores]
    header = f"{'query':<24} {'Q':>6} {'A s':>8} " + " ".join(
        f"{'T ' + n + ' s':>14} {'rows':>6}" for n in names
    )
    header += f" {'MB before':>10} " + " ".join(f"{'MB ' + n:>12}" for n in names)
    print(header)
    for query in workload.queries:
        original = originals.get(query.queryid)
        if original is None:
            continue
        cells = [f"{query.queryid[:24]:<24} {query.runquantity:>6} {_seconds(original.seconds):>8}"]
        for s in scores:
            q = s.queries.get(query.queryid, {})
            rows = {True: "equal", False: "DIFF", None: "-"}[q.get("rows_equal")]
            cells.append(f"{_seconds(q.get('seconds')):>14} {rows:>6}")
        cells.append(f"{original.physical_input_bytes / 1e6:>10.2f}")
        for s in scores:
            read = s.queries.get(query.queryid, {}).get("physical_input_bytes", 0)
            cells.append(f"{read / 1e6:>12.2f}")
        print(" ".join(cells))
        if original.error:
            print(f"    original failed: {original.error[:200]}")
        for s in scores:
            q = s.queries.get(query.queryid, {})
            if q.get("error"):
                print(f"    {s.name}: {q['error'][:300]}")
            elif q.get("difference"):
                print(f"    {s.name}: {q['difference'][:300]}")
    if skipped:
        print(f"not timed (not queries): {', '.join(skipped)}")
    print(f"storage before: {storage_before / 1e6:.2f} MB in {files_before} files")
    for s in scores:
        print(
            f"{s.name:>9}: x = {s.x:.3f}  y = {s.y:.3f}  z = {s.z:.3f}   "
            f"storage {s.storage_bytes / 1e6:.2f} MB in {s.data_files} files; "
            f"ddl {s.apply_seconds.get('ddl', 0):.1f} s, "
            f"migrations {s.apply_seconds.get('migrations', 0):.1f} s"
        )
        for where, sql, error in s.failures:
            print(f"    {where} rejected: {error[:300]}\n      {sql[:200]}")


def _seconds(value: float | None) -> str:
    return "FAILED" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
