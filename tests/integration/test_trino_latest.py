"""Latest rows on the real Trino: the Data Vault's queries that number a satellite's history
to keep each key's current row read a table of those rows (or a rollup built on it), and
return their original's rows."""

from __future__ import annotations

import pytest

from adapters.trino.lab import TrinoLab
from domain.analysis import analyze
from tests.integration.conftest import loaded_shape
from tests.integration.test_trino_rollups import check_every_rewrite, scaled

pytestmark = pytest.mark.integration


def test_the_vaults_current_rows_are_read_from_latest_tables_with_the_same_rows(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the Data Vault shape loaded in the lab, its satellites holding several versions
    workload, originals, statistics = loaded_shape(lab, trino_address, "vault")
    # when the engine answers with the lab's statistics, scaled up
    result = analyze(workload, statistics=scaled(statistics))
    latest = [q.queryid for q in result.queries if "_latest" in q.query]
    rollups_of_latest = [
        s.statement
        for s in result.ddl
        if "_rollup" in s.statement and "latest_row_number__" in s.statement
    ]
    # then the queries of the current rows read latest tables, or rollups built on them
    assert len(latest) + len(rollups_of_latest) >= 5, (latest, rollups_of_latest)
    assert rollups_of_latest
    # and every query keeps its rows
    check_every_rewrite(workload, result, originals, lab)
    originals.close()
