"""Synthetic landing-zone generator: realistic daily deliveries with exactly predicted defects.

Why: the platform must be tested against data that looks like the real source systems (daily
folders, heavy-tailed popularity, versions of dimensions, late events) and against every defect
of the landing contract -- and each test must know *exactly* what staging has to do. So every
folder gets a ``_manifest.json`` that predicts, per file, the row count, every defect, the
quarantine line numbers and the number of rows that must reach staging.

Volumes. ``scale=1`` with the reference window (366 days) gives 10,000 users, 2,000 products,
20,000 orders (~43,500 lines), ~80,000 events and 15,000 reviews. Daily volumes are
``reference / 366 * scale`` whatever the window, so a day always looks the same. The day-1
backlog (40 % of users, 80 % of products) is ``share * reference * scale * days / 366`` with a
floor of 5 rows so that short windows still have users and products to order. Orders, events and
reviews are Poisson draws around the daily mean with a weekly profile (weekends busier).

Determinism. All randomness comes from ``numpy.random.default_rng`` streams derived from the
seed: one for the master data, one per day for the business rows, and one per (day, table) for
file layout and defects. Defect rates therefore never change the clean business data. Keys of
injected extra rows come from reserved ranges (800,000,000+; orphan references 900,000,000+,
orphan order lines 850,000,000+) so they never collide with real keys. No wall clock anywhere.

Defects. Quarantine-bound defects are *extra* rows (a copy of a real row with a fresh key and
exactly one corruption), so real rows, totals and references stay intact. In-place defects
alter distinct real rows, one defect each. Purchase events, the orders they belong to and late
events are never altered nor copied, so purchase/order matching and late-event counts stay exact.
The label ``out_of_range:price`` is used for ``price <= 0`` (such a row necessarily also has
``cost >= price``; the price rule wins); ``out_of_range:cost`` rows keep a valid price.

Memory. Master data (users, products) is held as numpy arrays; fact rows are generated,
written and dropped one day at a time, so scale 60 (~10 million rows) runs in bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ecommerce_assets import contract as C

SD = np.dtypes.StringDType()

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

# Weekends are busier (Mon..Sun, mean 1).
WEEKDAY_FACTOR = np.array([0.92, 0.90, 0.92, 0.96, 1.04, 1.15, 1.11])
_NIGHT_TO_NOON = [0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0]
_NOON_TO_NIGHT = [1.1, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 1.0, 0.6]
HOUR_PROFILE = np.array(_NIGHT_TO_NOON + _NOON_TO_NIGHT)
HOUR_PROFILE = HOUR_PROFILE / HOUR_PROFILE.sum()

LINES_P = np.array([0.36, 0.31, 0.18, 0.09, 0.06])  # 1..5 lines, mean 2.18
QTY_P = np.array([0.70, 0.20, 0.07, 0.03])  # 1..4
DISCOUNT_MILLI = np.array([0, 50, 100, 150, 200, 250])
DISCOUNT_TEXT = np.array(["0", "0.05", "0.1", "0.15", "0.2", "0.25"], dtype=SD)
DISCOUNT_P = np.array([0.72, 0.10, 0.08, 0.05, 0.03, 0.02])
STATUS_P = np.array([0.05, 0.15, 0.70, 0.05, 0.05])  # order of contract.ORDER_STATUSES
PAYMENT_P = np.array([0.40, 0.20, 0.18, 0.12, 0.05, 0.05])
RATING_P = np.array([0.05, 0.07, 0.13, 0.30, 0.45])
FREE_SHIPPING_CENTS = 5_000

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
EXTRA_COLUMN_NAMES = ("coupon_code", "source_system", "loyalty_tier")
EXTRA_COLUMN_VALUES = np.array(["", "SAVE10", "WELCOME", "FREESHIP", "VIP", "X1"], dtype=SD)

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ida",
    "Jonas",
    "Karla",
    "Leon",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Lucas",
    "Sofia",
    "Mateo",
    "Elena",
    "Marco",
    "Chloe",
    "Liam",
    "Nora",
    "Oscar",
    "Lea",
    "Finn",
    "Alice",
    "Bob",
    "Maya",
    "Ravi",
]
LAST_NAMES = [
    "Smith",
    "Müller",
    "Garcia",
    "Rossi",
    "Dubois",
    "Nowak",
    "Jensen",
    "Silva",
    "Kowalski",
    "Novak",
    "Fischer",
    "Weber",
    "Martin",
    "Bernard",
    "Lopez",
    "Romano",
    "Costa",
    "Hansen",
    "Nielsen",
    "Svensson",
    "Virtanen",
    "Murphy",
    "Walsh",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Schmidt",
    "Wagner",
    "Becker",
    "Moreau",
    "Laurent",
    "Ferrari",
    "Ricci",
    "Santos",
    "Pereira",
]
COUNTRIES = ("DE", "FR", "ES", "IT", "NL", "PL", "SE", "GB", "US", "AT")
CITIES = (
    ("Berlin", "Hamburg", "Munich", "Cologne", "Leipzig"),
    ("Paris", "Lyon", "Marseille", "Toulouse", "Lille"),
    ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao"),
    ("Rome", "Milan", "Naples", "Turin", "Bologna"),
    ("Amsterdam", "Rotterdam", "Utrecht", "The Hague", "Eindhoven"),
    ("Warsaw", "Krakow", "Gdansk", "Wroclaw", "Poznan"),
    ("Stockholm", "Gothenburg", "Malmo", "Uppsala", "Lund"),
    ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
    ("New York", "Chicago", "Austin", "Seattle", "Boston"),
    ("Vienna", "Graz", "Linz", "Salzburg", "Innsbruck"),
)
COUNTRY_WEIGHTS = np.array([0.22, 0.14, 0.1, 0.1, 0.08, 0.07, 0.05, 0.1, 0.1, 0.04])
DOMAINS = ("example.com", "mail.example", "shop.example.org", "inbox.example.net")
SUBCATEGORIES = {
    "Electronics": ("Phones", "Laptops", "Audio", "Accessories"),
    "Home & Kitchen": ("Cookware", "Furniture", "Decor", "Appliances"),
    "Fashion": ("Shoes", "Jackets", "Shirts", "Bags"),
    "Beauty": ("Skincare", "Makeup", "Haircare", "Fragrance"),
    "Sports": ("Running", "Cycling", "Fitness", "Outdoor"),
    "Books": ("Fiction", "Non-fiction", "Children", "Comics"),
    "Toys": ("Puzzles", "Board Games", "Dolls", "Building Sets"),
    "Grocery": ("Coffee", "Snacks", "Tea", "Pantry"),
}
NOUNS = {
    "Electronics": ("Headphones", "Speaker", "Charger", "Smartphone", "Laptop", "Monitor"),
    "Home & Kitchen": ("Chef Knife", "Frying Pan", "Lamp", "Mug", "Chair", "Kettle"),
    "Fashion": ("Sneakers", "Jacket", "T-Shirt", "Backpack", "Scarf", "Boots"),
    "Beauty": ("Face Cream", "Lipstick", "Shampoo", "Perfume", "Serum", "Mascara"),
    "Sports": ("Yoga Mat", "Running Shoes", "Bike Helmet", "Dumbbell", "Tent", "Bottle"),
    "Books": ("Novel", "Cookbook", "Atlas", "Biography", "Comic", "Guide"),
    "Toys": ("Puzzle", "Board Game", "Doll", "Robot Kit", "Teddy Bear", "Race Car"),
    "Grocery": ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Pasta", "Honey"),
}
ADJECTIVES = [
    "Classic",
    "Deluxe",
    "Compact",
    "Premium",
    "Eco",
    "Smart",
    "Ultra",
    "Vintage",
    "Pro",
    "Essential",
]
COLORS = ["Black", "White", "Red", "Blue", "Green", "Grey", "Navy", "Beige"]
BRANDS = ["Nordic", "Acme", "Zenith", "Aurora", "Vertex", "Lumen", "Orbit", "Nova"]
CATEGORY_MEDIAN_CENTS = np.array([8000, 3500, 4000, 2000, 4500, 1500, 2500, 800])
REVIEW_TEXTS = np.array(
    [
        "Great product, works as described.",
        "Good value for the money",
        'The "premium" finish is not that premium.',
        "Arrived late, but the quality is fine.",
        "Love it!\nWould buy again.",
        "Does what it should.",
        'Broke after a week. "Durable", they said.',
        "Five stars, fast delivery, nice packaging.",
        "Meh.",
        "Colour differs from the picture,\nsize is OK.",
        "Excellent",
        "Not bad, not great; average.",
        "My kids love it.\r\nHighly recommended, really.",
        "Smaller than expected",
    ],
    dtype=SD,
)
REVIEW_TEXT_NULL_P = 0.15

UNKNOWN_VALUES = {
    "category": ("Gadgets", "Garden", "Automotive"),
    "status": ("lost", "pending_review", "on_hold"),
    "payment_method": ("bitcoin", "cash_on_delivery", "voucher"),
    "event_type": ("hover", "scroll", "wishlist_add"),
}
BAD_KEYS = ("abc", "-5", "0", "1.5", "12abc", "x7")
BAD_VALUES = {
    "int": ("N/A", "abc", "twelve", "#3"),
    "date": ("2024-13-45", "2024-02-30", "yesterday", "N/A"),
    "timestamp": ("yesterday", "2024-13-45 10:00:00", "2024-01-01 25:61:00", "N/A"),
    "decimal": ("12,3x", "abc", "N/A", "1.2.3"),
}
OUT_OF_RANGE_COLUMNS = {
    "products": ("price", "cost"),
    "orders": ("shipping_amount", "order_ts"),
    "order_items": ("quantity", "unit_price", "discount"),
    "events": ("event_ts",),
    "reviews": ("rating", "helpful_votes", "review_date"),
}
FUTURE_COLUMNS = {
    "users": ("signup_date", "updated_at"),
    "products": ("updated_at",),
    "orders": ("order_ts",),
    "events": ("event_ts",),
    "reviews": ("review_date",),
}
DUPLICATE_KEY_CHANGE = {
    "orders": "status",
    "order_items": "quantity",
    "events": "session_id",
    "reviews": "helpful_votes",
}
# In-place classes: table -> class -> [(column, extra eligibility mask name or None)].
IN_PLACE: dict[str, dict[str, list[tuple[str, str | None]]]] = {
    "users": {
        "whitespace_case": [
            ("user_name", None),
            ("email", None),
            ("country", None),
            ("city", None),
        ],
        "invalid_email": [("email", None)],
    },
    "products": {
        "whitespace_case": [("product_name", None), ("category", None), ("subcategory", None)],
        "unknown_value": [("category", None)],
    },
    "orders": {
        "whitespace_case": [("status", None), ("payment_method", None)],
        "unknown_value": [("status", None), ("payment_method", None)],
        "orphan_reference": [("user_id", "no_purchase")],
        "inconsistent_total": [("order_amount", "no_purchase")],
    },
    "order_items": {"orphan_reference": [("product_id", None)]},
    "events": {
        "whitespace_case": [("event_type", None)],
        "unknown_value": [("event_type", "page_or_checkout")],
        "orphan_reference": [("user_id", None), ("product_id", "product_event")],
    },
    "reviews": {"orphan_reference": [("user_id", None), ("product_id", None)]},
}
FREE_TEXT = {"user_name", "city", "product_name", "subcategory"}


# ------------------------------------------------------------------------------------------
# small vectorized formatting helpers
# ------------------------------------------------------------------------------------------
def _cat(*parts: np.ndarray | str) -> np.ndarray:
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def _fmt_int(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).astype(SD)


def _fmt_cents(c: np.ndarray) -> np.ndarray:
    """Non-negative integer cents -> 'X.YY' without binary floats."""
    c = np.asarray(c, dtype=np.int64)
    return _cat((c // 100).astype(SD), ".", np.strings.zfill((c % 100).astype(SD), 2))


def _fmt_ts(secs: np.ndarray) -> np.ndarray:
    s = np.asarray(secs, dtype=np.int64).astype("datetime64[s]").astype(SD)
    return np.strings.replace(s, "T", " ")


def _fmt_date(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(SD)


def _cents_str(c: int) -> str:
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def _cents_of(text: str) -> int:
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


def _ts_str(secs: int) -> str:
    return str(np.datetime64(int(secs), "s")).replace("T", " ")


def _date_str(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def _needs_quote(s: str) -> bool:
    return any(ch in s for ch in ',"\r\n') or s != s.strip(" ")


def _enc(s: str) -> str:
    """RFC-4180 field: quoted only when needed, quotes doubled."""
    return '"' + s.replace('"', '""') + '"' if _needs_quote(s) else s


def _quote_arr(a: np.ndarray) -> np.ndarray:
    need = (
        (np.strings.find(a, ",") >= 0)
        | (np.strings.find(a, '"') >= 0)
        | (np.strings.find(a, "\n") >= 0)
        | (np.strings.find(a, "\r") >= 0)
        | np.strings.startswith(a, " ")
        | np.strings.endswith(a, " ")
    )
    if not need.any():
        return a
    out = a.copy()
    out[need] = _cat('"', np.strings.replace(a[need], '"', '""'), '"')
    return out


def _secs_in_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hours = rng.choice(24, size=n, p=HOUR_PROFILE)
    return hours * 3600 + rng.integers(0, 3600, size=n)


def _sample_prefix(rng: np.random.Generator, cum: np.ndarray, n_ok: int, size: int) -> np.ndarray:
    """Indices in [0, n_ok) drawn with weights whose cumulative sum is ``cum``."""
    u = rng.random(size) * cum[n_ok - 1]
    return np.minimum(np.searchsorted(cum, u, side="right"), n_ok - 1)


# ------------------------------------------------------------------------------------------
# master data (users, products) for the whole window, as arrays
# ------------------------------------------------------------------------------------------
@dataclass
class _Dim:
    first_day: np.ndarray  # day index of the first version (0 for the backlog)
    first_secs: np.ndarray  # updated_at of the first version, seconds since epoch
    n_ok: np.ndarray  # per day index: entities usable by facts of that day (an id prefix)
    chg_ids: np.ndarray  # indices with a second version, sorted by change day
    chg_day: np.ndarray  # per entity, change day index, or a huge number
    chg_secs: np.ndarray  # per entity, updated_at of the second version
    day_starts: np.ndarray  # first entity index per day (first versions, sorted by day)
    chg_starts: np.ndarray  # per day slice into chg_ids


def _dim_schedule(
    rng: np.random.Generator,
    n_backlog: int,
    n_new: int,
    days: int,
    change_share: float,
    day0: int,
) -> _Dim:
    new_days = np.sort(rng.integers(0, days, size=n_new))
    first_day = np.concatenate([np.zeros(n_backlog, np.int64), new_days])
    n = first_day.size
    first_secs = (day0 + first_day) * 86400 + np.concatenate(
        [np.zeros(n_backlog, np.int64), rng.integers(0, 86400, size=n_new)]
    )
    all_days = np.arange(days)
    n_ok = n_backlog + np.searchsorted(new_days, all_days, side="left")
    cand = np.flatnonzero(first_day < days - 1)
    n_chg = min(round(change_share * n), cand.size)
    chg = np.sort(rng.choice(cand, size=n_chg, replace=False)) if n_chg else cand[:0]
    chg_day = np.full(n, 1 << 40, dtype=np.int64)
    chg_day[chg] = rng.integers(first_day[chg] + 1, days)
    chg_secs = np.zeros(n, np.int64)
    chg_secs[chg] = (day0 + chg_day[chg]) * 86400 + rng.integers(0, 86400, size=chg.size)
    chg_ids = chg[np.argsort(chg_day[chg], kind="stable")]
    return _Dim(
        first_day=first_day,
        first_secs=first_secs,
        n_ok=n_ok,
        chg_ids=chg_ids,
        chg_day=chg_day,
        chg_secs=chg_secs,
        day_starts=np.searchsorted(first_day, np.arange(days + 1), side="left"),
        chg_starts=np.searchsorted(chg_day[chg_ids], np.arange(days + 1), side="left"),
    )


@dataclass
class _World:
    day0: int
    days: int
    scale: float
    users: _Dim
    u_first: np.ndarray
    u_last: np.ndarray
    u_country: np.ndarray
    u_city: np.ndarray
    u_city2: np.ndarray
    u_domain: np.ndarray
    u_signup: np.ndarray
    products: _Dim
    p_name: np.ndarray
    p_cat: np.ndarray
    p_sub: np.ndarray
    p_price: np.ndarray
    p_cost: np.ndarray
    p_price2: np.ndarray
    p_cost2: np.ndarray
    p_supplier: np.ndarray
    p_cum: np.ndarray
    counters: dict[str, int] = field(default_factory=dict)


def _backlog(ref: int, share: float, scale: float, days: int) -> tuple[int, int]:
    backlog = max(MIN_BACKLOG, round(ref * share * scale * days / REF_DAYS))
    new = round(ref * (1 - share) * scale * days / REF_DAYS)
    return backlog, new


def _build_world(seed: int, scale: float, start: date, days: int) -> _World:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    day0 = (start - date(1970, 1, 1)).days
    ub, un = _backlog(REF_USERS, USER_BACKLOG_SHARE, scale, days)
    users = _dim_schedule(rng, ub, un, days, USER_CHANGE_SHARE, day0)
    nu = ub + un
    u_country = rng.choice(len(COUNTRIES), size=nu, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    u_city = rng.integers(0, 5, size=nu)
    u_signup = day0 + users.first_day
    u_signup[:ub] = day0 - rng.integers(1, 731, size=ub)

    pb, pn = _backlog(REF_PRODUCTS, PRODUCT_BACKLOG_SHARE, scale, days)
    products = _dim_schedule(rng, pb, pn, days, PRODUCT_CHANGE_SHARE, day0)
    npr = pb + pn
    p_cat = rng.integers(0, len(C.CATEGORIES), size=npr)
    p_sub = rng.integers(0, 4, size=npr)
    noun = rng.integers(0, 6, size=npr)
    adj = rng.integers(0, len(ADJECTIVES), size=npr)
    col = rng.integers(0, len(COLORS), size=npr)
    brand = rng.integers(0, len(BRANDS), size=npr)
    style = rng.choice(4, size=npr, p=[0.80, 0.10, 0.06, 0.04])
    model = rng.integers(100, 1000, size=npr)
    names = []
    for i in range(npr):
        cat = C.CATEGORIES[p_cat[i]]
        n = NOUNS[cat][noun[i]]
        a, c, b, m = ADJECTIVES[adj[i]], COLORS[col[i]], BRANDS[brand[i]], model[i]
        s = style[i]
        if s == 0:
            names.append(f"{b} {a} {n} {m}")
        elif s == 1:
            names.append(f"{b} {a} {n}, {c}")
        elif s == 2:
            names.append(f'{b} "{a}" {n} {m}')
        else:
            names.append(f'{a} {n} {m % 30 + 10}", {c}')
    median = CATEGORY_MEDIAN_CENTS[p_cat]
    raw = median * np.exp(rng.normal(0.0, 0.6, size=npr))
    price = np.maximum(1, np.rint(raw / 100)).astype(np.int64) * 100 - 1  # x.99 prices
    cost = price * rng.integers(350, 751, size=npr) // 1000
    ratio = rng.integers(800, 1251, size=npr)
    price2 = np.maximum(99, price * ratio // 1000)
    price2 = np.where(price2 == price, price + 100, price2)
    cost2 = price2 * cost // price
    supplier = rng.integers(1, 501, size=npr)
    supplier[rng.random(npr) < 0.1] = 0
    rank = rng.permutation(npr) + 1
    weight = 1.0 / (rank + 5.0)
    return _World(
        day0=day0,
        days=days,
        scale=scale,
        users=users,
        u_first=rng.integers(0, len(FIRST_NAMES), size=nu),
        u_last=rng.integers(0, len(LAST_NAMES), size=nu),
        u_country=u_country,
        u_city=u_city,
        u_city2=(u_city + rng.integers(1, 5, size=nu)) % 5,
        u_domain=rng.integers(0, len(DOMAINS), size=nu),
        u_signup=u_signup,
        products=products,
        p_name=np.array(names, dtype=SD),
        p_cat=p_cat,
        p_sub=p_sub,
        p_price=price,
        p_cost=cost,
        p_price2=price2,
        p_cost2=cost2,
        p_supplier=supplier,
        p_cum=np.cumsum(weight),
        counters={"order": 0, "item": 0, "event": 0, "review": 0, "session": 0},
    )


# ------------------------------------------------------------------------------------------
# one day of business rows
# ------------------------------------------------------------------------------------------
@dataclass
class _Table:
    cols: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    late: int = 0  # leading rows that are late events (events only)

    @property
    def n(self) -> int:
        return len(next(iter(self.cols.values())))


_A_FIRST = np.array(FIRST_NAMES, dtype=SD)
_A_LAST = np.array(LAST_NAMES, dtype=SD)
_A_FIRST_L = np.strings.lower(_A_FIRST)
_A_LAST_L = np.strings.lower(np.array([s.replace("ü", "ue") for s in LAST_NAMES], dtype=SD))
_A_COUNTRY = np.array(COUNTRIES, dtype=SD)
_A_CITY = np.array(CITIES, dtype=SD)
_A_DOMAIN = np.array(DOMAINS, dtype=SD)
_A_CAT = np.array(C.CATEGORIES, dtype=SD)
_A_SUB = np.array([SUBCATEGORIES[c] for c in C.CATEGORIES], dtype=SD)
_A_STATUS = np.array(C.ORDER_STATUSES, dtype=SD)
_A_PAY = np.array(C.PAYMENT_METHODS, dtype=SD)
_A_EVT = np.array(C.EVENT_TYPES, dtype=SD)
PV, PRODV, ATC, RFC, CHK, PUR = range(6)


def _users_day(w: _World, d: int) -> _Table:
    u = w.users
    first = np.arange(u.day_starts[d], u.day_starts[d + 1])
    chg = u.chg_ids[u.chg_starts[d] : u.chg_starts[d + 1]]
    idx = np.concatenate([first, chg])
    city = np.concatenate([w.u_city[first], w.u_city2[chg]])
    upd = np.concatenate([u.first_secs[first], u.chg_secs[chg]])
    uid = idx + 1
    cols = {
        "user_id": _fmt_int(uid),
        "user_name": _cat(_A_FIRST[w.u_first[idx]], " ", _A_LAST[w.u_last[idx]]),
        "email": _cat(
            _A_FIRST_L[w.u_first[idx]],
            ".",
            _A_LAST_L[w.u_last[idx]],
            _fmt_int(uid),
            "@",
            _A_DOMAIN[w.u_domain[idx]],
        ),
        "country": _A_COUNTRY[w.u_country[idx]],
        "city": _A_CITY[w.u_country[idx], city],
        "signup_date": _fmt_date(w.u_signup[idx]),
        "updated_at": _fmt_ts(upd),
    }
    return _Table(cols, {})


def _products_day(w: _World, d: int) -> _Table:
    p = w.products
    first = np.arange(p.day_starts[d], p.day_starts[d + 1])
    chg = p.chg_ids[p.chg_starts[d] : p.chg_starts[d + 1]]
    idx = np.concatenate([first, chg])
    price = np.concatenate([w.p_price[first], w.p_price2[chg]])
    cost = np.concatenate([w.p_cost[first], w.p_cost2[chg]])
    upd = np.concatenate([p.first_secs[first], p.chg_secs[chg]])
    sup = _fmt_int(w.p_supplier[idx])
    sup[w.p_supplier[idx] == 0] = ""
    cols = {
        "product_id": _fmt_int(idx + 1),
        "product_name": w.p_name[idx],
        "category": _A_CAT[w.p_cat[idx]],
        "subcategory": _A_SUB[w.p_cat[idx], w.p_sub[idx]],
        "price": _fmt_cents(price),
        "cost": _fmt_cents(cost),
        "supplier_id": sup,
        "updated_at": _fmt_ts(upd),
    }
    return _Table(cols, {})


def _day_mean(ref: int, w: _World, d: int) -> float:
    dow = (w.day0 + d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return ref / REF_DAYS * w.scale * WEEKDAY_FACTOR[dow]


def _facts_day(
    w: _World, d: int, rng: np.random.Generator, late_rate: float, carry: dict[str, np.ndarray]
) -> tuple[dict[str, _Table], dict[str, np.ndarray]]:
    """Orders, lines, events and reviews of day ``d``; returns the events held for day d+1."""
    day_start = (w.day0 + d) * 86400
    nu, npd = int(w.users.n_ok[d]), int(w.products.n_ok[d])
    # ---- orders and lines
    n_o = int(rng.poisson(_day_mean(REF_ORDERS, w, d)))
    o_secs = np.sort(_secs_in_day(rng, n_o))
    o_ts = day_start + o_secs
    o_user = rng.integers(0, nu, size=n_o) + 1
    n_lines = rng.choice(5, size=n_o, p=LINES_P) + 1
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    n_l = int(n_lines.sum())
    l_order = np.repeat(np.arange(n_o), n_lines)
    l_prod = _sample_prefix(rng, w.p_cum, npd, n_l)
    l_qty = rng.choice(4, size=n_l, p=QTY_P) + 1
    l_disc = rng.choice(6, size=n_l, p=DISCOUNT_P)
    p = w.products
    l_ts = o_ts[l_order]
    new_price = (p.chg_day[l_prod] < d) | ((p.chg_day[l_prod] == d) & (p.chg_secs[l_prod] <= l_ts))
    l_price = np.where(new_price, w.p_price2[l_prod], w.p_price[l_prod])
    milli = l_qty * l_price * (1000 - DISCOUNT_MILLI[l_disc])  # cents * 1000, exact
    l_net = (milli + 500) // 1000  # half away from zero (all positive)
    subtotal = np.add.reduceat(l_net, line_start) if n_o else np.zeros(0, np.int64)
    ship = np.where(subtotal >= FREE_SHIPPING_CENTS, 0, np.where(rng.random(n_o) < 0.7, 499, 999))
    amount = subtotal + ship
    o_id = w.counters["order"] + 1 + np.arange(n_o)
    w.counters["order"] += n_o
    l_id = w.counters["item"] + 1 + np.arange(n_l)
    w.counters["item"] += n_l
    purchase = rng.random(n_o) < PURCHASE_SESSION_SHARE
    orders = _Table(
        {
            "order_id": _fmt_int(o_id),
            "user_id": _fmt_int(o_user),
            "order_ts": _fmt_ts(o_ts),
            "status": _A_STATUS[rng.choice(5, size=n_o, p=STATUS_P)],
            "payment_method": _A_PAY[rng.choice(6, size=n_o, p=PAYMENT_P)],
            "shipping_amount": _fmt_cents(ship),
            "order_amount": _fmt_cents(amount),
        },
        {"no_purchase": ~purchase},
    )
    items = _Table(
        {
            "order_item_id": _fmt_int(l_id),
            "order_id": _fmt_int(o_id[l_order]),
            "product_id": _fmt_int(l_prod + 1),
            "quantity": _fmt_int(l_qty),
            "unit_price": _fmt_cents(l_price),
            "discount": DISCOUNT_TEXT[l_disc],
        },
        {},
    )
    # ---- purchase sessions: page_view, product_view per line, add_to_cart per line,
    # sometimes remove_from_cart, checkout, purchase at order_ts
    k = np.flatnonzero(purchase)
    kl = n_lines[k]
    rm = (rng.random(k.size) < REMOVE_P).astype(np.int64)
    n_ev = 3 + 2 * kl + rm
    sess = np.repeat(np.arange(k.size), n_ev)
    pos = np.arange(sess.size) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
    L, R, N = kl[sess], rm[sess], n_ev[sess]
    etype = np.full(sess.size, PV)
    line_i = np.zeros(sess.size, np.int64)
    m = (pos >= 1) & (pos <= L)
    etype[m], line_i[m] = PRODV, pos[m] - 1
    m = (pos > L) & (pos <= 2 * L)
    etype[m], line_i[m] = ATC, pos[m] - L[m] - 1
    etype[(R == 1) & (pos == 2 * L + 1)] = RFC
    etype[pos == N - 2] = CHK
    etype[pos == N - 1] = PUR
    ls = line_start[k][sess] + line_i
    pprod = np.where((etype == PRODV) | (etype == ATC) | (etype == RFC), l_prod[ls] + 1, 0)
    gap = rng.integers(15, 181, size=k.size)[sess]
    p_ts = np.maximum(o_ts[k][sess] - (N - 1 - pos) * gap, day_start)
    p_user = o_user[k][sess]
    p_val = np.where(etype == PUR, amount[k][sess], -1)
    p_sess = sess
    # ---- browse sessions (no purchase)
    per_order = PURCHASE_SESSION_SHARE * (3 + 2 * float(LINES_P @ np.arange(1, 6)) + REMOVE_P)
    pv_mean = float(BROWSE_PV_ONE @ np.arange(1, 4))
    prod_mean = BROWSE_PRODUCT_P * float(BROWSE_PV_N @ np.arange(1, 4))
    cart_mean = BROWSE_PRODUCT_P * BROWSE_CART_P * (1 + BROWSE_REMOVE_P + BROWSE_CHECKOUT_P)
    per_browse = pv_mean + prod_mean + cart_mean
    browse_ref = max(0.0, (REF_EVENTS - REF_ORDERS * per_order) / per_browse)
    n_b = int(rng.poisson(_day_mean(round(browse_ref), w, d)))
    a = rng.choice(3, size=n_b, p=BROWSE_PV_ONE) + 1
    has_p = rng.random(n_b) < BROWSE_PRODUCT_P
    b = np.where(has_p, rng.choice(3, size=n_b, p=BROWSE_PV_N) + 1, 0)
    cart = (has_p & (rng.random(n_b) < BROWSE_CART_P)).astype(np.int64)
    rem = cart * (rng.random(n_b) < BROWSE_REMOVE_P)
    chk = cart * (rng.random(n_b) < BROWSE_CHECKOUT_P)
    nb = a + b + cart + rem + chk
    bs = np.repeat(np.arange(n_b), nb)
    bpos = np.arange(bs.size) - np.repeat(np.cumsum(nb) - nb, nb)
    A, B, Ca, Re = a[bs], b[bs], cart[bs], rem[bs]
    btype = np.full(bs.size, PV)
    btype[(bpos >= A) & (bpos < A + B)] = PRODV
    btype[(bpos >= A + B) & (bpos < A + B + Ca)] = ATC
    btype[(bpos >= A + B + Ca) & (bpos < A + B + Ca + Re)] = RFC
    btype[bpos >= A + B + Ca + Re] = CHK
    bprod = np.where(btype == PRODV, _sample_prefix(rng, w.p_cum, npd, bs.size) + 1, 0)
    # cart events concern the last viewed product of the session
    last_pv = np.repeat(np.cumsum(nb) - nb, nb) + A + B - 1
    cart_ev = (btype == ATC) | (btype == RFC)
    bprod[cart_ev] = bprod[last_pv[cart_ev]]
    anon_p = min(1.0, ANONYMOUS_SHARE * (k.size + n_b) / max(n_b, 1)) if n_b else 0.0
    b_user = np.where(rng.random(n_b) < anon_p, 0, rng.integers(0, nu, size=n_b) + 1)[bs]
    bstart = _secs_in_day(rng, n_b)[bs]
    b_ts = day_start + np.minimum(bstart + bpos * rng.integers(10, 241, size=n_b)[bs], 86399)
    # ---- merge, order by time, ids
    s0 = w.counters["session"]
    w.counters["session"] += k.size + n_b
    ev_type = np.concatenate([etype, btype])
    ev_ts = np.concatenate([p_ts, b_ts])
    ev_sess = np.concatenate([p_sess, bs + k.size]) + s0 + 1
    ev_user = np.concatenate([p_user, b_user])
    ev_prod = np.concatenate([pprod, bprod])
    ev_val = np.concatenate([p_val, np.full(bs.size, -1)])
    order = np.lexsort((ev_sess, ev_ts))
    ev = {
        "type": ev_type[order],
        "ts": ev_ts[order],
        "sess": ev_sess[order],
        "user": ev_user[order],
        "prod": ev_prod[order],
        "val": ev_val[order],
    }
    ne = ev["ts"].size
    ev["id"] = w.counters["event"] + 1 + np.arange(ne)
    w.counters["event"] += ne
    hold = (rng.random(ne) < late_rate) & (ev["type"] != PUR)
    if d == w.days - 1:
        hold[:] = False
    held = {key: v[hold] for key, v in ev.items()}
    today = {
        key: np.concatenate([carry[key], v[~hold]]) if carry else v[~hold] for key, v in ev.items()
    }
    n_late = carry["id"].size if carry else 0
    et = today["type"]
    user_s = _fmt_int(today["user"])
    user_s[today["user"] == 0] = ""
    prod_s = _fmt_int(today["prod"])
    prod_s[today["prod"] == 0] = ""
    val_s = _fmt_cents(np.maximum(today["val"], 0))
    val_s[today["val"] < 0] = ""
    late_mask = np.zeros(et.size, bool)
    late_mask[:n_late] = True
    src = (et != PUR) & ~late_mask
    events = _Table(
        {
            "event_id": _fmt_int(today["id"]),
            "session_id": _cat("sess-", np.strings.zfill(_fmt_int(today["sess"]), 8)),
            "user_id": user_s,
            "event_type": _A_EVT[et],
            "product_id": prod_s,
            "event_ts": _fmt_ts(today["ts"]),
            "event_value": val_s,
        },
        {
            "src": src,
            "product_event": src & ((et == PRODV) | (et == ATC) | (et == RFC)),
            "page_or_checkout": src & ((et == PV) | (et == CHK)),
        },
        late=n_late,
    )
    # ---- reviews
    n_r = int(rng.poisson(REF_REVIEWS / REF_DAYS * w.scale))
    r_id = w.counters["review"] + 1 + np.arange(n_r)
    w.counters["review"] += n_r
    text = REVIEW_TEXTS[rng.integers(0, REVIEW_TEXTS.size, size=n_r)]
    text[rng.random(n_r) < REVIEW_TEXT_NULL_P] = ""
    reviews = _Table(
        {
            "review_id": _fmt_int(r_id),
            "product_id": _fmt_int(_sample_prefix(rng, w.p_cum, npd, n_r) + 1),
            "user_id": _fmt_int(rng.integers(0, nu, size=n_r) + 1),
            "rating": _fmt_int(rng.choice(5, size=n_r, p=RATING_P) + 1),
            "review_text": text,
            "review_date": _fmt_date(np.full(n_r, w.day0 + d)),
            "helpful_votes": _fmt_int(rng.geometric(0.4, size=n_r) - 1),
        },
        {},
    )
    tables = {"orders": orders, "order_items": items, "events": events, "reviews": reviews}
    return tables, held


# ------------------------------------------------------------------------------------------
# defects and rendering of one file
# ------------------------------------------------------------------------------------------
@dataclass
class _Extra:
    reason: str | None  # quarantine reason, None for an exact duplicate
    src: int
    fields: dict[str, str] | None = None  # None: verbatim copy of the source line
    malformed: str | None = None  # "more", "fewer" or "quote"
    after_src: bool = False


@dataclass
class _Keys:
    """Reserved key ranges for injected rows: they never collide with real keys."""

    extra: int = EXTRA_KEY_BASE
    orphan_line: int = ORPHAN_LINE_BASE
    orphan_ref: int = ORPHAN_REF_BASE

    def next(self, kind: str) -> int:
        value = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


def _variant(rng: np.random.Generator, col: str, s: str) -> str:
    """A whitespace/case variant of ``s`` that the platform repairs back to ``s``."""
    if col in FREE_TEXT:
        opts = [" " + s, s + " ", "  " + s + " "]
    elif col == "email":
        local, _, dom = s.partition("@")
        opts = [f"  {local.title()}@{dom.upper()} ", s.upper(), " " + s, s.title()]
    elif col == "country":
        opts = [s.lower(), " " + s, s + " ", " " + s.lower()]
    else:
        opts = [s.upper(), s.title(), s.lower(), " " + s + " ", " " + s, s.swapcase()]
    opts = [o for o in opts if o != s]
    return opts[int(rng.integers(len(opts)))]


def _row(t: _Table, i: int) -> dict[str, str]:
    return {k: str(v[i]) for k, v in t.cols.items()}


def _inject(
    spec: C.TableSpec,
    t: _Table,
    day_num: int,
    rng: np.random.Generator,
    rates: Mapping[str, float],
    keys: _Keys,
) -> tuple[list[_Extra], dict[str, int]]:
    """Choose and apply this file's row defects; returns extra rows and in-place counts."""
    n = t.n
    src = t.masks.get("src", np.ones(n, bool))
    extras: list[_Extra] = []
    counts: dict[str, int] = {}
    if n == 0 or not src.any():
        return extras, counts
    name, key = spec.name, spec.key

    def pick(mask: np.ndarray | None = None) -> int | None:
        ok = src if mask is None else src & mask
        idx = np.flatnonzero(ok)
        return int(idx[rng.integers(idx.size)]) if idx.size else None

    def how_many(cls: str) -> int:
        r = float(rates.get(cls, 0.0))
        return int(rng.binomial(n, min(max(r, 0.0), 1.0))) if r > 0 else 0

    def fresh(row: dict[str, str]) -> dict[str, str]:
        row[key] = str(keys.next("extra"))
        return row

    def ts_text(day_offset: int) -> str:
        return _ts_str((day_num + day_offset) * 86400 + int(rng.integers(3600, 86400)))

    def pick1(options: Sequence[str]) -> str:
        return options[int(rng.integers(len(options)))]

    # ---- quarantine-bound extra rows (copied before any in-place change)
    for _ in range(how_many("malformed_line")):
        s = pick()
        row = fresh(_row(t, s))
        for c, v in row.items():
            if "\n" in v or "\r" in v:
                row[c] = "text"
        extras.append(_Extra(C.MALFORMED_LINE, s, row, pick1(("more", "fewer", "quote"))))
    for _ in range(how_many("null_key")):
        s = pick()
        row = _row(t, s)
        row[key] = ""
        extras.append(_Extra(C.NULL_KEY, s, row))
    for _ in range(how_many("bad_key")):
        s = pick()
        row = _row(t, s)
        row[key] = pick1(BAD_KEYS)
        extras.append(_Extra(C.BAD_KEY, s, row))
    if name in DUPLICATE_KEY_CHANGE:
        col = DUPLICATE_KEY_CHANGE[name]
        for _ in range(how_many("duplicate_key")):
            s = pick()
            row = _row(t, s)
            v = row[col]
            if col == "status":
                row[col] = pick1([x for x in C.ORDER_STATUSES if x != v])
            elif col == "quantity":
                row[col] = pick1([x for x in ("1", "2", "3", "4") if x != v])
            elif col == "session_id":
                row[col] = v + "-b"
            else:
                row[col] = str(int(v) + 1 + int(rng.integers(5)))
            extras.append(_Extra(C.DUPLICATE_KEY, s, row, after_src=True))
    typed = [c for c in spec.columns if c.required and c.kind != "str" and c.name != key]
    n_bad = how_many("bad_value")
    for _ in range(n_bad):
        if name == "events" and rng.random() < 0.5:
            s = pick(t.masks["product_event"])
            if s is None:
                continue
            row = fresh(_row(t, s))
            row["product_id"] = ""
            extras.append(_Extra(C.bad_value("product_id"), s, row))
            continue
        c = typed[int(rng.integers(len(typed)))]
        s = pick()
        row = fresh(_row(t, s))
        row[c.name] = pick1(BAD_VALUES[c.kind])
        extras.append(_Extra(C.bad_value(c.name), s, row))
    if name in OUT_OF_RANGE_COLUMNS:
        cols = OUT_OF_RANGE_COLUMNS[name]
        for _ in range(how_many("out_of_range")):
            col = pick1(cols)
            s = pick()
            row = fresh(_row(t, s))
            if col == "price":
                row[col] = pick1(("0.00", "-" + row["price"]))
            elif col == "cost":
                if rng.random() < 0.7:
                    cents = _cents_of(row["price"]) + int(rng.integers(0, 2000))
                    row[col] = _cents_str(cents)
                else:
                    row[col] = "-1.00"
            elif col == "shipping_amount":
                row[col] = pick1(("-4.99", "-9.99"))
            elif col == "order_ts":
                row[col] = ts_text(-int(rng.integers(1, 6)))
            elif col == "event_ts":
                row[col] = ts_text(-int(rng.integers(2, 11)))
            elif col == "review_date":
                row[col] = _date_str(day_num - int(rng.integers(1, 31)))
            elif col == "quantity":
                row[col] = pick1(("0", "-1", "-2"))
            elif col == "unit_price":
                row[col] = pick1(("0.00", "-" + row["unit_price"]))
            elif col == "discount":
                row[col] = pick1(("1", "1.5", "-0.1", "1.000"))
            elif col == "rating":
                row[col] = pick1(("0", "6", "7"))
            elif col == "helpful_votes":
                row[col] = pick1(("-1", "-3"))
            extras.append(_Extra(C.out_of_range(col), s, row))
    if name in FUTURE_COLUMNS:
        for _ in range(how_many("future_timestamp")):
            col = pick1(FUTURE_COLUMNS[name])
            s = pick()
            row = fresh(_row(t, s))
            off = int(rng.integers(1, 31))
            kind = spec.column(col).kind
            row[col] = _date_str(day_num + off) if kind == "date" else ts_text(off)
            extras.append(_Extra(C.FUTURE_TIMESTAMP, s, row))
    if name == "order_items":
        for _ in range(how_many("orphan_line")):
            s = pick()
            row = fresh(_row(t, s))
            row["order_id"] = str(keys.next("orphan_line"))
            extras.append(_Extra(C.ORPHAN_LINE, s, row))

    # ---- in-place defects on distinct real rows
    used = np.zeros(n, bool)

    def take(mask_name: str | None) -> int | None:
        mask = ~used if mask_name is None else ~used & t.masks[mask_name]
        s = pick(mask)
        if s is not None:
            used[s] = True
        return s

    def bump(label: str) -> None:
        counts[label] = counts.get(label, 0) + 1

    for _ in range(how_many("exact_duplicate")):
        s = take(None)
        if s is not None:
            extras.append(_Extra(None, s, after_src=True))
            bump(C.EXACT_DUPLICATE)
    for cls, options in IN_PLACE.get(name, {}).items():
        for _ in range(how_many(cls)):
            col, mask_name = options[int(rng.integers(len(options)))]
            s = take(mask_name)
            if s is None:
                continue
            a = t.cols[col]
            v = str(a[s])
            if cls == "whitespace_case":
                a[s] = _variant(rng, col, v)
                bump(C.WHITESPACE_CASE)
            elif cls == "unknown_value":
                a[s] = pick1(UNKNOWN_VALUES[col])
                bump(C.unknown_value(col))
            elif cls == "invalid_email":
                a[s] = v.replace("@", "@@") if rng.random() < 0.5 else v.replace("@", ".")
                bump(C.INVALID_EMAIL)
            elif cls == "orphan_reference":
                a[s] = str(keys.next("orphan_ref"))
                bump(C.orphan_reference(col))
            elif cls == "inconsistent_total":
                cents = _cents_of(v)
                delta = int(rng.integers(100, 5001))
                a[s] = _cents_str(
                    cents - delta if cents >= delta and rng.random() < 0.5 else cents + delta
                )
                bump(C.INCONSISTENT_TOTAL)
    return extras, counts


def _render(
    spec: C.TableSpec,
    t: _Table,
    extras: list[_Extra],
    counts: dict[str, int],
    rng: np.random.Generator,
    rates: Mapping[str, float],
) -> tuple[bytes, dict]:
    """Lay out one CSV file (header, column order, extras) and describe it for the manifest."""
    n = t.n
    names = list(spec.column_names)
    defects = dict(counts)
    if rng.random() < SHUFFLE_RATE:
        names = [names[i] for i in rng.permutation(len(names))]
    extra_col = None
    if rng.random() < float(rates.get("extra_column", 0.0)):
        extra_col = EXTRA_COLUMN_NAMES[int(rng.integers(len(EXTRA_COLUMN_NAMES)))]
        names.insert(int(rng.integers(len(names) + 1)), extra_col)
        defects[C.EXTRA_COLUMN] = 1
    if rng.random() < float(rates.get("missing_column", 0.0)):
        droppable = [c.name for c in spec.columns if c.required and c.name != spec.key]
        names.remove(droppable[int(rng.integers(len(droppable)))])
        defects[C.MISSING_COLUMN] = 1
    bom = bool(rng.random() < BOM_RATE)
    crlf = bool(rng.random() < CRLF_RATE)

    extra_vals = EXTRA_COLUMN_VALUES[rng.integers(0, EXTRA_COLUMN_VALUES.size, size=n)]
    parts = []
    for c in names:
        if c == extra_col:
            parts.append(extra_vals)
        else:
            a = t.cols[c]
            parts.append(_quote_arr(a) if spec.column(c).kind == "str" else a)
    if n:
        joined = parts[0]
        for p in parts[1:]:
            joined = _cat(joined, ",", p)
        lines: list[str] = joined.tolist()
    else:
        lines = []

    seen = set(lines)
    kept: list[tuple[_Extra, str]] = []
    for e in extras:
        if e.fields is None:
            kept.append((e, lines[e.src]))
            continue
        vals = []
        for c in names:
            if c == extra_col:
                vals.append(_enc(str(EXTRA_COLUMN_VALUES[int(rng.integers(1, 6))])))
            else:
                vals.append(_enc(e.fields[c]))
        if e.malformed == "more":
            vals.append("x")
        elif e.malformed == "fewer":
            vals.pop()
        elif e.malformed == "quote":
            vals[int(rng.integers(1, len(vals)))] = '"broken"quote'
        line = ",".join(vals)
        if line in seen:
            continue  # never let an injected row be an exact copy of another line
        seen.add(line)
        kept.append((e, line))

    m = len(kept)
    primary = np.empty(n + m, np.int64)
    tie = np.zeros(n + m)
    primary[:n] = 2 * np.arange(n) + 1
    for j, (e, _) in enumerate(kept):
        lo = e.src + 1 if e.after_src else 0
        primary[n + j] = 2 * int(rng.integers(lo, n + 1))
    tie[n:] = rng.random(m)
    order = np.lexsort((tie, primary))
    all_lines = lines + [line for _, line in kept]
    quarantine = []
    for rank, i in enumerate(order.tolist()):
        if i >= n:
            e = kept[i - n][0]
            if e.reason is not None:
                quarantine.append({"line": rank + 2, "reason": e.reason})
                defects[e.reason] = defects.get(e.reason, 0) + 1
    if t.late:
        defects[C.LATE_EVENT] = t.late
    eol = "\r\n" if crlf else "\n"
    header = ",".join(_enc(c) for c in names)
    body = eol.join([header] + [all_lines[i] for i in order.tolist()]) + eol
    data = (("\ufeff" if bom else "") + body).encode("utf-8")
    n_dup = sum(1 for e, _ in kept if e.reason is None)
    entry = {
        "rows": n + m,
        "defects": dict(sorted(defects.items())),
        "quarantine": quarantine,
        "staged": n + m - len(quarantine) - n_dup,
        "columns": names,
        "bom": bom,
        "crlf": crlf,
    }
    return data, entry


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------
def generate_landing_zone(
    out: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    start: date = date(2024, 1, 1),
    days: int = 366,
    clean: bool = False,
    rates: Mapping[str, float] | None = None,
) -> dict:
    """Write ``days`` daily delivery folders under ``out`` and return a small summary.

    Each folder gets the six CSVs, ``_manifest.json`` predicting staging's outcome, and the
    ``_SUCCESS`` marker last. ``clean=True`` turns every defect rate to zero (format variations
    and late events remain, as the contract allows them).
    """
    if days < 1 or scale <= 0:
        raise ValueError("days must be >= 1 and scale > 0")
    eff = dict(DEFAULT_RATES)
    for k, v in (rates or {}).items():
        if k not in DEFAULT_RATES:
            raise ValueError(f"unknown rate {k!r}; known: {', '.join(DEFAULT_RATES)}")
        eff[k] = float(v)
    if clean:
        eff = {k: (v if k == "late_event" else 0.0) for k, v in eff.items()}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = _build_world(seed, scale, start, days)
    keys = _Keys()
    carry: dict[str, np.ndarray] = {}
    rows = {t: 0 for t in C.TABLE_NAMES}
    defects: dict[str, dict[str, int]] = {t: {} for t in C.TABLE_NAMES}
    for d in range(days):
        day = start + timedelta(days=d)
        day_num = w.day0 + d
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, d]))
        facts, carry = _facts_day(w, d, rng, eff["late_event"], carry)
        tables = {"users": _users_day(w, d), "products": _products_day(w, d), **facts}
        folder = out / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / C.SUCCESS_MARKER).unlink(missing_ok=True)
        manifest_tables = {}
        for ti, name in enumerate(C.TABLE_NAMES):
            spec = C.TABLES[name]
            trng = np.random.default_rng(np.random.SeedSequence([seed, 2, d, ti]))
            extras, counts = _inject(spec, tables[name], day_num, trng, eff, keys)
            data, entry = _render(spec, tables[name], extras, counts, trng, eff)
            _write_atomic(folder / spec.file_name, data)
            manifest_tables[name] = entry
            rows[name] += entry["rows"]
            for label, cnt in entry["defects"].items():
                defects[name][label] = defects[name].get(label, 0) + cnt
        manifest = {
            "delivery_date": day.isoformat(),
            "seed": seed,
            "scale": float(scale),
            "clean": bool(clean),
            "tables": manifest_tables,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        _write_atomic(folder / C.MANIFEST_FILE, text.encode("utf-8"))
        (folder / C.SUCCESS_MARKER).write_bytes(b"")
    return {
        "out": str(out),
        "days": days,
        "rows": rows,
        "defects": {t: dict(sorted(v.items())) for t, v in defects.items()},
    }


def _is_complete(folder: Path) -> bool:
    return (folder / C.SUCCESS_MARKER).is_file()


def release_day(source: Path, target: Path) -> None:
    """Deliver one generated day folder like a source system: the files, then ``_SUCCESS`` last.

    An existing target is a re-delivery: its ``_SUCCESS`` goes first, so the day is never seen
    complete with a mix of old and new files.
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / C.SUCCESS_MARKER).unlink(missing_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name != C.SUCCESS_MARKER:
            _write_atomic(target / path.name, path.read_bytes())
    (target / C.SUCCESS_MARKER).write_bytes(b"")


def live_deliveries(
    out: Path,
    *,
    interval_s: float,
    max_days: int | None = None,
    initial: int = 0,
    log: Callable[[str], None] = print,
    **generate_kwargs: object,
) -> list[date]:
    """Live demo: deliver the generated days missing from ``out``, one every ``interval_s``.

    The whole period (``start``, ``days`` and the other ``generate_landing_zone`` arguments) is
    generated once into a scratch folder, so every delivered day belongs to the same consistent
    world as the days already in ``out`` (same seed and scale give identical files). Days already
    complete in ``out`` are skipped; ``initial`` days are delivered at once, then one per interval,
    at most ``max_days`` in all. Returns the days delivered.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    released: list[date] = []
    with tempfile.TemporaryDirectory(prefix=".live-", dir=out.parent) as scratch:
        generate_landing_zone(Path(scratch), **generate_kwargs)  # type: ignore[arg-type]
        pending = sorted(
            p for p in Path(scratch).iterdir() if p.is_dir() and not _is_complete(out / p.name)
        )
        if max_days is not None:
            pending = pending[:max_days]
        for i, folder in enumerate(pending):
            if i >= max(initial, 1):
                time.sleep(interval_s)
            release_day(folder, out / folder.name)
            released.append(date.fromisoformat(folder.name))
            log(f"delivered {folder.name} to {out} ({len(pending) - i - 1} more to come)")
    return released


def _parse_rate(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=R, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"rate must be a number: {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: ``python -m ecommerce_assets.generate --out DIR ...``."""
    parser = argparse.ArgumentParser(description="Generate a synthetic e-commerce landing zone.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("ECOMMERCE_LANDING_DIR", "data/landing")),
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--clean", action="store_true", help="inject no defects")
    parser.add_argument("--rate", type=_parse_rate, action="append", default=[], metavar="NAME=R")
    parser.add_argument(
        "--live",
        action="store_true",
        help="live demo: deliver the days missing from --out one every --interval seconds",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between deliveries")
    parser.add_argument("--max-days", type=int, default=None, help="--live: deliver at most N days")
    parser.add_argument("--initial", type=int, default=0, help="--live: deliver N days at once")
    args = parser.parse_args(argv)
    if args.live:
        try:
            live_deliveries(
                args.out,
                interval_s=args.interval,
                max_days=args.max_days,
                initial=args.initial,
                log=lambda msg: print(msg, flush=True),
                seed=args.seed,
                scale=args.scale,
                start=args.start,
                days=args.days,
                clean=args.clean,
                rates=dict(args.rate),
            )
        except ValueError as exc:
            parser.error(str(exc))
        except KeyboardInterrupt:
            return 130
        return 0
    try:
        summary = generate_landing_zone(
            args.out,
            seed=args.seed,
            scale=args.scale,
            start=args.start,
            days=args.days,
            clean=args.clean,
            rates=dict(args.rate),
        )
    except ValueError as exc:
        parser.error(str(exc))
    n_def = sum(sum(v.values()) for v in summary["defects"].values())
    rows = ", ".join(f"{k}={v}" for k, v in summary["rows"].items())
    print(f"wrote {summary['days']} days to {summary['out']}: {rows}; defects={n_def}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
