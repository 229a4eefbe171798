"""Score an answer on the lab's Trino as its users judge it: x (speed), y (storage), z.

    scripts/services/trino.sh start
    uv run python bench/score.py examples/flights.json --rows 1000000 --runs 3
    uv run python bench/score.py WORKLOAD.json --result RESULT.json --json scores.json
    uv run python bench/score.py examples/clicks.json --statistics   # also with statistics

Loads the workload's source tables into the lab with `--rows` rows in the largest (a table
loaded before from the same DDL, rows and seed is kept) and measures S from their data files.
Applies the engine's answer (or `--result`) and the identity answer (every table copied
unchanged, queries only retargeted: the noise floor of this shared machine) — DDL in order,
then migrations in order — and measures C of each. Then times every query on the originals
and on each answer, interleaved (one run each that keeps the rows, then `--runs` rounds; the
median counts), checks that each rewrite returns its original's rows, and prints x, y, z
with a table per query. `--statistics` adds the engine's answer made with the statistics the
lab's Trino has of the loaded tables (as the service reads them from a user's Trino).

A statement Trino rejects is reported; a query that fails, runs past 10 minutes or returns
other rows counts as 10 minutes. Statements that are not queries (INSERT, SHOW…) are not
timed. Exit code 0 when every statement of the engine's answer ran and every rewrite held.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from adapters.trino.lab import Applied, TrinoLab, compare_outcomes  # noqa: E402
from adapters.trino.runner import Outcome, TrinoRunner  # noqa: E402
from adapters.trino.statistics import TrinoEndpoint, read_statistics  # noqa: E402
from domain.analysis import analyze  # noqa: E402
from domain.analysis.catalog import Catalog  # noqa: E402
from domain.analysis.identity import identity_result  # noqa: E402
from domain.analysis.names import TRINO  # noqa: E402
from domain.result import AnalysisResult  # noqa: E402
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
    outcome: Outcome | None = field(default=None, repr=False)  # the first run, with its rows


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


def measure(
    queryids: list[str], variants: list[tuple[str, TrinoRunner, dict[str, str]]], runs: int
) -> dict[str, dict[str, QueryRun]]:
    """Time every query on every variant, interleaved so that drift hits them alike.

    A shared 2-core machine speeds up as Trino's JIT warms and slows when something else
    runs: timing all originals first and all rewrites later would credit (or blame) the
    rewrites for that. So each query runs once on every variant (keeping its rows, warming
    the caches), then `runs` rounds of original, engine, identity…; the median counts.
    """
    found: dict[str, dict[str, QueryRun]] = {name: {} for name, _, _ in variants}
    for queryid in queryids:
        seconds: dict[str, list[float]] = {name: [] for name, _, _ in variants}
        for name, runner, sql in variants:
            first = runner.run(sql.get(queryid, ""))
            found[name][queryid] = QueryRun(
                seconds=first.seconds if first.ok else None,
                physical_input_bytes=first.physical_input_bytes,
                rows=first.row_count,
                error=first.error,
                outcome=first if first.ok else None,
            )
        for _ in range(runs):
            for name, runner, sql in variants:
                if found[name][queryid].error is not None:
                    continue
                again = runner.run(sql[queryid], keep_rows=False)
                if again.error is not None:
                    found[name][queryid].error = again.error
                    found[name][queryid].seconds = None
                    continue
                seconds[name].append(again.seconds)
        for name, _, _ in variants:
            run = found[name][queryid]
            if run.error is None and seconds[name]:
                run.seconds = statistics.median(seconds[name])
    return found


def score_answer(
    name: str,
    workload: Workload,
    originals: dict[str, QueryRun],
    rewrites: dict[str, QueryRun],
    applied: Applied,
    storage: tuple[int, int],
    storage_before: int,
    session: TrinoRunner,
) -> AnswerScore:
    timings: list[QueryTiming] = []
    per_query: dict[str, dict[str, Any]] = {}
    for query in workload.queries:
        original = originals.get(query.queryid)
        after = rewrites.get(query.queryid)
        if original is None or original.seconds is None or after is None:
            continue
        equal = None
        detail = ""
        if original.outcome is not None and after.outcome is not None:
            comparison = compare_outcomes(session, original.outcome, after.outcome)
            equal, detail = comparison.equal, comparison.detail
        held = after.error is None and bool(equal)
        seconds = after.seconds if after.seconds is not None else LIMIT_SECONDS
        timings.append(
            QueryTiming(query.queryid, query.runquantity, original.seconds, seconds, held)
        )
        per_query[query.queryid] = {
            "seconds": after.seconds,
            "physical_input_bytes": after.physical_input_bytes,
            "rows": after.rows,
            "rows_equal": equal,
            "difference": detail,
            "error": after.error,
        }
    s = score(timings, storage_before, storage[0])
    return AnswerScore(
        name, s.x, s.y, s.z, storage[0], storage[1], applied.failures, per_query, applied.seconds
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", type=Path, help="workload JSON (the body of POST /new)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the largest table")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--result", type=Path, help="score this result instead of the engine's")
    parser.add_argument("--no-identity", action="store_true", help="skip the identity answer")
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="also score the engine's answer made with statistics read from the lab",
    )
    parser.add_argument(
        "--statistics-only",
        action="store_true",
        help="score only the answer made with statistics (faster at large scales)",
    )
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
    timed = [q.queryid for q in workload.queries if is_query(q.query)]
    skipped = [q.queryid for q in workload.queries if q.queryid not in set(timed)]
    answers = [] if args.statistics_only else [("engine", engine)]
    if (args.statistics or args.statistics_only) and args.result is None:
        answers.append(("engine+stats", _with_statistics(workload, catalog, args.host, args.port)))
    if not args.no_identity:
        answers.append(("identity", identity_result(workload, target_schema=IDENTITY_SCHEMA)))
    applied = {name: lab.apply(result) for name, result in answers}
    storage = {name: _storage(lab, applied[name]) for name, _ in answers}
    variants = [("original", session, {q.queryid: q.query for q in workload.queries})]
    variants += [
        (name, lab.runner, {q.queryid: q.query for q in result.queries}) for name, result in answers
    ]
    runs = measure(timed, variants, args.runs)
    originals = runs["original"]
    scores = [
        score_answer(
            name,
            workload,
            originals,
            runs[name],
            applied[name],
            storage[name],
            storage_before,
            session,
        )
        for name, _ in answers
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
                    "originals": {k: {**asdict(v), "outcome": None} for k, v in originals.items()},
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


def _with_statistics(workload: Workload, catalog: Catalog, host: str, port: int) -> AnalysisResult:
    """The engine's answer given the statistics the lab's Trino has of the loaded tables, in
    a schema of its own so that it can be scored beside the answer made without them."""
    endpoint = TrinoEndpoint(host, port, https=False)
    statistics = read_statistics(endpoint, list(catalog.tables), user="bench", password=None)
    for problem in statistics.problems:
        print(f"  statistics: {problem}")
    schema = f"{workload.options.target_schema}_stats"
    options = dataclasses.replace(workload.options, target_schema=schema)
    return analyze(dataclasses.replace(workload, options=options), statistics=statistics)


def _storage(lab: TrinoLab, applied: Applied) -> tuple[int, int]:
    total = files = 0
    for catalog, schema in applied.schemas:
        size, count = lab.schema_bytes(catalog, schema)
        total, files = total + size, files + count
    return total, files


def _seconds(value: float | None) -> str:
    return "FAILED" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    raise SystemExit(main())
