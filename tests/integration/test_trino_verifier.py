"""The verifier on the lab's Trino: it runs the same procedure as DuckDB's, and the two agree
on the examples — no rewrite differs on either, and their outcomes are the same query by
query, but that a join of several tables may find rows on one engine's data and none on the
other's (each fills the tables from its own hash): verified on one, empty on the other, both
explained outcomes; and that a query whose answer depends on the order rows are read in (an
approximate percentile) may come out the same on one engine and not on the other, where it is
not verifiable and kept. A wrong rewrite is caught on Trino as in DuckDB."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from adapters.trino.lab import TrinoLab
from adapters.verify.duckdb_verifier import DuckDbVerifier
from adapters.verify.trino_verifier import TrinoScratch, TrinoVerifier
from domain.analysis import analyze
from domain.result import AnalysisResult, RewrittenQuery
from domain.verification.checks import build_checks
from domain.verification.merge import verified_result
from domain.verification.model import (
    EMPTY,
    NOT_VERIFIABLE,
    VERIFIED,
    Verification,
    VerificationRequest,
)
from domain.workload import Workload
from tests.unit.analysis.support import layout_only

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SCRATCH_CATALOG = "verify_scratch"
ROWS = 2_000


@pytest.fixture(scope="module")
def trino_verifier(lab: TrinoLab, trino_address: tuple[str, int]) -> TrinoVerifier:
    lab.ensure_catalog(SCRATCH_CATALOG)
    host, port = trino_address
    return TrinoVerifier(TrinoScratch(host, port, SCRATCH_CATALOG))


def run(verifier: DuckDbVerifier | TrinoVerifier, load: Workload, result: AnalysisResult):
    checks = build_checks(load, result)
    request = VerificationRequest(load, result, checks, rows_per_table=ROWS, budget_seconds=300)
    verification: Verification = verifier.verify_now(request)
    return verification, verified_result(result, verification, checks)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_trino_and_duckdb_verifiers_agree_on_the_example(
    path: Path, trino_verifier: TrinoVerifier, lab: TrinoLab
) -> None:
    # given the engine's answer for the example
    load = Workload.from_dict(json.loads(path.read_text()))
    result = analyze(load)
    # when both verifiers check it
    on_trino, trino_checked = run(trino_verifier, load, result)
    _, duck_checked = run(DuckDbVerifier(), load, result)
    # then every migration ran on Trino (the new DDL is valid there) with its source's rows
    for migration in on_trino.migrations:
        assert migration.status == "ok", migration
    # and neither replaced a rewrite, and their outcomes agree query by query
    trino = {q["queryid"]: q for q in trino_checked.report.verification["queries"]}
    duck = {q["queryid"]: q for q in duck_checked.report.verification["queries"]}
    assert not [q for q in [*trino.values(), *duck.values()] if "replaced" in q]
    assert trino_checked.queries == result.queries == duck_checked.queries
    for queryid, entry in duck.items():
        outcomes = {trino[queryid]["outcome"], entry["outcome"]}
        # (each engine fills the tables from its own hash: a join of several tables may
        # find rows on one engine's data and none on the other's, both explained outcomes)
        read_order = outcomes == {VERIFIED, NOT_VERIFIABLE} and any(
            "depends on the order rows are read" in e.get("detail", "")
            for e in (trino[queryid], entry)
        )
        assert len(outcomes) == 1 or outcomes == {VERIFIED, EMPTY} or read_order, (
            queryid,
            trino[queryid],
            entry,
        )
    assert VERIFIED in {q["outcome"] for q in trino.values()}
    # and the scratch schemas are gone
    assert not [
        s for s in lab.runner.rows(f"SHOW SCHEMAS FROM {SCRATCH_CATALOG}") if s[0].startswith("v")
    ]


def test_a_wrong_rewrite_is_caught_on_trino(trino_verifier: TrinoVerifier) -> None:
    # (without stored results: the query keeps its own filter, which the tampering inverts)
    load = layout_only(
        Workload.from_dict(json.loads((ROOT / "examples" / "tickets.json").read_text()))
    )
    result = analyze(load)
    original = next(q for q in result.queries if q.queryid == "k-open-by-queue")
    wrong = original.query.replace("IS NULL", "IS NOT NULL")
    assert wrong != original.query
    tampered = dataclasses.replace(
        result,
        queries=tuple(
            RewrittenQuery(q.queryid, wrong) if q.queryid == "k-open-by-queue" else q
            for q in result.queries
        ),
    )
    _, checked = run(trino_verifier, load, tampered)
    entry = next(
        q for q in checked.report.verification["queries"] if q["queryid"] == "k-open-by-queue"
    )
    assert entry["replaced"]["outcome"] == "differs"
    assert next(q for q in checked.queries if q.queryid == "k-open-by-queue").query != wrong
