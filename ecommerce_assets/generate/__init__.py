"""Synthetic landing-zone generator: realistic daily deliveries with exactly predicted defects.

Why: the platform must be tested against data that looks like the real source systems (daily
folders, heavy-tailed popularity, versions of dimensions, late events) and against every defect
of the landing contract -- and each test must know *exactly* what staging has to do. So every
folder gets a ``_manifest.json`` that predicts, per file, the row count, every defect, the
quarantine line numbers and the number of rows that must reach staging.

Volumes. ``scale=1`` with the reference window (366 days) gives 10,000 users, 2,000 products,
20,000 orders (~43,500 lines), ~80,000 events and 15,000 reviews. Daily volumes are
``reference / 366 * scale`` whatever the window, so a day always looks the same. The day-1
backlog (40 % of users, 80 % of products) is ``share * reference * scale`` with a floor of 5 rows;
later newcomers are a Poisson draw a day around ``(1 - share) * reference * scale / 366``.
Orders, events and reviews are Poisson draws around the daily mean with a weekly profile
(weekends busier).

Determinism and continuation. All randomness comes from ``numpy.random.default_rng`` streams
derived from the seed: one for the backlog, one per day for that day's new users and products
(each drawn whole at creation: attributes, popularity, and whether and when it gets a second
version), one per day for the business rows, and one per (day, table) for file layout and
defects. Defect rates therefore never change the clean business data, and nothing of day d
depends on how many days follow it: with the same seed, scale, start, clean flag and rates, a
window's first N days are byte-identical whatever ``days`` is, so ``--days N+1`` (or ``--live``)
continues a zone. Keys of injected extra rows come from reserved ranges (800,000,000+; orphan
references 900,000,000+, orphan order lines 850,000,000+) so they never collide with real keys.
The wall clock is read only for the default window (ending yesterday, UTC) and by ``--live``.

Defects. Quarantine-bound defects are *extra* rows (a copy of a real row with a fresh key and
exactly one corruption), so real rows, totals and references stay intact. In-place defects
alter distinct real rows, one defect each. Purchase events, the orders they belong to and late
events are never altered nor copied, so purchase/order matching and late-event counts stay exact.
The label ``out_of_range:price`` is used for ``price <= 0`` (such a row necessarily also has
``cost >= price``; the price rule wins); ``out_of_range:cost`` rows keep a valid price.
Re-sent rows (``resent_identical``, ``resent_changed``; events and reviews, off by default) copy
a clean real row of the previous day's file, so they are counted as an exact duplicate or
quarantined as ``duplicate_key`` on the day they arrive again.

Memory. Master data (users, products) is held as numpy arrays; fact rows are generated,
written and dropped one day at a time, so scale 60 (~10 million rows) runs in bounded memory.

Layout. ``rates`` and ``vocabulary`` hold the numbers and words; ``entities`` draws users and
products, ``world`` grows them day by day; ``dimensions``, ``facts`` and ``events`` build one
day's rows; ``injection``, ``quarantine_rows``, ``in_place``, ``resent`` and ``defects`` corrupt
one file; ``render`` writes it and its manifest entry; ``landing_zone`` is the public API,
``live`` the live demo and ``cli`` the command line.
"""

from .cli import main
from .landing_zone import generate_landing_zone, release_day
from .live import Clock, live_deliveries
from .rates import DEFAULT_RATES

__all__ = [
    "DEFAULT_RATES",
    "Clock",
    "generate_landing_zone",
    "live_deliveries",
    "main",
    "release_day",
]
