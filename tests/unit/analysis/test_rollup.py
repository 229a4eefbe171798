"""Pre-aggregation: which queries a rollup answers, and that it answers them exactly."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
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

SALES = (
    "CREATE TABLE lake.shop.sales (id bigint, user_id bigint, country varchar, device varchar,"
    " is_test boolean, day date, ts timestamp(6), qty integer, price double,"
    " amount decimal(12, 2))"
)
STORES = "CREATE TABLE lake.shop.stores (store_id bigint, country varchar, region varchar)"
SALES_TABLE = TableName("lake", "shop", "sales")


def workload(*queries: str, ddl: tuple[str, ...] = (SALES,)) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/lake/shop",
        ddl=tuple(DdlStatement(s) for s in ddl),
        queries=tuple(Query(f"q{i}", sql, runquantity=100) for i, sql in enumerate(queries)),
    )


def rollup_ddl(result: AnalysisResult) -> list[str]:
    return [
        s.statement for s in result.ddl if re.match(r"CREATE TABLE \S+_rollup(_\d+)? ", s.statement)
    ]


def big(rows: float = 50_000_000, **columns: ColumnStatistics) -> WorkloadStatistics:
    return WorkloadStatistics(tables={SALES_TABLE: TableStatistics(rows=rows, columns=columns)})


# -- which queries -------------------------------------------------------------------------


def test_a_dashboard_aggregate_over_a_month_reads_a_rollup_instead_of_the_table() -> None:
    # given a dashboard grouping by country over a month, filtering on a flag
    load = workload(
        "SELECT country, count(*) AS n, sum(amount) AS revenue, avg(price) AS avg_price "
        "FROM lake.shop.sales WHERE is_test = false AND day >= DATE '2024-03-01' "
        "AND day < DATE '2024-04-01' GROUP BY country ORDER BY revenue DESC"
    )
    # when it is analysed
    result = analyze(load)
    # then a rollup by country, flag and month of day is created and filled from the source
    [create] = rollup_ddl(result)
    assert "date_trunc('month', t0.day) AS day" in create
    assert create.endswith("WITH NO DATA")
    assert any(
        m.statement.startswith("INSERT INTO lake.optimized.sales_rollup ")
        for m in result.migrations
    )
    # and the query reads only the rollup, its filter unchanged
    rewritten = result.queries[0].query
    assert "FROM lake.optimized.sales_rollup AS r" in rewritten
    assert "r.day >= CAST('2024-03-01' AS DATE)" in rewritten
    assert "lake.shop" not in rewritten
    # and the report says what the rollup holds and how it stays fresh
    [finding] = [f for f in result.report.findings if f.code == "pre_aggregated"]
    assert finding.queryids == ("q0",)
    assert finding.details["sized_from"] == "assumptions"
    assert "DELETE FROM lake.optimized.sales_rollup" in finding.details["refresh"]
    [estimate] = result.report.estimates["pre_aggregation"]["rollups"]
    assert estimate["queryids"] == ["q0"]
    assert "GRACE PERIOD" in result.report.estimates["pre_aggregation"]["freshness"]


def test_queries_a_rollup_cannot_answer_exactly_stay_on_the_table() -> None:
    unanswerable = [
        "SELECT country, approx_distinct(user_id) FROM lake.shop.sales GROUP BY country",
        "SELECT country, count(*) FROM lake.shop.sales WHERE id IN (SELECT id FROM "
        "lake.shop.sales WHERE qty > 1) GROUP BY country",
        "SELECT country, sum(qty) OVER (PARTITION BY device) FROM lake.shop.sales",
        "SELECT country, count(DISTINCT user_id) FROM lake.shop.sales GROUP BY country",
        "SELECT country, count(*) FROM lake.shop.sales "
        "WHERE ts <= TIMESTAMP '2024-03-01 00:00:00' GROUP BY country",
        "SELECT country, qty, count(*) FROM lake.shop.sales GROUP BY country, qty",
        "SELECT country, device FROM lake.shop.sales WHERE is_test",
    ]
    for sql in unanswerable:
        result = analyze(workload(sql))
        assert not rollup_ddl(result), sql
        assert "_rollup" not in result.queries[0].query, sql


def test_a_sample_or_a_past_snapshot_is_not_answered_from_a_rollup_of_the_table() -> None:
    # a sample's count is a tenth of the table's; a snapshot holds other rows than today's
    for sql in (
        "SELECT country, count(*) AS n FROM lake.shop.sales TABLESAMPLE BERNOULLI (10) "
        "GROUP BY country",
        "SELECT country, sum(qty) FROM lake.shop.sales FOR VERSION AS OF 42 GROUP BY country",
        "SELECT country, count(*) FROM lake.shop.sales "
        "FOR TIMESTAMP AS OF TIMESTAMP '2024-06-01 00:00:00 UTC' GROUP BY country",
    ):
        result = analyze(workload(sql))
        assert not rollup_ddl(result), sql
        assert "_rollup" not in result.queries[0].query, sql
        assert "_result" not in result.queries[0].query, sql


def test_time_filters_on_period_boundaries_keep_the_rollup_at_that_grain() -> None:
    # given hourly, daily and monthly boundaries on a timestamp, and a quarter as BETWEEN dates
    load = workload(
        "SELECT device, count(*) FROM lake.shop.sales WHERE ts >= TIMESTAMP '2024-03-01 "
        "00:00:00' AND ts < TIMESTAMP '2024-03-08 00:00:00' GROUP BY device",
        "SELECT device, sum(qty) FROM lake.shop.sales WHERE day BETWEEN DATE '2024-01-01' AND "
        "DATE '2024-03-31' GROUP BY device",
    )
    # when analysed, knowing the table large and its devices few
    result = analyze(load, statistics=big(device=ColumnStatistics(distinct=3)))
    # then the timestamp is kept by day and the date by month
    text = " ".join(rollup_ddl(result))
    assert "date_trunc('day', t0.ts) AS ts" in text
    assert "date_trunc('month', t0.day) AS day" in text
    assert all("_rollup" in q.query for q in result.queries)


def test_statistics_size_the_rollups_and_keep_small_tables_as_they_are() -> None:
    query = "SELECT country, count(DISTINCT user_id) FROM lake.shop.sales GROUP BY country"
    # given statistics showing 300 users in a large table, the distinct count is answerable
    few_users = big(user_id=ColumnStatistics(distinct=300), country=ColumnStatistics(distinct=20))
    result = analyze(workload(query), statistics=few_users)
    assert rollup_ddl(result)
    [finding] = [f for f in result.report.findings if f.code == "pre_aggregated"]
    assert finding.details["sized_from"] == "statistics"
    # given millions of users, it is not (the rollup would be as large as the table)
    many = big(user_id=ColumnStatistics(distinct=5_000_000), country=ColumnStatistics(distinct=20))
    assert not rollup_ddl(analyze(workload(query), statistics=many))
    # given a small table, no rollup is worth its storage
    small = big(rows=10_000, user_id=ColumnStatistics(distinct=300))
    assert not rollup_ddl(analyze(workload(query), statistics=small))


def test_queries_over_the_same_join_share_one_rollup_whatever_their_aliases() -> None:
    # given two queries joining sales to stores, written with different aliases
    load = workload(
        "SELECT st.region, sum(s.amount) FROM lake.shop.sales s JOIN lake.shop.stores st "
        "ON s.id = st.store_id GROUP BY st.region",
        "SELECT b.region, a.device, count(*) FROM lake.shop.sales AS a LEFT JOIN "
        "lake.shop.stores AS b ON a.id = b.store_id WHERE a.is_test = false "
        "GROUP BY b.region, a.device",
        "SELECT x.region, x.country, count(*) FROM lake.shop.sales y JOIN lake.shop.stores x "
        "ON y.id = x.store_id GROUP BY x.region, x.country",
        ddl=(SALES, STORES),
    )
    result = analyze(load)
    creates = rollup_ddl(result)
    # then the inner joins share a rollup, the left join has its own
    assert len(creates) == 2
    # and the country of stores, named like the country of sales, keeps a distinct name
    assert any("t1.country AS country" in c or "AS stores_country" in c for c in creates)
    assert all("_rollup" in q.query for q in result.queries)


# -- exactly the same rows (DuckDB) ---------------------------------------------------------

_DIMENSIONS = ["country", "device", "is_test", "date_trunc('month', ts)", "year(day)"]
_FILTERS = [
    "is_test = false",
    "country = 'DE'",
    "country IS NULL",
    "day >= DATE '2024-02-01'",
    "day BETWEEN DATE '2024-01-01' AND DATE '2024-02-29'",
    "ts < TIMESTAMP '2024-03-01 00:00:00'",
    "device IN ('mobile', 'tablet')",
]
_AGGREGATES = [
    "count(*)",
    "count(qty)",
    "sum(qty)",
    "sum(price)",
    "sum(amount)",
    "min(price)",
    "max(amount)",
    "min(ts)",
    "avg(qty)",
    "avg(price)",
    "count_if(qty > 2)",
    "sum(qty) FILTER (WHERE device = 'mobile')",
    "count(DISTINCT country)",
    "sum(qty * price)",
]


@st.composite
def aggregate_queries(draw: st.DrawFn) -> str:
    groups = draw(st.lists(st.sampled_from(_DIMENSIONS), max_size=3, unique=True))
    filters = draw(st.lists(st.sampled_from(_FILTERS), max_size=2, unique=True))
    aggregates = draw(st.lists(st.sampled_from(_AGGREGATES), min_size=1, max_size=4, unique=True))
    if not groups:  # over no rows DuckDB's count_if is NULL, Trino's 0 (the lab checks that)
        aggregates = [a for a in aggregates if not a.startswith("count_if")] or ["count(*)"]
    items = [*groups, *(f"{a} AS a{i}" for i, a in enumerate(aggregates))]
    sql = f"SELECT {', '.join(items)} FROM lake.shop.sales"
    if filters:
        sql += f" WHERE {' AND '.join(filters)}"
    if groups:
        sql += f" GROUP BY {', '.join(groups)}"
        if draw(st.booleans()):
            sql += " HAVING count(*) > 1"
    return sql


@st.composite
def sales_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    maybe = st.one_of  # NULL in every column but the key
    row = st.tuples(
        st.integers(1, 10_000),
        st.integers(1, 30),
        maybe(st.none(), st.sampled_from(["DE", "FR", "US"])),
        maybe(st.none(), st.sampled_from(["mobile", "desktop", "tablet"])),
        maybe(st.none(), st.booleans()),
        maybe(st.none(), st.dates(date(2023, 12, 1), date(2024, 4, 30))),
        maybe(
            st.none(),
            st.datetimes(datetime(2023, 12, 1), datetime(2024, 4, 30)).map(
                lambda t: t.replace(microsecond=0)
            ),
        ),
        maybe(st.none(), st.integers(-5, 20)),
        maybe(st.none(), st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 3))),
        maybe(st.none(), st.decimals("-999.99", "999.99", places=2, allow_nan=False)),
    )
    return draw(st.lists(row, max_size=40))


def _loaded(rows: list[tuple[Any, ...]], result: AnalysisResult) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    db.execute("ATTACH ':memory:' AS lake")
    db.execute("CREATE SCHEMA lake.shop")
    db.execute(duckdb_sql(SALES))
    if rows:
        db.executemany("INSERT INTO lake.shop.sales VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    return db


def _comparable(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):  # partial sums add up in another order
        number = float(value)
        return None if math.isnan(number) else round(number, 6)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time())  # date_trunc of a date
    return value


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    rows = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
    return sorted((tuple(_comparable(v) for v in row) for row in rows), key=repr)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries=st.lists(aggregate_queries(), min_size=1, max_size=4), rows=sales_rows())
def test_every_query_a_rollup_answers_returns_the_rows_it_returned_before(
    queries: list[str], rows: list[tuple[Any, ...]]
) -> None:
    # given aggregate queries over a table with NULLs in every column, and statistics
    # saying it is large and its dimensions few
    statistics = big(
        country=ColumnStatistics(distinct=3, null_fraction=0.1),
        device=ColumnStatistics(distinct=3),
        day=ColumnStatistics(distinct=150, low="2023-12-01", high="2024-04-30"),
        ts=ColumnStatistics(low="2023-12-01 00:00:00", high="2024-04-30 00:00:00"),
    )
    result = analyze(workload(*queries), statistics=statistics)
    db = _loaded(rows, result)
    # then every rewrite returns the rows of its original, rollup or not
    for original, rewritten in zip(queries, result.queries, strict=True):
        assert _rows(db, rewritten.query) == _rows(db, original), rewritten.query
    assert rollup_ddl(result) or not any("_rollup" in q.query for q in result.queries)


def test_the_property_test_exercises_rollups() -> None:
    # the generator's queries are answerable: the property above is not vacuous
    query = "SELECT country, year(day), avg(qty) AS a0 FROM lake.shop.sales GROUP BY 1, 2"
    result = analyze(workload(query), statistics=big(country=ColumnStatistics(distinct=3)))
    assert "_rollup" in result.queries[0].query
    rows = [(1, 1, "DE", "mobile", True, date(2024, 1, 2), datetime(2024, 1, 2), 3, 1.5, None)]
    rows.append((2, 2, None, None, None, None, None, None, None, Decimal("1.25")))
    db = _loaded(rows, result)
    assert _rows(db, result.queries[0].query) == _rows(db, query)


def test_the_storage_budget_counts_values_so_a_narrow_rollup_of_a_wide_table_fits() -> None:
    # given a dashboard over 40,000 combinations of three columns of a 1M-row table
    query = "SELECT country, device, day, sum(amount) FROM lake.shop.sales GROUP BY 1, 2, 3"
    spread = {
        "country": ColumnStatistics(distinct=20),
        "device": ColumnStatistics(distinct=4),
        "day": ColumnStatistics(distinct=500, low="2023-01-01", high="2024-05-15"),
    }
    # then over the ten columns of sales it is built: 4 % of the rows, 2.4 % of the values
    assert rollup_ddl(analyze(workload(query), statistics=big(1_000_000, **spread)))
    # and over a table of three columns it is not: it would store 8 % of the values
    narrow = "CREATE TABLE lake.shop.sales (country varchar, device varchar, day date)"
    count = "SELECT country, device, day, count(*) FROM lake.shop.sales GROUP BY 1, 2, 3"
    result = analyze(workload(count, ddl=(narrow,)), statistics=big(1_000_000, **spread))
    assert not rollup_ddl(result)
