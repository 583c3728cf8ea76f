"""Delivery-day partitions that follow the calendar, and where each delivery stands against it.

One partition per UTC day from the first delivery day on, open-ended: Dagster's
``DailyPartitionsDefinition`` without an end adds a day's partition once that day has ended (UTC),
so a new day never needs a reload of the code location, a restart or a setting. Days without a
delivery are partitions too, shown as missing: the truth.

A complete delivery is *loadable* when its day is a partition, *waiting* when its day has not
ended yet (dated today, or a source whose local date runs ahead of UTC: processed as soon as the
partition exists, never an error), and *before the first day* when it predates the first
partition (reported, not loaded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from .landing import parse_day
from .slices import days_in

# The demo covers the 366 days ending yesterday: the first day when the landing zone is empty.
DEMO_DAYS = 366


def today_utc(now: datetime | None = None) -> date:
    """The UTC date of ``now`` (default: the wall clock)."""
    return (now or datetime.now(UTC)).astimezone(UTC).date()


def last_partition_day(now: datetime | None = None) -> date:
    """The newest day that has ended in UTC: yesterday."""
    return today_utc(now) - timedelta(days=1)


def first_delivery_folder(landing_dir: Path) -> date | None:
    """The oldest day folder, complete or not (names are listed; no file is read).

    A folder without ``_SUCCESS`` is a delivery being written: for the first time, or a loaded
    day its source is re-delivering (the contract's re-delivery removes ``_SUCCESS`` first).
    Either way its day belongs to the partitions. Counting only complete folders, a code load
    while the first day was being re-delivered started the partitions a day later: the loaded
    day vanished from the UI, and its re-delivery was "before the first day", never loaded
    until the next load.
    """
    if not landing_dir.is_dir():
        return None
    # ``os.scandir``: the entry's type comes with the listing, no ``stat`` per entry (a landing
    # zone of years is thousands of folders, listed on every code load and build).
    with os.scandir(landing_dir) as entries:
        days = [parse_day(e.name) for e in entries if e.is_dir()]
    return min((d for d in days if d is not None), default=None)


def default_first_day(landing_dir: Path, now: datetime | None = None) -> date:
    """The first partition when ``ECOMMERCE_FIRST_DAY`` is unset: the oldest day folder, else
    the first day of the demo ``bin/build`` generates (the 366 days ending yesterday)."""
    found = first_delivery_folder(landing_dir)
    if found is not None:
        return found
    return last_partition_day(now) - timedelta(days=DEMO_DAYS - 1)


def calendar_partitions(first_day: date) -> dg.DailyPartitionsDefinition:
    """Daily partitions from ``first_day``, open-ended: a day's partition exists once it ended."""
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat())


def partition_bounds(
    partitions_def: dg.TimeWindowPartitionsDefinition, now: datetime | None = None
) -> tuple[date, date]:
    """[first partition day, last partition day] at ``now`` (the last moves with the calendar:
    the partitions are open-ended, so it is the last day that has ended in UTC)."""
    return partitions_def.start.date(), last_partition_day(now)


def window_days(context: dg.AssetExecutionContext) -> list[date]:
    """The delivery days a (possibly multi-day, single-run backfill) step covers."""
    window = context.partition_time_window
    return days_in(window.start.date(), window.end.date())


def contiguous_blocks(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as inclusive [first, last] blocks of consecutive days."""
    blocks: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if blocks and day == blocks[-1][1] + timedelta(days=1):
            blocks[-1] = (blocks[-1][0], day)
        else:
            blocks.append((day, day))
    return blocks


@dataclass(frozen=True)
class DeliveryPlan:
    """Complete deliveries sorted against the partitions: what can run now, and what cannot."""

    loadable: list[date]
    waiting: list[date]
    before_first: list[date]

    def blocks(self) -> list[tuple[date, date]]:
        """One run's range per block of consecutive loadable days (a gap is a missing day: a run
        over it would materialize a day nobody delivered)."""
        return contiguous_blocks(self.loadable)

    def notes(self, first: date) -> list[str]:
        """What a build's summary or a sensor's tick says about the deliveries it cannot run."""
        out = []
        if self.waiting:
            out.append(
                f"{len(self.waiting)} complete deliver{'y' if len(self.waiting) == 1 else 'ies'} "
                f"waiting for {'its' if len(self.waiting) == 1 else 'their'} day to end (UTC): "
                f"{format_days(self.waiting)}; processed once the day's partition exists"
            )
        if self.before_first:
            out.append(
                f"{len(self.before_first)} complete deliveries before the first day {first} "
                f"(ECOMMERCE_FIRST_DAY) not loaded: {format_days(self.before_first)}"
            )
        return out


def plan_deliveries(days: Iterable[date], first: date, last: date) -> DeliveryPlan:
    """Sort complete delivery days into loadable (``first``..``last``), waiting (after ``last``)
    and before the first partition."""
    ordered = sorted(set(days))
    return DeliveryPlan(
        loadable=[d for d in ordered if first <= d <= last],
        waiting=[d for d in ordered if d > last],
        before_first=[d for d in ordered if d < first],
    )


def format_days(days: list[date], limit: int = 5) -> str:
    """A few days for a message: ``2024-01-01, 2024-01-02 … (+3 more)``."""
    shown = ", ".join(d.isoformat() for d in days[:limit])
    return shown + (f" … (+{len(days) - limit} more)" if len(days) > limit else "")
