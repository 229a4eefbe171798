"""The verification procedure, whatever engine runs it (a `Sandbox`).

    load      catalogs and schemas; the input DDL in order: each typed table created and
              filled from the data plan, tables created AS SELECT and views run as written
    apply     the result's DDL in order, then its migrations in order
    migrate   per new table: rows, rows of its source (a plain copy), partitions
    compare   per query: the original on the source tables, each candidate on the new
              ones, until one does not differ (see `domain.verification.judge`)

Names are completed as the workload's session completes them (catalog and schema from the
JDBC URL), so that queries naming tables in one, two or three parts run as they would in
Trino. Every failure is an outcome: a statement the engine refuses is recorded with its
message; a query it cannot run is `not_verifiable`, naming the function it lacks. Past the
deadline nothing more runs and what is left is `not_verifiable`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from domain.analysis.catalog import build_catalog, name_parts, property_name
from domain.analysis.names import Session, TableName, identifier, normalize
from domain.analysis.parse import parse_ddl
from domain.synthetic import DataPlan, TablePlan, plan_data
from domain.verification.data import fit_to_statistics
from domain.verification.judge import (
    ResultShape,
    judge,
    order_dependent,
    result_shape,
    with_order_keys,
    without_top_limit,
)
from domain.verification.model import (
    DIFFERS,
    NOT_VERIFIABLE,
    UNCHANGED,
    CandidateOutcome,
    MigrationCheck,
    QueryCheck,
    QueryVerification,
    TableLoad,
    Verification,
    VerificationRequest,
)
from domain.workload import DdlStatement

__all__ = [
    "BudgetSpent",
    "Procedure",
    "Sandbox",
    "SandboxError",
    "TooManyRows",
    "qualified",
    "without_properties",
]

Rows = list[tuple[object, ...]]


class SandboxError(Exception):
    """The engine refused a statement; the message says why (a missing function…)."""


class BudgetSpent(SandboxError):
    """The statement was stopped: the verification's time is up."""


class TooManyRows(SandboxError):
    """A query returned more rows than the verifier compares."""


class Sandbox(Protocol):
    """An engine the procedure runs Trino statements on (each translated as it needs)."""

    def create_namespaces(self, catalogs: Sequence[str], schemas: Sequence[TableName]) -> None:
        """Make each catalog and each (catalog, schema) — `schemas` as TableNames, table ''."""
        ...

    def create_source(self, statement: exp.Create) -> None:
        """Create a source table or view as the input DDL declares it (Trino tree, fully
        qualified), keeping what of its properties the engine can take."""
        ...

    def fill(self, table: TableName, plan: TablePlan) -> int:
        """Insert the plan's rows; how many."""
        ...

    def execute(self, statement: exp.Expr) -> None:
        """Run a statement of the result (Trino tree: DDL with its properties, INSERT)."""
        ...

    def rows(self, query: exp.Expr, max_rows: int) -> Rows:
        """Run a Trino query; its rows (TooManyRows past `max_rows`)."""
        ...

    def partitions(self, table: TableName, transforms: Sequence[str]) -> int | None:
        """How many partitions the Iceberg partitioning `transforms` makes of the table."""
        ...


@dataclass
class _Run:
    deadline: float
    spent: bool = False
    notes: list[str] = field(default_factory=list)

    def left(self) -> bool:
        if time.monotonic() >= self.deadline:
            self.spent = True
        return not self.spent


class Procedure:
    """One verification on one sandbox."""

    def __init__(self, sandbox: Sandbox, engine: str, max_rows: int = 100_000) -> None:
        self._sandbox = sandbox
        self._engine = engine
        self._max_rows = max_rows

    def run(self, request: VerificationRequest) -> Verification:
        started = time.monotonic()
        run = _Run(deadline=started + request.budget_seconds)
        workload = request.workload
        catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
        session = catalog.session
        plan = fit_to_statistics(
            plan_data(workload, request.rows_per_table, request.seed), request.statistics
        )
        tables: list[TableLoad] = []
        migrations: tuple[MigrationCheck, ...] = ()
        try:
            self._namespaces(request, session, catalog.tables)
            tables = self._load(workload.ddl, session, plan, run)
            migrations = self._apply(request, session, tables, run)
        except BudgetSpent:
            run.spent = True
        except SandboxError as error:
            run.notes.append(f"the sandbox could not be prepared: {error}")
        # the new tables the engine could not build (a function or type it lacks): a rewrite
        # reading one cannot be run here, which says nothing of its rows
        unbuilt = {m.table: m.detail for m in migrations if m.status == NOT_VERIFIABLE}
        queries = tuple(self._query(check, session, run, unbuilt) for check in request.checks)
        return Verification(
            engine=self._engine,
            seed=request.seed,
            rows_per_table=request.rows_per_table,
            tables=tuple(tables),
            migrations=migrations,
            queries=queries,
            seconds=time.monotonic() - started,
            budget_seconds=request.budget_seconds,
            budget_spent=run.spent,
            notes=tuple(run.notes) + tuple(f"not generated: {t}: {why}" for t, why in plan.skipped),
            statistics_used=request.statistics is not None and bool(request.statistics.tables),
        )

    # -- load --------------------------------------------------------------------------------

    def _namespaces(
        self, request: VerificationRequest, session: Session, sources: Iterable[TableName]
    ) -> None:
        schemas = {TableName(t.catalog, t.schema, "") for t in sources}
        schemas.add(TableName(session.catalog, session.schema, ""))
        for statement in request.result.ddl:
            tree = _parse(statement.statement)
            if isinstance(tree, exp.Create) and (tree.args.get("kind") or "").upper() == "SCHEMA":
                target = tree.this
                if isinstance(target, exp.Table) and (target.db or target.name):
                    schema = target.db or target.name
                    owner = target.catalog if target.db else ""
                    schemas.add(
                        TableName(normalize(owner or session.catalog), normalize(schema), "")
                    )
        catalogs = sorted({s.catalog for s in schemas})
        self._sandbox.create_namespaces(catalogs, sorted(schemas, key=str))

    def _load(
        self, ddl: Sequence[DdlStatement], session: Session, plan: DataPlan, run: _Run
    ) -> list[TableLoad]:
        plans = {p.table: p for p in plan.tables}
        loads: list[TableLoad] = []
        for entry in ddl:
            try:
                statements = sqlglot.parse(entry.statement, read="trino")
            except (SqlglotError, ValueError):
                continue  # the engine reports what does not parse
            for statement in statements:
                if not isinstance(statement, exp.Create) or not run.left():
                    continue
                kind = (statement.args.get("kind") or "").upper()
                target = (
                    statement.this.this
                    if isinstance(statement.this, exp.Schema)
                    else statement.this
                )
                parts = name_parts(target) if isinstance(target, exp.Table) else None
                if kind not in ("TABLE", "VIEW") or parts is None:
                    continue
                name = session.resolve(parts)
                qualified(statement, session)
                loads.append(self._load_one(statement, kind, name, plans.get(name)))
        return loads

    def _load_one(
        self, statement: exp.Create, kind: str, name: TableName, plan: TablePlan | None
    ) -> TableLoad:
        try:
            self._sandbox.create_source(statement)
            if kind == "VIEW":
                return TableLoad(str(name), None, "view")
            if plan is None or statement.args.get("expression") is not None:
                return TableLoad(str(name), self._count(name), "derived")
            return TableLoad(str(name), self._sandbox.fill(name, plan), plan.role)
        except BudgetSpent:
            raise
        except SandboxError as error:
            return TableLoad(str(name), None, kind.lower(), error=_short(error))

    def _count(self, name: TableName) -> int:
        query = exp.select(exp.Count(this=exp.Star())).from_(_table(name))
        value = self._sandbox.rows(query, 1)[0][0]
        return int(str(value))

    # -- apply and check the migrations -------------------------------------------------------

    def _apply(
        self, request: VerificationRequest, session: Session, loads: list[TableLoad], run: _Run
    ) -> tuple[MigrationCheck, ...]:
        creates: dict[TableName, exp.Create] = {}
        errors: dict[TableName, list[str]] = {}
        for statement in request.result.ddl:
            tree = _parse(statement.statement)
            if not isinstance(tree, exp.Create) or not run.left():
                continue
            kind = (tree.args.get("kind") or "").upper()
            if kind == "SCHEMA":
                continue  # made with the namespaces
            name = _created(tree, session)
            try:
                self._sandbox.execute(tree.copy())
            except BudgetSpent:
                raise
            except SandboxError as error:
                if name is not None:
                    errors.setdefault(name, []).append(f"CREATE: {_short(error)}")
            if name is not None:
                creates[name] = tree
        sources: dict[TableName, set[TableName] | None] = {}
        statements: dict[TableName, int] = {}
        for statement in request.result.migrations:
            tree = _parse(statement.statement)
            if not isinstance(tree, exp.Insert) or not run.left():
                continue
            name = _inserted(tree, session)
            if name is None:
                continue
            statements[name] = statements.get(name, 0) + 1
            copied = _copy_source(tree, session)
            previous = sources.get(name, copied)
            sources[name] = copied if previous == copied else None
            try:
                self._sandbox.execute(tree)
            except BudgetSpent:
                raise
            except SandboxError as error:
                errors.setdefault(name, []).append(f"INSERT: {_short(error)}")
        source_rows = {load.table: load.rows for load in loads}
        checks = []
        for name, create in creates.items():
            if not run.left():
                break
            found = sources.get(name)
            source = next(iter(found)) if found and len(found) == 1 else None
            checks.append(
                self._migration(
                    name, create, source, statements.get(name, 0), errors, source_rows, loads
                )
            )
        return tuple(checks)

    def _migration(
        self,
        name: TableName,
        create: exp.Create,
        source: TableName | None,
        statements: int,
        errors: dict[TableName, list[str]],
        source_rows: dict[str, int | None],
        loads: Sequence[TableLoad],
    ) -> MigrationCheck:
        transforms = _partitioning(create)
        failed = errors.get(name)
        if failed:
            # The engine's limits (a type or function it lacks, a source it could not
            # build) leave the migration unchecked; anything else is the migration's fault.
            broken = [load.table for load in loads if load.error]
            unchecked = any(_unsupported_text(e) for e in failed) or (
                str(source) in broken if source is not None else bool(broken)
            )
            return MigrationCheck(
                str(name),
                str(source) if source else None,
                statements,
                NOT_VERIFIABLE if unchecked else "failed",
                partitioning=transforms,
                detail="; ".join(failed)[:500],
            )
        try:
            rows = self._count(name)
            partitions = self._sandbox.partitions(name, transforms) if transforms else None
        except BudgetSpent:
            raise
        except SandboxError as error:
            return MigrationCheck(
                str(name),
                str(source) if source else None,
                statements,
                NOT_VERIFIABLE,
                partitioning=transforms,
                detail=_short(error),
            )
        expected = source_rows.get(str(source)) if source is not None else None
        status, detail = "ok", ""
        if source is not None and expected is not None and rows != expected:
            status = DIFFERS
            detail = f"{rows} rows after the migrations, {expected} in the source"
        elif source is None:
            detail = "not a plain copy (a rollup or a join): its rows are checked by the queries"
        return MigrationCheck(
            str(name),
            str(source) if source else None,
            statements,
            status,
            rows=rows,
            source_rows=expected,
            partitioning=transforms,
            partitions=partitions,
            detail=detail,
        )

    # -- the queries --------------------------------------------------------------------------

    def _query(
        self,
        check: QueryCheck,
        session: Session,
        run: _Run,
        unbuilt: Mapping[str, str],
    ) -> QueryVerification:
        first = check.candidates[0]
        if check.unchanged:
            return QueryVerification(
                check.queryid,
                (CandidateOutcome(first, UNCHANGED, "returned as it came: nothing to verify"),),
            )
        if check.skip is not None:
            return QueryVerification(
                check.queryid, (CandidateOutcome(first, NOT_VERIFIABLE, check.skip),)
            )
        if not run.left():
            return QueryVerification(check.queryid, (_spent(first, run),))
        original_sql, candidates, shape = _with_keys(check)
        original = _parse(original_sql)
        if original is None:
            return QueryVerification(
                check.queryid,
                (CandidateOutcome(first, NOT_VERIFIABLE, "the original does not parse"),),
            )
        try:
            before = self._sandbox.rows(qualified(original, session), self._max_rows)
        except BudgetSpent:
            run.spent = True
            return QueryVerification(check.queryid, (_spent(first, run),))
        except SandboxError as error:
            detail = f"the original could not be run: {_short(error)}"
            return QueryVerification(
                check.queryid, (CandidateOutcome(first, NOT_VERIFIABLE, detail),)
            )
        unlimited_rows: list[Rows | None] = []

        def unlimited() -> Rows | None:
            if not unlimited_rows:
                unlimited_rows.append(self._unlimited(original_sql, session))
            return unlimited_rows[0]

        tried: list[CandidateOutcome] = []
        for candidate, runnable in zip(check.candidates, candidates, strict=True):
            if not run.left():
                tried.append(_spent(candidate, run))
                break
            tree = _parse(runnable)
            if tree is None:
                tried.append(CandidateOutcome(candidate, DIFFERS, "it does not parse as Trino SQL"))
                continue
            missing = _reads_unbuilt(tree, session, unbuilt)
            if missing:  # the engine's limit, which says nothing of the rewrite's rows
                detail = f"could not be run: {missing}"
                tried.append(CandidateOutcome(candidate, NOT_VERIFIABLE, detail, len(before)))
                break
            try:
                after = self._sandbox.rows(qualified(tree, session), self._max_rows)
            except BudgetSpent:
                run.spent = True
                tried.append(_spent(candidate, run))
                break
            except SandboxError as error:
                if _unsupported(error):  # the engine's limit, not the rewrite's fault
                    detail = f"could not be run: {_short(error)}"
                    tried.append(CandidateOutcome(candidate, NOT_VERIFIABLE, detail, len(before)))
                    break
                detail = f"it failed where the original ran: {_short(error)}"
                tried.append(CandidateOutcome(candidate, DIFFERS, detail, len(before)))
                continue
            outcome, detail = judge(shape, before, after, unlimited)
            tried.append(CandidateOutcome(candidate, outcome, detail, len(before), len(after)))
            if outcome != DIFFERS:
                break
        dependent = order_dependent(check.original)
        if tried and all(t.outcome == DIFFERS for t in tried) and dependent:
            # Even the plainly retargeted query differs: the rows are the same, the query's
            # answer depends on the order it reads them in.
            detail = (
                f"its result depends on the order rows are read ({dependent}), so two layouts "
                f"of the same rows answer differently: {tried[0].detail}"
            )
            tried.append(CandidateOutcome(check.candidates[-1], NOT_VERIFIABLE, detail))
        return QueryVerification(check.queryid, tuple(tried))

    def _unlimited(self, original: str, session: Session) -> Rows | None:
        text = without_top_limit(original)
        tree = _parse(text) if text is not None else None
        if tree is None:
            return None
        try:
            return self._sandbox.rows(qualified(tree, session), self._max_rows)
        except SandboxError:
            return None


def _with_keys(check: QueryCheck) -> tuple[str, tuple[str, ...], ResultShape]:
    """The original and candidates to run, and the shape to judge them by: with the ORDER BY
    keys appended when the query orders and limits by keys it does not output."""
    shape = result_shape(check.original)
    if not shape.ordered or shape.limit is None or shape.keys is not None:
        return check.original, check.candidates, shape
    original = with_order_keys(check.original)
    candidates = [with_order_keys(c) for c in check.candidates]
    if original is None or any(c is None for c in candidates):
        return check.original, check.candidates, shape
    return original[0], tuple(c[0] for c in candidates if c is not None), original[1]


def _spent(sql: str, run: _Run) -> CandidateOutcome:
    run.spent = True
    return CandidateOutcome(sql, NOT_VERIFIABLE, "the verification budget was spent before it ran")


def _parse(text: str) -> exp.Expr | None:
    try:
        tree = sqlglot.parse_one(text, read="trino")
    except (SqlglotError, ValueError):
        return None
    return tree if isinstance(tree, exp.Expr) else None


_MISSING_FUNCTION = re.compile(
    r"(Scalar|Aggregate|Table) Function with name \"?(\w+)\"? does not exist"
)


def _reads_unbuilt(tree: exp.Expr, session: Session, unbuilt: Mapping[str, str]) -> str:
    """Why `tree` cannot be run here when it reads a table the engine could not build."""
    for table in tree.find_all(exp.Table):
        parts = name_parts(table)
        name = str(session.resolve(parts)) if parts is not None else ""
        if name in unbuilt:
            return f"it reads {name}, which the verifier's engine could not build ({unbuilt[name]})"
    return ""


def _unsupported(error: Exception) -> bool:
    """Whether the engine refused for want of a feature (a function, a type, a syntax)."""
    return isinstance(error, TooManyRows) or _unsupported_text(str(error))


_UNSUPPORTED = ("Not implemented", "cannot be translated", "Parser Error", "Type with name")


def _unsupported_text(text: str) -> bool:
    return bool(_MISSING_FUNCTION.search(text)) or any(m in text for m in _UNSUPPORTED)


def _short(error: Exception) -> str:
    """An engine's message, first line, with a missing function named plainly."""
    text = str(error).strip()
    missing = _MISSING_FUNCTION.search(text)
    if missing:
        first = text.splitlines()[0][:200]
        return f"the verifier's engine has no function {missing.group(2)} ({first})"
    return text.splitlines()[0][:300] if text else type(error).__name__


def qualified(tree: exp.Expr, session: Session) -> exp.Expr:
    """`tree` with every table it names written in full, in place. A one-part name that is a
    CTE's stays, except inside that CTE's own body, where (as in Trino, without RECURSIVE)
    it names the table."""
    ctes = {normalize(cte.alias) for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        parts = name_parts(table)
        if parts is None:
            continue
        if len(parts) == 1 and normalize(parts[0]) in ctes and not _in_own_cte(table):
            continue
        full = session.resolve(parts)
        table.set("catalog", identifier(full.catalog))
        table.set("db", identifier(full.schema))
        table.set("this", identifier(full.table))
    for column in list(tree.find_all(exp.Column)):
        # A column qualified with its table's schema (`sales.orders.id`) names the table in
        # full, as its FROM now does.
        if column.args.get("db") is None or not column.table:
            continue
        qualifier = [p.name for p in (column.args.get("catalog"), column.args.get("db")) if p]
        full = session.resolve([*qualifier, column.table])
        column.set("catalog", identifier(full.catalog))
        column.set("db", identifier(full.schema))
        column.set("table", identifier(full.table))
    return tree


def _in_own_cte(table: exp.Table) -> bool:
    name = normalize(table.name)
    node: exp.Expr | None = table.parent
    while node is not None:
        if isinstance(node, exp.CTE) and normalize(node.alias) == name:
            return True
        node = node.parent
    return False


def _table(name: TableName) -> exp.Table:
    return name.node()


def without_properties(statement: exp.Create) -> exp.Create:
    """The statement without its `WITH (...)`, comments and column constraints but NOT NULL;
    `AS … WITH NO DATA` kept empty (an engine without the clause gets `LIMIT 0`)."""
    properties = statement.args.get("properties")
    no_data = properties is not None and any(
        isinstance(p, exp.WithDataProperty) and p.args.get("no") for p in properties.expressions
    )
    statement.set("properties", None)
    query = statement.args.get("expression")
    if no_data and isinstance(query, exp.Query):
        statement.set("expression", exp.select("*").from_(query.subquery("q")).limit(0))
    schema = statement.this
    if isinstance(schema, exp.Schema):
        for column in schema.expressions:
            if isinstance(column, exp.ColumnDef):
                kept = [
                    c
                    for c in column.args.get("constraints") or []
                    if isinstance(c.args.get("kind"), exp.NotNullColumnConstraint)
                ]
                column.set("constraints", kept)
    return statement


def _created(tree: exp.Create, session: Session) -> TableName | None:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    parts = name_parts(target) if isinstance(target, exp.Table) else None
    return session.resolve(parts) if parts is not None else None


def _inserted(tree: exp.Insert, session: Session) -> TableName | None:
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    parts = name_parts(target) if isinstance(target, exp.Table) else None
    return session.resolve(parts) if parts is not None else None


def _copy_source(tree: exp.Insert, session: Session) -> set[TableName] | None:
    """The one table a plain copy reads (no join, no grouping, no aggregate, no window, no
    DISTINCT or LIMIT: a latest table or a stored result holds fewer rows), else None."""
    query = tree.args.get("expression")
    if not isinstance(query, exp.Select):
        return None
    if query.args.get("group") or query.args.get("joins") or query.find(exp.AggFunc):
        return None
    if query.args.get("distinct") or query.args.get("limit") or query.find(exp.Window):
        return None
    tables = list(query.find_all(exp.Table))
    if len(tables) != 1:
        return None
    parts = name_parts(tables[0])
    return {session.resolve(parts)} if parts is not None else None


def _partitioning(create: exp.Create) -> tuple[str, ...]:
    properties = create.args.get("properties")
    if not isinstance(properties, exp.Properties):
        return ()
    for prop in properties.expressions:
        if property_name(prop) in ("partitioning", "partitioned_by"):
            value = prop.args.get("value") if type(prop) is exp.Property else prop.this
            if isinstance(value, exp.Array):
                return tuple(e.name for e in value.expressions if isinstance(e, exp.Literal))
    return ()
