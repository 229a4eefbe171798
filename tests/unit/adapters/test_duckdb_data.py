"""The synthetic data as DuckDB renders it: what the verifier's sandbox tables hold."""

from __future__ import annotations

import duckdb
import pytest

from adapters.verify.duckdb_data import duckdb_select
from domain.synthetic import LITERAL_ROWS, plan_data
from domain.workload import DdlStatement, Query, Workload

URL = "jdbc:trino://h:8080?catalog=iot&schema=fleet"
READINGS = (
    "CREATE TABLE iot.fleet.readings (device_id bigint, reading_ts timestamp(6), "
    "reading_day date, site varchar, temperature double)"
)
DEVICES = "CREATE TABLE iot.fleet.devices (device_id bigint, model varchar)"
FILTERS = [
    # a key and a day of one timestamp column
    "device_id = 4242 AND reading_ts >= TIMESTAMP '2024-06-10 00:00:00' "
    "AND reading_ts < TIMESTAMP '2024-06-11 00:00:00'",
    # a text category, a date BETWEEN, the bounds written the other way round
    "site = 'north' AND reading_day BETWEEN DATE '2024-03-01' AND DATE '2024-03-02'",
    "TIMESTAMP '2024-02-01 00:00:00' <= reading_ts AND device_id IN (7, 8) "
    "AND reading_ts <= TIMESTAMP '2024-02-01 06:00:00'",
    # an open range: some instant after it
    "device_id = 99 AND reading_ts > TIMESTAMP '2024-09-30 23:00:00'",
    # a range of a number, a negative one
    "device_id = 5 AND temperature < -12.5",
]


def rows_found(where: str, rows: int = 2_000) -> int:
    queries = [
        Query(f"q{n}", f"SELECT * FROM iot.fleet.readings WHERE {f}") for n, f in enumerate(FILTERS)
    ]
    queries.append(
        Query(
            "join",
            "SELECT d.model FROM iot.fleet.readings r JOIN iot.fleet.devices d "
            "ON d.device_id = r.device_id",
        )
    )
    load = Workload(URL, (DdlStatement(READINGS), DdlStatement(DEVICES)), tuple(queries))
    plan = next(t for t in plan_data(load, rows).tables if t.table.table == "readings")
    db = duckdb.connect()
    found = db.execute(f"SELECT count(*) FROM ({duckdb_select(plan, 0, plan.rows)}) WHERE {where}")
    return int(found.fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize("where", FILTERS)
def test_a_filter_on_several_columns_of_a_table_finds_rows_together(where: str) -> None:
    # each column alone holds the literal in some rows, but a day of one device among 2,000
    # rows spread over a year would be found by chance only: the planted rows hold both
    assert rows_found(where) >= LITERAL_ROWS // 2


def test_the_planted_rows_are_few() -> None:
    # the rest of the table keeps its spread: the device's rows on other days
    assert rows_found("device_id = 4242") < 200


# --- patterns, leading characters, ordered dates and small tables: a TPC-H-like shop ---------

SHOP = "jdbc:trino://h:8080?catalog=shop&schema=s"
SHOP_DDL = (
    "CREATE TABLE shop.s.parts (part_id bigint, name varchar, ptype varchar, size integer, "
    "phone varchar, nation_id bigint)",
    "CREATE TABLE shop.s.lines (line_id bigint, part_id bigint, ship_date date, "
    "commit_date date, receipt_date date, mode varchar)",
    "CREATE TABLE shop.s.nations (nation_id bigint, nation varchar)",
    "CREATE TABLE shop.s.stores (store_id bigint, gmt_offset decimal(5, 2))",
)
NATIONS = ["ALGERIA", "BRAZIL", "CANADA", "EGYPT", "FRANCE", "GERMANY", "INDIA", "JAPAN"]
SHOP_QUERIES = [
    "SELECT count(*) FROM shop.s.parts WHERE name LIKE '%green%'",
    "SELECT count(*) FROM shop.s.parts WHERE ptype LIKE '%BRASS' AND size = 15",
    "SELECT count(*) FROM shop.s.parts WHERE ptype NOT LIKE 'MEDIUM POLISHED%'",
    "SELECT count(*) FROM shop.s.parts WHERE name LIKE 'f_rest%'",
    "SELECT count(*) FROM shop.s.parts WHERE substring(phone, 1, 2) IN ('13', '31')",
    "SELECT count(*) FROM shop.s.parts WHERE left(phone, 3) = '555'",
    "SELECT count(*) FROM shop.s.lines l JOIN shop.s.parts p ON p.part_id = l.part_id "
    "WHERE l.commit_date < l.receipt_date AND l.ship_date < l.commit_date "
    "AND l.receipt_date >= DATE '1994-01-01' AND l.receipt_date < DATE '1995-01-01'",
    "SELECT count(*) FROM shop.s.lines WHERE ship_date >= DATE '1998-01-01'",
    "SELECT count(*) FROM shop.s.stores WHERE gmt_offset = -5",
    *(
        "SELECT count(*) FROM shop.s.parts p JOIN shop.s.nations n "
        f"ON n.nation_id = p.nation_id WHERE n.nation = '{nation}'"
        for nation in NATIONS
    ),
]


def shop_rows(table: str, where: str, rows: int = 2_000) -> int:
    load = Workload(
        SHOP,
        tuple(DdlStatement(s) for s in SHOP_DDL),
        tuple(Query(f"q{n}", q) for n, q in enumerate(SHOP_QUERIES)),
    )
    plan = next(t for t in plan_data(load, rows).tables if t.table.table == table)
    db = duckdb.connect()
    found = db.execute(f"SELECT count(*) FROM ({duckdb_select(plan, 0, plan.rows)}) WHERE {where}")
    return int(found.fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize(
    "where",
    ["name LIKE '%green%'", "ptype LIKE '%BRASS'", "name LIKE 'f_rest%'"],
)
def test_like_patterns_of_every_shape_find_rows(where: str) -> None:
    # a suffix, an infix, a single-character wildcard: not only 'prefix%'
    assert shop_rows("parts", where) > 0


def test_a_pattern_and_an_equality_on_one_table_find_rows_together() -> None:
    # (the parts own the key the lines point at: a dimension of 40 rows, a fifth planted)
    assert shop_rows("parts", "ptype LIKE '%BRASS' AND size = 15") >= 4


@pytest.mark.parametrize(
    "where", ["substring(phone, 1, 2) IN ('13', '31')", "substring(phone, 1, 3) = '555'"]
)
def test_the_leading_characters_a_query_compares_are_there(where: str) -> None:
    # substr(col, 1, n) IN (…) and left(col, n) = … ask for prefixes, as LIKE 'x%' does
    assert shop_rows("parts", where) > 0


def test_dates_a_query_orders_against_each_other_span_the_same_time() -> None:
    # commit_date < receipt_date and ship_date < commit_date: with spans of their own (the
    # receipt's a year, the ship's five) one column would be years ahead of the other in
    # every row; sharing one span, each row's dates are days apart, in either order
    ordered = "commit_date < receipt_date AND ship_date < commit_date"
    assert shop_rows("lines", f"{ordered} AND year(receipt_date) = 1994") > 0
    assert 0 < shop_rows("lines", "ship_date < commit_date") < 2_000


def test_every_value_a_query_asks_of_a_small_table_is_there() -> None:
    # the nations are a dimension of a few dozen rows; drawn with skew, the later of eight
    # asked-for names would be missing: the first rows take each value in turn
    for nation in NATIONS:
        assert shop_rows("nations", f"nation = '{nation}'") >= 1, nation


def test_a_star_schemas_date_keys_meet_a_calendar_of_one_row_per_day() -> None:
    # given a fact whose integer date key (yyyymmdd) points at a date dimension
    load = Workload(
        SHOP,
        (
            DdlStatement("CREATE TABLE shop.s.sales (date_key integer, amount double)"),
            DdlStatement("CREATE TABLE shop.s.dates (date_key integer, day date, year integer)"),
        ),
        (
            Query(
                "q",
                "SELECT d.year, sum(s.amount) FROM shop.s.sales s JOIN shop.s.dates d "
                "ON d.date_key = s.date_key WHERE d.day >= DATE '2024-03-01' GROUP BY 1",
            ),
        ),
    )
    plans = {t.table.table: t for t in plan_data(load, 2_000).tables}
    db = duckdb.connect()
    for name, plan in plans.items():
        db.execute(f"CREATE TABLE {name} AS {duckdb_select(plan, 0, plan.rows)}")
    # then the calendar holds each day once, its key the day written yyyymmdd
    days, distinct, keyed = db.execute(
        "SELECT count(*), count(DISTINCT day), "
        "count_if(date_key = CAST(strftime(day, '%Y%m%d') AS INTEGER)) FROM dates"
    ).fetchone()  # type: ignore[misc]
    assert days == distinct == keyed
    # and nearly every sale's key is one of its days (some keys are NULL)
    joined = db.execute("SELECT count(*) FROM sales JOIN dates USING (date_key)").fetchone()
    assert joined is not None
    assert joined[0] > 2_000 * 0.8


def test_a_decimal_compared_with_a_number_holds_it_in_some_rows() -> None:
    # uniform decimals never equal -5 by chance (TPC-DS: s_gmt_offset = -5)
    assert shop_rows("stores", "gmt_offset = -5") > 0


# -- nested columns: arrays, maps, rows ---------------------------------------------------

EVENTS = (
    "CREATE TABLE app.log.events (id bigint, tags array(varchar), properties map(varchar, "
    "varchar), counts map(integer, bigint), geo row(lat double, lon double, city varchar), "
    "hops array(row(host varchar, ms integer)), payload varchar)"
)
NESTED = [
    "contains(tags, 'beta')",
    "properties['screen'] = 'home'",
    "element_at(properties, 'plan') = 'pro'",
    "geo.lat BETWEEN 47 AND 55",
    "e.geo.city = 'Berlin'",
    "json_extract_scalar(payload, '$.campaign') = 'spring'",
]


def nested_rows(where: str) -> int:
    queries = tuple(
        Query(f"q{n}", f"SELECT id FROM app.log.events e WHERE {f}") for n, f in enumerate(NESTED)
    )
    plan = plan_data(Workload("jdbc:trino://h:8080/app/log", (DdlStatement(EVENTS),), queries), 500)
    db = duckdb.connect()
    db.execute(f"CREATE TABLE events AS {duckdb_select(plan.tables[0], 0, plan.tables[0].rows)}")
    found = db.execute(f"SELECT count(*) FROM events e WHERE {where}")
    return int(found.fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize("where", NESTED)
def test_what_a_query_asks_of_an_array_a_map_a_row_or_json_text_is_there(where: str) -> None:
    # (DuckDB's own spelling: a map's value by key, a list's membership, a struct's field)
    duckdb_where = (
        where.replace("contains(", "list_contains(")
        .replace("element_at(properties, 'plan')", "properties['plan']")
        .replace("json_extract_scalar(", "json_extract_string(")
    )
    assert nested_rows(duckdb_where) > 0


def test_every_map_holds_every_key_a_query_reads() -> None:
    # Trino's m['k'] fails on a map without the key: no row may lack one
    assert nested_rows("properties['screen'] IS NULL OR properties['plan'] IS NULL") == (
        nested_rows("properties IS NULL")
    )
    assert nested_rows("cardinality(tags) = 2 AND cardinality(hops) = 2") > 0


def test_numbers_read_as_unix_time_hold_the_instants_compared_with() -> None:
    # given a bigint of epoch milliseconds and one of seconds, each read as a time
    ddl = "CREATE TABLE app.log.hits (id bigint, client_ms bigint, server_s bigint)"
    queries = (
        Query(
            "ms",
            "SELECT id FROM app.log.hits WHERE from_unixtime(client_ms / 1000) "
            ">= TIMESTAMP '2024-05-25 00:00:00 UTC'",
        ),
        Query(
            "s",
            "SELECT id FROM app.log.hits WHERE from_unixtime(server_s) "
            "< TIMESTAMP '2023-01-10 00:00:00'",
        ),
    )
    plan = plan_data(Workload("jdbc:trino://h:8080/app/log", (DdlStatement(ddl),), queries), 500)
    db = duckdb.connect()
    db.execute(f"CREATE TABLE hits AS {duckdb_select(plan.tables[0], 0, plan.tables[0].rows)}")
    # then some rows are after the first instant, some before the second, in their units
    after = "to_timestamp(client_ms / 1000) >= TIMESTAMPTZ '2024-05-25 00:00:00+00'"
    before = "to_timestamp(server_s) < TIMESTAMPTZ '2023-01-10 00:00:00+00'"
    for where in (after, before):
        assert db.execute(f"SELECT count(*) FROM hits WHERE {where}").fetchone()[0] > 0  # type: ignore[index]


def test_a_day_asked_alone_keeps_rows_beside_the_days_planted_for_other_filters() -> None:
    # given 2,000 rows over a year (five a day) and filters on two neighbouring days that
    # also ask a category: their planted rows would take every row around them
    ddl = "CREATE TABLE app.log.events (id bigint, ds varchar, country varchar, kind varchar)"
    queries = (
        Query("a", "SELECT id FROM app.log.events WHERE ds = '2024-05-28' AND country = 'DE'"),
        Query("b", "SELECT id FROM app.log.events WHERE ds = '2024-05-30' AND kind = 'view'"),
        Query("c", "SELECT id FROM app.log.events WHERE ds = '2024-05-29'"),
        Query("d", "SELECT id FROM app.log.events WHERE ds BETWEEN '2024-01-01' AND '2024-12-31'"),
    )
    plan = plan_data(Workload("jdbc:trino://h:8080/app/log", (DdlStatement(ddl),), queries), 2000)
    db = duckdb.connect()
    db.execute(f"CREATE TABLE events AS {duckdb_select(plan.tables[0], 0, plan.tables[0].rows)}")
    count = "SELECT count(*) FROM events WHERE "

    def found(where: str) -> int:
        return int(db.execute(count + where).fetchone()[0])  # type: ignore[index]

    # then the planted days hold their filters' rows, and the day between keeps some of its own
    assert found("ds = '2024-05-28' AND country = 'DE'") >= LITERAL_ROWS // 2
    assert found("ds = '2024-05-30' AND kind = 'view'") >= LITERAL_ROWS // 2
    assert found("ds = '2024-05-29'") > 0
