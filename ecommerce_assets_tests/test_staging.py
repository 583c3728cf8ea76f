"""Staging rules on tiny frames: every contract defect lands where the contract says."""

import json

import pytest

from ecommerce_assets.contract import (
    EVENTS,
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
    REVIEWS,
    USERS,
)
from ecommerce_assets.schemas import STAGED_MODELS
from ecommerce_assets.transforms.staging import stage_table

from .conftest import values
from .staging_frames import DAY, order, raw_frame, reasons


def test_each_order_defect_gets_its_reason_and_first_key_wins() -> None:
    rows = [
        order(order_id="1"),  # line 2: kept
        order(order_id="1"),  # line 3: exact duplicate, removed and counted
        order(order_id="1", user_id="11"),  # line 4: duplicate_key
        order(order_id=None),  # 5: null_key
        order(order_id="abc"),  # 6: bad_key
        order(order_id="-4"),  # 7: bad_key (keys are positive)
        order(order_id="2", order_ts="2024-13-45 00:00:00"),  # 8
        order(order_id="3", shipping_amount="N/A"),  # 9
        order(order_id="4", shipping_amount="-1.00"),  # 10
        order(order_id="5", order_ts=f"{DAY} 23:59:59"),  # 11: kept, last second of the day
        order(order_id="6", order_ts="2024-03-11 00:00:00"),  # 12: future
        order(order_id="7", order_ts="2024-03-09 23:59:59"),  # 13: before the day
        {"raw_line": "1,2,3", "parse_error": "TOO FEW"},  # 14: malformed
        order(order_id="8", user_id=None),  # 15: required column empty
    ]
    result = stage_table(ORDERS, raw_frame(ORDERS, rows))
    assert reasons(result) == [
        (4, "duplicate_key"),
        (5, "null_key"),
        (6, "bad_key"),
        (7, "bad_key"),
        (8, "bad_value:order_ts"),
        (9, "bad_value:shipping_amount"),
        (10, "out_of_range:shipping_amount"),
        (12, "future_timestamp"),
        (13, "out_of_range:order_ts"),
        (14, "malformed_line"),
        (15, "bad_value:user_id"),
    ]
    assert result.staged["order_id"].tolist() == [1, 5]
    audit = result.audit.iloc[0]
    assert (audit.raw_rows, audit.staged_rows, audit.quarantined_rows, audit.exact_duplicates) == (
        14,
        2,
        11,
        1,
    )
    assert json.loads(result.quarantine["raw_values"].iloc[-1])["order_id"] == "8"
    assert json.loads(result.quarantine["raw_values"].iloc[-2]) == {
        "raw_line": "1,2,3",
        "parse_error": "TOO FEW",
    }


def test_repairs_whitespace_case_and_unknown_enumerations() -> None:
    rows = [
        order(order_id="1", status=" Shipped ", payment_method="PayPal"),
        order(order_id="2", payment_method="bitcoin"),
        order(order_id="3", status="LOST"),
    ]
    result = stage_table(ORDERS, raw_frame(ORDERS, rows))
    assert result.staged[["status", "payment_method"]].values.tolist() == [
        ["shipped", "paypal"],
        ["placed", "unknown"],
        ["unknown", "paypal"],
    ]
    audit = result.audit.iloc[0]
    assert (audit.repaired_rows, audit.unknown_values) == (1, 2)
    assert result.quarantine.empty


def test_users_emails_are_lower_cased_and_invalid_ones_nulled() -> None:
    def user(uid: str, email: str, **kw: str) -> dict:
        base = {
            "user_id": uid,
            "user_name": "Ann",
            "email": email,
            "country": "de",
            "city": "Berlin",
            "signup_date": DAY,
            "updated_at": f"{DAY} 08:00:00",
        }
        return {**base, **kw}

    rows = [
        user("1", "  Alice@Example.COM "),
        user("2", "alice@@example"),
        user("3", "bob@example.org"),
        user("3", "bob@example.org", updated_at=f"{DAY} 09:00:00", city="Bonn"),  # new version
        user("3", "bob@example.org", city="Köln"),  # same version key again: duplicate_key
        user("4", "x@y.z", signup_date="2024-03-11"),
    ]
    result = stage_table(USERS, raw_frame(USERS, rows))
    assert values(result.staged["email"]) == [
        "alice@example.com",
        None,
        "bob@example.org",
        "bob@example.org",
    ]
    assert result.staged["country"].tolist() == ["DE"] * 4
    assert reasons(result) == [(6, "duplicate_key"), (7, "future_timestamp")]
    audit = result.audit.iloc[0]
    # Row 1 repaired (email, country); every row's country "de" is a case repair too.
    assert (audit.invalid_emails, audit.repaired_rows) == (1, 4)


def test_product_ranges() -> None:
    def product(pid: str, price: str, cost: str, category: str = "Books") -> dict:
        return {
            "product_id": pid,
            "product_name": 'Book, "Vol 1"',
            "category": category,
            "subcategory": "Novels",
            "price": price,
            "cost": cost,
            "supplier_id": None,
            "updated_at": f"{DAY} 00:00:00",
        }

    rows = [
        product("1", "10.00", "4.00", " home & KITCHEN "),
        product("2", "0.00", "0.00"),
        product("3", "10.00", "10.00"),
        product("4", "10.00", "-1"),
        product("5", "12,3x", "1"),
        product("6", "10.00", "4.00", "Gadgets"),
    ]
    result = stage_table(PRODUCTS, raw_frame(PRODUCTS, rows))
    assert reasons(result) == [
        (3, "out_of_range:price"),
        (4, "out_of_range:cost"),
        (5, "out_of_range:cost"),
        (6, "bad_value:price"),
    ]
    assert result.staged["category"].tolist() == ["Home & Kitchen", "unknown"]
    assert result.staged["supplier_id"].isna().all()


def test_order_lines_need_a_staged_order_of_the_same_delivery() -> None:
    orders = stage_table(ORDERS, raw_frame(ORDERS, [order(order_id="1"), order(order_id="2")]))

    def line(lid: str, oid: str, **kw: str) -> dict:
        base = {
            "order_item_id": lid,
            "order_id": oid,
            "product_id": "5",
            "quantity": "2",
            "unit_price": "9.99",
            "discount": "0.1",
        }
        return {**base, **kw}

    rows = [
        line("1", "1"),
        line("2", "3"),
        line("3", "2", quantity="0"),
        line("4", "2", quantity="N/A"),
        line("5", "2", discount="1.5"),
        line("6", "2", quantity="1.5"),
        line("7", "2", discount="1"),
    ]
    result = stage_table(ORDER_ITEMS, raw_frame(ORDER_ITEMS, rows), orders.staged)
    assert reasons(result) == [
        (3, "orphan_line"),
        (4, "out_of_range:quantity"),
        (5, "bad_value:quantity"),
        (6, "out_of_range:discount"),
        (7, "bad_value:quantity"),
        (8, "out_of_range:discount"),
    ]
    # An order of another delivery does not count.
    other_day = raw_frame(ORDER_ITEMS, [line("1", "1")], day="2024-03-11")
    assert reasons(stage_table(ORDER_ITEMS, other_day, orders.staged)) == [(2, "orphan_line")]


def test_events_late_arrivals_and_product_events() -> None:
    def event(eid: str, etype: str, ts: str, product: str | None = "3") -> dict:
        return {
            "event_id": eid,
            "session_id": "s1",
            "user_id": None,
            "event_type": etype,
            "product_id": product,
            "event_ts": ts,
            "event_value": None,
        }

    rows = [
        event("1", "page_view", f"{DAY} 01:00:00", None),
        event("2", "product_view", "2024-03-09 23:00:00"),  # late arrival, kept
        event("3", "add_to_cart", f"{DAY} 02:00:00", None),  # product event without product
        event("4", "page_view", "2024-03-08 23:59:59", None),  # older than D-1
        event("5", "Hover", f"{DAY} 03:00:00", None),
    ]
    result = stage_table(EVENTS, raw_frame(EVENTS, rows))
    assert reasons(result) == [(4, "bad_value:product_id"), (5, "out_of_range:event_ts")]
    assert result.staged["is_late_arrival"].tolist() == [False, True, False]
    assert result.staged["event_type"].tolist() == ["page_view", "product_view", "unknown"]


def test_review_dates_and_ratings() -> None:
    def review(rid: str, rating: str, rdate: str = DAY) -> dict:
        return {
            "review_id": rid,
            "product_id": "1",
            "user_id": "2",
            "rating": rating,
            "review_text": None,
            "review_date": rdate,
            "helpful_votes": "0",
        }

    rows = [
        review("1", "5"),
        review("2", "7"),
        review("3", "4", "2024-03-09"),
        review("4", "4", "2024-03-11"),
    ]
    result = stage_table(REVIEWS, raw_frame(REVIEWS, rows))
    assert reasons(result) == [
        (3, "out_of_range:rating"),
        (4, "out_of_range:review_date"),
        (5, "future_timestamp"),
    ]


@pytest.mark.parametrize(
    "table", ["users", "products", "orders", "order_items", "events", "reviews"]
)
def test_empty_input_gives_typed_empty_outputs(table: str) -> None:
    from ecommerce_assets.contract import TABLES

    spec = TABLES[table]
    result = stage_table(spec, raw_frame(spec, []))
    assert result.staged.empty and result.quarantine.empty and result.audit.empty
    STAGED_MODELS[table].validate(result.staged)


def test_more_decimals_than_the_type_is_a_bad_value_never_rounded() -> None:
    """A decimal(10,2) price ``40.085`` is not a price of the contract: casting it would round
    it to 40.09 silently. Trailing zeros past the scale are the same number and load."""

    def product(pid: str, price: str, cost: str = "4.00") -> dict:
        return {
            "product_id": pid,
            "product_name": "Lamp",
            "category": "Books",
            "subcategory": "Novels",
            "price": price,
            "cost": cost,
            "supplier_id": None,
            "updated_at": f"{DAY} 00:00:00",
        }

    rows = [product("1", "40.085"), product("2", "40.080"), product("3", "40.08", "4.001")]
    result = stage_table(PRODUCTS, raw_frame(PRODUCTS, rows))
    assert reasons(result) == [(2, "bad_value:price"), (4, "bad_value:cost")]
    assert [str(v) for v in result.staged["price"]] == ["40.08"]

    def line(lid: str, discount: str) -> dict:
        return {"order_item_id": lid, "order_id": "1", "product_id": "1", "quantity": "1",
                "unit_price": "10.00", "discount": discount}  # fmt: skip

    orders = stage_table(ORDERS, raw_frame(ORDERS, [order()]))
    lines = raw_frame(ORDER_ITEMS, [line("1", "0.1234"), line("2", "0.125"), line("3", "0.1250")])
    result = stage_table(ORDER_ITEMS, lines, orders.staged)
    assert reasons(result) == [(2, "bad_value:discount")]
    assert [str(v) for v in result.staged["discount"]] == ["0.125", "0.125"]
