"""Anomaly rules (pure): open-source Dagster has no anomaly checks, so we compare with history.

- Row counts: a delivery's count outside mean ± 3σ of the previous 14 deliveries warns. With fewer
  than ``MIN_HISTORY`` earlier deliveries there is no "normal range" yet and the check passes.
- Quality score: a score at least 10 % below the previous delivery's score warns.

History comes from the warehouse's per-day tables (raw row counts per ``delivery_date``,
``marts.data_quality_report``): a single-run backfill records one materialization per partition
but with the whole range's metadata, so per-day history in the Dagster instance is not reliable.
"""

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

HISTORY_DELIVERIES = 14
SIGMAS = 3.0
MIN_HISTORY = 7
SCORE_DROP = 0.10


@dataclass(frozen=True)
class CountAnomaly:
    day: date
    rows: int
    mean: float
    low: float
    high: float


def normal_range(history: Sequence[float], sigmas: float = SIGMAS) -> tuple[float, float, float]:
    """(mean, low, high) of mean ± ``sigmas`` population standard deviations."""
    mean = sum(history) / len(history)
    sd = math.sqrt(sum((x - mean) ** 2 for x in history) / len(history))
    return mean, mean - sigmas * sd, mean + sigmas * sd


def row_count_anomalies(
    counts: Mapping[date, int],
    days: Sequence[date],
    history: int = HISTORY_DELIVERIES,
    min_history: int = MIN_HISTORY,
) -> tuple[int, list[CountAnomaly]]:
    """Days of ``days`` whose count leaves the range of the ``history`` deliveries before them.

    ``counts`` holds every delivery's row count (days absent from it had no delivery). Returns
    (days that had enough history to be judged, anomalies).
    """
    ordered = sorted(counts)
    judged, found = 0, []
    for day in days:
        if day not in counts:
            continue
        before = [counts[d] for d in ordered if d < day][-history:]
        if len(before) < min_history:
            continue
        judged += 1
        mean, low, high = normal_range(before)
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
