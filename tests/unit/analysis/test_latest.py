"""Latest rows: a query that numbers a history to keep the first row per key reads a table of
those rows instead, and returns exactly what it returned before."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.result import AnalysisResult
from domain.statistics import ColumnStatistics, TableStatistics, WorkloadStatistics
from domain.workload import DdlStatement, Query, Workload
from tests.unit.analysis.support import duckdb_sql

HUB = "CREATE TABLE dv.raw.hub_customer (customer_hk varchar, customer_bk varchar)"
SAT = (
    "CREATE TABLE dv.raw.sat_customer (customer_hk varchar, load_dts timestamp(6), hash_diff"
    " varchar, country varchar, segment varchar, is_active boolean, balance decimal(12, 2))"
)
LATEST = (
    "(SELECT customer_hk, country, segment, is_active, balance, row_number() OVER (PARTITION BY"
    " customer_hk ORDER BY load_dts DESC, hash_diff DESC) AS rn FROM dv.raw.sat_customer)"
)


def large() -> WorkloadStatistics:
    """Statistics of a large vault: many keys, several versions each, few countries."""
    few = ColumnStatistics(distinct=3, null_fraction=0.2)
    return WorkloadStatistics(
        tables={
            TableName("dv", "raw", "hub_customer"): TableStatistics(
                rows=2e6, data_bytes=1 << 30, columns={"customer_hk": ColumnStatistics(2e6)}
            ),
            TableName("dv", "raw", "sat_customer"): TableStatistics(
                rows=8e6,
                data_bytes=4 << 30,
                columns={
                    "customer_hk": ColumnStatistics(distinct=2e6),
                    "country": few,
                    "segment": few,
                    "is_active": ColumnStatistics(distinct=2, null_fraction=0.2),
                },
            ),
        }
    )


def workload(*queries: str) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/dv/raw",
        ddl=(DdlStatement(HUB), DdlStatement(SAT)),
        queries=tuple(Query(f"q{i}", q, runquantity=100) for i, q in enumerate(queries)),
    )


def latest_reads(result: AnalysisResult) -> list[bool]:
    return ["sat_customer_latest" in q.query for q in result.queries]


def test_the_current_row_of_each_key_is_read_from_a_table_of_those_rows() -> None:
    query = (
        f"SELECT h.customer_bk, s.country FROM dv.raw.hub_customer h JOIN {LATEST} s "
        "ON s.customer_hk = h.customer_hk AND s.rn = 1"
    )
    result = analyze(workload(query))
    [rewritten] = result.queries
    assert "dv.optimized.sat_customer_latest" in rewritten.query
    assert "row_number" not in rewritten.query.lower()
    creates = [s.statement for s in result.ddl if "_latest" in s.statement]
    assert creates == [
        "CREATE TABLE dv.optimized.sat_customer_latest WITH (format = 'PARQUET', "
        "format_version = 2) AS SELECT * FROM dv.raw.sat_customer WITH NO DATA"
    ]
    [fill] = [m.statement for m in result.migrations if "_latest" in m.statement]
    # filled from the new copy of the satellite, after it was filled
    copy = next(
        i
        for i, m in enumerate(result.migrations)
        if "INTO dv.optimized.sat_customer " in m.statement
    )
    assert result.migrations.index(next(m for m in result.migrations if m.statement == fill)) > copy
    assert "ORDER BY load_dts DESC, hash_diff DESC" in fill
    [finding] = [f for f in result.report.findings if f.code == "latest_rows"]
    assert finding.queryids == ("q0",)
    assert "ties" in finding.risk or "tie" in finding.risk


def test_queries_that_keep_other_rows_than_the_first_keep_their_window() -> None:
    queries = [
        # a filter inside numbers a different set of rows
        "SELECT country FROM (SELECT customer_hk, country, row_number() OVER (PARTITION BY "
        "customer_hk ORDER BY load_dts DESC) AS rn FROM dv.raw.sat_customer WHERE is_active) s "
        "WHERE s.rn = 1",
        # the two latest rows
        f"SELECT s.country FROM {LATEST} s WHERE s.rn <= 2",
        # the first row only under an OR
        f"SELECT s.country FROM {LATEST} s WHERE s.rn = 1 OR s.country = 'DE'",
        # the numbered rows on the kept side of a LEFT JOIN, filtered in its ON only
        f"SELECT s.country FROM {LATEST} s LEFT JOIN dv.raw.hub_customer h "
        "ON h.customer_hk = s.customer_hk AND s.rn = 1",
        # a rank, not a row number
        "SELECT country FROM (SELECT country, rank() OVER (PARTITION BY customer_hk ORDER BY "
        "load_dts DESC) AS rn FROM dv.raw.sat_customer) s WHERE s.rn = 1",
    ]
    result = analyze(workload(*queries))
    assert latest_reads(result) == [False] * len(queries)
    assert not any("_latest" in s.statement for s in result.ddl)


def test_queries_with_the_same_window_share_one_latest_table() -> None:
    queries = [
        f"SELECT s.country, count(*) FROM {LATEST} s WHERE s.rn = 1 GROUP BY 1",
        f"SELECT h.customer_bk, s.segment FROM dv.raw.hub_customer h LEFT JOIN {LATEST} s "
        "ON s.customer_hk = h.customer_hk AND s.rn = 1",
        "SELECT x.country FROM (SELECT country, customer_hk, row_number() OVER (PARTITION BY "
        "customer_hk ORDER BY load_dts ASC) AS first FROM dv.raw.sat_customer) x WHERE "
        "x.first = 1",
    ]
    result = analyze(workload(*queries))
    # the first through a rollup of the latest rows, the second directly
    assert "_rollup" in result.queries[0].query
    assert latest_reads(result)[1]
    creates = [
        s.statement for s in result.ddl if "SELECT * FROM dv.raw.sat_customer" in s.statement
    ]
    assert len(creates) == 2  # the earliest row per key is another table
    assert "sat_customer_latest_2" in result.queries[2].query


# -- exactly the same rows (DuckDB) ---------------------------------------------------------

_PLACES = [
    "JOIN {latest} s ON s.customer_hk = h.customer_hk AND s.rn = 1",
    "JOIN {latest} s ON s.customer_hk = h.customer_hk",  # rn = 1 in the WHERE
    "LEFT JOIN {latest} s ON s.customer_hk = h.customer_hk AND s.rn = 1",
]
_FILTERS = ["s.is_active = true", "s.country = 'DE'", "s.country IS NULL", "h.customer_bk > 'B'"]
_SELECTS = [
    "s.country, count(*) AS n GROUP BY s.country",
    "s.segment, sum(s.balance) AS b, count(DISTINCT h.customer_hk) AS c GROUP BY s.segment",
    "h.customer_bk, s.country, s.balance, s.rn",
]


@st.composite
def latest_queries(draw: st.DrawFn) -> str:
    place = draw(st.sampled_from(_PLACES)).format(latest=LATEST)
    filters = draw(st.lists(st.sampled_from(_FILTERS), max_size=2, unique=True))
    if "ON s.customer_hk = h.customer_hk AND" not in place:
        filters = ["s.rn = 1", *filters]
    select = draw(st.sampled_from(_SELECTS))
    columns, _, group = select.partition(" GROUP BY ")
    sql = f"SELECT {columns} FROM dv.raw.hub_customer h {place}"
    if filters:
        sql += f" WHERE {' AND '.join(filters)}"
    if group:
        sql += f" GROUP BY {group}"
    return sql


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Hub rows and satellite versions: (key, load time) unique, NULLs in the attributes."""
    keys = draw(st.lists(st.sampled_from([f"k{i}" for i in range(8)]), unique=True, max_size=8))
    hub = [(k, draw(st.sampled_from(["A1", "B2", "C3", None]))) for k in keys]
    start = datetime(2024, 1, 1)
    versions = []
    for key in [*keys, "orphan"]:
        loads = draw(st.lists(st.integers(0, 50), unique=True, max_size=4))
        for load in loads:
            maybe = st.one_of
            versions.append(
                (
                    key,
                    start + timedelta(days=load),
                    draw(st.sampled_from(["h1", "h2"])),
                    draw(maybe(st.none(), st.sampled_from(["DE", "FR"]))),
                    draw(maybe(st.none(), st.sampled_from(["smb", "ent"]))),
                    draw(maybe(st.none(), st.booleans())),
                    draw(maybe(st.none(), st.decimals("-99.99", "99.99", places=2))),
                )
            )
    return hub, versions


def _loaded(
    hub: list[tuple[Any, ...]], versions: list[tuple[Any, ...]], result: AnalysisResult
) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS dv")
    db.execute("CREATE SCHEMA dv.raw")
    db.execute(duckdb_sql(HUB))
    db.execute(duckdb_sql(SAT))
    if hub:
        db.executemany("INSERT INTO dv.raw.hub_customer VALUES (?, ?)", hub)
    if versions:
        db.executemany("INSERT INTO dv.raw.sat_customer VALUES (?, ?, ?, ?, ?, ?, ?)", versions)
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    return db


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    rows = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()

    def comparable(value: Any) -> Any:
        if isinstance(value, (float, Decimal)):
            number = float(value)
            return None if math.isnan(number) else round(number, 6)
        return value

    return sorted((tuple(comparable(v) for v in row) for row in rows), key=repr)


def test_aggregates_of_the_latest_rows_of_a_large_history_read_a_rollup_of_them() -> None:
    query = (
        f"SELECT s.country, count(*) AS n FROM dv.raw.hub_customer h JOIN {LATEST} s "
        "ON s.customer_hk = h.customer_hk AND s.rn = 1 WHERE s.is_active = true GROUP BY 1"
    )
    result = analyze(workload(query), statistics=large())
    [rewritten] = result.queries
    assert "_rollup" in rewritten.query
    # the rollup computes the latest rows from the source itself: every migration reads the
    # source tables, and no latest table is built for the rollup alone
    [fill] = [m.statement for m in result.migrations if "_rollup" in m.statement]
    assert "FROM dv.raw.sat_customer" in fill
    assert "ROW_NUMBER() OVER (PARTITION BY CUSTOMER_HK" in fill.upper()
    assert not any("_latest" in s.statement for s in result.ddl)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.lists(latest_queries(), min_size=1, max_size=3),
    data=histories(),
    statistics=st.sampled_from([None, large()]),
)
def test_every_query_that_reads_the_latest_rows_returns_the_rows_it_returned_before(
    queries: list[str],
    data: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]],
    statistics: WorkloadStatistics | None,
) -> None:
    # given queries of the latest rows, with or without statistics of a large history (then
    # rollups of the latest rows answer some)
    result = analyze(workload(*queries), statistics=statistics)
    assert all(latest_reads(result) or "_rollup" in q.query for q in result.queries)
    db = _loaded(*data, result)
    for original, rewritten in zip(queries, result.queries, strict=True):
        assert _rows(db, rewritten.query) == _rows(db, original), rewritten.query
