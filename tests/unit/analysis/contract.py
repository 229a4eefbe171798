"""The contract every analysis result obeys, whatever produced it (the design's "contract").

    from tests.unit.analysis.contract import assert_result_obeys_contract
    assert_result_obeys_contract(workload, result)

Checked independently of the engine's own passes (sqlglot's scope analysis finds the stored
tables a query reads), so a bug in the engine's name resolution cannot hide itself:

- ``ddl[0]`` is ``CREATE SCHEMA <catalog>.<target_schema>``;
- every DDL statement, migration and rewritten query parses as Trino SQL;
- every table they name is fully qualified (catalog.schema.table); new tables live in the new
  schema, one ``CREATE TABLE`` each, filled by ``INSERT … SELECT`` from a source table (one
  or more statements: a partitioned table may be filled month by month);
- every input queryid comes back exactly once, in input order;
- a query that parsed reads only the new schema, unless a finding says which table outside
  the DDL it still reads; a query reported unparsable (or left alone by a failed analysis)
  comes back exactly as sent;
- findings have stable ids (F001…) and parse errors carry kind, index, queryid and message;
- nothing of the JDBC credentials appears anywhere in the result (values shorter than four
  characters, like `user=u`, cannot be told apart from ordinary text: for those only
  `user=u` itself is looked for).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, unquote, urlsplit

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.optimizer.scope import Scope, traverse_scope

from domain.analysis.names import normalize
from domain.result import AnalysisResult
from domain.workload import DEFAULT_TARGET_SCHEMA, Workload

__all__ = ["assert_result_obeys_contract", "credentials_in", "parse_trino", "stored_tables"]

_CREDENTIAL_PARAMETERS = {"user", "password", "accesstoken", "extracredentials"}


def assert_result_obeys_contract(
    workload: Workload, result: AnalysisResult, *, original_url: str | None = None
) -> None:
    """Fail with a precise message when `result` breaks the contract for `workload`.

    `original_url` is the URL as the client sent it, before redaction, when `workload.url`
    has already been redacted; its credentials must not appear in the result.
    """
    catalog, schema = _new_schema(workload, result)
    _check_ddl(result, catalog, schema)
    _check_migrations(result, catalog, schema)
    _check_queries(workload, result, catalog, schema)
    _check_findings(result)
    _check_no_credentials(result, original_url or workload.url)


def parse_trino(sql: str) -> exp.Expr:
    """Parse one Trino statement strictly (errors raise, raw `Command` fallbacks fail)."""
    statements = [
        s for s in sqlglot.parse(sql, read="trino", error_level=ErrorLevel.RAISE) if s is not None
    ]
    assert len(statements) == 1, f"expected one statement, got {len(statements)}: {sql!r}"
    statement = statements[0]
    assert not isinstance(statement, exp.Command), f"not parsed as Trino SQL: {sql!r}"
    return statement


def stored_tables(statement: exp.Expr, *, copy: bool = True) -> list[exp.Table]:
    """The tables `statement` names that are not CTEs, by sqlglot's own scope analysis.

    Trino compares names case-insensitively, sqlglot's scopes do not, so every identifier is
    put in lower case first: in a copy of `statement` (whose tables are returned) unless
    `copy` is false.
    """
    if copy:
        statement = statement.copy()
    for identifier in statement.find_all(exp.Identifier):
        identifier.set("this", identifier.name.lower())
    if isinstance(statement, exp.Query):
        try:
            scopes = traverse_scope(statement)
        except Exception:  # sqlglot's scope builder gives up on some shapes
            scopes = []
        if scopes:
            found: dict[int, exp.Table] = {}
            for scope in scopes:
                for table in scope.tables:
                    source = scope.sources.get(table.alias_or_name)
                    if table.args.get("db") is not None or not isinstance(source, Scope):
                        found[id(table)] = table
            return list(found.values())
    cte_names = {cte.alias for cte in statement.find_all(exp.CTE)}
    return [
        t
        for t in statement.find_all(exp.Table)
        if t.args.get("db") is not None or t.name not in cte_names
    ]


def credentials_in(url: str) -> list[str]:
    """The secrets a JDBC URL carries (user info, user, password, tokens), each both as a
    `name=value` pair and, when long enough to be told apart from ordinary text, alone."""
    rest = url[len("jdbc:") :] if url.lower().startswith("jdbc:") else url
    try:
        parts = urlsplit(rest)
        pairs = [("user", parts.username), ("password", parts.password)]
    except ValueError:
        return []
    pairs += [(k, v) for k, v in parse_qsl(parts.query) if k.lower() in _CREDENTIAL_PARAMETERS]
    secrets = []
    for name, value in pairs:
        if value:
            secrets.append(f"{name}={value}")
            if len(unquote(value)) >= 4:
                secrets.append(unquote(value))
    return secrets


def _new_schema(workload: Workload, result: AnalysisResult) -> tuple[str, str]:
    assert result.ddl, "the result has no DDL: CREATE SCHEMA must come first"
    first = parse_trino(result.ddl[0].statement)
    assert isinstance(first, exp.Create), f"ddl[0] is not CREATE SCHEMA: {result.ddl[0]}"
    assert (first.kind or "").upper() == "SCHEMA", f"ddl[0] is not CREATE SCHEMA: {first.sql()}"
    name = first.this
    assert isinstance(name, exp.Table), f"CREATE SCHEMA names no schema: {first.sql()}"
    # sqlglot reads `CREATE SCHEMA a.b` as a table with catalog `a` and db `b`
    catalog, schema = name.catalog.lower(), name.db.lower()
    assert catalog, f"CREATE SCHEMA must name the catalog: {first.sql()}"
    expected_schema = (workload.options.target_schema or "").strip() or DEFAULT_TARGET_SCHEMA
    assert schema == expected_schema.lower(), f"new schema {schema!r} != {expected_schema!r}"
    if workload.catalog:
        assert catalog == workload.catalog.lower(), (
            f"new schema's catalog {catalog!r} is not the URL's {workload.catalog!r}"
        )
    return catalog, schema


def _check_ddl(result: AnalysisResult, catalog: str, schema: str) -> None:
    created: list[tuple[str, ...]] = []
    for statement in result.ddl[1:]:
        tree = parse_trino(statement.statement)
        assert isinstance(tree, exp.Create), f"not a CREATE statement: {statement.statement}"
        assert (tree.kind or "").upper() == "TABLE", f"not CREATE TABLE: {statement.statement}"
        target = tree.find(exp.Table)
        assert target is not None
        name = _full_name(target, statement.statement)
        assert name[:2] == (catalog, schema), f"{'.'.join(name)} is not in {catalog}.{schema}"
        for table in _tables(tree):
            _full_name(table, statement.statement)
        created.append(name)
    assert len(created) == len(set(created)), f"a new table is created twice: {created}"


def _check_migrations(result: AnalysisResult, catalog: str, schema: str) -> None:
    created = {
        _full_name(parse_trino(s.statement).find(exp.Table), s.statement)  # type: ignore[arg-type]
        for s in result.ddl[1:]
    }
    filled: list[tuple[str, ...]] = []
    for statement in result.migrations:
        tree = parse_trino(statement.statement)
        assert isinstance(tree, exp.Insert), f"a migration is not INSERT: {statement.statement}"
        tables = [_full_name(t, statement.statement) for t in _tables(tree)]
        target, *sources = tables
        assert target in created, f"migration fills {'.'.join(target)}, which no DDL creates"
        assert sources, f"migration reads no table: {statement.statement}"
        assert all(s[:2] != (catalog, schema) for s in sources), (
            f"migration reads the new schema instead of a source table: {statement.statement}"
        )
        filled.append(target)
    assert set(filled) == created, "a new table is not filled by any migration"


def _check_queries(workload: Workload, result: AnalysisResult, catalog: str, schema: str) -> None:
    given = [q.queryid for q in workload.queries]
    returned = [q.queryid for q in result.queries]
    assert returned == given, f"queryids not returned once each in order: {returned} != {given}"
    unparsed = _queryids(result, "parse_error", "rewrite_error", "internal_error")
    # a table the DDL does not define, or one read as of a past snapshot (the new tables
    # have no history): the reference stays where it was, and the report says so
    outside = _queryids(result, "unknown_table", "time_travel")
    for original, rewritten in zip(workload.queries, result.queries, strict=True):
        if rewritten.queryid in unparsed:
            assert rewritten.query == original.query, (
                f"{rewritten.queryid}: reported unparsable but not returned unchanged"
            )
            continue
        tree = parse_trino(rewritten.query)
        for table in stored_tables(tree):
            if not isinstance(table.this, exp.Identifier | exp.Dot):
                continue  # a table function such as TABLE(sequence(1, 3)) names no table
            parts = _parts(table)
            if parts is not None and len(parts) == 3 and parts[:2] == (catalog, schema):
                continue
            assert rewritten.queryid in outside, (
                f"{rewritten.queryid} reads {table.sql(dialect='trino')} outside "
                f"{catalog}.{schema} and no unknown_table or time_travel finding says so: "
                f"{rewritten.query}"
            )


def _check_findings(result: AnalysisResult) -> None:
    ids = [f.id for f in result.report.findings]
    assert ids == [f"F{n:03d}" for n in range(1, len(ids) + 1)], f"finding ids: {ids}"
    for finding in result.report.findings:
        assert 0.0 <= finding.weight_share <= 1.0 + 1e-9, finding
        if finding.code == "parse_error":
            assert {"kind", "index", "queryid", "message"} <= set(finding.details), finding
            assert finding.details["kind"] in ("ddl", "query"), finding
    assert result.report.summary.strip(), "the report has no summary"
    assert result.meta.engine in ("rules", "rules+llm"), result.meta


def _check_no_credentials(result: AnalysisResult, url: str) -> None:
    text = json.dumps(result.to_dict(), ensure_ascii=False)
    for secret in credentials_in(url):
        assert secret not in text, f"a credential from the JDBC URL appears in the result: {secret}"


def _queryids(result: AnalysisResult, *codes: str) -> set[str]:
    return {q for f in result.report.findings if f.code in codes for q in f.queryids}


def _tables(tree: exp.Expr) -> list[exp.Table]:
    """The tables a statement names, in order, without its references to its own CTEs."""
    ctes = {normalize(c.alias_or_name) for c in tree.find_all(exp.CTE)}
    return [
        t
        for t in tree.find_all(exp.Table)
        if t.args.get("db") is not None or normalize(t.name) not in ctes
    ]


def _parts(table: exp.Table) -> tuple[str, ...] | None:
    parts = [table.args.get(k) for k in ("catalog", "db", "this")]
    if not all(isinstance(p, exp.Identifier) for p in parts if p is not None):
        return None
    return tuple(p.name.lower() for p in parts if p is not None)


def _full_name(table: exp.Table | None, statement: str) -> tuple[str, ...]:
    assert table is not None, f"no table in {statement}"
    parts = _parts(table)
    assert parts is not None, f"{table.sql(dialect='trino')} is not a table name: {statement}"
    assert len(parts) == 3, (
        f"{table.sql(dialect='trino')} is not a fully qualified table name in: {statement}"
    )
    return parts
