"""Facts: exact money, counts and as-of links, checked against independent computations."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ecommerce_assets.checks.marts import FOREIGN_KEYS
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.transforms.dimensions import (
    build_dim_payment_method,
    build_dim_products,
    build_dim_users,
)
from ecommerce_assets.transforms.facts import build_fact_order_items, build_fact_orders

from .conftest import START, definitions, query

T = pd.Timestamp
DAYS = 6
CENT = Decimal("0.01")


def line_net(quantity: int, unit_price: Decimal, discount: Decimal) -> Decimal:
    return (quantity * unit_price * (1 - discount)).quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("facts")
    # Seed 19: two facts of these six days belong to users who change later in them (the as-of
    # test below is not vacuous).
    generate_landing_zone(
        root / "landing",
        seed=19,
        scale=0.6,
        start=START,
        days=DAYS,
        rates={"orphan_reference": 0.05, "inconsistent_total": 0.03},
    )
    defs = definitions(root / "landing", root / "wh.duckdb")
    materialize_days(
        defs,
        START,
        START + timedelta(days=DAYS - 1),
        selection=["group:raw", "group:staging", "group:dimensions", "group:facts"],
    )
    return root / "wh.duckdb"


def test_fact_orders_money_to_the_cent(warehouse: Path) -> None:
    lines = query(
        warehouse,
        "SELECT delivery_date, order_id, quantity, unit_price, discount "
        "FROM staging.stg_order_items",
    )
    expected: dict[tuple, list] = {}
    for day, order_id, qty, price, disc in lines:
        agg = expected.setdefault((day, order_id), [0, 0, Decimal(0), Decimal(0)])
        agg[0] += 1
        agg[1] += qty
        agg[2] += (qty * price).quantize(CENT)
        agg[3] += line_net(qty, price, disc)
    orders = query(
        warehouse,
        "SELECT delivery_date, order_id, shipping_amount, order_amount FROM staging.stg_orders",
    )
    facts = {
        (r[0], r[1]): r[2:]
        for r in query(
            warehouse,
            "SELECT delivery_date, order_id, item_count, units, gross, discount, shipping, net, "
            "order_amount, is_amount_mismatch FROM marts.fact_orders",
        )
    }
    assert len(facts) == len(orders) > 50
    mismatches = 0
    for day, order_id, shipping, amount in orders:
        count, units, gross, net_lines = expected.get(
            (day, order_id), [0, 0, Decimal(0), Decimal(0)]
        )
        net = net_lines + shipping
        mismatch = abs(amount - net) > CENT
        mismatches += mismatch
        assert facts[(day, order_id)] == (
            count,
            units,
            gross,
            gross - net_lines,
            shipping,
            net,
            amount,
            mismatch,
        ), (day, order_id)
    assert mismatches > 0, "the default defect rates should plant inconsistent totals"


def test_fact_order_items_lines_and_margin(warehouse: Path) -> None:
    staged = query(
        warehouse,
        "SELECT order_item_id, quantity, unit_price, discount FROM staging.stg_order_items",
    )
    facts = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "SELECT f.order_item_id, f.line_gross, f.line_discount, f.line_net, f.unit_cost, "
            "f.margin, p.cost FROM marts.fact_order_items AS f "
            "LEFT JOIN marts.dim_products AS p ON p.product_sk = f.product_sk",
        )
    }
    assert len(facts) == len(staged)
    for item_id, qty, price, disc in staged:
        gross, discount, net, unit_cost, margin, dim_cost = facts[item_id]
        expected_net = line_net(qty, price, disc)
        assert (gross, discount, net) == (
            (qty * price).quantize(CENT),
            gross - expected_net,
            expected_net,
        )
        assert unit_cost == dim_cost
        assert margin == (None if dim_cost is None else expected_net - qty * dim_cost)


# The version valid at ts; else the key's earliest version; else the unknown member (0).
ASOF = """coalesce(
    (SELECT d.{k}_sk FROM marts.dim_{t} AS d WHERE d.{k}_id = f.{k}_id AND d.valid_from <= {ts}
     ORDER BY d.valid_from DESC LIMIT 1),
    (SELECT d.{k}_sk FROM marts.dim_{t} AS d WHERE d.{k}_id = f.{k}_id
     ORDER BY d.valid_from LIMIT 1), 0)"""


def test_as_of_links_match_plain_sql(warehouse: Path) -> None:
    user = ASOF.format(k="user", t="users", ts="f.order_ts")
    wrong = query(
        warehouse,
        f"SELECT count(*) FROM (SELECT o.*, s.user_id FROM marts.fact_orders o JOIN "
        f"staging.stg_orders s USING (delivery_date, order_id)) AS f WHERE f.user_sk <> {user}",
    )
    assert wrong == [(0,)]
    product = ASOF.format(k="product", t="products", ts="f.order_ts")
    wrong = query(
        warehouse,
        f"SELECT count(*) FROM marts.fact_order_items AS f WHERE f.product_sk <> {product}",
    )
    assert wrong == [(0,)]
    # not vacuous: some facts link to a user version that has since changed
    changed = query(
        warehouse,
        "SELECT count(*) FROM (SELECT user_sk FROM marts.fact_orders UNION ALL "
        "SELECT user_sk FROM marts.fact_events UNION ALL SELECT user_sk FROM marts.fact_reviews) "
        "JOIN marts.dim_users USING (user_sk) WHERE NOT is_current",
    )
    assert changed[0][0] > 0
    # events: anonymous visitors and events without a product link to the unknown member
    user = ASOF.format(k="user", t="users", ts="f.event_ts")
    product = ASOF.format(k="product", t="products", ts="f.event_ts")
    rows = query(
        warehouse,
        f"SELECT count(*) FILTER (f.user_sk <> {user}), "
        f"count(*) FILTER (f.product_sk <> {product}), "
        "count(*) FILTER (f.user_id IS NULL AND f.user_sk <> 0) "
        "FROM (SELECT e.*, s.product_id FROM marts.fact_events e "
        "JOIN staging.stg_events s USING (delivery_date, event_id)) AS f",
    )
    assert rows == [(0, 0, 0)]
    # orphans exist in the generated data and land on the unknown member
    orphans = query(
        warehouse,
        "SELECT (SELECT count(*) FROM marts.fact_orders WHERE user_sk = 0), "
        "(SELECT count(*) FROM marts.fact_reviews WHERE product_sk = 0 OR user_sk = 0)",
    )
    assert orphans[0][0] > 0 and orphans[0][1] > 0


def test_facts_keep_every_staged_row_and_link_keys(warehouse: Path) -> None:
    for fact, stg in [
        ("fact_orders", "stg_orders"),
        ("fact_order_items", "stg_order_items"),
        ("fact_events", "stg_events"),
        ("fact_reviews", "stg_reviews"),
    ]:
        per_day = "SELECT delivery_date, count(*) FROM {} GROUP BY 1 ORDER BY 1"
        assert query(warehouse, per_day.format(f"marts.{fact}")) == query(
            warehouse, per_day.format(f"staging.{stg}")
        ), fact
    # every date_key and payment key resolves
    for fact in ["fact_orders", "fact_order_items", "fact_events", "fact_reviews"]:
        assert query(
            warehouse,
            f"SELECT count(*) FROM marts.{fact} f ANTI JOIN marts.dim_date d USING (date_key)",
        ) == [(0,)]
    assert query(
        warehouse,
        "SELECT count(*) FROM marts.fact_orders f JOIN staging.stg_orders s "
        "USING (delivery_date, order_id) JOIN marts.dim_payment_method p "
        "ON p.payment_method_key = f.payment_method_key WHERE p.payment_method <> s.payment_method",
    ) == [(0,)]
    late = query(
        warehouse,
        "SELECT count(*) FILTER (is_late_arrival), count(*) FILTER (is_late_arrival AND "
        "event_date <> delivery_date - 1), count(*) FILTER (event_hour <> hour(event_ts)) "
        "FROM marts.fact_events",
    )
    assert late[0][0] > 0 and late[0][1:] == (0, 0)
    texts = query(
        warehouse,
        "SELECT f.text_length, s.review_text FROM marts.fact_reviews f "
        "JOIN staging.stg_reviews s USING (delivery_date, review_id)",
    )
    assert all(n == len(t or "") for n, t in texts)


def test_every_dimension_a_facts_keys_reference_is_upstream_of_it(tmp_path: Path) -> None:
    """A fact's ``foreign_keys_resolve`` check reads each dimension its keys reference, so the
    asset graph must order those dimensions before the fact: a backfill launches a fact's runs
    once its parents are materialized. ``dim_date`` was read and not declared, and the lake's
    split backfill once checked four days of facts before the calendar was written."""
    graph = definitions(tmp_path / "landing", tmp_path / "w.duckdb").resolve_asset_graph()
    for fact, keys in FOREIGN_KEYS.items():
        parents = {key.path[-1] for key in graph.get(dg.AssetKey(fact)).parent_keys}
        assert {dimension for _, dimension, _ in keys} <= parents, (fact, sorted(parents))


def test_as_of_join_across_a_change() -> None:
    """Hand-made: a user and a product change mid-window; orders before, between, after."""
    stg_users = pd.DataFrame(
        {
            "user_id": [1, 1],
            "user_name": ["Ann", "Ann"],
            "email": [None, None],
            "country": ["DE", "DE"],
            "city": ["Berlin", "Hamburg"],
            "signup_date": [T("2024-01-02")] * 2,
            "updated_at": [T("2024-01-02 12:00"), T("2024-01-04 12:00")],
            "delivery_date": [T("2024-01-02"), T("2024-01-04")],
            "source_file": ["u"] * 2,
            "line_number": [2, 2],
        }
    )
    stg_products = pd.DataFrame(
        {
            "product_id": [7, 7],
            "product_name": ["Pen", "Pen"],
            "category": ["Books"] * 2,
            "subcategory": ["Stationery"] * 2,
            "price": [10.0, 12.5],
            "cost": [4.0, 5.25],
            "supplier_id": pd.array([None, None], dtype="Int64"),
            "updated_at": [T("2024-01-02 12:00"), T("2024-01-04 12:00")],
            "delivery_date": [T("2024-01-02"), T("2024-01-04")],
            "source_file": ["p"] * 2,
            "line_number": [2, 2],
        }
    )
    users = build_dim_users(stg_users)
    products = build_dim_products(stg_products)
    ts = ["2024-01-01 08:00", "2024-01-03 08:00", "2024-01-04 12:00", "2024-01-05 08:00"]
    orders = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5],
            "user_id": [1, 1, 1, 1, 99],
            "order_ts": [T(t) for t in ts] + [T("2024-01-05 09:00")],
            "status": ["placed"] * 5,
            "payment_method": ["paypal", "gift_card", "unknown", "paypal", "paypal"],
            "shipping_amount": [0.0] * 5,
            "order_amount": [0.0] * 5,
            "delivery_date": [T(t).normalize() for t in ts] + [T("2024-01-05")],
            "source_file": ["o"] * 5,
            "line_number": [2] * 5,
        }
    )
    items = pd.DataFrame(
        {
            "order_item_id": [11, 12, 13, 14, 15],
            "order_id": [1, 2, 3, 4, 5],
            "product_id": [7, 7, 7, 7, 8],
            "quantity": [3, 3, 3, 3, 1],
            "unit_price": [10.0, 10.0, 12.5, 12.5, 1.0],
            "discount": [0.125, 0.125, 0.0, 0.1, 0.0],
            "delivery_date": orders["delivery_date"],
            "source_file": ["i"] * 5,
            "line_number": [2] * 5,
        }
    )
    fo = build_fact_orders(orders, items, users, build_dim_payment_method())
    fi = build_fact_order_items(orders, items, users, products, build_dim_payment_method())
    sk = users[users["user_id"] == 1].sort_values("valid_from")["user_sk"].tolist()
    psk = products[products["product_id"] == 7].sort_values("valid_from")["product_sk"].tolist()
    # before the first version -> earliest; at the change instant -> new version; unknown -> 0
    assert fo["user_sk"].tolist() == [sk[0], sk[0], sk[1], sk[1], 0]
    assert fi["user_sk"].tolist() == [sk[0], sk[0], sk[1], sk[1], 0]
    assert fi["product_sk"].tolist() == [psk[0], psk[0], psk[1], psk[1], 0]
    assert fi["unit_cost"].tolist()[:4] == [4.0, 4.0, 5.25, 5.25]
    assert pd.isna(fi["unit_cost"].iloc[4]) and pd.isna(fi["margin"].iloc[4])
    # 3 × 10.00 × 0.875 = 26.25; 3 × 12.50 × 0.9 = 33.75; margins use the then-valid cost
    assert fi["line_net"].tolist() == [26.25, 26.25, 37.5, 33.75, 1.0]
    assert fi["margin"].tolist()[:4] == [14.25, 14.25, 21.75, 18.0]
    assert fo["payment_method_key"].tolist() == [3, 6, 0, 3, 3]
    assert fo["is_amount_mismatch"].tolist() == [True] * 5
    assert fo["date_key"].tolist() == [20240101, 20240103, 20240104, 20240105, 20240105]
