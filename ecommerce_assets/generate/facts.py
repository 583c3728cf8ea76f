"""One day of facts: orders with their lines, click-stream events and reviews.

Why a module of its own: facts are drawn day by day from the day's own random stream, written and
dropped, so any window runs in bounded memory. Orders come first because lines price them and
events replay them; the draws happen in a fixed order, which is what makes a seed reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecommerce_assets import contract

from .events import events_day
from .formatting import format_cents, format_dates, format_ints, format_timestamps
from .rates import (
    DISCOUNT_MILLI,
    DISCOUNT_P,
    FREE_SHIPPING_CENTS,
    LINES_P,
    PAYMENT_P,
    PURCHASE_SESSION_SHARE,
    QTY_P,
    RATING_P,
    REF_DAYS,
    REF_ORDERS,
    REF_REVIEWS,
    REVIEW_TEXT_NULL_P,
    STATUS_P,
)
from .vocabulary import DISCOUNT_TEXT, REVIEW_TEXTS, STRING_DTYPE
from .world import DayTable, World, day_mean, sample_prefix, secs_in_day

_STATUSES = np.array(contract.ORDER_STATUSES, dtype=STRING_DTYPE)
_PAYMENT_METHODS = np.array(contract.PAYMENT_METHODS, dtype=STRING_DTYPE)


@dataclass
class OrdersOfDay:
    """The day's orders and lines, and what the click-stream needs to replay them."""

    orders: DayTable
    items: DayTable
    order_ts: np.ndarray  # seconds since epoch, sorted
    order_user: np.ndarray
    n_lines: np.ndarray  # per order
    line_start: np.ndarray  # per order, index of its first line
    line_product: np.ndarray  # per line, product index
    amount: np.ndarray  # per order, cents
    purchase: np.ndarray  # per order: comes with a purchase session


def orders_day(world: World, day_index: int, rng: np.random.Generator) -> OrdersOfDay:
    """Orders priced at the product version current at order time, shipping included."""
    day_start = (world.day0 + day_index) * 86400
    n_users, n_products = world.users.n_ok, world.products.n_ok
    n_orders = int(rng.poisson(day_mean(REF_ORDERS, world, day_index)))
    order_ts = day_start + np.sort(secs_in_day(rng, n_orders))
    order_user = rng.integers(0, n_users, size=n_orders) + 1
    n_lines = rng.choice(5, size=n_orders, p=LINES_P) + 1
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    n_items = int(n_lines.sum())
    line_order = np.repeat(np.arange(n_orders), n_lines)
    products = world.products
    line_product = sample_prefix(rng, products["cum"], n_products, n_items)
    quantity = rng.choice(4, size=n_items, p=QTY_P) + 1
    discount = rng.choice(6, size=n_items, p=DISCOUNT_P)
    line_ts = order_ts[line_order]
    change_day = products["chg_day"][line_product]
    new_price = (change_day < day_index) | (
        (change_day == day_index) & (products["chg_secs"][line_product] <= line_ts)
    )
    unit_price = np.where(
        new_price, products["price2"][line_product], products["price"][line_product]
    )
    milli = quantity * unit_price * (1000 - DISCOUNT_MILLI[discount])  # cents * 1000, exact
    net = (milli + 500) // 1000  # half away from zero (all positive)
    subtotal = np.add.reduceat(net, line_start) if n_orders else np.zeros(0, np.int64)
    standard_shipping = np.where(rng.random(n_orders) < 0.7, 499, 999)
    shipping = np.where(subtotal >= FREE_SHIPPING_CENTS, 0, standard_shipping)
    amount = subtotal + shipping
    order_id = world.counters["order"] + 1 + np.arange(n_orders)
    world.counters["order"] += n_orders
    item_id = world.counters["item"] + 1 + np.arange(n_items)
    world.counters["item"] += n_items
    purchase = rng.random(n_orders) < PURCHASE_SESSION_SHARE
    orders = DayTable(
        {
            "order_id": format_ints(order_id),
            "user_id": format_ints(order_user),
            "order_ts": format_timestamps(order_ts),
            "status": _STATUSES[rng.choice(5, size=n_orders, p=STATUS_P)],
            "payment_method": _PAYMENT_METHODS[rng.choice(6, size=n_orders, p=PAYMENT_P)],
            "shipping_amount": format_cents(shipping),
            "order_amount": format_cents(amount),
        },
        {"no_purchase": ~purchase},
    )
    items = DayTable(
        {
            "order_item_id": format_ints(item_id),
            "order_id": format_ints(order_id[line_order]),
            "product_id": format_ints(line_product + 1),
            "quantity": format_ints(quantity),
            "unit_price": format_cents(unit_price),
            "discount": DISCOUNT_TEXT[discount],
        },
        {},
    )
    return OrdersOfDay(
        orders, items, order_ts, order_user, n_lines, line_start, line_product, amount, purchase
    )


def reviews_day(world: World, day_index: int, rng: np.random.Generator) -> DayTable:
    """Reviews of popular products by existing users, dated the day (no weekly profile)."""
    n_users, n_products = world.users.n_ok, world.products.n_ok
    cum = world.products["cum"]
    n_reviews = int(rng.poisson(REF_REVIEWS / REF_DAYS * world.scale))
    review_id = world.counters["review"] + 1 + np.arange(n_reviews)
    world.counters["review"] += n_reviews
    text = REVIEW_TEXTS[rng.integers(0, REVIEW_TEXTS.size, size=n_reviews)]
    text[rng.random(n_reviews) < REVIEW_TEXT_NULL_P] = ""
    return DayTable(
        {
            "review_id": format_ints(review_id),
            "product_id": format_ints(sample_prefix(rng, cum, n_products, n_reviews) + 1),
            "user_id": format_ints(rng.integers(0, n_users, size=n_reviews) + 1),
            "rating": format_ints(rng.choice(5, size=n_reviews, p=RATING_P) + 1),
            "review_text": text,
            "review_date": format_dates(np.full(n_reviews, world.day0 + day_index)),
            "helpful_votes": format_ints(rng.geometric(0.4, size=n_reviews) - 1),
        },
        {},
    )


def facts_day(
    world: World,
    day_index: int,
    rng: np.random.Generator,
    late_rate: float,
    carry: dict[str, np.ndarray],
) -> tuple[dict[str, DayTable], dict[str, np.ndarray]]:
    """Orders, lines, events and reviews of the day; returns the events held for the next day."""
    orders = orders_day(world, day_index, rng)
    events, held = events_day(world, day_index, rng, orders, late_rate, carry)
    reviews = reviews_day(world, day_index, rng)
    tables = {
        "orders": orders.orders,
        "order_items": orders.items,
        "events": events,
        "reviews": reviews,
    }
    return tables, held
