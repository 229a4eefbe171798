"""Statistics of a workload's tables, read from the user's Trino — read-only, budgeted.

Read-only by construction: the reader only sends ``SHOW STATS``, ``SHOW CREATE TABLE``,
SELECTs on Iceberg's ``$files`` and ``$snapshots`` metadata tables, ``EXPLAIN (TYPE IO)`` of
the heaviest queries (a plan: nothing runs), and — for what ``SHOW
STATS`` leaves out (a table another engine wrote and nobody analysed) — one aggregate SELECT
over a ``TABLESAMPLE SYSTEM`` of about a million rows; it never writes. Each
statement has a time limit (Trino's ``query_max_execution_time`` and the client's request
timeout) and the task has a total budget: a slow cluster cannot hold a task past its deadline.

Trouble is a finding, never an exception: an unreachable host, a TLS error, a wrong password
or a missing table each become one line in `WorkloadStatistics.problems`, and the analysis
goes on with what could be read. A failure of the connection itself (host, TLS, login) stops
the reading at once: every further statement would fail the same way. Messages never carry
the credentials (the password travels in a header the errors do not print).

The URL is Trino's JDBC form, ``jdbc:trino://host:port[/catalog[/schema]]?SSL=true&…``:
HTTPS when ``SSL=true`` or the port is 443, with certificate checks on (a CA bundle can be
named for private certificates).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import sqlglot
import trino
from sqlglot import exp
from sqlglot.errors import SqlglotError
from trino.exceptions import HttpError, TrinoAuthError, TrinoConnectionError, TrinoQueryError

from application.ports.statistics import StatisticsReader
from domain.analysis.catalog import build_catalog
from domain.analysis.names import TRINO, TableName, identifier_sql, normalize
from domain.analysis.parse import parse_ddl
from domain.statistics import (
    ColumnStatistics,
    QueryEstimate,
    TableStatistics,
    WorkloadStatistics,
)
from domain.workload import Credentials, Workload

__all__ = ["TrinoEndpoint", "TrinoStatisticsReader", "read_statistics"]

# The heaviest queries (by runquantity × executiontime) are planned with EXPLAIN (TYPE IO).
EXPLAINED_QUERIES = 20

# What SHOW STATS leaves out is sampled: about this many rows, at most this many columns.
SAMPLE_ROWS = 1_000_000
SAMPLE_COLUMNS = 64
MIN_SAMPLE_PERCENT = 0.01
# Types with no order or no cheap distinct count: not sampled.
_UNSAMPLED = frozenset({"ARRAY", "MAP", "STRUCT", "JSON", "VARBINARY", "UNKNOWN", ""})


@dataclass(frozen=True, slots=True)
class TrinoEndpoint:
    """Where the user's Trino answers and how to reach it (no secret in here)."""

    host: str
    port: int
    https: bool

    @classmethod
    def from_jdbc_url(cls, url: str) -> TrinoEndpoint | None:
        text = url.strip()
        if text.lower().startswith("jdbc:"):
            text = text[5:]
        try:
            parts = urlsplit(text)
            host, port = parts.hostname, parts.port
        except ValueError:
            return None
        if parts.scheme.lower() != "trino" or not host:
            return None
        params = {k.lower(): v for k, v in parse_qsl(parts.query)}
        https = params.get("ssl", "").lower() == "true" or port == 443
        return cls(host, port or (443 if https else 8080), https)

    def __str__(self) -> str:
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"


class TrinoStatisticsReader(StatisticsReader):
    """The `StatisticsReader` on the `trino` client, run off the event loop.

    The tables are the ones the workload's DDL defines, named as the engine names them; the
    endpoint is the workload's (redacted) URL, the login the task's credentials.
    """

    def __init__(
        self,
        *,
        statement_seconds: float = 20.0,
        budget_seconds: float = 60.0,
        ca_bundle: str | None = None,
    ) -> None:
        self._statement_seconds = statement_seconds
        self._budget_seconds = budget_seconds
        self._ca_bundle = ca_bundle

    async def read(self, workload: Workload, credentials: Credentials | None) -> WorkloadStatistics:
        endpoint = TrinoEndpoint.from_jdbc_url(workload.url)
        if endpoint is None:
            return WorkloadStatistics(problems=("the URL names no Trino host to read from",))
        catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
        tables = list(catalog.tables)
        heaviest = sorted(workload.queries, key=lambda q: -q.weight)
        queries = [(q.queryid, q.query) for q in heaviest if _reads(q.query)]
        statistics = await asyncio.to_thread(
            read_statistics,
            endpoint,
            tables,
            queries=queries[:EXPLAINED_QUERIES],
            user=credentials.user if credentials is not None else None,
            password=credentials.password if credentials is not None else None,
            statement_seconds=self._statement_seconds,
            budget_seconds=self._budget_seconds,
            ca_bundle=self._ca_bundle,
        )
        if credentials is None:
            return statistics
        problems = tuple(credentials.scrub(p) for p in statistics.problems)
        return dataclasses.replace(statistics, problems=problems)


def read_statistics(
    endpoint: TrinoEndpoint,
    tables: Iterable[TableName],
    *,
    queries: Sequence[tuple[str, str]] = (),
    user: str | None,
    password: str | None,
    statement_seconds: float = 20.0,
    budget_seconds: float = 60.0,
    ca_bundle: str | None = None,
) -> WorkloadStatistics:
    """Read what Trino knows about `tables`, within the budget; never raises for trouble."""
    started = time.monotonic()
    auth = None
    if password is not None:
        auth = trino.auth.BasicAuthentication(user or "", password)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`
    # (psf/requests#3829): a session that ignores the environment keeps the CA we name.
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle if ca_bundle else True
    try:
        connection = trino.dbapi.Connection(
            host=endpoint.host,
            port=endpoint.port,
            user=user or "dbanalysis",
            http_scheme="https" if endpoint.https else "http",
            auth=auth,
            http_session=session,
            request_timeout=statement_seconds,
            max_attempts=1,
            session_properties={"query_max_execution_time": f"{max(int(statement_seconds), 1)}s"},
        )
    except TrinoAuthError:
        return WorkloadStatistics(
            problems=(
                f"cannot read statistics: {endpoint} is plain HTTP and Trino takes a password "
                "only over TLS (add SSL=true to the URL)",
            )
        )
    except (ValueError, TrinoQueryError) as error:
        return WorkloadStatistics(problems=(f"cannot connect to {endpoint}: {_short(error)}",))
    reader = _Reader(connection, started + budget_seconds)
    found: dict[TableName, TableStatistics] = {}
    names = list(tables)
    for number, name in enumerate(names):
        if reader.stopped:
            break
        if reader.spent:
            reader.problems.append(
                f"the statistics budget ({budget_seconds:.0f} s) was spent: "
                f"{len(names) - number} table(s) not read"
            )
            break
        statistics = reader.table(name)
        if statistics is not None:
            found[name] = statistics
    properties: dict[str, frozenset[str]] = {}
    for catalog in dict.fromkeys(n.catalog for n in names):
        taken = reader.table_properties(catalog)
        if taken is not None:
            properties[catalog] = taken
    planned: dict[str, QueryEstimate] = {}
    for queryid, sql in queries:
        if reader.stopped or reader.spent:
            break
        estimate = reader.explain(queryid, sql)
        if estimate is not None:
            planned[queryid] = estimate
    connection.close()  # type: ignore[no-untyped-call]
    return WorkloadStatistics(
        tables=found,
        queries=planned,
        problems=tuple(reader.problems),
        read_at=datetime.now(UTC),
        source=str(endpoint),
        table_properties=properties,
    )


class _Reader:
    def __init__(self, connection: Any, deadline: float) -> None:
        self._connection = connection
        self._deadline = deadline
        self.problems: list[str] = []
        self.stopped = False

    @property
    def spent(self) -> bool:
        return time.monotonic() >= self._deadline

    def rows(self, sql: str, what: str) -> list[list[Any]] | None:
        if self.stopped or self.spent:
            return None
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            return [list(row) for row in cursor.fetchall()]
        except TrinoQueryError as error:
            self.problems.append(f"{what}: {error.error_name}: {_short(error.message)}")
        except Exception as error:  # the connection itself: host, TLS, login
            message = _short(error)
            trouble = connection_trouble(error)
            if trouble is not None:
                self.problems.append(f"cannot read statistics: {trouble} ({message})")
                self.stopped = True
            else:
                self.problems.append(f"{what}: {message}")
        finally:
            cursor.close()
        return None

    def table_properties(self, catalog: str) -> frozenset[str] | None:
        """The table properties `catalog`'s connector takes, as this Trino version has them."""
        literal = "'" + catalog.replace("'", "''") + "'"
        found = self.rows(
            "SELECT property_name FROM system.metadata.table_properties "
            f"WHERE catalog_name = {literal}",
            f"{catalog}: table properties",
        )
        return frozenset(str(row[0]) for row in found) if found else None

    def table(self, name: TableName) -> TableStatistics | None:
        qualified = name.sql()
        stats = self.rows(f"SHOW STATS FOR {qualified}", f"{name}: SHOW STATS")
        if stats is None:
            return None
        rows: float | None = None
        columns: dict[str, ColumnStatistics] = {}
        for column, size, distinct, nulls, row_count, low, high in (r[:7] for r in stats):
            if column is None:
                rows = float(row_count) if row_count is not None else None
                continue
            columns[normalize(str(column))] = ColumnStatistics(
                distinct=_number(distinct),
                null_fraction=_number(nulls),
                low=None if low is None else str(low),
                high=None if high is None else str(high),
                data_bytes=_number(size),
            )
        meta = identifier_sql(name.table + "$files")
        schema = f"{identifier_sql(name.catalog)}.{identifier_sql(name.schema)}"
        files = self.rows(
            "SELECT count(*), sum(file_size_in_bytes), min(file_size_in_bytes),"
            f" max(file_size_in_bytes) FROM {schema}.{meta}",
            f"{name}: data files",
        )
        snapshots = self.rows(
            f"SELECT count(*) FROM {schema}.{identifier_sql(name.table + '$snapshots')}",
            f"{name}: snapshots",
        )
        create = self.rows(f"SHOW CREATE TABLE {qualified}", f"{name}: SHOW CREATE TABLE")
        tree = _parsed(create[0][0]) if create else None
        partitioning, sorted_by = _layout(tree) if tree is not None else ((), ())
        unknown = [
            (column, kind)
            for column, kind in (_column_types(tree) if tree is not None else {}).items()
            if kind not in _UNSAMPLED
            and (columns.get(column) is None or columns[column].distinct is None)
        ]
        sampled = self.sample(name, rows, unknown) if unknown or rows is None else None
        if sampled is not None:
            rows = rows if rows is not None else sampled[0]
            columns = {**columns, **sampled[1]}
        file_row = files[0] if files else [None, None, None, None]
        return TableStatistics(
            rows=rows,
            data_bytes=_integer(file_row[1]),
            files=_integer(file_row[0]),
            smallest_file=_integer(file_row[2]),
            largest_file=_integer(file_row[3]),
            snapshots=_integer(snapshots[0][0]) if snapshots else None,
            partitioning=partitioning,
            sorted_by=sorted_by,
            columns=columns,
            sampled=sampled is not None,
        )

    def explain(self, queryid: str, sql: str) -> QueryEstimate | None:
        """The rows and bytes Trino plans to read for one query (a plan, nothing is run)."""
        text = sql.strip().rstrip(";")
        found = self.rows(f"EXPLAIN (TYPE IO, FORMAT JSON) {text}", f"query {queryid}: EXPLAIN")
        if not found or not found[0]:
            return None
        try:
            plan = json.loads(str(found[0][0]))
        except ValueError:
            return None
        rows = data_bytes = 0.0
        known = False
        for scan in plan.get("inputTableColumnInfos") or ():
            figures = scan.get("estimate") or {}
            count, size = (
                _number(figures.get("outputRowCount")),
                _number(figures.get("outputSizeInBytes")),
            )
            if count is None or size is None or math.isnan(count) or math.isnan(size):
                return QueryEstimate()  # Trino has no estimate for one of its tables
            rows, data_bytes, known = rows + count, data_bytes + size, True
        return QueryEstimate(rows, data_bytes) if known else QueryEstimate()

    def sample(
        self, name: TableName, rows: float | None, unknown: list[tuple[str, str]]
    ) -> tuple[float, dict[str, ColumnStatistics]] | None:
        """What ``SHOW STATS`` left out (a table written by another engine, never analysed):
        one bounded aggregate over a ``TABLESAMPLE SYSTEM`` of about `SAMPLE_ROWS` rows —
        approx_distinct, NULLs, min and max per column — scaled to the table."""
        unknown = unknown[:SAMPLE_COLUMNS]
        percent = 100.0 if rows is None or rows <= SAMPLE_ROWS else 100.0 * SAMPLE_ROWS / rows
        percent = max(percent, MIN_SAMPLE_PERCENT)
        measures = ["count(*)"]
        for column, _ in unknown:
            quoted = identifier_sql(column)
            measures += [
                f"approx_distinct({quoted})",
                f"count({quoted})",
                f"CAST(min({quoted}) AS varchar)",
                f"CAST(max({quoted}) AS varchar)",
            ]
        sample = "" if percent >= 100.0 else f" TABLESAMPLE SYSTEM ({percent:.6g})"
        found = self.rows(
            f"SELECT {', '.join(measures)} FROM {name.sql()}{sample}",
            f"{name}: sampled statistics",
        )
        if not found or not found[0] or not found[0][0]:
            if found is not None:
                self.problems.append(f"{name}: the sample of {percent:.3g}% held no rows")
            return None
        row = found[0]
        seen = float(row[0])
        share = min(percent / 100.0, 1.0)
        table_rows = rows if rows is not None else seen / share
        columns: dict[str, ColumnStatistics] = {}
        for position, (column, _) in enumerate(unknown):
            distinct, non_null, low, high = row[1 + 4 * position : 5 + 4 * position]
            columns[column] = ColumnStatistics(
                distinct=scaled_distinct(float(distinct or 0), seen, share, table_rows),
                null_fraction=1.0 - float(non_null or 0) / seen,
                low=None if low is None else str(low),
                high=None if high is None else str(high),
            )
        return table_rows, columns


def _reads(sql: str) -> bool:
    """A query that only reads (what EXPLAIN may be asked about): SELECT, WITH, VALUES, TABLE."""
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    return bool(words) and words[0].lower() in ("select", "with", "values", "table")


def scaled_distinct(distinct: float, seen: float, share: float, rows: float) -> float:
    """The distinct values of a table from those of a sample of `share` of it (`seen` rows).

    A column whose sample values are nearly all different (a key) scales with the table; one
    whose few values repeat was seen whole. Between the two the exponent interpolates:
    ``d · (1/share)^(d/seen)``, capped at the table's rows — a deliberately simple estimator
    (no value frequencies are read), exact at both ends.

    >>> scaled_distinct(1000, 1000, 0.01, 100_000)
    100000.0
    >>> scaled_distinct(5, 1000, 0.01, 100_000)
    5.1
    """
    if seen <= 0 or distinct <= 0:
        return 0.0
    if share >= 1.0:
        return distinct
    uniqueness = min(distinct / seen, 1.0)
    return float(round(min(distinct * (1.0 / share) ** uniqueness, rows), 1))


def _parsed(create: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(create, dialect=TRINO)
    except (SqlglotError, ValueError):
        return None


def _column_types(tree: exp.Expr) -> dict[str, str]:
    """Column name → the type's name (upper case), from a parsed ``SHOW CREATE TABLE``: the
    table's own columns, not the fields of a ``ROW`` type (no query may name those alone)."""
    schema = tree.this if isinstance(tree.this, exp.Schema) else None
    return {
        normalize(column.name): column.kind.this.name if column.kind is not None else ""
        for column in (schema.expressions if schema is not None else ())
        if isinstance(column, exp.ColumnDef)
    }


def _layout(tree: exp.Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for prop in tree.find_all(exp.Property):
        key = prop.this.name.lower() if isinstance(prop.this, exp.Expr) else str(prop.this)
        if key in ("partitioning", "sorted_by") and isinstance(prop.args.get("value"), exp.Array):
            found[key] = tuple(e.name for e in prop.args["value"].expressions)
    return found.get("partitioning", ()), found.get("sorted_by", ())


def _number(value: object) -> float | None:
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _short(error: object) -> str:
    return " ".join(str(error).split())[:300]


def connection_trouble(error: BaseException) -> str | None:
    """What went wrong with the connection itself, told by the error's type — never by digits
    in its message, where a port such as 40123 reads like an HTTP 401 — or None when the
    connection is fine and only the statement failed. The client wraps what `requests` raised
    in its own error, so the chain of causes is read first."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, requests.exceptions.RequestException):
            error = cause
            break
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, requests.exceptions.Timeout):
        return "the server did not answer in time"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "the server could not be reached"
    if isinstance(error, TrinoAuthError) or (
        isinstance(error, HttpError) and str(error).startswith(("error 401", "error 403"))
    ):
        return "the login was refused"
    if isinstance(error, (HttpError, TrinoConnectionError)):
        return "the server could not be reached"
    return None
