"""What the user's Trino says about the data: sizes, spreads, files — read once per task.

The engine's advice depends on how big each table is and how its values are spread: a table
of a few megabytes gains nothing from partitions (it only gets small files), a partition
granularity must leave each partition a useful amount of data, an identity partition only
suits a column of few values. Without statistics the engine assumes (and says so); with them
it decides from the data. This module is the typed form of what was read, and of what could
not be read and why: trouble reading is a finding, never a failed task.

>>> t = TableStatistics(rows=1_000_000, data_bytes=64 << 20, files=4)
>>> round(t.mean_file_bytes / (1 << 20))
16
>>> ColumnStatistics(distinct=3, null_fraction=0.0).low_cardinality(rows=1_000_000)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # domain.analysis imports this module: names only for the type checker
    from domain.analysis.names import TableName

__all__ = ["ColumnStatistics", "QueryEstimate", "TableStatistics", "WorkloadStatistics"]

# An identity partition on a column suits it when it has at most this many values.
LOW_CARDINALITY = 1_000


@dataclass(frozen=True, slots=True)
class ColumnStatistics:
    """One column: distinct values, share of NULLs, bounds (as Trino prints them), width."""

    distinct: float | None = None
    null_fraction: float | None = None
    low: str | None = None
    high: str | None = None
    data_bytes: float | None = None  # the column's size as Trino estimates it

    def low_cardinality(self, rows: float | None) -> bool:
        if self.distinct is None:
            return False
        return self.distinct <= LOW_CARDINALITY and (rows is None or self.distinct < rows / 10)

    @property
    def span_days(self) -> float | None:
        """Days between the bounds of a date or timestamp column, when both are known."""
        first, last = _instant(self.low), _instant(self.high)
        if first is None or last is None:
            return None
        return max((last - first).total_seconds() / 86_400, 0.0)


@dataclass(frozen=True, slots=True)
class TableStatistics:
    """One table: rows, bytes in data files, the files' spread, its current layout."""

    rows: float | None = None
    data_bytes: int | None = None
    files: int | None = None
    smallest_file: int | None = None
    largest_file: int | None = None
    snapshots: int | None = None
    partitioning: tuple[str, ...] = ()
    sorted_by: tuple[str, ...] = ()
    columns: Mapping[str, ColumnStatistics] = field(default_factory=dict)
    sampled: bool = False  # some column figures came from a sample, not from SHOW STATS

    @property
    def mean_file_bytes(self) -> float | None:
        if self.data_bytes is None or not self.files:
            return None
        return self.data_bytes / self.files

    def column(self, name: str) -> ColumnStatistics | None:
        return self.columns.get(name)

    def rows_per_day(self, column: str) -> float | None:
        stats = self.columns.get(column)
        span = stats.span_days if stats is not None else None
        if span is None or self.rows is None:
            return None
        return self.rows / max(span, 1.0)


@dataclass(frozen=True, slots=True)
class QueryEstimate:
    """What the user's Trino plans a query to read (``EXPLAIN (TYPE IO)``): the rows and
    bytes its table scans return after the filters it pushes down, summed over its tables."""

    rows: float | None = None
    data_bytes: float | None = None


@dataclass(frozen=True, slots=True)
class WorkloadStatistics:
    """Everything read for one task: per table, per query (the heaviest, as planned by the
    user's Trino), what failed (and why), and when."""

    tables: Mapping[TableName, TableStatistics] = field(default_factory=dict)
    queries: Mapping[str, QueryEstimate] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    read_at: datetime | None = None
    source: str = ""  # where they came from, without credentials: "trino://host:port"
    # the table properties each catalog's connector takes (system.metadata.table_properties):
    # what the user's Trino version accepts in a CREATE TABLE
    table_properties: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def table(self, name: TableName) -> TableStatistics | None:
        return self.tables.get(name)

    def supports(self, catalog: str, table_property: str) -> bool:
        """Whether `catalog`'s connector is known to take `table_property`."""
        return table_property in self.table_properties.get(catalog, frozenset())

    def to_dict(self) -> dict[str, object]:
        """A report-sized summary: per table rows, bytes and files; the problems."""
        return {
            "source": self.source,
            "read_at": self.read_at.isoformat() if self.read_at else None,
            "tables": {
                str(name): {
                    "rows": t.rows,
                    "data_bytes": t.data_bytes,
                    "files": t.files,
                    "partitioning": list(t.partitioning),
                    "sampled": t.sampled,
                }
                for name, t in self.tables.items()
            },
            "queries_planned": len(self.queries),
            "problems": list(self.problems),
        }


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    value = text.strip().replace("T", " ")
    for parse in (
        datetime.fromisoformat,
        lambda v: datetime.combine(date.fromisoformat(v), datetime.min.time()),
    ):
        try:
            return parse(value[:26])
        except ValueError:
            continue
    return None
