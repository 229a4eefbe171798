"""Guards: what a proposed statement must be before it may replace one of the engine's.

Pure checks over sqlglot trees, used on everything an LLM proposes. Each check returns a list
of readable errors (empty when the statement passes), so a failing item can be sent back to
the model once with the reasons, and what still fails is replaced by the engine's item.

The engine's own statements describe what a proposal may change (see `table_specs`):

- **Any statement** parses strictly as one Trino statement of an allowed kind (`CREATE
  SCHEMA`, `CREATE TABLE`, `INSERT … SELECT`, `SELECT`) and contains nothing else: no `DROP`,
  `DELETE`, `UPDATE`, `ALTER`, `GRANT`, `CALL`, `MERGE`, no second statement after a `;`.
- **A table's DDL** creates that very table, fully qualified, in the new schema, with the
  engine's columns, types, comment and storage properties; only its layout may differ:
  ``partitioning`` (Iceberg transforms of known columns) and ``sorted_by`` (known columns).
- **A table's migrations** are ``INSERT INTO <new table> (<every column>) SELECT <the
  engine's values> FROM <its source table>``, nothing more, and together copy every row once:
  one statement without ``WHERE``, the engine's own split, or a split by calendar month of
  one column plus its NULLs (disjoint, and covering every row whatever years the data spans).
- **A query** reads only tables of the new schema that exist, fully qualified, and only
  their columns. It replaces the engine's query only if it is `equivalent` to it: equal once
  both are brought to sqlglot's optimizer's canonical form. Nothing cheaper proves that two
  queries return the same rows, and the design returns no rewrite it cannot show.

>>> specs = table_specs(
...     ["CREATE TABLE lake.opt.orders (id BIGINT, ts TIMESTAMP(6)) WITH (format = 'PARQUET')"],
...     ["INSERT INTO lake.opt.orders (id, ts) SELECT id, ts FROM lake.sales.orders"],
... )
>>> context = GuardContext("lake", "opt", specs)
>>> query_errors("SELECT id FROM lake.opt.orders WHERE ts > now()", context)
[]
>>> query_errors("DROP TABLE lake.sales.orders", context)
['DROP TABLE is not allowed here: only SELECT']
>>> query_errors("SELECT price FROM lake.opt.orders", context)
["unknown column: Column 'price' could not be resolved"]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.optimizer import optimize
from sqlglot.optimizer.qualify import qualify

__all__ = [
    "GuardContext",
    "TableSpec",
    "equivalent",
    "migration_errors",
    "parse_statement",
    "query_errors",
    "table_ddl_errors",
    "table_key",
    "table_specs",
]

# A key of a table: its three name parts in lower case (Trino compares names that way).
TableKey = tuple[str, str, str]

_KINDS = {
    "CREATE SCHEMA": lambda e: isinstance(e, exp.Create) and _kind(e) == "SCHEMA",
    "CREATE TABLE": lambda e: isinstance(e, exp.Create) and _kind(e) == "TABLE",
    "INSERT": lambda e: isinstance(e, exp.Insert),
    "SELECT": lambda e: isinstance(e, exp.Query),
}
_FORBIDDEN = (exp.DDL, exp.DML, exp.Command, exp.Grant, exp.Set, exp.Use, exp.Transaction)
_LAYOUT = ("partitioning", "sorted_by")
_MAX_ERROR = 200
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # sqlglot underlines the culprit for terminals

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)'
_PARTITION = re.compile(
    rf"^\s*(?:(?P<fn>year|month|day|hour)\s*\(\s*(?P<fcol>{_IDENT})\s*\)"
    rf"|(?P<nfn>bucket|truncate)\s*\(\s*(?P<ncol>{_IDENT})\s*,\s*(?P<n>\d+)\s*\)"
    rf"|(?P<col>{_IDENT}))\s*$",
    re.IGNORECASE,
)
_SORT = re.compile(
    rf"^\s*(?P<col>{_IDENT})(?:\s+(?:ASC|DESC))?(?:\s+NULLS\s+(?:FIRST|LAST))?\s*$", re.IGNORECASE
)
_DATE_TYPES = ("DATE", "TIMESTAMP")


def table_key(table: exp.Table) -> tuple[str, ...]:
    """The name parts of `table` in lower case (one to three of them)."""
    parts = [table.args.get(k) for k in ("catalog", "db", "this")]
    return tuple(p.name.lower() for p in parts if isinstance(p, exp.Identifier))


def _display(key: Iterable[str]) -> str:
    return ".".join(key)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A new table as the engine proposes it: what a proposal must keep."""

    name: TableKey
    source: TableKey
    columns: tuple[tuple[str, str], ...]  # (name in lower case, Trino type)
    create: exp.Create
    migrations: tuple[exp.Insert, ...]

    @property
    def column_types(self) -> dict[str, str]:
        return dict(self.columns)


@dataclass(frozen=True, slots=True)
class GuardContext:
    """The new schema and the tables the engine created in it, by key."""

    catalog: str
    schema: str
    tables: Mapping[TableKey, TableSpec] = field(default_factory=dict)

    def sqlglot_schema(self) -> dict[str, object]:
        """The new tables' columns as sqlglot's optimizer takes them:
        ``{catalog: {schema: {table: {column: type}}}}``."""
        nested: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        for (catalog, schema, table), spec in self.tables.items():
            nested.setdefault(catalog, {}).setdefault(schema, {})[table] = spec.column_types
        return dict(nested)


def parse_statement(sql: str, allowed: Sequence[str]) -> tuple[exp.Expr | None, list[str]]:
    """`sql` parsed strictly as one Trino statement of an `allowed` kind, or the errors.

    >>> parse_statement("SELECT 1; DROP TABLE t", ["SELECT"])[1]
    ['expected one statement, got 2']
    """
    try:
        trees = [t for t in sqlglot.parse(sql, read="trino", error_level=ErrorLevel.RAISE) if t]
    except SqlglotError as error:
        return None, [f"not valid Trino SQL: {_short(str(error))}"]
    except RecursionError:
        return None, ["statement nested too deeply to parse"]
    except Exception as error:  # the parser's own bugs (a TypeError on some brackets…)
        return None, [f"not readable as Trino SQL: {type(error).__name__}"]
    if len(trees) != 1:
        return None, [f"expected one statement, got {len(trees)}"]
    tree = trees[0]
    if not any(_KINDS[kind](tree) for kind in allowed):
        return None, [f"{_kind_of(tree)} is not allowed here: only {' or '.join(allowed)}"]
    inner = [node for node in tree.walk() if node is not tree and isinstance(node, _FORBIDDEN)]
    if isinstance(tree, exp.Insert):  # its SELECT is the one DML-free part it may hold
        inner = [n for n in inner if not isinstance(n, exp.Query)]
    if inner:
        return None, [f"{_kind_of(inner[0])} is not allowed inside a statement"]
    return tree, []


def table_specs(ddl: Sequence[str], migrations: Sequence[str]) -> dict[TableKey, TableSpec]:
    """The engine's new tables, read from its own CREATE TABLE and INSERT statements.

    A table the engine created without columns (from `LIKE` or `AS SELECT`) gets no spec: no
    proposal for it can be checked, so none is accepted.
    """
    fills: dict[tuple[str, ...], list[exp.Insert]] = {}
    for statement in migrations:
        tree, errors = parse_statement(statement, ["INSERT"])
        if isinstance(tree, exp.Insert) and not errors:
            target = tree.find(exp.Table)
            if target is not None:
                fills.setdefault(table_key(target), []).append(tree)
    specs: dict[TableKey, TableSpec] = {}
    for statement in ddl:
        tree, errors = parse_statement(statement, ["CREATE TABLE"])
        if not isinstance(tree, exp.Create) or errors:
            continue
        schema = tree.this
        if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
            continue
        name = table_key(schema.this)
        inserts = fills.get(name, [])
        sources = {_source(i) for i in inserts}
        columns = _columns(tree)
        if len(name) != 3 or len(sources) != 1 or not columns:
            continue
        source = sources.pop()
        if source is None or len(source) != 3:
            continue
        specs[(name[0], name[1], name[2])] = TableSpec(
            name=(name[0], name[1], name[2]),
            source=(source[0], source[1], source[2]),
            columns=columns,
            create=tree,
            migrations=tuple(inserts),
        )
    return specs


def table_ddl_errors(sql: str, spec: TableSpec) -> list[str]:
    """Why `sql` cannot replace the engine's CREATE TABLE for `spec` (empty: it can)."""
    tree, errors = parse_statement(sql, ["CREATE TABLE"])
    if not isinstance(tree, exp.Create):
        return errors
    schema = tree.this
    if not isinstance(schema, exp.Schema) or not isinstance(schema.this, exp.Table):
        return ["CREATE TABLE must list the columns (no AS SELECT, no LIKE)"]
    name = table_key(schema.this)
    if len(name) != 3:
        return [f"{_display(name)} is not fully qualified (catalog.schema.table)"]
    if name != spec.name:
        return [f"creates {_display(name)}, expected {_display(spec.name)}"]
    errors = []
    if tree.args.get("replace") or tree.expression is not None:
        errors.append("only a plain CREATE TABLE with columns is allowed")
    if _columns(tree) != spec.columns:
        errors.append(
            "the columns must stay exactly as proposed: "
            + ", ".join(f"{c} {t}" for c, t in spec.columns)
        )
    if _other_properties(tree) != _other_properties(spec.create):
        errors.append(
            "only partitioning and sorted_by may change; keep "
            + (", ".join(_other_properties(spec.create)) or "no other property")
        )
    layout = _layout(tree)
    errors += [_short(e) for e in _partitioning_errors(layout.get("partitioning"), spec)]
    errors += [_short(e) for e in _sorted_by_errors(layout.get("sorted_by"), spec)]
    return errors


def migration_errors(statements: Sequence[str], spec: TableSpec) -> list[str]:
    """Why `statements` cannot replace the engine's migrations of `spec` (empty: they can)."""
    if not statements:
        return ["no migration: the table must be filled"]
    errors: list[str] = []
    wheres: list[str | None] = []
    for number, sql in enumerate(statements, start=1):
        tree, parse_errors = parse_statement(sql, ["INSERT"])
        if not isinstance(tree, exp.Insert):
            errors += [f"migration {number}: {e}" for e in parse_errors]
            continue
        found = _insert_errors(tree, spec)
        if found:
            errors += [f"migration {number}: {e}" for e in found]
            continue
        select = tree.expression
        assert isinstance(select, exp.Select)
        where = select.args.get("where")
        wheres.append(_canonical_sql(where.this) if where is not None else None)
    if not errors and not _copies_every_row_once(wheres, spec):
        errors.append(
            "the migrations must copy every row exactly once: one INSERT … SELECT without "
            "WHERE, the proposed split, or WHERE month(col) = 1 … 12 plus WHERE col IS NULL"
        )
    return errors


def query_errors(sql: str, context: GuardContext) -> list[str]:
    """Why `sql` is not a query of the new schema alone (empty: it is one)."""
    tree, errors = parse_statement(sql, ["SELECT"])
    if tree is None:
        return errors
    for table in _stored_tables(tree):
        key = table_key(table)
        if len(key) != 3:
            errors.append(f"{_display(key)} is not fully qualified (catalog.schema.table)")
        elif key[:2] != (context.catalog, context.schema):
            errors.append(
                f"{_display(key)} is not in the new schema {context.catalog}.{context.schema}"
            )
        elif key not in context.tables:
            errors.append(f"unknown table {_display(key)}")
    if errors:
        return sorted(set(errors))
    try:
        qualify(
            tree.copy(),
            schema=context.sqlglot_schema(),
            dialect="trino",
            validate_qualify_columns=True,
        )
    except SqlglotError as error:
        return [f"unknown column: {_short(str(error).split('. Line')[0])}"]
    except Exception as error:  # the optimizer's own bugs: what cannot be checked is refused
        return [f"its columns could not be checked: {type(error).__name__}"]
    return []


def equivalent(proposed: str, engine: str, context: GuardContext) -> bool:
    """Whether `proposed` provably returns the rows `engine` returns: both reach the same
    canonical form under sqlglot's optimizer (qualified, simplified, normalized, with table
    aliases renamed by position). False whenever that cannot be shown.

    >>> context = GuardContext("lake", "opt", table_specs(
    ...     ["CREATE TABLE lake.opt.t (a BIGINT, b DOUBLE)"],
    ...     ["INSERT INTO lake.opt.t (a, b) SELECT a, b FROM lake.s.t"]))
    >>> equivalent("SELECT x.a FROM lake.opt.t x WHERE 1 < x.a AND b > 2",
    ...            "SELECT a FROM lake.opt.t WHERE b > 2 AND a > 1", context)
    True
    >>> equivalent("SELECT a FROM lake.opt.t WHERE a > 2", "SELECT a FROM lake.opt.t", context)
    False
    """
    forms = []
    for sql in (proposed, engine):
        tree, errors = parse_statement(sql, ["SELECT"])
        if tree is None or errors:
            return False
        try:
            canonical = optimize(tree, schema=context.sqlglot_schema(), dialect="trino")
        except Exception:  # the optimizer gives up on some shapes: then nothing is shown
            return False
        forms.append(_rename_aliases(canonical).sql(dialect="trino"))
    return forms[0] == forms[1]


def _rename_aliases(tree: exp.Expr) -> exp.Expr:
    """`tree` with every table and CTE alias renamed `_t1`, `_t2`… in order of appearance:
    such names are local to the query and change none of its rows or column names."""
    names: dict[str, str] = {}
    for alias in tree.find_all(exp.TableAlias):
        if alias.name and alias.name not in names:
            names[alias.name] = f"_t{len(names) + 1}"
    for node in tree.walk():
        if isinstance(node, exp.TableAlias) and node.name in names:
            node.set("this", exp.to_identifier(names[node.name]))
        elif isinstance(node, exp.Column) and node.table in names:
            node.set("table", exp.to_identifier(names[node.table]))
        elif isinstance(node, exp.Table) and not node.db and node.name in names:
            node.set("this", exp.to_identifier(names[node.name]))
    return tree


def _kind(create: exp.Create) -> str:
    return str(create.args.get("kind") or "").upper()


def _kind_of(tree: exp.Expr) -> str:
    if isinstance(tree, exp.Command):
        return str(tree.this).upper()
    if isinstance(tree, exp.Create | exp.Drop | exp.Alter):
        name = type(tree).__name__.upper()
        return f"{name} {str(tree.args.get('kind') or '').upper()}".strip()
    return type(tree).__name__.upper()


def _short(text: str) -> str:
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _columns(create: exp.Create) -> tuple[tuple[str, str], ...]:
    schema = create.this
    if not isinstance(schema, exp.Schema):
        return ()
    return tuple(
        (c.name.lower(), c.args["kind"].sql(dialect="trino") if c.args.get("kind") else "")
        for c in schema.expressions
        if isinstance(c, exp.ColumnDef)
    )


def _properties(create: exp.Create) -> list[exp.Expr]:
    properties = create.args.get("properties")
    return list(properties.expressions) if isinstance(properties, exp.Properties) else []


def _property_name(prop: exp.Expr) -> str:
    if isinstance(prop, exp.Property):
        return prop.name.lower()
    return type(prop).__name__


def _other_properties(create: exp.Create) -> list[str]:
    return sorted(
        _canonical_sql(p) for p in _properties(create) if _property_name(p) not in _LAYOUT
    )


def _layout(create: exp.Create) -> dict[str, exp.Expr]:
    return {
        _property_name(p): p.args["value"]
        for p in _properties(create)
        if _property_name(p) in _LAYOUT and isinstance(p, exp.Property)
    }


def _strings(value: exp.Expr | None, what: str) -> tuple[list[str], list[str]]:
    if value is None:
        return [], []
    if not isinstance(value, exp.Array) or not all(
        isinstance(e, exp.Literal) and e.is_string for e in value.expressions
    ):
        return [], [f"{what} must be ARRAY['…', …] of strings"]
    return [e.this for e in value.expressions], []


def _column_name(text: str) -> str:
    return text[1:-1].replace('""', '"').lower() if text.startswith('"') else text.lower()


def _partitioning_errors(value: exp.Expr | None, spec: TableSpec) -> list[str]:
    fields, errors = _strings(value, "partitioning")
    types = spec.column_types
    for text in fields:
        match = _PARTITION.match(text)
        if match is None:
            errors.append(f"partitioning {text!r} is not an Iceberg partition transform")
            continue
        raw = match.group("fcol") or match.group("ncol") or match.group("col")
        column = _column_name(raw)
        kind = types.get(column)
        if kind is None:
            errors.append(f"partitioning {text!r} names unknown column {column}")
            continue
        function = (match.group("fn") or match.group("nfn") or "").lower()
        if function in ("year", "month", "day") and not kind.upper().startswith(_DATE_TYPES):
            errors.append(f"partitioning {text!r}: {function}() needs a date or timestamp")
        elif function == "hour" and not kind.upper().startswith("TIMESTAMP"):
            errors.append(f"partitioning {text!r}: hour() needs a timestamp")
        elif function in ("bucket", "truncate") and int(match.group("n")) < 1:
            errors.append(f"partitioning {text!r}: the width must be positive")
    if len(fields) != len({f.replace(" ", "").lower() for f in fields}):
        errors.append("partitioning lists a field twice")
    return errors


def _sorted_by_errors(value: exp.Expr | None, spec: TableSpec) -> list[str]:
    keys, errors = _strings(value, "sorted_by")
    types = spec.column_types
    for text in keys:
        match = _SORT.match(text)
        if match is None:
            errors.append(f"sorted_by {text!r} is not `column [ASC|DESC] [NULLS FIRST|LAST]`")
        elif _column_name(match.group("col")) not in types:
            errors.append(f"sorted_by {text!r} names an unknown column")
    return errors


def _source(insert: exp.Insert) -> tuple[str, ...] | None:
    select = insert.expression
    if not isinstance(select, exp.Select):
        return None
    tables = list(select.find_all(exp.Table))
    return table_key(tables[0]) if len(tables) == 1 else None


def _insert_errors(tree: exp.Insert, spec: TableSpec) -> list[str]:
    target = tree.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table):
        return ["INSERT must name its table"]
    key = table_key(table)
    if key != spec.name:
        return [f"fills {_display(key)}, expected {_display(spec.name)}"]
    engine = spec.migrations[0]
    listed = [i.name.lower() for i in target.expressions] if isinstance(target, exp.Schema) else []
    engine_target = engine.this
    expected = (
        [i.name.lower() for i in engine_target.expressions]
        if isinstance(engine_target, exp.Schema)
        else []
    )
    errors = []
    if listed != expected:
        errors.append("list every column of the new table, in order: " + ", ".join(expected))
    select = tree.expression
    if not isinstance(select, exp.Select):
        return [*errors, "the rows must come from one SELECT"]
    extra = [
        k
        for k in ("joins", "group", "having", "limit", "offset", "order", "distinct", "qualify")
        if select.args.get(k)
    ]
    if extra or tree.args.get("with") or select.args.get("with"):
        errors.append("SELECT … FROM the source table only (no JOIN, GROUP BY, LIMIT, WITH…)")
    sources = [table_key(t) for t in select.find_all(exp.Table)]
    if sources != [spec.source]:
        errors.append(f"read {_display(spec.source)} and nothing else")
    engine_select = engine.expression
    assert isinstance(engine_select, exp.Select)
    values = [_canonical_sql(e) for e in select.expressions]
    if values != [_canonical_sql(e) for e in engine_select.expressions]:
        errors.append(
            "copy every column unchanged: SELECT "
            + ", ".join(e.sql(dialect="trino") for e in engine_select.expressions)
        )
    return errors


def _copies_every_row_once(wheres: Sequence[str | None], spec: TableSpec) -> bool:
    engine = []
    for insert in spec.migrations:
        select = insert.expression
        where = select.args.get("where") if isinstance(select, exp.Select) else None
        engine.append(_canonical_sql(where.this) if where is not None else None)
    if wheres == [None]:
        return True
    if None in wheres:
        return False
    if sorted(w or "" for w in wheres) == sorted(w or "" for w in engine):
        return True
    return _is_month_split([w for w in wheres if w is not None], spec)


def _is_month_split(wheres: Sequence[str], spec: TableSpec) -> bool:
    """`month(c) = 1` … `month(c) = 12` and `c IS NULL`, once each, for a column `c` of the
    source (or a CAST of it): disjoint, and together every row."""
    for column, kind in spec.columns:
        if not kind.upper().startswith(_DATE_TYPES):
            continue
        ident = exp.to_identifier(column).sql(dialect="trino")
        expected = {_canonical_sql(_parse(f"{ident} IS NULL"))}
        for subject in (ident, f"CAST({ident} AS {kind})"):
            months = {_canonical_sql(_parse(f"month({subject}) = {m}")) for m in range(1, 13)}
            if len(wheres) == 13 and set(wheres) == months | expected:
                return True
    return False


def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="trino")


def _canonical_sql(node: exp.Expr) -> str:
    """`node` as lower-case Trino SQL: spelling and case of keywords and names aside."""
    return node.sql(dialect="trino", normalize=True, identify=False)


def _stored_tables(tree: exp.Expr) -> list[exp.Table]:
    """The tables `tree` reads that are not its CTEs (a CTE name is only ever one part)."""
    ctes = {cte.alias.lower() for cte in tree.find_all(exp.CTE)}
    return [
        t
        for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and (t.args.get("db") or t.name.lower() not in ctes)
    ]
