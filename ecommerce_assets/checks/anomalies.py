"""Anomaly rules (pure): open-source Dagster has no anomaly checks, so we compare with history.

- Row counts: a delivery is compared with the same weekday of the previous ``WEEKS`` weeks (the
  generator, like real shops, is ~25 % busier at weekends than midweek, so "yesterday" or a
  14-day mean is the wrong baseline). Its expected count is their median (robust to one odd week).
  Counts are compared on Anscombe's scale ``2 sqrt(x + 3/8)``, where a Poisson count (independent
  rows) has spread 1 whatever its size; the spread is widened by the table's own dispersion,
  measured robustly (1.4826 × the median absolute residual) over the previous ``SPREAD_DAYS``
  days: click-stream events come in sessions and vary ~2× more than orders. A day is anomalous
  when it is more than ``SIGMAS`` spreads *and* more than ``MIN_CHANGE`` away from its expected
  count: a quiet table (a few rows a day) cannot raise on noise, and a busy one does not raise on
  a 10 % wobble.
  Calibration (``bench/results/anomaly-calibration.md``, tests): no false alarm in 11,916 judged
  days (three clean generated years at scale 1, the demo year, the scale-10 and scale-60 bench
  years with their defects); a 30 % drop planted on a day is caught every time at scale 60, on
  94 % of days for orders at scale 10 (~550 a day), 64 % for events (sessions make them noisy),
  and never at scale 1 (55 orders a day: a 30 % drop is inside Poisson noise; no rule can tell
  it from chance). A day without ``MIN_WEEKS`` same-weekday deliveries and
  ``MIN_RESIDUALS`` judged days before it is not judged.
- Quality score: a score at least 10 % below the previous delivery's score warns.

History comes from the warehouse's per-day tables (raw row counts per ``delivery_date``,
``marts.data_quality_report``).
"""

import bisect
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WEEKS = 6
MIN_WEEKS = 3
SPREAD_DAYS = 56
MIN_RESIDUALS = 14
SIGMAS = 4.5
MIN_CHANGE = 0.20
SCORE_DROP = 0.10
# How far back a window's history reaches (expected counts of the spread's days included).
LOOKBACK_DAYS = SPREAD_DAYS + 7 * WEEKS


@dataclass(frozen=True)
class CountAnomaly:
    day: date
    rows: int
    expected: float
    low: float
    high: float


def _expected_counts(counts: Mapping[date, int], weeks: int, min_weeks: int) -> dict[date, float]:
    """Each day's median of the same weekday's previous ``weeks`` deliveries (if enough)."""
    out = {}
    for day in counts:
        weeks_before = (day - timedelta(weeks=w) for w in range(1, weeks + 1))
        before = [counts[d] for d in weeks_before if d in counts]
        if len(before) >= min_weeks:
            out[day] = float(statistics.median(before))
    return out


def _stable(count: float) -> float:
    """Anscombe's transform: for a Poisson count, ~normal with spread 1 (even for small counts,
    whose upper tail a plain ``sqrt(mean)`` spread underrates)."""
    return 2 * math.sqrt(count + 0.375)


def row_count_anomalies(
    counts: Mapping[date, int],
    days: Sequence[date],
    weeks: int = WEEKS,
    min_weeks: int = MIN_WEEKS,
) -> tuple[dict[date, tuple[float, float, float]], list[CountAnomaly]]:
    """Days of ``days`` whose count leaves their normal range (see the module docstring).

    ``counts`` holds every delivery's row count (days absent from it had no delivery). Returns
    (the judged days with their (expected, low, high), the anomalies).
    """
    expected = _expected_counts(counts, weeks, min_weeks)
    ordered = sorted(expected)
    residuals = [abs(_stable(counts[d]) - _stable(expected[d])) for d in ordered]
    judged: dict[date, tuple[float, float, float]] = {}
    found = []
    for day in days:
        if day not in expected:
            continue
        lo = bisect.bisect_left(ordered, day - timedelta(days=SPREAD_DAYS))
        hi = bisect.bisect_left(ordered, day)
        if hi - lo < MIN_RESIDUALS:
            continue
        dispersion = max(1.0, 1.4826 * statistics.median(residuals[lo:hi]))
        mean = expected[day]
        # The counts whose stabilized distance is SIGMAS × dispersion, and the MIN_CHANGE floor.
        reach = SIGMAS * dispersion / 2
        low = min((max(math.sqrt(mean + 0.375) - reach, 0.0)) ** 2 - 0.375, mean * (1 - MIN_CHANGE))
        high = max((math.sqrt(mean + 0.375) + reach) ** 2 - 0.375, mean * (1 + MIN_CHANGE))
        judged[day] = (mean, low, high)
        if not low <= counts[day] <= high:
            found.append(CountAnomaly(day, counts[day], mean, low, high))
    return judged, found


def score_drops(
    scores: Sequence[tuple[date, float]], days: Sequence[date], drop: float = SCORE_DROP
) -> list[tuple[date, float, float]]:
    """(day, previous score, score) where a day of ``days`` scores ``drop`` (relative) or more
    below the delivery before it. ``scores`` is one table's history in any order."""
    ordered = sorted(scores)
    wanted = set(days)
    out = []
    for (_, previous), (day, score) in itertools.pairwise(ordered):
        if day in wanted and previous > 0 and score <= previous * (1 - drop):
            out.append((day, previous, score))
    return out
