"""Stored results: the heaviest repeated dashboards no rollup answers read a table holding
their result, filled by the very query, and keep their rows, labels and order."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.result import AnalysisResult, Finding
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.unit.analysis.support import duckdb_sql

EVENTS = (
    "CREATE TABLE lake.app.events (event_id bigint, user_id bigint, session_id varchar,"
    " country varchar, device varchar, is_bot boolean, day date, ts timestamp(6),"
    " amount decimal(12, 2), ms integer)"
)
USERS = "CREATE TABLE lake.app.users (user_id bigint, plan varchar, signup date)"
EVENTS_TABLE = TableName("lake", "app", "events")
T = "lake.app.events"
DISTINCT_USERS = (
    f"SELECT country, count(DISTINCT user_id) AS users FROM {T} "
    "WHERE day BETWEEN DATE '2024-03-01' AND DATE '2024-03-07' GROUP BY country "
    "ORDER BY users DESC, country"
)


def workload(*queries: str, runs: int = 100, store_results: bool = True) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/lake/app",
        ddl=(DdlStatement(EVENTS), DdlStatement(USERS)),
        queries=tuple(Query(f"q{i}", sql, runquantity=runs) for i, sql in enumerate(queries)),
        options=AnalysisOptions(store_results=store_results),
    )


def big(rows: float = 20_000_000, **columns: ColumnStatistics) -> WorkloadStatistics:
    return WorkloadStatistics(tables={EVENTS_TABLE: TableStatistics(rows=rows, columns=columns)})


def stored(result: AnalysisResult) -> list[str]:
    return [s.statement for s in result.ddl if "_result_" in s.statement.split(" AS ")[0]]


def finding(result: AnalysisResult, code: str) -> Finding | None:
    return next((f for f in result.report.findings if f.code == code), None)


def reasons(result: AnalysisResult) -> dict[str, str]:
    found = finding(result, "result_not_stored")
    return dict(found.details["reasons"]) if found is not None else {}


# -- which queries -------------------------------------------------------------------------


def test_a_repeated_distinct_count_reads_a_table_holding_its_result() -> None:
    # given a dashboard counting distinct users over a week, run 100 times
    result = analyze(workload(DISTINCT_USERS))
    # then a table holding its result is created from the query itself, in the new schema
    (create,) = stored(result)
    assert create.startswith("CREATE TABLE lake.optimized.events_result_q0 WITH (")
    assert create.endswith(" WITH NO DATA")
    # and the migration fills it by running the query on the source table
    fill = next(m.statement for m in result.migrations if "events_result_q0" in m.statement)
    assert fill.startswith("INSERT INTO lake.optimized.events_result_q0 (country, users) SELECT")
    assert "FROM lake.app.events" in fill
    assert "lake.optimized.events " not in fill
    # and the query reads it, in its own order
    assert result.queries[0].query == (
        "SELECT country, users FROM lake.optimized.events_result_q0 ORDER BY users DESC, country"
    )
    # and the report says what the table holds and how it is refreshed
    found = finding(result, "materialized_result")
    assert found is not None
    assert found.queryids == ("q0",)
    (table,) = found.details["results"]
    assert table["refresh"].startswith("DELETE FROM lake.optimized.events_result_q0; INSERT")
    entry = next(q for q in result.report.verification["queries"] if q["queryid"] == "q0")
    assert "holds its result" in entry["reason"]
    estimates = result.report.estimates["stored_results"]
    assert (estimates["queries"], estimates["weight_share"]) == (1, 1.0)


def test_a_table_only_stored_results_read_is_said_to_be_answered_not_unread() -> None:
    result = analyze(workload(DISTINCT_USERS))
    assert stored(result)
    kept = [
        f
        for f in result.report.findings
        if f.code == "layout_unchanged" and f.table is not None and f.table.endswith(".events")
    ]
    assert kept, [f.code for f in result.report.findings]
    assert "answered from rollups or stored results" in kept[0].rationale
    assert "no query of the workload reads it" not in kept[0].rationale


def test_the_same_text_under_several_ids_shares_one_table() -> None:
    load = Workload(
        url="jdbc:trino://h:8080/lake/app",
        ddl=(DdlStatement(EVENTS),),
        queries=(Query("a", DISTINCT_USERS, runquantity=50), Query("b", DISTINCT_USERS, 50)),
    )
    result = analyze(load)
    assert len(stored(result)) == 1
    assert result.queries[0].query == result.queries[1].query
    assert "_result_a" in result.queries[1].query


def test_an_aggregate_a_rollup_answers_reads_the_rollup_instead() -> None:
    query = f"SELECT country, count(*) FROM {T} WHERE is_bot = false GROUP BY country"
    result = analyze(workload(query), statistics=big(country=ColumnStatistics(distinct=30)))
    assert "_rollup" in result.queries[0].query
    assert not stored(result)


def test_queries_run_rarely_or_carrying_little_weight_keep_reading_their_tables() -> None:
    assert not stored(analyze(workload(DISTINCT_USERS, runs=3)))
    light = Query("light", DISTINCT_USERS, runquantity=20, executiontime=0.1)
    heavy = Query("heavy", f"SELECT * FROM {T} WHERE user_id = 7", 10_000, executiontime=5)
    load = Workload("jdbc:trino://h:8080/lake/app", (DdlStatement(EVENTS),), (light, heavy))
    assert not stored(analyze(load))  # 20 × 0.1 s: 0.004 % of the weight, 0.2 % of the runs
    # but a fast tile run often (5 % of the runs) is worth its table
    often = Query("often", DISTINCT_USERS, runquantity=500, executiontime=0.1)
    load = Workload("jdbc:trino://h:8080/lake/app", (DdlStatement(EVENTS),), (often, heavy))
    assert stored(analyze(load))


def test_the_option_turns_stored_results_off() -> None:
    result = analyze(workload(DISTINCT_USERS, store_results=False))
    assert not stored(result)
    assert finding(result, "materialized_result") is None
    assert "lake.optimized.events " in result.queries[0].query + " "


def test_a_lookup_is_not_a_dashboard_and_is_not_reported() -> None:
    result = analyze(workload(f"SELECT * FROM {T} WHERE user_id = 7"))
    assert not stored(result)
    assert not reasons(result)


def test_at_most_max_results_tables_are_proposed_heaviest_first() -> None:
    from domain.analysis.results import MAX_RESULTS

    queries = [
        f"SELECT country, count(DISTINCT user_id) AS u FROM {T} WHERE ms > {i} GROUP BY country"
        for i in range(MAX_RESULTS + 2)
    ]
    load = Workload(
        url="jdbc:trino://h:8080/lake/app",
        ddl=(DdlStatement(EVENTS),),
        queries=tuple(Query(f"q{i}", q, 100, executiontime=1 + i) for i, q in enumerate(queries)),
    )
    result = analyze(load)
    assert len(stored(result)) == MAX_RESULTS
    assert set(reasons(result)) == {"q0", "q1"}  # the two lightest


# -- what is refused -----------------------------------------------------------------------


def test_queries_whose_value_changes_from_run_to_run_are_refused() -> None:
    refused = {
        "clock": f"SELECT count(DISTINCT user_id) FROM {T} WHERE day >= current_date - "
        "INTERVAL '7' DAY",
        "now": f"SELECT count(*) FROM {T} WHERE ts > now() - INTERVAL '1' HOUR",
        "random": f"SELECT count_if(random() < 0.5) FROM {T}",
        "arbitrary": f"SELECT country, arbitrary(device) FROM {T} GROUP BY country",
        "array_agg": f"SELECT country, array_agg(device) FROM {T} GROUP BY country",
        "max_by": f"SELECT country, max_by(device, ms) FROM {T} GROUP BY country",
        "limit": f"SELECT country, count(DISTINCT user_id) FROM {T} GROUP BY country LIMIT 3",
        "sample": f"SELECT count(DISTINCT user_id) FROM {T} TABLESAMPLE BERNOULLI (10)",
        "parameter": f"SELECT count(DISTINCT user_id) FROM {T} WHERE country = ?",
    }
    for name, query in refused.items():
        result = analyze(workload(query))
        assert not stored(result), name
        assert reasons(result), name


def test_an_order_by_over_something_not_in_the_output_is_refused() -> None:
    query = f"SELECT country FROM {T} GROUP BY country ORDER BY count(DISTINCT user_id) DESC"
    result = analyze(workload(query))
    assert not stored(result)
    assert "ORDER BY" in reasons(result)["q0"]


def test_two_outputs_of_one_name_are_refused() -> None:
    query = f"SELECT country, count(DISTINCT user_id) AS country FROM {T} GROUP BY 1"
    assert "named country" in reasons(analyze(workload(query)))["q0"]


def test_outputs_iceberg_cannot_store_are_refused() -> None:
    query = (
        f"SELECT country, count(DISTINCT user_id), max(ts) - min(ts) AS span FROM {T} "
        "GROUP BY country"
    )
    assert "interval" in reasons(analyze(workload(query)))["q0"]


def test_a_result_as_large_as_its_source_is_refused_by_the_statistics() -> None:
    query = f"SELECT user_id, count(DISTINCT session_id) FROM {T} GROUP BY user_id"
    result = analyze(workload(query), statistics=big(user_id=ColumnStatistics(distinct=5e6)))
    assert not stored(result)
    assert "too many" in reasons(result)["q0"]
    # and a few groups of it, in a list the WHERE gives, are stored
    few = query.replace("GROUP BY", "WHERE user_id IN (1, 2, 3) GROUP BY")
    assert stored(analyze(workload(few), statistics=big(user_id=ColumnStatistics(distinct=5e6))))


def test_a_day_of_hours_is_few_rows_though_the_timestamp_has_many_values() -> None:
    query = (
        f"SELECT date_trunc('hour', ts) AS h, count(DISTINCT user_id) FROM {T} "
        "WHERE ts >= TIMESTAMP '2024-03-01 00:00:00' AND ts < TIMESTAMP '2024-03-02 00:00:00' "
        "GROUP BY 1 ORDER BY 1"
    )
    assert stored(analyze(workload(query)))


def test_a_year_of_days_is_few_rows_though_the_timestamp_has_many_values() -> None:
    query = (
        f"SELECT CAST(ts AS date) AS day, avg(ms) AS ms, stddev(ms) AS sd FROM {T} "
        "WHERE country IN ('FR', 'DE') GROUP BY 1 ORDER BY 1"
    )
    year = ColumnStatistics(
        distinct=19_000_000, low="2024-01-01 00:00:00", high="2024-12-31 23:59:59"
    )
    result = analyze(workload(query), statistics=big(ts=year))
    assert stored(result), reasons(result)


def test_a_small_table_is_not_worth_a_stored_result() -> None:
    result = analyze(workload(DISTINCT_USERS), statistics=big(rows=50_000))
    assert not stored(result)
    assert "a scan costs little" in reasons(result)["q0"]


# -- the rows, labels and order --------------------------------------------------------------


def test_unnamed_and_quoted_outputs_keep_the_labels_trino_gives_them() -> None:
    query = (
        f'SELECT country, count(DISTINCT user_id), sum(amount) AS "Revenue", e.device '
        f"FROM {T} AS e GROUP BY country, e.device ORDER BY 3 DESC, country, e.device"
    )
    result = analyze(workload(query))
    assert result.queries[0].query == (
        'SELECT country, _col1, revenue AS "Revenue", device '
        "FROM lake.optimized.events_result_q0 ORDER BY revenue DESC, country, device"
    )


def test_ctes_joins_and_having_are_stored_whole() -> None:
    query = (
        "WITH s AS (SELECT session_id, min(device) AS device, bool_or(ms > 100) AS slow "
        f"FROM {T} WHERE day BETWEEN DATE '2024-03-01' AND DATE '2024-03-07' "
        "GROUP BY session_id) SELECT s.device, count(*) AS sessions, count_if(slow) AS slow "
        "FROM s GROUP BY s.device HAVING count(*) > 1 ORDER BY sessions DESC, s.device"
    )
    join = (
        f"SELECT u.plan, count(DISTINCT e.user_id) AS buyers FROM {T} e JOIN lake.app.users u "
        "ON u.user_id = e.user_id WHERE e.day >= DATE '2024-01-01' GROUP BY u.plan"
    )
    result = analyze(workload(query, join))
    assert len(stored(result)) == 2
    fills = [m.statement for m in result.migrations if "_result_" in m.statement]
    assert "WITH s AS (SELECT" in fills[0]
    assert "FROM s GROUP BY" in fills[0]
    assert "JOIN lake.app.users AS u" in fills[1]


@st.composite
def dashboards(draw: st.DrawFn) -> str:
    """A dashboard query no rollup answers (it counts distinct users): groups, counts and
    sums, written with aliases, positions or expressions in its ORDER BY (always a total
    order, over every group)."""
    groups = draw(st.lists(st.sampled_from(["country", "device", "day"]), min_size=1, max_size=2))
    groups = list(dict.fromkeys(groups))
    aggregates = draw(
        st.lists(
            st.sampled_from(
                [
                    "count(DISTINCT user_id)",
                    "count(*)",
                    "sum(amount)",
                    "avg(ms)",
                    "max(ts)",
                    "count_if(is_bot)",
                ]
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    if "count(DISTINCT user_id)" not in aggregates:
        aggregates.append("count(DISTINCT user_id)")
    named = [draw(st.booleans()) for _ in aggregates]
    items = list(groups) + [
        f"{a} AS a{i}" if name else a
        for i, (a, name) in enumerate(zip(aggregates, named, strict=True))
    ]
    sql = f"SELECT {', '.join(items)} FROM {T}"
    sql += draw(  # a range of days: few groups by day, and the result is worth storing
        st.sampled_from(
            [
                " WHERE day BETWEEN DATE '2024-01-01' AND DATE '2024-02-15'",
                " WHERE day >= DATE '2024-01-10' AND day < DATE '2024-02-01' AND ms > 10",
            ]
        )
    )
    sql += f" GROUP BY {', '.join(groups)}"
    if draw(st.booleans()):
        sql += " HAVING count(*) > 1"
    keys = []
    for position, group in enumerate(groups, start=1):
        keys.append(draw(st.sampled_from([group, str(position)])))
    first = draw(st.integers(0, len(aggregates) - 1))
    written = f"a{first}" if named[first] else aggregates[first]
    direction = draw(st.sampled_from(["", " DESC", " ASC NULLS FIRST", " DESC NULLS LAST"]))
    order = [written + direction, *keys] if draw(st.booleans()) else keys
    sql += f" ORDER BY {', '.join(order)}"
    if draw(st.booleans()):
        sql += f" LIMIT {draw(st.integers(1, 5))}"
    return sql


@st.composite
def event_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    maybe = st.one_of
    row = st.tuples(
        st.integers(1, 10_000),
        maybe(st.none(), st.integers(1, 8)),
        maybe(st.none(), st.sampled_from(["s1", "s2", "s3"])),
        maybe(st.none(), st.sampled_from(["DE", "FR", "US"])),
        maybe(st.none(), st.sampled_from(["mobile", "desktop"])),
        maybe(st.none(), st.booleans()),
        maybe(st.none(), st.dates(date(2023, 12, 20), date(2024, 2, 20))),
        maybe(st.none(), st.datetimes(datetime(2024, 1, 1), datetime(2024, 3, 1))),
        maybe(st.none(), st.decimals("-99.99", "99.99", places=2, allow_nan=False)),
        maybe(st.none(), st.integers(0, 500)),
    )
    return draw(st.lists(row, max_size=40))


def _comparable(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return None if math.isnan(number) else round(number, 6)
    return value


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    rows = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
    return [tuple(_comparable(v) for v in row) for row in rows]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=dashboards(), rows=event_rows())
def test_every_stored_result_returns_its_querys_rows_in_its_order(
    query: str, rows: list[tuple[Any, ...]]
) -> None:
    # given a dashboard and a table with NULLs in every column but the key
    result = analyze(workload(query))
    assert stored(result), query
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS lake")
    db.execute("CREATE SCHEMA lake.app")
    db.execute(duckdb_sql(EVENTS))
    db.execute(duckdb_sql(USERS))
    if rows:
        db.executemany("INSERT INTO lake.app.events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # when the new tables are created and filled
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    # then the rewrite returns the original's rows, in the original's order (a total order)
    assert _rows(db, result.queries[0].query) == _rows(db, query), result.queries[0].query


def test_a_shape_the_pass_did_not_foresee_leaves_the_rest_of_the_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import domain.analysis.results as results

    def broken(*_: object) -> None:
        raise TypeError("unforeseen")

    monkeypatch.setattr(results, "shape_query", broken)
    result = analyze(workload(DISTINCT_USERS))
    assert not stored(result)
    assert reasons(result) == {"q0": "not analysed (TypeError)"}
    assert result.queries[0].query.startswith("SELECT country")
    assert "lake.optimized.events" in result.queries[0].query
