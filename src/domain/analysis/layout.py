"""Layout pass: the table that replaces each source table in the new schema.

Decides the new table's name, columns and properties: the same columns in the same order,
stored by Iceberg as Parquet in format version 2 (``WITH (format = 'PARQUET', format_version =
2)``), laid out as the advise pass recommends (its ``partitioning`` and ``sorted_by``, its type
fixes), or as the source was when the advice is to leave the table as it is.

- **Name**: ``<catalog>.<target_schema>.<table>``. Two source tables with the same name in
  different schemas would collide, so each of them becomes ``<schema>_<table>`` (then
  ``<catalog>_<schema>_<table>``, then a numeric suffix), and the report lists the renames.
  A source table that already lives in the target schema cannot keep its own name either.
- **Columns**: as declared; a type Iceberg cannot store is widened where that loses nothing
  (``tinyint``/``smallint`` → ``integer``, a timestamp or time of another precision → (6)),
  and reported. A ``char(n)`` is kept as written, with a warning.
- **Properties**: the source's are storage details of the old table (``location``,
  ``format``, Hive bucketing…) and are dropped, except its layout, which the copy keeps (unless
  the advice replaces it) so that queries read no more data than before: Iceberg
  ``partitioning`` and ``sorted_by``. Hive ``partitioned_by`` is dropped too: an identity
  partition per value (a daily ``ds`` holds a thousand) would make the copy's one INSERT open
  more writers than Trino's Iceberg connector allows (100); the advice partitions the new
  table where the queries gain from it. The table comment is kept. Compression is left to
  the catalog (``iceberg.compression-codec``, ZSTD by default): a table property for it
  exists only in recent Trino releases, and an unknown property fails the CREATE TABLE.

>>> import sqlglot
>>> from domain.analysis.catalog import Catalog, Column, SourceTable
>>> from domain.analysis.names import Session, TableName
>>> orders = SourceTable(TableName("lake", "sales", "orders"),
...     (Column(sqlglot.exp.to_identifier("id"), sqlglot.exp.DataType.build("tinyint")),))
>>> layout, _ = plan_layout(Catalog(Session("lake", "sales"), {orders.name: orders}), "opt")
>>> layout.create_table_sql(layout.targets[orders.name])
"CREATE TABLE lake.opt.orders (id INTEGER) WITH (format = 'PARQUET', format_version = 2)"
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from domain.analysis.advise import Advice
from domain.analysis.catalog import Catalog, Column, SourceTable
from domain.analysis.findings import Issue, Severity
from domain.analysis.names import TableName, identifier_sql, normalize, trino_sql
from domain.workload import DEFAULT_TARGET_SCHEMA

__all__ = [
    "ICEBERG_TABLE_PROPERTIES",
    "Layout",
    "TargetTable",
    "new_names",
    "plan_layout",
    "schema_name",
]

_FORMAT = ("format", "'PARQUET'")
_FORMAT_VERSION = ("format_version", "2")
# Iceberg stores 32/64-bit integers and microsecond times only.
_WIDER_INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT}
_MICROSECOND_TYPES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIME,
}
_NOT_IN_ICEBERG = {exp.DataType.Type.CHAR, exp.DataType.Type.TIMETZ}
# The table properties of Trino's Iceberg connector (476). `location` and `data_location`
# name where files go; the others say how they are laid out.
ICEBERG_TABLE_PROPERTIES = frozenset(
    {
        "format",
        "format_version",
        "partitioning",
        "sorted_by",
        "location",
        "data_location",
        "orc_bloom_filter_columns",
        "orc_bloom_filter_fpp",
        "parquet_bloom_filter_columns",
        "object_store_layout_enabled",
        "extra_properties",
        "max_commit_retry",
        "compression_codec",
    }
)
# Layout properties the copy keeps, by their Iceberg name (not Hive's `partitioned_by`: see
# the module's docstring).
_LAYOUT_PROPERTIES = {
    "partitioning": "partitioning",
    "sorted_by": "sorted_by",
}


@dataclass(frozen=True, slots=True)
class TargetTable:
    """The new table for one source table."""

    source: SourceTable
    name: TableName
    columns: tuple[Column, ...]
    properties: tuple[tuple[str, str], ...] = (_FORMAT, _FORMAT_VERSION)
    comment: str | None = None
    advice: Advice | None = None

    @property
    def changed_types(self) -> dict[str, exp.DataType]:
        """The columns whose type a fix changes, by key, with their new type."""
        if self.advice is None:
            return {}
        return {f.column: f.new_type for f in self.advice.type_fixes}

    def property(self, name: str) -> str | None:
        return next((v for k, v in self.properties if k == name), None)


@dataclass(frozen=True, slots=True)
class Layout:
    """The new schema: where it is and the target of every source table, in DDL order."""

    catalog: str
    schema: str
    targets: Mapping[TableName, TargetTable] = field(default_factory=dict)

    def create_schema_sql(self) -> str:
        return f"CREATE SCHEMA {identifier_sql(self.catalog)}.{identifier_sql(self.schema)}"

    def create_table_sql(self, target: TargetTable) -> str:
        properties = ", ".join(f"{name} = {value}" for name, value in target.properties)
        comment = f" COMMENT {target.comment}" if target.comment else ""
        if target.source.typed:
            columns = ", ".join(_column_sql(c) for c in target.columns)
            return f"CREATE TABLE {target.name.sql()} ({columns}){comment} WITH ({properties})"
        # Without a typed column list, the source table itself gives columns and types.
        projection = ", ".join(c.sql_name for c in target.columns) or "*"
        return (
            f"CREATE TABLE {target.name.sql()}{comment} WITH ({properties}) "
            f"AS SELECT {projection} FROM {target.source.name.sql()} WITH NO DATA"
        )


def plan_layout(
    catalog: Catalog, target_schema: str, advice: Mapping[TableName, Advice] | None = None
) -> tuple[Layout, list[Issue]]:
    schema = schema_name(target_schema)
    sources = list(catalog.tables.values())
    names, collisions = new_names([s.name for s in sources], catalog.session.catalog, schema)
    issues = collisions
    targets: dict[TableName, TargetTable] = {}
    for source in sources:
        columns, column_issues = _columns(source)
        properties, property_issue = _properties(source)
        recommended = (advice or {}).get(source.name)
        if recommended is not None and recommended.changed:
            columns = _fixed(columns, recommended)
            properties = _advised(properties, recommended)
        if recommended is not None and recommended.sizing and not recommended.partitioning:
            # The data showed partitions do not pay here: the source's own go too (kept,
            # they would also fill the copy in one INSERT over all of them).
            properties = tuple((k, v) for k, v in properties if k != "partitioning")
        issues.extend(column_issues)
        if property_issue is not None:
            issues.append(property_issue)
        if not source.typed:
            issues.append(_columns_from_source(source))
        comment = trino_sql(source.comment) if source.comment is not None else None
        targets[source.name] = TargetTable(
            source, names[source.name], columns, properties, comment, recommended
        )
    return Layout(catalog.session.catalog, schema, targets), issues


def schema_name(target_schema: str) -> str:
    """The new schema's name: the option's, normalized, or the default when blank."""
    schema = normalize(target_schema.strip() if isinstance(target_schema, str) else "")
    return schema or DEFAULT_TARGET_SCHEMA


def new_names(
    sources: Sequence[TableName], catalog: str, schema: str
) -> tuple[dict[TableName, TableName], list[Issue]]:
    """A distinct name in `catalog.schema` for each source table, deterministically.

    >>> names, _ = new_names([TableName("l", "a", "t"), TableName("l", "b", "t")], "l", "new")
    >>> [n.table for n in names.values()]
    ['a_t', 'b_t']
    """
    count = Counter(s.table for s in sources)
    # A source table already in the target schema keeps that name; its copy cannot take it.
    taken = {s.table for s in sources if (s.catalog, s.schema) == (catalog, schema)}
    chosen: dict[TableName, str] = {}
    for source in sources:  # unique names first, so they keep their own
        if count[source.table] == 1 and source.table not in taken:
            chosen[source] = source.table
            taken.add(source.table)
    for source in sources:
        if source in chosen:
            continue
        candidates = [
            f"{source.schema}_{source.table}",
            f"{source.catalog}_{source.schema}_{source.table}",
        ]
        name = next((c for c in candidates if c not in taken), "")
        suffix = 2
        while not name:
            if (candidate := f"{candidates[-1]}_{suffix}") not in taken:
                name = candidate
            suffix += 1
        chosen[source] = name
        taken.add(name)
    names = {s: TableName(catalog, schema, chosen[s]) for s in sources}
    return names, _collision_issues(names)


def _collision_issues(names: Mapping[TableName, TableName]) -> list[Issue]:
    renamed: dict[str, dict[str, str]] = {}
    for source, target in names.items():
        if target.table != source.table:
            renamed.setdefault(source.table, {})[str(source)] = str(target)
    return [
        Issue(
            code="name_collision",
            severity=Severity.INFO,
            title=f"Tables named {table} renamed in the new schema",
            rationale=(
                "Source tables from different schemas (or one already in the target schema) "
                "would share this name in the new schema, so each is renamed after its "
                "schema; queries are retargeted to the new names."
            ),
            table=next(iter(mapping.values())),
            details={"renamed": mapping},
        )
        for table, mapping in renamed.items()
    ]


def _column_sql(column: Column) -> str:
    parts = [column.sql_name]
    if column.data_type is not None:
        parts.append(trino_sql(column.data_type, copy=False))
    parts += [trino_sql(c, copy=False) for c in column.constraints]
    return " ".join(parts)


def _columns(source: SourceTable) -> tuple[tuple[Column, ...], list[Issue]]:
    widened: dict[str, str] = {}
    kept: dict[str, str] = {}
    columns = []
    for column in source.columns:
        data_type = column.data_type
        if data_type is not None and any(_too_narrow(n) for n in _types(data_type)):
            wider = data_type.copy()
            for node in list(_types(wider)):
                _iceberg_type(node)
            widened[column.sql_name] = f"{trino_sql(data_type)} -> {trino_sql(wider)}"
            column = Column(column.name, wider, column.constraints)
        if data_type is not None and any(n.this in _NOT_IN_ICEBERG for n in _types(data_type)):
            kept[column.sql_name] = trino_sql(data_type)
        columns.append(column)
    issues = []
    if widened:
        issues.append(
            Issue(
                code="type_widened",
                severity=Severity.INFO,
                title=f"Column types of {source.name} widened for Iceberg",
                rationale=(
                    "Iceberg has no 8 or 16-bit integers and keeps times to the microsecond; "
                    "these columns take the nearest wider type, which holds every value."
                ),
                table=str(source.name),
                details={"columns": widened},
            )
        )
    if kept:
        issues.append(
            Issue(
                code="type_unsupported",
                severity=Severity.WARNING,
                title=f"Column types of {source.name} may be rejected by Iceberg",
                rationale=(
                    "Iceberg has no fixed-length char and no time with time zone; the types "
                    "are kept because changing them could change comparison results."
                ),
                table=str(source.name),
                risk="CREATE TABLE may fail until these columns are given another type.",
                details={"columns": kept},
            )
        )
    return tuple(columns), issues


def _types(data_type: exp.DataType) -> list[exp.DataType]:
    """`data_type` and the types nested in it (array elements, map values, row fields)."""
    if isinstance(data_type.this, exp.DataType.Type) and all(
        isinstance(p, exp.DataTypeParam) for p in data_type.expressions
    ):
        return [data_type]  # a plain type (its parameters, `decimal(18, 2)`, hold no type)
    return [n for n in data_type.walk() if isinstance(n, exp.DataType)]


def _too_narrow(node: exp.DataType) -> bool:
    return node.this in _WIDER_INTEGERS or (
        node.this in _MICROSECOND_TYPES and _precision(node) != 6
    )


def _iceberg_type(node: exp.DataType) -> None:
    if node.this in _WIDER_INTEGERS:
        node.set("this", exp.DataType.Type.INT)
        node.set("expressions", [])
    elif _too_narrow(node):
        node.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(6))])


def _precision(node: exp.DataType) -> int | None:
    params = node.expressions
    if len(params) == 1 and isinstance(params[0], exp.DataTypeParam):
        value = params[0].this
        if isinstance(value, exp.Literal) and value.is_int:
            return int(value.this)
    return None


def _properties(source: SourceTable) -> tuple[tuple[tuple[str, str], ...], Issue | None]:
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for prop in source.properties:
        name = _LAYOUT_PROPERTIES.get(prop.name)
        if name is not None and name not in kept and _is_string_array(prop.value):
            kept[name] = trino_sql(prop.value)
        elif prop.name != "format":
            dropped.append(prop.name)
    properties = (_FORMAT, _FORMAT_VERSION, *kept.items())
    if not dropped:
        return properties, None
    return properties, Issue(
        code="dropped_property",
        severity=Severity.INFO,
        title=f"Properties of {source.name} not carried over",
        rationale=(
            "They describe how the old table is stored (its location, format, Hive partitions "
            "or bucketing) and do not apply to, or would break, the new Iceberg table."
        ),
        table=str(source.name),
        details={"properties": dropped},
    )


def _fixed(columns: tuple[Column, ...], advice: Advice) -> tuple[Column, ...]:
    fixes = {f.column: f.new_type for f in advice.type_fixes}
    return tuple(
        Column(c.name, fixes[c.key], c.constraints) if c.key in fixes else c for c in columns
    )


def _advised(
    properties: tuple[tuple[str, str], ...], advice: Advice
) -> tuple[tuple[str, str], ...]:
    """The source's kept properties with the advice's partitioning and sort order."""
    kept = dict(properties)
    if advice.partitioning:
        kept["partitioning"] = _string_array(f.spec() for f in advice.partitioning)
    if advice.sorted_by:
        kept["sorted_by"] = _string_array(identifier_sql(k.column) for k in advice.sorted_by)
    if advice.bloom_filter:
        kept["parquet_bloom_filter_columns"] = _string_array(
            identifier_sql(k.column) for k in advice.bloom_filter
        )
    return tuple(kept.items())


def _string_array(items: Iterable[str]) -> str:
    return "ARRAY[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]"


def _is_string_array(value: exp.Expr) -> bool:
    return isinstance(value, exp.Array) and all(
        isinstance(v, exp.Literal) and v.is_string for v in value.expressions
    )


def _columns_from_source(source: SourceTable) -> Issue:
    return Issue(
        code="columns_from_source",
        severity=Severity.INFO,
        title=f"Columns of {source.name} taken from the source table",
        rationale=(
            "Its DDL does not list every column with a type (CREATE TABLE … AS SELECT or "
            "LIKE), so the new table is created from the source table's own columns "
            "(CREATE TABLE … AS SELECT … WITH NO DATA)."
        ),
        table=str(source.name),
    )
