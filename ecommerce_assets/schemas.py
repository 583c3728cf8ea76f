"""Pandera models: the typed contract of every table the platform writes, in one place.

Each model types an asset's output (``pandera_schema_to_dagster_type``), so a violation fails the
step naming column and values, and its descriptions become the asset's ``dagster/column_schema``.
A column's warehouse type is ``metadata={"sql_type": ...}`` where pandas has no exact dtype
(DECIMAL money, DATE, INTEGER); otherwise it follows the pandas dtype.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa
from dagster_pandera import pandera_schema_to_dagster_type
from pandera.typing import Series

from .contract import CATEGORIES, EVENT_TYPES, ORDER_STATUSES, PAYMENT_METHODS, TABLE_NAMES, UNKNOWN

# Text columns are declared as pandas ``object`` columns. Pandera's ``str`` dtype check maps a
# Python isinstance over every value (0.34 s per million values per column, measured: a third of
# the scale-60 build's validation time); DuckDB's VARCHAR already guarantees str-or-NULL values,
# and value checks (``isin``, nullability) still run on them.
Text = object


def field(description: str, sql_type: str | None = None, **checks: Any) -> Any:
    """A Pandera field with a description and, optionally, its warehouse column type."""
    return pa.Field(
        description=description, metadata={"sql_type": sql_type} if sql_type else None, **checks
    )


_TEXT = "As delivered (text); NULL when empty or when the line was malformed."


# --------------------------------------------------------------------------------------------
# Raw layer: every delivered column as text plus lineage. One model per table.
# --------------------------------------------------------------------------------------------
class RawLineage(pa.DataFrameModel):
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[Text] = field("File within the landing zone, e.g. 2024-03-17/orders.csv.")
    line_number: Series[int] = field("CSV record number in the file (header = 1).", gt=1)
    ingested_at: Series[pd.Timestamp] = field("When the run read the file (UTC).")
    raw_line: Series[Text] = field("The raw text of a malformed line, else NULL.", nullable=True)
    parse_error: Series[Text] = field(
        "DuckDB's reason a line is malformed, else NULL.", nullable=True
    )

    class Config:
        strict = True


class RawUsers(RawLineage):
    user_id: Series[Text] = field(_TEXT, nullable=True)
    user_name: Series[Text] = field(_TEXT, nullable=True)
    email: Series[Text] = field(_TEXT, nullable=True)
    country: Series[Text] = field(_TEXT, nullable=True)
    city: Series[Text] = field(_TEXT, nullable=True)
    signup_date: Series[Text] = field(_TEXT, nullable=True)
    updated_at: Series[Text] = field(_TEXT, nullable=True)


class RawProducts(RawLineage):
    product_id: Series[Text] = field(_TEXT, nullable=True)
    product_name: Series[Text] = field(_TEXT, nullable=True)
    category: Series[Text] = field(_TEXT, nullable=True)
    subcategory: Series[Text] = field(_TEXT, nullable=True)
    price: Series[Text] = field(_TEXT, nullable=True)
    cost: Series[Text] = field(_TEXT, nullable=True)
    supplier_id: Series[Text] = field(_TEXT, nullable=True)
    updated_at: Series[Text] = field(_TEXT, nullable=True)


class RawOrders(RawLineage):
    order_id: Series[Text] = field(_TEXT, nullable=True)
    user_id: Series[Text] = field(_TEXT, nullable=True)
    order_ts: Series[Text] = field(_TEXT, nullable=True)
    status: Series[Text] = field(_TEXT, nullable=True)
    payment_method: Series[Text] = field(_TEXT, nullable=True)
    shipping_amount: Series[Text] = field(_TEXT, nullable=True)
    order_amount: Series[Text] = field(_TEXT, nullable=True)


class RawOrderItems(RawLineage):
    order_item_id: Series[Text] = field(_TEXT, nullable=True)
    order_id: Series[Text] = field(_TEXT, nullable=True)
    product_id: Series[Text] = field(_TEXT, nullable=True)
    quantity: Series[Text] = field(_TEXT, nullable=True)
    unit_price: Series[Text] = field(_TEXT, nullable=True)
    discount: Series[Text] = field(_TEXT, nullable=True)


class RawEvents(RawLineage):
    event_id: Series[Text] = field(_TEXT, nullable=True)
    session_id: Series[Text] = field(_TEXT, nullable=True)
    user_id: Series[Text] = field(_TEXT, nullable=True)
    event_type: Series[Text] = field(_TEXT, nullable=True)
    product_id: Series[Text] = field(_TEXT, nullable=True)
    event_ts: Series[Text] = field(_TEXT, nullable=True)
    event_value: Series[Text] = field(_TEXT, nullable=True)


class RawReviews(RawLineage):
    review_id: Series[Text] = field(_TEXT, nullable=True)
    product_id: Series[Text] = field(_TEXT, nullable=True)
    user_id: Series[Text] = field(_TEXT, nullable=True)
    rating: Series[Text] = field(_TEXT, nullable=True)
    review_text: Series[Text] = field(_TEXT, nullable=True)
    review_date: Series[Text] = field(_TEXT, nullable=True)
    helpful_votes: Series[Text] = field(_TEXT, nullable=True)


# --------------------------------------------------------------------------------------------
# Staged layer: typed, trimmed, canonical enumerations; lineage kept for traceability.
# --------------------------------------------------------------------------------------------
class StagedLineage(pa.DataFrameModel):
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[Text] = field("File within the landing zone the row came from.")
    line_number: Series[int] = field("CSV record number in that file (header = 1).", gt=1)

    class Config:
        strict = True


class StgUsers(StagedLineage):
    user_id: Series[int] = field("Business key of the user.", gt=0)
    user_name: Series[Text] = field("Display name, trimmed.")
    email: Series[Text] = field("Trimmed, lower-cased e-mail; NULL when invalid.", nullable=True)
    country: Series[Text] = field("ISO 3166-1 alpha-2 country code, upper-case.")
    city: Series[Text] = field("City, trimmed.")
    signup_date: Series[pd.Timestamp] = field("Day the user signed up.", "DATE")
    updated_at: Series[pd.Timestamp] = field("When this version became true (UTC).")


class StgProducts(StagedLineage):
    product_id: Series[int] = field("Business key of the product.", gt=0)
    product_name: Series[Text] = field("Product name, trimmed.")
    category: Series[Text] = field("Canonical category or 'unknown'.", isin=[*CATEGORIES, UNKNOWN])
    subcategory: Series[Text] = field("Subcategory, trimmed.")
    price: Series[float] = field("List price.", "DECIMAL(10,2)", gt=0)
    cost: Series[float] = field("Unit cost, below price.", "DECIMAL(10,2)", ge=0)
    supplier_id: Series[pd.Int64Dtype] = field("Supplier, when known.", nullable=True)
    updated_at: Series[pd.Timestamp] = field("When this version became true (UTC).")


class StgOrders(StagedLineage):
    order_id: Series[int] = field("Key of the order (unique within a delivery).", gt=0)
    user_id: Series[int] = field("User who placed the order.", gt=0)
    order_ts: Series[pd.Timestamp] = field("When the order was placed (UTC).")
    status: Series[Text] = field("Final status or 'unknown'.", isin=[*ORDER_STATUSES, UNKNOWN])
    payment_method: Series[Text] = field(
        "Payment method or 'unknown'.", isin=[*PAYMENT_METHODS, UNKNOWN]
    )
    shipping_amount: Series[float] = field("Shipping charged.", "DECIMAL(10,2)", ge=0)
    order_amount: Series[float] = field("Order total as sent by source.", "DECIMAL(12,2)", ge=0)


class StgOrderItems(StagedLineage):
    order_item_id: Series[int] = field("Key of the order line.", gt=0)
    order_id: Series[int] = field("Order of the same delivery.", gt=0)
    product_id: Series[int] = field("Product ordered.", gt=0)
    quantity: Series[int] = field("Units ordered.", "INTEGER", ge=1)
    unit_price: Series[float] = field("Price per unit at order time.", "DECIMAL(10,2)", gt=0)
    discount: Series[float] = field("Discount rate.", "DECIMAL(4,3)", ge=0, lt=1)


class StgEvents(StagedLineage):
    event_id: Series[int] = field("Key of the event.", gt=0)
    session_id: Series[Text] = field("Click-stream session.")
    user_id: Series[pd.Int64Dtype] = field("User; NULL for anonymous visitors.", nullable=True)
    event_type: Series[Text] = field("Funnel step or 'unknown'.", isin=[*EVENT_TYPES, UNKNOWN])
    product_id: Series[pd.Int64Dtype] = field("Product of a product event.", nullable=True)
    event_ts: Series[pd.Timestamp] = field("When the event happened (UTC).")
    event_value: Series[float] = field(
        "Order value of a purchase.", "DECIMAL(12,2)", nullable=True, ge=0
    )
    is_late_arrival: Series[bool] = field("event_ts falls on the day before its delivery.")


class StgReviews(StagedLineage):
    review_id: Series[int] = field("Key of the review.", gt=0)
    product_id: Series[int] = field("Product reviewed.", gt=0)
    user_id: Series[int] = field("Author.", gt=0)
    rating: Series[int] = field("Stars.", "INTEGER", ge=1, le=5)
    review_text: Series[Text] = field("Free text.", nullable=True)
    review_date: Series[pd.Timestamp] = field("Day the review was written.", "DATE")
    helpful_votes: Series[int] = field("Helpful votes.", "INTEGER", ge=0)


class StgQuarantine(pa.DataFrameModel):
    table_name: Series[Text] = field("Landing table the row came from.", isin=list(TABLE_NAMES))
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[Text] = field("File within the landing zone.")
    line_number: Series[int] = field("CSV record number in that file (header = 1).", gt=1)
    reason: Series[Text] = field("Why the row was quarantined, e.g. bad_value:quantity.")
    raw_values: Series[Text] = field("The row as delivered, as a JSON object of text values.")

    class Config:
        strict = True


class StgLoadAudit(pa.DataFrameModel):
    table_name: Series[Text] = field("Landing table.", isin=list(TABLE_NAMES))
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    raw_rows: Series[int] = field("Records in the raw table for this day.", ge=0)
    staged_rows: Series[int] = field("Rows that reached the staged table.", ge=0)
    quarantined_rows: Series[int] = field("Rows sent to stg_quarantine.", ge=0)
    exact_duplicates: Series[int] = field("Exact duplicate rows removed.", ge=0)
    repaired_rows: Series[int] = field("Staged rows with whitespace/case repaired.", ge=0)
    unknown_values: Series[int] = field("Staged rows with an enumeration set to 'unknown'.", ge=0)
    invalid_emails: Series[int] = field("Staged rows whose e-mail was invalid (set NULL).", ge=0)

    class Config:
        strict = True


RAW_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "users": RawUsers,
    "products": RawProducts,
    "orders": RawOrders,
    "order_items": RawOrderItems,
    "events": RawEvents,
    "reviews": RawReviews,
}
STAGED_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "users": StgUsers,
    "products": StgProducts,
    "orders": StgOrders,
    "order_items": StgOrderItems,
    "events": StgEvents,
    "reviews": StgReviews,
}

# --------------------------------------------------------------------------------------------
# Helpers that turn a model into what Dagster and the I/O manager need.
# --------------------------------------------------------------------------------------------
_DEFAULT_SQL = {
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "int32": "INTEGER",
    "Int32": "INTEGER",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    "str": "VARCHAR",
    "object": "VARCHAR",
    "datetime64[ns]": "TIMESTAMP",
}


def sql_type(column: pa.Column) -> str:
    meta = column.metadata or {}
    return meta.get("sql_type") or _DEFAULT_SQL[str(column.dtype)]


_LINEAGE_BASES = (RawLineage, StagedLineage)


def model_columns(model: type[pa.DataFrameModel]) -> dict[str, pa.Column]:
    """The model's columns in table order: a table's own columns first, lineage columns last."""
    columns = model.to_schema().columns
    lineage: set[str] = set()
    for base in _LINEAGE_BASES:
        if issubclass(model, base) and model is not base:
            lineage |= set(base.to_schema().columns)
    own = {n: c for n, c in columns.items() if n not in lineage}
    return own | {n: c for n, c in columns.items() if n in lineage}


def table_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """The model as a ``dagster/column_schema``: warehouse types, descriptions, constraints."""
    columns = []
    for name, column in model_columns(model).items():
        columns.append(
            dg.TableColumn(
                name=name,
                type=sql_type(column),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable,
                    unique=column.unique,
                    other=[str(check.error or check.name) for check in column.checks],
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def dagster_type(model: type[pa.DataFrameModel]) -> dg.DagsterType:
    return pandera_schema_to_dagster_type(model)


def conform(df: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """Columns in model order with the model's pandas dtypes (DuckDB's dtypes vary with NULLs)."""
    out = pd.DataFrame(index=df.index)
    for name, column in model_columns(model).items():
        series = df[name] if name in df.columns else pd.Series(None, index=df.index, dtype=object)
        dtype = str(column.dtype)
        if dtype in ("str", "object"):
            series = series.astype(object).where(series.notna(), None)
        elif dtype == "datetime64[ns]":
            series = pd.to_datetime(series).astype("datetime64[ns]")
        else:
            series = column.dtype.coerce(series)
        out[name] = series
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Dimensions, facts, aggregates (schema ``marts``): the star schema analysts query.
# Money is float64 in pandas and an exact DECIMAL in the warehouse (computed in DECIMAL upstream).
# --------------------------------------------------------------------------------------------
_SK = "Surrogate key: 63-bit hash of (business key, valid_from); 0 = the unknown member."
_DATE_KEY = "Calendar day as YYYYMMDD, joins dim_date."
_PM_KEY = "Payment method key, joins dim_payment_method (0 = unknown)."
_VALID_TO = "When the next version became true; 9999-12-31 for the current version."


class DimDate(pa.DataFrameModel):
    date_key: Series[int] = field("Day as YYYYMMDD.", "INTEGER", unique=True)
    date: Series[pd.Timestamp] = field("The calendar day.", "DATE", unique=True)
    year: Series[int] = field("Calendar year.", "INTEGER")
    quarter: Series[int] = field("Calendar quarter 1-4.", "INTEGER", ge=1, le=4)
    month: Series[int] = field("Month 1-12.", "INTEGER", ge=1, le=12)
    month_name: Series[Text] = field("English month name, e.g. January.")
    iso_year: Series[int] = field("ISO-8601 year the ISO week belongs to.", "INTEGER")
    iso_week: Series[int] = field("ISO-8601 week number 1-53.", "INTEGER", ge=1, le=53)
    day_of_week: Series[int] = field("ISO day of week, 1 = Monday ... 7 = Sunday.", "INTEGER")
    day_name: Series[Text] = field("English day name, e.g. Monday.")
    is_weekend: Series[bool] = field("Saturday or Sunday.")
    is_month_end: Series[bool] = field("Last day of its month.")

    class Config:
        strict = True


class DimPaymentMethod(pa.DataFrameModel):
    payment_method_key: Series[int] = field(_PM_KEY, "INTEGER", unique=True, ge=0)
    payment_method: Series[Text] = field(
        "Contract payment method or 'unknown'.", unique=True, isin=[*PAYMENT_METHODS, UNKNOWN]
    )
    payment_type: Series[Text] = field(
        "Kind of method.", isin=["card", "wallet", "bank", "gift card", UNKNOWN]
    )

    class Config:
        strict = True


class DimUsers(pa.DataFrameModel):
    user_sk: Series[int] = field(_SK, unique=True, ge=0)
    user_id: Series[int] = field("Business key of the user (-1 for the unknown member).")
    user_name: Series[Text] = field("Display name of this version.")
    email: Series[Text] = field("E-mail of this version; NULL when invalid.", nullable=True)
    country: Series[Text] = field("ISO country code of this version.")
    city: Series[Text] = field("City of this version.")
    signup_date: Series[pd.Timestamp] = field("Day the user signed up.", "DATE", nullable=True)
    signup_year: Series[pd.Int64Dtype] = field("Year of signup_date.", "INTEGER", nullable=True)
    signup_month: Series[pd.Int64Dtype] = field(
        "Month (1-12) of signup_date.", "INTEGER", nullable=True
    )
    valid_from: Series[pd.Timestamp] = field("When this version became true (updated_at).")
    valid_to: Series[pd.Timestamp] = field(_VALID_TO)
    is_current: Series[bool] = field("This is the user's latest version.")

    class Config:
        strict = True


class DimProducts(pa.DataFrameModel):
    product_sk: Series[int] = field(_SK, unique=True, ge=0)
    product_id: Series[int] = field("Business key of the product (-1 for the unknown member).")
    product_name: Series[Text] = field("Product name of this version.")
    category: Series[Text] = field("Category of this version.")
    subcategory: Series[Text] = field("Subcategory of this version.")
    price: Series[float] = field("List price of this version.", "DECIMAL(10,2)", nullable=True)
    cost: Series[float] = field("Unit cost of this version.", "DECIMAL(10,2)", nullable=True)
    price_bucket: Series[Text] = field(
        "low < 20.00 <= medium < 75.00 <= high; 'unknown' for the unknown member.",
        isin=["low", "medium", "high", UNKNOWN],
    )
    supplier_id: Series[pd.Int64Dtype] = field("Supplier, when known.", nullable=True)
    valid_from: Series[pd.Timestamp] = field("When this version became true (updated_at).")
    valid_to: Series[pd.Timestamp] = field(_VALID_TO)
    is_current: Series[bool] = field("This is the product's latest version.")

    class Config:
        strict = True


class FactOrders(pa.DataFrameModel):
    order_id: Series[int] = field("Key of the order.", gt=0)
    user_id: Series[int] = field("Source user id (degenerate; kept for orphans too).")
    user_sk: Series[int] = field("dim_users version valid at order_ts (0 = unknown).", ge=0)
    date_key: Series[int] = field(_DATE_KEY, "INTEGER")
    payment_method_key: Series[int] = field(_PM_KEY, "INTEGER", ge=0)
    status: Series[Text] = field("Final status.", isin=[*ORDER_STATUSES, UNKNOWN])
    item_count: Series[int] = field("Order lines.", "INTEGER", ge=0)
    units: Series[int] = field("Units over all lines.", "INTEGER", ge=0)
    gross: Series[float] = field("Σ quantity × unit_price.", "DECIMAL(14,2)", ge=0)
    discount: Series[float] = field("gross − Σ line net.", "DECIMAL(14,2)", ge=0)
    shipping: Series[float] = field("Shipping charged.", "DECIMAL(10,2)", ge=0)
    net: Series[float] = field("Σ line net + shipping.", "DECIMAL(14,2)", ge=0)
    order_amount: Series[float] = field("Order total as sent by the source.", "DECIMAL(12,2)")
    is_amount_mismatch: Series[bool] = field("|order_amount − net| > 0.01.")
    order_ts: Series[pd.Timestamp] = field("When the order was placed (UTC).")
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")

    class Config:
        strict = True


class FactOrderItems(pa.DataFrameModel):
    order_item_id: Series[int] = field("Key of the order line.", gt=0)
    order_id: Series[int] = field("Order of the line, joins fact_orders.", gt=0)
    product_id: Series[int] = field("Source product id (degenerate; kept for orphans too).")
    product_sk: Series[int] = field("dim_products version valid at order_ts.", ge=0)
    user_sk: Series[int] = field("dim_users version valid at order_ts.", ge=0)
    date_key: Series[int] = field(_DATE_KEY, "INTEGER")
    payment_method_key: Series[int] = field(_PM_KEY, "INTEGER", ge=0)
    quantity: Series[int] = field("Units ordered.", "INTEGER", ge=1)
    unit_price: Series[float] = field("Price per unit at order time.", "DECIMAL(10,2)", gt=0)
    discount: Series[float] = field("Discount rate.", "DECIMAL(4,3)", ge=0, lt=1)
    line_gross: Series[float] = field("quantity × unit_price.", "DECIMAL(14,2)", ge=0)
    line_discount: Series[float] = field("line_gross − line_net.", "DECIMAL(14,2)", ge=0)
    line_net: Series[float] = field(
        "round(quantity × unit_price × (1 − discount), 2), half away from zero.",
        "DECIMAL(14,2)",
        ge=0,
    )
    unit_cost: Series[float] = field(
        "Cost of the product version valid at order time; NULL for unknown products.",
        "DECIMAL(10,2)",
        nullable=True,
    )
    margin: Series[float] = field(
        "line_net − quantity × unit_cost; NULL for unknown products.",
        "DECIMAL(14,2)",
        nullable=True,
    )
    order_status: Series[Text] = field("Status of the order.", isin=[*ORDER_STATUSES, UNKNOWN])
    order_ts: Series[pd.Timestamp] = field("When the order was placed (UTC).")
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")

    class Config:
        strict = True


class FactEvents(pa.DataFrameModel):
    event_id: Series[int] = field("Key of the event.", gt=0)
    session_id: Series[Text] = field("Click-stream session.")
    user_id: Series[pd.Int64Dtype] = field("Source user id; NULL when anonymous.", nullable=True)
    user_sk: Series[int] = field("dim_users version at event_ts; 0 = anonymous/unknown.", ge=0)
    product_sk: Series[int] = field("dim_products version at event_ts; 0 = none/unknown.", ge=0)
    event_type: Series[Text] = field("Funnel step.", isin=[*EVENT_TYPES, UNKNOWN])
    event_ts: Series[pd.Timestamp] = field("When the event happened (UTC).")
    event_date: Series[pd.Timestamp] = field("Day of event_ts (the business date).", "DATE")
    event_hour: Series[int] = field("Hour of event_ts, 0-23.", "INTEGER", ge=0, le=23)
    date_key: Series[int] = field(_DATE_KEY + " (of event_date).", "INTEGER")
    event_value: Series[float] = field("Order value of a purchase.", "DECIMAL(12,2)", nullable=True)
    is_late_arrival: Series[bool] = field("Arrived in the delivery after its event_date.")
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")

    class Config:
        strict = True


class FactReviews(pa.DataFrameModel):
    review_id: Series[int] = field("Key of the review.", gt=0)
    product_id: Series[int] = field("Source product id.")
    product_sk: Series[int] = field("dim_products version valid at the end of review_date.", ge=0)
    user_sk: Series[int] = field("dim_users version valid at the end of review_date.", ge=0)
    date_key: Series[int] = field(_DATE_KEY + " (of review_date).", "INTEGER")
    rating: Series[int] = field("Stars.", "INTEGER", ge=1, le=5)
    review_text: Series[Text] = field("Free text.", nullable=True)
    text_length: Series[int] = field("Characters in review_text (0 when NULL).", "INTEGER", ge=0)
    helpful_votes: Series[int] = field("Helpful votes.", "INTEGER", ge=0)
    review_date: Series[pd.Timestamp] = field("Day the review was written.", "DATE")
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")

    class Config:
        strict = True


_RATE = "Share in [0, 1]; NULL when the denominator is 0."


class AggDailySales(pa.DataFrameModel):
    business_date: Series[pd.Timestamp] = field("Order day (the partition).", "DATE")
    date_key: Series[int] = field(_DATE_KEY, "INTEGER")
    orders: Series[int] = field("Orders placed, any status.", "INTEGER", ge=0)
    cancelled_orders: Series[int] = field("Orders with status cancelled.", "INTEGER", ge=0)
    returned_orders: Series[int] = field("Orders with status returned.", "INTEGER", ge=0)
    units: Series[int] = field("Units of non-cancelled orders.", "BIGINT", ge=0)
    gross_sales: Series[float] = field("Σ gross, non-cancelled.", "DECIMAL(18,2)", ge=0)
    discounts: Series[float] = field("Σ discount, non-cancelled.", "DECIMAL(18,2)", ge=0)
    shipping: Series[float] = field("Σ shipping, non-cancelled.", "DECIMAL(18,2)", ge=0)
    net_revenue: Series[float] = field(
        "Σ net (line nets + shipping) of non-cancelled orders.", "DECIMAL(18,2)", ge=0
    )
    average_order_value: Series[float] = field(
        "net_revenue / non-cancelled orders, to the cent; NULL without orders.",
        "DECIMAL(18,2)",
        nullable=True,
    )
    unique_customers: Series[int] = field("Users with a non-cancelled order.", "INTEGER", ge=0)
    new_customers: Series[int] = field(
        "unique_customers whose first non-cancelled order ever is on this day.", "INTEGER", ge=0
    )
    returning_customers: Series[int] = field("unique_customers − new_customers.", "INTEGER")
    cancellation_rate: Series[float] = field("cancelled_orders / orders. " + _RATE, nullable=True)
    return_rate: Series[float] = field("returned_orders / orders. " + _RATE, nullable=True)

    class Config:
        strict = True


class AggProductPerformance(pa.DataFrameModel):
    product_id: Series[int] = field("Business key (-1 = orders of unknown products).")
    product_sk: Series[int] = field("Current version in dim_products.", ge=0)
    product_name: Series[Text] = field("Current name.")
    category: Series[Text] = field("Current category.")
    units: Series[int] = field("Units sold in non-cancelled orders.", "BIGINT", ge=0)
    revenue: Series[float] = field("Σ line_net, non-cancelled orders.", "DECIMAL(18,2)")
    margin: Series[float] = field(
        "Σ margin, non-cancelled orders (NULL costs count 0).", "DECIMAL(18,2)"
    )
    orders: Series[int] = field("Non-cancelled orders containing the product.", "INTEGER")
    average_rating: Series[float] = field("Mean rating of its reviews.", nullable=True)
    review_count: Series[int] = field("Reviews of the product.", "INTEGER", ge=0)
    return_rate: Series[float] = field(
        "Returned orders / non-cancelled orders containing it. " + _RATE, nullable=True
    )
    category_rank: Series[int] = field(
        "RANK() by revenue (desc) within the category; ties share a rank.", "INTEGER", ge=1
    )

    class Config:
        strict = True


class AggCustomerLifetime(pa.DataFrameModel):
    user_id: Series[int] = field("Business key of the customer.")
    user_sk: Series[int] = field("Current version in dim_users (0 = unknown user).", ge=0)
    first_order_ts: Series[pd.Timestamp] = field("First non-cancelled order.")
    last_order_ts: Series[pd.Timestamp] = field("Last non-cancelled order.")
    orders: Series[int] = field("Non-cancelled orders.", "INTEGER", ge=1)
    revenue: Series[float] = field("Σ net of non-cancelled orders.", "DECIMAL(18,2)", ge=0)
    average_order_value: Series[float] = field("revenue / orders, to the cent.", "DECIMAL(18,2)")
    as_of_date: Series[pd.Timestamp] = field("Last delivery day in the data.", "DATE")
    days_since_last_order: Series[int] = field("as_of_date − date(last_order_ts).", "INTEGER")
    is_active: Series[bool] = field("days_since_last_order <= 90.")
    ltv_estimate: Series[float] = field(
        "revenue + (active ? average_order_value × annual order rate : 0); see docs.",
        "DECIMAL(18,2)",
    )
    recency_score: Series[int] = field("R score 1-5 (fixed thresholds, see docs).", "INTEGER")
    frequency_score: Series[int] = field("F score 1-5.", "INTEGER", ge=1, le=5)
    monetary_score: Series[int] = field("M score 1-5.", "INTEGER", ge=1, le=5)
    rfm_segment: Series[Text] = field(
        "champions, loyal, new, at_risk, hibernating or potential.",
        isin=["champions", "loyal", "new", "at_risk", "hibernating", "potential"],
    )

    class Config:
        strict = True


class AggConversionFunnel(pa.DataFrameModel):
    business_date: Series[pd.Timestamp] = field("Event day (the partition).", "DATE")
    date_key: Series[int] = field(_DATE_KEY, "INTEGER")
    sessions: Series[int] = field("Sessions with any event on the day.", "INTEGER", ge=0)
    product_view_sessions: Series[int] = field("Sessions with a product_view.", "INTEGER")
    add_to_cart_sessions: Series[int] = field("Sessions with an add_to_cart.", "INTEGER")
    checkout_sessions: Series[int] = field("Sessions with a checkout.", "INTEGER")
    purchase_sessions: Series[int] = field("Sessions with a purchase.", "INTEGER")
    view_rate: Series[float] = field("product_view / sessions. " + _RATE, nullable=True)
    cart_rate: Series[float] = field("add_to_cart / product_view. " + _RATE, nullable=True)
    checkout_rate: Series[float] = field("checkout / add_to_cart. " + _RATE, nullable=True)
    purchase_rate: Series[float] = field("purchase / checkout. " + _RATE, nullable=True)
    overall_conversion_rate: Series[float] = field("purchase / sessions. " + _RATE, nullable=True)
    late_events: Series[int] = field(
        "Events of the day that arrived in the next day's delivery.", "INTEGER", ge=0
    )

    class Config:
        strict = True


# --------------------------------------------------------------------------------------------
# Data quality (schema ``marts``, owned by the checks): the per-table, per-delivery score history.
# Formula in ``ecommerce_assets/assets/quality.py`` and the README.
# --------------------------------------------------------------------------------------------
_SHARE = "Share of the day's raw rows without such a defect, in [0, 1] (1 when no rows)."


class DataQualityReport(pa.DataFrameModel):
    table_name: Series[Text] = field("Landing table.", isin=list(TABLE_NAMES))
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    raw_rows: Series[int] = field("Records delivered (raw rows).", "INTEGER", ge=0)
    staged_rows: Series[int] = field("Rows that reached the staged table.", "INTEGER", ge=0)
    incomplete_rows: Series[int] = field(
        "Quarantined as malformed_line, null_key or bad_value:*.", "INTEGER", ge=0
    )
    duplicate_rows: Series[int] = field(
        "Exact duplicates removed plus duplicate_key quarantined.", "INTEGER", ge=0
    )
    invalid_rows: Series[int] = field(
        "bad_key, out_of_range:*, future_timestamp quarantined, plus staged rows with an unknown "
        "enumeration value or an invalid e-mail.",
        "INTEGER",
        ge=0,
    )
    inaccurate_rows: Series[int] = field(
        "Orders whose order_amount differs from Σ line net + shipping by more than 0.01.",
        "INTEGER",
        ge=0,
    )
    inconsistent_rows: Series[int] = field(
        "orphan_line quarantined plus facts linked to an unknown member (orphan references).",
        "INTEGER",
        ge=0,
    )
    completeness: Series[float] = field("1 − incomplete_rows / raw_rows. " + _SHARE, ge=0, le=1)
    uniqueness: Series[float] = field("1 − duplicate_rows / raw_rows. " + _SHARE, ge=0, le=1)
    validity: Series[float] = field("1 − invalid_rows / raw_rows. " + _SHARE, ge=0, le=1)
    accuracy: Series[float] = field("1 − inaccurate_rows / raw_rows. " + _SHARE, ge=0, le=1)
    consistency: Series[float] = field("1 − inconsistent_rows / raw_rows. " + _SHARE, ge=0, le=1)
    quality_score: Series[float] = field(
        "100 × mean of the five shares, rounded to 0.01 (0-100).", ge=0, le=100
    )

    class Config:
        strict = True
