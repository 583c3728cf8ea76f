"""What the warehouse must hold after building ``landing/`` -- written by hand, as literals.

Every value below was worked out on paper from ``shared/spec/landing-contract.md`` and the
definitions in docs/ (staging rules, SCD2, fact formulas, aggregates, quality score), never by
running the generator, the transforms or ``contract.py``. ``README.md`` beside this file says,
line by line, which defect each landing row carries and what must happen to it.

Conventions, so that a value compares exactly:
- money and rates of the contract are strings with the column's scale (``"12.50"``,
  discount ``"0.125"``); dates ``"YYYY-MM-DD"``; timestamps ``"YYYY-MM-DD HH:MM:SS"``;
- ``None`` is SQL NULL;
- a dimension version is named by a label (``"u4v2"`` = user 4's second version,
  ``"p11v1"``); ``"unknown"`` is the unknown member (surrogate key 0). The surrogate keys are the
  formula of docs/star-schema.md, first 15 hex digits of md5('<key>|<valid_from>.000000'),
  hashed by hand.
"""

from __future__ import annotations

# fmt: off
# The tables below are laid out by hand, one row per line where it fits, for review.

D1 = "2024-03-04"  # Monday
D2 = "2024-03-05"
FOREVER = "9999-12-31 00:00:00"

# ------------------------------------------------------------------------------------------
# Staged rows, in (delivery_date, line_number) order. line_number = the physical line the record
# starts on, header 1 (review 201's text runs over two lines: the D1 reviews after it move down).
# ------------------------------------------------------------------------------------------
STG_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "delivery_date",
        "line_number",
        "user_id",
        "user_name",
        "email",
        "country",
        "city",
        "signup_date",
        "updated_at",
    ),
    "products": (
        "delivery_date",
        "line_number",
        "product_id",
        "product_name",
        "category",
        "subcategory",
        "price",
        "cost",
        "supplier_id",
        "updated_at",
    ),
    "orders": (
        "delivery_date",
        "line_number",
        "order_id",
        "user_id",
        "order_ts",
        "status",
        "payment_method",
        "shipping_amount",
        "order_amount",
    ),
    "order_items": (
        "delivery_date",
        "line_number",
        "order_item_id",
        "order_id",
        "product_id",
        "quantity",
        "unit_price",
        "discount",
    ),
    "events": (
        "delivery_date",
        "line_number",
        "event_id",
        "session_id",
        "user_id",
        "event_type",
        "product_id",
        "event_ts",
        "event_value",
        "is_late_arrival",
    ),
    "reviews": (
        "delivery_date",
        "line_number",
        "review_id",
        "product_id",
        "user_id",
        "rating",
        "review_text",
        "review_date",
        "helpful_votes",
    ),
}

STAGED: dict[str, list[tuple]] = {
    "users": [
        (D1, 2, 1, "Alice Martin", "alice@example.com", "FR", "Paris", D1, f"{D1} 09:00:00"),
        (D1, 3, 2, "Bob Stone", None, "GB", "London", "2023-11-20", f"{D1} 09:05:00"),
        (D1, 4, 3, "Chen Wei", "chen.wei@example.com", "DE", "Berlin", "2022-05-01",
         f"{D1} 09:10:00"),
        (D1, 5, 4, "Dana Ruiz", "dana@example.com", "ES", "Madrid", "2023-01-15",
         f"{D1} 09:15:00"),
        (D1, 11, 7, "Gina Park", "gina@example.com", "KR", "Seoul", "2023-02-02",
         f"{D1} 09:40:00"),
        (D2, 2, 4, "Dana Ruiz", "dana@example.com", "ES", "Barcelona", "2023-01-15",
         f"{D2} 10:00:00"),
        (D2, 3, 3, "Chen Wei", "chen.wei@example.com", "DE", "Berlin", "2022-05-01",
         f"{D2} 10:05:00"),
        (D2, 4, 9, "Ivan Petrov", "ivan@example.com", "BG", "Sofia", D2, f"{D2} 11:00:00"),
        (D2, 5, 2, "Bob Stone", "bob@example.com", "GB", "London", "2023-11-20",
         f"{D2} 12:00:00"),
        (D2, 6, 5, "Eve Adams", "eve@example.com", "US", "Boston", D2, f"{D2} 08:00:00"),
    ],
    "products": [
        (D1, 2, 10, "Desk Lamp", "Home & Kitchen", "Lighting", "19.99", "8.50", 100,
         f"{D1} 08:00:00"),
        (D1, 3, 11, "Yoga Mat", "Sports", "Fitness", "20.00", "9.00", None, f"{D1} 08:00:00"),
        (D1, 4, 12, "Headphones, Wireless", "Electronics", "Audio", "75.00", "40.00", 101,
         f"{D1} 08:00:00"),
        (D1, 5, 13, "Garden Hose", "unknown", "Outdoor", "24.99", "10.00", 102,
         f"{D1} 08:00:00"),
        (D2, 2, 11, "Yoga Mat", "Sports", "Fitness", "24.50", "9.00", None, f"{D2} 09:00:00"),
        (D2, 3, 18, "Chef Knife", "Home & Kitchen", "Cutlery", "80.00", "30.00", 107,
         f"{D2} 09:00:00"),
        (D2, 5, 17, "Future Phone", "Electronics", "Phones", "99.00", "50.00", 106,
         f"{D2} 08:00:00"),
    ],
    "orders": [
        (D1, 2, 1001, 1, f"{D1} 10:00:00", "delivered", "credit_card", "5.00", "112.48"),
        (D1, 3, 1002, 2, f"{D1} 11:30:00", "shipped", "paypal", "0.00", "65.00"),
        (D1, 4, 1003, 99, f"{D1} 12:00:00", "placed", "unknown", "4.99", "14.99"),
        (D1, 5, 1004, 3, f"{D1} 13:00:00", "cancelled", "debit_card", "0.00", "19.99"),
        (D1, 6, 1005, 4, f"{D1} 14:00:00", "delivered", "apple_pay", "3.50", "50.00"),
        (D1, 7, 1006, 7, f"{D1} 15:00:00", "returned", "gift_card", "0.00", "38.01"),
        (D2, 2, 2001, 4, f"{D2} 08:30:00", "delivered", "credit_card", "0.00", "20.00"),
        (D2, 3, 2002, 4, f"{D2} 10:30:00", "shipped", "debit_card", "2.50", "114.60"),
        (D2, 4, 2003, 3, f"{D2} 11:00:00", "delivered", "bank_transfer", "0.00", "50.03"),
        (D2, 5, 2004, 5, f"{D2} 12:00:00", "placed", "apple_pay", "1.00", "147.98"),
        (D2, 6, 2005, 1, f"{D2} 13:00:00", "cancelled", "paypal", "0.00", "24.99"),
        (D2, 8, 2006, 1, f"{D2} 15:00:00", "delivered", "paypal", "0.00", "130.00"),
        (D2, 10, 2007, 9, f"{D2} 16:00:00", "unknown", "credit_card", "0.00", "19.99"),
    ],
    "order_items": [
        (D1, 2, 1, 1001, 10, 2, "19.99", "0.000"),
        (D1, 3, 2, 1001, 12, 1, "75.00", "0.100"),
        (D1, 4, 3, 1002, 11, 3, "20.00", "0.125"),
        (D1, 5, 4, 1002, 13, 1, "24.99", "0.500"),
        (D1, 6, 5, 1003, 999, 1, "10.00", "0.000"),
        (D1, 7, 6, 1004, 10, 1, "19.99", "0.000"),
        (D1, 8, 7, 1005, 12, 1, "75.00", "0.350"),
        (D1, 9, 8, 1006, 11, 2, "20.00", "0.050"),
        (D2, 2, 13, 2001, 11, 1, "20.00", "0.000"),
        (D2, 3, 14, 2002, 11, 2, "24.50", "0.100"),
        (D2, 4, 15, 2002, 18, 1, "80.00", "0.150"),
        (D2, 5, 16, 2003, 12, 1, "75.00", "0.333"),
        (D2, 6, 17, 2004, 17, 1, "99.00", "0.000"),
        (D2, 7, 18, 2004, 10, 3, "19.99", "0.200"),
        (D2, 8, 19, 2005, 13, 1, "24.99", "0.000"),
        (D2, 9, 20, 2006, 12, 2, "75.00", "0.100"),
        (D2, 10, 21, 2007, 10, 1, "19.99", "0.000"),
    ],
    "events": [
        (D1, 2, 101, "s1", 1, "page_view", None, f"{D1} 09:50:00", None, False),
        (D1, 3, 102, "s1", 1, "product_view", 10, f"{D1} 09:52:00", None, False),
        (D1, 4, 103, "s1", 1, "add_to_cart", 10, f"{D1} 09:55:00", None, False),
        (D1, 5, 104, "s1", 1, "checkout", None, f"{D1} 09:58:00", None, False),
        (D1, 6, 105, "s1", 1, "purchase", None, f"{D1} 10:00:00", "112.48", False),
        (D1, 7, 106, "s2", None, "page_view", None, f"{D1} 11:00:00", None, False),
        (D1, 8, 107, "s2", None, "product_view", 12, f"{D1} 11:01:00", None, False),
        (D1, 9, 108, "s3", 99, "product_view", 999, f"{D1} 12:00:00", None, False),
        (D1, 10, 109, "s4", 2, "unknown", None, f"{D1} 12:30:00", None, False),
        (D1, 15, 113, "s5", 4, "page_view", None, "2024-03-03 22:00:00", None, True),
        (D1, 16, 114, "s6", 7, "checkout", None, f"{D1} 14:59:00", None, False),
        (D1, 17, 115, "s6", 7, "purchase", None, f"{D1} 15:00:00", "38.00", False),
        (D1, 20, 118, "s8", 7, "page_view", None, f"{D1} 16:31:00", None, False),
        (D2, 2, 301, "s10", 4, "page_view", None, f"{D1} 23:50:00", None, True),
        (D2, 3, 302, "s2", None, "add_to_cart", 12, f"{D1} 23:55:00", None, True),
        (D2, 4, 303, "s11", 4, "page_view", None, f"{D2} 08:25:00", None, False),
        (D2, 6, 304, "s11", 4, "product_view", 11, f"{D2} 08:26:00", None, False),
        (D2, 7, 305, "s11", 4, "add_to_cart", 11, f"{D2} 08:28:00", None, False),
        (D2, 8, 306, "s11", 4, "checkout", None, f"{D2} 08:29:00", None, False),
        (D2, 9, 307, "s11", 4, "purchase", None, f"{D2} 08:30:00", "20.00", False),
        (D2, 10, 308, "s12", 4, "product_view", 11, f"{D2} 10:20:00", None, False),
        (D2, 11, 309, "s12", 4, "remove_from_cart", 18, f"{D2} 10:25:00", None, False),
        (D2, 12, 310, "s13", None, "page_view", None, f"{D2} 12:00:00", None, False),
        (D2, 13, 311, "s13", None, "product_view", 777, f"{D2} 12:01:00", None, False),
    ],
    "reviews": [
        (D1, 2, 201, 10, 1, 5, 'Great lamp, bright "warm" light\nworks well', D1, 3),
        (D1, 5, 203, 999, 3, 4, None, D1, 1),
        (D1, 8, 206, 12, 88, 2, "meh", D1, 0),
        (D2, 2, 211, 18, 3, 5, "Sharp!", D2, 2),
        (D2, 4, 212, 11, 4, 4, "Good grip, nice", D2, 0),
        (D2, 5, 213, 10, 77, 1, "bad", D2, 0),
    ],
}

# ------------------------------------------------------------------------------------------
# Quarantine: (table, delivery_date, line_number, reason, a raw column, its raw text as
# delivered). source_file is "<delivery_date>/<table>.csv". For malformed lines the raw column
# is "raw_line" (the record's text).
# ------------------------------------------------------------------------------------------
QUARANTINE: list[tuple] = [
    ("users", D1, 7, "future_timestamp", "signup_date", "2024-03-05"),
    ("users", D1, 8, "null_key", "user_id", None),
    ("users", D1, 9, "bad_key", "user_id", "abc"),
    ("users", D1, 10, "bad_value:signup_date", "signup_date", "2023-13-45"),
    ("users", D1, 12, "duplicate_key", "email", "gina.park@example.com"),
    ("users", D1, 13, "malformed_line", "raw_line",
     "8,Hugo Blanc,hugo@example.com,FR,Lyon,2021-07-07"),
    ("products", D1, 6, "out_of_range:price", "price", "-5.00"),
    ("products", D1, 7, "out_of_range:cost", "cost", "10.00"),
    ("products", D1, 8, "bad_value:price", "price", "abc"),
    ("products", D1, 9, "future_timestamp", "updated_at", "2024-03-05 08:00:00"),
    ("products", D1, 10, "duplicate_key", "product_name", "Desk Lamp Pro"),
    ("products", D2, 6, "bad_value:supplier_id", "supplier_id", "x"),
    ("orders", D1, 8, "future_timestamp", "order_ts", "2024-03-05 09:00:00"),
    ("orders", D1, 9, "out_of_range:order_ts", "order_ts", "2024-03-03 23:59:59"),
    ("orders", D1, 10, "duplicate_key", "user_id", "5"),
    ("orders", D1, 11, "bad_value:shipping_amount", "shipping_amount", "N/A"),
    ("orders", D2, 9, "null_key", "order_id", None),
    ("order_items", D1, 11, "out_of_range:quantity", "quantity", "0"),
    ("order_items", D1, 12, "bad_value:quantity", "quantity", "N/A"),
    ("order_items", D1, 13, "out_of_range:discount", "discount", "1.5"),
    ("order_items", D1, 14, "orphan_line", "order_id", "9999"),
    ("order_items", D1, 15, "duplicate_key", "quantity", "5"),
    ("order_items", D2, 11, "orphan_line", "order_id", "1001"),
    ("order_items", D2, 12, "bad_key", "order_item_id", "-5"),
    ("events", D1, 11, "bad_value:product_id", "event_type", "add_to_cart"),
    ("events", D1, 12, "future_timestamp", "event_ts", "2024-03-05 12:00:00"),
    ("events", D1, 13, "out_of_range:event_ts", "event_ts", "2024-03-02 23:00:00"),
    ("events", D1, 14, "duplicate_key", "session_id", "s9"),
    ("events", D1, 18, "bad_value:user_id", "user_id", "x1"),
    ("events", D1, 19, "malformed_line", "raw_line",
     '117,s8,7,"page_view"x,,2024-03-04 16:30:00,'),
    ("events", D2, 14, "out_of_range:event_value", "event_value", "-3.00"),
    ("events", D2, 15, "duplicate_key", "session_id", "s99"),
    ("events", D2, 16, "future_timestamp", "event_ts", "2024-03-06 00:30:00"),
    ("events", D2, 17, "out_of_range:event_ts", "event_ts", "2024-03-03 23:00:00"),
    ("reviews", D1, 4, "out_of_range:rating", "rating", "7"),
    ("reviews", D1, 6, "future_timestamp", "review_date", "2024-03-05"),
    ("reviews", D1, 7, "out_of_range:helpful_votes", "helpful_votes", "-1"),
    ("reviews", D1, 9, "duplicate_key", "review_text", "dup"),
    ("reviews", D1, 10, "out_of_range:review_date", "review_date", "2024-03-03"),
    ("reviews", D2, 6, "bad_value:rating", "rating", "x"),
    ("reviews", D2, 7, "bad_value:helpful_votes", "helpful_votes", None),
]

# ------------------------------------------------------------------------------------------
# stg_load_audit: (table, day, raw, staged, quarantined, exact_duplicates, repaired, unknown
# values, invalid e-mails). raw = staged + quarantined + exact duplicates on every row.
# ------------------------------------------------------------------------------------------
LOAD_AUDIT: list[tuple] = [
    ("users", D1, 12, 5, 6, 1, 2, 0, 1),
    ("users", D2, 5, 5, 0, 0, 1, 0, 0),
    ("products", D1, 9, 4, 5, 0, 1, 1, 0),
    ("products", D2, 5, 3, 1, 1, 0, 0, 0),
    ("orders", D1, 10, 6, 4, 0, 1, 1, 0),
    ("orders", D2, 9, 7, 1, 1, 1, 1, 0),
    ("order_items", D1, 14, 8, 5, 1, 0, 0, 0),
    ("order_items", D2, 11, 9, 2, 0, 0, 0, 0),
    ("events", D1, 19, 13, 6, 0, 1, 1, 0),
    ("events", D2, 16, 11, 4, 1, 1, 0, 0),
    ("reviews", D1, 8, 3, 5, 0, 0, 0, 0),
    ("reviews", D2, 6, 3, 2, 1, 0, 0, 0),
]
