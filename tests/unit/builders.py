"""Small builders shared by the unit tests."""

from __future__ import annotations

from domain.result import AnalysisResult, Meta, Report, RewrittenQuery, SqlStatement
from domain.workload import DdlStatement, Query, Workload

SECRET_URL = "jdbc:trino://trino.example.com:443?catalog=lake&user=alice&password=s3cr3t-pw"


def a_workload(*queryids: str) -> Workload:
    ids = queryids or ("q1",)
    return Workload.from_request(
        SECRET_URL,
        (DdlStatement("CREATE TABLE lake.sales.orders (order_id bigint, ts timestamp(6))"),),
        tuple(Query(q, "SELECT order_id FROM lake.sales.orders", 10, 2.0) for q in ids),
    )


def a_result(workload: Workload) -> AnalysisResult:
    return AnalysisResult(
        ddl=(SqlStatement("CREATE SCHEMA lake.optimized"),),
        migrations=(),
        queries=tuple(RewrittenQuery(q.queryid, q.query) for q in workload.queries),
        report=Report("fake analysis"),
        meta=Meta(engine="fake"),
    )
