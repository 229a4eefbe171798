"""Slices on the real Trino: a sorted table filled by ranges of its sort key holds files of
disjoint ranges (so Trino can skip files by their min/max), with every row copied once; the
keys it is looked up by get bloom filters Trino accepts."""

from __future__ import annotations

import dataclasses
import json
from itertools import pairwise

import pytest

from adapters.trino.lab import TrinoLab
from adapters.trino.runner import TrinoRunner
from adapters.trino.statistics import TrinoEndpoint, read_statistics
from domain.analysis import analyze
from domain.analysis.identity import identity_result
from domain.analysis.migrate import SLICE_BYTES
from domain.analysis.names import TableName
from domain.result import AnalysisResult
from domain.statistics import WorkloadStatistics
from domain.workload import DdlStatement, Query, Workload
from tests.integration.conftest import loaded_shape
from tests.integration.test_trino_rollups import check_every_rewrite

pytestmark = pytest.mark.integration

WIDE = TableName("lake", "web", "order_lines")


def sized(statistics: WorkloadStatistics, table: TableName, data_bytes: int) -> WorkloadStatistics:
    """`statistics` saying that `table` holds `data_bytes` (the lab's tables are small)."""
    tables = dict(statistics.tables)
    tables[table] = dataclasses.replace(tables[table], data_bytes=data_bytes)
    return dataclasses.replace(statistics, tables=tables)


def copies_into(result: AnalysisResult, table: str) -> list[str]:
    """The migration statements that fill `table`."""
    return [m.statement for m in result.migrations if f"INTO {table} " in m.statement]


def test_a_wide_table_sorted_by_its_date_is_filled_into_files_of_disjoint_date_ranges(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the wide shape loaded in the lab, and statistics saying its table holds 6 slices
    workload, originals, statistics = loaded_shape(lab, trino_address, "wide")
    # when the engine answers with them
    result = analyze(workload, statistics=sized(statistics, WIDE, 6 * SLICE_BYTES))
    # then the table, sorted by order_date, is filled by ranges of it and their NULLs
    copies = copies_into(result, "lake.optimized.order_lines")
    assert len(copies) == 7, copies
    assert all(" WHERE order_date " in c for c in copies)
    # and the ids it is looked up by, which it is not sorted by, get Parquet bloom filters
    create = next(s.statement for s in result.ddl if "optimized.order_lines " in s.statement)
    assert "parquet_bloom_filter_columns = ARRAY[" in create
    # and every statement runs on Trino and every query keeps its rows
    check_every_rewrite(workload, result, originals, lab)
    originals.close()
    # and no two files of the new table overlap in order_date
    files = lab.runner.run('SELECT readable_metrics FROM lake.optimized."order_lines$files"')
    assert files.error is None, files.error
    ranges = sorted(
        (bounds["lower_bound"], bounds["upper_bound"])
        for bounds in (json.loads(row[0])["order_date"] for row in files.rows)
        if bounds["lower_bound"] is not None  # the file of the NULLs, if any
    )
    assert len(ranges) >= 6
    assert all(high < low for (_, high), (low, _) in pairwise(ranges))


FACT = TableName("dw", "sales", "fact_sales")


def test_a_star_fact_is_sliced_by_its_date_key_and_a_dimensions_year_prunes_its_files(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the star shape loaded, and statistics saying its fact holds 6 slices
    workload, originals, statistics = loaded_shape(lab, trino_address, "star")
    # when the engine answers with them
    result = analyze(workload, statistics=sized(statistics, FACT, 6 * SLICE_BYTES))
    # then the fact, sorted by the date key its dimension's filters reach, is filled by its days
    copies = copies_into(result, "dw.optimized.fact_sales")
    assert len(copies) == 7, copies
    assert all(" WHERE date_key " in c for c in copies)
    # and every statement runs and every query keeps its rows
    check_every_rewrite(workload, result, originals, lab)
    originals.close()
    # and a year of the date dimension reads a part of the fact's files: Trino's dynamic
    # filter on date_key skips the others by their min/max
    whole = lab.runner.run("SELECT sum(net_amount) FROM dw.optimized.fact_sales")
    year = lab.runner.run(
        "SELECT sum(f.net_amount) FROM dw.optimized.fact_sales f"
        " JOIN dw.optimized.dim_date d ON f.date_key = d.date_key WHERE d.year = 2024"
    )
    dates = lab.runner.run("SELECT sum(year) FROM dw.optimized.dim_date")
    assert whole.error is None, whole.error
    assert year.error is None, year.error
    fact_bytes = year.physical_input_bytes - dates.physical_input_bytes
    assert 0 < fact_bytes < 0.7 * whole.physical_input_bytes


def test_a_copy_keeping_hundreds_of_daily_partitions_fills_them_on_trino(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given Hive-style daily partitions: an identity field on a date string and one on a date,
    # a day each, more days than one INSERT may open partitions (Trino's writers: 100)
    workload = Workload(
        url="jdbc:trino://lab:8080/lake/kept",
        ddl=(
            DdlStatement(
                "CREATE TABLE lake.kept.logs (id bigint, msg varchar, ds varchar)"
                " WITH (partitioning = ARRAY['ds'])"
            ),
            DdlStatement(
                "CREATE TABLE lake.kept.audits (id bigint, msg varchar, dt date)"
                " WITH (partitioning = ARRAY['dt'])"
            ),
        ),
        queries=(
            Query("logs", "SELECT msg, count(*) AS n FROM lake.kept.logs GROUP BY msg"),
            Query("audits", "SELECT count(*) AS n FROM lake.kept.audits WHERE msg = 'a'"),
        ),
    )
    lab.ensure_catalog("lake")
    runner = lab.runner
    runner.rows("CREATE SCHEMA IF NOT EXISTS lake.kept")
    for ddl in workload.ddl:
        runner.rows("DROP TABLE IF EXISTS " + ddl.statement.split()[2])
        runner.rows(ddl.statement)
    for first in (0, 90, 180):  # 270 days, 90 partitions per INSERT, and some NULLs
        day = "date_add('day', d, DATE '2024-01-01')"
        rows = (
            f"FROM UNNEST(sequence({first}, {first + 89})) AS t(d), UNNEST(sequence(0, 3)) AS u(k)"
        )
        runner.rows(
            "INSERT INTO lake.kept.logs SELECT d * 4 + k, 'm' || CAST(k AS varchar),"
            f" CAST({day} AS varchar) {rows}"
        )
        runner.rows(f"INSERT INTO lake.kept.audits SELECT d * 4 + k, 'a', {day} {rows}")
    runner.rows("INSERT INTO lake.kept.logs VALUES (-1, 'm0', NULL), (-2, 'm1', '')")
    runner.rows("INSERT INTO lake.kept.audits VALUES (-1, 'a', NULL)")
    originals = TrinoRunner(*trino_address, catalog="lake", schema="kept")
    tables = [TableName("lake", "kept", "logs"), TableName("lake", "kept", "audits")]
    endpoint = TrinoEndpoint(*trino_address, https=False)
    statistics = read_statistics(endpoint, tables, user="lab", password=None)
    for answer in (analyze(workload), analyze(workload, statistics=statistics)):
        # when the engine answers, keeping the partitions (nothing asks to change them)
        assert "partitioning = ARRAY['ds']" in answer.ddl[1].statement
        # then the copies are split, every statement runs and every query keeps its rows
        assert len(copies_into(answer, "lake.optimized.logs")) == 12
        assert len(copies_into(answer, "lake.optimized.audits")) == 13
        check_every_rewrite(workload, answer, originals, lab)
        filled = lab.runner.rows("SELECT count(*) FROM lake.optimized.logs")[0][0]
        assert filled == originals.rows("SELECT count(*) FROM lake.kept.logs")[0][0]
    # and so is the identity answer, the baseline the lab scores against
    identity = identity_result(workload, target_schema="kept_identity")
    assert lab.apply(identity).failures == []
    originals.close()
