"""The verifier on a Trino named for the purpose (`DBANALYSIS_VERIFY_TRINO_URL`): the same
procedure as DuckDB's, run by Trino itself, so that the new DDL (with its Iceberg partitioning
and sort order) and every query run with Trino's own semantics.

It is a scratch cluster, never the user's source by default: the verifier writes there. Every
schema of the workload and of the result (``lake.sales``, ``lake.optimized``) becomes a schema
of its own in one scratch catalog (an Iceberg catalog the URL names), named
``v<run>_<catalog>_<schema>``, and every statement is renamed to it before it runs; the
schemas are dropped when the verification ends. Source tables keep the properties an Iceberg
table takes (never a location); the data comes from `domain.synthetic.trino_select`, the
lab's own. Each statement runs under Trino's ``query_max_run_time``, the task's budget.

    trino://user@host:8080/scratch            the catalog in the path
    http://host:8080?catalog=scratch&user=u   or as parameters (https:// for TLS)
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import trino
from sqlglot import exp
from trino.exceptions import TrinoQueryError

from adapters.verify.procedure import Procedure, SandboxError, TooManyRows
from application.ports.verifier import Verifier
from domain.analysis.catalog import property_name
from domain.analysis.layout import ICEBERG_TABLE_PROPERTIES
from domain.analysis.names import TableName, normalize
from domain.synthetic import TablePlan, trino_select
from domain.verification.model import Verification, VerificationRequest

__all__ = ["TrinoScratch", "TrinoVerifier", "scratch_from_url"]

_KEPT_PROPERTIES = ICEBERG_TABLE_PROPERTIES - {"location", "data_location"}
_ROWS_PER_INSERT = 2_000_000
_SLICES = 40


@dataclass(frozen=True, slots=True)
class TrinoScratch:
    """Where the verifier may write: a coordinator, a user and an Iceberg catalog."""

    host: str
    port: int
    catalog: str
    user: str = "dbanalysis-verify"
    https: bool = False


def scratch_from_url(url: str) -> TrinoScratch:
    """The scratch Trino a `DBANALYSIS_VERIFY_TRINO_URL` names.

    >>> scratch_from_url("trino://v@127.0.0.1:8080/scratch")
    TrinoScratch(host='127.0.0.1', port=8080, catalog='scratch', user='v', https=False)
    """
    parts = urlsplit(url.strip())
    query = {k.lower(): v for k, v in parse_qsl(parts.query)}
    path = [p for p in parts.path.split("/") if p]
    catalog = query.get("catalog") or (path[0] if path else "")
    if not parts.hostname or not catalog:
        raise ValueError("a verification Trino URL names a host and a catalog")
    https = parts.scheme == "https"
    return TrinoScratch(
        host=parts.hostname,
        port=parts.port or (443 if https else 8080),
        catalog=catalog,
        user=parts.username or query.get("user") or "dbanalysis-verify",
        https=https,
    )


class TrinoVerifier(Verifier):
    """Verifies results on a scratch Trino, each verification in schemas of its own."""

    def __init__(
        self, scratch: TrinoScratch, *, ca_bundle: str | None = None, max_rows: int = 100_000
    ) -> None:
        self._scratch = scratch
        self._ca_bundle = ca_bundle
        self._max_rows = max_rows

    @property
    def engine(self) -> str:
        s = self._scratch
        return f"trino {s.host}:{s.port} (scratch catalog {s.catalog})"

    async def verify(self, request: VerificationRequest) -> Verification:
        return await asyncio.to_thread(self.verify_now, request)

    def verify_now(self, request: VerificationRequest) -> Verification:
        seconds = max(1, int(request.budget_seconds))
        sandbox = TrinoSandbox(self._scratch, uuid.uuid4().hex[:8], seconds, self._ca_bundle)
        try:
            return Procedure(sandbox, self.engine, self._max_rows).run(request)
        finally:
            sandbox.close()


class TrinoSandbox:
    """Runs the procedure's statements on Trino, renamed into the run's scratch schemas."""

    def __init__(
        self, scratch: TrinoScratch, run: str, statement_seconds: int, ca_bundle: str | None = None
    ) -> None:
        self._scratch = scratch
        self._run = run
        self._schemas: dict[tuple[str, str], str] = {}
        self._partitioned: set[str] = set()
        self._connection = trino.dbapi.Connection(
            host=scratch.host,
            port=scratch.port,
            user=scratch.user,
            http_scheme="https" if scratch.https else "http",
            verify=ca_bundle if ca_bundle else True,
            session_properties={"query_max_run_time": f"{statement_seconds}s"},
            max_attempts=1,  # an INSERT must not be sent twice
        )

    def close(self) -> None:
        try:
            for schema in self._schemas.values():
                self._drop_schema(schema)
        finally:
            self._connection.close()  # type: ignore[no-untyped-call]

    def create_namespaces(self, catalogs: Sequence[str], schemas: Sequence[TableName]) -> None:
        for schema in schemas:
            name = self._schema(schema.catalog, schema.schema)
            self._sql(f"CREATE SCHEMA IF NOT EXISTS {self._catalog()}.{_quoted(name)}")

    def create_source(self, statement: exp.Create) -> None:
        adapted = _adapted(statement)
        self.execute(adapted)
        if "partitioning" in adapted.sql(dialect="trino").lower():
            target = adapted.this.this if isinstance(adapted.this, exp.Schema) else adapted.this
            self._partitioned.add(target.sql(dialect="trino").lower())

    def fill(self, table: TableName, plan: TablePlan) -> int:
        columns = ", ".join(c.name for c in plan.columns)
        target = self._table_sql(table)
        # Rows come in load order, so a slice of them spans a slice of time: a partitioned
        # table filled in slices opens few partitions per INSERT (Trino allows 100 a writer).
        partitioned = table.sql().lower() in self._partitioned
        count = max(math.ceil(plan.rows / _ROWS_PER_INSERT), _SLICES if partitioned else 1)
        bounds = [plan.rows * k // count for k in range(count + 1)]
        for first, stop in itertools.pairwise(bounds):
            if stop > first:
                self._sql(f"INSERT INTO {target} ({columns}) {trino_select(plan, first, stop)}")
        return plan.rows

    def execute(self, statement: exp.Expr) -> None:
        self._sql(self._renamed(statement))

    def rows(self, query: exp.Expr, max_rows: int) -> list[tuple[object, ...]]:
        rows = self._sql(self._renamed(query), max_rows + 1)
        if len(rows) > max_rows:
            raise TooManyRows(f"it returned more than {max_rows} rows")
        return [tuple(row) for row in rows]

    def partitions(self, table: TableName, transforms: Sequence[str]) -> int | None:
        name = f"{self._catalog()}.{_quoted(self._schema(table.catalog, table.schema))}"
        try:
            rows = self._sql(f'SELECT count(*) FROM {name}."{table.table}$partitions"')
        except SandboxError:
            return None
        return int(rows[0][0]) if rows else None

    # -- names ---------------------------------------------------------------------------------

    def _catalog(self) -> str:
        return _quoted(self._scratch.catalog)

    def _schema(self, catalog: str, schema: str) -> str:
        key = (normalize(catalog), normalize(schema))
        if key not in self._schemas:
            stem = re.sub(r"[^a-z0-9_]+", "_", f"{key[0]}_{key[1]}")[:60]
            self._schemas[key] = f"v{self._run}_{stem}"
        return self._schemas[key]

    def _table_sql(self, table: TableName) -> str:
        schema = self._schema(table.catalog, table.schema)
        return f"{self._catalog()}.{_quoted(schema)}.{_quoted(table.table)}"

    def _renamed(self, statement: exp.Expr) -> str:
        tree = statement.copy()
        for node in tree.find_all(exp.Table, exp.Column):
            catalog, schema = node.args.get("catalog"), node.args.get("db")
            if catalog is None or schema is None:
                continue
            node.set("catalog", exp.to_identifier(self._scratch.catalog, quoted=True))
            node.set("db", exp.to_identifier(self._schema(catalog.name, schema.name), quoted=True))
        return tree.sql(dialect="trino")

    # -- running -------------------------------------------------------------------------------

    def _sql(self, sql: str, max_rows: int | None = None) -> list[Any]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchmany(max_rows) if max_rows is not None else cursor.fetchall()
        except TrinoQueryError as error:
            raise SandboxError(error.message or str(error)) from error
        finally:
            cursor.close()
        return list(rows)

    def _drop_schema(self, schema: str) -> None:
        quoted = f"{self._catalog()}.{_quoted(schema)}"
        try:
            tables = self._sql(
                f"SELECT table_name, table_type FROM {self._catalog()}.information_schema.tables"
                f" WHERE table_schema = '{schema}'"
            )
            for name, kind in tables:
                what = "VIEW" if kind == "VIEW" else "TABLE"
                self._sql(f"DROP {what} IF EXISTS {quoted}.{_quoted(name)}")
            self._sql(f"DROP SCHEMA IF EXISTS {quoted}")
        except SandboxError:
            pass  # a scratch schema left behind is named by its run; nothing depends on it


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _adapted(statement: exp.Create) -> exp.Create:
    """A source table's statement with the properties an Iceberg table cannot take dropped
    (a Hive DDL's partitioned_by, a location of the user's)."""
    adapted = statement.copy()
    properties = adapted.args.get("properties")
    if isinstance(properties, exp.Properties):
        kept = [
            p
            for p in properties.expressions
            if not property_name(p) or property_name(p) in _KEPT_PROPERTIES
        ]
        properties.set("expressions", kept)
        if not kept:
            adapted.set("properties", None)
    return adapted
