"""Landing-zone sensor: runs for new and re-delivered complete deliveries, each requested once."""

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from ..contract import SUCCESS_MARKER
from ..landing import complete_deliveries
from ..partitions import PARTITIONS_END_ENV
from ..runner import range_tags
from ..settings import Settings
from .jobs import TRIGGER_TAG, WAREHOUSE_TAGS, AssetJob

LANDING_SENSOR = "landing_zone_sensor"
# A raw asset every delivery run materializes: its records tell whether a day was processed.
MARKER_ASSET = dg.AssetKey("raw_orders")
SENSOR_INTERVAL_ENV = "ECOMMERCE_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL_S = 15


def sensor_interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    return int(env.get(SENSOR_INTERVAL_ENV) or DEFAULT_SENSOR_INTERVAL_S)


# Pure helpers (unit-tested without Dagster contexts), shared with the daily schedule.
def delivery_stamps(landing_dir: Path) -> dict[date, int]:
    """Each complete delivery's ``_SUCCESS`` mtime (ns): a new value means a (re-)delivery."""
    stamps = {}
    for day, folder in complete_deliveries(landing_dir).items():
        try:
            stamps[day] = (folder / SUCCESS_MARKER).stat().st_mtime_ns
        except FileNotFoundError:  # removed since listed: a re-delivery is being written
            continue
    return stamps


def parse_cursor(cursor: str | None) -> dict[str, int]:
    """The sensor cursor: {"YYYY-MM-DD": _SUCCESS mtime ns} of every day already requested."""
    if not cursor:
        return {}
    data = json.loads(cursor)
    return {str(k): int(v) for k, v in data.get("days", {}).items()}


def dump_cursor(days: Mapping[str, int]) -> str:
    return json.dumps({"days": dict(sorted(days.items()))}, separators=(",", ":"))


def contiguous_blocks(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as inclusive [first, last] blocks of consecutive days."""
    blocks: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if blocks and day == blocks[-1][1] + timedelta(days=1):
            blocks[-1] = (blocks[-1][0], day)
        else:
            blocks.append((day, day))
    return blocks


def partition_window(partitions_def: dg.TimeWindowPartitionsDefinition) -> tuple[date, date]:
    """[first partition day, last partition day] of the delivery partitions."""
    first = date.fromisoformat(partitions_def.get_first_partition_key())
    last = date.fromisoformat(partitions_def.get_last_partition_key())
    return first, last


def _fmt_days(days: Sequence[date], limit: int = 5) -> str:
    shown = ", ".join(d.isoformat() for d in days[:limit])
    return shown + (f" … (+{len(days) - limit} more)" if len(days) > limit else "")


def block_run_request(
    first: date, last: date, stamps: Mapping[date, int], trigger: str
) -> dg.RunRequest:
    """One run for days ``first``..``last``; the run key names the days and their mtimes."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    digest = hashlib.sha1(",".join(str(stamps[d]) for d in days).encode()).hexdigest()[:12]
    key = f"{first.isoformat()}..{last.isoformat()}@{max(stamps[d] for d in days)}:{digest}"
    tags = {**WAREHOUSE_TAGS, TRIGGER_TAG: trigger}
    if first == last:
        return dg.RunRequest(run_key=key, partition_key=first.isoformat(), tags=tags)
    return dg.RunRequest(run_key=key, tags={**tags, **range_tags(first, last)})


def processed_since(
    instance: dg.DagsterInstance, stamps: Mapping[date, int], page: int = 1000
) -> set[date]:
    """Days whose marker asset was materialized after their ``_SUCCESS`` was written.

    Used on the sensor's first tick (no cursor): what ``bin/build`` or a backfill already did is
    not requested again.
    """
    if not stamps:
        return set()
    oldest = min(stamps.values()) / 1e9
    latest: dict[str, float] = {}
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=MARKER_ASSET, after_timestamp=oldest),
            limit=page,
            cursor=cursor,
        )
        for record in result.records:
            if record.partition_key:
                latest[record.partition_key] = max(
                    latest.get(record.partition_key, 0.0), record.timestamp
                )
        if not result.has_more:
            break
        cursor = result.cursor
    return {day for day, ns in stamps.items() if latest.get(day.isoformat(), 0.0) >= ns / 1e9}


def instance_or_none(context: Any) -> dg.DagsterInstance | None:
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:  # unit tests may build contexts without one
        return None


def build_landing_sensor(
    job: AssetJob,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: Settings,
    minimum_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_S,
) -> dg.SensorDefinition:
    """Compares each complete delivery's ``_SUCCESS`` mtime with the cursor (JSON: day -> mtime
    in ns) and requests the new and re-delivered days, one run per contiguous block of days. The
    run key carries the mtimes, so a tick replayed after a crash launches nothing twice.
    """
    landing_dir = settings.landing_dir

    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests new and re-delivered complete deliveries (_SUCCESS present), "
        "once each; consecutive days go as one range run.",
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext,
    ) -> dg.SensorResult | dg.SkipReason:
        seen = parse_cursor(context.cursor)
        stamps = delivery_stamps(landing_dir)
        changed = {day: ns for day, ns in stamps.items() if seen.get(day.isoformat()) != ns}
        if context.cursor is None and changed:
            instance = instance_or_none(context)
            done = processed_since(instance, changed) if instance is not None else set()
            for day in done:
                seen[day.isoformat()] = changed.pop(day)
        first, last = partition_window(partitions_def)
        wanted = sorted(d for d in changed if first <= d <= last)
        outside = sorted(d for d in changed if not first <= d <= last)
        beyond = (
            f"{len(outside)} complete deliveries outside the partitions {first}..{last} "
            f"({_fmt_days(outside)}): reload the code location (or set {PARTITIONS_END_ENV}) "
            "to process them"
            if outside
            else ""
        )
        if beyond:
            context.log.warning(beyond)
        if not wanted:
            message = beyond or f"no new or re-delivered complete delivery ({len(stamps)} seen)"
            if context.cursor is None and seen:  # first tick: remember what was already done
                return dg.SensorResult(skip_reason=message, cursor=dump_cursor(seen))
            return dg.SkipReason(message)
        for day in wanted:  # outside days stay out of the cursor: requested after a reload
            seen[day.isoformat()] = changed[day]
        blocks = contiguous_blocks(wanted)
        context.log.info(f"requesting {len(wanted)} day(s) in {len(blocks)} run(s): {blocks}")
        return dg.SensorResult(
            run_requests=[block_run_request(a, b, changed, LANDING_SENSOR) for a, b in blocks],
            cursor=dump_cursor(seen),
        )

    return landing_zone_sensor
