"""``python -m ecommerce_assets.build``: materialize everything for every complete delivery.

The deliveries whose day has ended are run as few runs as the calendar allows: one per block of
consecutive delivered days (a day nobody delivered stays missing, not materialized empty), each
launched from the project's workspace as a run of its code location (``launch.py``) and recorded
in the project's Dagster instance, so ``dagster dev`` shows them. A delivery dated today waits
for its day to end; a day whose files break the contract is refused alone inside its run (the
other days load) and named in the summary. ``--in-process`` runs in this process instead (for a
debugger). The demo landing zone is generated only into the project's own ``data/landing`` when
it does not exist or is empty: never into another directory, never over a file.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from .automation.jobs import TRIGGER_TAG
from .automation.relink import pending_relinks, relink_selection
from .catalog_client import SOURCE_ENV, SOURCES, URL_ENV, load_catalog_settings
from .lake import is_lake
from .landing import complete_deliveries, parse_day
from .launch import launch_and_wait
from .partitions import (
    DEMO_DAYS,
    contiguous_blocks,
    default_first_day,
    last_partition_day,
    plan_deliveries,
)
from .report import (
    check_results,
    check_summary,
    day_lines,
    describe_runs,
    step_failures,
    warehouse_lines,
)
from .runner import range_tags, stream_days
from .settings import DEFAULT_LANDING, LANDING_ENV, Settings, load_settings
from .warehouse import WarehouseCorruptError, check_intact

# A single-run backfill of N days otherwise logs N "materialization planned" events per asset,
# one SQLite write each: for the 366-day build that was ~10,000 writes and about a third of its
# time. With this Dagster setting each asset logs one event for the whole range (the trade-off:
# the partitions of a failed range run show as missing, not failed, in the UI; the run shows
# the failure).
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# With this Dagster setting a step's per-partition materializations (and a run's planned events)
# reach the event log in batches of this size, one transaction per SQLite shard each in
# PooledSqliteEventLogStorage (instance_storage.py): a toy 366-day range of 20 assets ran ~4x
# faster (0.7 ms per asset and day, from 2.9).
# Dagster reads the variable on every event, so it can be set any time before the run.
EVENT_BATCH_ENV, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "100"


def _instance() -> dg.DagsterInstance:
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


def _products_source(source: str | None, landing: Path) -> str | None:
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


def demo_allowed(landing: Path) -> str | None:
    """Why a demo landing zone may NOT be generated into ``landing`` (None: it may).

    Only the project's own ``data/landing``, and only when it does not exist or holds nothing
    (dot-files aside): a mistyped ``ECOMMERCE_LANDING_DIR`` or a zone whose deliveries are still
    being written must never receive synthetic files.
    """
    if landing.resolve() != Path(DEFAULT_LANDING).resolve():
        return f"it is not the project's default landing zone ({DEFAULT_LANDING})"
    if landing.is_dir():
        entries = [p.name for p in landing.iterdir() if not p.name.startswith(".")]
        if entries:
            shown = ", ".join(sorted(entries)[:3])
            return f"it is not empty ({len(entries)} entries, e.g. {shown})"
    elif landing.exists():
        return "it is not a directory"
    return None


def _no_delivery(landing: Path) -> str:
    """Why ``landing`` has no complete delivery, for the error message."""
    if not landing.exists():
        return f"{landing} does not exist"
    if not landing.is_dir():
        return f"{landing} is not a directory"
    folders = sorted(p.name for p in landing.iterdir() if parse_day(p.name) and p.is_dir())
    if folders:
        return (
            f"{landing} holds {len(folders)} day folder(s) ({folders[0]} … {folders[-1]}) but "
            "none has _SUCCESS yet (still being written)"
        )
    return f"{landing} holds no day folder (YYYY-MM-DD/ with _SUCCESS)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help="fail instead of generating a demo landing zone when none exists",
    )
    parser.add_argument("--demo-scale", type=float, default=1.0, help="scale of the demo data")
    parser.add_argument(
        "--demo-days",
        type=int,
        default=DEMO_DAYS,
        help=f"days of demo data, ending yesterday (UTC) (default {DEMO_DAYS})",
    )
    parser.add_argument(
        "--demo-start",
        type=date.fromisoformat,
        help="first day of the demo data (default: the window ends yesterday, UTC); for a "
        "reproducible demo",
    )
    parser.add_argument(
        "--first", type=date.fromisoformat, help="first delivery day (default: the oldest)"
    )
    parser.add_argument(
        "--last", type=date.fromisoformat, help="last delivery day (default: the newest)"
    )
    parser.add_argument(
        "--no-checks", action="store_true", help="materialize the assets without their checks"
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="console log level of the run (default WARNING)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="execute in this process (for a debugger) instead of launching a run of the code "
        "location; the UI then shows the run without its code location",
    )
    parser.add_argument(
        "--products-source",
        choices=SOURCES,
        help="where raw_products comes from: csv (the landing zone; the default, or "
        "ECOMMERCE_PRODUCTS_SOURCE) or api (ECOMMERCE_CATALOG_API_URL, else a local catalog "
        "server of the landing zone started for this build; docs/catalog-api.md)",
    )
    return parser


def _deliveries(settings: Settings, args: argparse.Namespace) -> dict[date, Path] | int:
    """The complete deliveries, after generating the demo where allowed; an exit code if none."""
    deliveries = complete_deliveries(settings.landing_dir)
    if deliveries:
        return deliveries
    refused = "--no-demo was given" if args.no_demo else demo_allowed(settings.landing_dir)
    if refused:
        print(
            f"No complete delivery: {_no_delivery(settings.landing_dir)}. Not generating demo "
            f"data there ({refused}); nothing was written. Check {LANDING_ENV} "
            f"(now {os.environ.get(LANDING_ENV) or 'unset'}).",
            file=sys.stderr,
        )
        return 2
    from .generate import generate_landing_zone

    start = args.demo_start or last_partition_day() - timedelta(days=args.demo_days - 1)
    last = start + timedelta(days=args.demo_days - 1)
    print(
        f"No deliveries in {settings.landing_dir}: generating a demo landing zone "
        f"({args.demo_days} days, {start} … {last}) …"
    )
    generate_landing_zone(
        settings.landing_dir, scale=args.demo_scale, start=start, days=args.demo_days
    )
    return complete_deliveries(settings.landing_dir)


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices on every definition would bury the summary.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    args = _parser().parse_args(argv)
    settings = load_settings()
    if not is_lake(settings.warehouse):
        try:
            check_intact(settings.warehouse)
        except WarehouseCorruptError as exc:
            print(f"Warehouse: {exc}", file=sys.stderr)
            return 2
    deliveries = _deliveries(settings, args)
    if isinstance(deliveries, int):
        return deliveries
    first_day = settings.first_day or default_first_day(settings.landing_dir)
    plan = plan_deliveries(deliveries, first_day, last_partition_day())
    selected = [
        d
        for d in plan.loadable
        if (args.first is None or d >= args.first) and (args.last is None or d <= args.last)
    ]
    plan = replace(plan, loadable=selected)
    try:
        products = _products_source(args.products_source, settings.landing_dir)
    except ValueError as exc:
        print(f"Products source: {exc}", file=sys.stderr)
        return 2
    instance = _instance()
    blocks = plan.blocks()
    span = f"{selected[0]} … {selected[-1]}" if selected else "none"
    print(
        f"Materializing every asset{'' if args.no_checks else ' and check'} for "
        f"{len(selected)} deliveries ({span}) in {len(blocks)} run(s) into {settings.warehouse} …"
    )
    if products:
        print(f"Products from {products}.")
    runs = [(a, b, _run(settings, instance, a, b, args)) for a, b in blocks]
    relinks = _relink(settings, instance, args) if all(r.is_success for *_, r in runs) else []
    runs += relinks
    print("")
    print("\n".join(describe_runs(runs)) or "No run: no delivery whose day has ended.")
    lines, readable = warehouse_lines(settings.warehouse, settings.lock_timeout_s)
    print("\n".join(lines))
    summary, errors = check_summary(check_results(instance, [r.run_id for _, _, r in runs]))
    if runs:
        print(summary)
    print("\n".join(day_lines(instance, plan, first_day)))
    for _, _, run in runs:
        if not run.is_success:
            print("".join(step_failures(instance, run.run_id)))
    print(
        f"\nDagster instance: {os.environ['DAGSTER_HOME']} — open the UI with `bin/ui` "
        "(http://127.0.0.1:3000) to see these materializations and checks."
    )
    failed = any(not r.is_success for _, _, r in runs) or errors or not readable
    return 1 if failed else 0


def _relink(
    settings: Settings, instance: dg.DagsterInstance, args: argparse.Namespace
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
        (a, b, _run(settings, instance, a, b, args, relink_selection(), "build")) for a, b in blocks
    ]


def _run(
    settings: Settings,
    instance: dg.DagsterInstance,
    first: date,
    last: date,
    args: argparse.Namespace,
    selection: dg.AssetSelection | None = None,
    trigger: str | None = None,
) -> dg.DagsterRun:
    """One run over ``first``..``last`` (every asset, or ``selection``): launched from the
    workspace, or in this process."""
    tags = {TRIGGER_TAG: trigger} if trigger else {}
    if args.in_process:
        from .definitions import build_definitions  # after the warning filters above

        return stream_days(
            build_definitions(settings),
            first,
            last,
            instance,
            checks=not args.no_checks,
            log_level=args.log_level,
            selection=selection,
            tags=tags,
        )
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    return launch_and_wait(
        instance,
        tags={**tags, **range_tags(first, last)},
        checks=not args.no_checks,
        run_config=run_config,
        selection=selection,
    )


if __name__ == "__main__":
    raise SystemExit(main())
