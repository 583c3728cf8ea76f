"""The runs a build launches: the project's instance, the products source they read, one run
per block of days, and the re-link runs a late dimension version asks for.

The Dagster settings below are environment variables because that is how Dagster reads them (on
every event, in this process and in the run workers the launched runs start, which inherit it):
``project_instance`` sets them, unless set already, before the first run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from .automation.jobs import TRIGGER_TAG
from .automation.relink import pending_relinks, relink_selection
from .catalog_client import SOURCE_ENV, URL_ENV, load_catalog_settings
from .launch import launch_and_wait
from .partitions import contiguous_blocks
from .runner import range_tags, stream_days
from .settings import Settings

# A single-run backfill of N days otherwise logs N "materialization planned" events per asset:
# for the 366-day build ~10,000 events, about a third of its time before they were batched, 2.9 s
# of 35.9 now (bench/results/planned-events-scale-1.md). With this Dagster setting each asset
# logs one event for the whole range (the trade-off: the partitions of a failed range run show
# as missing, not failed, in the UI, the run shows the failure; and no day of the run shows in
# progress while it runs). Set for the build's own run only: bin/ui's webserver and daemon keep
# the per-partition events (docs/scaling.md).
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# With this Dagster setting a step's per-partition materializations (and a run's planned events)
# reach the event log in batches of this size, one transaction per SQLite shard each in
# PooledSqliteEventLogStorage (instance_storage.py): a toy 366-day range of 20 assets ran ~4x
# faster (0.7 ms per asset and day, from 2.9).
# Dagster reads the variable on every event, so it can be set any time before the run.
EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "100"


def project_instance() -> dg.DagsterInstance:
    """The project's instance: ``DAGSTER_HOME``, else ``./dagster_home`` (what bin/build sets)."""
    os.environ.setdefault(PLANNED_EVENTS_ENV, "1")
    os.environ.setdefault(EVENT_BATCH_ENV, EVENT_BATCH_SIZE)
    if not os.environ.get("DAGSTER_HOME"):
        local = Path("dagster_home")
        if not (local / "dagster.yaml").is_file():
            raise SystemExit(
                "DAGSTER_HOME is not set and ./dagster_home/dagster.yaml does not exist: run from "
                "the project root (or use bin/build), or export DAGSTER_HOME."
            )
        os.environ["DAGSTER_HOME"] = str(local.resolve())
    return dg.DagsterInstance.get()


def use_products_source(source: str | None, landing: Path) -> str | None:
    """Point the build, and the run it launches, at the products source; ``api`` without
    ``ECOMMERCE_CATALOG_API_URL`` starts a catalog server of ``landing`` for this build (it stops
    when the build ends). Returns what to say about it, or None for the CSV default."""
    if source:
        os.environ[SOURCE_ENV] = source
    if os.environ.get(SOURCE_ENV, "").strip().lower() == "api" and not os.environ.get(URL_ENV):
        from .generate.catalog_api import serve_in_background

        os.environ[URL_ENV] = serve_in_background(landing)
        print(f"Catalog API: a local server of {landing}'s products on {os.environ[URL_ENV]}")
    catalog = load_catalog_settings()  # a bad value fails here, before the run
    return None if catalog.source == "csv" else f"the catalog API at {catalog.url}"


@dataclass(frozen=True)
class RunOptions:
    """How a build's runs run: with checks, at which console log level, launched from the
    workspace (the default) or in this process (``--in-process``, for a debugger)."""

    checks: bool = True
    log_level: str = "WARNING"
    in_process: bool = False


def relink_runs(
    settings: Settings, instance: dg.DagsterInstance, options: RunOptions
) -> list[tuple[date, date, dg.DagsterRun]]:
    """Re-link the loaded fact days a late dimension version changed (``automation/relink.py``):
    one run of the facts and their readers per block of consecutive days, after the build's."""
    pending = pending_relinks(instance)
    if not pending.days:
        return []
    blocks = contiguous_blocks(pending.days)
    print(
        f"A late user or product version changed the links of {len(pending.days)} loaded fact "
        f"day(s): re-linking them in {len(blocks)} run(s) …"
    )
    return [
        (a, b, run_days(settings, instance, a, b, options, relink_selection(), "build"))
        for a, b in blocks
    ]


def run_days(
    settings: Settings,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    options: RunOptions,
    selection: dg.AssetSelection | None = None,
    trigger: str | None = None,
) -> dg.DagsterRun:
    """One run over ``first``..``last`` (every asset, or ``selection``): launched from the
    workspace, or in this process."""
    tags = {TRIGGER_TAG: trigger} if trigger else {}
    if options.in_process:
        from .definitions import build_definitions  # here: after build.main silenced notices

        return stream_days(
            build_definitions(settings),
            first,
            last,
            instance,
            checks=options.checks,
            log_level=options.log_level,
            selection=selection,
            tags=tags,
        )
    run_config = {"loggers": {"console": {"config": {"log_level": options.log_level}}}}
    return launch_and_wait(
        instance,
        tags={**tags, **range_tags(first, last)},
        checks=options.checks,
        run_config=run_config,
        selection=selection,
    )
