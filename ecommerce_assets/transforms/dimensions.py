"""Dimensions: calendar, payment methods and the SCD type 2 users and products.

Surrogate keys are a pure function of a version's natural key, ``(business key, valid_from)``:
the first 15 hex digits of ``md5('<key>|<valid_from>')`` as a (60-bit, positive) BIGINT. So
rebuilding a dimension from the same deliveries gives the same keys, and a later delivery (which
only appends versions, or closes the current one by setting its ``valid_to``) never changes the key
of an existing version: fact partitions loaded earlier stay correct without a reload. A build
for some business keys (``keys``) gives exactly those keys' rows of the whole build: SCD2 history
is per key, so a day's update recomputes the keys the day delivered, from all their rows.

SCD2 rules: the versions of a business key are ordered by ``updated_at``; a version whose tracked
attributes equal the previous version's is an unchanged re-send and is dropped (no new version);
``valid_from`` is the kept version's ``updated_at`` and ``valid_to`` the next kept version's
``valid_from`` (``9999-12-31`` for the current one). Each dimension has an unknown member
(surrogate key 0, business key -1) that orphan and anonymous facts link to.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pandas as pd

from ..contract import PAYMENT_METHODS, UNKNOWN
from ..schemas import DimDate, DimPaymentMethod, DimProducts, DimUsers, conform
from ..slices import Relation, sql_inputs
from ..warehouse import fetch_frame

# The version of the SCD2 rules below: bump it with any change to what a version is, so that
# the next build rebuilds every key instead of updating the new days' (``dimension_updates.py``).
SCD2_VERSION = "1"
UNKNOWN_SK = 0
UNKNOWN_ID = -1
VALID_FROM_MIN = "1900-01-01 00:00:00"
VALID_TO_MAX = "9999-12-31 00:00:00"
VALID_TO = datetime(9999, 12, 31)
# Price buckets (inclusive lower bounds): low < 20.00 <= medium < 75.00 <= high.
PRICE_BUCKET_MEDIUM = "20.00"
PRICE_BUCKET_HIGH = "75.00"

PAYMENT_TYPES = {
    "credit_card": "card",
    "debit_card": "card",
    "paypal": "wallet",
    "apple_pay": "wallet",
    "bank_transfer": "bank",
    "gift_card": "gift card",
}


def _unknown_member(rows: list[dict]) -> pd.DataFrame:
    """The unknown member row, valid from 1900-01-01 until 9999-12-31."""
    return pd.DataFrame([{**row, "valid_to": VALID_TO} for row in rows])


def surrogate_key_sql(key: str, valid_from: str) -> str:
    """SQL for the deterministic surrogate key of a version (see the module docstring)."""
    return (
        f"('0x' || substr(md5(CAST({key} AS VARCHAR) || '|' || "
        f"strftime({valid_from}, '%Y-%m-%d %H:%M:%S.%f')), 1, 15))::BIGINT"
    )


def build_dim_date(first: date, last: date) -> pd.DataFrame:
    """One row per calendar day from ``first`` to ``last`` inclusive."""
    con = duckdb.connect()
    try:
        df = fetch_frame(
            con,
            """
            SELECT CAST(strftime(d, '%Y%m%d') AS INTEGER) AS date_key,
                CAST(d AS DATE) AS date,
                year(d) AS year, quarter(d) AS quarter, month(d) AS month,
                monthname(d) AS month_name,
                isoyear(d) AS iso_year, weekofyear(d) AS iso_week,
                isodow(d) AS day_of_week, dayname(d) AS day_name,
                isodow(d) >= 6 AS is_weekend,
                CAST(d AS DATE) = last_day(CAST(d AS DATE)) AS is_month_end
            FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY,
                INTERVAL 1 DAY) AS t(d)
            ORDER BY d
            """,
            [first, last],
        )
    finally:
        con.close()
    return conform(df, DimDate)


def build_dim_payment_method() -> pd.DataFrame:
    """The contract's methods (keys 1..n in contract order) plus ``unknown`` (key 0)."""
    rows = [(0, UNKNOWN, UNKNOWN)] + [
        (i + 1, method, PAYMENT_TYPES[method]) for i, method in enumerate(PAYMENT_METHODS)
    ]
    df = pd.DataFrame(rows, columns=["payment_method_key", "payment_method", "payment_type"])
    return conform(df, DimPaymentMethod)


def _scd2_sql(key: str, tracked: list[str], carried: list[str], sk: str, extra_select: str) -> str:
    """Versions of ``staged`` collapsed and dated as the module docstring says."""
    changed = " OR ".join(f"{c} IS DISTINCT FROM lag({c}) OVER w" for c in tracked)
    cols = ", ".join([key, *tracked, *carried])
    return f"""
        WITH dedup AS (
            -- The same version (key, updated_at) re-delivered: keep the latest delivery's copy.
            SELECT {cols}, CAST(updated_at AS TIMESTAMP) AS updated_at,
                delivery_date, line_number
            FROM staged
            QUALIFY row_number() OVER (
                PARTITION BY {key}, updated_at
                ORDER BY delivery_date DESC, line_number DESC) = 1
        ), flagged AS (
            SELECT *, (lag(updated_at) OVER w IS NULL OR {changed}) AS is_new
            FROM dedup
            WINDOW w AS (PARTITION BY {key} ORDER BY updated_at)
        ), versions AS (
            SELECT {cols}, updated_at AS valid_from,
                coalesce(lead(updated_at) OVER (PARTITION BY {key} ORDER BY updated_at),
                    TIMESTAMP '{VALID_TO_MAX}') AS valid_to
            FROM flagged WHERE is_new
        )
        SELECT {surrogate_key_sql(key, "valid_from")} AS {sk}, {cols}{extra_select},
            valid_from, valid_to, valid_to = TIMESTAMP '{VALID_TO_MAX}' AS is_current
        FROM versions
        ORDER BY {key}, valid_from
    """


def _only_keys(con: duckdb.DuckDBPyConnection, source: str, key: str, keys: bool) -> None:
    """The view ``staged``: ``source``, or its rows of the business keys in ``keys`` only."""
    where = f" WHERE {key} IN (SELECT CAST(key AS BIGINT) FROM keys)" if keys else ""
    con.execute(f"CREATE TEMP VIEW staged AS SELECT * FROM {source}{where}")


def staged_keys(staged: Relation, key: str, days: list[date]) -> pd.DataFrame:
    """The business keys (column ``key``) that ``staged`` holds rows of on ``days``."""
    with sql_inputs({"staged": staged}) as con:
        return con.execute(
            f"SELECT DISTINCT CAST({key} AS BIGINT) AS key FROM staged "
            "WHERE CAST(delivery_date AS DATE) IN (SELECT unnest(?::DATE[])) ORDER BY 1",
            [days],
        ).df()


def build_dim_users(stg_users: Relation, keys: Relation | None = None) -> pd.DataFrame:
    """SCD2 users: a new version when name, email, country or city changes.

    ``keys`` (a relation with a column ``key``): the versions of those users only, from all their
    staged rows, without the unknown member (a dimension updated by key: ``KeyedFrame``)."""
    with sql_inputs({"staged_all": stg_users, "keys": keys}) as con:
        _only_keys(con, "staged_all", "user_id", keys is not None)
        sql = _scd2_sql(
            "user_id",
            ["user_name", "email", "country", "city"],
            ["signup_date"],
            "user_sk",
            ", year(signup_date) AS signup_year, month(signup_date) AS signup_month",
        )
        df = fetch_frame(con, sql)
    if keys is not None:
        return conform(df, DimUsers)
    unknown = _unknown_member(
        [
            {
                "user_sk": UNKNOWN_SK,
                "user_id": UNKNOWN_ID,
                "user_name": UNKNOWN,
                "email": None,
                "country": UNKNOWN,
                "city": UNKNOWN,
                "signup_date": pd.NaT,
                "signup_year": pd.NA,
                "signup_month": pd.NA,
                "valid_from": pd.Timestamp(VALID_FROM_MIN),
                "is_current": True,
            }
        ]
    )
    return pd.concat([conform(unknown, DimUsers), conform(df, DimUsers)], ignore_index=True)


def build_dim_products(stg_products: Relation, keys: Relation | None = None) -> pd.DataFrame:
    """SCD2 products: a new version when name, category, subcategory, price, cost or supplier
    changes; ``price_bucket`` from the version's price. ``keys``: as for ``build_dim_users``."""
    with sql_inputs({"staged_raw": stg_products, "keys": keys}) as con:
        # Money as exact decimals, so "unchanged" compares cents, not binary floats.
        con.execute(
            "CREATE TEMP VIEW staged_all AS SELECT * REPLACE ("
            "CAST(price AS DECIMAL(10,2)) AS price, CAST(cost AS DECIMAL(10,2)) AS cost) "
            "FROM staged_raw"
        )
        _only_keys(con, "staged_all", "product_id", keys is not None)
        bucket = (
            f", CASE WHEN price >= {PRICE_BUCKET_HIGH} THEN 'high' "
            f"WHEN price >= {PRICE_BUCKET_MEDIUM} THEN 'medium' ELSE 'low' END AS price_bucket"
        )
        sql = _scd2_sql(
            "product_id",
            ["product_name", "category", "subcategory", "price", "cost", "supplier_id"],
            [],
            "product_sk",
            bucket,
        )
        df = fetch_frame(con, sql)
    if keys is not None:
        return conform(df, DimProducts)
    unknown = _unknown_member(
        [
            {
                "product_sk": UNKNOWN_SK,
                "product_id": UNKNOWN_ID,
                "product_name": UNKNOWN,
                "category": UNKNOWN,
                "subcategory": UNKNOWN,
                "price": None,
                "cost": None,
                "price_bucket": UNKNOWN,
                "supplier_id": pd.NA,
                "valid_from": pd.Timestamp(VALID_FROM_MIN),
                "is_current": True,
            }
        ]
    )
    return pd.concat([conform(unknown, DimProducts), conform(df, DimProducts)], ignore_index=True)
