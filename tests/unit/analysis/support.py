"""Helpers shared by the analysis tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import sqlglot
from sqlglot import exp

from domain.workload import Workload

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

WorkloadFactory = Callable[..., Workload]


def example(name: str) -> Workload:
    """The workload of `examples/<name>.json`, as the client sent it (URL not redacted)."""
    return Workload.from_dict(json.loads((EXAMPLES / f"{name}.json").read_text()))


def duckdb_sql(statement: str) -> str:
    """A Trino DDL or migration statement as DuckDB runs it: the table properties dropped
    (they mean nothing there), and `CREATE TABLE … AS … WITH NO DATA` kept empty (DuckDB has
    no such clause, so the query is limited to no rows instead)."""
    tree = sqlglot.parse_one(statement, read="trino")
    properties = tree.args.get("properties")
    no_data = properties is not None and any(
        isinstance(p, exp.WithDataProperty) and p.args.get("no") for p in properties.expressions
    )
    tree.set("properties", None)
    query = tree.args.get("expression")
    if no_data and isinstance(query, exp.Query):
        tree.set("expression", exp.select("*").from_(query.subquery("q")).limit(0))
    return tree.sql(dialect="duckdb")


def layout_only(workload: Workload) -> Workload:
    """`workload` analysed without stored results (see `domain.analysis.results`): for the
    tests of how the tables' layout serves the queries, and how queries are rewritten for
    it, on examples whose heaviest dashboards would otherwise read stored results."""
    options = dataclasses.replace(workload.options, store_results=False)
    return dataclasses.replace(workload, options=options)
