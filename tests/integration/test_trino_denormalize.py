"""Denormalisation on the real Trino: the star's fact and the dimensions its queries join
become one table, every statement runs (the keys proven unique by the migration itself),
and every query returns its original's rows; a shared key fails the migration.

The statistics are the lab's, read from Trino, with every table's rows scaled up as for a
large warehouse (the dimensions' keys unique, as the lab's data has them).
"""

from __future__ import annotations

import dataclasses

import pytest
import sqlglot
from sqlglot import exp

from adapters.trino.lab import TrinoLab
from adapters.trino.runner import TrinoRunner
from domain.analysis import analyze
from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.workload import AnalysisOptions, Query, Workload
from tests.integration.conftest import loaded_shape
from tests.integration.test_trino_rollups import check_every_rewrite, scaled

pytestmark = pytest.mark.integration

# Shapes beyond the star's own queries: a LEFT JOIN filtered on the dimension, unqualified
# dimension columns, the fact alone with *, the fact in a subquery and on the right of a
# LEFT JOIN, and a dimension joined twice in one query.
EXTRA = [
    "SELECT s.region, count(*) AS lines, sum(f.quantity) AS units FROM dw.sales.fact_sales f "
    "LEFT JOIN dw.sales.dim_store s ON f.store_key = s.store_key "
    "WHERE s.region IS NULL OR s.region <> 'EU' GROUP BY s.region",
    "SELECT category, brand, count(*) AS n FROM dw.sales.fact_sales f "
    "JOIN dw.sales.dim_product p ON f.product_key = p.product_key "
    "WHERE f.quantity > 2 GROUP BY category, brand",
    "SELECT * FROM dw.sales.fact_sales WHERE order_number = 42",
    "SELECT p.sku FROM dw.sales.dim_product p WHERE p.product_key IN "
    "(SELECT product_key FROM dw.sales.fact_sales WHERE quantity > 3)",
    "SELECT f.order_number, d.year, s.region, p.category FROM dw.sales.fact_sales f "
    "JOIN dw.sales.dim_date d ON f.date_key = d.date_key "
    "LEFT JOIN dw.sales.dim_store s ON f.store_key = s.store_key "
    "JOIN dw.sales.dim_product p ON f.product_key = p.product_key "
    "WHERE f.order_number BETWEEN 100 AND 140",
]


def with_extra(shape: Workload, schema: str) -> Workload:
    """The star's workload and the queries above, heavy enough that merging pays (the star's
    own dashboards read rollups and stored results, and its lookups read names and ids)."""
    extra = tuple(
        Query(f"x{i}", q, runquantity=5000, executiontime=60) for i, q in enumerate(EXTRA)
    )
    options = AnalysisOptions(target_schema=schema, denormalize=True)
    return dataclasses.replace(shape, queries=shape.queries + extra, options=options)


def keys_unique(statistics: WorkloadStatistics) -> WorkloadStatistics:
    """Each table's first-named key column with as many distinct values as rows."""
    tables = {}
    for name, table in statistics.tables.items():
        key = f"{name.table.removeprefix('dim_').removeprefix('product_')}_key"
        columns = dict(table.columns)
        if key in columns and name.table.startswith("dim_"):
            columns[key] = dataclasses.replace(columns[key], distinct=table.rows, null_fraction=0)
        tables[name] = dataclasses.replace(table, columns=columns)
    return dataclasses.replace(statistics, tables=tables)


def answered(
    lab: TrinoLab, trino_address: tuple[str, int], schema: str
) -> tuple[Workload, TrinoRunner, AnalysisResult]:
    """The star loaded, its workload with the queries above, and the engine's answer."""
    shape, originals, statistics = loaded_shape(lab, trino_address, "star")
    workload = with_extra(shape, schema)
    return workload, originals, analyze(workload, statistics=keys_unique(scaled(statistics)))


def test_the_star_reads_one_wide_table_and_every_query_keeps_its_rows(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the star loaded, with queries of every shape the rewrite meets, when the engine
    # answers with the lab's statistics, scaled up
    workload, originals, result = answered(lab, trino_address, "star_wide")
    # then the fact is stored with its dimensions' columns, and the queries read it
    finding = next(f for f in result.report.findings if f.code == "denormalized")
    assert finding.table == "fact_sales_wide"
    reading = [q.queryid for q in result.queries if "fact_sales_wide" in q.query]
    assert {"x0", "x1", "x2", "x3", "x4"} <= set(reading), [q.query for q in result.queries]
    # and every statement runs, and every query returns exactly its original's rows
    check_every_rewrite(workload, result, originals, lab)
    originals.close()


def test_a_dimension_key_two_rows_share_fails_the_migration(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the star loaded and a dimension row that repeats a key
    _, originals, result = answered(lab, trino_address, "star_shared")
    fill = next(m.statement for m in result.migrations if ".fact_sales_wide (" in m.statement)
    originals.rows(
        "CREATE TABLE dw.sales.dim_store_shared AS SELECT * FROM dw.sales.dim_store "
        "UNION ALL SELECT * FROM dw.sales.dim_store WHERE store_key = "
        "(SELECT min(store_key) FROM dw.sales.dim_store)"
    )
    try:
        # when the wide table's rows are read from it
        fill_tree = sqlglot.parse_one(fill, read="trino")
        rows = fill_tree.expression
        for table in rows.find_all(exp.Table):
            if table.name == "dim_store":
                table.set("this", exp.to_identifier("dim_store_shared"))
        outcome = originals.run(f"SELECT count(*) FROM ({rows.sql(dialect='trino')})")
        # then the statement fails and says why, instead of duplicating fact rows
        assert outcome.error is not None
        assert "key store_key is not unique" in outcome.error
    finally:
        originals.rows("DROP TABLE IF EXISTS dw.sales.dim_store_shared")
        originals.close()
