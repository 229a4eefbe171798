"""Type fixes end to end: a varchar column holding dates becomes DATE only when every query
reading its table can be adapted, and every query then returns the same rows — with the same
column types — on the new tables (built in DuckDB by the result's own DDL and migrations) as
the original on the old ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pytest
import sqlglot

from domain.analysis import analyze
from domain.result import AnalysisResult, Finding
from domain.workload import DdlStatement, Query, Workload
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.analysis.support import duckdb_sql

DDL = (
    "CREATE TABLE lake.sales.t (id bigint, ds varchar, n integer)",
    "CREATE TABLE lake.sales.u (id bigint, x integer)",
)
ROWS = {
    "t": [(1, "2024-01-31", 10), (2, "2024-02-01", 20), (3, None, 30), (4, "2023-12-31", None)],
    "u": [(1, 7), (2, 8), (5, 9)],
    "e": [
        (1, "2024-01-31 23:59:59", "a"),
        (2, "2024-02-01 00:00:00", "b"),
        (3, "2024-02-01 00:00:01", "a"),
        (4, None, "b"),
        (5, "2023-12-31 12:00:00", None),
    ],
}
TYPES = {
    "t": "id BIGINT, ds VARCHAR, n INTEGER",
    "u": "id BIGINT, x INTEGER",
    "e": "id BIGINT, ts VARCHAR, kind VARCHAR",
}
E = "CREATE TABLE lake.sales.e (id bigint, ts varchar, kind varchar)"
V = "CREATE TABLE lake.sales.v (id bigint, ds varchar)"
# The query that makes the engine want ds as DATE.
FILTER = ("f", "SELECT count(*) FROM t WHERE ds >= '2024-01-01' AND ds < '2024-02-01'")


def workload(*queries: tuple[str, str], ddl: Sequence[str] = ()) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/lake/sales",
        ddl=tuple(DdlStatement(s) for s in (*DDL, *ddl)),
        queries=tuple(Query(queryid, sql) for queryid, sql in queries),
    )


def duckdb_of(result: AnalysisResult) -> duckdb.DuckDBPyConnection:
    """The old tables with `ROWS`, and the new ones from the result's DDL and migrations."""
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS lake")
    db.execute("CREATE SCHEMA lake.sales")
    for name, rows in ROWS.items():
        db.execute(f"CREATE TABLE lake.sales.{name} ({TYPES[name]})")
        marks = ", ".join("?" for _ in rows[0])
        db.executemany(f"INSERT INTO lake.sales.{name} VALUES ({marks})", rows)
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    db.execute("USE lake.sales")
    return db


def answer(db: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The result's columns (name, type) and its rows, in a stable order."""
    cursor = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0])
    rows = sorted(cursor.fetchall(), key=repr)
    return [(d[0], str(d[1])) for d in cursor.description], rows


def assert_same_results(workload: Workload, result: AnalysisResult) -> None:
    db = duckdb_of(result)
    for original, rewritten in zip(workload.queries, result.queries, strict=True):
        assert answer(db, rewritten.query) == answer(db, original.query), rewritten.query


def findings(result: AnalysisResult, code: str) -> list[Finding]:
    return [f for f in result.report.findings if f.code == code]


def new_ddl(result: AnalysisResult, table: str) -> str:
    prefix = f"CREATE TABLE lake.optimized.{table} "
    return next(s.statement for s in result.ddl if s.statement.startswith(prefix))


UNADAPTABLE = [
    # SELECT * over the fixed table and a subquery: the subquery's columns are unknown
    "SELECT * FROM t JOIN (SELECT id AS uid, x FROM u) s ON t.id = s.uid",
    # SELECT * over the fixed table and a CTE
    "WITH c AS (SELECT id AS uid FROM u) SELECT * FROM t JOIN c ON t.id = c.uid",
    # an unqualified column that may be the fixed one, next to a subquery
    "SELECT ds FROM t JOIN (SELECT id AS uid FROM u) s ON t.id = s.uid",
    # SELECT * over a join USING a column: it appears once, a listing would repeat it
    "SELECT * FROM t JOIN u USING (id)",
    # the query also reads a table outside the DDL: it is only retargeted
    "SELECT t.ds FROM t JOIN other o ON t.id = o.id",
]


@pytest.mark.parametrize("sql", UNADAPTABLE)
def test_a_query_that_cannot_be_adapted_keeps_the_column_varchar(sql: str) -> None:
    # given a workload that compares ds with date strings, and one query the rewrite
    # cannot adapt to a DATE ds
    load = workload(FILTER, ("q", sql))
    # when it is analysed
    result = analyze(load)
    # then the fix is refused, and the report says which query prevents it and why
    assert "ds VARCHAR" in new_ddl(result, "t")
    assert not findings(result, "type_fix")
    assert not findings(result, "type_fix_skipped")
    [refused] = findings(result, "type_fix_refused")
    assert refused.queryids == ("q",)
    assert refused.details["queries"][0]["reason"]
    assert all("CAST(ds AS DATE)" not in m.statement for m in result.migrations)
    # and the filter is left comparing strings
    assert "ds >= '2024-01-01'" in result.queries[0].query
    assert_result_obeys_contract(load, result)


@pytest.mark.parametrize("sql", UNADAPTABLE[:4])
def test_a_query_that_cannot_be_adapted_returns_the_same_columns_and_rows_in_duckdb(
    sql: str,
) -> None:
    load = workload(FILTER, ("q", sql))
    result = analyze(load)
    assert_same_results(load, result)


ADAPTABLE = [
    "WITH c AS (SELECT * FROM t) SELECT * FROM c",
    "SELECT * FROM (SELECT * FROM t WHERE n > 0) x",
    "SELECT x.* FROM (SELECT t.*, u.x AS ux FROM t JOIN u ON t.id = u.id) x",
    "WITH c AS (SELECT ds FROM t) SELECT ds, count(*) AS k FROM c GROUP BY ds ORDER BY ds",
    "SELECT t.ds, s.x FROM t JOIN (SELECT id, x FROM u) s ON t.id = s.id",
    "SELECT ds FROM t WHERE ds IN ('2024-01-31', '2023-12-31') OR ds IS NULL ORDER BY ds",
    "SELECT max(ds) AS last, min(CAST(ds AS date)) AS first FROM t",
]


@pytest.mark.parametrize("sql", ADAPTABLE)
def test_a_query_that_can_be_adapted_keeps_its_columns_and_rows_in_duckdb(sql: str) -> None:
    # given the same filter, and a query that reads ds through a CTE, a subquery or a star
    load = workload(FILTER, ("q", sql))
    # when it is analysed
    result = analyze(load)
    # then ds becomes a DATE, the query is adapted, and it returns exactly what it did
    assert "ds DATE" in new_ddl(result, "t")
    assert not findings(result, "type_fix_refused")
    assert_same_results(load, result)
    assert_result_obeys_contract(load, result)


def test_only_the_table_read_unadaptably_keeps_its_type() -> None:
    # given two tables with a date kept as text, one of them read by a SELECT * mixing it
    # with a subquery
    load = workload(
        FILTER,
        ("g", "SELECT count(*) FROM v WHERE ds = '2024-02-01'"),
        ("q", "SELECT * FROM t, (SELECT 1 AS one) s"),
        ("h", "SELECT * FROM v, (SELECT 1 AS one) s WHERE v.id > 0 AND v.ds > '2024'"),
        ddl=[V],
    )
    result = analyze(load)
    # then each table's fix is decided on the queries reading it
    assert "ds VARCHAR" in new_ddl(result, "t")
    assert "ds VARCHAR" in new_ddl(result, "v")  # h compares with a non-date: never fixed
    assert [f.queryids for f in findings(result, "type_fix_refused")] == [("q",)]


def test_a_refused_fix_is_decided_again_when_another_query_reads_both_tables() -> None:
    # given a query adaptable to both fixes, and another that blocks one of them
    load = workload(
        FILTER,
        ("g", "SELECT count(*) FROM v WHERE ds = '2024-02-01'"),
        ("both", "SELECT t.ds, v.ds AS vds FROM t JOIN v ON t.id = v.id"),
        ("q", "SELECT * FROM t, (SELECT 1 AS one) s"),
        ddl=[V],
    )
    result = analyze(load)
    # then t keeps varchar, v becomes a date, and the query reading both reads t as it is
    assert "ds VARCHAR" in new_ddl(result, "t")
    assert "ds DATE" in new_ddl(result, "v")
    both = result.queries[2].query
    assert "CAST(v.ds AS VARCHAR) AS vds" in both
    assert "CAST(t.ds" not in both


# --- timestamps kept as varchar ---------------------------------------------------------

TS_FILTER = (
    "f",
    "SELECT count(*) FROM e WHERE ts >= '2024-01-31 00:00:00' AND ts < '2024-02-01 00:00:01'",
)
TS_QUERIES = [
    "SELECT id, ts FROM e WHERE ts > '2024-02-01 00:00:00' OR ts IS NULL",
    "SELECT * FROM e WHERE ts BETWEEN '2024-01-01 00:00:00' AND '2024-02-01 00:00:00'",
    "SELECT id FROM e WHERE ts IN ('2024-02-01 00:00:00', '2023-12-31 12:00:00')",
    "SELECT id FROM e WHERE ts <= '2024-02-01 00:00:00' AND ts <> '2024-01-31 23:59:59'",
    "SELECT substr(ts, 1, 10) AS day, count(*) AS n FROM e GROUP BY substr(ts, 1, 10)",
    "SELECT kind, max(ts) AS last, sum(CASE WHEN ts LIKE '2024-02%' THEN 1 ELSE 0 END) AS feb "
    "FROM e GROUP BY kind",
    "WITH c AS (SELECT * FROM e) SELECT ts, kind FROM c ORDER BY ts",
    "SELECT e.ts || '!' AS loud, length(ts) AS len FROM e",
]


@pytest.mark.parametrize("sql", TS_QUERIES)
def test_a_varchar_timestamp_becomes_a_timestamp_and_every_query_keeps_its_result(
    sql: str,
) -> None:
    # given a varchar column compared with 'YYYY-MM-DD HH:MM:SS' literals, and another query
    load = workload(TS_FILTER, ("q", sql), ddl=[E])
    # when it is analysed
    result = analyze(load)
    # then the column is stored as timestamp(6), converted by CAST in the migration
    assert "ts TIMESTAMP(6)" in new_ddl(result, "e")
    [fix] = findings(result, "type_fix")
    assert fix.details["to"] == "TIMESTAMP(6)"
    assert any("CAST(ts AS TIMESTAMP(6))" in m.statement for m in result.migrations)
    # and the filter compares timestamps
    assert "ts >= CAST('2024-01-31 00:00:00' AS TIMESTAMP)" in result.queries[0].query
    # and both queries return the same columns, types and rows as before, in DuckDB
    assert_same_results(load, result)
    assert_result_obeys_contract(load, result)


def test_the_timestamp_check_finds_the_values_not_in_canonical_form() -> None:
    result = analyze(workload(TS_FILTER, ddl=[E]))
    [fix] = findings(result, "type_fix")
    db = duckdb_of(result)
    db.execute("CREATE TABLE lake.sales.bad (ts VARCHAR)")
    db.executemany(
        "INSERT INTO lake.sales.bad VALUES (?)",
        [("2024-01-01 10:00:00",), ("2024-01-01T10:00:00",), ("2024-01-01 10:00",), (None,)],
    )
    check = fix.details["check"].replace("lake.sales.e", "lake.sales.bad")
    duck = sqlglot.transpile(check, read="trino", write="duckdb")[0]
    assert db.execute(duck).fetchone() == (2,)
    original = sqlglot.transpile(fix.details["check"], read="trino", write="duckdb")[0]
    assert db.execute(original).fetchone() == (0,)


@pytest.mark.parametrize(
    "other",
    [
        "SELECT count(*) FROM e WHERE ts >= '2024-02-01'",  # a date: string order differs
        "SELECT count(*) FROM e WHERE ts = '2024-02-01 00:00:00.5'",  # a fraction
        "SELECT count(*) FROM e WHERE ts < '2024-02-01T00:00:00'",  # not Trino's form
    ],
)
def test_a_timestamp_text_compared_with_other_shapes_is_not_fixed(other: str) -> None:
    result = analyze(workload(TS_FILTER, ("q", other), ddl=[E]))
    assert "ts VARCHAR" in new_ddl(result, "e")
    assert not findings(result, "type_fix")
