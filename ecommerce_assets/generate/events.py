"""One day's click-stream: purchase sessions that replay orders, browse sessions, late events.

Why a module of its own: events are the one fact with a funnel (page view, product views, cart,
checkout, purchase), anonymous visitors and deliveries one day late; the purchase event carries
its order's amount, so the platform's purchase/order matching can be checked exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecommerce_assets import contract

from .formatting import concat, format_cents, format_ints, format_timestamps
from .rates import (
    ANONYMOUS_SHARE,
    BROWSE_CART_P,
    BROWSE_CHECKOUT_P,
    BROWSE_PRODUCT_P,
    BROWSE_PV_N,
    BROWSE_PV_ONE,
    BROWSE_REMOVE_P,
    LINES_P,
    PURCHASE_SESSION_SHARE,
    REF_EVENTS,
    REF_ORDERS,
    REMOVE_P,
)
from .vocabulary import STRING_DTYPE
from .world import DayTable, World, day_mean, sample_prefix, secs_in_day

if TYPE_CHECKING:
    from .facts import OrdersOfDay

_EVENT_TYPES = np.array(contract.EVENT_TYPES, dtype=STRING_DTYPE)
# Indices into contract.EVENT_TYPES.
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, REMOVE_FROM_CART, CHECKOUT, PURCHASE = range(6)

# Browse sessions per reference window: what the reference event volume leaves after purchases.
_EVENTS_PER_ORDER = PURCHASE_SESSION_SHARE * (3 + 2 * float(LINES_P @ np.arange(1, 6)) + REMOVE_P)
_EVENTS_PER_BROWSE = (
    float(BROWSE_PV_ONE @ np.arange(1, 4))
    + BROWSE_PRODUCT_P * float(BROWSE_PV_N @ np.arange(1, 4))
    + BROWSE_PRODUCT_P * BROWSE_CART_P * (1 + BROWSE_REMOVE_P + BROWSE_CHECKOUT_P)
)
_REF_BROWSE_SESSIONS = round(
    max(0.0, (REF_EVENTS - REF_ORDERS * _EVENTS_PER_ORDER) / _EVENTS_PER_BROWSE)
)

Events = dict[str, np.ndarray]  # type, ts, sess (0-based within the day), user, prod, val


def _about_product(event_type: np.ndarray) -> np.ndarray:
    """Event types that name a product: views and cart changes."""
    return (
        (event_type == PRODUCT_VIEW)
        | (event_type == ADD_TO_CART)
        | (event_type == REMOVE_FROM_CART)
    )


def _purchase_sessions(orders: OrdersOfDay, rng: np.random.Generator, day_start: int) -> Events:
    """Page view, a view and an add-to-cart per line, maybe a removal, checkout, purchase."""
    buyers = np.flatnonzero(orders.purchase)
    lines = orders.n_lines[buyers]
    removes = (rng.random(buyers.size) < REMOVE_P).astype(np.int64)
    n_events = 3 + 2 * lines + removes
    session = np.repeat(np.arange(buyers.size), n_events)
    pos = np.arange(session.size) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    session_lines, session_removes = lines[session], removes[session]
    session_events = n_events[session]
    event_type = np.full(session.size, PAGE_VIEW)
    line_index = np.zeros(session.size, np.int64)
    mask = (pos >= 1) & (pos <= session_lines)
    event_type[mask], line_index[mask] = PRODUCT_VIEW, pos[mask] - 1
    mask = (pos > session_lines) & (pos <= 2 * session_lines)
    event_type[mask], line_index[mask] = ADD_TO_CART, pos[mask] - session_lines[mask] - 1
    event_type[(session_removes == 1) & (pos == 2 * session_lines + 1)] = REMOVE_FROM_CART
    event_type[pos == session_events - 2] = CHECKOUT
    event_type[pos == session_events - 1] = PURCHASE
    line = orders.line_start[buyers][session] + line_index
    product = np.where(_about_product(event_type), orders.line_product[line] + 1, 0)
    gap = rng.integers(15, 181, size=buyers.size)[session]
    order_ts = orders.order_ts[buyers][session]
    return {
        "type": event_type,
        "ts": np.maximum(order_ts - (session_events - 1 - pos) * gap, day_start),
        "sess": session,
        "user": orders.order_user[buyers][session],
        "prod": product,
        "val": np.where(event_type == PURCHASE, orders.amount[buyers][session], -1),
    }


def _browse_sessions(
    world: World,
    day_index: int,
    rng: np.random.Generator,
    day_start: int,
    n_purchase_sessions: int,
) -> tuple[Events, int]:
    """Sessions without a purchase: page views, maybe product views, a cart and a checkout.

    Returns the events and the number of sessions; session numbers follow the purchase ones.
    """
    n_products, n_users = world.products.n_ok, world.users.n_ok
    n_sessions = int(rng.poisson(day_mean(_REF_BROWSE_SESSIONS, world, day_index)))
    page_views = rng.choice(3, size=n_sessions, p=BROWSE_PV_ONE) + 1
    has_product = rng.random(n_sessions) < BROWSE_PRODUCT_P
    product_views = np.where(has_product, rng.choice(3, size=n_sessions, p=BROWSE_PV_N) + 1, 0)
    cart = (has_product & (rng.random(n_sessions) < BROWSE_CART_P)).astype(np.int64)
    removes = cart * (rng.random(n_sessions) < BROWSE_REMOVE_P)
    checkouts = cart * (rng.random(n_sessions) < BROWSE_CHECKOUT_P)
    n_events = page_views + product_views + cart + removes + checkouts
    session = np.repeat(np.arange(n_sessions), n_events)
    session_first = np.repeat(np.cumsum(n_events) - n_events, n_events)
    pos = np.arange(session.size) - session_first
    viewed = page_views[session]
    browsed = viewed + product_views[session]
    carted = browsed + cart[session]
    removed = carted + removes[session]
    event_type = np.full(session.size, PAGE_VIEW)
    event_type[(pos >= viewed) & (pos < browsed)] = PRODUCT_VIEW
    event_type[(pos >= browsed) & (pos < carted)] = ADD_TO_CART
    event_type[(pos >= carted) & (pos < removed)] = REMOVE_FROM_CART
    event_type[pos >= removed] = CHECKOUT
    random_product = sample_prefix(rng, world.products["cum"], n_products, session.size) + 1
    product = np.where(event_type == PRODUCT_VIEW, random_product, 0)
    # cart events concern the last viewed product of the session
    last_view = session_first + browsed - 1
    cart_event = (event_type == ADD_TO_CART) | (event_type == REMOVE_FROM_CART)
    product[cart_event] = product[last_view[cart_event]]
    anonymous_p = (
        min(1.0, ANONYMOUS_SHARE * (n_purchase_sessions + n_sessions) / max(n_sessions, 1))
        if n_sessions
        else 0.0
    )
    anonymous = rng.random(n_sessions) < anonymous_p
    user = np.where(anonymous, 0, rng.integers(0, n_users, size=n_sessions) + 1)[session]
    start = secs_in_day(rng, n_sessions)[session]
    gap = rng.integers(10, 241, size=n_sessions)[session]
    events = {
        "type": event_type,
        "ts": day_start + np.minimum(start + pos * gap, 86399),
        "sess": session + n_purchase_sessions,
        "user": user,
        "prod": product,
        "val": np.full(session.size, -1),
    }
    return events, n_sessions


def _merge_sessions(world: World, purchases: Events, browses: Events, n_sessions: int) -> Events:
    """All of the day's events in time order, with session and event ids from the counters."""
    first_session = world.counters["session"]
    world.counters["session"] += n_sessions
    merged = {key: np.concatenate([purchases[key], browses[key]]) for key in purchases}
    merged["sess"] = merged["sess"] + first_session + 1
    order = np.lexsort((merged["sess"], merged["ts"]))
    events = {key: values[order] for key, values in merged.items()}
    n_events = events["ts"].size
    events["id"] = world.counters["event"] + 1 + np.arange(n_events)
    world.counters["event"] += n_events
    return events


def _hold_late(
    rng: np.random.Generator, events: Events, late_rate: float, carry: Events
) -> tuple[Events, Events, int]:
    """Hold some non-purchase events for tomorrow, prepend yesterday's held ones.

    Returns the events delivered today, those held for tomorrow and how many of today's leading
    rows are late. Every day holds some back, the last of a window too: a day never depends on
    how many follow it, and what is held past the window simply has not arrived yet.
    """
    hold = (rng.random(events["ts"].size) < late_rate) & (events["type"] != PURCHASE)
    held = {key: values[hold] for key, values in events.items()}
    today = {
        key: np.concatenate([carry[key], values[~hold]]) if carry else values[~hold]
        for key, values in events.items()
    }
    n_late = carry["id"].size if carry else 0
    return today, held, n_late


def _events_table(today: Events, n_late: int) -> DayTable:
    """The events file; only on-time, non-purchase rows may carry defects."""
    event_type = today["type"]
    user = format_ints(today["user"])
    user[today["user"] == 0] = ""
    product = format_ints(today["prod"])
    product[today["prod"] == 0] = ""
    value = format_cents(np.maximum(today["val"], 0))
    value[today["val"] < 0] = ""
    late = np.zeros(event_type.size, bool)
    late[:n_late] = True
    defect_source = (event_type != PURCHASE) & ~late
    return DayTable(
        {
            "event_id": format_ints(today["id"]),
            "session_id": concat("sess-", np.strings.zfill(format_ints(today["sess"]), 8)),
            "user_id": user,
            "event_type": _EVENT_TYPES[event_type],
            "product_id": product,
            "event_ts": format_timestamps(today["ts"]),
            "event_value": value,
        },
        {
            "src": defect_source,
            "product_event": defect_source & _about_product(event_type),
            "page_or_checkout": defect_source
            & ((event_type == PAGE_VIEW) | (event_type == CHECKOUT)),
        },
        late=n_late,
    )


def events_day(
    world: World,
    day_index: int,
    rng: np.random.Generator,
    orders: OrdersOfDay,
    late_rate: float,
    carry: Events,
) -> tuple[DayTable, Events]:
    """The day's events file (yesterday's late events first) and the events held for tomorrow."""
    day_start = (world.day0 + day_index) * 86400
    n_purchase_sessions = int(np.count_nonzero(orders.purchase))
    purchases = _purchase_sessions(orders, rng, day_start)
    browses, n_browse_sessions = _browse_sessions(
        world, day_index, rng, day_start, n_purchase_sessions
    )
    events = _merge_sessions(world, purchases, browses, n_purchase_sessions + n_browse_sessions)
    today, held, n_late = _hold_late(rng, events, late_rate, carry)
    return _events_table(today, n_late), held
