"""The engine's answers run on a real Trino with Iceberg, and every rewrite keeps its rows.

For every workload in `examples/`, the lab loads the source tables with data that fits the
queries, applies the engine's DDL and migrations in order, and runs each rewritten query
beside its original. `DBANALYSIS_TEST_TRINO` names the server (`host:port`, started by
`scripts/services/trino.sh` in `make test`); without it the tests are skipped on a developer
box and fail in CI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.trino.lab import TrinoLab, compare_outcomes
from bench.score import is_query
from bench.shapes import workload as shape_workload
from domain.analysis import analyze
from domain.analysis.identity import identity_result
from domain.verification.judge import order_dependent
from domain.workload import Workload
from tests.integration.conftest import LAB_ROWS, session_runner

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
ROWS = LAB_ROWS


def load(path: Path) -> Workload:
    return Workload.from_dict(json.loads(path.read_text()))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_statement_of_the_engine_runs_on_trino_and_every_rewrite_keeps_its_rows(
    path: Path, lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the example's source tables, loaded with data its queries find
    check_every_statement_and_rewrite(load(path), lab, trino_address)


def check_every_statement_and_rewrite(
    workload: Workload, lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    originals = session_runner(lab, trino_address, workload)
    # when the engine's answer is applied in order
    result = analyze(workload)
    applied = lab.apply(result)
    # then Trino accepts every DDL statement and migration
    assert applied.failures == []
    # and every rewritten query returns the rows of its original
    rewritten = {q.queryid: q.query for q in result.queries}
    checked = 0
    for query in workload.queries:
        if not is_query(query.query):
            continue
        before = originals.run(query.query)
        if before.error is not None:
            continue  # the original itself fails on Trino (the messy example has such)
        after = lab.runner.run(rewritten[query.queryid])
        assert after.error is None, f"{query.queryid}: {after.error}\n{after.sql}"
        if order_dependent(query.query):
            continue  # (an approximate percentile: two layouts of the same rows may differ)
        comparison = compare_outcomes(originals, before, after)
        assert comparison.equal, f"{query.queryid}: {comparison.detail}\n{after.sql}"
        checked += 1
    assert checked > 0
    originals.close()


def test_the_migrations_copy_every_row_of_every_source_table(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the flights example loaded and the engine's answer applied
    workload = load(ROOT / "examples" / "flights.json")
    loaded = lab.load(workload, ROWS)
    result = analyze(workload)
    applied = lab.apply(result)
    assert applied.failures == []
    # then the new table holds the same rows as the source
    count = lab.runner.rows("SELECT count(*) FROM flights.optimized.flights")[0][0]
    assert count == loaded.rows["flights.public.flights"] == ROWS


def test_the_loaded_data_gives_the_queries_rows_to_find(lab: TrinoLab) -> None:
    # given a workload whose queries filter on literals and join two tables
    workload = load(ROOT / "examples" / "tickets.json")
    lab.load(workload, ROWS)
    rows = lab.runner.rows
    # then the literal a query looks up exists, the join meets, and IS NULL finds rows
    assert rows("SELECT count(*) FROM support.helpdesk.tickets WHERE customer_id = 77")[0][0] > 0
    joined = rows(
        "SELECT count(*) FROM support.helpdesk.tickets t"
        " JOIN support.helpdesk.agents a ON a.agent_id = t.agent_id"
    )[0][0]
    assert joined > ROWS // 2
    assert rows("SELECT count(*) FROM support.helpdesk.tickets WHERE closed_at IS NULL")[0][0] > 0
    # and the dimension holds each key once
    keys = rows("SELECT count(*), count(DISTINCT agent_id) FROM support.helpdesk.agents")[0]
    assert keys[0] == keys[1]


def test_a_star_date_dimension_is_a_calendar_its_fact_joins_by_yyyymmdd(lab: TrinoLab) -> None:
    # given the star shape loaded: a fact joined to a date dimension by an integer date_key
    lab.load(Workload.from_dict(shape_workload("star")), ROWS)
    rows = lab.runner.rows
    # then the dimension holds a day per row, its key that day as yyyymmdd, its year that year
    wrong = rows(
        "SELECT count(*) FROM dw.sales.dim_date WHERE date_key <>"
        " CAST(format_datetime(full_date, 'yyyyMMdd') AS integer) OR year <> year(full_date)"
    )[0][0]
    days = rows("SELECT count(*), count(DISTINCT full_date) FROM dw.sales.dim_date")[0]
    assert wrong == 0
    assert days[0] == days[1]
    # and nearly every fact row meets its day, the key ranges the queries ask for among them
    facts, met = rows(
        "SELECT count(*), count(d.date_key) FROM dw.sales.fact_sales f"
        " LEFT JOIN dw.sales.dim_date d ON d.date_key = f.date_key"
    )[0]
    assert met >= 0.95 * facts
    quarter = (
        "SELECT count(*) FROM dw.sales.fact_sales WHERE date_key BETWEEN 20231001 AND 20231231"
    )
    assert rows(quarter)[0][0] > 0


def test_names_beyond_ascii_are_quoted_wherever_the_answer_writes_them(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given a table and columns named in German and Japanese, quoted as Trino needs them,
    # and a filter asking a date and a category of the same rows
    workload = Workload.from_dict(
        {
            "url": "jdbc:trino://h:8080/lake/de",
            "ddl": [
                {
                    "statement": 'CREATE TABLE lake.de."Umsätze" ("Beleg Nr" bigint, '
                    '"Kunden-ID" bigint, "Buchungs Datum" date, "Betrag €" decimal(12, 2), '
                    '"Status" varchar, "名前" varchar)'
                }
            ],
            "queries": [
                {
                    "queryid": "month",
                    "query": 'SELECT "Status", sum("Betrag €") AS s FROM lake.de."Umsätze" '
                    "WHERE \"Buchungs Datum\" >= DATE '2024-03-01' "
                    'AND "Buchungs Datum" < DATE \'2024-04-01\' GROUP BY "Status"',
                    "runquantity": 2000,
                    "executiontime": 10,
                },
                {
                    "queryid": "day",
                    "query": 'SELECT "名前", count(*) AS n FROM lake.de."Umsätze" '
                    "WHERE \"Status\" = 'offen' AND \"Buchungs Datum\" = DATE '2024-03-05' "
                    "GROUP BY 1",
                    "runquantity": 800,
                    "executiontime": 5,
                },
                {
                    "queryid": "customer",
                    "query": 'SELECT * FROM lake.de."Umsätze" WHERE "Kunden-ID" = 4711',
                    "runquantity": 5000,
                    "executiontime": 2,
                },
            ],
        }
    )
    # then the lab loads it, and every statement of the answer runs, every rewrite its rows
    check_every_statement_and_rewrite(workload, lab, trino_address)


def test_the_identity_answer_runs_and_keeps_every_row(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the clicks example loaded
    workload = load(ROOT / "examples" / "clicks.json")
    originals = session_runner(lab, trino_address, workload)
    # when the identity answer (tables copied as they are) is applied
    result = identity_result(workload, target_schema="lab_identity")
    assert lab.apply(result).failures == []
    # then each retargeted query returns its original's rows
    for query, rewritten in zip(workload.queries, result.queries, strict=True):
        before, after = originals.run(query.query), lab.runner.run(rewritten.query)
        assert before.error is None
        assert after.error is None, after.error
        assert compare_outcomes(originals, before, after).equal, query.queryid
    originals.close()


def test_a_copy_keeping_its_sources_day_partitions_is_accepted_by_trino(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given a source partitioned by day over years of data, which the queries leave alone
    workload = Workload.from_dict(
        {
            "url": "jdbc:trino://h:8080/daily/raw",
            "ddl": [
                {
                    "statement": "CREATE TABLE daily.raw.events (id bigint, ts timestamp(6), "
                    "kind varchar) WITH (partitioning = ARRAY['day(ts)'])"
                }
            ],
            "queries": [
                {
                    "queryid": "kinds",
                    "query": "SELECT kind, count(*) FROM daily.raw.events GROUP BY kind",
                }
            ],
        }
    )
    originals = session_runner(lab, trino_address, workload)
    days = lab.runner.rows("SELECT count(DISTINCT CAST(ts AS date)) FROM daily.raw.events")[0][0]
    assert days > 100  # one INSERT of it all would open more writers than Trino allows
    # when the engine's answer is applied, then Trino takes every migration
    result = analyze(workload)
    assert lab.apply(result).failures == []
    before = originals.run(workload.queries[0].query)
    after = lab.runner.run(result.queries[0].query)
    assert compare_outcomes(originals, before, after).equal
    originals.close()
