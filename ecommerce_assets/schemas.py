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


def field(description: str, sql_type: str | None = None, **checks: Any) -> Any:
    """A Pandera field with a description and, optionally, its warehouse column type."""
    return pa.Field(description=description, metadata={"sql_type": sql_type} if sql_type else None, **checks)


_TEXT = "As delivered (text); NULL when empty or when the line was malformed."


# --------------------------------------------------------------------------------------------
# Raw layer: every delivered column as text plus lineage. One model per table.
# --------------------------------------------------------------------------------------------
class RawLineage(pa.DataFrameModel):
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[str] = field("File within the landing zone, e.g. 2024-03-17/orders.csv.")
    line_number: Series[int] = field("CSV record number in the file (header = 1).", gt=1)
    ingested_at: Series[pd.Timestamp] = field("When the run read the file (UTC).")
    raw_line: Series[str] = field("The raw text of a malformed line, else NULL.", nullable=True)
    parse_error: Series[str] = field("DuckDB's reason a line is malformed, else NULL.", nullable=True)

    class Config:
        strict = True


class RawUsers(RawLineage):
    user_id: Series[str] = field(_TEXT, nullable=True)
    user_name: Series[str] = field(_TEXT, nullable=True)
    email: Series[str] = field(_TEXT, nullable=True)
    country: Series[str] = field(_TEXT, nullable=True)
    city: Series[str] = field(_TEXT, nullable=True)
    signup_date: Series[str] = field(_TEXT, nullable=True)
    updated_at: Series[str] = field(_TEXT, nullable=True)


class RawProducts(RawLineage):
    product_id: Series[str] = field(_TEXT, nullable=True)
    product_name: Series[str] = field(_TEXT, nullable=True)
    category: Series[str] = field(_TEXT, nullable=True)
    subcategory: Series[str] = field(_TEXT, nullable=True)
    price: Series[str] = field(_TEXT, nullable=True)
    cost: Series[str] = field(_TEXT, nullable=True)
    supplier_id: Series[str] = field(_TEXT, nullable=True)
    updated_at: Series[str] = field(_TEXT, nullable=True)


class RawOrders(RawLineage):
    order_id: Series[str] = field(_TEXT, nullable=True)
    user_id: Series[str] = field(_TEXT, nullable=True)
    order_ts: Series[str] = field(_TEXT, nullable=True)
    status: Series[str] = field(_TEXT, nullable=True)
    payment_method: Series[str] = field(_TEXT, nullable=True)
    shipping_amount: Series[str] = field(_TEXT, nullable=True)
    order_amount: Series[str] = field(_TEXT, nullable=True)


class RawOrderItems(RawLineage):
    order_item_id: Series[str] = field(_TEXT, nullable=True)
    order_id: Series[str] = field(_TEXT, nullable=True)
    product_id: Series[str] = field(_TEXT, nullable=True)
    quantity: Series[str] = field(_TEXT, nullable=True)
    unit_price: Series[str] = field(_TEXT, nullable=True)
    discount: Series[str] = field(_TEXT, nullable=True)


class RawEvents(RawLineage):
    event_id: Series[str] = field(_TEXT, nullable=True)
    session_id: Series[str] = field(_TEXT, nullable=True)
    user_id: Series[str] = field(_TEXT, nullable=True)
    event_type: Series[str] = field(_TEXT, nullable=True)
    product_id: Series[str] = field(_TEXT, nullable=True)
    event_ts: Series[str] = field(_TEXT, nullable=True)
    event_value: Series[str] = field(_TEXT, nullable=True)


class RawReviews(RawLineage):
    review_id: Series[str] = field(_TEXT, nullable=True)
    product_id: Series[str] = field(_TEXT, nullable=True)
    user_id: Series[str] = field(_TEXT, nullable=True)
    rating: Series[str] = field(_TEXT, nullable=True)
    review_text: Series[str] = field(_TEXT, nullable=True)
    review_date: Series[str] = field(_TEXT, nullable=True)
    helpful_votes: Series[str] = field(_TEXT, nullable=True)


# --------------------------------------------------------------------------------------------
# Staged layer: typed, trimmed, canonical enumerations; lineage kept for traceability.
# --------------------------------------------------------------------------------------------
class StagedLineage(pa.DataFrameModel):
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[str] = field("File within the landing zone the row came from.")
    line_number: Series[int] = field("CSV record number in that file (header = 1).", gt=1)

    class Config:
        strict = True


class StgUsers(StagedLineage):
    user_id: Series[int] = field("Business key of the user.", gt=0)
    user_name: Series[str] = field("Display name, trimmed.")
    email: Series[str] = field("Trimmed, lower-cased e-mail; NULL when invalid.", nullable=True)
    country: Series[str] = field("ISO 3166-1 alpha-2 country code, upper-case.")
    city: Series[str] = field("City, trimmed.")
    signup_date: Series[pd.Timestamp] = field("Day the user signed up.", "DATE")
    updated_at: Series[pd.Timestamp] = field("When this version became true (UTC).")


class StgProducts(StagedLineage):
    product_id: Series[int] = field("Business key of the product.", gt=0)
    product_name: Series[str] = field("Product name, trimmed.")
    category: Series[str] = field("Canonical category or 'unknown'.", isin=[*CATEGORIES, UNKNOWN])
    subcategory: Series[str] = field("Subcategory, trimmed.")
    price: Series[float] = field("List price.", "DECIMAL(10,2)", gt=0)
    cost: Series[float] = field("Unit cost, below price.", "DECIMAL(10,2)", ge=0)
    supplier_id: Series[pd.Int64Dtype] = field("Supplier, when known.", nullable=True)
    updated_at: Series[pd.Timestamp] = field("When this version became true (UTC).")


class StgOrders(StagedLineage):
    order_id: Series[int] = field("Key of the order (unique within a delivery).", gt=0)
    user_id: Series[int] = field("User who placed the order.", gt=0)
    order_ts: Series[pd.Timestamp] = field("When the order was placed (UTC).")
    status: Series[str] = field("Final status or 'unknown'.", isin=[*ORDER_STATUSES, UNKNOWN])
    payment_method: Series[str] = field(
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
    session_id: Series[str] = field("Click-stream session.")
    user_id: Series[pd.Int64Dtype] = field("User; NULL for anonymous visitors.", nullable=True)
    event_type: Series[str] = field("Funnel step or 'unknown'.", isin=[*EVENT_TYPES, UNKNOWN])
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
    review_text: Series[str] = field("Free text.", nullable=True)
    review_date: Series[pd.Timestamp] = field("Day the review was written.", "DATE")
    helpful_votes: Series[int] = field("Helpful votes.", "INTEGER", ge=0)


class StgQuarantine(pa.DataFrameModel):
    table_name: Series[str] = field("Landing table the row came from.", isin=list(TABLE_NAMES))
    delivery_date: Series[pd.Timestamp] = field("Delivery day (the partition).", "DATE")
    source_file: Series[str] = field("File within the landing zone.")
    line_number: Series[int] = field("CSV record number in that file (header = 1).", gt=1)
    reason: Series[str] = field("Why the row was quarantined, e.g. bad_value:quantity.")
    raw_values: Series[str] = field("The row as delivered, as a JSON object of text values.")

    class Config:
        strict = True


class StgLoadAudit(pa.DataFrameModel):
    table_name: Series[str] = field("Landing table.", isin=list(TABLE_NAMES))
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
        if dtype == "str":
            series = series.astype(object).where(series.notna(), None)
        elif dtype == "datetime64[ns]":
            series = pd.to_datetime(series).astype("datetime64[ns]")
        else:
            series = column.dtype.coerce(series)
        out[name] = series
    return out.reset_index(drop=True)
