"""The data the lab makes for a workload gives its queries rows to find."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlglot

from domain.synthetic import ColumnSpec, TablePlan, plan_data, trino_select
from domain.workload import DdlStatement, Query, Workload

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.json"))
URL = "jdbc:trino://h:8080?catalog=lake&schema=s"


def workload(ddl: list[str], queries: list[str]) -> Workload:
    return Workload(
        URL,
        tuple(DdlStatement(d) for d in ddl),
        tuple(Query(f"q{n}", q) for n, q in enumerate(queries)),
    )


def column(plan: TablePlan, name: str) -> ColumnSpec:
    return next(c for c in plan.columns if c.name == name)


def table(w: Workload, name: str, rows: int = 100_000) -> TablePlan:
    return next(t for t in plan_data(w, rows).tables if t.table.table == name)


def test_a_literal_compared_by_equality_is_one_of_the_columns_values() -> None:
    # given a query filtering a status column on a literal
    w = workload(
        ["CREATE TABLE orders (id bigint, status varchar)"],
        ["SELECT count(*) FROM orders WHERE status = 'paid' OR status IN ('open', 'held')"],
    )
    # then the status column draws from a small set holding those literals
    status = column(table(w, "orders"), "status")
    assert status.kind == "category"
    assert {"'paid'", "'open'", "'held'"} <= set(status.values)


def test_a_joined_key_is_owned_by_the_dimension_and_drawn_from_by_the_fact() -> None:
    # given a fact joined to a dimension by the dimension's first column
    w = workload(
        [
            "CREATE TABLE sales (sale_id bigint, customer_id bigint, amount double)",
            "CREATE TABLE customers (customer_id bigint, segment varchar)",
        ],
        [
            "SELECT c.segment, sum(s.amount) FROM sales s JOIN customers c"
            " ON c.customer_id = s.customer_id GROUP BY 1"
        ],
    )
    sales, customers = table(w, "sales"), table(w, "customers")
    # then the dimension holds each key once, in fewer rows, and the fact's keys fall within
    assert customers.role == "dimension"
    assert sales.role == "fact"
    assert customers.rows == 100_000 // 50
    assert column(customers, "customer_id").kind == "sequence"
    key = column(sales, "customer_id")
    assert key.kind == "key"
    assert (key.low, key.high) == (1, customers.rows)


def test_text_keys_of_one_join_share_their_spelling() -> None:
    w = workload(
        [
            "CREATE TABLE clicks (id bigint, page_ref varchar)",
            "CREATE TABLE pages (page varchar, title varchar)",
        ],
        ["SELECT p.title, count(*) FROM clicks c JOIN pages p ON p.page = c.page_ref GROUP BY 1"],
    )
    owner = column(table(w, "pages"), "page")
    member = column(table(w, "clicks"), "page_ref")
    assert owner.text
    assert member.text
    assert owner.prefix == member.prefix == "page"


def test_time_spans_the_ranges_the_queries_ask_for_with_a_margin() -> None:
    w = workload(
        ["CREATE TABLE events (id bigint, at timestamp(6))"],
        [
            "SELECT count(*) FROM events WHERE at >= TIMESTAMP '2024-03-01 00:00:00'"
            " AND at < TIMESTAMP '2024-04-01 00:00:00'"
        ],
    )
    at = column(table(w, "events"), "at")
    assert at.kind == "timestamp"
    assert at.start is not None
    assert at.end is not None
    assert at.start < datetime(2024, 3, 1)
    assert at.end > datetime(2024, 4, 1)


def test_a_year_filter_puts_that_year_in_the_span() -> None:
    w = workload(
        ["CREATE TABLE events (id bigint, at timestamp(6))"],
        ["SELECT count(*) FROM events WHERE year(at) = 2019"],
    )
    at = column(table(w, "events"), "at")
    assert at.start is not None
    assert at.end is not None
    assert at.start <= datetime(2019, 1, 1)
    assert at.end >= datetime(2019, 12, 31)


def test_dates_kept_as_varchar_are_written_as_dates() -> None:
    w = workload(
        ["CREATE TABLE clicks (id bigint, event_date varchar)"],
        ["SELECT count(*) FROM clicks WHERE event_date BETWEEN '2024-03-01' AND '2024-03-07'"],
    )
    event_date = column(table(w, "clicks"), "event_date")
    assert (event_date.kind, event_date.text) == ("date", True)


def test_calendar_columns_agree_with_the_tables_date() -> None:
    w = workload(
        ["CREATE TABLE flights (flightdate date, year integer, month integer, delay double)"],
        ["SELECT count(*) FROM flights WHERE year = 2022 AND month = 6"],
    )
    plan = table(w, "flights")
    assert column(plan, "year").kind == "calendar"
    assert column(plan, "year").values == ("year",)
    assert column(plan, "month").values == ("month",)
    assert column(plan, "year").start == column(plan, "flightdate").start


def test_a_date_dimension_holds_a_day_per_row_keyed_by_the_day_as_yyyymmdd() -> None:
    # given a star: a fact joined to a date dimension by an integer date key
    w = workload(
        [
            "CREATE TABLE fact_sales (date_key integer, amount double)",
            "CREATE TABLE dim_date (date_key integer, full_date date, year integer)",
        ],
        [
            "SELECT d.year, sum(f.amount) FROM fact_sales f JOIN dim_date d"
            " ON f.date_key = d.date_key WHERE d.year = 2024 GROUP BY 1"
        ],
    )
    dates = table(w, "dim_date")
    # then the dimension's key, date and year are one day per row, with no jitter
    key, day, year = (column(dates, c) for c in ("date_key", "full_date", "year"))
    assert (key.kind, day.kind, year.kind) == ("day_key", "date", "calendar")
    assert (key.exact, day.exact, year.exact) == (True, True, True)
    assert (key.start, key.end) == (day.start, day.end)
    assert key.start is not None
    assert key.end is not None
    assert dates.rows == (key.end - key.start).days
    # and the fact draws its days, in load order, over the dimension's days
    fact_key = column(table(w, "fact_sales"), "date_key")
    assert (fact_key.kind, fact_key.exact) == ("day_key", False)
    assert (fact_key.start, fact_key.end) == (key.start, key.end)
    assert "format_datetime" in trino_select(dates, 0, dates.rows)


def test_nulls_only_where_a_column_may_hold_them_and_more_where_a_query_asks() -> None:
    w = workload(
        ["CREATE TABLE t (id bigint NOT NULL, closed_at timestamp(6), note varchar NOT NULL)"],
        ["SELECT count(*) FROM t WHERE closed_at IS NULL"],
    )
    plan = table(w, "t")
    assert column(plan, "note").nulls == 0
    assert column(plan, "closed_at").nulls == pytest.approx(0.2)


def test_decimals_stay_within_their_precision() -> None:
    w = workload(
        ["CREATE TABLE t (id bigint, amount decimal(4, 2))"],
        ["SELECT count(*) FROM t WHERE amount > 50000"],
    )
    amount = column(table(w, "t"), "amount")
    assert amount.high <= 99.99


def test_tables_without_declared_columns_are_left_to_their_definition() -> None:
    w = workload(
        ["CREATE TABLE a (id bigint)", "CREATE TABLE b AS SELECT id FROM a"],
        ["SELECT count(*) FROM b"],
    )
    plan = plan_data(w, 1_000)
    assert [str(t.table) for t in plan.tables] == ["lake.s.a"]
    assert [str(name) for name, _ in plan.skipped] == ["lake.s.b"]


def test_the_plan_is_the_same_for_the_same_workload_and_seed() -> None:
    w = workload(["CREATE TABLE t (id bigint, kind varchar)"], ["SELECT * FROM t"])
    assert plan_data(w, 1_000, seed=3).tables == plan_data(w, 1_000, seed=3).tables
    assert plan_data(w, 1_000, seed=3).tables != plan_data(w, 1_000, seed=4).tables


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_renders_as_one_trino_select_per_table(path: Path) -> None:
    w = Workload.from_dict(json.loads(path.read_text()))
    for plan in plan_data(w, 30_000).tables:
        sql = trino_select(plan, 10_000, 30_000)
        tree = sqlglot.parse_one(sql, read="trino")
        assert len(tree.selects) == len(plan.columns)


def test_ids_looked_up_by_value_hold_as_many_values_as_a_real_table_and_few_rows_each() -> None:
    # given lookups by a line id (the table's own key), an order id and a session id
    w = workload(
        [
            "CREATE TABLE lines (line_id bigint, order_id bigint, session_id varchar,"
            " order_number bigint)"
        ],
        [
            "SELECT * FROM lines WHERE line_id = 186378036",
            "SELECT * FROM lines WHERE order_id = 29125273",
            "SELECT * FROM lines WHERE order_number = 17751810",
            "SELECT * FROM lines WHERE session_id = 's-f7b0cda8056c'",
        ],
    )
    lines = table(w, "lines", rows=1_000_000)
    line_id, order_id = column(lines, "line_id"), column(lines, "order_id")
    session_id = column(lines, "session_id")
    # then each is a key over a realistic domain: one per row, a tenth of that for the others
    assert line_id.kind == order_id.kind == session_id.kind == "key"
    assert line_id.high - line_id.low + 1 >= 1_000_000
    assert order_id.high - order_id.low + 1 >= 100_000
    order_number = column(lines, "order_number")  # named like a number, it is an id too
    assert order_number.kind == "key"
    assert order_number.high - order_number.low + 1 >= 100_000
    assert session_id.high - session_id.low + 1 >= 100_000
    # and the looked-up value is among them
    assert "186378036" in line_id.values
    assert "'s-f7b0cda8056c'" in session_id.values


def test_numbers_kept_as_varchar_are_written_as_their_type_prints_them() -> None:
    # given varchar columns the queries cast to a bigint, a decimal and a double
    w = workload(
        ["CREATE TABLE raw (id bigint, qty varchar, price varchar, kg varchar)"],
        [
            "SELECT id FROM raw WHERE CAST(qty AS bigint) > 500 AND CAST(price AS "
            "decimal(12,2)) < 20 AND CAST(kg AS double) > 1.5"
        ],
    )
    plan = table(w, "raw")
    qty, price, kg = (column(plan, n) for n in ("qty", "price", "kg"))
    # then each holds numbers of that type, written as text the way the type prints them
    assert (qty.kind, qty.number_type) == ("integer", "BIGINT")
    assert (price.kind, price.number_type) == ("decimal", "DECIMAL(12, 2)")
    assert (kg.kind, kg.number_type) == ("real", "DOUBLE")
    sql = trino_select(plan, 0, 10)
    assert "CAST(CAST(" in sql
    assert "AS DECIMAL(12, 2)) AS varchar)" in sql
    # and they span several digits, so that the text's order is not the numbers' order
    assert qty.low <= 1
    assert qty.high >= 1_000


def test_a_filter_on_a_key_and_a_day_plants_rows_holding_both() -> None:
    # given a lookup of one device's day
    w = workload(
        ["CREATE TABLE readings (device_id bigint, ts timestamp(6), temperature double)"],
        [
            "SELECT * FROM readings WHERE device_id = 4242 AND ts >= TIMESTAMP "
            "'2024-06-10 00:00:00' AND ts < TIMESTAMP '2024-06-11 00:00:00'"
        ],
    )
    readings = table(w, "readings")
    device, ts = column(readings, "device_id"), column(readings, "ts")
    # then the same rows hold the device and that day
    assert [p.literal for p in device.planted] == ["4242"]
    (day,) = ts.planted
    assert (day.start, day.end) == (datetime(2024, 6, 10), datetime(2024, 6, 11))
    place = (day.first, day.stop, day.stride)
    assert (device.planted[0].first, device.planted[0].stop, device.planted[0].stride) == place
    # rows whose place in the load order is about that day (the table keeps its time order),
    # a day's rows of the span, about twenty of them
    assert ts.start is not None
    assert ts.end is not None
    share = (datetime(2024, 6, 10, 12) - ts.start) / (ts.end - ts.start)
    assert abs((day.first + day.stop) / 2 - share * 100_000) <= 1
    assert 20 <= len(range(day.first, day.stop, day.stride)) < 40
    # and the column no filter names is left alone
    assert column(readings, "temperature").planted == ()


def test_what_a_column_cannot_hold_is_not_planted() -> None:
    w = workload(
        ["CREATE TABLE readings (device_id bigint, ts timestamp(6), year integer, level integer)"],
        [
            # a text literal for a number: the CAST of the planted value would fail the load
            "SELECT * FROM readings WHERE device_id = '42' AND ts >= TIMESTAMP "
            "'2024-06-10 00:00:00'",
            # a number its integer type cannot hold: the CAST would overflow
            "SELECT * FROM readings WHERE level > 2147483647 AND device_id = 3",
            # the date calendar parts agree with is not planted (they would disagree)
            "SELECT * FROM readings WHERE device_id = 7 AND ts >= TIMESTAMP '2024-06-10 00:00:00'",
        ],
    )
    readings = table(w, "readings")
    assert all(not c.planted for c in readings.columns)


def test_a_single_column_filter_plants_nothing() -> None:
    # its literal is among the column's values already
    w = workload(
        ["CREATE TABLE readings (device_id bigint, ts timestamp(6))"],
        ["SELECT * FROM readings WHERE device_id = 42 OR ts > TIMESTAMP '2024-01-01 00:00:00'"],
    )
    assert all(not c.planted for c in table(w, "readings").columns)


def test_a_negative_number_is_read_with_its_sign() -> None:
    w = workload(
        ["CREATE TABLE readings (device_id bigint, rssi integer)"],
        ["SELECT count(*) FROM readings WHERE rssi < -100"],
    )
    rssi = column(table(w, "readings"), "rssi")
    assert rssi.values == ("-100",)
    assert rssi.low <= -100 <= rssi.high


def test_a_range_on_a_number_plants_a_whole_number_within_it() -> None:
    w = workload(
        ["CREATE TABLE readings (device_id bigint, battery integer, rssi integer)"],
        [
            "SELECT * FROM readings WHERE battery < 15 AND device_id = 7",
            "SELECT * FROM readings WHERE rssi > -100 AND rssi <= -90 AND device_id = 8",
            "SELECT * FROM readings WHERE battery > 15 AND battery < 16 AND device_id = 9",
        ],
    )
    readings = table(w, "readings")
    assert [p.literal for p in column(readings, "battery").planted] == ["14"]
    assert [p.literal for p in column(readings, "rssi").planted] == ["-99"]
    # no whole number lies between 15 and 16: that filter plants nothing
    assert [p.literal for p in column(readings, "device_id").planted] == ["7", "8"]


@pytest.mark.parametrize(
    ("dimension", "key", "fact", "pointer"),
    [
        ("part", "p_partkey", "partsupp", "ps_partkey"),  # TPC-H: each table's prefix
        ("item", "i_item_sk", "inventory", "inv_item_sk"),  # TPC-DS
        ("date_dim", "d_date_sk", "store_sales", "ss_sold_date_sk"),  # (a calendar)
    ],
)
def test_a_key_named_after_its_table_behind_a_prefix_is_owned_by_that_table(
    dimension: str, key: str, fact: str, pointer: str
) -> None:
    # given two tables that both lead with the joined key, one named after it behind a prefix
    w = workload(
        [
            f"CREATE TABLE {fact} ({pointer} bigint, qty integer)",
            f"CREATE TABLE {dimension} ({key} bigint, kind varchar)",
        ],
        [f"SELECT d.kind, sum(f.qty) FROM {fact} f JOIN {dimension} d ON d.{key} = f.{pointer}"],
    )
    # then that table owns it, in fewer rows, whichever table the DDL lists first
    assert table(w, dimension).role == "dimension"
    assert table(w, fact).role == "fact"
    assert table(w, dimension).rows < table(w, fact).rows
