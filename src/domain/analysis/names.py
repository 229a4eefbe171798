"""Table names as Trino resolves them, and the session that fills in the missing parts.

Trino matches catalog, schema and table names case-insensitively, quoted or not (its connectors
store them in lower case), so a name is kept here as three lower-case parts and written back
with quotes only where Trino needs them (reserved words, spaces, a leading digit…). A name given
with one or two parts is completed from the session, as Trino completes it from the connection's
catalog and schema.

>>> session = Session(catalog="lake", schema="sales")
>>> session.resolve(["Orders"]).sql()
'lake.sales.orders'
>>> session.resolve(["hr", "Order Items"]).sql()
'lake.hr."order items"'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.generator import Generator

__all__ = [
    "TRINO",
    "Session",
    "TableName",
    "copy_tree",
    "identifier",
    "identifier_sql",
    "normalize",
    "trino_sql",
    "written",
]

# One dialect object for the engine: `dialect="trino"` builds a new one on every call.
TRINO = Dialect.get_or_raise("trino")
E = TypeVar("E", bound=exp.Expr)
_local = threading.local()


def _select_sql(generator: Generator, select: exp.Select) -> str:
    """Trino's SELECT generation, skipping its transforms where they cannot apply.

    Trino's generator rewrites every SELECT before printing it (QUALIFY, DISTINCT ON,
    explode(), semi and anti joins — none of them Trino syntax); the explode() transform
    alone builds a scope of the SELECT each time, which costs more than printing it. A SELECT
    without any of those shapes is printed directly: the transforms would leave it as it is.
    """
    if (
        select.args.get("qualify") is None
        and select.args.get("distinct") is None
        and not any(j.args.get("kind") in ("SEMI", "ANTI") for j in select.args.get("joins") or ())
        and not any(_may_explode(p) for p in select.expressions)
    ):
        return generator.select_sql(select)
    transform: Callable[[Generator, exp.Select], str] = TRINO.generator_class.TRANSFORMS[exp.Select]
    return transform(generator, select)


# Projections that cannot hold an explode() call: a column (its name parts), a literal.
_NO_EXPLODE = frozenset({exp.Column, exp.Literal, exp.Identifier})


def _may_explode(projection: exp.Expr) -> bool:
    """Whether a projection holds an explode() call. One of `_NO_EXPLODE`, aliased or not,
    holds none, nor a call of those alone (``sum(x)``, ``count(*)``): most projections are
    one, and a search of the tree costs more than printing it."""
    inner = projection.this if type(projection) is exp.Alias else projection
    if type(inner) in _NO_EXPLODE:
        return False
    if not isinstance(inner, exp.Explode) and all(
        type(child) in _NO_EXPLODE or type(child) is exp.Star for child in inner.iter_expressions()
    ):
        return False
    return projection.find(exp.Explode) is not None


def _table_sql(generator: Generator, table: exp.Table) -> str:
    """Trino's table generation, skipping its transform (a GENERATE_SERIES table becomes an
    UNNEST) for the tables that are not one: a transform runs in Python on every table."""
    if isinstance(table.this, exp.GenerateSeries):
        transform: Callable[[Generator, exp.Table], str] = TRINO.generator_class.TRANSFORMS[
            exp.Table
        ]
        return transform(generator, table)
    return generator.table_sql(table)


def _cast_sql(generator: Generator, cast: exp.Cast) -> str:
    """Trino's CAST (and TRY_CAST) generation, skipping its transform (a cast of 'epoch' to a
    temporal type becomes a cast of its date) where its condition does not hold."""
    if cast.name.lower() == "epoch" and cast.to.this in exp.DataType.TEMPORAL_TYPES:
        transform: Callable[[Generator, exp.Cast], str] = TRINO.generator_class.TRANSFORMS[
            type(cast)
        ]
        return transform(generator, cast)
    if isinstance(cast, exp.TryCast):
        return generator.trycast_sql(cast)
    return generator.cast_sql(cast)


def _with_sql(generator: Generator, with_: exp.With) -> str:
    """Trino's WITH generation, skipping its transform (names for the columns of recursive
    CTEs) for a WITH that is not recursive."""
    if with_.recursive:
        transform: Callable[[Generator, exp.With], str] = TRINO.generator_class.TRANSFORMS[exp.With]
        return transform(generator, with_)
    return generator.with_sql(with_)


def _at_time_zone_sql(generator: Generator, node: exp.AtTimeZone) -> str:
    """``x AT TIME ZONE zone``, Trino's own syntax, rather than the ``AT_TIMEZONE(x, zone)``
    Trino's generator writes: sqlglot reads that call back as an unknown function, which no
    other dialect can translate (the verifier's DuckDB has no such function)."""
    return generator.attimezone_sql(node)


# The generator's transforms the engine's generator skips where they cannot apply.
_FAST: dict[type[exp.Expr], Callable[..., str]] = {
    exp.Select: _select_sql,
    exp.Table: _table_sql,
    exp.Cast: _cast_sql,
    exp.TryCast: _cast_sql,
    exp.With: _with_sql,
    exp.AtTimeZone: _at_time_zone_sql,
}


def _generator() -> Generator:
    """A Trino generator for the engine's own use (see `_select_sql`, `_table_sql`,
    `_cast_sql` and `_with_sql`)."""
    generator = TRINO.generator()
    dispatch = getattr(generator, "_dispatch", None)  # sqlglot's per-instance dispatch table
    if isinstance(dispatch, dict) and all(kind in dispatch for kind in _FAST):
        generator._dispatch = {**dispatch, **_FAST}
    return generator


def trino_sql(expression: exp.Expr, *, copy: bool = True) -> str:
    """`expression` as Trino SQL.

    Uses one generator per thread: `expression.sql()` builds a new one on every call, which
    costs more than generating a column type, and the engine generates thousands of those.
    `copy=False` skips the defensive copy for expressions no generator transform rewrites
    (identifiers, types, literals, constraints), which costs more than generating them.

    >>> trino_sql(exp.DataType.build("int"))
    'INTEGER'
    """
    generator: Generator | None = getattr(_local, "generator", None)
    if generator is None:
        generator = _local.generator = _generator()
    return generator.generate(expression, copy=copy)


# The keys of a node's meta that say where its token was in the text parsed.
_POSITIONS = frozenset({"line", "col", "start", "end"})


def copy_tree(node: E) -> E:
    """A copy of `node` (`node.copy()`) without the source positions in its nodes' meta (the
    rest of the meta, a function's name as written…, is kept): copying those dicts costs most
    of a copy, and no pass reads the positions of a node it built (only the parsed query's
    own, to retarget it in place, and those are the original tree's)."""
    saved = [(n, n._meta) for n in node.walk() if n._meta]
    for n, meta in saved:
        n._meta = {k: v for k, v in meta.items() if k not in _POSITIONS} or None
    try:
        return node.copy()
    finally:
        for n, meta in saved:
            n._meta = meta


def normalize(part: str) -> str:
    """One name part (an identifier's text, without its quotes) as Trino compares it."""
    return part.lower()


def written(identifier: exp.Identifier) -> str:
    """An identifier as it was written: its text, in quotes if it was quoted, or if Trino
    would not read it bare (a letter beyond ASCII: sqlglot reads ``größe`` unquoted).

    >>> written(exp.to_identifier('My"Col', quoted=True)), written(exp.to_identifier("größe"))
    ('"My""Col"', '"größe"')
    """
    name = identifier.name
    if identifier.quoted or (not name.isascii() and not _PLAIN_IDENTIFIER.fullmatch(name)):
        return '"' + name.replace('"', '""') + '"'
    return name


@lru_cache(maxsize=65536)
def identifier_sql(name: str) -> str:
    """`name` as a Trino identifier, quoted only when it has to be: a keyword, or anything
    but ASCII letters, digits and underscores (Trino reads no other letter unquoted, where
    sqlglot would leave ``umsätze`` bare).

    >>> identifier_sql("orders"), identifier_sql("order"), identifier_sql("order items")
    ('orders', '"order"', '"order items"')
    >>> identifier_sql("umsätze")
    '"umsätze"'
    """
    if not _PLAIN_IDENTIFIER.fullmatch(name):
        return '"' + name.replace('"', '""') + '"'
    return trino_sql(exp.to_identifier(name), copy=False)


_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifier(name: str) -> exp.Identifier:
    """`name` as an identifier node, quoted where Trino needs it (see `identifier_sql`)."""
    return exp.to_identifier(name, quoted=identifier_sql(name).startswith('"'))


@dataclass(frozen=True, slots=True, order=True)
class TableName:
    """A fully qualified table name, normalized: every part lower case, without quotes.

    Names are dict keys everywhere in the engine, so each keeps its hash (the one the
    dataclass would compute, so sets iterate the same), and `of` gives the same object for
    the same parts: a lookup then finds its key by identity, without comparing parts.
    """

    catalog: str
    schema: str
    table: str
    _hash: int = field(default=0, init=False, repr=False, compare=False)
    _sql: str = field(default="", init=False, repr=False, compare=False)  # see `sql`

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.catalog, self.schema, self.table)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        """The dataclass's equality, first by identity: `of` shares names, so most are."""
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (self.catalog, self.schema, self.table) == (
            other.catalog,
            other.schema,
            other.table,
        )

    @classmethod
    def of(cls, catalog: str, schema: str, table: str) -> TableName:
        if cls is TableName:
            return _table_name(catalog, schema, table)
        return cls(normalize(catalog), normalize(schema), normalize(table))

    def sql(self) -> str:
        """The name as Trino reads it (written once: names are shared, see `of`)."""
        text = self._sql
        if not text:
            text = ".".join(identifier_sql(p) for p in (self.catalog, self.schema, self.table))
            object.__setattr__(self, "_sql", text)
        return text

    def node(self) -> exp.Table:
        """The name as a table node, written as `sql` writes it (without parsing it)."""
        return exp.Table(
            this=identifier(self.table),
            db=identifier(self.schema),
            catalog=identifier(self.catalog),
        )

    def __str__(self) -> str:
        return self.sql()


@lru_cache(maxsize=65536)
def _table_name(catalog: str, schema: str, table: str) -> TableName:
    return TableName(normalize(catalog), normalize(schema), normalize(table))


@dataclass(frozen=True, slots=True)
class Session:
    """The catalog and schema that complete one- and two-part names."""

    catalog: str
    schema: str

    def resolve(self, parts: Sequence[str]) -> TableName:
        """The table a 1, 2 or 3-part name (the identifiers' text) denotes in this session."""
        count = len(parts)
        if count == 1:
            return _table_name(self.catalog, self.schema, parts[0])
        if count == 2:
            return _table_name(self.catalog, parts[0], parts[1])
        if count == 3:
            return _table_name(parts[0], parts[1], parts[2])
        raise ValueError(f"a table name has 1 to 3 parts, got {count}")
