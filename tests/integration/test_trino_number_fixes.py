"""Numbers kept as varchar, on the real Trino: the columns the queries only cast to numbers
become those types, every statement of the answer runs, every rewrite returns its original's
rows, and the report's checks hold on the data — and find the values Trino would not give
back as they were (a leading zero, a sign, a missing decimal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.trino.lab import TrinoLab
from domain.analysis import analyze
from domain.workload import Workload
from tests.integration.conftest import session_runner
from tests.integration.test_trino_rollups import check_every_rewrite
from tests.unit.analysis.support import layout_only

pytestmark = pytest.mark.integration

WORKLOAD = Path(__file__).resolve().parents[1] / "workloads" / "numbers_as_text.json"


def test_numbers_fixed_from_text_keep_every_querys_rows_on_trino(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given a table landed from CSV (every column varchar), loaded with numbers as text
    workload = layout_only(Workload.from_dict(json.loads(WORKLOAD.read_text())))
    originals = session_runner(lab, trino_address, workload)
    # when the engine's answer is applied
    result = analyze(workload)
    fixes = [f for f in result.report.findings if f.code == "type_fix"]
    numbers = {f.details["column"]: f.details["to"] for f in fixes if f.details["to"] != "DATE"}
    assert numbers == {
        "order_id": "BIGINT",
        "customer_id": "BIGINT",
        "amount": "DECIMAL(12, 2)",
        "quantity": "INTEGER",
        "weight_kg": "DOUBLE",
    }
    # then each fix's check returns 0 on the data the migration converts
    for fix in fixes:
        assert originals.rows(fix.details["check"]) == [[0]], fix.details["check"]
    # and every statement runs, every rewritten query returns the rows of its original
    check_every_rewrite(workload, result, originals, lab)
    originals.close()


def test_the_checks_find_the_texts_trino_would_not_give_back(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the checks the report gives, and a table of texts in other forms
    workload = layout_only(Workload.from_dict(json.loads(WORKLOAD.read_text())))
    originals = session_runner(lab, trino_address, workload)
    checks = {
        f.details["column"]: f.details["check"]
        for f in analyze(workload).report.findings
        if f.code == "type_fix"
    }
    originals.rows("DROP TABLE IF EXISTS shop.raw.odd_texts")
    originals.rows(
        "CREATE TABLE shop.raw.odd_texts AS SELECT * FROM (VALUES "
        "('10', '12.50', '1.5'), ('007', '12.5', '1e3'), ('+7', '.50', 'x'), "
        "(' 7', '1.234', '007'), ('7.0', '-0.75', NULL), ('x', 'abc', '2'), "
        "(NULL, NULL, NULL)) AS t (quantity, amount, weight_kg)"
    )
    counts = {
        column: originals.rows(checks[column].replace("shop.raw.orders_csv", "shop.raw.odd_texts"))
        for column in ("quantity", "amount", "weight_kg")
    }
    originals.rows("DROP TABLE shop.raw.odd_texts")
    originals.close()
    # then each counts the values whose conversion, or text read back, would differ
    assert counts == {"quantity": [[5]], "amount": [[4]], "weight_kg": [[1]]}
