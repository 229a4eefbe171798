"""A `DataPlan`'s rows as a DuckDB SELECT: the plan of `domain.synthetic`, rendered for DuckDB.

The same generators as `trino_select` (a uniform number per row from a hash of the row number
and the column's salt, skew by squaring it, time spread in load order, the rows planted for
filters on several columns), written with DuckDB's functions: `hash()` for the hash,
`to_seconds()` for the interval, `strftime` for text timestamps, `isodow` for Trino's
`day_of_week`. The values are DuckDB's own (its hash is not
Trino's xxhash64), reproducible for a given seed and DuckDB version.
"""

from __future__ import annotations

import re
from dataclasses import replace

import sqlglot
from sqlglot.errors import SqlglotError

from domain.synthetic import (
    LITERAL_ROWS,
    REFERENCED_SHARE,
    ColumnSpec,
    TablePlan,
    field_name,
    nested_parts,
    planted_sql,
    with_values_sql,
)

__all__ = ["duckdb_select", "duckdb_type"]

_CALENDAR = {"day_of_week": "isodow"}


def duckdb_type(type_sql: str) -> str:
    """A Trino type as DuckDB writes it (VARCHAR when sqlglot cannot read it)."""
    try:
        return sqlglot.exp.DataType.build(type_sql, dialect="trino").sql(dialect="duckdb")
    except (SqlglotError, ValueError):
        return "VARCHAR"


def duckdb_select(plan: TablePlan, first: int, stop: int) -> str:
    """The plan's rows `first` to `stop - 1`, columns in DDL order, as a DuckDB SELECT."""
    values = ", ".join(f"{_value_sql(c, plan.rows)} AS {_column(c.name)}" for c in plan.columns)
    return f"SELECT {values} FROM range({first}, {stop}) AS g(i)"


def _column(name: str) -> str:
    return name if name.startswith('"') else '"' + name.replace('"', '""') + '"'


def _hash(salt: int, extra: int = 0) -> str:
    return f"(hash(i * 1000003 + {salt * 7919 + extra}) / 18446744073709551616.0)"


def _skewed_index(salt: int, size: int, extra: int = 1) -> str:
    u = _hash(salt, extra)
    return f"CAST(floor({u} * {u} * {size}) AS BIGINT)"


def _value_sql(spec: ColumnSpec, rows: int) -> str:
    value = _raw_value_sql(spec, rows)
    if spec.number_type:
        value = f"CAST(CAST({value} AS {duckdb_type(spec.number_type)}) AS VARCHAR)"
    if spec.kind != "null" and spec.nulls > 0:
        value = f"CASE WHEN {_hash(spec.salt, 2)} < {spec.nulls} THEN NULL ELSE {value} END"
    if spec.planted:
        value = _planted_sql(spec, value)
    return f"CAST({value} AS {duckdb_type(spec.type_sql)})"


def _planted_sql(spec: ColumnSpec, value: str) -> str:
    return planted_sql(
        spec,
        value,
        hash_sql=_hash,
        instant_sql=lambda start, seconds: f"(TIMESTAMP '{start}' + to_seconds({seconds}))",
        text_sql=lambda literal: f"CAST({literal} AS VARCHAR)",
    )


def _raw_value_sql(spec: ColumnSpec, rows: int) -> str:
    kind = spec.kind
    if kind == "sequence":
        return _as_text(spec, f"(i + {int(spec.low)})")
    if kind == "key":
        size = max(1, int((spec.high - spec.low + 1) * REFERENCED_SHARE))
        value = _as_text(spec, f"({int(spec.low)} + {_skewed_index(spec.salt, size)})")
        if spec.values:
            picks = _pick(spec.values, spec.salt, text=spec.text, first=True)
            share = min(0.2, LITERAL_ROWS * len(spec.values) / max(rows, 1))
            value = with_values_sql(spec, value, share, picks, _hash)
        return value
    if kind == "category":
        return _pick(spec.values, spec.salt, first=True)
    if kind == "integer":
        span = int(spec.high - spec.low + 1)
        value = f"({int(spec.low)} + CAST(floor({_hash(spec.salt)} * {span}) AS BIGINT))"
        if spec.values:
            picks = _pick(spec.values, spec.salt)
            value = f"CASE WHEN {_hash(spec.salt, 3)} < 0.05 THEN {picks} ELSE {value} END"
        return value
    if kind in ("real", "decimal"):
        value = f"round({spec.low} + {_hash(spec.salt)} * {spec.high - spec.low}, 2)"
        if spec.values:
            picks = _pick(spec.values, spec.salt, first=True)
            value = with_values_sql(spec, value, 0.05, picks, _hash)
        return value
    if kind in ("date", "timestamp"):
        return _instant_sql(spec, rows)
    if kind == "day_key":
        instant = _instant_sql(replace(spec, kind="timestamp", text=False), rows)
        return f"CAST(strftime({instant}, '%Y%m%d') AS INTEGER)"
    if kind == "epoch":
        instant = _instant_sql(replace(spec, kind="timestamp", text=False), rows)
        return f"CAST(floor(epoch({instant}) * {spec.low!r}) AS BIGINT)"
    if kind == "calendar":
        part = _CALENDAR.get(spec.values[0], spec.values[0])
        return f"{part}({_instant_sql(replace(spec, kind='timestamp', text=False), rows)})"
    if kind == "boolean":
        return f"({_hash(spec.salt)} < 0.1)"
    if kind == "array":
        return f"[{', '.join(_value_sql(p, rows) for p in nested_parts(spec))}]"
    if kind == "map":
        values = ", ".join(_value_sql(p, rows) for p in nested_parts(spec))
        return f"MAP([{', '.join(spec.parts[0].values)}], [{values}])"
    if kind == "row":
        fields = (f"{field_name(p)}: {_value_sql(p, rows)}" for p in spec.parts)
        return "{" + ", ".join(fields) + "}"
    if kind == "json":
        keys = ", ".join(field_name(p) for p in spec.parts)
        values = ", ".join(_value_sql(p, rows) for p in spec.parts)
        return f"CAST(to_json(MAP([{keys}], [{values}])) AS VARCHAR)"
    return "NULL"


def _pick(values: tuple[str, ...], salt: int, *, text: bool = False, first: bool = False) -> str:
    listed = [f"CAST({v} AS VARCHAR)" if text else v for v in values]
    index = _skewed_index(salt, len(values))
    if first:  # (as in Trino's: the first rows take each value in turn)
        index = f"(CASE WHEN i < {len(values)} THEN i ELSE {index} END)"
    return f"[{', '.join(listed)}][1 + {index}]"


def _as_text(spec: ColumnSpec, value: str) -> str:
    if not spec.text:
        return value
    prefix = spec.prefix or re.sub(r"[^a-z0-9]+", "_", spec.name.lower()).strip("_") or "v"
    return f"concat('{prefix}_', CAST({value} AS VARCHAR))"


def _instant_sql(spec: ColumnSpec, rows: int) -> str:
    assert spec.start is not None
    assert spec.end is not None
    seconds = max(int((spec.end - spec.start).total_seconds()), 1)
    jitter = "" if spec.exact else f" + ({_hash(spec.salt)} - 0.5) * 345600"
    jittered = f"CAST(floor(i * {seconds / max(rows, 1)!r}{jitter}) AS BIGINT)"
    offset = f"((({jittered} % {seconds}) + {seconds}) % {seconds})"
    start = spec.start.strftime("%Y-%m-%d %H:%M:%S")
    instant = f"(TIMESTAMP '{start}' + to_seconds({offset}))"
    if spec.kind == "date":
        value = f"CAST({instant} AS DATE)"
        return f"CAST({value} AS VARCHAR)" if spec.text else value
    if spec.text:
        return f"strftime({instant}, '%Y-%m-%d %H:%M:%S')"
    return instant
