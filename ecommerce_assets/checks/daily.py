"""One check result per delivery day: what a partitioned asset's check reports in any run.

Dagster records a check evaluation per partition when the check spec has the asset's partitions
definition and the evaluation names its partition; ``AssetCheckResult`` can only name the step's
single partition, so a range run (a single-run backfill of many days) would record one result for
all its days and the UI would show each day the range's status. Here a range run logs an
``AssetCheckEvaluation`` per day with that day's counts, aimed at that day's latest
materialization (so Dagster treats it as current), and a day keeps its own status until that day
is checked again: re-running clean days never turns a day that still holds a defect green.

The event log writes these evaluations in batches (``instance_storage.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg

from ..dagster_internals import AssetCheckEvaluationTargetMaterializationData
from .days import CheckedDays
from .framework import Check, Outcome
from .markdown import markdown_sample


def latest_materializations(
    instance: dg.DagsterInstance, asset: str, days: list[date]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """Each day's latest materialization of ``asset`` (what the day's evaluation checks)."""
    key = dg.AssetKey(asset)
    storage = instance.event_log_storage
    ids = storage.get_latest_storage_id_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, {d.isoformat() for d in days}
    )
    if not ids:
        return {}
    pointers = getattr(storage, "materialization_pointers", None)
    if pointers is not None:  # the project's event log: without deserializing the events
        found = pointers(list(ids.values()))
        return {
            partition: AssetCheckEvaluationTargetMaterializationData(
                storage_id=storage_id, run_id=found[storage_id][0], timestamp=found[storage_id][1]
            )
            for partition, storage_id in ids.items()
            if storage_id in found
        }
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(key, storage_ids=list(ids.values())), limit=len(ids)
    ).records
    return {
        record.partition_key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
        for record in records
        if record.partition_key is not None
    }


def daily_evaluations(
    context: dg.AssetCheckExecutionContext,
    check: Check,
    outcome: Outcome,
    window: CheckedDays,
    output_name: str,
    cache: dict[tuple[str, tuple[date, ...]], dict[str, Any]] | None = None,
) -> Iterator[Any]:
    """An evaluation per day of the outcome (or of the window, if the check could not run).

    ``cache`` keeps each asset's materializations for the step's other checks of it."""
    days = sorted(outcome.by_day) if outcome.by_day is not None else window.days()
    if not days:
        context.log.warning(f"{check.asset}.{check.name}: no delivery day to report on")
    cache = {} if cache is None else cache
    key = (check.asset, tuple(days))
    if key not in cache:
        cache[key] = latest_materializations(context.instance, check.asset, days)
    targets = cache[key]
    for day in days:
        key = day.isoformat()
        checked, failing = (outcome.by_day or {}).get(day, (0, 0))
        passed = (
            outcome.passed if outcome.passed is not None else check.gate.passed(checked, failing)
        )
        metadata: dict[str, Any] = {
            "rows_checked": dg.MetadataValue.int(checked),
            "rows_failing": dg.MetadataValue.int(failing),
            "failing_share": dg.MetadataValue.float(
                round(failing / checked, 6) if checked else 0.0
            ),
        }
        if failing:
            metadata["failing_sample"] = dg.MetadataValue.md(
                markdown_sample(outcome.day_samples.get(day))
            )
        metadata.update(outcome.day_metadata.get(day, {}))
        yield dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(check.asset),
            check_name=check.name,
            passed=bool(passed),
            metadata=metadata,
            target_materialization_data=targets.get(key),
            severity=check.severity,
            description=outcome.description,
            blocking=check.blocking,
            partition=key,
        )
    # The check's output, which downstream steps wait for. A failing blocking evaluation above
    # still fails the step (Dagster raises after the step's events), so they do not run.
    yield dg.Output(None, output_name=output_name)
