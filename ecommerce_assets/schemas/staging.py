"""Staged layer models: typed, trimmed, canonical enumerations; lineage kept for traceability."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from ..contract import (
    CATEGORIES,
    EVENT_TYPES,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    TABLE_NAMES,
    UNKNOWN,
)
from .common import (
    BigInt,
    Bool,
    Date,
    Decimal4_3,
    Decimal10_2,
    Decimal12_2,
    Int,
    StrictModel,
    Text,
    Timestamp,
    field,
)


class StagedLineage(StrictModel):
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone the row came from.")
    line_number: Series[BigInt] = field(
        "Physical line in that file where the record starts (header = 1).", gt=1
    )


class StgUsers(StagedLineage):
    user_id: Series[BigInt] = field("Business key of the user.", gt=0)
    user_name: Series[Text] = field("Display name, trimmed.")
    email: Series[Text] = field("Trimmed, lower-cased e-mail; NULL when invalid.", nullable=True)
    country: Series[Text] = field("ISO 3166-1 alpha-2 country code, upper-case.")
    city: Series[Text] = field("City, trimmed.")
    signup_date: Series[Date] = field("Day the user signed up.")
    updated_at: Series[Timestamp] = field("When this version became true (UTC).")


class StgProducts(StagedLineage):
    product_id: Series[BigInt] = field("Business key of the product.", gt=0)
    product_name: Series[Text] = field("Product name, trimmed.")
    category: Series[Text] = field("Canonical category or 'unknown'.", isin=[*CATEGORIES, UNKNOWN])
    subcategory: Series[Text] = field("Subcategory, trimmed.")
    price: Series[Decimal10_2] = field("List price.", gt=0)
    cost: Series[Decimal10_2] = field("Unit cost, below price.", ge=0)
    supplier_id: Series[BigInt] = field("Supplier, when known.", nullable=True)
    updated_at: Series[Timestamp] = field("When this version became true (UTC).")


class StgOrders(StagedLineage):
    order_id: Series[BigInt] = field("Key of the order (unique within a delivery).", gt=0)
    user_id: Series[BigInt] = field("User who placed the order.", gt=0)
    order_ts: Series[Timestamp] = field("When the order was placed (UTC).")
    status: Series[Text] = field("Final status or 'unknown'.", isin=[*ORDER_STATUSES, UNKNOWN])
    payment_method: Series[Text] = field(
        "Payment method or 'unknown'.", isin=[*PAYMENT_METHODS, UNKNOWN]
    )
    shipping_amount: Series[Decimal10_2] = field("Shipping charged.", ge=0)
    order_amount: Series[Decimal12_2] = field("Order total as sent by source.", ge=0)


class StgOrderItems(StagedLineage):
    order_item_id: Series[BigInt] = field("Key of the order line.", gt=0)
    order_id: Series[BigInt] = field("Order of the same delivery.", gt=0)
    product_id: Series[BigInt] = field("Product ordered.", gt=0)
    quantity: Series[Int] = field("Units ordered.", ge=1)
    unit_price: Series[Decimal10_2] = field("Price per unit at order time.", gt=0)
    discount: Series[Decimal4_3] = field("Discount rate.", ge=0, lt=1)


class StgEvents(StagedLineage):
    event_id: Series[BigInt] = field("Key of the event.", gt=0)
    session_id: Series[Text] = field("Click-stream session.")
    user_id: Series[BigInt] = field("User; NULL for anonymous visitors.", nullable=True)
    event_type: Series[Text] = field("Funnel step or 'unknown'.", isin=[*EVENT_TYPES, UNKNOWN])
    product_id: Series[BigInt] = field("Product of a product event.", nullable=True)
    event_ts: Series[Timestamp] = field("When the event happened (UTC).")
    event_value: Series[Decimal12_2] = field("Order value of a purchase.", nullable=True, ge=0)
    is_late_arrival: Series[Bool] = field("event_ts falls on the day before its delivery.")


class StgReviews(StagedLineage):
    review_id: Series[BigInt] = field("Key of the review.", gt=0)
    product_id: Series[BigInt] = field("Product reviewed.", gt=0)
    user_id: Series[BigInt] = field("Author.", gt=0)
    rating: Series[Int] = field("Stars.", ge=1, le=5)
    review_text: Series[Text] = field("Free text.", nullable=True)
    review_date: Series[Date] = field("Day the review was written.")
    helpful_votes: Series[Int] = field("Helpful votes.", ge=0)


class StgQuarantine(StrictModel):
    table_name: Series[Text] = field("Landing table the row came from.", isin=list(TABLE_NAMES))
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone.")
    line_number: Series[BigInt] = field(
        "Physical line in that file where the record starts (header = 1).", gt=1
    )
    reason: Series[Text] = field("Why the row was quarantined, e.g. bad_value:quantity.")
    raw_values: Series[Text] = field("The row as delivered, as a JSON object of text values.")


class StgLoadAudit(StrictModel):
    table_name: Series[Text] = field("Landing table.", isin=list(TABLE_NAMES))
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    raw_rows: Series[BigInt] = field("Records in the raw table for this day.", ge=0)
    staged_rows: Series[BigInt] = field("Rows that reached the staged table.", ge=0)
    quarantined_rows: Series[BigInt] = field("Rows sent to stg_quarantine.", ge=0)
    exact_duplicates: Series[BigInt] = field("Exact duplicate rows removed.", ge=0)
    repaired_rows: Series[BigInt] = field("Staged rows with whitespace/case repaired.", ge=0)
    unknown_values: Series[BigInt] = field(
        "Staged rows with an enumeration set to 'unknown'.", ge=0
    )
    invalid_emails: Series[BigInt] = field("Staged rows whose e-mail was invalid (set NULL).", ge=0)


STAGED_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "users": StgUsers,
    "products": StgProducts,
    "orders": StgOrders,
    "order_items": StgOrderItems,
    "events": StgEvents,
    "reviews": StgReviews,
}
