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

Layout. ``rates`` and ``vocabulary`` hold the numbers and words; ``world`` draws the master data;
``dimensions``, ``facts`` and ``events`` build one day's rows; ``injection``, ``quarantine_rows``,
``in_place`` and ``defects`` corrupt one file; ``render`` writes it and its manifest entry;
``landing_zone`` is the public API and ``cli`` the command line.
"""

from .cli import main
from .landing_zone import generate_landing_zone, live_deliveries, release_day
from .rates import DEFAULT_RATES

__all__ = [
    "DEFAULT_RATES",
    "generate_landing_zone",
    "live_deliveries",
    "main",
    "release_day",
]
