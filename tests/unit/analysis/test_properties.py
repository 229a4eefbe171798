"""Properties over generated schemas and queries: the contract always holds, retargeting
changes nothing but table names, and retargeted queries return the same rows (DuckDB)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from domain.analysis import analyze
from domain.analysis.catalog import build_catalog
from domain.analysis.names import Session, TableName
from domain.analysis.parse import parse_ddl
from domain.analysis.retarget import retarget_sql
from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.unit.analysis.contract import assert_result_obeys_contract, parse_trino, stored_tables
from tests.unit.analysis.strategies import SECRET, World, workloads
from tests.unit.analysis.support import duckdb_sql

PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(generated=workloads())
def test_any_generated_workload_gets_a_result_that_obeys_the_contract(
    generated: tuple[World, Workload],
) -> None:
    _, workload = generated
    result = analyze(workload)
    assert_result_obeys_contract(workload, result)
    assert SECRET not in str(result.to_dict())
    assert not [f for f in result.report.findings if f.code in ("internal_error", "rewrite_error")]


@settings(max_examples=50, deadline=None)
@given(
    ddl=st.lists(st.text(max_size=60), max_size=3),
    queries=st.lists(st.text(max_size=60), max_size=4),
    url=st.text(max_size=40),
    target=st.text(max_size=10),
)
def test_arbitrary_text_never_makes_the_engine_raise(
    ddl: list[str], queries: list[str], url: str, target: str
) -> None:
    workload = Workload(
        url=url,
        ddl=tuple(DdlStatement(s) for s in ddl),
        queries=tuple(Query(f"q{i}", q) for i, q in enumerate(queries)),
        options=AnalysisOptions(target_schema=target),
    )
    result = analyze(workload)
    assert [q.queryid for q in result.queries] == [q.queryid for q in workload.queries]
    assert result.ddl[0].statement.startswith("CREATE SCHEMA ")
    assert not [f for f in result.report.findings if f.code == "internal_error"]


@PROPERTY_SETTINGS
@given(generated=workloads())
def test_mapping_the_new_names_back_gives_the_original_query(
    generated: tuple[World, Workload],
) -> None:
    # given a workload, its result, and the new name of every source table
    _, workload = generated
    result = analyze(workload)
    catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
    session = catalog.session
    forward = _new_names(result)
    backward = {new: old for old, new in forward.items()}
    for original, rewritten in zip(workload.queries, result.queries, strict=True):
        if rewritten.query == original.query:
            continue
        # when the rewritten query is retargeted back to the source tables
        restored = retarget_sql(rewritten.query, session, backward)
        # then it is the original query, its source tables written in full
        assert _canonical(restored, session, forward) == _canonical(
            original.query, session, forward
        ), rewritten.query


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=workloads())
def test_retargeted_queries_return_the_same_rows_in_duckdb(
    generated: tuple[World, Workload],
) -> None:
    # given source tables with data, and the new tables built by the result's own DDL and
    # migrations, all in one DuckDB database
    world, workload = generated
    result = analyze(workload)
    db = _duckdb_with_sources(world)
    for statement in [*result.ddl, *result.migrations]:
        db.execute(_to_duckdb(statement.statement))
    db.execute(f'USE "{world.catalog}"."{world.schema}"')
    for original, rewritten in zip(workload.queries, result.queries, strict=True):
        if rewritten.query == original.query or not original.query.lstrip().startswith(
            ("SELECT", "WITH")
        ):
            continue
        # when the original runs on the old tables and the rewrite on the new ones
        before = _rows(db, original.query)
        after = _rows(db, rewritten.query)
        # then they return the same rows
        assert after == before, rewritten.query


def _new_names(result: Any) -> dict[TableName, TableName]:
    names = {}
    for migration in result.migrations:
        new, old = [
            TableName.of(t.catalog, t.db, t.name)
            for t in parse_trino(migration.statement).find_all(exp.Table)
        ]
        names[old] = new
    return names


def _canonical(sql: str, session: Session, known: Mapping[TableName, TableName]) -> str:
    """The query with source tables fully named in lower case, and no-op aliases removed."""
    tree = parse_trino(sql)
    for table in stored_tables(tree, copy=False):
        parts = [p.name for p in (table.args.get(k) for k in ("catalog", "db", "this")) if p]
        name = session.resolve(parts)
        if name not in known:
            continue
        table.set("catalog", exp.to_identifier(name.catalog))
        table.set("db", exp.to_identifier(name.schema))
        table.set("this", exp.to_identifier(name.table))
        alias = table.args.get("alias")
        if alias is not None and alias.name.lower() == name.table:
            table.set("alias", None)  # `orders AS orders` reads as `orders`
    return tree.sql(dialect="trino", comments=False)


def _duckdb_with_sources(world: World) -> duckdb.DuckDBPyConnection:
    db = duckdb.connect()
    schemas = {(world.catalog, world.schema)} | {(t.catalog, t.schema) for t in world.tables}
    for catalog in sorted({c for c, _ in schemas}):
        db.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
    for catalog, schema in sorted(schemas):
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{catalog}"."{schema}"')
    for table in world.tables:
        name = f'"{table.catalog}"."{table.schema}"."{table.name}"'
        columns = ", ".join(f'"{c}" {t}' for c, t in table.columns)
        db.execute(f"CREATE TABLE {name} ({columns})")
        for row in range(1, 5):
            values = ", ".join(_value(t, row) for _, t in table.columns)
            db.execute(f"INSERT INTO {name} VALUES ({values})")
        db.execute(f"INSERT INTO {name} VALUES ({', '.join('NULL' for _ in table.columns)})")
    return db


def _value(data_type: str, row: int) -> str:
    return {
        "integer": str(row % 3),
        "bigint": str(row * 10),
        "varchar": f"'v{row % 2}'",
        "double": f"{row / 2}",
        "boolean": "true" if row % 2 else "false",
        "date": f"DATE '2024-01-0{row}'",
    }[data_type]


def _to_duckdb(sql: str) -> str:
    return duckdb_sql(sql)


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    rows = db.execute(sqlglot.transpile(sql, read="trino", write="duckdb")[0]).fetchall()
    return sorted(rows, key=repr)
