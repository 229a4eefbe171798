"""The identity answer: every source table copied as it is into the target schema, and every
query only retargeted to the copies.

Decides the reference a scorer compares an engine's answer with. It changes nothing a result
depends on, so the rows its queries return are the original queries' rows, and what an answer
gains is measured against exactly this: the same data, in the same layout, in the new schema.

- **DDL**: ``CREATE SCHEMA <catalog>.<target_schema>``, then one ``CREATE TABLE`` per source
  table with its columns, types and constraints as declared and the ``WITH (...)`` properties
  it had that an Iceberg table takes (a Hive DDL's ``partitioned_by`` would make the statement
  fail) — except its storage location (``location``, ``external_location``): a copy that
  shared its source's files would fail to be created (Iceberg refuses a non-empty location) or,
  as a Hive external table, double the source's rows when filled. A table whose DDL does not
  type its columns (``AS SELECT``, ``LIKE``) is created from its source: ``CREATE TABLE new
  WITH (...) AS SELECT * FROM old WITH NO DATA``.
- **Names** are read as the engine reads them (`parse_ddl`, `build_catalog`: the session from
  the JDBC URL completes one- and two-part names) and the copies are named as the engine names
  its tables (`new_names`), so that two source tables of the same name in different schemas
  do not collide.
- **Migrations**: ``INSERT INTO new SELECT … FROM old`` per table, the columns listed on both
  sides when the DDL names them, ``*`` when it does not; split as the engine splits a copy
  that keeps its source's partitions (`migrate`), so that each statement opens fewer
  partitions than Trino's writers allow.
- **Queries**: each reference to a source table (not a CTE of the same name, not a table
  outside the DDL) renamed on the parsed tree, which is generated back as Trino SQL
  (`rename_and_generate`, as the engine retargets); a query that does not parse, or reads no
  source table, comes back as it was sent. Every queryid once, in input order.

>>> from domain.workload import DdlStatement, Query, Workload
>>> workload = Workload(
...     url="jdbc:trino://host:8080/lake/sales",
...     ddl=(DdlStatement("CREATE TABLE orders (id bigint) WITH (format = 'ORC')"),),
...     queries=(Query("q1", "SELECT count(*) FROM orders"),),
... )
>>> result = identity_result(workload, target_schema="copy")
>>> [s.statement for s in result.ddl]
['CREATE SCHEMA lake.copy', "CREATE TABLE lake.copy.orders (id BIGINT) WITH (format = 'ORC')"]
>>> result.migrations[0].statement
'INSERT INTO lake.copy.orders (id) SELECT id FROM lake.sales.orders'
>>> result.queries[0].query
'SELECT COUNT(*) FROM lake.copy.orders'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from domain.analysis.catalog import Catalog, Column, SourceTable, build_catalog, name_parts
from domain.analysis.layout import ICEBERG_TABLE_PROPERTIES, TargetTable, new_names, schema_name
from domain.analysis.migrate import migration_sql
from domain.analysis.names import Session, TableName, identifier_sql, trino_sql
from domain.analysis.parse import parse_ddl, parse_query
from domain.analysis.profile import table_nodes
from domain.analysis.retarget import RETARGETED, UNCHANGED, rename_and_generate
from domain.result import AnalysisResult, Meta, Report, RewrittenQuery, SqlStatement
from domain.workload import Query, Workload

__all__ = ["ENGINE", "identity_result"]

ENGINE = "identity"
# Properties naming where the source's files are: the copy must have files of its own.
_LOCATION_PROPERTIES = frozenset({"location", "external_location", "data_location"})
# A property Trino's Iceberg connector does not know (a Hive DDL's `partitioned_by`,
# `bucketed_by`…) would make the copy's CREATE TABLE fail: the copy goes without it.
_KEPT_PROPERTIES = ICEBERG_TABLE_PROPERTIES - _LOCATION_PROPERTIES


@dataclass(frozen=True, slots=True)
class _Retargeted:
    queryid: str
    sql: str
    status: str  # RETARGETED or UNCHANGED
    reason: str


def identity_result(workload: Workload, *, target_schema: str) -> AnalysisResult:
    """The identity answer for `workload`, its copies in `target_schema` of the URL's catalog
    (normalized like the engine's: blank means the default schema)."""
    catalog, _ = build_catalog(parse_ddl(workload.ddl), workload.url)
    schema = schema_name(target_schema)
    sources = list(catalog.tables.values())
    names, _ = new_names([s.name for s in sources], catalog.session.catalog, schema)
    create = [f"CREATE SCHEMA {identifier_sql(catalog.session.catalog)}.{identifier_sql(schema)}"]
    create += [_create_table(source, names[source.name]) for source in sources]
    copies = [copy for source in sources for copy in _copies(source, names[source.name])]
    queries = [_retarget(query, names, catalog.session) for query in workload.queries]
    return AnalysisResult(
        ddl=tuple(SqlStatement(s) for s in create),
        migrations=tuple(SqlStatement(s) for s in copies),
        queries=tuple(RewrittenQuery(q.queryid, q.sql) for q in queries),
        report=_report(catalog, schema, queries),
        meta=Meta(
            engine=ENGINE,
            parts=dict.fromkeys(("ddl", "migrations", "queries", "report"), ENGINE),
        ),
    )


def _create_table(source: SourceTable, name: TableName) -> str:
    kept = [p for p in source.properties if p.name in _KEPT_PROPERTIES]
    properties = ", ".join(f"{p.name} = {trino_sql(p.value)}" for p in kept)
    with_properties = f" WITH ({properties})" if properties else ""
    comment = f" COMMENT {trino_sql(source.comment)}" if source.comment is not None else ""
    if not source.typed:  # only the source table knows its columns' types
        return (
            f"CREATE TABLE {name.sql()}{comment}{with_properties} "
            f"AS SELECT * FROM {source.name.sql()} WITH NO DATA"
        )
    columns = ", ".join(_column_sql(column) for column in source.columns)
    return f"CREATE TABLE {name.sql()} ({columns}){comment}{with_properties}"


def _column_sql(column: Column) -> str:
    parts = [column.sql_name]
    if column.data_type is not None:
        parts.append(trino_sql(column.data_type, copy=False))
    parts += [trino_sql(c, copy=False) for c in column.constraints]
    return " ".join(parts)


def _copies(source: SourceTable, name: TableName) -> list[str]:
    if not source.typed:
        # The copy was created from the source's own columns, in its order: * fits it.
        return [f"INSERT INTO {name.sql()} SELECT * FROM {source.name.sql()}"]
    # Split as the engine splits a copy that keeps its source's partitions, so that no
    # statement opens more partitions than Trino's writers may (see `migrate`).
    kept = tuple(
        (p.name, trino_sql(p.value)) for p in source.properties if p.name == "partitioning"
    )
    return migration_sql(TargetTable(source, name, source.columns, kept))


def _retarget(query: Query, names: Mapping[TableName, TableName], session: Session) -> _Retargeted:
    parsed = parse_query(query)
    if parsed.statement is None:
        return _Retargeted(query.queryid, query.query, UNCHANGED, f"unparsed: {parsed.error}")
    try:
        tables, _ = table_nodes(parsed.statement)
        if not any(_source(table, session) in names for table in tables):
            # Nothing to rename: the text as sent, rather than as sqlglot would print it.
            return _Retargeted(query.queryid, query.query, UNCHANGED, "reads no source table")
        sql = rename_and_generate(parsed.statement, names, session)
    except Exception as error:  # a query must come back whatever happens
        reason = f"not retargeted: {type(error).__name__}: {error}"[:300]
        return _Retargeted(query.queryid, query.query, UNCHANGED, reason)
    return _Retargeted(query.queryid, sql, RETARGETED, "only table names changed")


def _source(table: exp.Table, session: Session) -> TableName | None:
    parts = name_parts(table)
    return session.resolve(parts) if parts is not None else None


def _report(catalog: Catalog, schema: str, queries: list[_Retargeted]) -> Report:
    target = f"{identifier_sql(catalog.session.catalog)}.{identifier_sql(schema)}"
    retargeted = sum(1 for q in queries if q.status == RETARGETED)
    relocated = [
        str(t.name)
        for t in catalog.tables.values()
        if any(p.name not in _KEPT_PROPERTIES for p in t.properties)
    ]
    summary = (
        f"The identity answer: the {len(catalog.tables)} source table(s) copied into {target} "
        "as they are (same columns and types, and the properties an Iceberg table takes), and "
        "the queries only retargeted to "
        f"the copies ({retargeted} of {len(queries)}; the others are returned as sent). "
        "Nothing is optimized: this is the baseline other answers are measured against."
    )
    if relocated:
        summary += (
            f" The copies of {', '.join(relocated)} do not keep their source's storage "
            "location (they are stored apart from it) nor properties an Iceberg table does not "
            "take."
        )
    return Report(
        summary=summary,
        verification={
            "method": "none needed: the copies hold the source tables' rows, and the queries "
            "read them under their new names only",
            "executed": False,
            "queries": [
                {"queryid": q.queryid, "status": q.status, "reason": q.reason} for q in queries
            ],
        },
    )
