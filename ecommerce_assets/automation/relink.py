"""Re-linking facts after a late dimension version (issue 26): which days, the job, the sensor.

A build of ``dim_users`` or ``dim_products`` names in its materialization the loaded fact days
whose links it changes (``relink_days``, ``transforms/relink.py``). A day stays pending until each
fact asset has been materialized for it after that materialization (by the same run, when it
covered the day, or by a relink run). ``relink_sensor`` requests one run of ``relink_job`` (the
facts and everything downstream of them) per block of consecutive pending days; the build does
the same after its runs. Dagster's declarative conditions cannot say this: they see that a
dimension changed, not which partitions of its readers the change reaches, and re-running every
fact day on each dimension update would cost the whole history every day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from ..partitions import contiguous_blocks
from ..runner import range_tags
from .jobs import TRIGGER_TAG, WAREHOUSE_TAGS, AssetJob

RELINK_JOB = "relink_job"
RELINK_SENSOR = "relink_sensor"
RELINK_INTERVAL_S = 30
DIMENSIONS = (dg.AssetKey("dim_users"), dg.AssetKey("dim_products"))
FACTS = tuple(
    dg.AssetKey(name) for name in ("fact_orders", "fact_order_items", "fact_events", "fact_reviews")
)
FINISHED = {
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
}
UNFINISHED = set(dg.DagsterRunStatus) - FINISHED


def relink_selection() -> dg.AssetSelection:
    """The facts and every asset that reads them (aggregates, quality report, analytics copy)."""
    return dg.AssetSelection.groups("facts").downstream()


@dataclass
class Pending:
    """Fact days still to re-link, from dimension materializations after ``since`` (a storage
    id): ``cursor`` is the id up to which nothing is pending any more, ``waiting_for`` the runs
    that flagged days and have not finished (their own facts may still cover them)."""

    days: list[date] = field(default_factory=list)
    cursor: int = 0
    latest: int = 0
    waiting_for: list[str] = field(default_factory=list)


def _materializations(
    instance: dg.DagsterInstance, key: dg.AssetKey, since: int
) -> Iterable[dg.EventLogRecord]:
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=since or None),
            limit=500,
            cursor=cursor,
            ascending=True,
        )
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def pending_relinks(instance: dg.DagsterInstance, since: int = 0) -> Pending:
    """What the dimensions materialized after storage id ``since`` left to re-link."""
    out = Pending(cursor=since, latest=since)
    unresolved: list[int] = []
    days: set[date] = set()
    for key in DIMENSIONS:
        for record in _materializations(instance, key, since):
            out.latest = max(out.latest, record.storage_id)
            materialization = record.asset_materialization
            entry = materialization.metadata.get("relink_days") if materialization else None
            flagged = set(entry.value) if entry is not None else set()
            if not flagged:
                continue
            run = instance.get_run_by_id(record.run_id)
            if run is not None and run.status not in FINISHED:
                out.waiting_for.append(record.run_id)
                unresolved.append(record.storage_id)
                continue
            left = _not_relinked(instance, flagged, record.storage_id)
            if left:
                unresolved.append(record.storage_id)
                days |= left
    out.days = sorted(days)
    out.cursor = min(unresolved) - 1 if unresolved else out.latest
    return out


def _not_relinked(instance: dg.DagsterInstance, flagged: set[str], after: int) -> set[date]:
    """The ``flagged`` days some fact has not been materialized for since storage id ``after``."""
    left: set[str] = set()
    for fact in FACTS:
        latest = instance.event_log_storage.get_latest_storage_id_by_partition(
            fact, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions=flagged
        )
        left |= {day for day in flagged if latest.get(day, 0) <= after}
    return {date.fromisoformat(day) for day in left}


def relink_tags(first: date, last: date, trigger: str) -> dict[str, str]:
    tags = {**WAREHOUSE_TAGS, TRIGGER_TAG: trigger}
    if first == last:
        return {**tags, "dagster/partition": first.isoformat()}
    return {**tags, **range_tags(first, last)}


def build_relink_job() -> AssetJob:
    return dg.define_asset_job(
        RELINK_JOB,
        selection=relink_selection(),
        tags=WAREHOUSE_TAGS,
        description="Re-link loaded fact days to the dimensions after a late user or product "
        "version changed their history: the facts and what reads them, for the days named. "
        "Launched by relink_sensor and the build.",
    )


def build_relink_sensor(job: AssetJob) -> dg.SensorDefinition:
    @dg.sensor(
        name=RELINK_SENSOR,
        job=job,
        minimum_interval_seconds=RELINK_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a dimension build names loaded fact days whose links a late version "
        "changed (relink_days), re-runs the facts and what reads them for those days, one run "
        "per block of consecutive days.",
    )
    def relink_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        in_flight = context.instance.get_run_records(
            dg.RunsFilter(job_name=RELINK_JOB, statuses=list(UNFINISHED)), limit=1
        )
        if in_flight:
            return dg.SkipReason(f"relink run {in_flight[0].dagster_run.run_id} not finished yet")
        since = int(context.cursor or 0)
        pending = pending_relinks(context.instance, since)
        if pending.waiting_for:
            return dg.SkipReason(
                f"waiting for run(s) {', '.join(sorted(set(pending.waiting_for)))} that changed "
                "a dimension to finish (they may re-link the days themselves)"
            )
        cursor = str(pending.cursor)
        if not pending.days:
            return dg.SensorResult(skip_reason="no loaded fact day to re-link", cursor=cursor)
        blocks = contiguous_blocks(pending.days)
        context.log.info(f"re-linking {len(pending.days)} fact day(s) in {len(blocks)} run(s)")
        requests = [
            dg.RunRequest(
                run_key=f"relink:{pending.latest}:{a.isoformat()}..{b.isoformat()}",
                tags=relink_tags(a, b, RELINK_SENSOR),
            )
            for a, b in blocks
        ]
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return relink_sensor
