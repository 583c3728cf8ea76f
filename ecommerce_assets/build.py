"""``python -m ecommerce_assets.build``: materialize everything for every complete delivery.

A thin command line over ``build_runs.py`` (the runs), ``demo.py`` (the demo zone) and
``report.py`` (the summary). The deliveries whose day has ended are run as few runs as the
calendar allows: one per block of consecutive delivered days (a day nobody delivered stays
missing, not materialized empty), each launched from the project's workspace as a run of its code
location (``launch.py``) and recorded in the project's Dagster instance, so ``dagster dev`` shows
them. A delivery dated today waits for its day to end; a day whose files break the contract is
refused alone inside its run (the other days load) and named in the summary. ``--in-process``
runs in this process instead (for a debugger). The demo landing zone is generated only into the
project's own ``data/landing`` when it does not exist or is empty: never into another directory,
never over a file.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg

from .build_runs import RunOptions, project_instance, relink_runs, run_days, use_products_source
from .catalog_client import SOURCES
from .demo import demo_allowed, generate_demo, why_no_delivery
from .landing import complete_deliveries
from .partitions import DEMO_DAYS, default_first_day, last_partition_day, plan_deliveries
from .report import (
    check_results,
    check_summary,
    day_lines,
    describe_runs,
    step_failures,
    warehouse_lines,
)
from .resources import Warehouse
from .settings import LANDING_ENV, Settings, load_settings
from .warehouse import WarehouseCorruptError, check_intact


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
            f"No complete delivery: {why_no_delivery(settings.landing_dir)}. Not generating demo "
            f"data there ({refused}); nothing was written. Check {LANDING_ENV} "
            f"(now {os.environ.get(LANDING_ENV) or 'unset'}).",
            file=sys.stderr,
        )
        return 2
    return generate_demo(
        settings.landing_dir, scale=args.demo_scale, days=args.demo_days, start=args.demo_start
    )


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices on every definition would bury the summary.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    args = _parser().parse_args(argv)
    settings = load_settings()
    if settings.warehouse.file is not None:
        try:
            check_intact(settings.warehouse.file)
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
        products = use_products_source(args.products_source, settings.landing_dir)
    except ValueError as exc:
        print(f"Products source: {exc}", file=sys.stderr)
        return 2
    instance = project_instance()
    options = RunOptions(
        checks=not args.no_checks, log_level=args.log_level, in_process=args.in_process
    )
    blocks = plan.blocks()
    span = f"{selected[0]} … {selected[-1]}" if selected else "none"
    print(
        f"Materializing every asset{'' if args.no_checks else ' and check'} for "
        f"{len(selected)} deliveries ({span}) in {len(blocks)} run(s) into {settings.warehouse} …"
    )
    if products:
        print(f"Products from {products}.")
    runs = [(a, b, run_days(settings, instance, a, b, options)) for a, b in blocks]
    ok = all(r.is_success for *_, r in runs)
    relinks = relink_runs(settings, instance, options) if ok else []
    runs += relinks
    print("")
    print("\n".join(describe_runs(runs)) or "No run: no delivery whose day has ended.")
    lines, readable = warehouse_lines(Warehouse.from_settings(settings))
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


if __name__ == "__main__":
    raise SystemExit(main())
