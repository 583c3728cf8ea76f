"""The simulated world: users and products for the whole window, and the draws that follow it.

Why a module of its own: master data is drawn once per run from its own random stream and kept
as numpy arrays (not rows), so every day can cheaply ask which users and products exist, which
version of a product is current, and which products are popular -- without the facts of one day
ever changing the master data of another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ecommerce_assets import contract

from .rates import (
    CATEGORY_MEDIAN_CENTS,
    HOUR_PROFILE,
    MIN_BACKLOG,
    PRODUCT_BACKLOG_SHARE,
    PRODUCT_CHANGE_SHARE,
    REF_DAYS,
    REF_PRODUCTS,
    REF_USERS,
    USER_BACKLOG_SHARE,
    USER_CHANGE_SHARE,
    WEEKDAY_FACTOR,
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


@dataclass
class DimensionSchedule:
    """When each user or product appears and when (if ever) it gets a second version."""

    first_day: np.ndarray  # day index of the first version (0 for the backlog)
    first_secs: np.ndarray  # updated_at of the first version, seconds since epoch
    n_ok: np.ndarray  # per day index: entities usable by facts of that day (an id prefix)
    chg_ids: np.ndarray  # indices with a second version, sorted by change day
    chg_day: np.ndarray  # per entity, change day index, or a huge number
    chg_secs: np.ndarray  # per entity, updated_at of the second version
    day_starts: np.ndarray  # first entity index per day (first versions, sorted by day)
    chg_starts: np.ndarray  # per day slice into chg_ids


@dataclass
class World:
    """Master data of the whole window plus the running key counters of the facts."""

    day0: int
    days: int
    scale: float
    users: DimensionSchedule
    u_first: np.ndarray
    u_last: np.ndarray
    u_country: np.ndarray
    u_city: np.ndarray
    u_city2: np.ndarray
    u_domain: np.ndarray
    u_signup: np.ndarray
    products: DimensionSchedule
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


@dataclass
class DayTable:
    """One table of one day as string columns, plus masks of rows eligible for some defects."""

    cols: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    late: int = 0  # leading rows that are late events (events only)

    @property
    def n(self) -> int:
        return len(next(iter(self.cols.values())))


def _dimension_schedule(
    rng: np.random.Generator,
    n_backlog: int,
    n_new: int,
    days: int,
    change_share: float,
    day0: int,
) -> DimensionSchedule:
    new_days = np.sort(rng.integers(0, days, size=n_new))
    first_day = np.concatenate([np.zeros(n_backlog, np.int64), new_days])
    n = first_day.size
    first_secs = (day0 + first_day) * 86400 + np.concatenate(
        [np.zeros(n_backlog, np.int64), rng.integers(0, 86400, size=n_new)]
    )
    all_days = np.arange(days)
    n_ok = n_backlog + np.searchsorted(new_days, all_days, side="left")
    candidates = np.flatnonzero(first_day < days - 1)
    n_changed = min(round(change_share * n), candidates.size)
    changed = (
        np.sort(rng.choice(candidates, size=n_changed, replace=False))
        if n_changed
        else candidates[:0]
    )
    chg_day = np.full(n, 1 << 40, dtype=np.int64)
    chg_day[changed] = rng.integers(first_day[changed] + 1, days)
    chg_secs = np.zeros(n, np.int64)
    chg_secs[changed] = (day0 + chg_day[changed]) * 86400 + rng.integers(
        0, 86400, size=changed.size
    )
    chg_ids = changed[np.argsort(chg_day[changed], kind="stable")]
    return DimensionSchedule(
        first_day=first_day,
        first_secs=first_secs,
        n_ok=n_ok,
        chg_ids=chg_ids,
        chg_day=chg_day,
        chg_secs=chg_secs,
        day_starts=np.searchsorted(first_day, np.arange(days + 1), side="left"),
        chg_starts=np.searchsorted(chg_day[chg_ids], np.arange(days + 1), side="left"),
    )


def _backlog(ref: int, share: float, scale: float, days: int) -> tuple[int, int]:
    backlog = max(MIN_BACKLOG, round(ref * share * scale * days / REF_DAYS))
    new = round(ref * (1 - share) * scale * days / REF_DAYS)
    return backlog, new


def _product_names(rng: np.random.Generator, categories: np.ndarray) -> list[str]:
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
    return names


def build_world(seed: int, scale: float, start: date, days: int) -> World:
    """Draw the master data of the whole window from the seed's master-data stream."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    day0 = (start - date(1970, 1, 1)).days
    user_backlog, user_new = _backlog(REF_USERS, USER_BACKLOG_SHARE, scale, days)
    users = _dimension_schedule(rng, user_backlog, user_new, days, USER_CHANGE_SHARE, day0)
    n_users = user_backlog + user_new
    country_p = COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum()
    u_country = rng.choice(len(COUNTRIES), size=n_users, p=country_p)
    u_city = rng.integers(0, 5, size=n_users)
    u_signup = day0 + users.first_day
    u_signup[:user_backlog] = day0 - rng.integers(1, 731, size=user_backlog)

    product_backlog, product_new = _backlog(REF_PRODUCTS, PRODUCT_BACKLOG_SHARE, scale, days)
    products = _dimension_schedule(
        rng, product_backlog, product_new, days, PRODUCT_CHANGE_SHARE, day0
    )
    n_products = product_backlog + product_new
    p_cat = rng.integers(0, len(contract.CATEGORIES), size=n_products)
    p_sub = rng.integers(0, 4, size=n_products)
    names = _product_names(rng, p_cat)
    median = CATEGORY_MEDIAN_CENTS[p_cat]
    raw = median * np.exp(rng.normal(0.0, 0.6, size=n_products))
    price = np.maximum(1, np.rint(raw / 100)).astype(np.int64) * 100 - 1  # x.99 prices
    cost = price * rng.integers(350, 751, size=n_products) // 1000
    ratio = rng.integers(800, 1251, size=n_products)
    price2 = np.maximum(99, price * ratio // 1000)
    price2 = np.where(price2 == price, price + 100, price2)
    cost2 = price2 * cost // price
    supplier = rng.integers(1, 501, size=n_products)
    supplier[rng.random(n_products) < 0.1] = 0
    rank = rng.permutation(n_products) + 1
    weight = 1.0 / (rank + 5.0)
    return World(
        day0=day0,
        days=days,
        scale=scale,
        users=users,
        u_first=rng.integers(0, len(FIRST_NAMES), size=n_users),
        u_last=rng.integers(0, len(LAST_NAMES), size=n_users),
        u_country=u_country,
        u_city=u_city,
        u_city2=(u_city + rng.integers(1, 5, size=n_users)) % 5,
        u_domain=rng.integers(0, len(DOMAINS), size=n_users),
        u_signup=u_signup,
        products=products,
        p_name=np.array(names, dtype=STRING_DTYPE),
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


def day_mean(ref: int, world: World, day_index: int) -> float:
    """Expected daily count of a fact whose reference window total is ``ref``."""
    dow = (world.day0 + day_index + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return ref / REF_DAYS * world.scale * WEEKDAY_FACTOR[dow]


def secs_in_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` seconds of the day following the hourly traffic profile."""
    hours = rng.choice(24, size=n, p=HOUR_PROFILE)
    return hours * 3600 + rng.integers(0, 3600, size=n)


def sample_prefix(rng: np.random.Generator, cum: np.ndarray, n_ok: int, size: int) -> np.ndarray:
    """Indices in [0, n_ok) drawn with weights whose cumulative sum is ``cum``."""
    u = rng.random(size) * cum[n_ok - 1]
    return np.minimum(np.searchsorted(cum, u, side="right"), n_ok - 1)
