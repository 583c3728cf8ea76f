"""Dimension models (schema ``marts``): the conformed, versioned members the facts join."""

from __future__ import annotations

from pandera.typing import Series

from ..contract import PAYMENT_METHODS, UNKNOWN
from .common import (
    PM_KEY,
    BigInt,
    Bool,
    Date,
    Decimal10_2,
    Int,
    StrictModel,
    Text,
    Timestamp,
    field,
)

_SK = "Surrogate key: 63-bit hash of (business key, valid_from); 0 = the unknown member."
_VALID_TO = "When the next version became true; 9999-12-31 for the current version."


class DimDate(StrictModel):
    date_key: Series[Int] = field("Day as YYYYMMDD.", unique=True)
    date: Series[Date] = field("The calendar day.", unique=True)
    year: Series[Int] = field("Calendar year.")
    quarter: Series[Int] = field("Calendar quarter 1-4.", ge=1, le=4)
    month: Series[Int] = field("Month 1-12.", ge=1, le=12)
    month_name: Series[Text] = field("English month name, e.g. January.")
    iso_year: Series[Int] = field("ISO-8601 year the ISO week belongs to.")
    iso_week: Series[Int] = field("ISO-8601 week number 1-53.", ge=1, le=53)
    day_of_week: Series[Int] = field("ISO day of week, 1 = Monday ... 7 = Sunday.")
    day_name: Series[Text] = field("English day name, e.g. Monday.")
    is_weekend: Series[Bool] = field("Saturday or Sunday.")
    is_month_end: Series[Bool] = field("Last day of its month.")


class DimPaymentMethod(StrictModel):
    payment_method_key: Series[Int] = field(PM_KEY, unique=True, ge=0)
    payment_method: Series[Text] = field(
        "Contract payment method or 'unknown'.", unique=True, isin=[*PAYMENT_METHODS, UNKNOWN]
    )
    payment_type: Series[Text] = field(
        "Kind of method.", isin=["card", "wallet", "bank", "gift card", UNKNOWN]
    )


class DimUsers(StrictModel):
    user_sk: Series[BigInt] = field(_SK, unique=True, ge=0)
    user_id: Series[BigInt] = field("Business key of the user (-1 for the unknown member).")
    user_name: Series[Text] = field("Display name of this version.")
    email: Series[Text] = field("E-mail of this version; NULL when invalid.", nullable=True)
    country: Series[Text] = field("ISO country code of this version.")
    city: Series[Text] = field("City of this version.")
    signup_date: Series[Date] = field("Day the user signed up.", nullable=True)
    signup_year: Series[Int] = field("Year of signup_date.", nullable=True)
    signup_month: Series[Int] = field("Month (1-12) of signup_date.", nullable=True)
    valid_from: Series[Timestamp] = field("When this version became true (updated_at).")
    valid_to: Series[Timestamp] = field(_VALID_TO)
    is_current: Series[Bool] = field("This is the user's latest version.")


class DimProducts(StrictModel):
    product_sk: Series[BigInt] = field(_SK, unique=True, ge=0)
    product_id: Series[BigInt] = field("Business key of the product (-1 for the unknown member).")
    product_name: Series[Text] = field("Product name of this version.")
    category: Series[Text] = field("Category of this version.")
    subcategory: Series[Text] = field("Subcategory of this version.")
    price: Series[Decimal10_2] = field("List price of this version.", nullable=True)
    cost: Series[Decimal10_2] = field("Unit cost of this version.", nullable=True)
    price_bucket: Series[Text] = field(
        "low < 20.00 <= medium < 75.00 <= high; 'unknown' for the unknown member.",
        isin=["low", "medium", "high", UNKNOWN],
    )
    supplier_id: Series[BigInt] = field("Supplier, when known.", nullable=True)
    valid_from: Series[Timestamp] = field("When this version became true (updated_at).")
    valid_to: Series[Timestamp] = field(_VALID_TO)
    is_current: Series[Bool] = field("This is the product's latest version.")
