"""The landing-zone contract (``shared/spec/landing-contract.md``) as code.

Everything that reads or writes the landing zone -- the generator, the raw readers, the staging
rules and the checks -- takes table layouts, enumerations and quarantine reasons from here, so the
contract has exactly one definition in the codebase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["int", "str", "date", "timestamp", "decimal"]

SUCCESS_MARKER = "_SUCCESS"
MANIFEST_FILE = "_manifest.json"
DATE_FORMAT = "%Y-%m-%d"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class ColumnSpec:
    """One delivered column: its type in the contract and whether it may be NULL."""

    name: str
    kind: Kind
    required: bool
    sql_type: str
    description: str


@dataclass(frozen=True)
class TableSpec:
    """One delivered file: its columns in contract order and its key."""

    name: str
    columns: tuple[ColumnSpec, ...]
    key: str
    # Users and products deliver one row per *version*: the version key is (key, updated_at).
    version_column: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: Kind, required: bool, sql_type: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, kind, required, sql_type, description)


CATEGORIES = (
    "Electronics",
    "Home & Kitchen",
    "Fashion",
    "Beauty",
    "Sports",
    "Books",
    "Toys",
    "Grocery",
)
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
PAYMENT_METHODS = (
    "credit_card",
    "debit_card",
    "paypal",
    "apple_pay",
    "bank_transfer",
    "gift_card",
)
EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
)
# Event types that must name a product.
PRODUCT_EVENT_TYPES = ("product_view", "add_to_cart", "remove_from_cart")
UNKNOWN = "unknown"

# Canonical spelling of every enumerated column, keyed by (table, column).
ENUMERATIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("products", "category"): CATEGORIES,
    ("orders", "status"): ORDER_STATUSES,
    ("orders", "payment_method"): PAYMENT_METHODS,
    ("events", "event_type"): EVENT_TYPES,
}

USERS = TableSpec(
    "users",
    (
        _c("user_id", "int", True, "BIGINT", "Business key of the user."),
        _c("user_name", "str", True, "VARCHAR", "Display name."),
        _c("email", "str", False, "VARCHAR", "Lower-cased e-mail; NULL when invalid."),
        _c("country", "str", True, "VARCHAR", "ISO 3166-1 alpha-2 country code."),
        _c("city", "str", True, "VARCHAR", "City of residence."),
        _c("signup_date", "date", True, "DATE", "Day the user signed up."),
        _c("updated_at", "timestamp", True, "TIMESTAMP", "When this version became true."),
    ),
    key="user_id",
    version_column="updated_at",
)
PRODUCTS = TableSpec(
    "products",
    (
        _c("product_id", "int", True, "BIGINT", "Business key of the product."),
        _c("product_name", "str", True, "VARCHAR", "Product name."),
        _c("category", "str", True, "VARCHAR", "One of the contract's eight categories."),
        _c("subcategory", "str", True, "VARCHAR", "Free-text subcategory."),
        _c("price", "decimal", True, "DECIMAL(10,2)", "List price (> 0)."),
        _c("cost", "decimal", True, "DECIMAL(10,2)", "Unit cost (>= 0 and < price)."),
        _c("supplier_id", "int", False, "BIGINT", "Supplier, when known."),
        _c("updated_at", "timestamp", True, "TIMESTAMP", "When this version became true."),
    ),
    key="product_id",
    version_column="updated_at",
)
ORDERS = TableSpec(
    "orders",
    (
        _c("order_id", "int", True, "BIGINT", "Key of the order."),
        _c("user_id", "int", True, "BIGINT", "User who placed the order."),
        _c("order_ts", "timestamp", True, "TIMESTAMP", "When the order was placed (UTC)."),
        _c("status", "str", True, "VARCHAR", "Final status, or 'unknown'."),
        _c("payment_method", "str", True, "VARCHAR", "Payment method, or 'unknown'."),
        _c("shipping_amount", "decimal", True, "DECIMAL(10,2)", "Shipping charged (>= 0)."),
        _c("order_amount", "decimal", True, "DECIMAL(12,2)", "Order total as sent by source."),
    ),
    key="order_id",
)
ORDER_ITEMS = TableSpec(
    "order_items",
    (
        _c("order_item_id", "int", True, "BIGINT", "Key of the order line."),
        _c("order_id", "int", True, "BIGINT", "Order of the same delivery."),
        _c("product_id", "int", True, "BIGINT", "Product ordered."),
        _c("quantity", "int", True, "INTEGER", "Units ordered (>= 1)."),
        _c("unit_price", "decimal", True, "DECIMAL(10,2)", "Price per unit at order time (> 0)."),
        _c("discount", "decimal", True, "DECIMAL(4,3)", "Discount rate in [0, 1)."),
    ),
    key="order_item_id",
)
EVENTS = TableSpec(
    "events",
    (
        _c("event_id", "int", True, "BIGINT", "Key of the event."),
        _c("session_id", "str", True, "VARCHAR", "Click-stream session."),
        _c("user_id", "int", False, "BIGINT", "User, NULL for anonymous visitors."),
        _c("event_type", "str", True, "VARCHAR", "Funnel step, or 'unknown'."),
        _c("product_id", "int", False, "BIGINT", "Product, required for product events."),
        _c("event_ts", "timestamp", True, "TIMESTAMP", "When the event happened (UTC)."),
        _c("event_value", "decimal", False, "DECIMAL(12,2)", "Order value of a purchase."),
    ),
    key="event_id",
)
REVIEWS = TableSpec(
    "reviews",
    (
        _c("review_id", "int", True, "BIGINT", "Key of the review."),
        _c("product_id", "int", True, "BIGINT", "Product reviewed."),
        _c("user_id", "int", True, "BIGINT", "Author."),
        _c("rating", "int", True, "INTEGER", "Stars, 1 to 5."),
        _c("review_text", "str", False, "VARCHAR", "Free text, may hold commas, quotes, newlines."),
        _c("review_date", "date", True, "DATE", "Day the review was written."),
        _c("helpful_votes", "int", True, "INTEGER", "Helpful votes (>= 0)."),
    ),
    key="review_id",
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (USERS, PRODUCTS, ORDERS, ORDER_ITEMS, EVENTS, REVIEWS)
}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

# ---------------------------------------------------------------------------------------------
# Outcome vocabulary. Quarantine reasons are written to stg_quarantine.reason; the other labels
# name defects that are repaired or kept and counted by checks. The generator's per-day manifest
# counts defects with exactly these labels, so tests can demand exact detection.
# ---------------------------------------------------------------------------------------------
MALFORMED_LINE = "malformed_line"
NULL_KEY = "null_key"
BAD_KEY = "bad_key"
DUPLICATE_KEY = "duplicate_key"
FUTURE_TIMESTAMP = "future_timestamp"
ORPHAN_LINE = "orphan_line"


def bad_value(column: str) -> str:
    return f"bad_value:{column}"


def out_of_range(column: str) -> str:
    return f"out_of_range:{column}"


EXACT_DUPLICATE = "exact_duplicate"
WHITESPACE_CASE = "whitespace_case"
INVALID_EMAIL = "invalid_email"
INCONSISTENT_TOTAL = "inconsistent_total"
LATE_EVENT = "late_event"
EXTRA_COLUMN = "extra_column"
MISSING_COLUMN = "missing_column"


def unknown_value(column: str) -> str:
    return f"unknown_value:{column}"


def orphan_reference(column: str) -> str:
    return f"orphan_reference:{column}"
