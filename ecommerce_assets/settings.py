"""Where the platform reads and writes, resolved from the environment when asked (never at import).

``ECOMMERCE_LANDING_DIR`` (default ``data/landing``) and ``ECOMMERCE_WAREHOUSE`` (default
``data/warehouse.duckdb``) are the stable interface; every entry point calls :func:`load_settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from .lake import is_lake
from .warehouse import WarehouseLocation

LANDING_ENV = "ECOMMERCE_LANDING_DIR"
WAREHOUSE_ENV = "ECOMMERCE_WAREHOUSE"
LOCK_TIMEOUT_ENV = "ECOMMERCE_LOCK_TIMEOUT"
DAYS_PER_RUN_ENV = "ECOMMERCE_BACKFILL_DAYS_PER_RUN"
# The first delivery day (the first partition); unset: the oldest day folder in the landing zone
# when the definitions load, or the first day of the demo when there is none (partitions.py).
FIRST_DAY_ENV = "ECOMMERCE_FIRST_DAY"
# The analysts' published copy of the marts (docs/analytics.md): a DuckDB file swapped in by
# rename after each run, default ``analytics.duckdb`` beside the warehouse (a lake: none unless
# set); and, when set, a folder of Parquet files of the same tables, swapped in as a whole.
ANALYTICS_ENV = "ECOMMERCE_ANALYTICS"
ANALYTICS_PARQUET_ENV = "ECOMMERCE_ANALYTICS_PARQUET"
ANALYTICS_FILE = "analytics.duckdb"
# A lake's backfills: runs of at most this many days each, several at once (run queue).
DEFAULT_LAKE_DAYS_PER_RUN = 31
DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    # A DuckDB file or a lake; a path or string given here is made a ``WarehouseLocation``.
    warehouse: WarehouseLocation
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S
    # Days per run of a backfill (``ECOMMERCE_BACKFILL_DAYS_PER_RUN``); None: the whole range in
    # one run (the DuckDB file's single writer), the default for a file; 31 for a lake.
    days_per_run: int | None = None
    # ``ECOMMERCE_FIRST_DAY``: the first partition; None: chosen when the definitions load.
    first_day: date | None = None
    # ``ECOMMERCE_ANALYTICS``: the published copy; None: ``analytics.duckdb`` beside the warehouse
    # file (``analytics_target``). ``ECOMMERCE_ANALYTICS_PARQUET``: None, no Parquet export.
    analytics: Path | None = None
    analytics_parquet: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "warehouse", WarehouseLocation.of(self.warehouse))


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the platform's paths from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    warehouse = env.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    return Settings(
        landing_dir=Path(env.get(LANDING_ENV) or DEFAULT_LANDING),
        warehouse=WarehouseLocation.of(warehouse),
        lock_timeout_s=float(env.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT_S),
        days_per_run=_days_per_run(env.get(DAYS_PER_RUN_ENV), is_lake(warehouse)),
        first_day=_first_day(env.get(FIRST_DAY_ENV)),
        analytics=_path(env.get(ANALYTICS_ENV)),
        analytics_parquet=_path(env.get(ANALYTICS_PARQUET_ENV)),
    )


def _path(text: str | None) -> Path | None:
    text = (text or "").strip()
    return Path(text) if text else None


def analytics_target(settings: Settings) -> Path | None:
    """Where the published copy goes: ``ECOMMERCE_ANALYTICS``, else ``analytics.duckdb`` beside
    the warehouse file; a lake publishes no copy unless it is set (readers attach the lake)."""
    if settings.analytics is not None:
        return settings.analytics
    file = settings.warehouse.file
    return None if file is None else file.parent / ANALYTICS_FILE


def _first_day(text: str | None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{FIRST_DAY_ENV}={text!r} is not a date (YYYY-MM-DD)") from exc


def _days_per_run(text: str | None, lake: bool) -> int | None:
    text = (text or "").strip().lower()
    if not text:
        return DEFAULT_LAKE_DAYS_PER_RUN if lake else None
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{DAYS_PER_RUN_ENV}={text!r} must be a whole number of days or 'all'")
    return int(text)


def days_per_run_policy(settings: Settings) -> dg.BackfillPolicy | None:
    """The backfill policy of partitioned assets when a backfill is split into several runs."""
    if settings.days_per_run is None:
        return None
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=settings.days_per_run)
