"""Aggregates against independent SQL over the staged tables; late events refresh the funnel."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.transforms.aggregates import (
    build_agg_customer_lifetime,
    build_agg_daily_sales,
)

from .conftest import START, definitions, query

DAYS = 4  # generated; the first build sees only DAYS - 1 of them
CENT = Decimal("0.01")
UPSTREAM = ["group:raw", "group:staging", "group:dimensions", "group:facts"]


def link_days(source: Path, target: Path, days: int) -> None:
    target.mkdir(exist_ok=True)
    for i in range(days):
        folder = (START + timedelta(days=i)).isoformat()
        if not (target / folder).exists():
            (target / folder).symlink_to(source / folder, target_is_directory=True)


class Build:
    """A warehouse built from the first DAYS - 1 deliveries, able to receive the last one."""

    def __init__(self, root: Path) -> None:
        self.source = root / "generated"
        generate_landing_zone(
            self.source, seed=5, scale=0.6, start=START, days=DAYS, rates={"late_event": 0.2}
        )
        self.landing = root / "landing"
        self.warehouse = root / "wh.duckdb"
        link_days(self.source, self.landing, DAYS - 1)
        materialize_days(self.defs(), START, START + timedelta(days=DAYS - 2))

    def defs(self) -> dg.Definitions:
        return definitions(self.landing, self.warehouse)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return Build(tmp_path_factory.mktemp("aggregates"))


def staged_orders(warehouse: Path) -> list[dict]:
    """Orders with totals recomputed in Python Decimal from the staged lines."""
    lines = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for day, order_id, qty, price, disc in query(
        warehouse,
        "SELECT delivery_date, order_id, quantity, unit_price, discount "
        "FROM staging.stg_order_items",
    ):
        agg = lines[(day, order_id)]
        agg[0] += qty
        agg[1] += qty * price
        agg[2] += (qty * price * (1 - disc)).quantize(CENT, rounding=ROUND_HALF_UP)
    out = []
    for day, order_id, user_id, ts, status, shipping in query(
        warehouse,
        "SELECT delivery_date, order_id, user_id, order_ts, status, shipping_amount "
        "FROM staging.stg_orders",
    ):
        units, gross, net_lines = lines[(day, order_id)]
        out.append(
            {
                "date": ts.date(),
                "delivery_date": day,
                "order_id": order_id,
                "user_id": user_id,
                "ts": ts,
                "status": status,
                "units": units,
                "gross": gross,
                "discount": gross - net_lines,
                "shipping": shipping,
                "net": net_lines + shipping,
            }
        )
    return out


def test_daily_sales_matches_staged_orders(build: Build) -> None:
    orders = staged_orders(build.warehouse)
    first_order: dict[int, date] = {}
    for o in sorted(orders, key=lambda o: o["ts"]):
        if o["status"] != "cancelled":
            first_order.setdefault(o["user_id"], o["date"])
    rows = query(build.warehouse, "SELECT * FROM marts.agg_daily_sales ORDER BY business_date")
    cols = [r[0] for r in query(build.warehouse, "DESCRIBE marts.agg_daily_sales")]
    assert [r[0] for r in rows] == [START + timedelta(days=i) for i in range(DAYS - 1)]
    for row in rows:
        got = dict(zip(cols, row, strict=True))
        day = got["business_date"]
        today = [o for o in orders if o["date"] == day]
        kept = [o for o in today if o["status"] != "cancelled"]
        customers = {o["user_id"] for o in kept}
        new = {u for u in customers if first_order[u] == day}
        net = sum((o["net"] for o in kept), Decimal(0))
        expected = {
            "orders": len(today),
            "cancelled_orders": sum(o["status"] == "cancelled" for o in today),
            "returned_orders": sum(o["status"] == "returned" for o in today),
            "units": sum(o["units"] for o in kept),
            "gross_sales": sum((o["gross"] for o in kept), Decimal(0)),
            "discounts": sum((o["discount"] for o in kept), Decimal(0)),
            "shipping": sum((o["shipping"] for o in kept), Decimal(0)),
            "net_revenue": net,
            "average_order_value": (net / len(kept)).quantize(CENT, rounding=ROUND_HALF_UP),
            "unique_customers": len(customers),
            "new_customers": len(new),
            "returning_customers": len(customers) - len(new),
        }
        assert {k: got[k] for k in expected} == expected, day
        assert got["cancellation_rate"] == pytest.approx(expected["cancelled_orders"] / len(today))
        assert got["return_rate"] == pytest.approx(expected["returned_orders"] / len(today))


def test_customer_lifetime_matches_staged_orders(build: Build) -> None:
    orders = [o for o in staged_orders(build.warehouse) if o["status"] != "cancelled"]
    as_of = max(o["delivery_date"] for o in staged_orders(build.warehouse))
    by_user: dict[int, list[dict]] = defaultdict(list)
    for o in orders:
        by_user[o["user_id"]].append(o)
    rows = query(
        build.warehouse,
        "SELECT user_id, first_order_ts, last_order_ts, orders, revenue, average_order_value, "
        "as_of_date, days_since_last_order, is_active, ltv_estimate FROM "
        "marts.agg_customer_lifetime",
    )
    assert len(rows) == len(by_user)
    for user_id, first, last, n, revenue, aov, as_of_date, days, active, ltv in rows:
        mine = by_user[user_id]
        total = sum((o["net"] for o in mine), Decimal(0))
        expected_aov = (total / len(mine)).quantize(CENT, rounding=ROUND_HALF_UP)
        first_ts, last_ts = min(o["ts"] for o in mine), max(o["ts"] for o in mine)
        assert (first, last, n, revenue, aov) == (first_ts, last_ts, len(mine), total, expected_aov)
        assert as_of_date == as_of and days == (as_of - last_ts.date()).days and active
        tenure = max((as_of - first_ts.date()).days + 1, 365)
        rate = (expected_aov * len(mine) * 365 / tenure).quantize(CENT, rounding=ROUND_HALF_UP)
        assert ltv == total + rate


def test_product_performance_matches_staged_lines(build: Build) -> None:
    expected = query(
        build.warehouse,
        """
        SELECT i.product_id, sum(i.quantity),
            sum(round(i.quantity * i.unit_price * (1 - i.discount), 2)),
            count(DISTINCT i.order_id),
            count(DISTINCT i.order_id) FILTER (o.status = 'returned')
        FROM staging.stg_order_items i
        JOIN staging.stg_orders o USING (delivery_date, order_id)
        WHERE o.status <> 'cancelled'
        GROUP BY 1
        """,
    )
    got = {
        r[0]: r[1:]
        for r in query(
            build.warehouse,
            "SELECT product_id, units, revenue, orders, return_rate, category_rank, category "
            "FROM marts.agg_product_performance",
        )
    }
    known = {r[0] for r in query(build.warehouse, "SELECT product_id FROM marts.dim_products")}
    unknown = [0, Decimal(0), 0, 0]
    for product_id, units, revenue, orders, returned in expected:
        if product_id in known:
            assert got[product_id][:3] == (units, revenue, orders), product_id
            assert got[product_id][3] == pytest.approx(returned / orders)
        else:  # orphan lines are summed on the unknown member
            unknown = [unknown[0] + units, unknown[1] + revenue, unknown[2] + orders, 0]
    assert got[-1][:3] == tuple(unknown[:3])
    ratings = query(
        build.warehouse,
        "SELECT product_id, avg(rating), count(*) FROM staging.stg_reviews "
        "WHERE product_id IN (SELECT product_id FROM marts.dim_products) GROUP BY 1",
    )
    perf = {
        r[0]: r[1:]
        for r in query(
            build.warehouse,
            "SELECT product_id, average_rating, review_count FROM marts.agg_product_performance",
        )
    }
    for product_id, avg, count in ratings:
        assert perf[product_id][0] == pytest.approx(avg) and perf[product_id][1] == count
    # rank 1 of each category has the category's top revenue
    tops = query(
        build.warehouse,
        "SELECT category, max(revenue) FILTER (category_rank = 1) = max(revenue) "
        "FROM marts.agg_product_performance GROUP BY 1",
    )
    assert all(ok for _, ok in tops)


FUNNEL_SQL = """
    SELECT count(DISTINCT session_id),
        count(DISTINCT session_id) FILTER (event_type = 'product_view'),
        count(DISTINCT session_id) FILTER (event_type = 'add_to_cart'),
        count(DISTINCT session_id) FILTER (event_type = 'checkout'),
        count(DISTINCT session_id) FILTER (event_type = 'purchase'),
        count(*) FILTER (CAST(event_ts AS DATE) < delivery_date)
    FROM staging.stg_events WHERE CAST(event_ts AS DATE) = DATE '{day}'
"""
FUNNEL_COLS = (
    "sessions, product_view_sessions, add_to_cart_sessions, checkout_sessions, "
    "purchase_sessions, late_events"
)


def funnel(warehouse: Path, day: date) -> tuple:
    rows = query(
        warehouse,
        f"SELECT {FUNNEL_COLS} FROM marts.agg_conversion_funnel WHERE business_date = '{day}'",
    )
    return rows[0]


def test_funnel_matches_staged_events(build: Build) -> None:
    for i in range(DAYS - 2):  # days whose next delivery is in
        day = START + timedelta(days=i)
        assert funnel(build.warehouse, day) == query(build.warehouse, FUNNEL_SQL.format(day=day))[0]
    rates = query(
        build.warehouse,
        "SELECT count(*) FROM marts.agg_conversion_funnel WHERE "
        "abs(overall_conversion_rate - purchase_sessions / sessions) > 1e-12 OR "
        "abs(cart_rate - add_to_cart_sessions / product_view_sessions) > 1e-12",
    )
    assert rates == [(0,)]


def test_late_event_moves_yesterdays_funnel(build: Build) -> None:
    yesterday = START + timedelta(days=DAYS - 2)
    today = yesterday + timedelta(days=1)
    before = funnel(build.warehouse, yesterday)
    assert before[-1] == 0, "no late events for the last day before its next delivery lands"

    link_days(build.source, build.landing, DAYS)
    defs = build.defs()
    # the partition mapping: funnel[yesterday] reads fact_events of yesterday and today
    funnel_def = defs.resolve_assets_def("agg_conversion_funnel")
    mapping = funnel_def.get_partition_mapping(dg.AssetKey("fact_events"))
    upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
        funnel_def.partitions_def.subset_with_partition_keys([yesterday.isoformat()]),
        funnel_def.partitions_def,
        funnel_def.partitions_def,
    ).partitions_subset.get_partition_keys()
    assert sorted(upstream) == [yesterday.isoformat(), today.isoformat()]

    # today's delivery lands: load it, then refresh only yesterday's funnel partition
    materialize_days(defs, today, today, selection=UPSTREAM)
    materialize_days(defs, yesterday, yesterday, selection="key:agg_conversion_funnel")
    after = funnel(build.warehouse, yesterday)
    assert after[-1] > 0
    assert after != before
    assert after == query(build.warehouse, FUNNEL_SQL.format(day=yesterday))[0]


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """fact_orders rows: (order_id, user_id, order_ts, status, net, delivery_date)."""
    return pd.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "user_id": [r[1] for r in rows],
            "user_sk": [0] * len(rows),
            "date_key": [int(r[2][:10].replace("-", "")) for r in rows],
            "payment_method_key": [1] * len(rows),
            "status": [r[3] for r in rows],
            "item_count": [1] * len(rows),
            "units": [1] * len(rows),
            "gross": [r[4] for r in rows],
            "discount": [0.0] * len(rows),
            "shipping": [0.0] * len(rows),
            "net": [r[4] for r in rows],
            "order_amount": [r[4] for r in rows],
            "is_amount_mismatch": [False] * len(rows),
            "order_ts": [pd.Timestamp(r[2]) for r in rows],
            "delivery_date": [pd.Timestamp(r[5]) for r in rows],
        }
    )


def test_customer_lifetime_rfm_and_exact_halves() -> None:
    rows = [
        # user 1: 6 orders, recent, big spender -> champions; AOV 100.05/2 style halves
        *[
            (i, 1, f"2024-06-{20 + i:02d} 10:00:00", "delivered", 150.01, "2024-06-30")
            for i in range(6)
        ],
        # user 2: one recent small order -> new
        (10, 2, "2024-06-29 10:00:00", "placed", 20.05, "2024-06-30"),
        # user 3: three old orders -> at_risk; one cancelled order does not count
        (11, 3, "2024-01-02 10:00:00", "delivered", 40.00, "2024-01-02"),
        (12, 3, "2024-01-03 10:00:00", "returned", 40.00, "2024-01-03"),
        (13, 3, "2024-01-04 10:00:00", "delivered", 40.01, "2024-01-04"),
        (14, 3, "2024-06-30 10:00:00", "cancelled", 99.00, "2024-06-30"),
        # user 4: only a cancelled order -> not a customer
        (15, 4, "2024-06-30 11:00:00", "cancelled", 10.00, "2024-06-30"),
        # user 5: two orders whose mean is a half cent: 100.05 / 2 = 50.025 -> 50.03
        (16, 5, "2024-05-01 10:00:00", "delivered", 100.00, "2024-05-01"),
        (17, 5, "2024-05-02 10:00:00", "delivered", 0.05, "2024-05-02"),
    ]
    users = pd.DataFrame({"user_sk": [0], "user_id": [-1], "is_current": [True]})
    out = build_agg_customer_lifetime(_orders(rows), users).set_index("user_id")
    assert sorted(out.index) == [1, 2, 3, 5]
    assert out.loc[1, "rfm_segment"] == "champions"
    assert (out.loc[1, "recency_score"], out.loc[1, "frequency_score"]) == (5, 5)
    assert out.loc[2, "rfm_segment"] == "new" and out.loc[2, "orders"] == 1
    assert out.loc[3, "rfm_segment"] == "at_risk" and out.loc[3, "orders"] == 3
    assert out.loc[3, "days_since_last_order"] == (date(2024, 6, 30) - date(2024, 1, 4)).days
    assert not out.loc[3, "is_active"] and out.loc[3, "ltv_estimate"] == Decimal("120.01")
    assert out.loc[5, "average_order_value"] == Decimal("50.03")
    # active: revenue + aov × orders × 365 / max(tenure, 365) = 100.05 + 50.03 × 2 = 200.11
    assert out.loc[5, "ltv_estimate"] == Decimal("200.11")
    # user 2: 20.05 + 20.05 × 1 × 365 / 365
    assert out.loc[2, "ltv_estimate"] == Decimal("40.10")


def test_daily_sales_average_rounds_half_up_and_days_without_orders_have_no_row() -> None:
    rows = [
        (1, 1, "2024-05-01 10:00:00", "delivered", 100.00, "2024-05-01"),
        (2, 2, "2024-05-01 11:00:00", "shipped", 0.05, "2024-05-01"),
        (3, 3, "2024-05-01 12:00:00", "cancelled", 7.00, "2024-05-01"),
        (4, 4, "2024-05-03 09:00:00", "cancelled", 9.00, "2024-05-03"),
    ]
    days = [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3), date(2024, 5, 4)]
    out = build_agg_daily_sales(_orders(rows), days)
    # 2 May and 4 May have no orders (not delivered, refused, not yet arrived): no row, not zeros.
    assert list(out["business_date"]) == [date(2024, 5, 1), date(2024, 5, 3)]
    first, cancelled = out.iloc[0], out.iloc[1]
    assert (first["orders"], first["cancelled_orders"], first["net_revenue"]) == (
        3,
        1,
        Decimal("100.05"),
    )
    assert first["average_order_value"] == Decimal("50.03") and first["new_customers"] == 2
    assert first["cancellation_rate"] == pytest.approx(1 / 3)
    # Only a cancelled order: no revenue, so no average; everything cancelled.
    assert cancelled["orders"] == 1 and pd.isna(cancelled["average_order_value"])
    assert cancelled["net_revenue"] == Decimal("0.00") and cancelled["cancellation_rate"] == 1.0
