"""Restructure pass: each rewrite returns the same rows, checked in DuckDB over data with
NULLs and the boundary values of every unit (the last microsecond of a day, month, year)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from domain.analysis.catalog import Catalog, Column, SourceTable
from domain.analysis.names import Session, TableName
from domain.analysis.restructure import ORDER_BY_DROPPED, PREDICATE_REWRITTEN, restructure

T = TableName("lake", "s", "t")
COLUMNS = {"d": "date", "ts": "timestamp(6)", "tz": "timestamp(6) with time zone", "v": "varchar"}


def catalog() -> Catalog:
    columns = tuple(
        Column(exp.to_identifier(name), exp.DataType.build(kind, dialect="trino"))
        for name, kind in COLUMNS.items()
    )
    return Catalog(Session("lake", "s"), {T: SourceTable(T, columns)})


def rewrite(sql: str, fixes: dict[str, str] | None = None) -> tuple[str, set[str]]:
    tree = sqlglot.parse_one(sql, read="trino")
    source = catalog().tables[T]
    types = {T: {c.key: c.data_type for c in source.columns}}
    fixed = {T: {k: exp.DataType.build(v) for k, v in (fixes or {}).items()}}
    if fixes:
        types[T] = {**types[T], **fixed[T]}
    made = restructure(tree, catalog(), types, fixed if fixes else {})
    return tree.sql("trino"), made


def boundary_rows() -> list[tuple[Any, ...]]:
    days = [
        date(2023, 12, 31),
        date(2024, 1, 1),
        date(2024, 2, 29),
        date(2024, 3, 1),
        date(2024, 6, 30),
        date(2024, 7, 1),
        date(2024, 12, 31),
        date(2025, 1, 1),
    ]
    rows: list[tuple[Any, ...]] = [(None, None)]
    for day in days:
        midnight = datetime(day.year, day.month, day.day)
        for moment in (
            midnight,
            midnight - timedelta(microseconds=1),
            midnight + timedelta(hours=13, minutes=5),
        ):
            rows.append((day, moment))
    return rows


def run(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    duck = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
    return sorted(db.execute(duck).fetchall(), key=repr)


@pytest.fixture
def db() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (d DATE, ts TIMESTAMP)")
    connection.executemany("INSERT INTO t VALUES (?, ?)", boundary_rows())
    return connection


UNITS = ["year", "quarter", "month", "week", "day", "hour"]
OPS = ["=", "<", "<=", ">", ">="]


@st.composite
def predicates(draw: st.DrawFn) -> str:
    column = draw(st.sampled_from(["d", "ts"]))
    op = draw(st.sampled_from(OPS))
    day = draw(st.sampled_from([r[0] for r in boundary_rows() if r[0] is not None]))
    shape = draw(st.sampled_from(["year", "cast", "date", "trunc", "year_month"]))
    if shape == "year":
        return f"year({column}) {op} {day.year}"
    if shape == "year_month":
        return f"year({column}) = {day.year} AND month({column}) = {day.month}"
    if shape in ("cast", "date"):
        inner = f"CAST({column} AS date)" if shape == "cast" else f"date({column})"
        return f"{inner} {op} DATE '{day.isoformat()}'"
    unit = draw(st.sampled_from(UNITS if column == "ts" else UNITS[:-1]))
    truncated = draw(st.booleans())
    if column == "d":
        shifted = day if truncated else day + timedelta(days=1)
        literal = f"DATE '{shifted.isoformat()}'"
    else:
        hour = "00" if truncated else "13"
        literal = f"TIMESTAMP '{day.isoformat()} {hour}:00:00'"
    flipped = draw(st.booleans())
    left = f"date_trunc('{unit}', {column})"
    return f"{literal} {op} {left}" if flipped else f"{left} {op} {literal}"


@settings(max_examples=80, deadline=None)
@given(predicate=predicates(), negate=st.booleans())
def test_every_prunable_rewrite_returns_the_same_rows_in_duckdb(
    predicate: str, negate: bool
) -> None:
    # given a table with NULLs and values on every unit's boundary
    db = duckdb.connect()
    db.execute("CREATE TABLE t (d DATE, ts TIMESTAMP)")
    db.executemany("INSERT INTO t VALUES (?, ?)", boundary_rows())
    condition = f"NOT ({predicate})" if negate else predicate
    original = f"SELECT d, ts FROM t WHERE {condition}"
    # when the predicate is rewritten
    rewritten, _ = rewrite(original)
    # then both return the same rows
    assert run(db, rewritten) == run(db, original), rewritten


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT 1 FROM t WHERE year(ts) = 2024",
            "ts >= CAST('2024-01-01 00:00:00' AS TIMESTAMP) AND "
            "ts < CAST('2025-01-01 00:00:00' AS TIMESTAMP)",
        ),
        (
            "SELECT 1 FROM t WHERE CAST(ts AS date) = DATE '2024-02-29'",
            "ts >= CAST('2024-02-29 00:00:00' AS TIMESTAMP) AND "
            "ts < CAST('2024-03-01 00:00:00' AS TIMESTAMP)",
        ),
        (
            "SELECT 1 FROM t WHERE year(d) = 2024 AND month(d) = 6",
            "d >= CAST('2024-06-01' AS DATE) AND d < CAST('2024-07-01' AS DATE) AND MONTH(d) = 6",
        ),
        (
            "SELECT 1 FROM t WHERE date_trunc('month', d) >= DATE '2024-03-01'",
            "d >= CAST('2024-03-01' AS DATE)",
        ),
    ],
)
def test_temporal_predicates_become_ranges_on_the_column(sql: str, expected: str) -> None:
    rewritten, made = rewrite(sql)
    assert made == {PREDICATE_REWRITTEN}
    assert rewritten.endswith(f"WHERE {expected}")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 FROM t WHERE year(tz) = 2024",  # its calendar depends on the session zone
        "SELECT 1 FROM t WHERE date_trunc('month', d) = DATE '2024-03-02'",  # never true
        "SELECT 1 FROM t WHERE month(d) = 6",  # every year: not one range
        "SELECT 1 FROM t WHERE year(v) = 2024",  # not a temporal column
    ],
)
def test_predicates_that_cannot_become_one_exact_range_are_kept(sql: str) -> None:
    rewritten, made = rewrite(sql)
    assert made == set()
    assert rewritten == sqlglot.parse_one(sql, read="trino").sql("trino")


def test_order_by_is_dropped_only_where_it_cannot_change_the_result() -> None:
    rewritten, made = rewrite(
        "WITH a AS (SELECT d FROM t ORDER BY d), b AS (SELECT d FROM t ORDER BY d LIMIT 3) "
        "SELECT d FROM a UNION ALL SELECT d FROM b ORDER BY d"
    )
    assert made == {ORDER_BY_DROPPED}
    assert rewritten == (
        "WITH a AS (SELECT d FROM t), b AS (SELECT d FROM t ORDER BY d LIMIT 3) "
        "SELECT d FROM a UNION ALL SELECT d FROM b ORDER BY d"
    )


def test_a_varchar_date_fixed_to_date_returns_the_same_rows(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # given ds kept as 'YYYY-MM-DD' text in the old table and as DATE in the new one
    db.execute("CREATE TABLE old (ds VARCHAR, n INTEGER)")
    db.execute("INSERT INTO old VALUES ('2024-01-31', 1), ('2024-02-01', 2), (NULL, 3)")
    db.execute("CREATE TABLE new AS SELECT CAST(ds AS DATE) AS ds, n FROM old")
    sql = (
        "SELECT ds, n, CAST(ds AS date) AS day FROM {t} WHERE ds >= '2024-02-01' "
        "OR ds IN ('2024-01-31') OR ds IS NULL ORDER BY ds"
    )
    tree = sqlglot.parse_one(sql.format(t="t"), read="trino")
    types = {T: {"ds": exp.DataType.build("date"), "n": exp.DataType.build("int")}}
    fixes = {T: {"ds": exp.DataType.build("date")}}
    cat = Catalog(
        Session("lake", "s"),
        {
            T: SourceTable(
                T,
                (
                    Column(exp.to_identifier("ds"), exp.DataType.build("varchar")),
                    Column(exp.to_identifier("n"), exp.DataType.build("int")),
                ),
            )
        },
    )
    # when the query is adapted to the fixed type
    made = restructure(tree, cat, types, fixes)
    rewritten = tree.sql("trino").replace(" t ", " new ").replace("FROM t", "FROM new")
    # then it returns the same rows, column names and all
    assert made
    original = sql.format(t="old")
    assert run(db, rewritten) == run(db, original), rewritten
    duck = sqlglot.transpile(rewritten, read="trino", write="duckdb")[0]
    assert [d[0] for d in db.execute(duck).description] == ["ds", "n", "day"]
