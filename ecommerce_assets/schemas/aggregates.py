"""Aggregate models (schema ``marts``, group ``aggregates``): daily marts and the quality report."""

from __future__ import annotations

from pandera.typing import Series

from ..contract import TABLE_NAMES
from .common import (
    DATE_KEY,
    BigInt,
    Bool,
    Date,
    Decimal18_2,
    Double,
    Int,
    StrictModel,
    Text,
    Timestamp,
    field,
)

_RATE = "Share in [0, 1]; NULL when the denominator is 0."


class AggDailySales(StrictModel):
    business_date: Series[Date] = field("Order day (the partition).")
    date_key: Series[Int] = field(DATE_KEY)
    orders: Series[Int] = field("Orders placed, any status.", ge=0)
    cancelled_orders: Series[Int] = field("Orders with status cancelled.", ge=0)
    returned_orders: Series[Int] = field("Orders with status returned.", ge=0)
    units: Series[BigInt] = field("Units of non-cancelled orders.", ge=0)
    gross_sales: Series[Decimal18_2] = field("Σ gross, non-cancelled.", ge=0)
    discounts: Series[Decimal18_2] = field("Σ discount, non-cancelled.", ge=0)
    shipping: Series[Decimal18_2] = field("Σ shipping, non-cancelled.", ge=0)
    net_revenue: Series[Decimal18_2] = field(
        "Σ net (line nets + shipping) of non-cancelled orders.", ge=0
    )
    average_order_value: Series[Decimal18_2] = field(
        "net_revenue / non-cancelled orders, to the cent; NULL without orders.",
        nullable=True,
    )
    unique_customers: Series[Int] = field("Users with a non-cancelled order.", ge=0)
    new_customers: Series[Int] = field(
        "unique_customers whose first non-cancelled order ever is on this day.", ge=0
    )
    returning_customers: Series[Int] = field("unique_customers − new_customers.")
    cancellation_rate: Series[Double] = field("cancelled_orders / orders. " + _RATE, nullable=True)
    return_rate: Series[Double] = field("returned_orders / orders. " + _RATE, nullable=True)


class AggProductPerformance(StrictModel):
    product_id: Series[BigInt] = field("Business key (-1 = orders of unknown products).")
    product_sk: Series[BigInt] = field("Current version in dim_products.", ge=0)
    product_name: Series[Text] = field("Current name.")
    category: Series[Text] = field("Current category.")
    units: Series[BigInt] = field("Units sold in non-cancelled orders.", ge=0)
    revenue: Series[Decimal18_2] = field("Σ line_net, non-cancelled orders.")
    margin: Series[Decimal18_2] = field("Σ margin, non-cancelled orders (NULL costs count 0).")
    orders: Series[Int] = field("Non-cancelled orders containing the product.")
    average_rating: Series[Double] = field("Mean rating of its reviews.", nullable=True)
    review_count: Series[Int] = field("Reviews of the product.", ge=0)
    return_rate: Series[Double] = field(
        "Returned orders / non-cancelled orders containing it. " + _RATE, nullable=True
    )
    category_rank: Series[Int] = field(
        "RANK() by revenue (desc) within the category; ties share a rank.", ge=1
    )


class AggCustomerLifetime(StrictModel):
    user_id: Series[BigInt] = field("Business key of the customer.")
    user_sk: Series[BigInt] = field("Current version in dim_users (0 = unknown user).", ge=0)
    first_order_ts: Series[Timestamp] = field("First non-cancelled order.")
    last_order_ts: Series[Timestamp] = field("Last non-cancelled order.")
    orders: Series[Int] = field("Non-cancelled orders.", ge=1)
    revenue: Series[Decimal18_2] = field("Σ net of non-cancelled orders.", ge=0)
    average_order_value: Series[Decimal18_2] = field("revenue / orders, to the cent.")
    as_of_date: Series[Date] = field("Last delivery day in the data.")
    days_since_last_order: Series[Int] = field("as_of_date − date(last_order_ts).")
    is_active: Series[Bool] = field("days_since_last_order <= 90.")
    ltv_estimate: Series[Decimal18_2] = field(
        "revenue + (active ? average_order_value × annual order rate : 0); see docs.",
    )
    recency_score: Series[Int] = field("R score 1-5 (fixed thresholds, see docs).")
    frequency_score: Series[Int] = field("F score 1-5.", ge=1, le=5)
    monetary_score: Series[Int] = field("M score 1-5.", ge=1, le=5)
    rfm_segment: Series[Text] = field(
        "champions, loyal, new, at_risk, hibernating or potential.",
        isin=["champions", "loyal", "new", "at_risk", "hibernating", "potential"],
    )


class AggConversionFunnel(StrictModel):
    business_date: Series[Date] = field("Event day (the partition).")
    date_key: Series[Int] = field(DATE_KEY)
    sessions: Series[Int] = field("Sessions with any event on the day.", ge=0)
    product_view_sessions: Series[Int] = field("Sessions with a product_view.")
    add_to_cart_sessions: Series[Int] = field("Sessions with an add_to_cart.")
    checkout_sessions: Series[Int] = field("Sessions with a checkout.")
    purchase_sessions: Series[Int] = field("Sessions with a purchase.")
    view_rate: Series[Double] = field("product_view / sessions. " + _RATE, nullable=True)
    cart_rate: Series[Double] = field("add_to_cart / product_view. " + _RATE, nullable=True)
    checkout_rate: Series[Double] = field("checkout / add_to_cart. " + _RATE, nullable=True)
    purchase_rate: Series[Double] = field("purchase / checkout. " + _RATE, nullable=True)
    overall_conversion_rate: Series[Double] = field("purchase / sessions. " + _RATE, nullable=True)
    late_events: Series[Int] = field(
        "Events of the day that arrived in the next day's delivery.", ge=0
    )


# --------------------------------------------------------------------------------------------
# Data quality (schema ``marts``, owned by the checks): the per-table, per-delivery score history.
# Formula in ``ecommerce_assets/assets/quality.py`` and docs/data-quality.md.
# --------------------------------------------------------------------------------------------
_SHARE = "Share of the day's raw rows without such a defect, in [0, 1] (1 when no rows)."


class DataQualityReport(StrictModel):
    table_name: Series[Text] = field("Landing table.", isin=list(TABLE_NAMES))
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    raw_rows: Series[Int] = field("Records delivered (raw rows).", ge=0)
    staged_rows: Series[Int] = field("Rows that reached the staged table.", ge=0)
    incomplete_rows: Series[Int] = field(
        "Quarantined as malformed_line, null_key or bad_value:*.", ge=0
    )
    duplicate_rows: Series[Int] = field(
        "Exact duplicates removed plus duplicate_key quarantined.", ge=0
    )
    invalid_rows: Series[Int] = field(
        "bad_key, out_of_range:*, future_timestamp quarantined, plus staged rows with an unknown "
        "enumeration value or an invalid e-mail.",
        ge=0,
    )
    inaccurate_rows: Series[Int] = field(
        "Orders whose order_amount differs from Σ line net + shipping by more than 0.01.",
        ge=0,
    )
    inconsistent_rows: Series[Int] = field(
        "orphan_line quarantined plus facts linked to an unknown member (orphan references).",
        ge=0,
    )
    completeness: Series[Double] = field("1 − incomplete_rows / raw_rows. " + _SHARE, ge=0, le=1)
    uniqueness: Series[Double] = field("1 − duplicate_rows / raw_rows. " + _SHARE, ge=0, le=1)
    validity: Series[Double] = field("1 − invalid_rows / raw_rows. " + _SHARE, ge=0, le=1)
    accuracy: Series[Double] = field("1 − inaccurate_rows / raw_rows. " + _SHARE, ge=0, le=1)
    consistency: Series[Double] = field("1 − inconsistent_rows / raw_rows. " + _SHARE, ge=0, le=1)
    quality_score: Series[Double] = field(
        "100 × mean of the five shares, rounded to 0.01 (0-100).", ge=0, le=100
    )
