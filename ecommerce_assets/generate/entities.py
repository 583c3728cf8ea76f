"""Drawing users and products: every attribute of an entity, and its one change, at its creation.

Why a module of its own: an entity's whole life (names, place, price, popularity, whether and
when it gets a second version) is drawn when it first appears, from the stream of that day (or
the backlog's own stream), so nothing about it depends on how many days a run generates -- which
is what lets a landing zone be continued day by day with identical earlier days.
"""

from __future__ import annotations

import numpy as np

from ecommerce_assets import contract

from .rates import (
    CATEGORY_MEDIAN_CENTS,
    CHANGE_HORIZON,
    POPULARITY_OFFSET,
    PRODUCT_CHANGE_P,
    REF_PRODUCTS,
    USER_CHANGE_P,
)
from .vocabulary import (
    ADJECTIVES,
    BRANDS,
    COLORS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    NOUNS,
    STRING_DTYPE,
)

NEVER = 1 << 40  # change day of an entity that keeps its first version
_COUNTRY_P = COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum()

Columns = dict[str, np.ndarray]


def _first_secs(rng: np.random.Generator, n: int, day_num: int, backlog: bool) -> np.ndarray:
    """updated_at of the first version: midnight for the backlog, else a time of the day."""
    secs = np.zeros(n, np.int64) if backlog else rng.integers(0, 86400, size=n)
    return day_num * 86400 + secs


def _changes(
    rng: np.random.Generator, n: int, day0: int, day_index: int, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Change day index and updated_at of the second version (``NEVER`` and 0 for none)."""
    has = rng.random(n) < p
    chg_day = day_index + rng.integers(1, CHANGE_HORIZON + 1, size=n)
    chg_secs = (day0 + chg_day) * 86400 + rng.integers(0, 86400, size=n)
    return np.where(has, chg_day, NEVER), np.where(has, chg_secs, 0)


def draw_users(
    rng: np.random.Generator, n: int, day0: int, day_index: int, backlog: bool
) -> Columns:
    """``n`` users first delivered on ``day_index`` (a backlog signed up in the 2 years before)."""
    day_num = day0 + day_index
    first_secs = _first_secs(rng, n, day_num, backlog)
    country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)
    city = rng.integers(0, 5, size=n)
    city2 = (city + rng.integers(1, 5, size=n)) % 5
    signup = day_num - rng.integers(1, 731, size=n) if backlog else np.full(n, day_num)
    chg_day, chg_secs = _changes(rng, n, day0, day_index, USER_CHANGE_P)
    return {
        "first_secs": first_secs,
        "chg_day": chg_day,
        "chg_secs": chg_secs,
        "first": rng.integers(0, len(FIRST_NAMES), size=n),
        "last": rng.integers(0, len(LAST_NAMES), size=n),
        "country": country,
        "city": city,
        "city2": city2,
        "domain": rng.integers(0, len(DOMAINS), size=n),
        "signup": signup,
    }


def _product_names(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """Names in four styles, two of them with the quotes and commas CSV must survive."""
    size = categories.size
    noun = rng.integers(0, 6, size=size)
    adjective = rng.integers(0, len(ADJECTIVES), size=size)
    color = rng.integers(0, len(COLORS), size=size)
    brand = rng.integers(0, len(BRANDS), size=size)
    style = rng.choice(4, size=size, p=[0.80, 0.10, 0.06, 0.04])
    model = rng.integers(100, 1000, size=size)
    names = []
    for i in range(size):
        thing = NOUNS[contract.CATEGORIES[categories[i]]][noun[i]]
        adj, col = ADJECTIVES[adjective[i]], COLORS[color[i]]
        make, number = BRANDS[brand[i]], model[i]
        if style[i] == 0:
            names.append(f"{make} {adj} {thing} {number}")
        elif style[i] == 1:
            names.append(f"{make} {adj} {thing}, {col}")
        elif style[i] == 2:
            names.append(f'{make} "{adj}" {thing} {number}')
        else:
            names.append(f'{adj} {thing} {number % 30 + 10}", {col}')
    return np.array(names, dtype=STRING_DTYPE)


def draw_products(
    rng: np.random.Generator, n: int, day0: int, day_index: int, backlog: bool, scale: float
) -> Columns:
    """``n`` products first delivered on ``day_index``, with x.99 prices and a popularity weight.

    The weight is ``1 / (u * N + 6)`` with ``u`` uniform and ``N`` the reference catalog size at
    this scale: the heavy tail of ``1 / (rank + 5)`` without ranking the whole catalog at once.
    """
    first_secs = _first_secs(rng, n, day0 + day_index, backlog)
    cat = rng.integers(0, len(contract.CATEGORIES), size=n)
    sub = rng.integers(0, 4, size=n)
    names = _product_names(rng, cat)
    raw = CATEGORY_MEDIAN_CENTS[cat] * np.exp(rng.normal(0.0, 0.6, size=n))
    price = np.maximum(1, np.rint(raw / 100)).astype(np.int64) * 100 - 1  # x.99 prices
    cost = price * rng.integers(350, 751, size=n) // 1000
    price2 = np.maximum(99, price * rng.integers(800, 1251, size=n) // 1000)
    price2 = np.where(price2 == price, price + 100, price2)
    supplier = rng.integers(1, 501, size=n)
    supplier[rng.random(n) < 0.1] = 0
    catalog_size = max(1.0, REF_PRODUCTS * scale)
    weight = 1.0 / (rng.random(n) * catalog_size + POPULARITY_OFFSET)
    chg_day, chg_secs = _changes(rng, n, day0, day_index, PRODUCT_CHANGE_P)
    return {
        "first_secs": first_secs,
        "chg_day": chg_day,
        "chg_secs": chg_secs,
        "name": names,
        "cat": cat,
        "sub": sub,
        "price": price,
        "cost": cost,
        "price2": price2,
        "cost2": price2 * cost // price,
        "supplier": supplier,
        "weight": weight,
    }
