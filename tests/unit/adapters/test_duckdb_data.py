"""The synthetic data as DuckDB renders it: what the verifier's sandbox tables hold."""

from __future__ import annotations

import duckdb
import pytest

from adapters.verify.duckdb_data import duckdb_select
from domain.synthetic import LITERAL_ROWS, plan_data
from domain.workload import DdlStatement, Query, Workload

URL = "jdbc:trino://h:8080?catalog=iot&schema=fleet"
READINGS = (
    "CREATE TABLE iot.fleet.readings (device_id bigint, reading_ts timestamp(6), "
    "reading_day date, site varchar, temperature double)"
)
DEVICES = "CREATE TABLE iot.fleet.devices (device_id bigint, model varchar)"
FILTERS = [
    # a key and a day of one timestamp column
    "device_id = 4242 AND reading_ts >= TIMESTAMP '2024-06-10 00:00:00' "
    "AND reading_ts < TIMESTAMP '2024-06-11 00:00:00'",
    # a text category, a date BETWEEN, the bounds written the other way round
    "site = 'north' AND reading_day BETWEEN DATE '2024-03-01' AND DATE '2024-03-02'",
    "TIMESTAMP '2024-02-01 00:00:00' <= reading_ts AND device_id IN (7, 8) "
    "AND reading_ts <= TIMESTAMP '2024-02-01 06:00:00'",
    # an open range: some instant after it
    "device_id = 99 AND reading_ts > TIMESTAMP '2024-09-30 23:00:00'",
    # a range of a number, a negative one
    "device_id = 5 AND temperature < -12.5",
]


def rows_found(where: str, rows: int = 2_000) -> int:
    queries = [
        Query(f"q{n}", f"SELECT * FROM iot.fleet.readings WHERE {f}") for n, f in enumerate(FILTERS)
    ]
    queries.append(
        Query(
            "join",
            "SELECT d.model FROM iot.fleet.readings r JOIN iot.fleet.devices d "
            "ON d.device_id = r.device_id",
        )
    )
    load = Workload(URL, (DdlStatement(READINGS), DdlStatement(DEVICES)), tuple(queries))
    plan = next(t for t in plan_data(load, rows).tables if t.table.table == "readings")
    db = duckdb.connect()
    found = db.execute(f"SELECT count(*) FROM ({duckdb_select(plan, 0, plan.rows)}) WHERE {where}")
    return int(found.fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize("where", FILTERS)
def test_a_filter_on_several_columns_of_a_table_finds_rows_together(where: str) -> None:
    # each column alone holds the literal in some rows, but a day of one device among 2,000
    # rows spread over a year would be found by chance only: the planted rows hold both
    assert rows_found(where) >= LITERAL_ROWS // 2


def test_the_planted_rows_are_few() -> None:
    # the rest of the table keeps its spread: the device's rows on other days
    assert rows_found("device_id = 4242") < 200
