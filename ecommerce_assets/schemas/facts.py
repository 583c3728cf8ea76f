"""Fact models (schema ``marts``): orders, order lines, events and reviews keyed to dimensions."""

from __future__ import annotations

from pandera.typing import Series

from ..contract import EVENT_TYPES, ORDER_STATUSES, UNKNOWN
from .common import (
    DATE_KEY,
    PM_KEY,
    BigInt,
    Bool,
    Date,
    Decimal4_3,
    Decimal10_2,
    Decimal12_2,
    Decimal14_2,
    Int,
    StrictModel,
    Text,
    Timestamp,
    field,
)


class FactOrders(StrictModel):
    order_id: Series[BigInt] = field("Key of the order.", gt=0)
    user_id: Series[BigInt] = field("Source user id (degenerate; kept for orphans too).")
    user_sk: Series[BigInt] = field("dim_users version valid at order_ts (0 = unknown).", ge=0)
    date_key: Series[Int] = field(DATE_KEY)
    payment_method_key: Series[Int] = field(PM_KEY, ge=0)
    status: Series[Text] = field("Final status.", isin=[*ORDER_STATUSES, UNKNOWN])
    item_count: Series[Int] = field("Order lines.", ge=0)
    units: Series[Int] = field("Units over all lines.", ge=0)
    gross: Series[Decimal14_2] = field("Σ quantity × unit_price.", ge=0)
    discount: Series[Decimal14_2] = field("gross − Σ line net.", ge=0)
    shipping: Series[Decimal10_2] = field("Shipping charged.", ge=0)
    net: Series[Decimal14_2] = field("Σ line net + shipping.", ge=0)
    order_amount: Series[Decimal12_2] = field("Order total as sent by the source.")
    is_amount_mismatch: Series[Bool] = field("|order_amount − net| > 0.01.")
    order_ts: Series[Timestamp] = field("When the order was placed (UTC).")
    delivery_date: Series[Date] = field("Delivery day (the partition).")


class FactOrderItems(StrictModel):
    order_item_id: Series[BigInt] = field("Key of the order line.", gt=0)
    order_id: Series[BigInt] = field("Order of the line, joins fact_orders.", gt=0)
    product_id: Series[BigInt] = field("Source product id (degenerate; kept for orphans too).")
    product_sk: Series[BigInt] = field("dim_products version valid at order_ts.", ge=0)
    user_sk: Series[BigInt] = field("dim_users version valid at order_ts.", ge=0)
    date_key: Series[Int] = field(DATE_KEY)
    payment_method_key: Series[Int] = field(PM_KEY, ge=0)
    quantity: Series[Int] = field("Units ordered.", ge=1)
    unit_price: Series[Decimal10_2] = field("Price per unit at order time.", gt=0)
    discount: Series[Decimal4_3] = field("Discount rate.", ge=0, lt=1)
    line_gross: Series[Decimal14_2] = field("quantity × unit_price.", ge=0)
    line_discount: Series[Decimal14_2] = field("line_gross − line_net.", ge=0)
    line_net: Series[Decimal14_2] = field(
        "round(quantity × unit_price × (1 − discount), 2), half away from zero.",
        ge=0,
    )
    unit_cost: Series[Decimal10_2] = field(
        "Cost of the product version valid at order time; NULL for unknown products.",
        nullable=True,
    )
    margin: Series[Decimal14_2] = field(
        "line_net − quantity × unit_cost; NULL for unknown products.",
        nullable=True,
    )
    order_status: Series[Text] = field("Status of the order.", isin=[*ORDER_STATUSES, UNKNOWN])
    order_ts: Series[Timestamp] = field("When the order was placed (UTC).")
    delivery_date: Series[Date] = field("Delivery day (the partition).")


class FactEvents(StrictModel):
    event_id: Series[BigInt] = field("Key of the event.", gt=0)
    session_id: Series[Text] = field("Click-stream session.")
    user_id: Series[BigInt] = field("Source user id; NULL when anonymous.", nullable=True)
    user_sk: Series[BigInt] = field("dim_users version at event_ts; 0 = anonymous/unknown.", ge=0)
    product_sk: Series[BigInt] = field("dim_products version at event_ts; 0 = none/unknown.", ge=0)
    event_type: Series[Text] = field("Funnel step.", isin=[*EVENT_TYPES, UNKNOWN])
    event_ts: Series[Timestamp] = field("When the event happened (UTC).")
    event_date: Series[Date] = field("Day of event_ts (the business date).")
    event_hour: Series[Int] = field("Hour of event_ts, 0-23.", ge=0, le=23)
    date_key: Series[Int] = field(DATE_KEY + " (of event_date).")
    event_value: Series[Decimal12_2] = field("Order value of a purchase.", nullable=True)
    is_late_arrival: Series[Bool] = field("Arrived in the delivery after its event_date.")
    delivery_date: Series[Date] = field("Delivery day (the partition).")


class FactReviews(StrictModel):
    review_id: Series[BigInt] = field("Key of the review.", gt=0)
    product_id: Series[BigInt] = field("Source product id.")
    product_sk: Series[BigInt] = field(
        "dim_products version valid at the end of review_date.", ge=0
    )
    user_sk: Series[BigInt] = field("dim_users version valid at the end of review_date.", ge=0)
    date_key: Series[Int] = field(DATE_KEY + " (of review_date).")
    rating: Series[Int] = field("Stars.", ge=1, le=5)
    review_text: Series[Text] = field("Free text.", nullable=True)
    text_length: Series[Int] = field("Characters in review_text (0 when NULL).", ge=0)
    helpful_votes: Series[Int] = field("Helpful votes.", ge=0)
    review_date: Series[Date] = field("Day the review was written.")
    delivery_date: Series[Date] = field("Delivery day (the partition).")
