"""Statistics read from a real Trino match the data, and trouble becomes a finding.

Runs against the lab's Trino (`DBANALYSIS_TEST_TRINO`, started by `make test`) with data the
lab loaded; skipped without it on a developer box, an error in CI.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.trino import statistics as statistics_module
from adapters.trino.lab import TrinoLab
from adapters.trino.runner import TrinoRunner
from adapters.trino.statistics import TrinoEndpoint, read_statistics
from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.workload import Workload

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ROWS = 20_000
CLICKS = TableName("web", "events", "clicks")


@pytest.fixture(scope="module")
def clicks(trino_address: tuple[str, int]) -> Iterator[tuple[Workload, TrinoRunner]]:
    warehouse = Path(
        os.environ.get("DBANALYSIS_TEST_TRINO_WAREHOUSE", ROOT / "var/trino/warehouse")
    )
    runner = TrinoRunner(*trino_address)
    workload = Workload.from_dict(json.loads((ROOT / "examples" / "clicks.json").read_text()))
    TrinoLab(runner, warehouse).load(workload, ROWS)
    yield workload, runner
    runner.close()


def endpoint(address: tuple[str, int]) -> TrinoEndpoint:
    found = TrinoEndpoint.from_jdbc_url(f"jdbc:trino://{address[0]}:{address[1]}/web/events")
    assert found is not None
    return found


def test_statistics_match_the_data(
    trino_address: tuple[str, int], clicks: tuple[Workload, TrinoRunner]
) -> None:
    # given the clicks table loaded with known data
    _, runner = clicks
    actual = runner.rows(
        "SELECT count(*), count(DISTINCT country), CAST(min(event_ts) AS varchar),"
        " CAST(max(event_ts) AS varchar), count(DISTINCT user_id) FROM web.events.clicks"
    )[0]
    # when its statistics are read
    statistics = read_statistics(endpoint(trino_address), [CLICKS], user="reader", password=None)
    table = statistics.table(CLICKS)
    # then the row count is exact, distinct counts within the estimator's error, bounds exact
    assert statistics.problems == ()
    assert table is not None
    assert table.rows == actual[0] == ROWS
    country = table.column("country")
    assert country is not None
    assert country.distinct is not None
    assert abs(country.distinct - actual[1]) <= max(2, 0.05 * actual[1])
    users = table.column("user_id")
    assert users is not None
    assert users.distinct is not None
    assert abs(users.distinct - actual[4]) <= 0.05 * actual[4]
    event_ts = table.column("event_ts")
    assert event_ts is not None
    assert (event_ts.low or "")[:19] == actual[2][:19]
    assert (event_ts.high or "")[:19] == actual[3][:19]
    # and the data files are counted and measured
    assert table.files
    assert table.files >= 1
    assert table.data_bytes
    assert table.data_bytes > 0
    assert table.rows_per_day("event_ts") is not None
    # and the table properties this Trino's Iceberg connector takes are known
    assert statistics.supports("web", "sorted_by")
    assert statistics.supports("web", "parquet_bloom_filter_columns")
    assert not statistics.supports("web", "no_such_property")


@pytest.fixture(scope="module")
def unanalysed(clicks: tuple[Workload, TrinoRunner]) -> Iterator[TableName]:
    """A copy of the clicks whose distinct counts were dropped, as if another engine wrote it
    and nobody analysed it: SHOW STATS knows its rows, NULLs and bounds, not its distincts."""
    _, runner = clicks
    copy = TableName("web", "events", f"clicks_unanalysed_{uuid.uuid4().hex[:8]}")
    runner.rows(f"CREATE TABLE {copy.sql()} AS SELECT * FROM {CLICKS.sql()}")
    runner.rows(f"ALTER TABLE {copy.sql()} EXECUTE drop_extended_stats")
    yield copy
    runner.rows(f"DROP TABLE IF EXISTS {copy.sql()}")


def test_what_show_stats_leaves_out_is_read_from_the_data(
    trino_address: tuple[str, int],
    clicks: tuple[Workload, TrinoRunner],
    unanalysed: TableName,
) -> None:
    # given a table whose SHOW STATS has no distinct counts
    _, runner = clicks
    shown = runner.rows(f"SHOW STATS FOR {unanalysed.sql()}")
    assert all(row[2] is None for row in shown if row[0] is not None)
    actual = runner.rows(
        f"SELECT count(DISTINCT country), count(DISTINCT user_id) FROM {unanalysed.sql()}"
    )[0]
    # when its statistics are read
    statistics = read_statistics(endpoint(trino_address), [unanalysed], user="u", password=None)
    # then the distinct counts come from an aggregate over the table, within the estimator's
    # error, and the table says so
    assert statistics.problems == ()
    table = statistics.table(unanalysed)
    assert table is not None
    assert table.sampled
    assert table.rows == ROWS
    country, users = table.column("country"), table.column("user_id")
    assert country is not None
    assert users is not None
    assert country.distinct is not None
    assert users.distinct is not None
    assert abs(country.distinct - actual[0]) <= max(2, 0.05 * actual[0])
    assert abs(users.distinct - actual[1]) <= 0.05 * actual[1]


def test_a_table_with_nested_columns_is_sampled_by_its_own_columns(
    trino_address: tuple[str, int], clicks: tuple[Workload, TrinoRunner]
) -> None:
    # given an unanalysed table with a ROW, a MAP and an ARRAY column beside plain ones
    _, runner = clicks
    nested = TableName("web", "events", f"clicks_nested_{uuid.uuid4().hex[:8]}")
    runner.rows(
        f"CREATE TABLE {nested.sql()} AS SELECT user_id, country,"
        " CAST(ROW(1.5, 2.5) AS ROW(lat double, lon double)) AS geo,"
        " MAP(ARRAY['screen'], ARRAY[page]) AS properties, ARRAY[page] AS tags"
        f" FROM {CLICKS.sql()}"
    )
    try:
        runner.rows(f"ALTER TABLE {nested.sql()} EXECUTE drop_extended_stats")
        # when its statistics are read
        statistics = read_statistics(endpoint(trino_address), [nested], user="u", password=None)
    finally:
        runner.rows(f"DROP TABLE IF EXISTS {nested.sql()}")
    # then the sample reads the table's columns, not the ROW's fields, and nothing failed
    assert statistics.problems == ()
    table = statistics.table(nested)
    assert table is not None
    assert table.sampled
    country = table.column("country")
    assert country is not None
    assert country.distinct is not None
    assert table.column("lat") is None


def test_a_sample_of_a_large_table_is_a_valid_trino_statement(
    trino_address: tuple[str, int],
    unanalysed: TableName,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a table ten times the rows a sample may read: TABLESAMPLE SYSTEM (10)
    monkeypatch.setattr(statistics_module, "SAMPLE_ROWS", ROWS // 10)
    statistics = read_statistics(endpoint(trino_address), [unanalysed], user="u", password=None)
    # then Trino ran it: a sample of whole files holds all or none of a small table's rows
    table = statistics.table(unanalysed)
    assert table is not None
    assert table.rows == ROWS
    if table.sampled:
        assert statistics.problems == ()
        country = table.column("country")
        assert country is not None
        assert country.distinct is not None
        assert country.distinct >= 1
    else:
        assert [p for p in statistics.problems if "held no rows" not in p] == []


def test_a_small_table_read_from_trino_is_left_unpartitioned(
    trino_address: tuple[str, int], clicks: tuple[Workload, TrinoRunner]
) -> None:
    workload, _ = clicks
    tables = [TableName("web", "events", "clicks"), TableName("web", "events", "pages")]
    statistics = read_statistics(endpoint(trino_address), tables, user="reader", password=None)
    result = analyze(workload, statistics=statistics)
    create = next(s.statement for s in result.ddl if ".optimized.clicks " in s.statement)
    assert "partitioning" not in create
    assert any(f.code == "partitioning_sized" for f in result.report.findings)


def test_a_missing_table_is_a_problem_not_an_error(trino_address: tuple[str, int]) -> None:
    missing = TableName("web", "events", "no_such_table")
    statistics = read_statistics(endpoint(trino_address), [missing], user="reader", password=None)
    assert statistics.tables == {}
    assert "no_such_table" in statistics.problems[0]


def test_a_closed_port_stops_the_reading_with_one_problem() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free now that nothing listens on it
    closed = TrinoEndpoint("127.0.0.1", port, https=False)
    statistics = read_statistics(closed, [CLICKS, CLICKS], user="reader", password=None)
    assert len(statistics.problems) == 1
    assert "could not be reached" in statistics.problems[0]


def test_a_server_that_never_answers_is_given_up_on_time() -> None:
    # a socket that accepts connections (the kernel's backlog) but never answers a request
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = TrinoEndpoint("127.0.0.1", silent.getsockname()[1], https=False)
        statistics = read_statistics(
            mute, [CLICKS], user="reader", password=None, statement_seconds=1, budget_seconds=2
        )
    assert statistics.tables == {}
    assert "did not answer in time" in statistics.problems[0]


def test_statistics_are_read_over_tls_with_the_right_password(
    trino_https: tuple[TrinoEndpoint, str, str], clicks: tuple[Workload, TrinoRunner]
) -> None:
    endpoint, ca, password = trino_https
    statistics = read_statistics(endpoint, [CLICKS], user="lab", password=password, ca_bundle=ca)
    assert statistics.problems == ()
    table = statistics.table(CLICKS)
    assert table is not None
    assert table.rows == ROWS


def test_a_wrong_password_is_one_problem_that_does_not_quote_it(
    trino_https: tuple[TrinoEndpoint, str, str],
) -> None:
    endpoint, ca, _ = trino_https
    wrong = "wrong-password-marker-7f3a"
    statistics = read_statistics(endpoint, [CLICKS], user="lab", password=wrong, ca_bundle=ca)
    assert statistics.tables == {}
    assert len(statistics.problems) == 1
    assert "login was refused" in statistics.problems[0]
    assert wrong not in statistics.problems[0]


def test_a_certificate_nobody_vouches_for_is_a_tls_problem(
    trino_https: tuple[TrinoEndpoint, str, str],
) -> None:
    endpoint, _, password = trino_https
    statistics = read_statistics(endpoint, [CLICKS], user="lab", password=password)
    assert statistics.tables == {}
    assert "TLS failed" in statistics.problems[0]


@pytest.fixture(scope="module")
def large_table(trino_address: tuple[str, int]) -> Iterator[TableName]:
    """About 300 MiB of data files over 60 days (6 million TPC-H line items, each with a
    digest that does not compress): large enough to partition, too small for a partition a
    day."""
    runner = TrinoRunner(*trino_address)
    name = TableName("web", "events", f"large_{uuid.uuid4().hex[:8]}")
    runner.rows(
        f"CREATE TABLE {name.sql()} AS SELECT orderkey AS order_id, partkey AS part_id, comment,"
        " extendedprice AS price, to_hex(sha256(to_utf8(comment || CAST(orderkey AS varchar)"
        " || CAST(linenumber AS varchar)))) AS digest, CAST(date_add('second',"
        " CAST(orderkey % 5184000 AS integer), TIMESTAMP '2025-01-01 00:00:00') AS timestamp(6))"
        " AS ts FROM tpch.sf1.lineitem"
    )
    yield name
    runner.rows(f"DROP TABLE IF EXISTS {name.sql()}")
    runner.close()


def test_a_large_table_is_partitioned_at_the_granularity_its_span_and_size_allow(
    trino_address: tuple[str, int], large_table: TableName
) -> None:
    # given queries that ask for single days of a table of ~300 MiB spread over 60 days
    statement = (
        f"CREATE TABLE {large_table.sql()} (order_id bigint, part_id bigint, comment varchar,"
        " price double, digest varchar, ts timestamp(6))"
    )
    day = (
        f"SELECT order_id, price FROM {large_table.sql()} WHERE ts >= TIMESTAMP"
        " '2025-01-10 00:00:00' AND ts < TIMESTAMP '2025-01-11 00:00:00'"
    )
    workload = Workload.from_dict(
        {
            "url": f"jdbc:trino://{trino_address[0]}:{trino_address[1]}/web/events",
            "ddl": [{"statement": statement}],
            "queries": [
                {"queryid": "one-day", "query": day, "runquantity": 500, "executiontime": 9.0}
            ],
        }
    )
    # when the engine advises with the statistics read from the lab
    statistics = read_statistics(endpoint(trino_address), [large_table], user="u", password=None)
    table = statistics.table(large_table)
    assert table is not None
    assert table.data_bytes is not None
    assert table.data_bytes > 256 << 20
    span = table.column("ts")
    assert span is not None
    assert span.span_days == pytest.approx(60, abs=1)
    result = analyze(workload, statistics=statistics)
    # then the table is partitioned, by month: a day would hold ~5 MiB, a month ~150 MiB
    target = f".optimized.{large_table.table} "
    create = next(s.statement for s in result.ddl if target in s.statement)
    assert "partitioning = ARRAY['month(ts)']" in create
    sized = [f for f in result.report.findings if f.code == "partitioning_sized"]
    assert sized
    assert "month" in sized[0].rationale
    # and the estimate speaks in the table's real bytes
    [estimate] = result.report.estimates["queries"]
    assert estimate["bytes_before"] == table.data_bytes
    assert estimate["bytes_after"] < table.data_bytes


def test_the_heaviest_queries_are_planned_by_trino_and_a_broken_one_is_a_problem(
    trino_address: tuple[str, int], clicks: tuple[Workload, TrinoRunner]
) -> None:
    # given two queries on the clicks, one of them filtering, and one Trino cannot plan
    queries = [
        ("all", "SELECT country, count(*) FROM web.events.clicks GROUP BY country"),
        (
            "none",
            "SELECT count(*) FROM web.events.clicks"
            " WHERE event_ts < TIMESTAMP '1990-01-01 00:00:00'",
        ),
        ("broken", "SELECT no_such_column FROM web.events.clicks"),
    ]
    # when they are planned with the statistics
    statistics = read_statistics(
        endpoint(trino_address), [CLICKS], queries=queries, user="u", password=None
    )
    # then each plannable query has Trino's estimate of what it reads, and it follows the filter
    table = statistics.table(CLICKS)
    assert table is not None
    everything, filtered = statistics.queries["all"], statistics.queries["none"]
    assert everything.rows == ROWS
    assert everything.data_bytes is not None
    assert everything.data_bytes > 0
    assert filtered.rows is not None
    assert filtered.rows < ROWS
    # and the one Trino refuses is a problem that names it, not an error
    assert "broken" not in statistics.queries
    assert any("query broken: EXPLAIN" in p for p in statistics.problems)
