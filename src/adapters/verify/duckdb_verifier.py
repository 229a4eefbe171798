"""The embedded verifier: DuckDB in memory, no server.

Each verification gets an empty in-memory DuckDB. The workload's catalogs become attached
in-memory databases (``ATTACH ':memory:' AS lake``) and its schemas schemas in them, so the
fully qualified names of the DDL, the migrations and the queries work unchanged; every Trino
statement is translated by sqlglot. DuckDB runs with one thread and a memory limit, and a
timer interrupts whatever runs when the task's budget is spent.

Starting a DuckDB costs more than verifying a small workload (17 ms of CPU here), so the
process keeps the DuckDBs its verifications used: after a verification every database it
attached is detached, which leaves the DuckDB as empty as a new one, and the next verification
takes it. A DuckDB that was interrupted, or that could not be emptied, is closed instead.

DuckDB is not Trino: a function it lacks makes a query `not_verifiable` (the report names the
function), and both sides of a comparison run in DuckDB, so the comparison is of the two
queries under the same semantics.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence

import duckdb
from sqlglot import exp

from adapters.verify.duckdb_data import duckdb_select
from adapters.verify.procedure import (
    BudgetSpent,
    Procedure,
    SandboxError,
    TooManyRows,
    without_properties,
)
from application.ports.verifier import Verifier
from domain.analysis.names import TableName
from domain.synthetic import TablePlan
from domain.verification.model import Verification, VerificationRequest

__all__ = ["DuckDbSandbox", "DuckDbVerifier"]

_SCRATCH = "dbanalysis_scratch"  # the default database, out of the workload's way
_ROWS_PER_INSERT = 100_000
# Database names DuckDB keeps for itself: a catalog so named is attached under another name.
_RESERVED = frozenset({"system", "temp", "main", "memory", _SCRATCH})
_RESERVED_SUFFIX = "__catalog"


class DuckDbVerifier(Verifier):
    """Verifies results in an embedded DuckDB, one DuckDB per verification at a time, taken
    from those the process keeps (see `_Idle`). The verifier itself holds only its settings,
    so that it can be sent to another process."""

    def __init__(self, *, memory_limit: str = "1GB", threads: int = 1, max_rows: int = 100_000):
        self._memory_limit = memory_limit
        self._threads = threads
        self._max_rows = max_rows

    @property
    def engine(self) -> str:
        return f"duckdb {duckdb.__version__} (embedded)"

    async def verify(self, request: VerificationRequest) -> Verification:
        return await asyncio.to_thread(self.verify_now, request)

    def verify_now(self, request: VerificationRequest) -> Verification:
        """The verification, on this thread."""
        sandbox = _IDLE.take(self._memory_limit, self._threads)
        turn = sandbox.begin()
        timer = threading.Timer(max(request.budget_seconds, 0.0), sandbox.interrupt, (turn,))
        timer.daemon = True
        timer.start()
        try:
            return Procedure(sandbox, self.engine, self._max_rows).run(request)
        finally:
            timer.cancel()
            _IDLE.give_back(sandbox)


class DuckDbSandbox:
    """An in-memory DuckDB that runs Trino statements (see `Procedure`), one verification at a
    time: `begin` one, `finish` it (which empties the DuckDB for the next), or `close`."""

    def __init__(self, *, memory_limit: str = "1GB", threads: int = 1) -> None:
        self.settings = (memory_limit, threads)
        self._db = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
        self._db.execute(f"ATTACH ':memory:' AS {_SCRATCH}")
        self._db.execute(f"USE {_SCRATCH}")
        self._db.execute("DETACH memory")
        # Trino's fail(message), which a wide table's definition calls on a shared key
        self._db.execute("CREATE MACRO fail(message) AS error(message)")
        self._interrupted = False
        self._turn = 0  # the verification running (see `interrupt`), 0 between them
        self._turns = 0
        self._lock = threading.Lock()

    def begin(self) -> int:
        """Start a verification; its number, for `interrupt`."""
        with self._lock:
            self._turns += 1
            self._turn = self._turns
            self._interrupted = False
            return self._turn

    def interrupt(self, turn: int) -> None:
        """Stop what runs, if it is verification `turn`: a timer that fires late must not
        stop the next verification."""
        with self._lock:
            if turn != self._turn:
                return
            self._interrupted = True
            self._db.interrupt()

    def finish(self) -> bool:
        """End the verification and empty the DuckDB: whether it can run another one (not
        when it was interrupted, or something of the verification could not be dropped)."""
        with self._lock:
            self._turn = 0
            if self._interrupted:
                return False
        try:
            attached = self._db.execute(
                "SELECT database_name FROM duckdb_databases() WHERE NOT internal"
            ).fetchall()
            for (name,) in attached:
                if name != _SCRATCH:
                    self._db.execute(f"DETACH {_quoted(name)}")
            left = self._db.execute(
                "SELECT (SELECT count(*) FROM duckdb_databases() WHERE NOT internal)"
                " + (SELECT count(*) FROM duckdb_tables())"
                " + (SELECT count(*) FROM duckdb_views() WHERE NOT internal)"
                " + (SELECT count(*) FROM duckdb_schemas() WHERE NOT internal)"
                " + (SELECT count(*) FROM duckdb_sequences())"
            ).fetchone()
        except duckdb.Error:
            return False
        return left is not None and left[0] == 1  # the scratch database alone

    def close(self) -> None:
        with self._lock:
            self._turn = 0
            self._db.close()

    def create_namespaces(self, catalogs: Sequence[str], schemas: Sequence[TableName]) -> None:
        for catalog in catalogs:
            self._run(f"ATTACH ':memory:' AS {_quoted(self._catalog(catalog))}")
        for schema in schemas:
            catalog = _quoted(self._catalog(schema.catalog))
            self._run(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{_quoted(schema.schema)}")

    def _catalog(self, name: str) -> str:
        """The database a catalog becomes: its own name, unless DuckDB reserves it."""
        return f"{name}{_RESERVED_SUFFIX}" if name.lower() in _RESERVED else name

    def create_source(self, statement: exp.Create) -> None:
        self.execute(statement)

    def fill(self, table: TableName, plan: TablePlan) -> int:
        columns = ", ".join(_column(c.name) for c in plan.columns)
        for first in range(0, plan.rows, _ROWS_PER_INSERT):
            stop = min(plan.rows, first + _ROWS_PER_INSERT)
            rows = duckdb_select(plan, first, stop)
            self._run(f"INSERT INTO {self._name(table)} ({columns}) {rows}")
        return plan.rows

    def execute(self, statement: exp.Expr) -> None:
        if isinstance(statement, exp.Create):  # table properties mean nothing to DuckDB
            statement = without_properties(statement.copy())
        self._run(self._duckdb(statement))

    def rows(self, query: exp.Expr, max_rows: int) -> list[tuple[object, ...]]:
        sql = self._duckdb(query)
        try:
            cursor = self._db.execute(sql)
            rows = cursor.fetchmany(max_rows + 1)
        except duckdb.InterruptException as error:
            raise BudgetSpent(str(error)) from error
        except duckdb.Error as error:
            raise self._error(error) from error
        if len(rows) > max_rows:
            raise TooManyRows(f"it returned more than {max_rows} rows")
        return rows

    def partitions(self, table: TableName, transforms: Sequence[str]) -> int | None:
        expressions = [_transform(t) for t in transforms]
        if any(e is None for e in expressions):
            return None
        listed = ", ".join(e for e in expressions if e is not None)
        sql = f"SELECT count(*) FROM (SELECT DISTINCT {listed} FROM {self._name(table)})"
        try:
            found = self._db.execute(sql).fetchone()
        except duckdb.InterruptException as error:
            raise BudgetSpent(str(error)) from error
        except duckdb.Error:
            return None
        return int(found[0]) if found else None

    def _name(self, table: TableName) -> str:
        parts = (self._catalog(table.catalog), table.schema, table.table)
        return ".".join(_quoted(p) for p in parts)

    def _duckdb(self, statement: exp.Expr) -> str:
        tree = statement
        if any(_reserved(n) for n in statement.find_all(exp.Table, exp.Column)):
            tree = statement.copy()
            for node in tree.find_all(exp.Table, exp.Column):
                if _reserved(node):
                    node.set("catalog", exp.to_identifier(self._catalog(node.args["catalog"].name)))
        if tree.find(*_JSON_EXTRACTS):
            tree = tree.copy() if tree is statement else tree
            for extract in list(tree.find_all(*_JSON_EXTRACTS)):
                # Trino's json_extract(_scalar) is NULL for text that is not JSON; DuckDB's
                # fails the statement: the text is read as JSON where it is JSON only
                text = extract.this
                extract.set("this", exp.TryCast(this=text, to=exp.DataType.build("json")))
        try:
            return tree.sql(dialect="duckdb", identify=True)
        except Exception as error:  # sqlglot cannot write it for DuckDB
            raise SandboxError(f"cannot be translated for DuckDB: {error}") from error

    def _run(self, sql: str) -> None:
        try:
            self._db.execute(sql)
        except duckdb.InterruptException as error:
            raise BudgetSpent(str(error)) from error
        except duckdb.Error as error:
            raise self._error(error) from error

    def _error(self, error: Exception) -> SandboxError:
        if self._interrupted:
            return BudgetSpent(str(error))
        return SandboxError(str(error))


_JSON_EXTRACTS = (exp.JSONExtract, exp.JSONExtractScalar)


class _Idle:
    """The emptied DuckDBs of this process, by their settings, at most `limit` of each: a
    verification takes one (or starts one), and gives it back when it could be emptied. A
    forked child starts with none (its parent's are not its own)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept: dict[tuple[str, int], list[DuckDbSandbox]] = {}
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def take(self, memory_limit: str, threads: int) -> DuckDbSandbox:
        with self._lock:
            kept = self._kept.get((memory_limit, threads))
            if kept:
                return kept.pop()
        return DuckDbSandbox(memory_limit=memory_limit, threads=threads)

    def give_back(self, sandbox: DuckDbSandbox) -> None:
        if sandbox.finish():
            with self._lock:
                kept = self._kept.setdefault(sandbox.settings, [])
                if len(kept) < self._limit:
                    kept.append(sandbox)
                    return
        sandbox.close()

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._kept = {}


_IDLE = _Idle(limit=4)


def _reserved(node: exp.Expr) -> bool:
    catalog = node.args.get("catalog")
    return catalog is not None and catalog.name.lower() in _RESERVED


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(name: str) -> str:
    return name if name.startswith('"') else _quoted(name)


def _transform(spec: str) -> str | None:
    """An Iceberg partition transform as a DuckDB expression (bucket by DuckDB's hash: the
    same number of buckets, other members)."""
    text = spec.strip()
    if "(" not in text:
        return _quoted(text.strip('"').lower())
    function, _, rest = text.partition("(")
    arguments = [a.strip() for a in rest.rstrip(")").split(",")]
    column = _quoted(arguments[0].strip('"').lower())
    function = function.strip().lower()
    if function in ("year", "month", "day", "hour") and len(arguments) == 1:
        return f"date_trunc('{function}', {column})"
    if function == "bucket" and len(arguments) == 2 and arguments[1].isdigit():
        return f"hash({column}) % {arguments[1]}"
    if function == "truncate" and len(arguments) == 2 and arguments[1].isdigit():
        width = arguments[1]
        return (
            f"CASE WHEN typeof({column}) = 'VARCHAR' THEN left(CAST({column} AS VARCHAR), {width})"
            f" ELSE CAST(floor(TRY_CAST({column} AS DOUBLE) / {width}) AS VARCHAR) END"
        )
    return None
