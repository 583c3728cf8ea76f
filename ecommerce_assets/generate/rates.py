"""The generator's numbers: volumes, distributions, defect rates and reserved key ranges.

Why a module of its own: every figure that shapes the data -- how much of it there is, how it is
spread over the week and the day, how often each defect appears -- is tuned here, in one place,
apart from the code that draws rows with them.
"""

from __future__ import annotations

import numpy as np

# Volumes at scale 1 over the reference window.
REF_DAYS = 366
REF_USERS = 10_000
REF_PRODUCTS = 2_000
REF_ORDERS = 20_000
REF_EVENTS = 80_000
REF_REVIEWS = 15_000
USER_BACKLOG_SHARE = 0.4
PRODUCT_BACKLOG_SHARE = 0.8
USER_CHANGE_SHARE = 0.10
PRODUCT_CHANGE_SHARE = 0.05
MIN_BACKLOG = 5
# An entity's second version comes 1..CHANGE_HORIZON days after its first, with a probability
# that gives the shares above within the reference window: the backlog (day 0) changes within
# it whatever the offset, an entity appearing uniformly later does so half the time on average.
CHANGE_HORIZON = REF_DAYS - 1
USER_CHANGE_P = USER_CHANGE_SHARE * 2 / (1 + USER_BACKLOG_SHARE)
PRODUCT_CHANGE_P = PRODUCT_CHANGE_SHARE * 2 / (1 + PRODUCT_BACKLOG_SHARE)
POPULARITY_OFFSET = 6.0  # weight 1 / (u * n + 6): today's 1 / (rank + 5), rank 1..n, drawn iid

# Weekends are busier (Mon..Sun, mean 1).
WEEKDAY_FACTOR = np.array([0.92, 0.90, 0.92, 0.96, 1.04, 1.15, 1.11])
_NIGHT_TO_NOON = [0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0]
_NOON_TO_NIGHT = [1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 1.0, 0.6]
HOUR_PROFILE = np.array(_NIGHT_TO_NOON + _NOON_TO_NIGHT)
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.sum()

LINES_P = np.array([0.36, 0.31, 0.18, 0.09, 0.06])  # 1..5 lines, mean 2.18
QTY_P = np.array([0.70, 0.20, 0.07, 0.03])  # 1..4
DISCOUNT_MILLI = np.array([0, 50, 100, 150, 200, 250])
DISCOUNT_P = np.array([0.72, 0.10, 0.08, 0.05, 0.03, 0.02])
STATUS_P = np.array([0.05, 0.15, 0.70, 0.05, 0.05])  # order of contract.ORDER_STATUSES
PAYMENT_P = np.array([0.40, 0.20, 0.18, 0.12, 0.05, 0.05])
RATING_P = np.array([0.05, 0.07, 0.13, 0.30, 0.45])
FREE_SHIPPING_CENTS = 5_000
CATEGORY_MEDIAN_CENTS = np.array([8000, 3500, 4000, 2000, 4500, 1500, 2500, 800])
REVIEW_TEXT_NULL_P = 0.15

# Event funnel.
PURCHASE_SESSION_SHARE = 0.30  # share of orders that come with a click-stream session
REMOVE_P = 0.15  # purchase sessions with a remove_from_cart
BROWSE_PV_ONE = np.array([0.55, 0.30, 0.15])  # page views per browse session: 1..3
BROWSE_PRODUCT_P = 0.6
BROWSE_PV_N = np.array([0.5, 0.3, 0.2])  # product views when any: 1..3
BROWSE_CART_P = 0.3
BROWSE_REMOVE_P = 0.3
BROWSE_CHECKOUT_P = 0.3
ANONYMOUS_SHARE = 0.30

# Reserved key ranges of injected rows: they never collide with real keys.
EXTRA_KEY_BASE = 800_000_000
ORPHAN_LINE_BASE = 850_000_000
ORPHAN_REF_BASE = 900_000_000

DEFAULT_RATES: dict[str, float] = {
    # quarantine-bound extra rows, share of the file's real rows
    "malformed_line": 0.002,
    "null_key": 0.002,
    "bad_key": 0.002,
    "duplicate_key": 0.003,
    "bad_value": 0.004,
    "out_of_range": 0.004,
    "future_timestamp": 0.002,
    "orphan_line": 0.003,
    # in-place defects, share of the file's real rows
    "exact_duplicate": 0.004,
    "whitespace_case": 0.005,
    "unknown_value": 0.003,
    "invalid_email": 0.004,
    "orphan_reference": 0.003,
    "inconsistent_total": 0.003,
    # at-least-once sources (events, reviews): a row of D-1's file sent again in D's, share of
    # D's real rows; identical: an exact duplicate; one value changed: a duplicate key
    "resent_identical": 0.0,
    "resent_changed": 0.0,
    # file-level, share of files
    "extra_column": 0.015,
    "missing_column": 0.0,
    # not a defect (kept with clean=True): share of a day's events delivered one day late
    "late_event": 0.01,
}
# File-format variations allowed by the contract, present even with clean=True.
BOM_RATE = 0.10
CRLF_RATE = 0.15
SHUFFLE_RATE = 0.10
