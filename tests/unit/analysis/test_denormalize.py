"""Denormalisation: a large fact and the small dimensions its queries join on their unique
keys become one table; every query reading the fact reads it, with the rows it read
before, and a dimension key that turns out shared fails the migration instead of
duplicating fact rows."""

from __future__ import annotations

import dataclasses
import math
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

FACT_DDL = (
    "CREATE TABLE dw.s.sales (day_key integer, product_key bigint, store_key integer,"
    " order_id bigint, quantity integer, amount decimal(12, 2))"
)
PRODUCT_DDL = (
    "CREATE TABLE dw.s.product (product_key bigint, sku varchar, category varchar, brand varchar)"
)
STORE_DDL = "CREATE TABLE dw.s.store (store_key integer, region varchar, city varchar)"
DDL = (FACT_DDL, PRODUCT_DDL, STORE_DDL)
FACT, PRODUCT, STORE = (TableName("dw", "s", t) for t in ("sales", "product", "store"))

BY_CATEGORY = (
    "SELECT p.category, sum(f.amount) AS revenue FROM dw.s.sales f "
    "JOIN dw.s.product p ON f.product_key = p.product_key "
    "JOIN dw.s.store s ON f.store_key = s.store_key "
    "WHERE s.region = 'EU' GROUP BY p.category"
)
ORDER_LINES = (
    "SELECT f.order_id, p.sku, f.quantity FROM dw.s.sales f "
    "LEFT JOIN dw.s.product p ON f.product_key = p.product_key WHERE f.order_id = 7"
)
ORDER_CITY = (
    "SELECT f.order_id, s.city FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key"
    " WHERE f.order_id = 7"
)
ANCHOR = (
    "SELECT f.order_id, p.sku, p.category, p.brand, s.region, s.city FROM dw.s.sales f "
    "LEFT JOIN dw.s.product p ON f.product_key = p.product_key "
    "LEFT JOIN dw.s.store s ON f.store_key = s.store_key WHERE f.order_id = 7"
)
FILL = "INSERT INTO dw.optimized.sales_wide ("
FACT_ALONE = "SELECT * FROM dw.s.sales WHERE order_id = 7"


def workload(*queries: str, ddl: tuple[str, ...] = DDL, denormalize: bool = True) -> Workload:
    return Workload(
        url="jdbc:trino://h:8080/dw/s",
        ddl=tuple(DdlStatement(d) for d in ddl),
        queries=tuple(Query(f"q{i}", sql, runquantity=5) for i, sql in enumerate(queries)),
        options=AnalysisOptions(store_results=False, denormalize=denormalize),
    )


def statistics(
    fact_rows: float = 50_000_000,
    dimension_rows: float = 10_000,
    key_distinct: float | None = None,
) -> WorkloadStatistics:
    distinct = dimension_rows if key_distinct is None else key_distinct

    def dimension(key: str, *others: str) -> TableStatistics:
        columns = {key: ColumnStatistics(distinct=distinct, null_fraction=0.0)}
        columns.update({c: ColumnStatistics(distinct=20, null_fraction=0.0) for c in others})
        return TableStatistics(rows=dimension_rows, columns=columns)

    return WorkloadStatistics(
        tables={
            FACT: TableStatistics(
                rows=fact_rows,
                columns={"order_id": ColumnStatistics(distinct=fact_rows / 4, null_fraction=0)},
            ),
            PRODUCT: dimension("product_key", "sku", "category", "brand"),
            STORE: dimension("store_key", "region", "city"),
        }
    )


def finding(result: AnalysisResult, code: str) -> Finding | None:
    return next((f for f in result.report.findings if f.code == code), None)


def graph(result: AnalysisResult) -> dict[str, dict[str, Any]]:
    for code in ("denormalized", "joins_kept"):
        found = finding(result, code)
        if found is not None:
            return {e["join"]: e for e in found.details["join_graph"]}
    return {}


def wide_ddl(result: AnalysisResult) -> str | None:
    return next((s.statement for s in result.ddl if ".sales_wide (" in s.statement), None)


# -- what is merged ------------------------------------------------------------------------


def test_a_fact_and_its_joined_dimensions_become_one_table_the_queries_read() -> None:
    result = analyze(workload(BY_CATEGORY, ORDER_LINES, ORDER_CITY), statistics=statistics())
    # the wide table replaces the fact: the fact's columns, the dimension columns read, and
    # for each dimension whether a row matched
    create = wide_ddl(result)
    assert create is not None
    assert create.startswith("CREATE TABLE dw.optimized.sales_wide (")
    for column in ("order_id BIGINT", "product_category VARCHAR", "store_region VARCHAR"):
        assert column in create
    assert "product_found BOOLEAN" in create
    assert "product_brand" not in create  # no query reads it
    assert "product_product_key" not in create  # only the joins read it
    assert not any("dw.optimized.sales (" in s.statement for s in result.ddl)
    # the dimensions keep their own tables
    assert any("dw.optimized.product (" in s.statement for s in result.ddl)
    # the migration fills it from the fact LEFT JOIN each dimension, each key checked unique
    (fill,) = [m.statement for m in result.migrations if FILL in m.statement]
    assert "FROM dw.s.sales AS f LEFT JOIN (SELECT" in fill
    assert "FAIL('dw.s.product: key product_key is not unique" in fill
    # the queries read it without the joins; an INNER join keeps the rows that matched
    by_category, order_lines, order_city = (q.query for q in result.queries)
    assert "FROM dw.optimized.sales_wide_rollup" in by_category  # a rollup of the wide table
    assert "product_found = TRUE" in by_category
    assert order_lines == (
        "SELECT f.order_id, f.product_sku AS sku, f.quantity FROM dw.optimized.sales_wide AS f"
        " WHERE f.order_id = 7"
    )  # a LEFT JOIN keeps every fact row
    assert order_city == (
        "SELECT f.order_id, f.store_city AS city FROM dw.optimized.sales_wide AS f"
        " WHERE (f.order_id = 7) AND f.store_found = TRUE"
    )
    # the report gives the join graph and why each edge was merged
    edges = graph(result)
    assert edges["sales.product_key → product.product_key"]["merged"] is True
    assert edges["sales.store_key → store.store_key"]["why"] == "merged"


def test_without_statistics_nothing_is_merged() -> None:
    result = analyze(workload(ORDER_LINES))
    assert wide_ddl(result) is None
    assert "JOIN dw.optimized.product" in result.queries[0].query


@pytest.mark.parametrize(
    ("stats", "why"),
    [
        (statistics(key_distinct=5_000), "is not unique"),
        (statistics(dimension_rows=10_000_000), "not a dimension"),
        (statistics(fact_rows=200_000, dimension_rows=1_000), "the join costs little"),
    ],
)
def test_a_join_that_is_not_many_to_one_or_not_worth_it_is_kept(
    stats: WorkloadStatistics, why: str
) -> None:
    result = analyze(workload(BY_CATEGORY), statistics=stats)
    assert wide_ddl(result) is None
    edge = graph(result)["sales.product_key → product.product_key"]
    assert edge["merged"] is False
    assert why in edge["why"]


def test_joins_that_rollups_answer_are_not_worth_a_wide_table() -> None:
    # given a dashboard over the star, which a rollup of its joins answers
    result = analyze(workload(BY_CATEGORY), statistics=statistics())
    # then the fact keeps its joins, and the report says why
    assert wide_ddl(result) is None
    assert "FROM dw.optimized.sales_rollup" in result.queries[0].query
    edge = graph(result)["sales.product_key → product.product_key"]
    assert "rollups or stored results answer 100.00%" in edge["why"]


def test_a_dimension_column_of_many_values_keeps_its_join() -> None:
    # given lookups reading a product's sku, of which there are as many as products
    stats = statistics()
    product = stats.tables[PRODUCT]
    skus = {**product.columns, "sku": ColumnStatistics(distinct=10_000, null_fraction=0.0)}
    stats = dataclasses.replace(
        stats, tables={**stats.tables, PRODUCT: dataclasses.replace(product, columns=skus)}
    )
    result = analyze(workload(ORDER_LINES, ORDER_CITY), statistics=stats)
    # then the store's city is merged, and the product keeps its join
    order_lines, order_city = (q.query for q in result.queries)
    assert "LEFT JOIN dw.optimized.product AS p" in order_lines
    assert "FROM dw.optimized.sales_wide AS f" in order_lines
    assert "f.store_city AS city" in order_city
    edge = graph(result)["sales.product_key → product.product_key"]
    assert "sku has too many values" in edge["why"]


def test_off_by_default_the_report_gives_the_join_graph_and_what_it_would_merge() -> None:
    load = workload(ORDER_LINES, ORDER_CITY)
    result = analyze(dataclasses.replace(load, options=AnalysisOptions()), statistics=statistics())
    assert wide_ddl(result) is None
    assert "JOIN dw.optimized.product" in result.queries[0].query
    edge = graph(result)["sales.product_key → product.product_key"]
    assert edge["merged"] is False
    assert "worth merging, but denormalisation is off" in edge["why"]


@pytest.mark.parametrize(
    "refused",
    [
        "SELECT * FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key",
        "SELECT s.* FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key",
        "SELECT f.order_id FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key "
        "WHERE EXISTS (SELECT 1 FROM dw.s.product p WHERE p.brand = s.city)",
        "SELECT order_id FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key "
        "JOIN (SELECT 1 AS x) AS o ON true WHERE region = 'EU'",
        "SELECT dw.s.sales.order_id FROM dw.s.sales JOIN dw.s.store s "
        "ON sales.store_key = s.store_key",
        "SELECT f.order_id FROM dw.s.sales f JOIN dw.s.store s ON f.store_key = s.store_key "
        "NATURAL JOIN dw.s.product p",
    ],
)
def test_a_query_the_rewrite_cannot_keep_leaves_the_fact_as_it_is(refused: str) -> None:
    result = analyze(workload(BY_CATEGORY, refused), statistics=statistics())
    assert wide_ddl(result) is None
    assert "q1" in graph(result)["sales.product_key → product.product_key"]["why"]
    assert any("dw.optimized.sales (" in s.statement for s in result.ddl)


def test_a_query_joining_with_using_keeps_its_joins_over_the_wide_table() -> None:
    using = (
        "SELECT f.order_id, s.city FROM dw.s.sales f JOIN dw.s.store s "
        "ON f.store_key = s.store_key JOIN dw.s.product p USING (product_key)"
    )
    result = analyze(workload(ORDER_CITY, using), statistics=statistics())
    assert wide_ddl(result) is not None
    assert result.queries[1].query == (
        "SELECT f.order_id, s.city FROM dw.optimized.sales_wide AS f JOIN dw.optimized.store AS s"
        " ON f.store_key = s.store_key JOIN dw.optimized.product AS p USING (product_key)"
    )


def test_a_ddl_entry_holding_several_tables_keeps_the_others() -> None:
    together = (f"{FACT_DDL}; {PRODUCT_DDL}", STORE_DDL)
    result = analyze(workload(ORDER_CITY, ORDER_LINES, ddl=together), statistics=statistics())
    assert wide_ddl(result) is not None
    assert any("dw.optimized.product (" in s.statement for s in result.ddl)
    assert "f.product_sku AS sku" in result.queries[1].query


def test_a_write_to_the_fact_leaves_it_as_it_is() -> None:
    insert = "INSERT INTO dw.s.sales SELECT * FROM dw.s.sales s JOIN dw.s.store t ON true"
    result = analyze(workload(BY_CATEGORY, insert), statistics=statistics())
    assert wide_ddl(result) is None


def test_queries_reading_the_fact_alone_read_its_columns_from_the_wide_table() -> None:
    result = analyze(workload(ORDER_CITY, FACT_ALONE), statistics=statistics())
    assert wide_ddl(result) is not None
    alone = result.queries[1].query
    assert alone.startswith("SELECT day_key, product_key, store_key, order_id, quantity, amount")
    assert "FROM dw.optimized.sales_wide" in alone


# -- the rows are the query's ----------------------------------------------------------------

FACT_ROW = st.tuples(
    st.one_of(st.none(), st.integers(1, 3)),  # day_key
    st.one_of(st.none(), st.integers(1, 6)),  # product_key: 5 and 6 match no product
    st.one_of(st.none(), st.integers(1, 4)),  # store_key: 4 matches no store
    st.integers(1, 9),  # order_id
    st.one_of(st.none(), st.integers(0, 5)),
    st.one_of(st.none(), st.decimals("-99.99", "99.99", places=2, allow_nan=False)),
)
PRODUCTS = [
    (1, "A1", "toys", "acme"),
    (2, "A2", "toys", None),
    (3, "B1", None, "brio"),
    (4, "B2", "home", "acme"),
    (None, "X", "home", "none"),  # a NULL key matches nothing
]
STORES = [(1, "EU", "Berlin"), (2, "EU", None), (3, None, "Austin")]


@st.composite
def star_queries(draw: st.DrawFn) -> str:
    joins = draw(
        st.lists(st.sampled_from(["product", "store"]), min_size=1, max_size=2, unique=True)
    )
    sides = {j: draw(st.sampled_from(["JOIN", "INNER JOIN", "LEFT JOIN"])) for j in joins}
    columns = {"product": ["sku", "category", "brand"], "store": ["region", "city"]}
    alias = {"product": "p", "store": "s"}
    keys = {"product": "product_key", "store": "store_key"}
    picked = [
        (j, draw(st.sampled_from(columns[j])))
        for j in joins
        for _ in range(draw(st.integers(1, 2)))
    ]
    qualified = draw(st.booleans())

    def ref(table: str, column: str) -> str:
        return f"{alias[table]}.{column}" if qualified else column

    sql_from = "FROM dw.s.sales f " + " ".join(
        f"{sides[j]} dw.s.{j} {alias[j]} ON f.{keys[j]} = {alias[j]}.{keys[j]}" for j in joins
    )
    filters = draw(
        st.lists(
            st.sampled_from(
                [
                    "f.quantity > 1",
                    *(f"{ref(j, c)} IS NULL" for j, c in picked),
                    *(f"{ref(j, c)} IS NOT NULL" for j, c in picked),
                    *(f"{ref(j, c)} IN ('EU', 'toys', 'A1', 'acme')" for j, c in picked),
                ]
            ),
            max_size=2,
        )
    )
    where = f" WHERE {' OR '.join(filters)}" if filters else ""
    if draw(st.booleans()):  # a dashboard
        groups = list(dict.fromkeys(ref(j, c) for j, c in picked))
        return (
            f"SELECT {', '.join(groups)}, count(*) AS n, sum(f.amount) AS total {sql_from}"
            f"{where} GROUP BY {', '.join(groups)}"
        )
    items = ", ".join(["f.order_id", "f.amount", *(ref(j, c) for j, c in picked)])
    return f"SELECT {items} {sql_from}{where}"


def _comparable(value: Any) -> Any:
    if isinstance(value, (float, Decimal)):
        return None if math.isnan(float(value)) else round(float(value), 6)
    return value


def _database(facts: list[tuple[Any, ...]], products: list[tuple[Any, ...]]) -> Any:
    db = duckdb.connect()
    db.execute("CREATE MACRO fail(message) AS error(message)")  # Trino's fail()
    db.execute("ATTACH ':memory:' AS dw")
    db.execute("CREATE SCHEMA dw.s")
    for ddl in DDL:
        db.execute(duckdb_sql(ddl))
    if facts:
        db.executemany("INSERT INTO dw.s.sales VALUES (?, ?, ?, ?, ?, ?)", facts)
    db.executemany("INSERT INTO dw.s.product VALUES (?, ?, ?, ?)", products)
    db.executemany("INSERT INTO dw.s.store VALUES (?, ?, ?)", STORES)
    return db


def _run(db: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0])
    labels = [d[0] for d in cursor.description]
    rows = sorted((tuple(_comparable(v) for v in r) for r in cursor.fetchall()), key=repr)
    return labels, rows


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=star_queries(), facts=st.lists(FACT_ROW, max_size=30))
def test_every_rewrite_over_the_wide_table_returns_its_querys_rows_and_labels(
    query: str, facts: list[tuple[Any, ...]]
) -> None:
    # given a star with fact rows whose keys are NULL or match no dimension row
    # (and a lookup that makes the merge worth it)
    result = analyze(workload(ANCHOR, query), statistics=statistics())
    assert wide_ddl(result) is not None, query
    db = _database(facts, PRODUCTS)
    # when the new tables are created and filled
    for statement in [*result.ddl, *result.migrations]:
        db.execute(duckdb_sql(statement.statement))
    # then the rewrite returns the original's rows under the original's labels
    rewritten = result.queries[1].query
    assert "sales_wide" in rewritten
    assert _run(db, rewritten) == _run(db, query), rewritten


def test_a_dimension_key_two_rows_share_fails_the_migration_instead_of_duplicating() -> None:
    result = analyze(workload(ORDER_LINES, ORDER_CITY), statistics=statistics())
    db = _database([(1, 1, 1, 7, 1, Decimal("1.00"))], [*PRODUCTS, (1, "dup", "toys", "x")])
    for statement in result.ddl:
        db.execute(duckdb_sql(statement.statement))
    fill = next(m.statement for m in result.migrations if FILL in m.statement)
    with pytest.raises(duckdb.Error, match="key product_key is not unique"):
        db.execute(duckdb_sql(fill))


def test_an_output_named_as_a_dimension_column_is_read_as_it_was() -> None:
    # given an output alias that is also a column of a merged dimension
    shadowed = (
        "SELECT f.order_id, upper(s.city) AS region FROM dw.s.sales f "
        "JOIN dw.s.store s ON f.store_key = s.store_key WHERE region = 'EU' ORDER BY region"
    )
    result = analyze(workload(ORDER_CITY, shadowed), statistics=statistics())
    # then the WHERE's region (the store's) cannot be told from the output: the fact stays
    assert wide_ddl(result) is None
    # but ORDER BY an output's name reads the output
    ordered = shadowed.replace("WHERE region = 'EU' ", "WHERE s.region = 'EU' ")
    result = analyze(workload(ORDER_CITY, ordered), statistics=statistics())
    assert result.queries[1].query == (
        "SELECT f.order_id, UPPER(f.store_city) AS region FROM dw.optimized.sales_wide AS f "
        "WHERE f.store_region = 'EU' ORDER BY region"
    )  # (the filter on the region drops the unmatched rows: no need of store_found)
