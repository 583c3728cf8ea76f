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
        ColumnSpec("user_id", "int", True, "BIGINT", "Business key of the user."),
        ColumnSpec("user_name", "str", True, "VARCHAR", "Display name."),
        ColumnSpec("email", "str", False, "VARCHAR", "Lower-cased e-mail; NULL when invalid."),
        ColumnSpec("country", "str", True, "VARCHAR", "ISO 3166-1 alpha-2 country code."),
        ColumnSpec("city", "str", True, "VARCHAR", "City of residence."),
        ColumnSpec("signup_date", "date", True, "DATE", "Day the user signed up."),
        ColumnSpec("updated_at", "timestamp", True, "TIMESTAMP", "When this version became true."),
    ),
    key="user_id",
    version_column="updated_at",
)
PRODUCTS = TableSpec(
    "products",
    (
        ColumnSpec("product_id", "int", True, "BIGINT", "Business key of the product."),
        ColumnSpec("product_name", "str", True, "VARCHAR", "Product name."),
        ColumnSpec("category", "str", True, "VARCHAR", "One of the contract's eight categories."),
        ColumnSpec("subcategory", "str", True, "VARCHAR", "Free-text subcategory."),
        ColumnSpec("price", "decimal", True, "DECIMAL(10,2)", "List price (> 0)."),
        ColumnSpec("cost", "decimal", True, "DECIMAL(10,2)", "Unit cost (>= 0 and < price)."),
        ColumnSpec("supplier_id", "int", False, "BIGINT", "Supplier, when known."),
        ColumnSpec("updated_at", "timestamp", True, "TIMESTAMP", "When this version became true."),
    ),
    key="product_id",
    version_column="updated_at",
)
ORDERS = TableSpec(
    "orders",
    (
        ColumnSpec("order_id", "int", True, "BIGINT", "Key of the order."),
        ColumnSpec("user_id", "int", True, "BIGINT", "User who placed the order."),
        ColumnSpec("order_ts", "timestamp", True, "TIMESTAMP", "When the order was placed (UTC)."),
        ColumnSpec("status", "str", True, "VARCHAR", "Final status, or 'unknown'."),
        ColumnSpec("payment_method", "str", True, "VARCHAR", "Payment method, or 'unknown'."),
        ColumnSpec("shipping_amount", "decimal", True, "DECIMAL(10,2)", "Shipping charged (>= 0)."),
        ColumnSpec(
            "order_amount", "decimal", True, "DECIMAL(12,2)", "Order total as sent by source."
        ),
    ),
    key="order_id",
)
ORDER_ITEMS = TableSpec(
    "order_items",
    (
        ColumnSpec("order_item_id", "int", True, "BIGINT", "Key of the order line."),
        ColumnSpec("order_id", "int", True, "BIGINT", "Order of the same delivery."),
        ColumnSpec("product_id", "int", True, "BIGINT", "Product ordered."),
        ColumnSpec("quantity", "int", True, "INTEGER", "Units ordered (>= 1)."),
        ColumnSpec(
            "unit_price", "decimal", True, "DECIMAL(10,2)", "Price per unit at order time (> 0)."
        ),
        ColumnSpec("discount", "decimal", True, "DECIMAL(4,3)", "Discount rate in [0, 1)."),
    ),
    key="order_item_id",
)
EVENTS = TableSpec(
    "events",
    (
        ColumnSpec("event_id", "int", True, "BIGINT", "Key of the event."),
        ColumnSpec("session_id", "str", True, "VARCHAR", "Click-stream session."),
        ColumnSpec("user_id", "int", False, "BIGINT", "User, NULL for anonymous visitors."),
        ColumnSpec("event_type", "str", True, "VARCHAR", "Funnel step, or 'unknown'."),
        ColumnSpec("product_id", "int", False, "BIGINT", "Product, required for product events."),
        ColumnSpec("event_ts", "timestamp", True, "TIMESTAMP", "When the event happened (UTC)."),
        ColumnSpec("event_value", "decimal", False, "DECIMAL(12,2)", "Order value of a purchase."),
    ),
    key="event_id",
)
REVIEWS = TableSpec(
    "reviews",
    (
        ColumnSpec("review_id", "int", True, "BIGINT", "Key of the review."),
        ColumnSpec("product_id", "int", True, "BIGINT", "Product reviewed."),
        ColumnSpec("user_id", "int", True, "BIGINT", "Author."),
        ColumnSpec("rating", "int", True, "INTEGER", "Stars, 1 to 5."),
        ColumnSpec(
            "review_text", "str", False, "VARCHAR", "Free text, may hold commas, quotes, newlines."
        ),
        ColumnSpec("review_date", "date", True, "DATE", "Day the review was written."),
        ColumnSpec("helpful_votes", "int", True, "INTEGER", "Helpful votes (>= 0)."),
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
