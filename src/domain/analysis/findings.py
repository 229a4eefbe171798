"""Issues: what a pass noticed, before the report numbers it and weighs it.

Passes only know what they saw; the report pass turns issues into `Finding`s, giving each a
stable id (`F001`, `F002`… in pipeline order) and the share of the workload's weight carried by
the queries it concerns. Codes are stable and machine-readable:

    parse_error       a DDL statement or query could not be parsed as Trino SQL
    unsupported_ddl   a DDL statement that defines no table (a view, a schema, an ALTER…)
    duplicate_table   a table defined twice; the first definition wins
    assumed_default   the catalog or schema was not in the JDBC URL and had to be chosen
    name_collision    two source tables would share a name in the new schema
    dropped_property  source table properties that mean nothing to, or break, Iceberg
    type_widened      a column type Iceberg cannot store, widened without loss
    type_unsupported  a column type Iceberg may reject, kept as written
    columns_from_source  the DDL gives no typed column list; the copy takes the source's
    unknown_table     a query reads a table the DDL does not define
    time_travel       a query reads a table as of a past snapshot: that reference stays
    non_select        a query that writes or defines instead of reading
    duplicate_queryid two queries share an id
    rewrite_error     a query that parsed but could not be rewritten; returned unchanged
    internal_error    the engine failed; the result proposes no change (see engine)
    statistics_read   what was read from the user's Trino, when, and what it changed
    statistics_missing  statistics that could not be read, and why: the advice assumes
    partitioning_sized  the advised partitioning fitted to the table's real size
    migration_sliced  a sorted table filled by ranges of its sort key (files of disjoint ranges)
    bloom_filter_recommended  Parquet bloom filters on keys looked up by value
    pre_aggregated    aggregate queries answered from a rollup: what it holds, how it was
                      sized, how to refresh it

>>> Issue("unknown_table", Severity.WARNING, "Unknown table", "…", queryids=("q1",)).code
'unknown_table'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.result import Severity

__all__ = ["Issue", "Severity"]


@dataclass(frozen=True, slots=True)
class Issue:
    """A finding without its id and weight share (the report pass adds those)."""

    code: str
    severity: Severity
    title: str
    rationale: str
    table: str | None = None
    queryids: tuple[str, ...] = ()
    effect: str = ""
    risk: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
