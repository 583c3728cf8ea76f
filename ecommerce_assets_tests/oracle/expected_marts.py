"""The star schema the warehouse must hold after building ``landing/``: dimensions, facts,
aggregates and the data-quality report, written by hand as literals (the staged layer, and the
conventions every value here follows, are in ``expected.py``)."""

from __future__ import annotations

from .expected import D1, D2, FOREVER

# fmt: off
# The tables below are laid out by hand, one row per line where it fits, for review.

# ------------------------------------------------------------------------------------------
# SCD2 dimensions. Surrogate keys: md5('<key>|<valid_from>.000000'), first 15 hex digits.
# ------------------------------------------------------------------------------------------
USER_SK: dict[str, int] = {
    "unknown": 0,
    "u1": 0x1D2503E96995D7D,
    "u2v1": 0xB3CDBBC180A8C2B,
    "u2v2": 0x683454AF98DB533,
    "u3": 0x447E1F52A3AE53F,
    "u4v1": 0x76EEFB96DA477ED,
    "u4v2": 0x6BC2DB5A6430331,
    "u5": 0xC7F13DB26E87F3D,
    "u7": 0x821C8833F4F4961,
    "u9": 0x01F051BA702A397,
}
PRODUCT_SK: dict[str, int] = {
    "unknown": 0,
    "p10": 0x8743AD6251BAA20,
    "p11v1": 0x93CAE325DA92848,
    "p11v2": 0x8889B5F2650F8D5,
    "p12": 0xF2FFE05692E6993,
    "p13": 0x77A3AE2FA3C6D04,
    "p17": 0xEF32F417924C207,
    "p18": 0x5BD7DCD680345F2,
}

# (label, user_id, user_name, email, country, city, signup_date, signup_year, signup_month,
#  valid_from, valid_to, is_current), ordered by user_sk 0 first, then (user_id, valid_from).
DIM_USERS: list[tuple] = [
    ("unknown", -1, "unknown", None, "unknown", "unknown", None, None, None,
     "1900-01-01 00:00:00", FOREVER, True),
    ("u1", 1, "Alice Martin", "alice@example.com", "FR", "Paris", D1, 2024, 3,
     f"{D1} 09:00:00", FOREVER, True),
    ("u2v1", 2, "Bob Stone", None, "GB", "London", "2023-11-20", 2023, 11,
     f"{D1} 09:05:00", f"{D2} 12:00:00", False),
    ("u2v2", 2, "Bob Stone", "bob@example.com", "GB", "London", "2023-11-20", 2023, 11,
     f"{D2} 12:00:00", FOREVER, True),
    ("u3", 3, "Chen Wei", "chen.wei@example.com", "DE", "Berlin", "2022-05-01", 2022, 5,
     f"{D1} 09:10:00", FOREVER, True),
    ("u4v1", 4, "Dana Ruiz", "dana@example.com", "ES", "Madrid", "2023-01-15", 2023, 1,
     f"{D1} 09:15:00", f"{D2} 10:00:00", False),
    ("u4v2", 4, "Dana Ruiz", "dana@example.com", "ES", "Barcelona", "2023-01-15", 2023, 1,
     f"{D2} 10:00:00", FOREVER, True),
    ("u5", 5, "Eve Adams", "eve@example.com", "US", "Boston", D2, 2024, 3,
     f"{D2} 08:00:00", FOREVER, True),
    ("u7", 7, "Gina Park", "gina@example.com", "KR", "Seoul", "2023-02-02", 2023, 2,
     f"{D1} 09:40:00", FOREVER, True),
    ("u9", 9, "Ivan Petrov", "ivan@example.com", "BG", "Sofia", D2, 2024, 3,
     f"{D2} 11:00:00", FOREVER, True),
]

# (label, product_id, product_name, category, subcategory, price, cost, price_bucket,
#  supplier_id, valid_from, valid_to, is_current)
DIM_PRODUCTS: list[tuple] = [
    ("unknown", -1, "unknown", "unknown", "unknown", None, None, "unknown", None,
     "1900-01-01 00:00:00", FOREVER, True),
    ("p10", 10, "Desk Lamp", "Home & Kitchen", "Lighting", "19.99", "8.50", "low", 100,
     f"{D1} 08:00:00", FOREVER, True),
    ("p11v1", 11, "Yoga Mat", "Sports", "Fitness", "20.00", "9.00", "medium", None,
     f"{D1} 08:00:00", f"{D2} 09:00:00", False),
    ("p11v2", 11, "Yoga Mat", "Sports", "Fitness", "24.50", "9.00", "medium", None,
     f"{D2} 09:00:00", FOREVER, True),
    ("p12", 12, "Headphones, Wireless", "Electronics", "Audio", "75.00", "40.00", "high", 101,
     f"{D1} 08:00:00", FOREVER, True),
    ("p13", 13, "Garden Hose", "unknown", "Outdoor", "24.99", "10.00", "medium", 102,
     f"{D1} 08:00:00", FOREVER, True),
    ("p17", 17, "Future Phone", "Electronics", "Phones", "99.00", "50.00", "high", 106,
     f"{D2} 08:00:00", FOREVER, True),
    ("p18", 18, "Chef Knife", "Home & Kitchen", "Cutlery", "80.00", "30.00", "high", 107,
     f"{D2} 09:00:00", FOREVER, True),
]

# (payment_method_key, payment_method, payment_type)
DIM_PAYMENT_METHOD: list[tuple] = [
    (0, "unknown", "unknown"),
    (1, "credit_card", "card"),
    (2, "debit_card", "card"),
    (3, "paypal", "wallet"),
    (4, "apple_pay", "wallet"),
    (5, "bank_transfer", "bank"),
    (6, "gift_card", "gift card"),
]

# dim_date spans the whole of 2024 (the day before the first delivery is 2024-03-03).
DIM_DATE_ROWS = 366
# (date_key, date, year, quarter, month, month_name, iso_year, iso_week, day_of_week, day_name,
#  is_weekend, is_month_end)
DIM_DATE_SAMPLE: list[tuple] = [
    (20240101, "2024-01-01", 2024, 1, 1, "January", 2024, 1, 1, "Monday", False, False),
    (20240229, "2024-02-29", 2024, 1, 2, "February", 2024, 9, 4, "Thursday", False, True),
    (20240303, "2024-03-03", 2024, 1, 3, "March", 2024, 9, 7, "Sunday", True, False),
    (20240304, "2024-03-04", 2024, 1, 3, "March", 2024, 10, 1, "Monday", False, False),
    (20241231, "2024-12-31", 2024, 4, 12, "December", 2025, 1, 2, "Tuesday", False, True),
]

# ------------------------------------------------------------------------------------------
# Facts. Money: line_net = round(q × price × (1 − discount), 2) half away from zero.
# ------------------------------------------------------------------------------------------
# (order_id, user_id, user version, date_key, payment_method_key, status, item_count, units,
#  gross, discount, shipping, net, order_amount, is_amount_mismatch, order_ts, delivery_date)
FACT_ORDERS: list[tuple] = [
    (1001, 1, "u1", 20240304, 1, "delivered", 2, 3, "114.98", "7.50", "5.00", "112.48",
     "112.48", False, f"{D1} 10:00:00", D1),
    (1002, 2, "u2v1", 20240304, 3, "shipped", 2, 4, "84.99", "19.99", "0.00", "65.00",
     "65.00", False, f"{D1} 11:30:00", D1),
    (1003, 99, "unknown", 20240304, 0, "placed", 1, 1, "10.00", "0.00", "4.99", "14.99",
     "14.99", False, f"{D1} 12:00:00", D1),
    (1004, 3, "u3", 20240304, 2, "cancelled", 1, 1, "19.99", "0.00", "0.00", "19.99",
     "19.99", False, f"{D1} 13:00:00", D1),
    (1005, 4, "u4v1", 20240304, 4, "delivered", 1, 1, "75.00", "26.25", "3.50", "52.25",
     "50.00", True, f"{D1} 14:00:00", D1),
    (1006, 7, "u7", 20240304, 6, "returned", 1, 2, "40.00", "2.00", "0.00", "38.00",
     "38.01", False, f"{D1} 15:00:00", D1),
    (2001, 4, "u4v1", 20240305, 1, "delivered", 1, 1, "20.00", "0.00", "0.00", "20.00",
     "20.00", False, f"{D2} 08:30:00", D2),
    (2002, 4, "u4v2", 20240305, 2, "shipped", 2, 3, "129.00", "16.90", "2.50", "114.60",
     "114.60", False, f"{D2} 10:30:00", D2),
    (2003, 3, "u3", 20240305, 5, "delivered", 1, 1, "75.00", "24.97", "0.00", "50.03",
     "50.03", False, f"{D2} 11:00:00", D2),
    (2004, 5, "u5", 20240305, 4, "placed", 2, 4, "158.97", "11.99", "1.00", "147.98",
     "147.98", False, f"{D2} 12:00:00", D2),
    (2005, 1, "u1", 20240305, 3, "cancelled", 1, 1, "24.99", "0.00", "0.00", "24.99",
     "24.99", False, f"{D2} 13:00:00", D2),
    (2006, 1, "u1", 20240305, 3, "delivered", 1, 2, "150.00", "15.00", "0.00", "135.00",
     "130.00", True, f"{D2} 15:00:00", D2),
    (2007, 9, "u9", 20240305, 1, "unknown", 1, 1, "19.99", "0.00", "0.00", "19.99",
     "19.99", False, f"{D2} 16:00:00", D2),
]

# (order_item_id, order_id, product_id, product version, user version, date_key,
#  payment_method_key, quantity, unit_price, discount, line_gross, line_discount, line_net,
#  unit_cost, margin, order_status, order_ts, delivery_date)
FACT_ORDER_ITEMS: list[tuple] = [
    (1, 1001, 10, "p10", "u1", 20240304, 1, 2, "19.99", "0.000", "39.98", "0.00", "39.98",
     "8.50", "22.98", "delivered", f"{D1} 10:00:00", D1),
    (2, 1001, 12, "p12", "u1", 20240304, 1, 1, "75.00", "0.100", "75.00", "7.50", "67.50",
     "40.00", "27.50", "delivered", f"{D1} 10:00:00", D1),
    (3, 1002, 11, "p11v1", "u2v1", 20240304, 3, 3, "20.00", "0.125", "60.00", "7.50", "52.50",
     "9.00", "25.50", "shipped", f"{D1} 11:30:00", D1),
    # 24.99 × 0.5 = 12.495 exactly -> 12.50 (binary floating point gives 12.49).
    (4, 1002, 13, "p13", "u2v1", 20240304, 3, 1, "24.99", "0.500", "24.99", "12.49", "12.50",
     "10.00", "2.50", "shipped", f"{D1} 11:30:00", D1),
    (5, 1003, 999, "unknown", "unknown", 20240304, 0, 1, "10.00", "0.000", "10.00", "0.00",
     "10.00", None, None, "placed", f"{D1} 12:00:00", D1),
    (6, 1004, 10, "p10", "u3", 20240304, 2, 1, "19.99", "0.000", "19.99", "0.00", "19.99",
     "8.50", "11.49", "cancelled", f"{D1} 13:00:00", D1),
    (7, 1005, 12, "p12", "u4v1", 20240304, 4, 1, "75.00", "0.350", "75.00", "26.25", "48.75",
     "40.00", "8.75", "delivered", f"{D1} 14:00:00", D1),
    (8, 1006, 11, "p11v1", "u7", 20240304, 6, 2, "20.00", "0.050", "40.00", "2.00", "38.00",
     "9.00", "20.00", "returned", f"{D1} 15:00:00", D1),
    # 08:30 is before the product's new price (09:00) and the user's move (10:00).
    (13, 2001, 11, "p11v1", "u4v1", 20240305, 1, 1, "20.00", "0.000", "20.00", "0.00", "20.00",
     "9.00", "11.00", "delivered", f"{D2} 08:30:00", D2),
    (14, 2002, 11, "p11v2", "u4v2", 20240305, 2, 2, "24.50", "0.100", "49.00", "4.90", "44.10",
     "9.00", "26.10", "shipped", f"{D2} 10:30:00", D2),
    (15, 2002, 18, "p18", "u4v2", 20240305, 2, 1, "80.00", "0.150", "80.00", "12.00", "68.00",
     "30.00", "38.00", "shipped", f"{D2} 10:30:00", D2),
    # 75.00 × 0.667 = 50.025 -> 50.03 half away from zero (half-even would give 50.02).
    (16, 2003, 12, "p12", "u3", 20240305, 5, 1, "75.00", "0.333", "75.00", "24.97", "50.03",
     "40.00", "10.03", "delivered", f"{D2} 11:00:00", D2),
    (17, 2004, 17, "p17", "u5", 20240305, 4, 1, "99.00", "0.000", "99.00", "0.00", "99.00",
     "50.00", "49.00", "placed", f"{D2} 12:00:00", D2),
    # 3 × 19.99 × 0.8 = 47.976 -> 47.98
    (18, 2004, 10, "p10", "u5", 20240305, 4, 3, "19.99", "0.200", "59.97", "11.99", "47.98",
     "8.50", "22.48", "placed", f"{D2} 12:00:00", D2),
    (19, 2005, 13, "p13", "u1", 20240305, 3, 1, "24.99", "0.000", "24.99", "0.00", "24.99",
     "10.00", "14.99", "cancelled", f"{D2} 13:00:00", D2),
    (20, 2006, 12, "p12", "u1", 20240305, 3, 2, "75.00", "0.100", "150.00", "15.00", "135.00",
     "40.00", "55.00", "delivered", f"{D2} 15:00:00", D2),
    (21, 2007, 10, "p10", "u9", 20240305, 1, 1, "19.99", "0.000", "19.99", "0.00", "19.99",
     "8.50", "11.49", "unknown", f"{D2} 16:00:00", D2),
]

# (event_id, session_id, user_id, user version, product version, event_type, event_ts,
#  event_date, event_hour, date_key, event_value, is_late_arrival, delivery_date)
FACT_EVENTS: list[tuple] = [
    (101, "s1", 1, "u1", "unknown", "page_view", f"{D1} 09:50:00", D1, 9, 20240304, None,
     False, D1),
    (102, "s1", 1, "u1", "p10", "product_view", f"{D1} 09:52:00", D1, 9, 20240304, None,
     False, D1),
    (103, "s1", 1, "u1", "p10", "add_to_cart", f"{D1} 09:55:00", D1, 9, 20240304, None,
     False, D1),
    (104, "s1", 1, "u1", "unknown", "checkout", f"{D1} 09:58:00", D1, 9, 20240304, None,
     False, D1),
    (105, "s1", 1, "u1", "unknown", "purchase", f"{D1} 10:00:00", D1, 10, 20240304, "112.48",
     False, D1),
    (106, "s2", None, "unknown", "unknown", "page_view", f"{D1} 11:00:00", D1, 11, 20240304,
     None, False, D1),
    (107, "s2", None, "unknown", "p12", "product_view", f"{D1} 11:01:00", D1, 11, 20240304,
     None, False, D1),
    (108, "s3", 99, "unknown", "unknown", "product_view", f"{D1} 12:00:00", D1, 12, 20240304,
     None, False, D1),
    (109, "s4", 2, "u2v1", "unknown", "unknown", f"{D1} 12:30:00", D1, 12, 20240304, None,
     False, D1),
    # Before user 4's first version (2024-03-04 09:15): linked to that earliest version.
    (113, "s5", 4, "u4v1", "unknown", "page_view", "2024-03-03 22:00:00", "2024-03-03", 22,
     20240303, None, True, D1),
    (114, "s6", 7, "u7", "unknown", "checkout", f"{D1} 14:59:00", D1, 14, 20240304, None,
     False, D1),
    (115, "s6", 7, "u7", "unknown", "purchase", f"{D1} 15:00:00", D1, 15, 20240304, "38.00",
     False, D1),
    (118, "s8", 7, "u7", "unknown", "page_view", f"{D1} 16:31:00", D1, 16, 20240304, None,
     False, D1),
    (301, "s10", 4, "u4v1", "unknown", "page_view", f"{D1} 23:50:00", D1, 23, 20240304, None,
     True, D2),
    (302, "s2", None, "unknown", "p12", "add_to_cart", f"{D1} 23:55:00", D1, 23, 20240304,
     None, True, D2),
    (303, "s11", 4, "u4v1", "unknown", "page_view", f"{D2} 08:25:00", D2, 8, 20240305, None,
     False, D2),
    (304, "s11", 4, "u4v1", "p11v1", "product_view", f"{D2} 08:26:00", D2, 8, 20240305, None,
     False, D2),
    (305, "s11", 4, "u4v1", "p11v1", "add_to_cart", f"{D2} 08:28:00", D2, 8, 20240305, None,
     False, D2),
    (306, "s11", 4, "u4v1", "unknown", "checkout", f"{D2} 08:29:00", D2, 8, 20240305, None,
     False, D2),
    (307, "s11", 4, "u4v1", "unknown", "purchase", f"{D2} 08:30:00", D2, 8, 20240305,
     "20.00", False, D2),
    (308, "s12", 4, "u4v2", "p11v2", "product_view", f"{D2} 10:20:00", D2, 10, 20240305, None,
     False, D2),
    (309, "s12", 4, "u4v2", "p18", "remove_from_cart", f"{D2} 10:25:00", D2, 10, 20240305,
     None, False, D2),
    (310, "s13", None, "unknown", "unknown", "page_view", f"{D2} 12:00:00", D2, 12, 20240305,
     None, False, D2),
    (311, "s13", None, "unknown", "unknown", "product_view", f"{D2} 12:01:00", D2, 12,
     20240305, None, False, D2),
]

# (review_id, product_id, product version, user version, date_key, rating, review_text,
#  text_length, helpful_votes, review_date, delivery_date)
FACT_REVIEWS: list[tuple] = [
    (201, 10, "p10", "u1", 20240304, 5, 'Great lamp, bright "warm" light\nworks well', 42, 3,
     D1, D1),
    (203, 999, "unknown", "u3", 20240304, 4, None, 0, 1, D1, D1),
    (206, 12, "p12", "unknown", 20240304, 2, "meh", 3, 0, D1, D1),
    (211, 18, "p18", "u3", 20240305, 5, "Sharp!", 6, 2, D2, D2),
    (212, 11, "p11v2", "u4v2", 20240305, 4, "Good grip, nice", 15, 0, D2, D2),
    (213, 10, "p10", "unknown", 20240305, 1, "bad", 3, 0, D2, D2),
]

# ------------------------------------------------------------------------------------------
# Aggregates.
# ------------------------------------------------------------------------------------------
# (business_date, date_key, orders, cancelled_orders, returned_orders, units, gross_sales,
#  discounts, shipping, net_revenue, average_order_value, unique_customers, new_customers,
#  returning_customers, cancellation_rate, return_rate)
AGG_DAILY_SALES: list[tuple] = [
    # Non-cancelled: 1001, 1002, 1003, 1005, 1006. 282.72 / 5 = 56.544 -> 56.54.
    (D1, 20240304, 6, 1, 1, 11, "324.97", "55.74", "13.49", "282.72", "56.54", 5, 5, 0,
     1 / 6, 1 / 6),
    # Non-cancelled: 2001-2004, 2006, 2007. 487.60 / 6 = 81.2666... -> 81.27. New: users 3
    # (whose only earlier order was cancelled), 5 and 9; returning: 1 and 4.
    (D2, 20240305, 7, 1, 0, 12, "552.96", "68.86", "3.50", "487.60", "81.27", 5, 3, 2,
     1 / 7, 0.0),
]

# (business_date, date_key, sessions, product_view_sessions, add_to_cart_sessions,
#  checkout_sessions, purchase_sessions, view_rate, cart_rate, checkout_rate, purchase_rate,
#  overall_conversion_rate, late_events)
AGG_CONVERSION_FUNNEL: list[tuple] = [
    # Sessions s1, s2, s3, s4, s6, s8 (delivery D1) and s10 (late, delivery D2); s2's
    # add_to_cart arrived late too. s5's only event is on 2024-03-03 (no partition).
    (D1, 20240304, 7, 3, 2, 2, 2, 3 / 7, 2 / 3, 1.0, 1.0, 2 / 7, 2),
    (D2, 20240305, 3, 3, 1, 1, 1, 1.0, 1 / 3, 1.0, 1.0, 1 / 3, 0),
]

# (product_id, product version (current), product_name, category, units, revenue, margin,
#  orders, average_rating, review_count, return_rate, category_rank), ordered by category,
#  rank, product_id.
AGG_PRODUCT_PERFORMANCE: list[tuple] = [
    (12, "p12", "Headphones, Wireless", "Electronics", 5, "301.28", "101.28", 4, 2.0, 1, 0.0, 1),
    (17, "p17", "Future Phone", "Electronics", 1, "99.00", "49.00", 1, None, 0, 0.0, 2),
    (10, "p10", "Desk Lamp", "Home & Kitchen", 6, "107.95", "56.95", 3, 3.0, 2, 0.0, 1),
    (18, "p18", "Chef Knife", "Home & Kitchen", 1, "68.00", "38.00", 1, 5.0, 1, 0.0, 2),
    (11, "p11v2", "Yoga Mat", "Sports", 8, "154.60", "82.60", 4, 4.0, 1, 0.25, 1),
    (13, "p13", "Garden Hose", "unknown", 1, "12.50", "2.50", 1, None, 0, 0.0, 1),
    (-1, "unknown", "unknown", "unknown", 1, "10.00", "0.00", 1, 4.0, 1, 0.0, 2),
]

# (user_id, user version (current), first_order_ts, last_order_ts, orders, revenue,
#  average_order_value, as_of_date, days_since_last_order, is_active, ltv_estimate,
#  recency_score, frequency_score, monetary_score, rfm_segment). as_of_date = 2024-03-05;
#  tenure < 365 days, so the annual order rate is the order count.
AGG_CUSTOMER_LIFETIME: list[tuple] = [
    (1, "u1", f"{D1} 10:00:00", f"{D2} 15:00:00", 2, "247.48", "123.74", D2, 0, True,
     "494.96", 5, 2, 3, "new"),
    (2, "u2v2", f"{D1} 11:30:00", f"{D1} 11:30:00", 1, "65.00", "65.00", D2, 1, True,
     "130.00", 5, 1, 2, "new"),
    (3, "u3", f"{D2} 11:00:00", f"{D2} 11:00:00", 1, "50.03", "50.03", D2, 0, True,
     "100.06", 5, 1, 2, "new"),
    # 186.85 / 3 = 62.2833 -> 62.28; ltv = 186.85 + 62.28 × 3 = 373.69.
    (4, "u4v2", f"{D1} 14:00:00", f"{D2} 10:30:00", 3, "186.85", "62.28", D2, 0, True,
     "373.69", 5, 3, 3, "potential"),
    (5, "u5", f"{D2} 12:00:00", f"{D2} 12:00:00", 1, "147.98", "147.98", D2, 0, True,
     "295.96", 5, 1, 2, "new"),
    (7, "u7", f"{D1} 15:00:00", f"{D1} 15:00:00", 1, "38.00", "38.00", D2, 1, True,
     "76.00", 5, 1, 1, "new"),
    (9, "u9", f"{D2} 16:00:00", f"{D2} 16:00:00", 1, "19.99", "19.99", D2, 0, True,
     "39.98", 5, 1, 1, "new"),
    (99, "unknown", f"{D1} 12:00:00", f"{D1} 12:00:00", 1, "14.99", "14.99", D2, 1, True,
     "29.98", 5, 1, 1, "new"),
]

# ------------------------------------------------------------------------------------------
# data_quality_report: (table, day, raw_rows, staged_rows, incomplete, duplicate, invalid,
# inaccurate, inconsistent, completeness, uniqueness, validity, accuracy, consistency,
# quality_score). Shares = 1 − defects / raw rounded to 6 places; score = round(100 × mean, 2).
# ------------------------------------------------------------------------------------------
DATA_QUALITY: list[tuple] = [
    # incomplete: malformed, null_key, bad_value:signup_date; duplicate: exact + key;
    # invalid: bad_key, future signup, invalid e-mail.
    ("users", D1, 12, 5, 3, 2, 3, 0, 0, 0.75, 0.833333, 0.75, 1.0, 1.0, 86.67),
    ("users", D2, 5, 5, 0, 0, 0, 0, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 100.0),
    # invalid: price, cost, future, unknown category.
    ("products", D1, 9, 4, 1, 1, 4, 0, 0, 0.888889, 0.888889, 0.555556, 1.0, 1.0, 86.67),
    # duplicate: product 10's D1 row re-sent unchanged (an exact duplicate across deliveries).
    ("products", D2, 5, 3, 1, 1, 0, 0, 0, 0.8, 0.8, 1.0, 1.0, 1.0, 92.0),
    # invalid: future, order_ts before the day, bitcoin; inaccurate: 1005; inconsistent: 1003.
    ("orders", D1, 10, 6, 1, 1, 3, 1, 1, 0.9, 0.9, 0.7, 0.9, 0.9, 86.0),
    ("orders", D2, 9, 7, 1, 1, 1, 1, 0, 0.888889, 0.888889, 0.888889, 0.888889, 1.0, 91.11),
    # inconsistent: orphan_line + the line of unknown product 999.
    ("order_items", D1, 14, 8, 1, 2, 2, 0, 2, 0.928571, 0.857143, 0.857143, 1.0, 0.857143,
     90.0),
    ("order_items", D2, 11, 9, 0, 0, 1, 0, 1, 1.0, 1.0, 0.909091, 1.0, 0.909091, 96.36),
    # inconsistent: event 108 is ONE fact, linked to two unknown members (user 99, product 999).
    ("events", D1, 19, 13, 3, 1, 3, 0, 1, 0.842105, 0.947368, 0.842105, 1.0, 0.947368, 91.58),
    ("events", D2, 16, 11, 0, 2, 3, 0, 1, 1.0, 0.875, 0.8125, 1.0, 0.9375, 92.5),
    # inconsistent: review 203 (product 999) and 206 (user 88).
    ("reviews", D1, 8, 3, 0, 1, 4, 0, 2, 1.0, 0.875, 0.5, 1.0, 0.75, 82.5),
    ("reviews", D2, 6, 3, 2, 1, 0, 0, 1, 0.666667, 0.833333, 1.0, 1.0, 0.833333, 86.67),
]
# fmt: on
