"""The DuckDB verifier: what it cannot run, its budget, its data, and its report."""

from __future__ import annotations

import dataclasses
import pickle

import duckdb
import pytest
from sqlglot import exp

from adapters.verify import duckdb_verifier
from adapters.verify.duckdb_verifier import DuckDbSandbox, DuckDbVerifier
from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from domain.workload import AnalysisOptions
from tests.unit.verification.support import entry, verify, with_query, workload

PAGES = (
    "CREATE TABLE web.events.pages (page_id bigint, url varchar, section varchar,"
    " visits integer, seen_at timestamp(6))"
    " WITH (format = 'ORC', partitioned_by = ARRAY['section'])"
)
URL = "jdbc:trino://h:8080?catalog=web&schema=events"


def test_a_function_duckdb_lacks_makes_the_query_not_verifiable_and_names_it() -> None:
    # given a query calling a Trino function DuckDB does not have
    load = workload(
        "SELECT url_extract_host(url) AS host, count(*) FROM pages GROUP BY 1",
        ddl=(PAGES,),
        url=URL,
    )
    result = analyze(load)
    # when it is verified
    checked = verify(load, result)
    # then it is not verifiable, the function is named, and the engine's query is kept
    found = entry(checked, "q0")
    assert found["outcome"] == "not_verifiable"
    assert "no function url_extract_host" in found["detail"]
    assert checked.queries == result.queries


def test_json_functions_on_text_that_is_not_json_give_null_as_on_trino() -> None:
    # given queries reading JSON out of a text column whose values are not all JSON
    load = workload(
        "SELECT json_extract_scalar(url, '$.host') AS host, count(*) AS n FROM pages GROUP BY 1",
        "SELECT section, json_extract(url, '$.path') AS path FROM pages WHERE visits > 10",
        ddl=(PAGES,),
        url=URL,
    )
    # when they are verified
    checked = verify(load, analyze(load))
    # then they run, NULL where Trino gives NULL (DuckDB alone would fail on such text)
    assert [entry(checked, q)["outcome"] for q in ("q0", "q1")] == ["verified", "verified"]


def test_names_in_one_two_or_three_parts_resolve_as_in_the_session() -> None:
    load = workload(
        "SELECT count(*) FROM pages WHERE section = 'news'",
        "SELECT count(*) FROM events.pages WHERE visits > 10",
        "SELECT max(visits) FROM web.events.pages",
        ddl=(PAGES,),
        url=URL,
    )
    checked = verify(load, analyze(load))
    assert [entry(checked, f"q{i}")["outcome"] for i in range(3)] == ["verified"] * 3
    assert entry(checked, "q0")["rows"] == {"original": 1, "rewrite": 1}


def test_a_spent_budget_leaves_the_rest_not_verifiable_and_the_task_whole() -> None:
    # given a budget too small to load anything
    load = workload("SELECT section, count(*) FROM pages GROUP BY 1", ddl=(PAGES,), url=URL)
    result = analyze(load)
    checked = verify(load, result, budget=1e-6)
    # then the queries are not verifiable, the result keeps them, and the report says so
    found = entry(checked, "q0")
    assert found["outcome"] == "not_verifiable"
    assert "budget" in found["detail"]
    assert checked.queries == result.queries
    assert checked.report.verification["budget_spent"] is True
    assert "budget ran out" in checked.report.summary


def test_a_rewrite_that_does_not_run_on_the_new_tables_is_replaced() -> None:
    load = workload("SELECT section, count(*) FROM pages GROUP BY 1", ddl=(PAGES,), url=URL)
    result = analyze(load)
    broken = with_query(result, "q0", "SELECT section, count(*) FROM web.optimized.nope GROUP BY 1")
    checked = verify(load, broken)
    found = entry(checked, "q0")
    # a query that fails where its original ran is not the same query: it is not kept
    assert found["outcome"] == "verified"
    assert "nope" not in checked.queries[0].query
    assert found["replaced"]["outcome"] == "differs"


def test_the_report_gives_rows_partitions_and_what_reproduces_it() -> None:
    # a source partitioned by time keeps a time partition without statistics (see sizing)
    by_day = PAGES.replace(
        "partitioned_by = ARRAY['section']", "partitioning = ARRAY['day(seen_at)']"
    )
    load = workload(
        "SELECT page_id FROM pages WHERE seen_at >= TIMESTAMP '2024-03-01 00:00:00' "
        "AND seen_at < TIMESTAMP '2024-03-08 00:00:00'",
        ddl=(by_day,),
        url=URL,
    )
    verification = verify(load, analyze(load), rows=500).report.verification
    assert verification["seed"] == 0
    assert verification["rows_per_table"] == 500
    assert verification["engine"].startswith("duckdb ")
    assert verification["tables"] == [
        {"table": "web.events.pages", "rows": 500, "role": "fact", "error": None}
    ]
    (migration,) = verification["migrations"]
    assert migration["table"] == "web.optimized.pages"
    assert migration["rows"] == migration["source_rows"] == 500
    assert migration["partitioning"]
    assert migration["partitions"] >= 1
    assert verification["outcomes"]["verified"] == 1


def test_statistics_shape_the_generated_data() -> None:
    # given statistics saying visits is never NULL and lies within 5..9
    load = workload(
        "SELECT count(*) FROM pages WHERE visits IS NULL",
        "SELECT count(*) FROM pages WHERE visits < 5 OR visits > 9",
        ddl=(PAGES,),
        url=URL,
    )
    stats = WorkloadStatistics(
        tables={
            TableName("web", "events", "pages"): TableStatistics(
                rows=1e6,
                columns={"visits": ColumnStatistics(null_fraction=0.0, low="5", high="9")},
            )
        }
    )
    checked = verify(load, analyze(load), statistics=stats)
    assert checked.report.verification["statistics_used"] is True
    # then both counts are zero (a row each), the same on both sides
    assert entry(checked, "q0")["outcome"] == "verified"
    assert entry(checked, "q0")["rows"] == {"original": 1, "rewrite": 1}


def test_a_query_whose_rows_change_from_run_to_run_is_not_verifiable_and_kept() -> None:
    load = workload("SELECT page_id FROM pages ORDER BY random() LIMIT 5", ddl=(PAGES,), url=URL)
    result = analyze(load)
    checked = verify(load, result)
    found = entry(checked, "q0")
    assert found["outcome"] == "not_verifiable"
    assert "changes from run to run" in found["detail"]
    assert checked.queries == result.queries


def test_a_query_whose_answer_depends_on_read_order_is_not_verifiable_and_kept() -> None:
    # given row_number() over a key with ties (its NULLs), on a table the migration copies
    # month by month (so the copy holds the same rows in another order)
    events = (
        "CREATE TABLE lake.s.e (id bigint, kind varchar, at timestamp(6))"
        " WITH (partitioning = ARRAY['day(at)'])"
    )
    load = workload(
        "SELECT id, row_number() OVER (PARTITION BY kind ORDER BY at DESC) FROM lake.s.e",
        "SELECT count(*) FROM lake.s.e WHERE at > TIMESTAMP '2024-01-01 00:00:00'",
        ddl=(events,),
        url="jdbc:trino://h:8080/lake/s",
    )
    result = analyze(load)
    assert len(result.migrations) > 1
    checked = verify(load, result, rows=3_000)
    # then it is explained, not replaced: even the plain retarget numbers the ties otherwise
    found = entry(checked, "q0")
    assert found["outcome"] == "not_verifiable"
    assert "depends on the order rows are read (ROW_NUMBER())" in found["detail"]
    assert "replaced" not in found
    assert checked.queries == result.queries


def test_catalogs_duckdb_reserves_and_types_it_lacks_are_reported_not_fatal() -> None:
    load = workload(
        "SELECT id, v FROM system.main.x WHERE v = 'a'",
        "SELECT id FROM lake.s.odd",
        ddl=(
            "CREATE TABLE system.main.x (id bigint, v varchar)",
            "CREATE TABLE lake.s.odd (id bigint, ip ipaddress)",
        ),
        url="jdbc:trino://h:8080/lake/s",
    )
    checked = verify(load, analyze(load))
    verification = checked.report.verification
    assert entry(checked, "q0")["outcome"] == "verified"
    assert entry(checked, "q1")["outcome"] == "not_verifiable"
    odd = next(t for t in verification["tables"] if t["table"] == "lake.s.odd")
    assert "IPADDRESS" in odd["error"]
    statuses = {m["table"]: m["status"] for m in verification["migrations"]}
    assert statuses["lake.optimized.odd"] == "not_verifiable"
    assert statuses["lake.optimized.x"] == "ok"


def test_tables_holding_fewer_rows_than_their_source_by_design_are_not_copies() -> None:
    # given a latest table (one row per key of a history) and a stored SELECT DISTINCT
    sat = (
        "CREATE TABLE dv.raw.sat (hk varchar, load_dts timestamp(6), country varchar,"
        " segment varchar)"
    )
    latest = (
        "SELECT s.hk, s.country FROM (SELECT hk, country, row_number() OVER (PARTITION BY hk "
        "ORDER BY load_dts DESC) AS rn FROM dv.raw.sat) s WHERE s.rn = 1"
    )
    distinct = "SELECT DISTINCT country, segment FROM dv.raw.sat ORDER BY country, segment"
    load = workload(latest, distinct, ddl=(sat,), url="jdbc:trino://h:8080/dv/raw")
    result = analyze(load)
    filled = {m.statement.split()[2] for m in result.migrations}
    assert {"dv.optimized.sat_latest", "dv.optimized.sat_result_q1"} <= filled
    # when it is verified, then their migrations are not taken for copies that lost rows
    migrations = verify(load, result).report.verification["migrations"]
    assert {m["table"]: m["status"] for m in migrations} == dict.fromkeys(filled, "ok")


def test_a_wide_table_of_a_fact_and_its_dimensions_is_verified() -> None:
    # given a fact and a dimension its lookups join, large by the statistics
    fact = "CREATE TABLE dw.s.sales (order_id bigint, store_key integer, amount double)"
    store = "CREATE TABLE dw.s.store (store_key integer, region varchar, city varchar)"
    lookup = (
        "SELECT f.order_id, s.region, f.amount FROM dw.s.sales f "
        "JOIN dw.s.store s ON f.store_key = s.store_key WHERE f.order_id = 7"
    )
    load = workload(lookup, ddl=(fact, store), url="jdbc:trino://h:8080/dw/s")
    load = dataclasses.replace(load, options=AnalysisOptions(denormalize=True))
    few = ColumnStatistics(distinct=4, null_fraction=0.0)
    keys = ColumnStatistics(distinct=100, null_fraction=0.0)
    statistics = WorkloadStatistics(
        tables={
            TableName("dw", "s", "sales"): TableStatistics(rows=50_000_000),
            TableName("dw", "s", "store"): TableStatistics(
                rows=100, columns={"store_key": keys, "region": few}
            ),
        }
    )
    result = analyze(load, statistics=statistics)
    assert "dw.optimized.sales_wide" in result.queries[0].query
    # when it is verified, the wide table's definition (Trino's fail() on a shared key)
    # runs, and the lookup reads it with its original's rows
    checked = verify(load, result)
    assert entry(checked, "q0")["outcome"] == "verified"
    migrations = checked.report.verification["migrations"]
    assert {m["table"]: m["status"] for m in migrations}["dw.optimized.sales_wide"] == "ok"


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The DuckDBs the verifiers start, as they are started, from a process keeping none."""
    monkeypatch.setattr(duckdb_verifier, "_IDLE", duckdb_verifier._Idle(limit=4))
    started: list[object] = []
    connect = duckdb.connect

    def counted(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        db = connect(*args, **kwargs)  # type: ignore[arg-type]
        started.append(db)
        return db

    monkeypatch.setattr(duckdb_verifier.duckdb, "connect", counted)
    return started


def test_verifications_in_turn_share_one_duckdb_and_see_nothing_of_each_other(
    connects: list[object],
) -> None:
    # given two workloads that create the same tables, one of them a different shape
    first = workload("SELECT section, count(*) FROM pages GROUP BY 1", ddl=(PAGES,), url=URL)
    other_pages = PAGES.replace("visits integer", "visits varchar")
    second = workload("SELECT max(visits) FROM pages", ddl=(other_pages,), url=URL)
    verifier = DuckDbVerifier()
    # when one verifier verifies them in turn, the first twice
    outcomes = []
    for load in (first, second, first):
        checked = verify(load, analyze(load), verifier=verifier)
        outcomes.append(entry(checked, "q0"))
        assert not checked.report.verification["notes"], checked.report.verification["notes"]
    # then one DuckDB served them all, and each found only its own tables
    assert len(connects) == 1
    # and the verifier, which holds none of them, can be sent to another process
    assert pickle.loads(pickle.dumps(verifier)).engine == verifier.engine
    assert [o["outcome"] for o in outcomes] == ["verified"] * 3
    assert outcomes[0] == outcomes[2]
    assert outcomes[1]["rows"] == {"original": 1, "rewrite": 1}


def test_after_a_verification_whose_budget_ran_out_the_next_one_runs_in_full(
    connects: list[object],
) -> None:
    load = workload("SELECT section, count(*) FROM pages GROUP BY 1", ddl=(PAGES,), url=URL)
    result = analyze(load)
    verifier = DuckDbVerifier()
    # given a verification whose budget ran out
    spent = verify(load, result, budget=1e-6, verifier=verifier)
    assert spent.report.verification["budget_spent"] is True
    # when the next one runs, it runs in full (on a new DuckDB if that one was interrupted)
    checked = verify(load, result, verifier=verifier)
    assert 1 <= len(connects) <= 2
    assert entry(checked, "q0")["outcome"] == "verified"


def test_a_duckdb_interrupted_in_a_verification_is_not_used_again() -> None:
    sandbox = DuckDbSandbox()
    try:
        turn = sandbox.begin()
        sandbox.interrupt(turn)
        assert not sandbox.finish()
    finally:
        sandbox.close()


def test_a_late_timer_does_not_interrupt_the_next_verification() -> None:
    sandbox = DuckDbSandbox()
    try:
        # given a verification that ended before its timer fired
        late = sandbox.begin()
        assert sandbox.finish()
        # when the timer fires during the next verification
        sandbox.begin()
        sandbox.interrupt(late)
        # then that one goes on, and its DuckDB can be used again
        assert sandbox.rows(exp.select("42"), 1) == [(42,)]
        assert sandbox.finish()
    finally:
        sandbox.close()


def test_a_duckdb_holding_anything_after_a_verification_is_not_used_again() -> None:
    sandbox = DuckDbSandbox()
    try:
        sandbox.begin()
        sandbox.create_namespaces(["web"], [TableName("web", "events", "pages")])
        # a table left in the scratch database, where no verification's names point
        sandbox.execute(exp.maybe_parse("CREATE TABLE stray (x INTEGER)"))
        # then emptying it finds it, and the DuckDB is not reused
        assert not sandbox.finish()
    finally:
        sandbox.close()
