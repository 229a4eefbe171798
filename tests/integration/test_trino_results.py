"""Stored results on the real Trino: every dashboard answered from a table holding its result
returns its original's rows, under its labels, in its order.

The table holds the lab's generated rows; the statistics the engine is given are the lab's,
read from Trino, with the row counts scaled up so that storing a result pays as it would on
a large table. The queries are those no rollup answers exactly (distinct counts, a funnel
of sessions, a join, a top-N) and write their outputs every way Trino labels them.
"""

from __future__ import annotations

import dataclasses

import pytest

from adapters.trino.lab import TrinoLab
from adapters.trino.statistics import TrinoEndpoint, read_statistics
from domain.analysis import analyze
from domain.analysis.names import TableName
from domain.statistics import WorkloadStatistics
from domain.workload import AnalysisOptions, DdlStatement, Query, Workload
from tests.integration.conftest import session_runner
from tests.integration.test_trino_rollups import check_every_rewrite, scaled

pytestmark = pytest.mark.integration

EVENTS = (
    "CREATE TABLE results.app.events (event_id bigint, user_id bigint, session_id varchar,"
    " country varchar, device varchar, is_bot boolean, day date, ts timestamp(6),"
    " amount decimal(12, 2), ms integer, small smallint, ratio real)"
)
USERS = "CREATE TABLE results.app.users (user_id bigint, plan varchar, signup date)"
T = "results.app.events"
QUERIES = [
    # distinct counts, ordered by an alias, a position and an expression
    f"SELECT country, count(DISTINCT user_id) AS users, count(*) FROM {T} "
    "WHERE is_bot = false GROUP BY country ORDER BY users DESC, 1",
    f'SELECT device, count(DISTINCT session_id), sum(amount) AS "Revenue", avg(ms) FROM {T} '
    "GROUP BY device ORDER BY count(DISTINCT session_id) DESC, device NULLS FIRST",
    # the types Iceberg widens (smallint, real) and timestamps
    f"SELECT country, count(DISTINCT user_id), sum(small), max(small), min(ratio), max(ts) "
    f"FROM {T} GROUP BY country",
    # a day's hours, a global distinct count, HAVING and a top-N
    f"SELECT date_trunc('hour', ts) AS hour, count(DISTINCT user_id) AS users FROM {T} "
    "WHERE ts >= TIMESTAMP '2024-01-01 00:00:00' AND ts < TIMESTAMP '2024-01-02 00:00:00' "
    "GROUP BY 1 ORDER BY 1",
    f"SELECT count(DISTINCT session_id) AS sessions, count_if(ms > 100) AS slow FROM {T}",
    f"SELECT country, device, count(DISTINCT user_id) AS users FROM {T} "
    "GROUP BY country, device HAVING count(*) > 2 ORDER BY users DESC, country, device LIMIT 3",
    # a funnel of sessions (a CTE), a join, and SELECT DISTINCT
    "WITH s AS (SELECT session_id, min(device) AS device, bool_or(ms > 100) AS slow "
    f"FROM {T} GROUP BY session_id) SELECT device, count(*) AS sessions, count_if(slow) AS slow "
    "FROM s GROUP BY device ORDER BY device",
    f"SELECT u.plan, count(DISTINCT e.user_id) AS buyers, sum(e.amount) AS revenue FROM {T} e "
    "JOIN results.app.users u ON u.user_id = e.user_id GROUP BY u.plan ORDER BY u.plan",
    f"SELECT DISTINCT country, device FROM {T} WHERE is_bot ORDER BY country, device",
]


def with_many_ids(statistics: WorkloadStatistics) -> WorkloadStatistics:
    tables = {}
    for name, table in statistics.tables.items():
        columns = {
            column: dataclasses.replace(found, distinct=(table.rows or 0) / 2)
            if column in ("user_id", "session_id", "event_id")
            else found
            for column, found in table.columns.items()
        }
        tables[name] = dataclasses.replace(table, columns=columns)
    return dataclasses.replace(statistics, tables=tables)


def test_every_stored_result_returns_its_originals_rows_in_trino(
    lab: TrinoLab, trino_address: tuple[str, int]
) -> None:
    # given the tables loaded, and dashboards no rollup answers, each run 100 times
    workload = Workload(
        url="jdbc:trino://lab:8080/results/app",
        ddl=(DdlStatement(EVENTS), DdlStatement(USERS)),
        queries=tuple(Query(f"r{i}", q, runquantity=100) for i, q in enumerate(QUERIES)),
        options=AnalysisOptions(target_schema="app_results"),
    )
    originals = session_runner(lab, trino_address, workload)
    tables = [TableName("results", "app", "events"), TableName("results", "app", "users")]
    endpoint = TrinoEndpoint(*trino_address, https=False)
    statistics = read_statistics(endpoint, tables, user="lab", password=None)
    # when the engine answers, knowing the tables large and their ids many (no rollup fits)
    result = analyze(workload, statistics=with_many_ids(scaled(statistics)))
    answered = [q.queryid for q in result.queries if "_result_" in q.query]
    assert len(answered) >= len(QUERIES) - 1, [q.query for q in result.queries]
    # then every statement runs, and every query returns exactly its original's rows
    check_every_rewrite(workload, result, originals, lab)
    originals.close()
