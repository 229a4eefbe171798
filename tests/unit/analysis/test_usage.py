"""Usage pass: each kind of column use, on one small query at a time."""

from __future__ import annotations

import dataclasses

import pytest
import sqlglot
from hypothesis import given
from sqlglot import exp

from domain.analysis.catalog import Catalog, Column, SourceTable
from domain.analysis.names import Session, TableName
from domain.analysis.parse import parse_statements
from domain.analysis.usage import Nodes, QueryUsage, column_uses, scan
from domain.workload import Workload
from tests.unit.analysis.strategies import World, workloads
from tests.unit.analysis.support import EXAMPLES, example

EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))

T = TableName("lake", "s", "t")
U = TableName("lake", "s", "u")
T_COLUMNS = {
    "id": "bigint",
    "status": "varchar",
    "d": "date",
    "ts": "timestamp(6)",
    "name": "varchar",
    "flag": "boolean",
    "ds": "varchar",
}


def table(name: TableName, columns: dict[str, str]) -> SourceTable:
    """A source table of these columns and (Trino) types."""
    return SourceTable(
        name,
        tuple(
            Column(exp.to_identifier(c), exp.DataType.build(k, dialect="trino"))
            for c, k in columns.items()
        ),
    )


def catalog() -> Catalog:
    return Catalog(
        Session("lake", "s"),
        {T: table(T, T_COLUMNS), U: table(U, {"id": "bigint", "t_id": "bigint"})},
    )


def usage(sql: str) -> QueryUsage:
    return column_uses(sqlglot.parse_one(sql, read="trino"), catalog())


Use = tuple[str, str, str, tuple[str, ...], float | None]


def uses(sql: str) -> list[Use]:
    return [(u.table.table, u.column, u.kind, u.values, u.width_days) for u in usage(sql).uses]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        # equality, both ways round
        ("status = 'open'", [("t", "status", "eq", ("open",), None)]),
        ("'open' = status", [("t", "status", "eq", ("open",), None)]),
        ("id = 42", [("t", "id", "eq", ("42",), None)]),
        # a boolean column used as a condition
        ("flag", [("t", "flag", "eq", ("true",), None)]),
        ("NOT flag", [("t", "flag", "eq", ("false",), None)]),
        # IN a list of literals
        ("status IN ('a', 'b')", [("t", "status", "in", ("a", "b"), None)]),
        # LIKE a prefix: the prefix is kept; a pattern starting with a wildcard is no prefix
        ("name LIKE 'ab%'", [("t", "name", "like", ("ab",), None)]),
        ("name LIKE 'a_c%'", [("t", "name", "like", ("a",), None)]),
        ("name LIKE '%ab'", [("t", "name", "filter", (), None)]),
        # IS NULL
        ("d IS NULL", [("t", "d", "is_null", (), None)]),
        # anything else is a plain filter
        (
            "status = 'a' OR id = 1",
            [("t", "status", "filter", (), None), ("t", "id", "filter", (), None)],
        ),
        ("lower(name) = 'x'", [("t", "name", "filter", (), None)]),
        ("status <> 'a'", [("t", "status", "filter", ("a",), None)]),
    ],
)
def test_each_kind_of_filter_is_recorded_with_its_literals(where: str, expected: list[Use]) -> None:
    assert uses(f"SELECT 1 FROM t WHERE {where}") == expected


@pytest.mark.parametrize(
    ("where", "width"),
    [
        # two bounds in separate conjuncts make one range of known width
        ("d >= DATE '2024-01-01' AND d < DATE '2024-02-01'", 31.0),
        # BETWEEN two dates includes its last day
        ("d BETWEEN DATE '2024-01-01' AND DATE '2024-03-31'", 91.0),
        # timestamps measure in fractions of a day
        ("ts >= TIMESTAMP '2024-01-01 00:00:00' AND ts < TIMESTAMP '2024-01-01 06:00:00'", 0.25),
        # the temporal functions bound their column
        ("year(d) = 2024", 366.0),
        ("CAST(ts AS date) = DATE '2024-01-05'", 1.0),
        ("date_trunc('month', ts) = TIMESTAMP '2024-01-01 00:00:00'", 31.0),
        # an open range has no width
        ("d >= DATE '2024-01-01'", None),
        ("year(d) >= 2024", None),
    ],
)
def test_ranges_carry_their_width_in_days(where: str, width: float | None) -> None:
    [(table, _, kind, _, found)] = uses(f"SELECT 1 FROM t WHERE {where}")
    assert (table, kind, found) == ("t", "range", width)


def test_a_varchar_compared_with_date_strings_is_flagged_date_like_and_needs_the_tree() -> None:
    result = usage("SELECT 1 FROM t WHERE ds >= '2024-01-01' AND ds < '2024-02-01'")
    [use] = result.uses
    assert (use.column, use.kind, use.width_days, use.date_like) == ("ds", "range", 31.0, True)
    assert sorted(use.values) == ["2024-01-01", "2024-02-01"]
    assert result.needs_tree


def test_join_keys_are_recorded_on_both_sides_and_through_in_subqueries() -> None:
    assert uses("SELECT 1 FROM t JOIN u ON t.id = u.t_id") == [
        ("t", "id", "join", (), None),
        ("u", "t_id", "join", (), None),
    ]
    assert uses("SELECT 1 FROM t WHERE id IN (SELECT t_id FROM u)") == [
        ("t", "id", "join", (), None)
    ]


def test_aliases_ctes_and_subqueries_resolve_to_the_stored_table() -> None:
    assert uses("SELECT 1 FROM t AS x WHERE x.status = 'a'") == [
        ("t", "status", "eq", ("a",), None)
    ]
    # inside a CTE the column is the table's; outside, it is the CTE's (not followed)
    assert uses("WITH c AS (SELECT * FROM t WHERE id = 1) SELECT 1 FROM c WHERE c.id = 2") == [
        ("t", "id", "eq", ("1",), None),
        ("t", "*", "project", (), None),
    ]


def test_an_ambiguous_column_is_left_out() -> None:
    # `id` is a column of both t and u: usage only ever under-counts
    assert uses("SELECT 1 FROM t, u WHERE id = 1") == []
    # beside a derived table, an unqualified column might be the derived table's
    assert uses("SELECT 1 FROM t, (SELECT 1 AS one) s WHERE status = 'a'") == []


def test_select_star_reads_every_column_and_group_and_order_by_are_not_recorded() -> None:
    assert uses("SELECT * FROM t") == [("t", "*", "project", (), None)]
    assert uses("SELECT x.* FROM t x JOIN u ON x.id = u.t_id")[-1] == (
        "t",
        "*",
        "project",
        (),
        None,
    )
    assert uses("SELECT status, count(*) FROM t GROUP BY status ORDER BY status") == []


@pytest.mark.parametrize(
    ("sql", "needs_tree"),
    [
        ("SELECT 1 FROM t WHERE status = 'a'", False),
        ("SELECT 1 FROM t WHERE year(d) = 2024", True),
        ("SELECT * FROM (SELECT id FROM t ORDER BY id) x", True),
        ("SELECT * FROM (SELECT id FROM t ORDER BY id LIMIT 3) x", False),
        ("SELECT id FROM t ORDER BY id", False),
    ],
)
def test_only_queries_a_rewrite_may_change_need_their_tree(sql: str, needs_tree: bool) -> None:
    assert usage(sql).needs_tree is needs_tree


# -- ranges a join carries from a dimension's time filter (Trino's dynamic filtering) --------

FACT = TableName("lake", "s", "fact_sales")
DATES = TableName("lake", "s", "dim_date")
STORES = TableName("lake", "s", "dim_store")


FACT_COLUMNS = {
    "sold_on": "date",
    "date_key": "integer",
    "store_key": "integer",
    "amount": "double",
}


def star() -> Catalog:
    return Catalog(
        Session("lake", "s"),
        {
            FACT: table(FACT, FACT_COLUMNS),
            DATES: table(DATES, {"date_key": "integer", "full_date": "date", "year": "integer"}),
            STORES: table(STORES, {"store_key": "integer", "region": "varchar"}),
        },
    )


def carried(sql: str) -> list[tuple[str, str, str]]:
    uses = column_uses(sqlglot.parse_one(sql, read="trino"), star()).uses
    return [(u.table.table, u.column, u.through.table) for u in uses if u.through is not None]


@pytest.mark.parametrize(
    "condition", ["d.year = 2024", "d.year IN (2023, 2024)", "d.full_date >= DATE '2024-01-01'"]
)
def test_a_dimensions_time_filter_reaches_the_fact_key_it_is_joined_by(condition: str) -> None:
    sql = (
        "SELECT sum(f.amount) FROM fact_sales f JOIN dim_date d ON f.date_key = d.date_key"
        f" WHERE {condition}"
    )
    assert carried(sql) == [("fact_sales", "date_key", "dim_date")]


def test_an_implicit_join_in_the_where_clause_carries_it_too() -> None:
    sql = (
        "SELECT count(*) FROM fact_sales f, dim_date d"
        " WHERE f.date_key = d.date_key AND d.year = 2024"
    )
    assert carried(sql) == [("fact_sales", "date_key", "dim_date")]


@pytest.mark.parametrize(
    "sql",
    [
        # a filter that is not on time: the keys it keeps are scattered, not a range
        "SELECT count(*) FROM fact_sales f JOIN dim_store s ON f.store_key = s.store_key"
        " WHERE s.region = 'EU'",
        # an outer join keeps the rows of its preserved side whatever the other holds
        "SELECT count(*) FROM dim_date d LEFT JOIN fact_sales f ON f.date_key = d.date_key"
        " WHERE d.year = 2024",
        # a key that is no day (a hash, an id): the values a time filter keeps scatter
        "SELECT count(*) FROM fact_sales f JOIN dim_date d ON f.store_key = d.date_key"
        " WHERE d.year = 2024",
        # a fact filtered by a key that is not its own keeps any number of rows: the
        # dimension it joins is built whole, not handed a few keys
        "SELECT count(*) FROM fact_sales f JOIN dim_store s ON f.store_key = s.store_key"
        " WHERE f.store_key = 5",
        # the fact filtered on its own time: the dimension it joins is built whole
        "SELECT count(*) FROM fact_sales f JOIN dim_store s ON f.store_key = s.store_key"
        " WHERE f.sold_on >= DATE '2024-01-01'",
    ],
)
def test_no_range_is_carried_where_dynamic_filtering_makes_none(sql: str) -> None:
    assert carried(sql) == []


# -- keys a join carries from a lookup by key (a Data Vault's hub and its satellite) --------

HUB = TableName("lake", "s", "hub_customer")
SATELLITE = TableName("lake", "s", "sat_customer")


def vault() -> Catalog:
    return Catalog(
        Session("lake", "s"),
        {
            HUB: table(HUB, {"customer_hk": "varchar", "customer_bk": "varchar"}),
            SATELLITE: table(
                SATELLITE,
                {"customer_hk": "varchar", "load_dts": "timestamp(6)", "country": "varchar"},
            ),
        },
    )


def looked_up(sql: str) -> list[tuple[str, str, str, str]]:
    uses = column_uses(sqlglot.parse_one(sql, read="trino"), vault()).uses
    return [
        (u.table.table, u.column, u.kind, u.through.table) for u in uses if u.through is not None
    ]


@pytest.mark.parametrize("condition", ["h.customer_bk = 'C-1'", "h.customer_bk IN ('C-1', 'C-2')"])
def test_a_lookup_by_key_hands_the_joined_table_its_few_keys(condition: str) -> None:
    sql = (
        "SELECT s.country FROM hub_customer h JOIN sat_customer s"
        f" ON s.customer_hk = h.customer_hk WHERE {condition}"
    )
    assert looked_up(sql) == [("sat_customer", "customer_hk", "lookup", "hub_customer")]


@pytest.mark.parametrize(
    "sql",
    [
        # a filter on a column that is no key keeps any number of rows: no few keys to hand
        "SELECT count(*) FROM hub_customer h JOIN sat_customer s"
        " ON s.customer_hk = h.customer_hk WHERE s.country = 'DE'",
        # an outer join keeps every row of its preserved side
        "SELECT count(*) FROM sat_customer s LEFT JOIN hub_customer h"
        " ON s.customer_hk = h.customer_hk WHERE h.customer_bk = 'C-1'",
        # both sides looked up by key: each reads its own few rows already
        "SELECT count(*) FROM hub_customer h JOIN sat_customer s"
        " ON s.customer_hk = h.customer_hk WHERE h.customer_bk = 'C-1' AND s.customer_hk = 'a'",
        # joined on a column that is no key: its matching values are anything
        "SELECT count(*) FROM hub_customer h JOIN sat_customer s"
        " ON s.country = h.customer_hk WHERE h.customer_bk = 'C-1'",
    ],
)
def test_no_keys_are_carried_where_a_lookup_makes_none(sql: str) -> None:
    assert looked_up(sql) == []


def _walked(statement: exp.Expr) -> Nodes:
    """`scan`'s buckets filled from sqlglot's own depth-first walk."""
    nodes = Nodes([], [], set(), [], [], [], [])
    for node in statement.walk(bfs=False):
        if isinstance(node, exp.Column):
            nodes.columns.append(node)
        elif isinstance(node, exp.Table):
            nodes.tables.append(node)
        elif isinstance(node, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            nodes.comparisons.append(node)
        elif isinstance(node, exp.Select):
            nodes.selects.append(node)
        elif isinstance(node, exp.Join):
            nodes.joins.append(node)
        elif isinstance(node, exp.SetOperation):
            nodes.set_operations.append(node)
        elif isinstance(node, exp.AggFunc):
            nodes.aggregates.append(node)
        elif isinstance(node, exp.Star):
            nodes.stars.append(node)
        elif isinstance(node, (exp.Window, exp.Unnest, exp.Lateral, exp.Placeholder)):
            nodes.unrollable.append(node)
        elif isinstance(node, exp.Cast):
            nodes.casts.append(node)
        elif isinstance(node, exp.CTE):
            nodes.ctes.add(node.alias.lower())
    return nodes


def _ids(nodes: Nodes) -> list[object]:
    """Every bucket of `nodes`, its nodes by identity (the CTE names sorted)."""
    found = (getattr(nodes, f.name) for f in dataclasses.fields(nodes))
    return [sorted(b) if isinstance(b, set) else [id(n) for n in b] for b in found]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_scan_finds_the_nodes_of_sqlglots_walk_in_its_order_on_every_example_query(
    name: str,
) -> None:
    # given every query of an example that parses
    for query in example(name).queries:
        for statement in parse_statements(query.query)[0]:
            # when scanned, then its buckets hold what sqlglot's depth-first walk finds
            assert _ids(scan(statement)) == _ids(_walked(statement)), query.queryid


@given(generated=workloads())
def test_scan_finds_the_nodes_of_sqlglots_walk_on_generated_queries(
    generated: tuple[World, Workload],
) -> None:
    _, workload = generated
    for query in workload.queries:
        for statement in parse_statements(query.query)[0]:
            assert _ids(scan(statement)) == _ids(_walked(statement))
