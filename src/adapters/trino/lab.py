"""The lab: a workload's source tables made real in a Trino with Iceberg, filled with data.

Given a workload, the lab creates its catalogs (Iceberg on the local file system, made at run
time with ``CREATE CATALOG``), its schemas and tables as the DDL declares them, and fills the
typed tables with the rows a `DataPlan` describes. Then anything — the engine's answer, an
identity copy, a hand-written one — can be applied and measured against the same data.

Where the lab departs from the DDL, it says so in `LoadReport.notes`: a ``location`` (an
object store the lab does not have) is dropped, and so are properties Trino's Iceberg
connector does not know (a Hive DDL's ``partitioned_by``, ``bucketed_by``…) — the table is
created without them, as it would have to be in an Iceberg catalog.

A table already loaded from the same statement, plan and seed is kept (its comment carries a
fingerprint), so that scoring a workload again at 20 million rows does not reload it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from adapters.trino.runner import Outcome, TrinoRunner
from domain.analysis.catalog import name_parts, property_name
from domain.analysis.layout import ICEBERG_TABLE_PROPERTIES
from domain.analysis.names import (
    TRINO,
    Session,
    TableName,
    identifier,
    identifier_sql,
    normalize,
    trino_sql,
)
from domain.result import AnalysisResult
from domain.rowsets import Comparison, compare_results
from domain.synthetic import DataPlan, TablePlan, plan_data, trino_select
from domain.workload import Workload

__all__ = [
    "Applied",
    "LoadReport",
    "TrinoLab",
    "compare_outcomes",
    "qualified",
]

# The lab keeps its files under its warehouse, not where the DDL says.
_KEPT_PROPERTIES = ICEBERG_TABLE_PROPERTIES - {"location", "data_location"}
_PLAN_VERSION = "1"
# One INSERT writes at most this many rows; a partitioned table is filled in at least
# _PARTITIONED_SLICES statements, each a slice of the time span (rows are in load order),
# so that no INSERT opens more partitions than Trino's writer allows.
_ROWS_PER_INSERT = 2_000_000
_TIE_CHECK_ROWS = 1_000_000
_PARTITIONED_SLICES = 40


@dataclass(slots=True)
class Applied:
    """What applying an answer did: the schemas it made and the statements Trino refused."""

    schemas: list[tuple[str, str]]
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (where, sql, error)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class LoadReport:
    """What the lab loaded: rows per table, what it kept from an earlier load, and notes."""

    plan: DataPlan
    rows: dict[str, int] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # DDL statements Trino refused
    seconds: float = 0.0


class TrinoLab:
    """Loads workloads into one Trino whose Iceberg catalogs live under `warehouse`."""

    def __init__(self, runner: TrinoRunner, warehouse: Path) -> None:
        self._runner = runner
        self._warehouse = warehouse

    @property
    def runner(self) -> TrinoRunner:
        return self._runner

    def ensure_catalog(self, name: str) -> None:
        """Create Iceberg catalog `name` unless Trino has one by that name."""
        existing = {row[0] for row in self._runner.rows("SHOW CATALOGS")}
        if name in existing:
            return
        location = self._warehouse / name
        location.mkdir(parents=True, exist_ok=True)
        properties = {
            "iceberg.catalog.type": "TESTING_FILE_METASTORE",
            "hive.metastore.catalog.dir": "local:///",
            "fs.native-local.enabled": "true",
            "local.location": str(location),
        }
        listed = ", ".join(f'"{key}" = {_string(value)}' for key, value in properties.items())
        self._runner.rows(f"CREATE CATALOG {identifier_sql(name)} USING iceberg WITH ({listed})")

    def drop_schema(self, catalog: str, schema: str) -> None:
        """Drop a schema and everything in it; nothing when it is not there."""
        self.ensure_catalog(catalog)
        qualified = f"{identifier_sql(catalog)}.{identifier_sql(schema)}"
        schemas = self._runner.rows(
            f"SELECT schema_name FROM {identifier_sql(catalog)}.information_schema.schemata"
            f" WHERE schema_name = {_string(schema)}"
        )
        if not schemas:
            return
        tables = self._runner.rows(
            f"SELECT table_name, table_type FROM {identifier_sql(catalog)}.information_schema"
            f".tables WHERE table_schema = {_string(schema)}"
        )
        for name, kind in tables:
            what = "VIEW" if kind == "VIEW" else "TABLE"
            self._runner.rows(f"DROP {what} IF EXISTS {qualified}.{identifier_sql(name)}")
        materialized = self._runner.rows(
            "SELECT name FROM system.metadata.materialized_views"
            f" WHERE catalog_name = {_string(catalog)} AND schema_name = {_string(schema)}"
        )
        for (name,) in materialized:
            self._runner.rows(
                f"DROP MATERIALIZED VIEW IF EXISTS {qualified}.{identifier_sql(name)}"
            )
        self._runner.rows(f"DROP SCHEMA IF EXISTS {qualified}")

    def load(self, workload: Workload, rows: int, seed: int = 0) -> LoadReport:
        """Create and fill the workload's source tables; keep those already loaded alike."""
        started = time.perf_counter()
        plan = plan_data(workload, rows, seed)
        report = LoadReport(plan)
        catalog = plan.catalog
        if catalog is None:
            return report
        for table in catalog.tables.values():
            self.ensure_catalog(table.name.catalog)
            self._runner.rows(
                f"CREATE SCHEMA IF NOT EXISTS {identifier_sql(table.name.catalog)}"
                f".{identifier_sql(table.name.schema)}"
            )
        plans = {p.table: p for p in plan.tables}
        chain = str(seed)  # each table's fingerprint covers the tables loaded before it
        for index, statement in _statements(workload):
            chain = self._load_statement(index, statement, catalog.session, plans, report, chain)
        report.seconds = time.perf_counter() - started
        return report

    def _load_statement(
        self,
        index: int,
        statement: exp.Expr,
        session: Session,
        plans: dict[TableName, TablePlan],
        report: LoadReport,
        chain: str,
    ) -> str:
        kind = (
            (statement.args.get("kind") or "").upper() if isinstance(statement, exp.Create) else ""
        )
        if not isinstance(statement, exp.Create) or kind not in ("TABLE", "VIEW"):
            report.notes.append(f"DDL statement {index + 1} not run: not a CREATE TABLE or VIEW")
            return chain
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        parts = name_parts(target) if isinstance(target, exp.Table) else None
        if parts is None:
            report.notes.append(f"DDL statement {index + 1} not run: its name is not a table name")
            return chain
        name = session.resolve(parts)
        adapted, dropped = _adapted(statement)
        sql = trino_sql(qualified(adapted, session), copy=False)
        if dropped:
            report.notes.append(
                f"{name}: created without {', '.join(dropped)} (not an Iceberg table property"
                " the lab can honour)"
            )
        if kind == "VIEW":
            outcome = self._runner.run(sql.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
            if outcome.error is not None:
                report.failed[str(name)] = outcome.error
            return chain
        plan = plans.get(name)
        fingerprint = _fingerprint(chain, sql, plan)
        if self._comment(name) == fingerprint:
            report.reused.append(str(name))
            report.rows[str(name)] = self._count(name)
            return fingerprint
        self._runner.rows(f"DROP TABLE IF EXISTS {name.sql()}")
        outcome = self._runner.run(sql)
        if outcome.error is not None:
            report.failed[str(name)] = outcome.error
            return fingerprint
        if plan is not None:
            columns = ", ".join(c.name for c in plan.columns)
            partitioned = "partitioning" in sql.lower()
            for first, stop in _slices(plan, partitioned):
                self._runner.rows(
                    f"INSERT INTO {name.sql()} ({columns}) {trino_select(plan, first, stop)}"
                )
        self._runner.rows(f"COMMENT ON TABLE {name.sql()} IS {_string(fingerprint)}")
        report.rows[str(name)] = self._count(name)
        return fingerprint

    def _comment(self, name: TableName) -> str | None:
        rows = self._runner.rows(
            "SELECT comment FROM system.metadata.table_comments"
            f" WHERE catalog_name = {_string(name.catalog)} AND schema_name = "
            f"{_string(name.schema)} AND table_name = {_string(name.table)}"
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def _count(self, name: TableName) -> int:
        return int(self._runner.rows(f"SELECT count(*) FROM {name.sql()}")[0][0])

    def apply(self, result: AnalysisResult) -> Applied:
        """Run an answer's DDL in order, then its migrations in order; drop its schemas first.

        Every statement runs, even after one failed, as a user pasting them would; each
        failure is kept with Trino's message.
        """
        schemas = _created_schemas(result)
        for catalog, schema in schemas:
            self.drop_schema(catalog, schema)
        applied = Applied(schemas=schemas)
        for part, statements in (("ddl", result.ddl), ("migrations", result.migrations)):
            for number, statement in enumerate(statements, start=1):
                outcome = self._runner.run(statement.statement, keep_rows=False)
                applied.seconds[part] = applied.seconds.get(part, 0.0) + outcome.seconds
                if outcome.error is not None:
                    applied.failures.append(
                        (f"{part}[{number}]", statement.statement, outcome.error)
                    )
        return applied

    def schema_bytes(self, catalog: str, schema: str) -> tuple[int, int]:
        """The size of a schema's table data files in bytes, and how many there are."""
        total = files = 0
        for table in self.tables_in(catalog, schema):
            size, count = self.table_bytes(table)
            total, files = total + size, files + count
        return total, files

    def table_bytes(self, table: TableName) -> tuple[int, int]:
        """The size of a table's data files in bytes, and how many there are."""
        rows = self._runner.rows(
            "SELECT coalesce(sum(file_size_in_bytes), 0), count(*) FROM "
            f"{identifier_sql(table.catalog)}.{identifier_sql(table.schema)}"
            f'."{table.table}$files"'
        )
        return int(rows[0][0]), int(rows[0][1])

    def tables_in(self, catalog: str, schema: str) -> list[TableName]:
        """The base tables (not views) of a schema."""
        rows = self._runner.rows(
            f"SELECT table_name FROM {identifier_sql(catalog)}.information_schema.tables"
            f" WHERE table_schema = {_string(schema)} AND table_type = 'BASE TABLE'"
        )
        return [TableName(catalog, schema, row[0]) for row in rows]


def compare_outcomes(
    original_runner: TrinoRunner, original: Outcome, rewritten: Outcome, rel_tol: float = 1e-6
) -> Comparison:
    """Whether a rewrite returned its original's rows (as multisets, floats within `rel_tol`).

    Under ``ORDER BY … LIMIT n`` rows that tie at the n-th place may legitimately differ
    between two layouts (Trino keeps whichever it reads first). When the rows differ but not
    their number, and the original ends in a LIMIT, the original runs again without it: the
    rewrite is taken as equal up to ties when every row it returned is a row of that result.
    That is weaker than a proof (the sort keys are not checked), and the detail says so.
    """
    comparison = compare_results(original.rows, rewritten.rows, rel_tol=rel_tol)
    if comparison.equal or comparison.rows_before != comparison.rows_after:
        return comparison
    unlimited = _without_top_limit(original.sql)
    if unlimited is None:
        return comparison
    everything = original_runner.run(unlimited)
    if everything.error is not None or everything.row_count > _TIE_CHECK_ROWS:
        return comparison
    available = Counter(_loose_key(row) for row in everything.rows)
    needed = Counter(_loose_key(row) for row in rewritten.rows)
    if any(available[key] < count for key, count in needed.items()):
        return comparison
    return Comparison(
        True,
        comparison.rows_before,
        comparison.rows_after,
        "equal up to ties under ORDER BY … LIMIT: each row the rewrite returned is a row of the"
        " original without its LIMIT",
    )


def _without_top_limit(sql: str) -> str | None:
    try:
        tree = sqlglot.parse_one(sql, dialect=TRINO)
    except (SqlglotError, ValueError):
        return None
    if not isinstance(tree, exp.Query) or tree.args.get("limit") is None:
        return None
    tree.set("limit", None)
    return trino_sql(tree, copy=False)


def _loose_key(row: Sequence[object]) -> tuple[object, ...]:
    return tuple(
        f"{value:.6g}" if isinstance(value, float | Decimal) else repr(value) for value in row
    )


def _created_schemas(result: AnalysisResult) -> list[tuple[str, str]]:
    schemas: list[tuple[str, str]] = []
    for statement in result.ddl:
        try:
            tree = sqlglot.parse_one(statement.statement, dialect=TRINO)
        except (SqlglotError, ValueError):
            continue
        if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "SCHEMA":
            target = tree.this  # CREATE SCHEMA c.s parses as a table with catalog c and db s
            if isinstance(target, exp.Table) and target.args.get("catalog") is not None:
                schemas.append((normalize(target.catalog), normalize(target.db)))
    return schemas


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _statements(workload: Workload) -> list[tuple[int, exp.Expr]]:
    found: list[tuple[int, exp.Expr]] = []
    for index, entry in enumerate(workload.ddl):
        try:
            parsed = sqlglot.parse(entry.statement, dialect=TRINO)
        except (SqlglotError, ValueError):
            continue
        found.extend((index, s) for s in parsed if isinstance(s, exp.Expr))
    return found


def _fingerprint(chain: str, statement: str, plan: TablePlan | None) -> str:
    rows = trino_select(plan, 0, plan.rows) if plan is not None else ""
    text = "\x1f".join([_PLAN_VERSION, chain, statement, rows])
    return "dbanalysis-lab " + hashlib.sha256(text.encode()).hexdigest()[:32]


def _slices(plan: TablePlan, partitioned: bool) -> list[tuple[int, int]]:
    count = math.ceil(plan.rows / _ROWS_PER_INSERT)
    if partitioned:
        count = max(count, min(_PARTITIONED_SLICES, plan.rows))
    count = max(count, 1)
    bounds = [plan.rows * k // count for k in range(count + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _adapted(statement: exp.Create) -> tuple[exp.Create, list[str]]:
    """The statement with the properties the lab's Iceberg catalogs cannot take removed."""
    adapted = statement.copy()
    dropped: list[str] = []
    properties = adapted.args.get("properties")
    if isinstance(properties, exp.Properties):
        kept: list[exp.Expr] = []
        for prop in properties.expressions:
            name = property_name(prop)
            if not name or name in _KEPT_PROPERTIES:
                kept.append(prop)
            else:
                dropped.append(name)
        properties.set("expressions", kept)
        if not kept:
            adapted.set("properties", None)
    return adapted, dropped


def qualified(tree: exp.Expr, session: Session) -> exp.Expr:
    """`tree` with every table it names written in full (`catalog.schema.table`), in place.

    The lab's session has no default catalog or schema, so a DDL's one- and two-part names
    are completed as the workload's session completes them. CTE names are left alone.
    """
    ctes = {normalize(cte.alias) for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        parts = name_parts(table)
        if parts is None or (len(parts) == 1 and normalize(parts[0]) in ctes):
            continue
        full = session.resolve(parts)
        table.set("catalog", identifier(full.catalog))
        table.set("db", identifier(full.schema))
        table.set("this", identifier(full.table))
    return tree
