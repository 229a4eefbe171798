"""Workloads of four shapes the service has not been tuned on, to score it on unseen layouts.

    python bench/shapes.py wide > workload.json
    python bench/shapes.py star --seed 3 --queries 40 > workload.json

Each shape is a small warehouse as teams really build it, laid out once, badly: the source
tables have no partitioning and no sort order, so every query reads everything. The queries
are what its users run against it, with a run count and a duration each, skewed so that two
or three queries carry most of the weight (runs x seconds), as in a real query log. The seed
picks the literals (days, months, quarters, ids, countries…) and jitters the weights; the
tables and the query patterns are fixed, so two seeds give the same shape with other numbers.
Stdlib only; the same shape, seed and count always give the same workload.

- ``wide`` (``lake.web``): one flat, denormalised order-line table of 55 columns — ids,
  timestamps and dates, a dozen low-cardinality dimensions (country, device, channel, plan,
  status…), boolean flags and many measures — read by BI dashboards that group by one to
  three dimensions over a month or a quarter, filter on flags that keep nearly every row
  (``is_test = false``), plus point lookups by id and a top-N detail list. It matters
  because most of the table is never read: a good answer picks a date partitioning, a sort
  on the lookup ids and keeps the file format columnar, and does not split the table.
- ``star`` (``dw.sales``): a Kimball star — a sales-line fact with integer date keys
  (``20240115``) and foreign keys to date, customer, product, store and promotion
  dimensions, and a product-category table snowflaked off the product dimension. The
  queries filter on dimension attributes (``d.year = 2024``, ``s.region = 'EU'``), never
  on the fact's own columns, and most of the weight is on the same two or three join
  paths; a couple use LEFT JOIN. It matters because the filter reaches the fact only
  through a join: partitioning the fact on ``date_key`` pays only if the engine sees
  that the dimension filter becomes a key range (dynamic filtering), and dimensions are
  small enough that laying them out buys nothing.
- ``vault`` (``vault.raw``): Data Vault 2.0 — hubs (hash key, business key, load time,
  record source), links between them with their own hash keys, and insert-only
  satellites holding every version of the attributes, plus a link satellite with the
  order-line quantities. Every query first picks the current satellite row per key (with
  ``row_number() OVER (PARTITION BY hk ORDER BY load_dts DESC) = 1`` or ``max(load_dts)``)
  and then walks hub → link → hub → satellite. It matters because the keys are random
  hashes (no useful range to partition on), the joins are wide and many, and the window
  over the whole satellite history dominates: the win is in bucketing or sorting by hash
  key and in not re-reading history, not in date partitions.
- ``events`` (``logs.app``): an append-only clickstream of 21 columns and a small users
  table, queried by product analysts over the last day, the last week or a month, by hour
  of day, as funnels (``count(DISTINCT session_id)`` and ``count_if`` per event type), as
  top-N pages, and by support looking up one user or one session. It matters because
  time-range scans and needle lookups by ``user_id``/``session_id`` pull the layout in
  different directions (partition by day, sort by user), and the raw ``SELECT *`` of a day
  must keep working.

Every statement is Trino SQL for the Iceberg connector, every name is fully qualified, and
every query is deterministic (literal dates, no ``random()`` or ``now()``, total orders
under ``LIMIT``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = ["SHAPES", "workload"]

Rng = random.Random
Template = tuple[str, str, Callable[[Rng], str]]  # (name, tier, query of the rng)

# Tiers of weight: runs and seconds drawn log-uniformly from these ranges. Three or so "hot"
# queries per shape carry most of runs x seconds; lookups run very often but fast; a few rare
# reports and one export run seldom and long.
_TIERS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "hot": ((3000, 20000), (15, 90)),
    "lookup": ((1000, 20000), (1, 8)),
    "warm": ((40, 1500), (3, 40)),
    "rare": ((1, 60), (10, 150)),
    "cold": ((1, 8), (120, 300)),
}

# -- literals -----------------------------------------------------------------------------------

_FIRST_DAY = date(2023, 1, 1)
_LAST_DAY = date(2025, 9, 30)
_COUNTRIES = ["DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "AT"]
_DEVICES = ["mobile", "desktop", "tablet"]
_CHANNELS = ["organic", "paid_search", "email", "social", "direct", "affiliate"]
_STATUSES = ["paid", "shipped", "delivered", "cancelled", "refunded", "pending"]
_CATEGORIES = ["electronics", "home", "apparel", "toys", "grocery", "sports", "beauty"]
_REGIONS = ["EU", "NA", "APAC", "LATAM"]
_SEGMENTS = ["consumer", "corporate", "small_business"]


def _sql(text: str) -> str:
    """One line, single spaces: the templates are written over several lines for reading."""
    return " ".join(text.split())


def _d(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _ts(day: date) -> str:
    return f"TIMESTAMP '{day.isoformat()} 00:00:00'"


def _key(day: date) -> str:
    return day.strftime("%Y%m%d")


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _day(r: Rng) -> date:
    return _FIRST_DAY + timedelta(days=r.randrange((_LAST_DAY - _FIRST_DAY).days + 1))


def _month(r: Rng) -> tuple[date, date]:
    """First day of a month and first day of the next (half-open range)."""
    first = _day(r).replace(day=1)
    return first, _next_month(first)


def _quarter(r: Rng) -> tuple[date, date]:
    """First and last day of a quarter (closed range, for BETWEEN)."""
    year, quarter = r.choice([2023, 2024, 2025]), r.randint(1, 4)
    first = date(year, 3 * quarter - 2, 1)
    return first, _next_month(_next_month(_next_month(first))) - timedelta(days=1)


def _year(r: Rng) -> int:
    return r.choice([2023, 2024, 2024, 2025])


def _columns(columns: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def _latest(table: str, key: str, columns: str, alias: str) -> str:
    """The current satellite row per hash key (ties on load_dts broken by hash_diff)."""
    return (
        f"(SELECT {key}, {columns}, row_number() OVER (PARTITION BY {key} "
        f"ORDER BY load_dts DESC, hash_diff DESC) AS rn FROM {table}) {alias}"
    )


# -- wide: one flat table -----------------------------------------------------------------------

W = "lake.web.order_lines"
_WIDE_COLUMNS = [
    ("line_id", "bigint"),
    ("order_id", "bigint"),
    ("user_id", "bigint"),
    ("session_id", "varchar"),
    ("order_ts", "timestamp(6)"),
    ("order_date", "date"),
    ("ship_date", "date"),
    ("delivered_ts", "timestamp(6)"),
    ("updated_at", "timestamp(6)"),
    ("country", "varchar"),
    ("region", "varchar"),
    ("city", "varchar"),
    ("device", "varchar"),
    ("os", "varchar"),
    ("browser", "varchar"),
    ("channel", "varchar"),
    ("utm_source", "varchar"),
    ("utm_campaign", "varchar"),
    ("plan", "varchar"),
    ("customer_tier", "varchar"),
    ("status", "varchar"),
    ("payment_method", "varchar"),
    ("currency", "varchar"),
    ("warehouse_code", "varchar"),
    ("carrier", "varchar"),
    ("product_id", "bigint"),
    ("sku", "varchar"),
    ("category", "varchar"),
    ("brand", "varchar"),
    ("coupon_code", "varchar"),
    ("is_test", "boolean"),
    ("is_internal", "boolean"),
    ("is_first_order", "boolean"),
    ("is_gift", "boolean"),
    ("has_coupon", "boolean"),
    ("is_returned", "boolean"),
    ("is_subscription", "boolean"),
    ("quantity", "integer"),
    ("unit_price", "decimal(12, 2)"),
    ("gross_amount", "decimal(14, 2)"),
    ("discount_amount", "decimal(12, 2)"),
    ("tax_amount", "decimal(12, 2)"),
    ("shipping_fee", "decimal(10, 2)"),
    ("net_amount", "decimal(14, 2)"),
    ("cost_amount", "decimal(14, 2)"),
    ("margin_pct", "double"),
    ("weight_kg", "double"),
    ("fx_rate", "double"),
    ("delivery_days", "smallint"),
    ("items_in_order", "smallint"),
    ("page_views", "integer"),
    ("session_seconds", "integer"),
    ("loyalty_points", "integer"),
    ("rating", "smallint"),
    ("ingest_date", "date"),
]


def _wide_ddl() -> list[str]:
    return [f"CREATE TABLE {W} ({_columns(_WIDE_COLUMNS)}) WITH (format = 'PARQUET')"]


def _w_country_month(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT country, count(*) AS lines, count(DISTINCT order_id) AS orders,
        sum(net_amount) AS revenue, avg(net_amount) AS avg_line_amount
        FROM {W} WHERE is_test = false AND order_date >= {_d(first)} AND order_date < {_d(stop)}
        GROUP BY country ORDER BY revenue DESC, country"""


def _w_device_channel(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT device, channel, count(*) AS lines, count(DISTINCT user_id) AS buyers,
        count_if(is_first_order) AS first_orders, sum(gross_amount) AS gross,
        sum(discount_amount) AS discounts, max(order_ts) AS last_order_ts
        FROM {W} WHERE is_test = false AND is_internal = false
        AND order_date >= DATE '{year}-01-01' AND order_date < DATE '{year + 1}-01-01'
        GROUP BY device, channel"""


def _w_plan_status_quarter(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT plan, status, count(*) AS lines, sum(net_amount) AS revenue,
        min(order_ts) AS first_order_ts, max(order_ts) AS last_order_ts,
        count(DISTINCT user_id) AS users
        FROM {W} WHERE order_date BETWEEN {_d(first)} AND {_d(last)} AND is_test = false
        GROUP BY plan, status ORDER BY plan, status"""


def _w_freshness(r: Rng) -> str:
    return f"""SELECT country, status, min(updated_at) AS oldest_update,
        max(updated_at) AS latest_update, max(order_ts) AS latest_order
        FROM {W} WHERE is_test = false GROUP BY country, status"""


def _w_payment(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT payment_method, currency, count(*) AS lines,
        count_if(status = 'refunded') AS refunded, count_if(is_returned) AS returned,
        avg(net_amount) AS avg_amount
        FROM {W} WHERE is_test = false
        AND order_date >= DATE '{year}-01-01' AND order_date < DATE '{year + 1}-01-01'
        GROUP BY payment_method, currency"""


def _w_coupons(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT channel, utm_source, count(*) AS lines, sum(discount_amount) AS discount,
        avg(discount_amount / nullif(gross_amount, 0)) AS discount_share
        FROM {W} WHERE is_test = false AND has_coupon = true
        AND order_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY channel, utm_source ORDER BY discount DESC, channel, utm_source"""


def _w_country_device_plan(r: Rng) -> str:
    first, stop = _month(r)
    countries = ", ".join(f"'{c}'" for c in sorted(r.sample(_COUNTRIES, 3)))
    return f"""SELECT country, device, plan, count(DISTINCT user_id) AS users,
        sum(net_amount) AS revenue, avg(items_in_order) AS avg_items
        FROM {W} WHERE is_test = false AND order_date >= {_d(first)} AND order_date < {_d(stop)}
        AND country IN ({countries}) GROUP BY country, device, plan"""


def _w_category_brand(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT category, brand, sum(net_amount) AS revenue,
        sum(net_amount - cost_amount) AS margin, avg(margin_pct) AS avg_margin_pct
        FROM {W} WHERE is_test = false AND status IN ('paid', 'shipped', 'delivered')
        AND order_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY category, brand ORDER BY revenue DESC, category, brand LIMIT 20"""


def _w_daily(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT order_date, count(*) AS lines, count(DISTINCT order_id) AS orders,
        sum(net_amount) AS revenue
        FROM {W} WHERE is_test = false AND order_date >= {_d(first)} AND order_date < {_d(stop)}
        GROUP BY order_date ORDER BY order_date"""


def _w_weekly(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT date_trunc('week', order_date) AS week, channel,
        sum(net_amount) AS revenue, count_if(is_first_order) AS new_customers
        FROM {W} WHERE is_test = false AND order_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _w_order_lookup(r: Rng) -> str:
    return f"SELECT * FROM {W} WHERE order_id = {r.randint(10_000_000, 99_999_999)}"


def _w_line_lookup(r: Rng) -> str:
    return f"""SELECT line_id, order_id, sku, quantity, net_amount, status, updated_at
        FROM {W} WHERE line_id = {r.randint(100_000_000, 999_999_999)}"""


def _w_user_history(r: Rng) -> str:
    return f"""SELECT order_id, line_id, order_ts, status, sku, net_amount
        FROM {W} WHERE user_id = {r.randint(1, 5_000_000)}
        ORDER BY order_ts DESC, line_id DESC LIMIT 50"""


def _w_top_lines(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT line_id, order_id, user_id, country, sku, quantity, net_amount
        FROM {W} WHERE order_date >= {_d(first)} AND order_date < {_d(stop)}
        AND status = 'paid' AND is_test = false
        ORDER BY net_amount DESC, line_id LIMIT 100"""


def _w_delivery(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT carrier, warehouse_code, count(*) AS shipments,
        avg(delivery_days) AS avg_days, max(delivery_days) AS max_days,
        count_if(delivery_days > 5) AS late
        FROM {W} WHERE status = 'delivered' AND is_test = false
        AND ship_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY carrier, warehouse_code"""


def _w_tier(r: Rng) -> str:
    return f"""SELECT customer_tier, count(DISTINCT user_id) AS users,
        sum(loyalty_points) AS points, avg(rating) AS avg_rating,
        count_if(is_subscription) AS subscription_lines
        FROM {W} WHERE is_test = false GROUP BY customer_tier"""


def _w_big_cities(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT country, city, count(*) AS lines, sum(net_amount) AS revenue
        FROM {W} WHERE is_test = false
        AND order_date >= DATE '{year}-01-01' AND order_date < DATE '{year + 1}-01-01'
        GROUP BY country, city HAVING count(*) > 1000 ORDER BY revenue DESC, country, city"""


def _w_export(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT * FROM {W}
        WHERE order_date >= {_d(first)} AND order_date < {_d(stop)} AND is_test = false"""


def _w_monthly_region(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT date_trunc('month', order_ts) AS month, region,
        count(DISTINCT user_id) AS buyers, sum(net_amount) AS revenue
        FROM {W} WHERE is_test = false AND order_ts >= TIMESTAMP '{year}-01-01 00:00:00'
        AND order_ts < TIMESTAMP '{year + 1}-01-01 00:00:00'
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _w_coupon_code(r: Rng) -> str:
    prefix = r.choice(["SPRING", "SUMMER", "BF", "WELCOME"])
    return f"""SELECT coupon_code, count(DISTINCT order_id) AS orders,
        sum(discount_amount) AS discount
        FROM {W} WHERE coupon_code LIKE '{prefix}%' AND is_test = false
        GROUP BY coupon_code ORDER BY discount DESC, coupon_code"""


def _w_mobile(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT os, browser, avg(session_seconds) AS avg_session_s,
        sum(page_views) AS page_views, count(*) AS lines
        FROM {W} WHERE is_test = false AND device = 'mobile'
        AND order_date >= {_d(first)} AND order_date < {_d(stop)}
        GROUP BY os, browser"""


_WIDE: list[Template] = [
    ("country-month", "hot", _w_country_month),
    ("device-channel", "hot", _w_device_channel),
    ("plan-status-quarter", "hot", _w_plan_status_quarter),
    ("freshness", "warm", _w_freshness),
    ("payment", "warm", _w_payment),
    ("coupons", "warm", _w_coupons),
    ("country-device-plan", "warm", _w_country_device_plan),
    ("category-brand", "warm", _w_category_brand),
    ("daily", "warm", _w_daily),
    ("weekly-channel", "warm", _w_weekly),
    ("order-lookup", "lookup", _w_order_lookup),
    ("line-lookup", "lookup", _w_line_lookup),
    ("user-history", "lookup", _w_user_history),
    ("top-lines", "warm", _w_top_lines),
    ("delivery", "warm", _w_delivery),
    ("tier", "warm", _w_tier),
    ("big-cities", "rare", _w_big_cities),
    ("export-month", "cold", _w_export),
    ("monthly-region", "warm", _w_monthly_region),
    ("coupon-code", "rare", _w_coupon_code),
    ("mobile", "warm", _w_mobile),
]

# -- star: a fact and its dimensions ------------------------------------------------------------

F = "dw.sales.fact_sales"
DD = "dw.sales.dim_date"
DC = "dw.sales.dim_customer"
DP = "dw.sales.dim_product"
DPC = "dw.sales.dim_product_category"
DS = "dw.sales.dim_store"
DPR = "dw.sales.dim_promotion"

_STAR_TABLES: list[tuple[str, list[tuple[str, str]], bool]] = [
    (
        F,
        [
            ("date_key", "integer"),
            ("customer_key", "bigint"),
            ("product_key", "bigint"),
            ("store_key", "integer"),
            ("promo_key", "integer"),
            ("order_number", "bigint"),
            ("line_number", "integer"),
            ("quantity", "integer"),
            ("unit_price", "decimal(10, 2)"),
            ("gross_amount", "decimal(12, 2)"),
            ("discount_amount", "decimal(10, 2)"),
            ("net_amount", "decimal(12, 2)"),
            ("cost_amount", "decimal(12, 2)"),
            ("tax_amount", "decimal(10, 2)"),
            ("is_return", "boolean"),
        ],
        True,
    ),
    (
        DD,
        [
            ("date_key", "integer"),
            ("full_date", "date"),
            ("year", "integer"),
            ("quarter", "integer"),
            ("month", "integer"),
            ("month_name", "varchar"),
            ("week_of_year", "integer"),
            ("day_of_month", "integer"),
            ("day_of_week", "integer"),
            ("day_name", "varchar"),
            ("is_weekend", "boolean"),
            ("is_holiday", "boolean"),
            ("fiscal_year", "integer"),
            ("fiscal_quarter", "integer"),
        ],
        False,
    ),
    (
        DC,
        [
            ("customer_key", "bigint"),
            ("customer_id", "varchar"),
            ("customer_name", "varchar"),
            ("email", "varchar"),
            ("segment", "varchar"),
            ("country", "varchar"),
            ("city", "varchar"),
            ("age_band", "varchar"),
            ("loyalty_tier", "varchar"),
            ("signup_date", "date"),
            ("is_active", "boolean"),
        ],
        False,
    ),
    (
        DP,
        [
            ("product_key", "bigint"),
            ("sku", "varchar"),
            ("product_name", "varchar"),
            ("category_key", "integer"),
            ("category", "varchar"),
            ("brand", "varchar"),
            ("color", "varchar"),
            ("size", "varchar"),
            ("list_price", "decimal(10, 2)"),
            ("unit_cost", "decimal(10, 2)"),
            ("launch_date", "date"),
            ("is_discontinued", "boolean"),
        ],
        False,
    ),
    (
        DPC,
        [
            ("category_key", "integer"),
            ("category_name", "varchar"),
            ("department", "varchar"),
            ("category_manager", "varchar"),
        ],
        False,
    ),
    (
        DS,
        [
            ("store_key", "integer"),
            ("store_code", "varchar"),
            ("store_name", "varchar"),
            ("store_type", "varchar"),
            ("city", "varchar"),
            ("country", "varchar"),
            ("region", "varchar"),
            ("opened_date", "date"),
            ("floor_area_sqm", "integer"),
        ],
        False,
    ),
    (
        DPR,
        [
            ("promo_key", "integer"),
            ("promo_code", "varchar"),
            ("promo_type", "varchar"),
            ("discount_pct", "double"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("channel", "varchar"),
        ],
        False,
    ),
]


def _star_ddl() -> list[str]:
    return [
        f"CREATE TABLE {name} ({_columns(columns)})"
        + (" WITH (format = 'PARQUET')" if parquet else "")
        for name, columns, parquet in _STAR_TABLES
    ]


_FD = f"FROM {F} f JOIN {DD} d ON f.date_key = d.date_key"


def _s_month_category(r: Rng) -> str:
    return f"""SELECT d.month, sum(f.net_amount) AS revenue, sum(f.quantity) AS units,
        count(DISTINCT f.order_number) AS orders
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} AND p.category = '{r.choice(_CATEGORIES)}'
        GROUP BY d.month ORDER BY d.month"""


def _s_region_quarter(r: Rng) -> str:
    return f"""SELECT s.region, d.quarter, sum(f.net_amount) AS revenue,
        sum(f.net_amount - f.cost_amount) AS margin
        {_FD} JOIN {DS} s ON f.store_key = s.store_key
        WHERE d.year = {_year(r)} GROUP BY s.region, d.quarter ORDER BY s.region, d.quarter"""


def _s_category_brand_region(r: Rng) -> str:
    return f"""SELECT p.category, p.brand, sum(f.net_amount) AS revenue, sum(f.quantity) AS units
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        JOIN {DS} s ON f.store_key = s.store_key
        WHERE d.year = {_year(r)} AND d.quarter = {r.randint(1, 4)}
        AND s.region = '{r.choice(_REGIONS)}'
        GROUP BY p.category, p.brand ORDER BY revenue DESC, p.category, p.brand"""


def _s_top_brands(r: Rng) -> str:
    return f"""SELECT p.brand, sum(f.net_amount) AS revenue, sum(f.quantity) AS units
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} AND d.month = {r.randint(1, 12)}
        AND p.category = '{r.choice(_CATEGORIES)}'
        GROUP BY p.brand ORDER BY revenue DESC, p.brand LIMIT 10"""


def _s_region_keys(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT s.region, s.country, count(DISTINCT f.order_number) AS orders,
        sum(f.net_amount) AS revenue
        FROM {F} f JOIN {DS} s ON f.store_key = s.store_key
        WHERE f.date_key BETWEEN {_key(first)} AND {_key(last)}
        GROUP BY s.region, s.country ORDER BY s.region, s.country"""


def _s_segment_country(r: Rng) -> str:
    return f"""SELECT c.segment, c.country, count(DISTINCT f.customer_key) AS customers,
        sum(f.net_amount) AS revenue
        {_FD} JOIN {DC} c ON f.customer_key = c.customer_key
        WHERE d.year = {_year(r)} GROUP BY c.segment, c.country"""


def _s_top_customers(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT c.customer_key, c.customer_name, sum(f.net_amount) AS revenue,
        count(DISTINCT f.order_number) AS orders
        FROM {F} f JOIN {DC} c ON f.customer_key = c.customer_key
        WHERE c.country = '{r.choice(_COUNTRIES)}'
        AND f.date_key BETWEEN {_key(first)} AND {_key(stop - timedelta(days=1))}
        GROUP BY c.customer_key, c.customer_name
        ORDER BY revenue DESC, c.customer_key LIMIT 20"""


def _s_promo_left(r: Rng) -> str:
    return f"""SELECT coalesce(pr.promo_type, 'none') AS promo_type, count(*) AS lines,
        sum(f.discount_amount) AS discount, sum(f.net_amount) AS revenue
        {_FD} LEFT JOIN {DPR} pr ON f.promo_key = pr.promo_key
        WHERE d.year = {_year(r)} GROUP BY coalesce(pr.promo_type, 'none')"""


def _s_weekend(r: Rng) -> str:
    return f"""SELECT d.is_weekend, s.store_type, sum(f.net_amount) AS revenue,
        count(DISTINCT f.order_number) AS orders
        {_FD} JOIN {DS} s ON f.store_key = s.store_key
        WHERE d.year = {_year(r)} AND d.quarter = {r.randint(1, 4)}
        GROUP BY d.is_weekend, s.store_type"""


def _s_department(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT pc.department, d.year, sum(f.net_amount) AS revenue,
        sum(f.quantity) AS units
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        JOIN {DPC} pc ON p.category_key = pc.category_key
        WHERE d.year IN ({year - 1}, {year}) GROUP BY pc.department, d.year
        ORDER BY pc.department, d.year"""


def _s_returns(r: Rng) -> str:
    return f"""SELECT p.category, count_if(f.is_return) AS returns, count(*) AS lines,
        CAST(count_if(f.is_return) AS double) / count(*) AS return_rate
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} AND d.month = {r.randint(1, 12)} GROUP BY p.category"""


def _s_order_lookup(r: Rng) -> str:
    return f"""SELECT f.line_number, p.sku, p.product_name, f.quantity, f.net_amount
        FROM {F} f JOIN {DP} p ON f.product_key = p.product_key
        WHERE f.order_number = {r.randint(1_000_000, 99_999_999)} ORDER BY f.line_number"""


def _s_customer_lookup(r: Rng) -> str:
    return f"""SELECT customer_key, customer_name, email, segment, country, loyalty_tier
        FROM {DC} WHERE customer_id = 'C{r.randint(1, 2_000_000):07d}'"""


def _s_unsold(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT p.product_key, p.sku, p.product_name, p.category
        FROM {DP} p LEFT JOIN (SELECT DISTINCT product_key FROM {F}
        WHERE date_key BETWEEN {_key(first)} AND {_key(stop - timedelta(days=1))}) s
        ON p.product_key = s.product_key
        WHERE s.product_key IS NULL AND p.is_discontinued = false
        ORDER BY p.product_key LIMIT 200"""


def _s_weekday_category(r: Rng) -> str:
    return f"""SELECT d.day_of_week, d.day_name, p.category, sum(f.net_amount) AS revenue
        {_FD} JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} AND d.month = {r.randint(1, 12)}
        GROUP BY d.day_of_week, d.day_name, p.category ORDER BY d.day_of_week, p.category"""


def _s_daily_grain(r: Rng) -> str:
    return f"""SELECT d.full_date, s.store_code, p.sku, sum(f.quantity) AS units,
        sum(f.net_amount) AS revenue
        {_FD} JOIN {DS} s ON f.store_key = s.store_key
        JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} GROUP BY d.full_date, s.store_code, p.sku"""


def _s_segment_brand(r: Rng) -> str:
    return f"""SELECT p.brand, sum(f.net_amount) AS revenue,
        sum(f.net_amount - f.cost_amount) AS margin
        {_FD} JOIN {DC} c ON f.customer_key = c.customer_key
        JOIN {DP} p ON f.product_key = p.product_key
        WHERE d.year = {_year(r)} AND c.segment = '{r.choice(_SEGMENTS)}'
        GROUP BY p.brand ORDER BY margin DESC, p.brand"""


def _s_yoy_region(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT s.region, d.year, sum(f.net_amount) AS revenue
        {_FD} JOIN {DS} s ON f.store_key = s.store_key
        WHERE d.year IN ({year - 1}, {year}) AND d.month <= {r.randint(3, 12)}
        GROUP BY s.region, d.year ORDER BY s.region, d.year"""


def _s_store_rank(r: Rng) -> str:
    return f"""WITH st AS (SELECT s.region, s.store_code, sum(f.net_amount) AS revenue
        {_FD} JOIN {DS} s ON f.store_key = s.store_key
        WHERE d.year = {_year(r)} AND d.quarter = {r.randint(1, 4)}
        GROUP BY s.region, s.store_code)
        SELECT region, store_code, revenue,
        rank() OVER (PARTITION BY region ORDER BY revenue DESC) AS rnk
        FROM st ORDER BY region, rnk, store_code"""


def _s_promo_codes(r: Rng) -> str:
    return f"""SELECT pr.promo_code, pr.promo_type, count(DISTINCT f.order_number) AS orders,
        sum(f.discount_amount) AS discount
        {_FD} JOIN {DPR} pr ON f.promo_key = pr.promo_key
        WHERE pr.promo_type = '{r.choice(["coupon", "bundle", "clearance", "seasonal"])}'
        AND d.year = {_year(r)}
        GROUP BY pr.promo_code, pr.promo_type ORDER BY discount DESC, pr.promo_code LIMIT 25"""


def _s_customer_reach(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT c.loyalty_tier, count(DISTINCT c.customer_key) AS customers,
        count(DISTINCT f.customer_key) AS buyers
        FROM {DC} c LEFT JOIN {F} f ON f.customer_key = c.customer_key
        AND f.date_key BETWEEN {_key(first)} AND {_key(last)}
        WHERE c.is_active = true GROUP BY c.loyalty_tier"""


_STAR: list[Template] = [
    ("month-category", "hot", _s_month_category),
    ("region-quarter", "hot", _s_region_quarter),
    ("category-brand-region", "hot", _s_category_brand_region),
    ("top-brands", "warm", _s_top_brands),
    ("region-datekeys", "warm", _s_region_keys),
    ("segment-country", "warm", _s_segment_country),
    ("top-customers", "warm", _s_top_customers),
    ("promo-left", "warm", _s_promo_left),
    ("weekend-storetype", "warm", _s_weekend),
    ("department-yoy", "rare", _s_department),
    ("returns", "warm", _s_returns),
    ("order-lookup", "lookup", _s_order_lookup),
    ("customer-lookup", "lookup", _s_customer_lookup),
    ("unsold-products", "rare", _s_unsold),
    ("weekday-category", "warm", _s_weekday_category),
    ("daily-grain-export", "cold", _s_daily_grain),
    ("segment-brand", "warm", _s_segment_brand),
    ("yoy-region", "warm", _s_yoy_region),
    ("store-rank", "rare", _s_store_rank),
    ("promo-codes", "warm", _s_promo_codes),
    ("customer-reach", "warm", _s_customer_reach),
]

# -- vault: hubs, links, satellites -------------------------------------------------------------

HC = "vault.raw.hub_customer"
HO = "vault.raw.hub_order"
HP = "vault.raw.hub_product"
LOC = "vault.raw.link_order_customer"
LOP = "vault.raw.link_order_product"
SC = "vault.raw.sat_customer_details"
SO = "vault.raw.sat_order_details"
SP = "vault.raw.sat_product_details"
SOP = "vault.raw.sat_order_product"

_LOAD = [("load_dts", "timestamp(6)"), ("record_source", "varchar")]
_SAT = [("load_dts", "timestamp(6)"), ("hash_diff", "varchar"), ("record_source", "varchar")]
_VAULT_TABLES: list[tuple[str, list[tuple[str, str]]]] = [
    (HC, [("customer_hk", "varchar"), ("customer_bk", "varchar"), *_LOAD]),
    (HO, [("order_hk", "varchar"), ("order_bk", "varchar"), *_LOAD]),
    (HP, [("product_hk", "varchar"), ("product_bk", "varchar"), *_LOAD]),
    (
        LOC,
        [
            ("link_order_customer_hk", "varchar"),
            ("order_hk", "varchar"),
            ("customer_hk", "varchar"),
            *_LOAD,
        ],
    ),
    (
        LOP,
        [
            ("link_order_product_hk", "varchar"),
            ("order_hk", "varchar"),
            ("product_hk", "varchar"),
            *_LOAD,
        ],
    ),
    (
        SC,
        [
            ("customer_hk", "varchar"),
            *_SAT,
            ("first_name", "varchar"),
            ("last_name", "varchar"),
            ("email", "varchar"),
            ("country", "varchar"),
            ("city", "varchar"),
            ("segment", "varchar"),
            ("birth_date", "date"),
            ("is_active", "boolean"),
        ],
    ),
    (
        SO,
        [
            ("order_hk", "varchar"),
            *_SAT,
            ("order_ts", "timestamp(6)"),
            ("order_date", "date"),
            ("status", "varchar"),
            ("channel", "varchar"),
            ("currency", "varchar"),
            ("payment_method", "varchar"),
            ("total_amount", "decimal(12, 2)"),
            ("shipping_amount", "decimal(10, 2)"),
        ],
    ),
    (
        SP,
        [
            ("product_hk", "varchar"),
            *_SAT,
            ("product_name", "varchar"),
            ("category", "varchar"),
            ("brand", "varchar"),
            ("list_price", "decimal(10, 2)"),
            ("is_active", "boolean"),
        ],
    ),
    (
        SOP,
        [
            ("link_order_product_hk", "varchar"),
            *_SAT,
            ("quantity", "integer"),
            ("unit_price", "decimal(10, 2)"),
            ("discount_amount", "decimal(10, 2)"),
        ],
    ),
]


def _vault_ddl() -> list[str]:
    return [f"CREATE TABLE {name} ({_columns(columns)})" for name, columns in _VAULT_TABLES]


def _v_customers_country(r: Rng) -> str:
    return f"""SELECT sc.country, sc.segment, count(*) AS customers
        FROM {HC} h JOIN {_latest(SC, "customer_hk", "country, segment, is_active", "sc")}
        ON sc.customer_hk = h.customer_hk
        WHERE sc.rn = 1 AND sc.is_active = true GROUP BY sc.country, sc.segment"""


def _v_revenue_month_country(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT date_trunc('month', so.order_date) AS month, sc.country,
        count(*) AS orders, sum(so.total_amount) AS revenue
        FROM {HO} ho
        JOIN {_latest(SO, "order_hk", "order_date, status, total_amount", "so")}
        ON so.order_hk = ho.order_hk AND so.rn = 1
        JOIN {LOC} l ON l.order_hk = ho.order_hk
        JOIN {HC} hc ON hc.customer_hk = l.customer_hk
        JOIN {_latest(SC, "customer_hk", "country", "sc")}
        ON sc.customer_hk = hc.customer_hk AND sc.rn = 1
        WHERE so.order_date >= DATE '{year}-01-01' AND so.order_date < DATE '{year + 1}-01-01'
        AND so.status <> 'cancelled'
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _v_category_revenue(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT sp.category, sp.brand, sum(sl.quantity) AS units,
        sum(sl.quantity * sl.unit_price) AS revenue
        FROM {LOP} l
        JOIN {_latest(SOP, "link_order_product_hk", "quantity, unit_price", "sl")}
        ON sl.link_order_product_hk = l.link_order_product_hk AND sl.rn = 1
        JOIN {HP} hp ON hp.product_hk = l.product_hk
        JOIN {_latest(SP, "product_hk", "category, brand", "sp")}
        ON sp.product_hk = hp.product_hk AND sp.rn = 1
        JOIN {_latest(SO, "order_hk", "order_date, status", "so")}
        ON so.order_hk = l.order_hk AND so.rn = 1
        WHERE so.order_date BETWEEN {_d(first)} AND {_d(last)}
        AND so.status IN ('shipped', 'delivered')
        GROUP BY sp.category, sp.brand ORDER BY revenue DESC, sp.category, sp.brand"""


def _v_cancelled(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT s.order_hk, s.order_date, s.channel, s.total_amount
        FROM {SO} s JOIN (SELECT order_hk, max(load_dts) AS max_load_dts FROM {SO}
        GROUP BY order_hk) m ON s.order_hk = m.order_hk AND s.load_dts = m.max_load_dts
        WHERE s.status = 'cancelled'
        AND s.order_date >= {_d(first)} AND s.order_date < {_d(stop)}"""


def _v_customer_bk(r: Rng) -> str:
    return f"""SELECT h.customer_bk, s.load_dts, s.first_name, s.last_name, s.email,
        s.country, s.segment
        FROM {HC} h JOIN {SC} s ON s.customer_hk = h.customer_hk
        WHERE h.customer_bk = 'C-{r.randint(1, 2_000_000):07d}'
        ORDER BY s.load_dts DESC, s.hash_diff"""


def _v_order_bk(r: Rng) -> str:
    return f"""SELECT h.order_bk, s.status, s.total_amount, s.order_ts, s.load_dts
        FROM {HO} h JOIN {SO} s ON s.order_hk = h.order_hk
        WHERE h.order_bk = 'O-{r.randint(1, 50_000_000):09d}'
        ORDER BY s.load_dts DESC, s.hash_diff LIMIT 1"""


def _v_segment_channel(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT sc.segment, so.channel, count(DISTINCT ho.order_hk) AS orders,
        sum(so.total_amount) AS revenue
        FROM {HO} ho
        JOIN {_latest(SO, "order_hk", "order_date, channel, total_amount", "so")}
        ON so.order_hk = ho.order_hk
        JOIN {LOC} l ON l.order_hk = ho.order_hk
        JOIN {_latest(SC, "customer_hk", "segment", "sc")} ON sc.customer_hk = l.customer_hk
        WHERE so.rn = 1 AND sc.rn = 1 AND so.order_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY sc.segment, so.channel"""


def _v_loads(r: Rng) -> str:
    last = _day(r)
    return f"""SELECT record_source, CAST(load_dts AS date) AS load_date, count(*) AS loaded
        FROM {HC} WHERE load_dts >= {_ts(last - timedelta(days=6))}
        AND load_dts < {_ts(last + timedelta(days=1))}
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _v_churn(r: Rng) -> str:
    return f"""SELECT customer_hk, count(*) AS versions,
        count(DISTINCT hash_diff) AS distinct_versions,
        min(load_dts) AS first_load, max(load_dts) AS last_load
        FROM {SC} GROUP BY customer_hk HAVING count(*) > {r.randint(3, 6)}
        ORDER BY versions DESC, customer_hk LIMIT 100"""


def _v_top_products(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT hp.product_bk, sp.product_name, sum(sl.quantity) AS units
        FROM {HP} hp JOIN {LOP} l ON l.product_hk = hp.product_hk
        JOIN {_latest(SOP, "link_order_product_hk", "quantity", "sl")}
        ON sl.link_order_product_hk = l.link_order_product_hk AND sl.rn = 1
        JOIN {_latest(SP, "product_hk", "product_name", "sp")}
        ON sp.product_hk = hp.product_hk AND sp.rn = 1
        JOIN {_latest(SO, "order_hk", "order_date", "so")} ON so.order_hk = l.order_hk AND so.rn = 1
        WHERE so.order_date >= {_d(first)} AND so.order_date < {_d(stop)}
        GROUP BY hp.product_bk, sp.product_name ORDER BY units DESC, hp.product_bk LIMIT 20"""


def _v_no_orders(r: Rng) -> str:
    return f"""SELECT h.customer_bk, h.load_dts
        FROM {HC} h LEFT JOIN {LOC} l ON l.customer_hk = h.customer_hk
        WHERE l.link_order_customer_hk IS NULL AND h.load_dts < {_ts(_day(r))}
        ORDER BY h.customer_bk"""


def _v_aov(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT sc.country, so.status, count(*) AS orders,
        avg(so.total_amount) AS avg_order_value
        FROM {LOC} l
        JOIN {_latest(SO, "order_hk", "order_date, status, total_amount", "so")}
        ON so.order_hk = l.order_hk AND so.rn = 1
        JOIN {_latest(SC, "customer_hk", "country", "sc")}
        ON sc.customer_hk = l.customer_hk AND sc.rn = 1
        WHERE so.order_date >= {_d(first)} AND so.order_date < {_d(stop)}
        GROUP BY sc.country, so.status"""


def _v_point_in_time(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT country, count(*) AS customers
        FROM (SELECT customer_hk, country, row_number() OVER (PARTITION BY customer_hk
        ORDER BY load_dts DESC, hash_diff DESC) AS rn FROM {SC}
        WHERE load_dts <= TIMESTAMP '{year}-06-30 23:59:59.999999') t
        WHERE rn = 1 GROUP BY country ORDER BY customers DESC, country"""


def _v_customer_export(r: Rng) -> str:
    columns = "first_name, last_name, email, country, city, segment, birth_date"
    return f"""SELECT h.customer_bk, s.first_name, s.last_name, s.email, s.country, s.city,
        s.segment, s.birth_date
        FROM {HC} h JOIN {_latest(SC, "customer_hk", columns, "s")}
        ON s.customer_hk = h.customer_hk WHERE s.rn = 1"""


def _v_brand_month(r: Rng) -> str:
    year = _year(r)
    return f"""SELECT date_trunc('month', so.order_date) AS month, sp.brand,
        sum(sl.quantity * sl.unit_price) AS revenue
        FROM {HO} ho JOIN {LOP} l ON l.order_hk = ho.order_hk
        JOIN {_latest(SO, "order_hk", "order_date", "so")} ON so.order_hk = ho.order_hk
        JOIN {_latest(SOP, "link_order_product_hk", "quantity, unit_price", "sl")}
        ON sl.link_order_product_hk = l.link_order_product_hk
        JOIN {_latest(SP, "product_hk", "brand", "sp")} ON sp.product_hk = l.product_hk
        WHERE so.rn = 1 AND sl.rn = 1 AND sp.rn = 1
        AND so.order_date >= DATE '{year}-01-01' AND so.order_date < DATE '{year + 1}-01-01'
        GROUP BY 1, 2 ORDER BY 1, 2"""


def _v_status_counts(r: Rng) -> str:
    first, last = _quarter(r)
    return f"""SELECT s.status, count(*) AS orders, sum(s.total_amount) AS amount
        FROM {SO} s
        WHERE s.load_dts = (SELECT max(x.load_dts) FROM {SO} x WHERE x.order_hk = s.order_hk)
        AND s.order_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY s.status"""


def _v_orphans(r: Rng) -> str:
    return f"""SELECT l.record_source, count(*) AS links_without_details
        FROM {LOP} l LEFT JOIN {SO} s ON s.order_hk = l.order_hk
        WHERE s.order_hk IS NULL GROUP BY l.record_source"""


def _v_repeat_customers(r: Rng) -> str:
    year = _year(r)
    return f"""WITH per_customer AS (SELECT l.customer_hk, count(DISTINCT l.order_hk) AS n
        FROM {LOC} l JOIN {_latest(SO, "order_hk", "order_date", "so")}
        ON so.order_hk = l.order_hk AND so.rn = 1
        WHERE so.order_date >= DATE '{year}-01-01' AND so.order_date < DATE '{year + 1}-01-01'
        GROUP BY l.customer_hk)
        SELECT sc.segment, count_if(o.n >= 2) AS repeat_customers, count(*) AS customers
        FROM per_customer o JOIN {_latest(SC, "customer_hk", "segment", "sc")}
        ON sc.customer_hk = o.customer_hk AND sc.rn = 1
        GROUP BY sc.segment"""


def _v_product_lookup(r: Rng) -> str:
    return f"""SELECT h.product_bk, s.product_name, s.category, s.brand, s.list_price
        FROM {HP} h JOIN {SP} s ON s.product_hk = h.product_hk
        WHERE h.product_bk = 'P-{r.randint(1, 200_000):06d}'
        AND s.load_dts = (SELECT max(x.load_dts) FROM {SP} x WHERE x.product_hk = h.product_hk)"""


_VAULT: list[Template] = [
    ("customers-country", "hot", _v_customers_country),
    ("revenue-month-country", "hot", _v_revenue_month_country),
    ("category-revenue", "hot", _v_category_revenue),
    ("cancelled-orders", "warm", _v_cancelled),
    ("customer-bk", "lookup", _v_customer_bk),
    ("order-bk", "lookup", _v_order_bk),
    ("segment-channel", "warm", _v_segment_channel),
    ("hub-loads", "warm", _v_loads),
    ("customer-churn", "rare", _v_churn),
    ("top-products", "warm", _v_top_products),
    ("customers-without-orders", "rare", _v_no_orders),
    ("aov-country-status", "warm", _v_aov),
    ("point-in-time", "warm", _v_point_in_time),
    ("customer-export", "cold", _v_customer_export),
    ("brand-month", "warm", _v_brand_month),
    ("status-counts", "warm", _v_status_counts),
    ("orphan-links", "rare", _v_orphans),
    ("repeat-customers", "warm", _v_repeat_customers),
    ("product-lookup", "lookup", _v_product_lookup),
]

# -- events: a clickstream and its users --------------------------------------------------------

E = "logs.app.events"
U = "logs.app.users"
_EVENT_COLUMNS = [
    ("event_id", "bigint"),
    ("user_id", "bigint"),
    ("session_id", "varchar"),
    ("event_ts", "timestamp(6)"),
    ("event_date", "date"),
    ("event_type", "varchar"),
    ("page", "varchar"),
    ("referrer", "varchar"),
    ("country", "varchar"),
    ("device", "varchar"),
    ("os", "varchar"),
    ("browser", "varchar"),
    ("app_version", "varchar"),
    ("utm_source", "varchar"),
    ("utm_campaign", "varchar"),
    ("experiment_variant", "varchar"),
    ("duration_ms", "integer"),
    ("revenue", "decimal(10, 2)"),
    ("currency", "varchar"),
    ("is_bot", "boolean"),
    ("ingested_at", "timestamp(6)"),
]
_USER_COLUMNS = [
    ("user_id", "bigint"),
    ("email", "varchar"),
    ("signup_ts", "timestamp(6)"),
    ("signup_date", "date"),
    ("country", "varchar"),
    ("plan", "varchar"),
    ("acquisition_channel", "varchar"),
    ("is_employee", "boolean"),
    ("birth_year", "integer"),
]


def _events_ddl() -> list[str]:
    return [
        f"CREATE TABLE {E} ({_columns(_EVENT_COLUMNS)}) WITH (format = 'PARQUET')",
        f"CREATE TABLE {U} ({_columns(_USER_COLUMNS)})",
    ]


def _week(r: Rng) -> tuple[date, date]:
    """The last seven days up to a day (closed range)."""
    last = _day(r)
    return last - timedelta(days=6), last


def _e_hourly(r: Rng) -> str:
    day = _day(r)
    return f"""SELECT date_trunc('hour', event_ts) AS hour, count(*) AS events,
        count(DISTINCT user_id) AS users, count(DISTINCT session_id) AS sessions
        FROM {E} WHERE event_ts >= {_ts(day)} AND event_ts < {_ts(day + timedelta(days=1))}
        AND is_bot = false GROUP BY 1 ORDER BY 1"""


def _e_funnel_week(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT count(DISTINCT session_id) AS sessions,
        count_if(event_type = 'product_view') AS product_views,
        count_if(event_type = 'add_to_cart') AS add_to_carts,
        count_if(event_type = 'checkout') AS checkouts,
        count_if(event_type = 'purchase') AS purchases, sum(revenue) AS revenue
        FROM {E} WHERE event_date BETWEEN {_d(first)} AND {_d(last)} AND is_bot = false"""


def _e_top_pages(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT page, count(*) AS views, count(DISTINCT user_id) AS users,
        avg(duration_ms) AS avg_ms
        FROM {E} WHERE event_type = 'page_view' AND event_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY page ORDER BY views DESC, page LIMIT 20"""


def _e_user_timeline(r: Rng) -> str:
    return f"""SELECT event_ts, event_type, page, device, revenue
        FROM {E} WHERE user_id = {r.randint(1, 5_000_000)}
        ORDER BY event_ts DESC, event_id DESC LIMIT 100"""


def _e_dau(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT event_date, count(DISTINCT user_id) AS dau
        FROM {E} WHERE event_date >= {_d(first)} AND event_date < {_d(stop)} AND is_bot = false
        GROUP BY event_date ORDER BY event_date"""


def _e_revenue_country(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT country, currency, count(*) AS purchases, sum(revenue) AS revenue
        FROM {E} WHERE event_type = 'purchase'
        AND event_date >= {_d(first)} AND event_date < {_d(stop)}
        GROUP BY country, currency ORDER BY revenue DESC, country, currency"""


def _e_device_os(r: Rng) -> str:
    return f"""SELECT device, os, count(*) AS events, avg(duration_ms) AS avg_ms,
        max(duration_ms) AS max_ms
        FROM {E} WHERE event_date = {_d(_day(r))} GROUP BY device, os"""


def _e_hour_of_day(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT hour(event_ts) AS hour_of_day, count(*) AS events,
        count_if(event_type = 'purchase') AS purchases
        FROM {E} WHERE event_ts >= {_ts(first)} AND event_ts < {_ts(stop)} AND is_bot = false
        GROUP BY hour(event_ts) ORDER BY hour_of_day"""


def _e_signup_referrers(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT referrer, count(*) AS signups
        FROM {E} WHERE event_type = 'signup' AND event_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY referrer ORDER BY signups DESC, referrer LIMIT 20"""


def _e_purchases_by_plan(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT u.plan, u.country, count(*) AS purchases, sum(e.revenue) AS revenue,
        count(DISTINCT e.user_id) AS buyers
        FROM {E} e JOIN {U} u ON u.user_id = e.user_id
        WHERE e.event_type = 'purchase' AND e.event_date >= {_d(first)}
        AND e.event_date < {_d(stop)} AND u.is_employee = false
        GROUP BY u.plan, u.country"""


def _e_funnel_device(r: Rng) -> str:
    first, last = _week(r)
    return f"""WITH s AS (SELECT session_id, min(device) AS device,
        bool_or(event_type = 'add_to_cart') AS added,
        bool_or(event_type = 'checkout') AS checked_out,
        bool_or(event_type = 'purchase') AS purchased
        FROM {E} WHERE event_date BETWEEN {_d(first)} AND {_d(last)} AND is_bot = false
        GROUP BY session_id)
        SELECT device, count(*) AS sessions, count_if(added) AS added,
        count_if(checked_out) AS checked_out, count_if(purchased) AS purchased
        FROM s GROUP BY device ORDER BY device"""


def _e_session_lookup(r: Rng) -> str:
    return f"""SELECT event_ts, event_type, page, duration_ms
        FROM {E} WHERE session_id = 's-{r.getrandbits(48):012x}'
        ORDER BY event_ts, event_id"""


def _e_experiment(r: Rng) -> str:
    last = _day(r)
    return f"""SELECT experiment_variant, count(DISTINCT session_id) AS sessions,
        count_if(event_type = 'purchase') AS purchases, sum(revenue) AS revenue
        FROM {E} WHERE event_date BETWEEN {_d(last - timedelta(days=13))} AND {_d(last)}
        AND experiment_variant IS NOT NULL GROUP BY experiment_variant"""


def _e_retention(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT u.signup_date, count(DISTINCT u.user_id) AS signups,
        count(DISTINCT e.user_id) AS retained
        FROM {U} u LEFT JOIN {E} e ON e.user_id = u.user_id
        AND e.event_date >= {_d(stop)} AND e.event_date < {_d(_next_month(stop))}
        WHERE u.signup_date >= {_d(first)} AND u.signup_date < {_d(stop)}
        GROUP BY u.signup_date ORDER BY u.signup_date"""


def _e_export_day(r: Rng) -> str:
    return f"SELECT * FROM {E} WHERE event_date = {_d(_day(r))}"


def _e_campaigns(r: Rng) -> str:
    first, stop = _month(r)
    return f"""SELECT utm_source, utm_campaign, count(DISTINCT session_id) AS sessions,
        count_if(event_type = 'signup') AS signups, sum(revenue) AS revenue
        FROM {E} WHERE event_date >= {_d(first)} AND event_date < {_d(stop)}
        AND utm_campaign IS NOT NULL
        GROUP BY utm_source, utm_campaign ORDER BY sessions DESC, utm_source, utm_campaign
        LIMIT 50"""


def _e_slow_pages(r: Rng) -> str:
    return f"""SELECT page, device, count(*) AS views, avg(duration_ms) AS avg_ms,
        max(duration_ms) AS max_ms
        FROM {E} WHERE event_type = 'page_view' AND event_date = {_d(_day(r))}
        GROUP BY page, device HAVING count(*) > 100 ORDER BY avg_ms DESC, page, device"""


def _e_bots(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT country, count_if(is_bot) AS bot_events, count(*) AS events
        FROM {E} WHERE event_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY country ORDER BY bot_events DESC, country"""


def _e_sessions_per_user(r: Rng) -> str:
    first, last = _week(r)
    return f"""WITH per_user AS (SELECT user_id, count(DISTINCT session_id) AS sessions
        FROM {E} WHERE event_date BETWEEN {_d(first)} AND {_d(last)} AND user_id IS NOT NULL
        GROUP BY user_id)
        SELECT sessions, count(*) AS users FROM per_user GROUP BY sessions ORDER BY sessions"""


def _e_new_vs_returning(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT e.event_date,
        count(DISTINCT CASE WHEN u.signup_date = e.event_date THEN e.user_id END) AS new_users,
        count(DISTINCT e.user_id) AS active_users
        FROM {E} e LEFT JOIN {U} u ON u.user_id = e.user_id
        WHERE e.event_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY e.event_date ORDER BY e.event_date"""


def _e_app_versions(r: Rng) -> str:
    first, last = _week(r)
    return f"""SELECT app_version, os, count(DISTINCT user_id) AS users,
        count_if(event_type = 'error') AS errors
        FROM {E} WHERE device = 'mobile' AND event_date BETWEEN {_d(first)} AND {_d(last)}
        GROUP BY app_version, os ORDER BY errors DESC, app_version, os"""


def _e_user_profile(r: Rng) -> str:
    return f"SELECT * FROM {U} WHERE user_id = {r.randint(1, 5_000_000)}"


_EVENTS: list[Template] = [
    ("hourly-day", "hot", _e_hourly),
    ("funnel-week", "hot", _e_funnel_week),
    ("top-pages-week", "hot", _e_top_pages),
    ("user-timeline", "lookup", _e_user_timeline),
    ("dau-month", "warm", _e_dau),
    ("revenue-country", "warm", _e_revenue_country),
    ("device-os-day", "warm", _e_device_os),
    ("hour-of-day", "warm", _e_hour_of_day),
    ("signup-referrers", "warm", _e_signup_referrers),
    ("purchases-by-plan", "warm", _e_purchases_by_plan),
    ("funnel-device", "warm", _e_funnel_device),
    ("session-lookup", "lookup", _e_session_lookup),
    ("experiment", "warm", _e_experiment),
    ("retention", "rare", _e_retention),
    ("export-day", "cold", _e_export_day),
    ("campaigns", "warm", _e_campaigns),
    ("slow-pages", "warm", _e_slow_pages),
    ("bots", "rare", _e_bots),
    ("sessions-per-user", "warm", _e_sessions_per_user),
    ("new-vs-returning", "warm", _e_new_vs_returning),
    ("app-versions", "warm", _e_app_versions),
    ("user-profile", "lookup", _e_user_profile),
]

# -- assembly -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    prefix: str
    host: str
    catalog: str
    schema: str
    ddl: Callable[[], list[str]]
    templates: list[Template]


SHAPES: dict[str, _Shape] = {
    "wide": _Shape("w", "trino.example.com", "lake", "web", _wide_ddl, _WIDE),
    "star": _Shape("s", "bi-trino.example.com", "dw", "sales", _star_ddl, _STAR),
    "vault": _Shape("v", "trino.dwh.example.com", "vault", "raw", _vault_ddl, _VAULT),
    "events": _Shape("e", "analytics.example.com", "logs", "app", _events_ddl, _EVENTS),
}


def _log_uniform(r: Rng, low: int, high: int) -> int:
    return max(low, min(high, round(math.exp(r.uniform(math.log(low), math.log(high))))))


def _pick(r: Rng, templates: list[Template], count: int) -> list[tuple[Template, int]]:
    """`count` templates with their round (0 the first time a pattern is used).

    Fewer than the shape has: every hot pattern and a seeded sample of the others, in their
    usual order. More: the patterns again, with new literals, round after round.
    """
    if count <= len(templates):
        hot = [i for i, t in enumerate(templates) if t[1] == "hot"]
        rest = [i for i, t in enumerate(templates) if t[1] != "hot"]
        r.shuffle(rest)
        chosen = sorted((hot + rest)[:count])
        return [(templates[i], 0) for i in chosen]
    return [(templates[i % len(templates)], i // len(templates)) for i in range(count)]


def workload(shape: str, seed: int = 0, queries: int | None = None) -> dict[str, Any]:
    """The workload of `shape` as the JSON body of POST /new: url, ddl, queries."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    spec = SHAPES[shape]
    count = len(spec.templates) if queries is None else queries
    if count < 1:
        raise ValueError("queries must be at least 1")
    r = random.Random(seed)
    body = []
    for (name, tier, make), round_ in _pick(r, spec.templates, count):
        (runs_low, runs_high), (secs_low, secs_high) = _TIERS[tier]
        body.append(
            {
                "queryid": f"{spec.prefix}-{name}" + (f"-{round_ + 1}" if round_ else ""),
                "query": _sql(make(r)),
                "runquantity": _log_uniform(r, runs_low, runs_high),
                "executiontime": _log_uniform(r, secs_low, secs_high),
            }
        )
    return {
        "url": f"jdbc:trino://{spec.host}:8080?catalog={spec.catalog}&schema={spec.schema}",
        "ddl": [{"statement": s} for s in spec.ddl()],
        "queries": body,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=None, help="default: every pattern once")
    args = parser.parse_args(argv)
    if args.queries is not None and args.queries < 1:
        parser.error("--queries must be at least 1")
    json.dump(workload(args.shape, args.seed, args.queries), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
