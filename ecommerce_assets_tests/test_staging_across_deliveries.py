"""Staging across deliveries on tiny frames: rows re-sent in a later delivery, order lines
judged with their own day's orders, late versions (an at-least-once source's normal traffic)."""

import pandas as pd

from ecommerce_assets.contract import EVENTS, ORDER_ITEMS, ORDERS, USERS
from ecommerce_assets.transforms.staging import stage_table

from .staging_frames import DAY, order, raw_frame, reasons


def test_a_row_re_sent_in_a_later_delivery_is_a_duplicate_of_the_earlier_one() -> None:
    """At-least-once sources re-send rows. In a later delivery, an identical row is an exact
    duplicate (removed, counted on the later day) and a row with the same key but other content
    loses to the earlier delivery (``duplicate_key``). An earlier row that was quarantined in its
    own day wins nothing: its corrected re-send is staged."""

    def event(eid: str, value: str | None = None, ts: str = f"{DAY} 10:00:00") -> dict:
        return {"event_id": eid, "session_id": "s1", "user_id": "2", "event_type": "page_view",
                "product_id": None, "event_ts": ts, "event_value": value}  # fmt: skip

    day1 = raw_frame(EVENTS, [event("1"), event("2"), event("3", ts="2024-03-12 00:00:00")])
    nxt = "2024-03-11"
    day2 = raw_frame(
        EVENTS,
        [event("1"), event("2", value="5.00"), event("3", ts=f"{nxt} 09:00:00"), event("4")],
        day=nxt,
    )
    both = pd.concat([day1, day2], ignore_index=True)
    result = stage_table(EVENTS, both)
    assert [(str(d), n, r) for d, n, r in zip(
        result.quarantine["delivery_date"], result.quarantine["line_number"],
        result.quarantine["reason"], strict=True)] == [
        (DAY, 4, "future_timestamp"),
        (nxt, 3, "duplicate_key"),
    ]  # fmt: skip
    staged = sorted(
        zip(result.staged["delivery_date"].astype(str), result.staged["event_id"], strict=True)
    )
    assert staged == [(DAY, 1), (DAY, 2), (nxt, 3), (nxt, 4)]
    audit = {str(r.delivery_date)[:10]: r for r in result.audit.itertuples()}
    assert (audit[nxt].raw_rows, audit[nxt].exact_duplicates) == (4, 1)
    # The same, day 2 staged alone with day 1 as history (a daily run): the same outcome.
    alone = stage_table(EVENTS, day2, history=day1)
    assert reasons(alone) == [(3, "duplicate_key")]
    assert sorted(alone.staged["event_id"].tolist()) == [3, 4]
    assert int(alone.audit["exact_duplicates"].sum()) == 1


def test_an_order_line_re_sent_changed_loses_to_the_line_its_own_day_staged() -> None:
    """Day 1 staged line 7 of order 1. Day 2 re-sends line 7 with other content under order 2
    (staged on day 2). Staged alone (a daily run), day 2 must judge day 1's line with day 1's
    orders: it was staged, so it wins and day 2's line is a ``duplicate_key`` (it used to count
    as an orphan without its orders, win nothing, and the line was staged twice). An earlier
    line that was an orphan in its own day still wins nothing: its re-send is staged."""
    nxt = "2024-03-11"

    def line(lid: str, oid: str, quantity: str = "1") -> dict:
        return {"order_item_id": lid, "order_id": oid, "product_id": "5",
                "quantity": quantity, "unit_price": "9.99", "discount": "0"}  # fmt: skip

    orders1 = stage_table(ORDERS, raw_frame(ORDERS, [order(order_id="1")])).staged
    orders2 = stage_table(
        ORDERS, raw_frame(ORDERS, [order(order_id="2", order_ts=f"{nxt} 10:00:00")], day=nxt)
    ).staged
    day1 = raw_frame(ORDER_ITEMS, [line("7", "1"), line("8", "9")])  # 8: orphan on day 1
    day2 = raw_frame(ORDER_ITEMS, [line("7", "2", quantity="3"), line("8", "2")], day=nxt)
    first = stage_table(ORDER_ITEMS, day1, orders1)
    assert reasons(first) == [(3, "orphan_line")]

    alone = stage_table(ORDER_ITEMS, day2, orders2, history=day1, prior_orders=orders1)
    assert reasons(alone) == [(2, "duplicate_key")]
    assert alone.staged["order_item_id"].tolist() == [8]
    # Both days in one run decide the same.
    both = stage_table(
        ORDER_ITEMS, pd.concat([day1, day2], ignore_index=True), pd.concat([orders1, orders2])
    )
    assert [(str(d)[:10], n, r) for d, n, r in zip(
        both.quarantine["delivery_date"], both.quarantine["line_number"],
        both.quarantine["reason"], strict=True)] == [
        (DAY, 3, "orphan_line"),
        (nxt, 2, "duplicate_key"),
    ]  # fmt: skip


def test_a_late_user_version_is_a_version() -> None:
    """A version whose ``updated_at`` precedes its delivery day (a late change) is staged like
    any other; only one after the delivery day is a future timestamp."""

    def user(uid: str, updated: str) -> dict:
        return {"user_id": uid, "user_name": "Ann", "email": "ann@example.com", "country": "SE",
                "city": "Lund", "signup_date": "2023-01-01", "updated_at": updated}  # fmt: skip

    rows = [user("1", "2023-12-30 08:00:00"), user("2", "2024-03-11 00:00:01")]
    result = stage_table(USERS, raw_frame(USERS, rows))
    assert reasons(result) == [(3, "future_timestamp")]
    assert result.staged["user_id"].tolist() == [1]
