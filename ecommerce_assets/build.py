"""``python -m ecommerce_assets.build``: materialize everything for every complete delivery.

One run covers all delivery days (partitioned assets use single-run backfills), launched from the
project's workspace as a run of its code location (``launch.py``) and recorded in the project's
Dagster instance, so ``dagster dev`` shows it on the Timeline with its materializations and check
results, and can re-execute it. ``--in-process`` runs it in this process instead (for a debugger;
the UI then cannot place the run). With an empty landing zone, a demo one (the reference dataset)
is generated first.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from datetime import date
from pathlib import Path

import dagster as dg

from .catalog_client import SOURCE_ENV, SOURCES, URL_ENV, load_catalog_settings
from .instance_storage import CheckResult, PooledSqliteEventLogStorage
from .landing import complete_deliveries
from .launch import launch_and_wait
from .runner import range_tags, stream_days
from .settings import load_settings
from .warehouse import connect, describe_warehouse

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


def _table_counts(warehouse: Path) -> list[tuple[str, str, int]]:
    with connect(warehouse) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY table_schema, table_name"
        ).fetchall()
        return [
            (schema, name, con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0])
            for schema, name in tables
        ]


def _quarantine_summary(warehouse: Path) -> list[tuple[str, str, int]]:
    with connect(warehouse) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = "
            "current_database() AND table_schema = 'staging' AND table_name = 'stg_quarantine'"
        ).fetchone()[0]
        if not exists:
            return []
        return con.execute(
            "SELECT table_name, reason, count(*) FROM staging.stg_quarantine "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()


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


def _check_results(instance: dg.DagsterInstance, run_id: str) -> list[CheckResult]:
    """The run's check evaluations as (asset, check, partition, passed, severity of a failure)."""
    storage = instance.event_log_storage
    if isinstance(storage, PooledSqliteEventLogStorage):  # the project's: no deserializing
        return storage.check_results_of_run(run_id)
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        e = entry.get_dagster_event().event_specific_data
        out.append((e.asset_key, e.check_name, e.partition, e.passed, e.severity))
    return out


def _check_summary(results: list[CheckResult]) -> str:
    """Per check: passed, or its severity and the days that failed (checks of partitioned assets
    report one result per delivery day)."""
    by_check: dict[tuple[str, str], list[CheckResult]] = {}
    for result in results:
        by_check.setdefault((result[0].to_user_string(), result[1]), []).append(result)
    failed = {k: [r for r in v if not r[3]] for k, v in by_check.items()}
    failed = {k: v for k, v in failed.items() if v}
    error = dg.AssetCheckSeverity.ERROR
    errors = [k for k, v in failed.items() if any(r[4] == error for r in v)]
    lines = [
        f"\nAsset checks: {len(by_check)} checks, {len(results)} results (one per delivery "
        f"day for partitioned assets): {len(by_check) - len(failed)} checks passed everywhere, "
        f"{len(failed) - len(errors)} warned, {len(errors)} failed with ERROR"
    ]
    for key in sorted(failed, key=lambda k: (k not in errors, k)):
        severity = "ERROR" if key in errors else "WARN"
        days = sorted(r[2] for r in failed[key] if r[2])
        where = f" on {len(days)} day(s): {', '.join(days[:5])}{' …' if len(days) > 5 else ''}"
        lines.append(f"  {severity:<5} {key[0]}:{key[1]}{where if days else ''}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    # Dagster's beta/preview notices on every definition would bury the summary.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help="fail instead of generating a demo landing zone when none exists",
    )
    parser.add_argument("--demo-scale", type=float, default=1.0, help="scale of the demo data")
    parser.add_argument(
        "--demo-days", type=int, default=366, help="days of demo data from 2024-01-01"
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
    args = parser.parse_args(argv)
    settings = load_settings()
    deliveries = complete_deliveries(settings.landing_dir)
    if not deliveries:
        if args.no_demo:
            print(f"No complete delivery in {settings.landing_dir}.", file=sys.stderr)
            return 2
        from .generate import generate_landing_zone

        print(f"No deliveries in {settings.landing_dir}: generating a demo landing zone …")
        generate_landing_zone(settings.landing_dir, scale=args.demo_scale, days=args.demo_days)
        deliveries = complete_deliveries(settings.landing_dir)
    first, last = args.first or min(deliveries), args.last or max(deliveries)
    try:
        products = _products_source(args.products_source, settings.landing_dir)
    except ValueError as exc:
        print(f"Products source: {exc}", file=sys.stderr)
        return 2
    instance = _instance()
    count = sum(first <= day <= last for day in deliveries)
    print(
        f"Materializing every asset{'' if args.no_checks else ' and check'} for {count} "
        f"deliveries ({first} … {last}) in one run into {settings.warehouse} …"
    )
    if products:
        print(f"Products from {products}.")
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level}}}}
    if args.in_process:
        from .definitions import build_definitions  # after the warning filters above

        run = stream_days(
            build_definitions(settings),
            first,
            last,
            instance,
            checks=not args.no_checks,
            log_level=args.log_level,
        )
        run_id, success = run.run_id, run.is_success
    else:
        run = launch_and_wait(
            instance, tags=range_tags(first, last), checks=not args.no_checks, run_config=run_config
        )
        run_id, success = run.run_id, run.is_success

    print(f"\nRun {run_id}: {'SUCCESS' if success else 'FAILURE'}")
    print(f"\nWarehouse {describe_warehouse(settings.warehouse)}")
    for schema, name, rows in _table_counts(settings.warehouse):
        print(f"  {schema + '.' + name:<40} {rows:>12,} rows")
    quarantine = _quarantine_summary(settings.warehouse)
    if quarantine:
        print("\nQuarantine (staging.stg_quarantine)")
        for table, reason, rows in quarantine:
            print(f"  {table:<12} {reason:<32} {rows:>8,}")
    results = _check_results(instance, run_id)
    if results:
        print(_check_summary(results))
    if not success:
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            error = event.get_dagster_event().step_failure_data.error
            print(f"\nStep {event.step_key} failed: {error.message if error else ''}")
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE):
            print(f"\nRun failed: {event.get_dagster_event().message or ''}")
    print(
        f"\nDagster instance: {os.environ['DAGSTER_HOME']} — open the UI with `bin/ui` "
        "(http://127.0.0.1:3000) to see these materializations and checks."
    )
    return 0 if success else 1


if __name__ == "__main__":
    raise SystemExit(main())
