"""The simulated world: users and products grown day by day, and the draws that follow it.

Why a module of its own: master data is kept as numpy arrays (not rows), so every day can cheaply
ask which users and products exist, which version of a product is current, and which products are
popular. It grows one day at a time -- the backlog from its own stream, each day's newcomers from
that day's stream -- so day d never depends on how many days follow it, and a landing zone can be
continued (``--days N+1``, ``--live``) with its earlier days byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .entities import NEVER, draw_products, draw_users
from .rates import (
    HOUR_PROFILE,
    MIN_BACKLOG,
    PRODUCT_BACKLOG_SHARE,
    REF_DAYS,
    REF_PRODUCTS,
    REF_USERS,
    USER_BACKLOG_SHARE,
    WEEKDAY_FACTOR,
)

_EMPTY = np.zeros(0, np.int64)


@dataclass
class Dimension:
    """One dimension's entities as growable numpy columns, and the versions due on the day.

    Column buffers double when full, so growing by a day's newcomers costs amortized O(newcomers).
    """

    _buf: dict[str, np.ndarray] = field(default_factory=dict)
    n: int = 0  # entities drawn so far
    pending: dict[int, list[np.ndarray]] = field(default_factory=dict)  # change day -> indices
    delivered: int = 0  # entities whose first version was delivered
    n_ok: int = 0  # entities the current day's facts may reference (an id prefix)
    first: np.ndarray = field(default_factory=lambda: _EMPTY)  # first versions of the day
    changed: np.ndarray = field(default_factory=lambda: _EMPTY)  # second versions of the day

    def __getitem__(self, name: str) -> np.ndarray:
        return self._buf[name][: self.n]

    def add(self, cols: Mapping[str, np.ndarray]) -> None:
        """Append entities and schedule their second versions."""
        size = len(cols["chg_day"])
        need = self.n + size
        for name, values in cols.items():
            buf = self._buf.get(name)
            if buf is None or need > buf.size:
                grown = np.empty(max(need, 64, 0 if buf is None else 2 * buf.size), values.dtype)
                if buf is not None:
                    grown[: self.n] = buf[: self.n]
                buf = self._buf[name] = grown
            buf[self.n : need] = values
        chg = cols["chg_day"]
        has = np.flatnonzero(chg < NEVER)
        if has.size:
            order = has[np.argsort(chg[has], kind="stable")]
            days, starts = np.unique(chg[order], return_index=True)
            for day, group in zip(days.tolist(), np.split(order, starts[1:]), strict=True):
                self.pending.setdefault(day, []).append(group + self.n)
        self.n = need

    def start_day(self, day_index: int) -> None:
        """The newcomers added since the last day are its first versions; pop its changes."""
        self.first = np.arange(self.delivered, self.n)
        self.delivered = self.n
        due = self.pending.pop(day_index, [])
        self.changed = np.concatenate(due) if due else _EMPTY


@dataclass
class World:
    """Master data so far plus the running key counters of the facts; advanced day by day."""

    seed: int
    day0: int  # the window's first day, days since the epoch
    scale: float
    users: Dimension
    products: Dimension
    day_index: int = -1  # the day being generated
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


def _add_products(world: World, cols: dict[str, np.ndarray]) -> None:
    """Products with the running cumulative popularity that ``sample_prefix`` reads."""
    products = world.products
    base = float(products["cum"][-1]) if products.n else 0.0
    products.add({**cols, "cum": base + np.cumsum(cols["weight"])})


def build_world(seed: int, scale: float, start: date) -> World:
    """The world before its first day: the backlog, drawn from the seed's master-data stream.

    Its size depends on the reference volumes and the scale only (never on the window), with a
    floor of ``MIN_BACKLOG`` so that tiny scales still have users and products to order.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    day0 = (start - date(1970, 1, 1)).days
    world = World(
        seed=seed,
        day0=day0,
        scale=scale,
        users=Dimension(),
        products=Dimension(),
        counters={"order": 0, "item": 0, "event": 0, "review": 0, "session": 0},
    )
    n_users = max(MIN_BACKLOG, round(REF_USERS * USER_BACKLOG_SHARE * scale))
    world.users.add(draw_users(rng, n_users, day0, 0, backlog=True))
    n_products = max(MIN_BACKLOG, round(REF_PRODUCTS * PRODUCT_BACKLOG_SHARE * scale))
    _add_products(world, draw_products(rng, n_products, day0, 0, True, scale))
    return world


def start_day(world: World, day_index: int) -> None:
    """Advance the world to ``day_index``: its newcomers (from the day's own stream) and changes.

    Facts of the day reference only entities that existed before it (the backlog on day 0).
    """
    if day_index != world.day_index + 1:
        raise ValueError(f"the world is at day {world.day_index}, cannot start day {day_index}")
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, 3, day_index]))
    daily = world.scale / REF_DAYS
    users, products = world.users, world.products
    users.n_ok, products.n_ok = users.n, products.n
    n_users = int(rng.poisson(REF_USERS * (1 - USER_BACKLOG_SHARE) * daily))
    users.add(draw_users(rng, n_users, world.day0, day_index, backlog=False))
    n_products = int(rng.poisson(REF_PRODUCTS * (1 - PRODUCT_BACKLOG_SHARE) * daily))
    _add_products(world, draw_products(rng, n_products, world.day0, day_index, False, world.scale))
    users.start_day(day_index)
    products.start_day(day_index)
    world.day_index = day_index


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
