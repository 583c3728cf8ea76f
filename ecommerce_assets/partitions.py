"""Delivery-day partitions that line up with the deliveries actually in the landing zone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from .landing import complete_deliveries
from .slices import days_in

# Used when the landing zone is empty (a fresh clone): the reference year of the demo data.
DEFAULT_WINDOW = (date(2024, 1, 1), date(2025, 1, 1))
# Optional last partition day (YYYY-MM-DD, inclusive): extends the window beyond the deliveries
# present at load, so deliveries that arrive later (the live demo) are partitions without a reload.
PARTITIONS_END_ENV = "ECOMMERCE_PARTITIONS_END"


def partitions_end_from_env(environ: Mapping[str, str] | None = None) -> date | None:
    """``ECOMMERCE_PARTITIONS_END`` as a date (read at load time, never at import)."""
    env = os.environ if environ is None else environ
    text = (env.get(PARTITIONS_END_ENV) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{PARTITIONS_END_ENV}={text!r} is not a date (YYYY-MM-DD)") from exc


def delivery_window(landing_dir: Path, last_day: date | None = None) -> tuple[date, date]:
    """[first complete delivery, last complete delivery + 1 day), or the reference year.

    ``last_day`` (inclusive) extends the end of the window; it never shortens it.
    """
    deliveries = complete_deliveries(landing_dir)
    if deliveries:
        days = list(deliveries)
        start, end = days[0], days[-1] + timedelta(days=1)
    else:
        start, end = DEFAULT_WINDOW
    if last_day is not None:
        end = max(end, last_day + timedelta(days=1))
    return start, end


def delivery_partitions(
    landing_dir: Path, last_day: date | None = None
) -> dg.DailyPartitionsDefinition:
    """One partition per day from the first to the last complete delivery (or ``last_day``).

    A bounded window (``end_date``) keeps the UI free of a wall of never-delivered days; a
    delivery beyond it appears after the code location is reloaded, unless ``last_day``
    (``ECOMMERCE_PARTITIONS_END``) already covers it.
    """
    start, end = delivery_window(landing_dir, last_day)
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_date=end.isoformat())


def window_days(context: dg.AssetExecutionContext) -> list[date]:
    """The delivery days a (possibly multi-day, single-run backfill) step covers."""
    window = context.partition_time_window
    return days_in(window.start.date(), window.end.date())
