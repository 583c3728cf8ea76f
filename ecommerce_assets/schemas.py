"""Pandera models: the typed contract of every table the platform writes, in one place.

Each model types an asset's output (``pandera_schema_to_dagster_type``), so a violation fails the
step naming column and values, and its descriptions become the asset's ``dagster/column_schema``.
A column's warehouse type follows its Arrow dtype (``string`` is VARCHAR, ``decimal128(10, 2)``
is DECIMAL(10,2), ``date32`` is DATE, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa
import pyarrow
from dagster_pandera import pandera_schema_to_dagster_type
from pandera.typing import Series

from .contract import CATEGORIES, EVENT_TYPES, ORDER_STATUSES, PAYMENT_METHODS, TABLE_NAMES, UNKNOWN
from .slices import DailyFrames

# Every column is Arrow-backed (``pd.ArrowDtype``), exactly the warehouse's type: DuckDB hands
# tables to pandas as Arrow without a Python object per value, money stays an exact DECIMAL, and
# the I/O manager writes them back from Arrow. Pandera validates these dtypes as they are.
Text = Annotated[pd.ArrowDtype, pyarrow.string()]
BigInt = Annotated[pd.ArrowDtype, pyarrow.int64()]
Int = Annotated[pd.ArrowDtype, pyarrow.int32()]
Bool = Annotated[pd.ArrowDtype, pyarrow.bool_()]
Double = Annotated[pd.ArrowDtype, pyarrow.float64()]
Date = Annotated[pd.ArrowDtype, pyarrow.date32()]
Timestamp = Annotated[pd.ArrowDtype, pyarrow.timestamp("us")]
Decimal4_3 = Annotated[pd.ArrowDtype, pyarrow.decimal128(4, 3)]
Decimal10_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(10, 2)]
Decimal12_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(12, 2)]
Decimal14_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(14, 2)]
Decimal18_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(18, 2)]


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
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone, e.g. 2024-03-17/orders.csv.")
    line_number: Series[BigInt] = field("CSV record number in the file (header = 1).", gt=1)
    ingested_at: Series[Timestamp] = field("When the run read the file (UTC).")
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
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone the row came from.")
    line_number: Series[BigInt] = field("CSV record number in that file (header = 1).", gt=1)

    class Config:
        strict = True


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


class StgQuarantine(pa.DataFrameModel):
    table_name: Series[Text] = field("Landing table the row came from.", isin=list(TABLE_NAMES))
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone.")
    line_number: Series[BigInt] = field("CSV record number in that file (header = 1).", gt=1)
    reason: Series[Text] = field("Why the row was quarantined, e.g. bad_value:quantity.")
    raw_values: Series[Text] = field("The row as delivered, as a JSON object of text values.")

    class Config:
        strict = True


class StgLoadAudit(pa.DataFrameModel):
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
_SQL_BY_ARROW = {
    pyarrow.string(): "VARCHAR",
    pyarrow.large_string(): "VARCHAR",
    pyarrow.int64(): "BIGINT",
    pyarrow.int32(): "INTEGER",
    pyarrow.bool_(): "BOOLEAN",
    pyarrow.float64(): "DOUBLE",
    pyarrow.date32(): "DATE",
    pyarrow.timestamp("us"): "TIMESTAMP",
}


def arrow_type(column: pa.Column) -> pyarrow.DataType:
    """The Arrow type a model column declares."""
    return column.dtype.type.pyarrow_dtype


def sql_type(column: pa.Column) -> str:
    """The warehouse type of a model column (``sql_type`` metadata wins, else its Arrow type)."""
    meta = column.metadata or {}
    if meta.get("sql_type"):
        return meta["sql_type"]
    arrow = arrow_type(column)
    if pyarrow.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision},{arrow.scale})"
    return _SQL_BY_ARROW[arrow]


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
    """The model as a Dagster type (dagster-pandera's: column descriptions in the UI).

    A frame is validated whole. ``DailyFrames`` is validated chunk by chunk as the I/O manager
    writes it: dagster-pandera can only validate a whole frame, which for a range would mean
    holding the range in memory. A failing chunk fails the write, and nothing is written.
    """
    frame_type = pandera_schema_to_dagster_type(model)

    def check(context: dg.TypeCheckContext, value: object) -> dg.TypeCheck:
        if isinstance(value, DailyFrames):
            value.validate = lambda frame: model.validate(frame, lazy=True)
            return dg.TypeCheck(success=True, description="Validated chunk by chunk as written.")
        return frame_type.type_check(context, value)

    return dg.DagsterType(
        type_check_fn=check,
        name=frame_type.unique_name,
        description=frame_type.description,
        metadata=frame_type.metadata,
        typing_type=pd.DataFrame,
    )


def conform(df: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """Columns in model order with the model's Arrow types.

    Cheap when the frame came from DuckDB as Arrow: a column already of its type is kept as is
    (Arrow arrays are immutable, nothing is copied); only a differing one is cast by Arrow (e.g.
    ``count(*)`` is BIGINT where the table column is INTEGER), which fails on overflow instead of
    wrapping. Frames built by hand (tests, the unknown members) are converted the same way.
    """
    columns = {}
    for name, column in model_columns(model).items():
        target = column.dtype.type
        if name not in df.columns:
            array = pyarrow.nulls(len(df), target.pyarrow_dtype)
        elif df[name].dtype == target:
            columns[name] = df[name].array
            continue
        else:
            series = df[name]
            if isinstance(series.dtype, pd.ArrowDtype):
                array = pyarrow.chunked_array(series.array._pa_array)
            else:
                array = pyarrow.Array.from_pandas(series.astype(object).where(series.notna(), None))
            array = array.cast(target.pyarrow_dtype)
        columns[name] = pd.arrays.ArrowExtensionArray(array)
    return pd.DataFrame(columns, copy=False)


# --------------------------------------------------------------------------------------------
# Dimensions, facts, aggregates (schema ``marts``): the star schema analysts query.
# Money is float64 in pandas and an exact DECIMAL in the warehouse (computed in DECIMAL upstream).
# --------------------------------------------------------------------------------------------
_SK = "Surrogate key: 63-bit hash of (business key, valid_from); 0 = the unknown member."
_DATE_KEY = "Calendar day as YYYYMMDD, joins dim_date."
_PM_KEY = "Payment method key, joins dim_payment_method (0 = unknown)."
_VALID_TO = "When the next version became true; 9999-12-31 for the current version."


class DimDate(pa.DataFrameModel):
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

    class Config:
        strict = True


class DimPaymentMethod(pa.DataFrameModel):
    payment_method_key: Series[Int] = field(_PM_KEY, unique=True, ge=0)
    payment_method: Series[Text] = field(
        "Contract payment method or 'unknown'.", unique=True, isin=[*PAYMENT_METHODS, UNKNOWN]
    )
    payment_type: Series[Text] = field(
        "Kind of method.", isin=["card", "wallet", "bank", "gift card", UNKNOWN]
    )

    class Config:
        strict = True


class DimUsers(pa.DataFrameModel):
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

    class Config:
        strict = True


class DimProducts(pa.DataFrameModel):
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

    class Config:
        strict = True


class FactOrders(pa.DataFrameModel):
    order_id: Series[BigInt] = field("Key of the order.", gt=0)
    user_id: Series[BigInt] = field("Source user id (degenerate; kept for orphans too).")
    user_sk: Series[BigInt] = field("dim_users version valid at order_ts (0 = unknown).", ge=0)
    date_key: Series[Int] = field(_DATE_KEY)
    payment_method_key: Series[Int] = field(_PM_KEY, ge=0)
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

    class Config:
        strict = True


class FactOrderItems(pa.DataFrameModel):
    order_item_id: Series[BigInt] = field("Key of the order line.", gt=0)
    order_id: Series[BigInt] = field("Order of the line, joins fact_orders.", gt=0)
    product_id: Series[BigInt] = field("Source product id (degenerate; kept for orphans too).")
    product_sk: Series[BigInt] = field("dim_products version valid at order_ts.", ge=0)
    user_sk: Series[BigInt] = field("dim_users version valid at order_ts.", ge=0)
    date_key: Series[Int] = field(_DATE_KEY)
    payment_method_key: Series[Int] = field(_PM_KEY, ge=0)
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

    class Config:
        strict = True


class FactEvents(pa.DataFrameModel):
    event_id: Series[BigInt] = field("Key of the event.", gt=0)
    session_id: Series[Text] = field("Click-stream session.")
    user_id: Series[BigInt] = field("Source user id; NULL when anonymous.", nullable=True)
    user_sk: Series[BigInt] = field("dim_users version at event_ts; 0 = anonymous/unknown.", ge=0)
    product_sk: Series[BigInt] = field("dim_products version at event_ts; 0 = none/unknown.", ge=0)
    event_type: Series[Text] = field("Funnel step.", isin=[*EVENT_TYPES, UNKNOWN])
    event_ts: Series[Timestamp] = field("When the event happened (UTC).")
    event_date: Series[Date] = field("Day of event_ts (the business date).")
    event_hour: Series[Int] = field("Hour of event_ts, 0-23.", ge=0, le=23)
    date_key: Series[Int] = field(_DATE_KEY + " (of event_date).")
    event_value: Series[Decimal12_2] = field("Order value of a purchase.", nullable=True)
    is_late_arrival: Series[Bool] = field("Arrived in the delivery after its event_date.")
    delivery_date: Series[Date] = field("Delivery day (the partition).")

    class Config:
        strict = True


class FactReviews(pa.DataFrameModel):
    review_id: Series[BigInt] = field("Key of the review.", gt=0)
    product_id: Series[BigInt] = field("Source product id.")
    product_sk: Series[BigInt] = field(
        "dim_products version valid at the end of review_date.", ge=0
    )
    user_sk: Series[BigInt] = field("dim_users version valid at the end of review_date.", ge=0)
    date_key: Series[Int] = field(_DATE_KEY + " (of review_date).")
    rating: Series[Int] = field("Stars.", ge=1, le=5)
    review_text: Series[Text] = field("Free text.", nullable=True)
    text_length: Series[Int] = field("Characters in review_text (0 when NULL).", ge=0)
    helpful_votes: Series[Int] = field("Helpful votes.", ge=0)
    review_date: Series[Date] = field("Day the review was written.")
    delivery_date: Series[Date] = field("Delivery day (the partition).")

    class Config:
        strict = True


_RATE = "Share in [0, 1]; NULL when the denominator is 0."


class AggDailySales(pa.DataFrameModel):
    business_date: Series[Date] = field("Order day (the partition).")
    date_key: Series[Int] = field(_DATE_KEY)
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

    class Config:
        strict = True


class AggProductPerformance(pa.DataFrameModel):
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

    class Config:
        strict = True


class AggCustomerLifetime(pa.DataFrameModel):
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

    class Config:
        strict = True


class AggConversionFunnel(pa.DataFrameModel):
    business_date: Series[Date] = field("Event day (the partition).")
    date_key: Series[Int] = field(_DATE_KEY)
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

    class Config:
        strict = True


# --------------------------------------------------------------------------------------------
# Data quality (schema ``marts``, owned by the checks): the per-table, per-delivery score history.
# Formula in ``ecommerce_assets/assets/quality.py`` and the README.
# --------------------------------------------------------------------------------------------
_SHARE = "Share of the day's raw rows without such a defect, in [0, 1] (1 when no rows)."


class DataQualityReport(pa.DataFrameModel):
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

    class Config:
        strict = True
