"""Delivery-day partitions that line up with the deliveries actually in the landing zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from .landing import complete_deliveries

# Used when the landing zone is empty (a fresh clone): the reference year of the demo data.
DEFAULT_WINDOW = (date(2024, 1, 1), date(2025, 1, 1))


def delivery_window(landing_dir: Path) -> tuple[date, date]:
    """[first complete delivery, last complete delivery + 1 day), or the reference year."""
    deliveries = complete_deliveries(landing_dir)
    if not deliveries:
        return DEFAULT_WINDOW
    days = list(deliveries)
    return days[0], days[-1] + timedelta(days=1)


def delivery_partitions(landing_dir: Path) -> dg.DailyPartitionsDefinition:
    """One partition per day from the first to the last complete delivery.

    A bounded window (``end_date``) keeps the UI free of a wall of never-delivered days; a
    delivery beyond it appears after the code location is reloaded.
    """
    start, end = delivery_window(landing_dir)
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_date=end.isoformat())


def window_days(context: dg.AssetExecutionContext) -> list[date]:
    """The delivery days a (possibly multi-day, single-run backfill) step covers."""
    window = context.partition_time_window
    start: datetime = window.start
    return [(start + timedelta(days=i)).date() for i in range((window.end - window.start).days)]
