"""Statements sent to asyncpg directly, for the calls the API makes on every request.

Through SQLAlchemy, one statement cost about 150 µs of CPU on top of asyncpg's own work (the
compiled-cache lookup, the execution context, the greenlet hand-off, the result object), and
every unit of work sent `BEGIN` and `COMMIT`/`ROLLBACK` that way too: more than the rest of a
`POST /new` together (bench/api_load.py). The statements here are written out once from the
tables in `tables`, their values converted the way the column types convert them (JSON
documents, timezone-aware timestamps), and their errors turned into the SQLAlchemy exceptions the
same statement would have raised (`IntegrityError`, `OperationalError`…, a broken connection
invalidated), so that callers cannot tell the two paths apart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

from adapters.sqlalchemy.tables import UtcDateTime

__all__ = ["DriverInsert", "DriverInsertAll", "DriverSelect", "translate_error"]

Converter = Callable[[Any], Any]


def _json_converter(nullable: bool) -> Converter:
    def convert(value: Any) -> Any:
        # As the JSON type binds it on asyncpg: serialized here, handed to the jsonb codec as
        # text; a nullable document stores None as SQL NULL (`json_document`).
        if value is None and nullable:
            return None
        return json.dumps(value)

    return convert


def _converter(column_type: Any, dialect: Dialect) -> Converter | None:
    if isinstance(column_type, UtcDateTime):
        utc = column_type

        def convert(value: Any) -> Any:
            return utc.process_bind_param(value, dialect)

        return convert
    implementation = column_type.dialect_impl(dialect)
    if isinstance(implementation, JSON):
        return _json_converter(bool(implementation.none_as_null))
    return None


class DriverInsert:
    """`INSERT INTO table (every column) VALUES ($1, …)` and how to bind a row to it."""

    def __init__(self, table: Table, dialect: Dialect, *, first: int = 1) -> None:
        # `first`: the number of the first placeholder (for a statement that holds another).
        self.columns = tuple(column.name for column in table.columns)
        placeholders = ", ".join(f"${n}" for n in range(first, first + len(self.columns)))
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES ({placeholders})"
        self._converters = tuple(
            (column.name, _converter(column.type, dialect)) for column in table.columns
        )

    def arguments(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in column order, converted; a value the column type refuses raises
        `StatementError`, as SQLAlchemy does."""
        values = []
        for name, convert in self._converters:
            value = row[name]
            if convert is not None:
                try:
                    value = convert(value)
                except Exception as exc:
                    raise StatementError(
                        f"({type(exc).__module__}.{type(exc).__name__}) {exc}",
                        self.sql,
                        None,
                        exc,
                    ) from exc
            values.append(value)
        return values


class DriverInsertAll:
    """Inserts into several tables in one statement, so in one round trip:
    `WITH added_1 AS (INSERT …), added_2 AS (INSERT …) INSERT …`. PostgreSQL runs them all or
    none, and checks the foreign keys once every row is there (a row a later insert refers to
    may be one an earlier insert adds); sent alone in autocommit mode, the statement is its own
    transaction, committed when it returns."""

    def __init__(self, tables: Sequence[Table], dialect: Dialect) -> None:
        inserts: list[DriverInsert] = []
        first = 1
        for table in tables:
            inserts.append(DriverInsert(table, dialect, first=first))
            first += len(table.columns)
        self._inserts = tuple(inserts)
        *leading, last = (insert.sql for insert in inserts)
        ctes = ", ".join(f"added_{n} AS ({sql})" for n, sql in enumerate(leading, 1))
        self.sql = f"WITH {ctes} {last}" if ctes else last

    def arguments(self, *rows: dict[str, Any]) -> list[Any]:
        """The rows' values, one row per table, in the tables' order."""
        return [
            value
            for insert, row in zip(self._inserts, rows, strict=True)
            for value in insert.arguments(row)
        ]


class DriverSelect:
    """`SELECT every column FROM table WHERE key = $1` (or what `rest` says after the table), and
    its rows as mappings with the values the column types would give (timestamps in UTC, ids as
    `uuid.UUID`)."""

    def __init__(
        self,
        table: Table,
        key: str,
        columns: Sequence[str] | None = None,
        *,
        rest: str | None = None,
    ) -> None:
        # `columns`: those to read (every column by default).
        chosen = [table.c[name] for name in columns] if columns is not None else list(table.c)
        self.columns = tuple(column.name for column in chosen)
        rest = rest if rest is not None else f"WHERE {key} = $1"
        self.sql = f"SELECT {', '.join(self.columns)} FROM {table.name} {rest}"
        self._uuids = tuple(
            column.name for column in chosen if column.type.python_type is uuid.UUID
        )
        self._utc = {
            column.name: column.type for column in chosen if isinstance(column.type, UtcDateTime)
        }

    def values(self, record: Any, dialect: Dialect) -> dict[str, Any]:
        values = dict(record.items())
        for name in self._uuids:
            value = values[name]
            if value is not None and type(value) is not uuid.UUID:
                values[name] = uuid.UUID(bytes=value.bytes)
        for name, utc in self._utc.items():
            values[name] = utc.process_result_value(values[name], dialect)
        return values


def translate_error(
    error: Exception,
    statement: str,
    parameters: Sequence[Any] | None,
    adapted_connection: Any,
    dialect: Dialect,
) -> tuple[BaseException, bool]:
    """What SQLAlchemy raises for `error`, an exception asyncpg raised running `statement` on
    `adapted_connection` (the dialect's DBAPI connection), and whether the connection is broken
    and must be invalidated."""
    try:
        # The dialect's own mapping of asyncpg's exceptions to its DBAPI exceptions.
        adapted_connection._handle_exception(error)
    except Exception as raised:
        translated: Exception = raised
    else:  # pragma: no cover - _handle_exception always raises
        translated = error
    dbapi = dialect.loaded_dbapi
    if not isinstance(translated, dbapi.Error):
        broken = bool(adapted_connection.driver_connection.is_closed())
        return translated, broken
    broken = bool(dialect.is_disconnect(translated, adapted_connection, None))
    wrapped = DBAPIError.instance(
        statement,
        list(parameters) if parameters is not None else None,
        translated,
        dbapi.Error,
        hide_parameters=True,
        connection_invalidated=broken,
        dialect=dialect,
    )
    return wrapped, broken
