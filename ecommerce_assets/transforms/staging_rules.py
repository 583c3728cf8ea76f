"""The staging rules as SQL, column by column: how a raw text value is trimmed, typed, judged
out of range or in the future, and repaired (``staging.py`` assembles them into one statement).

A raw column ``c`` gives three derived columns in that statement: ``c__t`` its trimmed text,
``c__v`` that text parsed to the contract type (NULL if unparseable) and ``c__o`` the staged
value (typed, or repaired text).
"""

from __future__ import annotations

import re

from ..contract import ENUMERATIONS, UNKNOWN, ColumnSpec, TableSpec
from ..warehouse import quote_ident

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
INT_PATTERN = r"[+-]?[0-9]{1,18}"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TS_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"


def decimal_pattern(sql_type: str) -> str:
    """A decimal's text with at most the type's places (trailing zeros beyond them allowed):
    ``40.085`` is not a DECIMAL(10,2), and casting it would round it silently to 40.09."""
    match = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", sql_type.upper())
    if match is None:
        raise ValueError(f"not a DECIMAL(p, s) type: {sql_type}")
    places = int(match[2])
    return rf"[+-]?([0-9]+(\.[0-9]{{0,{places}}}0*)?|\.[0-9]{{1,{places}}}0*)"


def lit(value: str) -> str:
    """A SQL string literal for a constant that comes from the contract (never from data)."""
    return "'" + value.replace("'", "''") + "'"


def text_sql(col: str) -> str:
    return f"NULLIF(trim({quote_ident(col)}), '')"


def typed_sql(column: ColumnSpec) -> str:
    """SQL turning the trimmed text of ``column`` into its contract type, NULL if unparseable."""
    t = trimmed(column.name)
    if column.kind == "int":
        return f"CASE WHEN regexp_full_match({t}, '{INT_PATTERN}') THEN CAST({t} AS BIGINT) END"
    if column.kind == "decimal":
        return (
            f"CASE WHEN regexp_full_match({t}, '{decimal_pattern(column.sql_type)}') "
            f"THEN TRY_CAST({t} AS {column.sql_type}) END"
        )
    if column.kind == "date":
        return (
            f"CASE WHEN regexp_full_match({t}, '{DATE_PATTERN}') "
            f"THEN CAST(TRY_STRPTIME({t}, '%Y-%m-%d') AS DATE) END"
        )
    if column.kind == "timestamp":
        return (
            f"CASE WHEN regexp_full_match({t}, '{TS_PATTERN}') "
            f"THEN TRY_STRPTIME({t}, '%Y-%m-%d %H:%M:%S') END"
        )
    return t


# The staging statement derives three columns from each raw column ``c``: ``c__t`` its trimmed
# text, ``c__v`` that text parsed to the contract type (NULL if unparseable) and ``c__o`` the
# staged value (typed, or repaired text).
def trimmed(col: str) -> str:
    return quote_ident(f"{col}__t")


def typed_value(col: str) -> str:
    return quote_ident(f"{col}__v")


def staged_value(col: str) -> str:
    return quote_ident(f"{col}__o")


# Out-of-range rules per table: (column, SQL condition that is TRUE when the value is out of range).
# Delivery day D is ``delivery_date``; its end is D + 1 day.
RANGES: dict[str, list[tuple[str, str]]] = {
    "users": [],
    "products": [
        ("price", f"{typed_value('price')} <= 0"),
        (
            "cost",
            f"{typed_value('cost')} < 0 OR {typed_value('cost')} >= {typed_value('price')}",
        ),
        ("supplier_id", f"{typed_value('supplier_id')} <= 0"),
    ],
    "orders": [
        ("user_id", f"{typed_value('user_id')} <= 0"),
        ("order_ts", f"{typed_value('order_ts')} < delivery_date"),
        ("shipping_amount", f"{typed_value('shipping_amount')} < 0"),
        ("order_amount", f"{typed_value('order_amount')} < 0"),
    ],
    "order_items": [
        ("order_id", f"{typed_value('order_id')} <= 0"),
        ("product_id", f"{typed_value('product_id')} <= 0"),
        ("quantity", f"{typed_value('quantity')} < 1 OR {typed_value('quantity')} > 2147483647"),
        ("unit_price", f"{typed_value('unit_price')} <= 0"),
        ("discount", f"{typed_value('discount')} < 0 OR {typed_value('discount')} >= 1"),
    ],
    "events": [
        ("user_id", f"{typed_value('user_id')} <= 0"),
        ("product_id", f"{typed_value('product_id')} <= 0"),
        ("event_ts", f"{typed_value('event_ts')} < delivery_date - INTERVAL 1 DAY"),
        ("event_value", f"{typed_value('event_value')} < 0"),
    ],
    "reviews": [
        ("product_id", f"{typed_value('product_id')} <= 0"),
        ("user_id", f"{typed_value('user_id')} <= 0"),
        ("rating", f"{typed_value('rating')} < 1 OR {typed_value('rating')} > 5"),
        ("review_date", f"{typed_value('review_date')} < delivery_date"),
        (
            "helpful_votes",
            f"{typed_value('helpful_votes')} < 0 OR {typed_value('helpful_votes')} > 2147483647",
        ),
    ],
}
# Columns whose value may not lie after the end of the delivery day.
FUTURE: dict[str, list[str]] = {
    "users": ["signup_date", "updated_at"],
    "products": ["updated_at"],
    "orders": ["order_ts"],
    "order_items": [],
    "events": ["event_ts"],
    "reviews": ["review_date"],
}


def output_sql(spec: TableSpec, column: ColumnSpec) -> str:
    """SQL for a staged column: typed value, or repaired text (trim, canonical case)."""
    enum = ENUMERATIONS.get((spec.name, column.name))
    t = trimmed(column.name)
    if enum is not None:
        cases = " ".join(f"WHEN {lit(v.lower())} THEN {lit(v)}" for v in enum)
        return f"CASE lower({t}) {cases} ELSE {lit(UNKNOWN)} END"
    if column.name == "email":
        return f"CASE WHEN regexp_full_match(lower({t}), '{EMAIL_PATTERN}') THEN lower({t}) END"
    if column.name == "country":
        return f"upper({t})"
    return typed_value(column.name)
