"""Numbers kept as varchar: a varchar column the queries only read through ``CAST(col AS
<number type>)`` (or as a whole text) becomes that number type, and every query then returns
the same rows — with the same column types — on the new tables (built in DuckDB by the
result's own DDL and migrations) as the original on the old ones. A query that shows the text
is more than a number (TRY_CAST, a string comparison, LIKE, a function of the text, another
number type, a write) keeps the column varchar, and the report says which query and why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analysis import analyze
from domain.analysis.catalog import build_catalog
from domain.analysis.parse import parse_ddl
from domain.analysis.usage import column_uses
from domain.result import AnalysisResult, Finding
from domain.workload import DdlStatement, Query, Workload
from tests.unit.analysis.contract import assert_result_obeys_contract
from tests.unit.analysis.support import duckdb_sql

N = (
    "CREATE TABLE lake.sales.n (id bigint, qty varchar, price varchar, w varchar, "
    "ds varchar, note varchar)"
)
M = "CREATE TABLE lake.sales.m (ref_id bigint, label varchar)"
TYPES = {
    "n": "id BIGINT, qty VARCHAR, price VARCHAR, w VARCHAR, ds VARCHAR, note VARCHAR",
    "m": "ref_id BIGINT, label VARCHAR",
}
# Canonical texts (as Trino prints a bigint and a decimal(12,2)) whose text order is not
# their numbers' order ('9' > '10', '-0.75' < '-5.00' as text); w is a double's text, in any
# form a double parses from (no query reads its text back).
ROWS: dict[str, list[tuple[Any, ...]]] = {
    "n": [
        (1, "9", "9.99", "1.5", "2024-01-31", "a"),
        (2, "10", "12.50", "1e3", "2024-02-01", "b"),
        (3, "-5", "-0.75", "007", None, None),
        (4, None, "100.00", None, "2023-12-31", "a"),
        (5, "123456789012", None, "2.50", "2024-02-01", "c"),
        (6, "0", "0.50", "-3", "2024-01-01", "b"),
    ],
    "m": [(9, "nine"), (10, "ten"), (0, "zero"), (77, "none")],
}
# The queries that show qty holds bigints, price decimal(12,2)s and w doubles. (Aggregates
# filter on id, which no rollup keeps: a query a rollup answers does not read the table.)
CASTS = (
    ("c1", "SELECT id FROM n WHERE CAST(qty AS bigint) > 9"),
    ("c2", "SELECT id, CAST(price AS decimal(12,2)) AS amount FROM n"),
    ("c3", "SELECT avg(CAST(w AS double)) AS mean FROM n WHERE id > 0"),
)


def workload(*queries: tuple[str, str]) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/lake/sales",
        ddl=(DdlStatement(N), DdlStatement(M)),
        queries=tuple(Query(queryid, sql) for queryid, sql in queries),
    )


def duckdb_of(result: AnalysisResult, rows: dict[str, list[tuple[Any, ...]]] | None = None) -> Any:
    """The old tables with `rows`, and the new ones from the result's DDL and migrations."""
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS lake")
    db.execute("CREATE SCHEMA lake.sales")
    for name, data in (rows or ROWS).items():
        db.execute(f"CREATE TABLE lake.sales.{name} ({TYPES[name]})")
        if data:
            marks = ", ".join("?" for _ in data[0])
            db.executemany(f"INSERT INTO lake.sales.{name} VALUES ({marks})", data)
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    db.execute("USE lake.sales")
    return db


def answer(db: Any, sql: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The result's columns (name, type) and its rows, in the order the query gives them."""
    cursor = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0])
    rows = cursor.fetchall()
    if sqlglot.parse_one(sql, read="trino").args.get("order") is None:
        rows = sorted(rows, key=repr)  # no order of its own: any order of the rows
    return [(d[0], str(d[1])) for d in cursor.description], rows


def assert_same_results(load: Workload, result: AnalysisResult, rows: Any = None) -> None:
    db = duckdb_of(result, rows)
    for original, rewritten in zip(load.queries, result.queries, strict=True):
        assert answer(db, rewritten.query) == answer(db, original.query), rewritten.query


def findings(result: AnalysisResult, code: str) -> list[Finding]:
    return [f for f in result.report.findings if f.code == code]


def new_ddl(result: AnalysisResult) -> str:
    return next(s.statement for s in result.ddl if "lake.optimized.n " in s.statement)


def query(result: AnalysisResult, queryid: str) -> str:
    return next(q.query for q in result.queries if q.queryid == queryid)


# --- what is fixed ----------------------------------------------------------------------


def test_columns_only_cast_to_one_number_type_become_that_type() -> None:
    # given varchar columns the queries only read as CAST(… AS bigint / decimal / double)
    load = workload(*CASTS)
    # when the workload is analysed
    result = analyze(load)
    # then each becomes the type it is cast to, and the migration converts it with that CAST
    ddl = new_ddl(result)
    assert "qty BIGINT" in ddl
    assert "price DECIMAL(12, 2)" in ddl
    assert "w DOUBLE" in ddl
    assert "note VARCHAR" in ddl
    assert "ds VARCHAR" in ddl
    [copy] = [m.statement for m in result.migrations if "optimized.n " in m.statement]
    assert "CAST(qty AS BIGINT), CAST(price AS DECIMAL(12, 2)), CAST(w AS DOUBLE)" in copy
    # and the casts in the queries become the column itself
    assert query(result, "c1") == "SELECT id FROM lake.optimized.n WHERE qty > 9"
    assert query(result, "c2") == "SELECT id, price AS amount FROM lake.optimized.n"
    assert "AVG(w)" in query(result, "c3")
    # and each fix is reported with the check that proves it on the user's data
    fixes = {f.details["column"]: f for f in findings(result, "type_fix")}
    assert set(fixes) == {"qty", "price", "w"}
    assert fixes["qty"].details["check"] == (
        "SELECT count(*) FROM lake.sales.n WHERE qty IS NOT NULL AND (try_cast(qty AS BIGINT) "
        "IS NULL OR CAST(try_cast(qty AS BIGINT) AS varchar) <> qty)"
    )
    # a double's text is never read back: converting is all its check asks
    assert "<> w" not in fixes["w"].details["check"]
    assert_same_results(load, result)
    assert_result_obeys_contract(load, result)


# Every kind of use of qty (bigint) and price (decimal), and how the rewrite adapts it.
ADAPTED = [
    # a filter: the number itself
    ("SELECT id FROM n WHERE CAST(qty AS bigint) BETWEEN -5 AND 10", "WHERE qty BETWEEN -5"),
    # aggregates and projections of the number
    (
        "SELECT max(CAST(qty AS bigint)) AS top, sum(CAST(price AS decimal(12,2))) AS s FROM n "
        "WHERE id > 0",
        "MAX(qty) AS top, SUM(price) AS s",
    ),
    # a join on the number
    (
        "SELECT n.id, m.label FROM n JOIN m ON CAST(n.qty AS bigint) = m.ref_id",
        "ON n.qty = m.ref_id",
    ),
    # the text projected: read back as CAST(col AS varchar), under its own name
    (
        "SELECT id, qty, price FROM n WHERE CAST(price AS decimal(12,2)) > 1",
        "CAST(qty AS VARCHAR) AS qty, CAST(price AS VARCHAR) AS price",
    ),
    # ordered by the number and limited, the text projected: the cast stays in ORDER BY
    # (there qty may name the output column, now text)
    (
        "SELECT qty FROM n ORDER BY CAST(qty AS bigint) DESC LIMIT 2",
        "ORDER BY CAST(qty AS BIGINT) DESC",
    ),
    # ordered by the text: still the text's order
    ("SELECT id, qty FROM n ORDER BY qty, id", "ORDER BY CAST(qty AS VARCHAR), id"),
    # grouped by the text
    (
        "SELECT price, count(*) AS k FROM n WHERE id > 0 GROUP BY price",
        "GROUP BY CAST(price AS VARCHAR)",
    ),
    # NULL tests, counts, distinct counts, min/max of the text
    (
        "SELECT count(qty) AS k, count(DISTINCT price) AS d, max(qty) AS top FROM n WHERE id > 0 "
        "AND (qty IS NULL OR CAST(qty AS bigint) < 0)",
        "COUNT(CAST(qty AS VARCHAR))",
    ),
    # the text read as text
    ("SELECT CAST(qty AS varchar) AS q FROM n", "CAST(qty AS VARCHAR) AS q"),
    # SELECT *: the columns listed, the fixed ones read back as text (w's fix is refused:
    # a double's text is not the text it held)
    ("SELECT * FROM n WHERE CAST(qty AS bigint) = 10", "CAST(n.qty AS VARCHAR) AS qty"),
    # through a CTE: its projection reads the text, the outer cast converts it again
    (
        "WITH c AS (SELECT id, qty FROM n) SELECT max(CAST(qty AS bigint)) AS top FROM c "
        "WHERE id > 0",
        "SELECT id, CAST(qty AS VARCHAR) AS qty FROM",
    ),
    # a window partitioned by the text and ordered by the number
    (
        "SELECT id, rank() OVER (PARTITION BY qty ORDER BY CAST(price AS decimal(12,2))) AS r "
        "FROM n",
        "OVER (PARTITION BY CAST(qty AS VARCHAR) ORDER BY CAST(price AS DECIMAL(12, 2)))",
    ),
    # equal to another varchar column: text to text
    ("SELECT a.id FROM n a JOIN n b ON a.qty = b.note", "CAST(a.qty AS VARCHAR) = b.note"),
]


@pytest.mark.parametrize(("sql", "expected"), ADAPTED)
def test_every_kind_of_use_is_adapted_and_returns_the_same_rows(sql: str, expected: str) -> None:
    # given the casts that make qty a bigint and price a decimal, and a query using them
    load = workload(*CASTS, ("q", sql))
    # when the workload is analysed
    result = analyze(load)
    # then the columns are fixed, the query is adapted as described
    assert "qty BIGINT" in new_ddl(result)
    assert "price DECIMAL(12, 2)" in new_ddl(result)
    assert expected in query(result, "q"), query(result, "q")
    refused = [f.details["columns"] for f in findings(result, "type_fix_refused")]
    assert refused == ([["w"]] if "SELECT *" in sql else [])
    # and it returns exactly the columns, types and rows it did (in order where it orders)
    assert_same_results(load, result)
    assert_result_obeys_contract(load, result)


# --- what is refused, and why -----------------------------------------------------------

REFUSED = [
    ("SELECT count(*) FROM n WHERE try_cast(qty AS bigint) > 0", "TRY_CAST"),
    ("SELECT id FROM n WHERE qty = '007'", "compares the text of qty"),
    ("SELECT id FROM n WHERE qty > '5'", "compares the text of qty"),
    ("SELECT id FROM n WHERE qty IN ('1', '2')", "compares the text of qty"),
    ("SELECT id FROM n WHERE qty LIKE '1%'", "pattern"),
    ("SELECT length(qty) AS len FROM n", "function"),
    ("SELECT qty || '!' AS loud FROM n", "function or operator"),
    ("SELECT CAST(qty AS decimal(20,0)) AS q FROM n", "DECIMAL(20, 0)"),
    ("SELECT CAST(qty AS double) AS q FROM n", "DOUBLE"),
    # (Iceberg stores a smallint as an integer: never a fix's type, another type here)
    ("SELECT CAST(qty AS smallint) AS q FROM n WHERE id = 3", "SMALLINT"),
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
def test_a_use_that_shows_more_than_a_number_keeps_the_column_varchar(
    sql: str, reason: str
) -> None:
    # given qty cast to bigint, and a query that reads it otherwise than as a number
    load = workload(*CASTS, ("q", sql))
    # when the workload is analysed
    result = analyze(load)
    # then qty stays varchar, the migration copies it as it is
    assert "qty VARCHAR" in new_ddl(result)
    assert all("CAST(qty" not in m.statement for m in result.migrations)
    # and the report names the query and why
    [refused] = [f for f in findings(result, "type_fix_refused") if f.details["columns"] == ["qty"]]
    assert "q" in refused.queryids
    reasons = [r["reason"] for r in refused.details["queries"] if r["queryid"] == "q"]
    assert reasons, refused.details
    assert reason in reasons[0], refused.details
    # and the other columns' fixes stand: each column is decided on its own uses
    assert "price DECIMAL(12, 2)" in new_ddl(result)
    assert "w DOUBLE" in new_ddl(result)
    # and the queries casting qty keep their cast
    assert query(result, "c1") == "SELECT id FROM lake.optimized.n WHERE CAST(qty AS bigint) > 9"
    assert_same_results(load, result)
    assert_result_obeys_contract(load, result)


def test_a_statement_writing_the_table_keeps_its_numbers_varchar() -> None:
    # given the casts, and an INSERT into the table (it would write text into a number)
    load = workload(*CASTS, ("q", "INSERT INTO n (id, qty) VALUES (7, '7')"))
    result = analyze(load)
    # then no column of the table is fixed, and each one's finding names the INSERT
    assert "qty VARCHAR" in new_ddl(result)
    assert "price VARCHAR" in new_ddl(result)
    refused = findings(result, "type_fix_refused")
    assert sorted(c for f in refused for c in f.details["columns"]) == ["price", "qty", "w"]
    assert all(
        "writes the table" in f.details["queries"][0]["reason"] and f.queryids == ("q",)
        for f in refused
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT w FROM n",  # the text projected
        "SELECT id FROM n ORDER BY w",  # ordered by the text
        "SELECT * FROM n",  # every column read back
        "SELECT CAST(w AS varchar) FROM n",
    ],
)
def test_a_double_whose_text_is_read_is_kept_varchar(sql: str) -> None:
    # given w cast to double (Trino prints a double 1.0E2, not the text it held), and a
    # query that reads w's text
    load = workload(*CASTS, ("q", sql))
    result = analyze(load)
    # then w stays varchar, with the reason; the bigint and the decimal are still fixed
    assert "w VARCHAR" in new_ddl(result)
    [refused] = [f for f in findings(result, "type_fix_refused") if f.details["columns"] == ["w"]]
    assert "1.0E2" in refused.details["queries"][0]["reason"]
    assert "qty BIGINT" in new_ddl(result)
    assert_same_results(load, result)


def test_a_query_the_rewrite_cannot_adapt_refuses_the_tables_number_fixes() -> None:
    # given the casts, and a SELECT * mixing the table with a subquery (its columns unknown)
    load = workload(*CASTS, ("q", "SELECT * FROM n, (SELECT 1 AS one) s"))
    result = analyze(load)
    # then no column of the table changes type, and the report says which query and why
    assert "qty VARCHAR" in new_ddl(result)
    assert "price VARCHAR" in new_ddl(result)
    [refused] = findings(result, "type_fix_refused")
    assert refused.queryids == ("q",)
    assert "qty as BIGINT" in refused.rationale
    assert_same_results(load, result)


def test_a_column_cast_only_inside_try_cast_is_not_a_number_column() -> None:
    result = analyze(workload(("q", "SELECT count(*) FROM n WHERE try_cast(qty AS bigint) > 0")))
    assert "qty VARCHAR" in new_ddl(result)
    assert not findings(result, "type_fix")
    assert not findings(result, "type_fix_refused")


def test_a_column_cast_only_to_a_smallint_is_not_fixed() -> None:
    # Iceberg stores a smallint as an integer: the column would read back as another type
    result = analyze(workload(("q", "SELECT id FROM n WHERE CAST(qty AS smallint) > 3")))
    assert "qty VARCHAR" in new_ddl(result)
    assert not findings(result, "type_fix")


def test_a_date_column_is_still_fixed_to_a_date_beside_numbers() -> None:
    load = workload(*CASTS, ("d", "SELECT count(*) FROM n WHERE ds >= '2024-01-01'"))
    result = analyze(load)
    assert "ds DATE" in new_ddl(result)
    assert "qty BIGINT" in new_ddl(result)
    assert_same_results(load, result)


# --- the check query --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "values", "bad"),
    [
        # only the text Trino prints for the number passes: no leading zero, sign or space,
        # no fraction, something that converts
        ("qty", ["10", "-5", "0", "007", "+7", " 7", "7.0", "x", None], 5),
        # a decimal(12,2) with exactly its two decimals
        ("price", ["12.50", "-0.75", "0.50", "12.5", ".50", "1.234", "abc", None], 4),
        # a double: converting is enough
        ("w", ["1.5", "1e3", "007", "x", None], 1),
    ],
)
def test_the_check_counts_the_values_that_would_not_come_back_as_they_were(
    column: str, values: list[str | None], bad: int
) -> None:
    # given the check the report gives for a column's fix
    result = analyze(workload(*CASTS))
    [fix] = [f for f in findings(result, "type_fix") if f.details["column"] == column]
    # when it is run on data with values in other forms
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS lake")
    db.execute("CREATE SCHEMA lake.sales")
    db.execute(f"CREATE TABLE lake.sales.n ({TYPES['n']})")
    db.executemany(
        "INSERT INTO lake.sales.n VALUES (?, ?, ?, ?, ?, ?)",
        [(i, *(v if c == column else None for c in TYPES_N)) for i, v in enumerate(values)],
    )
    check = sqlglot.transpile(fix.details["check"], read="trino", write="duckdb")[0]
    # then it counts every value whose conversion, or text read back, would differ
    assert db.execute(check).fetchone() == (bad,)


TYPES_N = ("qty", "price", "w", "ds", "note")


# --- the evidence -----------------------------------------------------------------------


def test_casts_of_varchar_columns_to_numbers_are_recorded_as_uses() -> None:
    catalog, _ = build_catalog(parse_ddl((DdlStatement(N),)), "jdbc:trino://h:8080/lake/sales")
    tree = sqlglot.parse_one(
        "SELECT CAST(qty AS bigint), try_cast(price AS decimal(12,2)), CAST(id AS double), "
        "CAST(note AS date) FROM n",
        read="trino",
    )
    uses = [(u.column, u.kind, u.cast_to) for u in column_uses(tree, catalog).uses]
    # a varchar cast to a number, a TRY_CAST; not a bigint's cast, nor a cast to a date
    assert uses == [("qty", "cast", "BIGINT"), ("price", "try_cast", None)]


# --- property: any mix of uses over canonical numbers keeps every row ------------------

OPS = ["=", "<>", "<", "<=", ">", ">="]


@st.composite
def number_queries(draw: st.DrawFn) -> str:
    q = "CAST(qty AS bigint)"
    p = "CAST(price AS decimal(12,2))"
    op = draw(st.sampled_from(OPS))
    k = draw(st.integers(-20, 20))
    cents = Decimal(draw(st.integers(-2000, 2000))) / 100
    where = draw(
        st.sampled_from(
            [
                f"{q} {op} {k}",
                f"{p} {op} {cents}",
                f"NOT ({q} {op} {k}) OR qty IS NULL",
                f"{q} IN ({k}, {k + 1}) AND price IS NOT NULL",
                f"{p} BETWEEN {cents} AND {cents + 5}",
                "TRUE",
            ]
        )
    )
    shape = draw(st.sampled_from(["rows", "group_text", "group_number", "top", "join"]))
    if shape == "rows":
        return f"SELECT id, qty, price FROM n WHERE {where}"
    if shape == "group_text":
        return f"SELECT qty, count(*) AS k, sum({p}) AS s FROM n WHERE {where} GROUP BY qty"
    if shape == "group_number":
        return (
            f"SELECT {q} AS qn, min(price) AS lo, max({p}) AS hi, avg({p}) AS mean FROM n "
            f"WHERE {where} GROUP BY {q}"
        )
    if shape == "top":
        direction = draw(st.sampled_from(["ASC", "DESC"]))
        return (
            f"SELECT id, price FROM n WHERE {where} ORDER BY {p} {direction} NULLS LAST, id LIMIT 3"
        )
    return f"SELECT n.id, m.label FROM n LEFT JOIN m ON {q} = m.ref_id WHERE {where}"


texts = st.one_of(st.none(), st.integers(-(10**12), 10**12).map(str))
prices = st.one_of(st.none(), st.integers(-(10**6), 10**6).map(lambda c: f"{Decimal(c) / 100:.2f}"))


@settings(max_examples=60, deadline=None)
@given(
    sql=number_queries(),
    data=st.lists(st.tuples(texts, prices), min_size=0, max_size=12),
)
def test_any_mix_of_number_uses_returns_the_same_rows_in_duckdb(
    sql: str, data: list[tuple[str | None, str | None]]
) -> None:
    # given canonical numbers kept as text (with NULLs), and a query mixing their uses
    load = workload(*CASTS, ("q", sql))
    # when the workload is analysed
    result = analyze(load)
    assert "qty BIGINT" in new_ddl(result)
    assert "price DECIMAL(12, 2)" in new_ddl(result)
    # then the rewrite returns the same columns and rows as the original
    rows = {
        "n": [(i, q, p, None, None, None) for i, (q, p) in enumerate(data)],
        "m": ROWS["m"],
    }
    db = duckdb_of(result, rows)
    assert answer(db, query(result, "q")) == answer(db, sql), query(result, "q")
