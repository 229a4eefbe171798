"""Catalog pass: the source tables the DDL defines, fully named, with their columns.

Decides two things.

**The session** — which catalog and schema complete one- and two-part names, in the DDL and
in the queries alike, and which catalog receives the new schema:

- catalog: the JDBC URL's (`?catalog=` or the first path segment), else the catalog of the
  first DDL table that names one, else ``iceberg`` (the name Trino's documentation gives the
  Iceberg catalog);
- schema: the URL's (`?schema=` or the second path segment), else the schema of the first
  DDL table that names one, else ``default`` (the schema Hive and Iceberg catalogs start with).

A value that is not in the URL is an assumption, and the report says so.

**The tables** — every ``CREATE TABLE`` becomes a `SourceTable`: its name completed from the
session, its columns as written (names keep their quoting, types as declared), its properties
and comment. ``CREATE TABLE … AS SELECT`` keeps the column names its query makes visible; when
they cannot all be named, or the definition copies another table (``LIKE``), the columns are
left to the source table itself (`SourceTable.typed` is false). Other statements define no
table and are reported; a table defined twice keeps its first definition.

>>> from domain.analysis.parse import parse_ddl
>>> from domain.workload import DdlStatement
>>> ddl = parse_ddl([DdlStatement('CREATE TABLE sales.orders (id bigint, "Note" varchar)')])
>>> catalog, issues = build_catalog(ddl, "jdbc:trino://host:8080?catalog=lake")
>>> [(str(t.name), [c.sql_name for c in t.columns]) for t in catalog.tables.values()]
[('lake.sales.orders', ['id', '"Note"'])]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from sqlglot import exp

from domain.analysis.findings import Issue, Severity
from domain.analysis.names import Session, TableName, normalize, trino_sql, written
from domain.analysis.parse import ParsedDdl
from domain.workload import catalog_from_jdbc_url

__all__ = [
    "DEFAULT_CATALOG",
    "DEFAULT_SCHEMA",
    "Catalog",
    "Column",
    "SourceTable",
    "TableProperty",
    "build_catalog",
    "column_types",
    "name_parts",
    "property_name",
    "session_for",
    "time_partitioned",
]

DEFAULT_CATALOG = "iceberg"
DEFAULT_SCHEMA = "default"

# Column constraints Trino's Iceberg connector accepts on a new table.
_KEPT_CONSTRAINTS = (exp.NotNullColumnConstraint, exp.CommentColumnConstraint)


@dataclass(frozen=True, slots=True)
class Column:
    """A column as the DDL wrote it. `data_type` is None when the DDL does not say.

    Its expressions are the DDL's own nodes, not copies (copying thousands of them costs more
    than the rest of the pass): passes read them and copy before changing anything.
    """

    name: exp.Identifier
    data_type: exp.DataType | None = None
    constraints: tuple[exp.ColumnConstraint, ...] = ()
    # the name as Trino matches it: every pass looks columns up by it
    key: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", normalize(self.name.name))

    @property
    def sql_name(self) -> str:
        """The column's name as the DDL wrote it (quoted if it was)."""
        return written(self.name)


@dataclass(frozen=True, slots=True)
class TableProperty:
    """One entry of a table's ``WITH (...)``: its lower-case name and its value."""

    name: str
    value: exp.Expr


@dataclass(frozen=True, slots=True)
class SourceTable:
    name: TableName
    columns: tuple[Column, ...]
    properties: tuple[TableProperty, ...] = ()
    comment: exp.Expr | None = None
    ddl_index: int = 0
    written: str = ""  # the name as the DDL wrote it
    written_parts: int = 3
    _typed: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        typed = bool(self.columns) and all(c.data_type is not None for c in self.columns)
        object.__setattr__(self, "_typed", typed)

    @property
    def typed(self) -> bool:
        """Whether the DDL names every column with its type (else the source table knows)."""
        return self._typed


@dataclass(frozen=True, slots=True)
class Catalog:
    """The source tables by normalized name, in DDL order, and the session around them."""

    session: Session
    tables: Mapping[TableName, SourceTable] = field(default_factory=dict)
    catalog_from_url: bool = True
    schema_from_url: bool = True

    def get(self, name: TableName) -> SourceTable | None:
        return self.tables.get(name)


# The column types of the tables last looked at, by identity: a workload's queries read the
# same few tables over and over, and a wide table has hundreds of columns to index.
_TYPES_CACHE: dict[int, tuple[SourceTable, dict[str, exp.DataType | None]]] = {}


def column_types(source: SourceTable) -> Mapping[str, exp.DataType | None]:
    """The type of each of `source`'s columns by key (None where the DDL gives none)."""
    cached = _TYPES_CACHE.get(id(source))
    if cached is not None and cached[0] is source:
        return cached[1]
    if len(_TYPES_CACHE) > 4096:
        _TYPES_CACHE.clear()
    types = {c.key: c.data_type for c in source.columns}
    _TYPES_CACHE[id(source)] = (source, types)
    return types


_TIME_TRANSFORM = re.compile(r"^\s*(year|month|day|hour)\s*\(", re.IGNORECASE)
_TIME_TYPES = {exp.DataType.Type.DATE, *exp.DataType.TEMPORAL_TYPES}


def time_partitioned(source: SourceTable) -> bool:
    """Whether `source`'s own DDL partitions it by time: a year/month/day/hour transform, or
    the identity of a date or timestamp column (Hive's ``partitioned_by`` too)."""
    types = column_types(source)
    for prop in source.properties:
        if prop.name not in ("partitioning", "partitioned_by"):
            continue
        for item in prop.value.find_all(exp.Literal):
            text = item.name
            data_type = types.get(normalize(text.strip().strip('"')))
            if _TIME_TRANSFORM.match(text) or (
                data_type is not None and data_type.this in _TIME_TYPES
            ):
                return True
    return False


def name_parts(table: exp.Table) -> list[str] | None:
    """The 1 to 3 identifier texts naming `table`, or None when it is not a plain name."""
    args = table.args
    catalog, db, this = args.get("catalog"), args.get("db"), args.get("this")
    parts = []
    if catalog is not None:
        if db is None or not isinstance(catalog, exp.Identifier):
            return None
        parts.append(catalog.name)
    if db is not None:
        if not isinstance(db, exp.Identifier):
            return None
        parts.append(db.name)
    if this is not None:
        if not isinstance(this, exp.Identifier):
            return None
        parts.append(this.name)
    return parts or None


def session_for(url: str, ddl: Sequence[ParsedDdl]) -> tuple[Session, bool, bool]:
    """The session completing names, and whether its catalog and schema came from the URL."""
    url_catalog = _nonempty(_catalog_from_jdbc_url(url))
    url_schema = _nonempty(_schema_from_jdbc_url(url))
    named = [parts for parts in _created_table_parts(ddl) if len(parts) > 1]
    catalog = url_catalog or next((p[0] for p in named if len(p) == 3), None)
    schema = url_schema or next((p[-2] for p in named), None)
    session = Session(
        catalog=normalize(catalog or DEFAULT_CATALOG), schema=normalize(schema or DEFAULT_SCHEMA)
    )
    return session, url_catalog is not None, url_schema is not None


def build_catalog(ddl: Sequence[ParsedDdl], url: str) -> tuple[Catalog, list[Issue]]:
    session, catalog_from_url, schema_from_url = session_for(url, ddl)
    issues: list[Issue] = []
    tables: dict[TableName, SourceTable] = {}
    one_part_names = False
    for entry in ddl:
        for statement in entry.statements:
            table, issue = _source_table(statement, entry.index, session)
            if issue is not None:
                issues.append(issue)
            if table is None:
                continue
            one_part_names = one_part_names or table.written_parts == 1
            if table.name in tables:
                issues.append(_duplicate(table, tables[table.name]))
                continue
            tables[table.name] = table
    issues[:0] = _assumption_issues(session, catalog_from_url, schema_from_url, one_part_names)
    return Catalog(session, tables, catalog_from_url, schema_from_url), issues


def _source_table(
    statement: exp.Expr, index: int, session: Session
) -> tuple[SourceTable | None, Issue | None]:
    if not isinstance(statement, exp.Create) or (statement.kind or "").upper() != "TABLE":
        return None, _unsupported(statement, index)
    target = statement.this
    schema = target if isinstance(target, exp.Schema) else None
    table = schema.this if schema is not None else target
    parts = name_parts(table) if isinstance(table, exp.Table) else None
    if parts is None:
        return None, _unsupported(statement, index, "its table name is not a 1 to 3-part name")
    columns = _columns(schema, statement.expression)
    properties, comment = _properties(statement)
    as_written = ".".join(written(p) for p in _identifiers(table))
    name = session.resolve(parts)
    return SourceTable(name, columns, properties, comment, index, as_written, len(parts)), None


def _columns(schema: exp.Schema | None, query: exp.Expr | None) -> tuple[Column, ...]:
    """The columns a definition declares; empty when they must be read from the table."""
    columns: list[Column] = []
    for item in schema.expressions if schema is not None else ():
        if isinstance(item, exp.ColumnDef) and isinstance(item.this, exp.Identifier):
            kind = item.args.get("kind")
            kept = tuple(
                c
                for c in item.args.get("constraints") or ()
                if isinstance(c, exp.ColumnConstraint) and isinstance(c.kind, _KEPT_CONSTRAINTS)
            )
            columns.append(
                Column(item.this, kind if isinstance(kind, exp.DataType) else None, kept)
            )
        elif isinstance(item, exp.Identifier):  # CREATE TABLE t (a, b) AS SELECT …
            columns.append(Column(item))
        elif isinstance(item, exp.LikeProperty):
            return ()
    if not columns and isinstance(query, exp.Query):
        columns = _projected_columns(query)
    return tuple(columns)


def _projected_columns(query: exp.Query) -> list[Column]:
    names: list[Column] = []
    for projection in query.selects:
        if isinstance(projection, exp.Alias) and isinstance(
            projection.args.get("alias"), exp.Identifier
        ):
            names.append(Column(projection.args["alias"]))
        elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Identifier):
            names.append(Column(projection.this))
        else:  # `*` or an unnamed expression: only the source table knows its columns
            return []
    return names


def _properties(statement: exp.Create) -> tuple[tuple[TableProperty, ...], exp.Expr | None]:
    found: list[TableProperty] = []
    comment: exp.Expr | None = None
    properties = statement.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else ():
        if isinstance(prop, exp.SchemaCommentProperty):
            comment = prop.this
            continue
        name = property_name(prop)
        value = prop.args.get("value") if type(prop) is exp.Property else prop.this
        if name and isinstance(value, exp.Expr):
            found.append(TableProperty(name, value))
    return tuple(found), comment


def property_name(prop: exp.Expr) -> str:
    """The Trino name of a `WITH (...)` entry, lower case; "" when it has none."""
    if type(prop) is exp.Property:  # `name = value`; its subclasses keep the value in `this`
        return normalize(prop.name)
    # Properties sqlglot knows by class (location, format, partitioned_by…) render as
    # `name=value`; their Trino name is what precedes the `=`.
    rendered = trino_sql(prop)
    return normalize(rendered.split("=", 1)[0].strip()) if "=" in rendered else ""


def _identifiers(table: exp.Table) -> list[exp.Identifier]:
    return [
        part
        for part in (table.args.get(k) for k in ("catalog", "db", "this"))
        if isinstance(part, exp.Identifier)
    ]


def _created_table_parts(ddl: Sequence[ParsedDdl]) -> list[list[str]]:
    found = []
    for entry in ddl:
        for statement in entry.statements:
            if isinstance(statement, exp.Create) and (statement.kind or "").upper() == "TABLE":
                target = statement.this
                table = target.this if isinstance(target, exp.Schema) else target
                parts = name_parts(table) if isinstance(table, exp.Table) else None
                if parts:
                    found.append(parts)
    return found


def _schema_from_jdbc_url(url: str) -> str | None:
    """The schema a Trino JDBC URL names: `?schema=` first, else the second path segment."""
    try:
        rest = url.strip()
        if rest.lower().startswith("jdbc:"):
            rest = rest[len("jdbc:") :]
        parts = urlsplit(rest)
        for name, value in parse_qsl(parts.query):
            if name.lower() == "schema" and value:
                return value
        segments = [s for s in parts.path.split("/") if s]
    except (ValueError, AttributeError):
        return None
    return segments[1] if len(segments) > 1 else None


def _catalog_from_jdbc_url(url: str) -> str | None:
    try:
        return catalog_from_jdbc_url(url)
    except (ValueError, AttributeError):  # a malformed URL (bad port, bad IPv6 literal…)
        return None


def _nonempty(value: str | None) -> str | None:
    return value if value and value.strip() else None


def _unsupported(statement: exp.Expr, index: int, why: str = "") -> Issue:
    kind = statement.key.upper()
    if isinstance(statement, exp.Create):
        kind = f"CREATE {(statement.kind or '').upper()}".strip()
    harmless = isinstance(statement, exp.Create) and kind == "CREATE SCHEMA"
    return Issue(
        code="unsupported_ddl",
        severity=Severity.INFO if harmless else Severity.WARNING,
        title=f"DDL statement {index + 1} ({kind}) defines no table",
        rationale=(
            f"The statement was ignored: {why}."
            if why
            else "Only CREATE TABLE statements define the tables to migrate; this one was ignored."
        ),
        risk="" if harmless else "Queries that read what it defines keep reading the old schema.",
        details={"kind": "ddl", "index": index, "statement": kind},
    )


def _duplicate(table: SourceTable, first: SourceTable) -> Issue:
    return Issue(
        code="duplicate_table",
        severity=Severity.WARNING,
        title=f"Table {table.name} is defined twice",
        rationale=(
            f"DDL statements {first.ddl_index + 1} and {table.ddl_index + 1} define the same "
            "table; the first definition is used."
        ),
        table=str(table.name),
        details={"indexes": [first.ddl_index, table.ddl_index]},
    )


def _assumption_issues(
    session: Session, catalog_from_url: bool, schema_from_url: bool, one_part_names: bool
) -> list[Issue]:
    issues = []
    if not catalog_from_url:
        issues.append(
            Issue(
                code="assumed_default",
                severity=Severity.INFO,
                title=f"Catalog {session.catalog} assumed",
                rationale=(
                    "The JDBC URL names no catalog, so the new schema is created in the catalog "
                    "of the first DDL table that names one (or `iceberg` when none does), and "
                    "names without a catalog are read in it."
                ),
                details={"catalog": session.catalog},
            )
        )
    if not schema_from_url and one_part_names:
        issues.append(
            Issue(
                code="assumed_default",
                severity=Severity.INFO,
                title=f"Schema {session.schema} assumed",
                rationale=(
                    "The JDBC URL names no schema, so one-part table names are read in the "
                    "schema of the first DDL table that names one (or `default` when none does)."
                ),
                details={"schema": session.schema},
            )
        )
    return issues
