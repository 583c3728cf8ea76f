"""What ``python -m ecommerce_assets.build`` prints after its runs: each day's fate, the warehouse's
tables, the quarantine and the checks; all from the instance and one warehouse connection.

A summary never ends in a traceback: a warehouse locked by another process (after the settings'
one wait) or refused as damaged is said in one line, naming the holder or the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from .deliveries import REFUSED, VERDICT_KEY, latest_records, verdict_of
from .event_log_reads import CheckResult
from .instance_storage import PooledSqliteEventLogStorage
from .partitions import DeliveryPlan
from .resources import Warehouse
from .warehouse import WarehouseCorruptError, WarehouseLockedError, describe_warehouse


def table_counts(con: object) -> list[tuple[str, str, int]]:
    tables = con.execute(  # type: ignore[attr-defined]
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY table_schema, table_name"
    ).fetchall()
    return [
        (schema, name, con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0])  # type: ignore[attr-defined]
        for schema, name in tables
    ]


def quarantine_summary(con: object) -> list[tuple[str, str, int]]:
    exists = con.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = "
        "current_database() AND table_schema = 'staging' AND table_name = 'stg_quarantine'"
    ).fetchone()[0]
    if not exists:
        return []
    return con.execute(  # type: ignore[attr-defined]
        "SELECT table_name, reason, count(*) FROM staging.stg_quarantine GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()


def warehouse_lines(warehouse: Warehouse) -> tuple[list[str], bool]:
    """The warehouse's tables and quarantine as lines, and whether it could be read."""
    lines = [f"\nWarehouse {describe_warehouse(warehouse.database)}"]
    try:
        with warehouse.connect() as con:
            counts, quarantine = table_counts(con), quarantine_summary(con)
    except (WarehouseLockedError, WarehouseCorruptError) as exc:
        return [*lines, f"  cannot be read: {exc}"], False
    lines += [f"  {schema + '.' + name:<40} {rows:>12,} rows" for schema, name, rows in counts]
    if quarantine:
        lines.append("\nQuarantine (staging.stg_quarantine)")
        lines += [f"  {table:<12} {reason:<32} {rows:>8,}" for table, reason, rows in quarantine]
    return lines, True


def check_results(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> list[CheckResult]:
    """The runs' check evaluations as (asset, check, partition, passed, severity of a failure)."""
    storage = instance.event_log_storage
    out: list[CheckResult] = []
    for run_id in run_ids:
        if isinstance(storage, PooledSqliteEventLogStorage):  # the project's: no deserializing
            out += storage.check_results_of_run(run_id)
            continue
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            e = entry.get_dagster_event().event_specific_data
            out.append((e.asset_key, e.check_name, e.partition, e.passed, e.severity))
    return out


def check_summary(results: list[CheckResult]) -> tuple[str, int]:
    """Per check: passed, or its severity and the days that failed (checks of partitioned assets
    report one result per delivery day); and how many checks failed with ERROR."""
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
    return "\n".join(lines), len(errors)


def day_lines(instance: dg.DagsterInstance, plan: DeliveryPlan, first: date) -> list[str]:
    """The days the runs could not load, each with its reason; and the deliveries left waiting."""
    lines = []
    records = latest_records(instance, plan.loadable)
    refused = {d: r for d, r in records.items() if verdict_of(r) == REFUSED}
    if refused:
        lines.append(f"\nRefused deliveries ({len(refused)} day(s), nothing of them written):")
        lines += [f"  {day}: {r[VERDICT_KEY]!s}" for day, r in sorted(refused.items())]
    notes = plan.notes(first)
    if notes:
        lines.append("\nNot run:")
        lines += [f"  {note}" for note in notes]
    return lines


def step_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    lines = []
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = event.get_dagster_event().step_failure_data.error
        while error is not None and error.cause is not None:  # the user's error, not wrappers
            error = error.cause
        lines.append(f"\nStep {event.step_key} failed: {error.message.strip() if error else ''}")
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE):
        lines.append(f"\nRun failed: {event.get_dagster_event().message or ''}")
    return lines


def describe_runs(runs: Sequence[tuple[date, date, dg.DagsterRun]]) -> list[str]:
    out = []
    for first, last, run in runs:
        days = (last - first).days + 1
        span = f"{first}" if first == last else f"{first} … {last}"
        status = "SUCCESS" if run.is_success else "FAILURE"
        out.append(f"Run {run.run_id} ({days} day{'s' if days > 1 else ''}, {span}): {status}")
    return out
