"""Landing-zone sensor: a run for each new or changed complete delivery, once its day has ended.

What was loaded is read from the instance (each day's ``raw_deliveries`` record: the
``_SUCCESS`` mtime and the digest of the files it loaded, ``deliveries.py``), not kept in the
cursor: the cursor is one fingerprint of the landing zone's listing and the calendar, so it stays a
line long whatever the history, and a tick that finds the listing unchanged costs a directory
listing. When the listing changes (a delivery, a re-delivery) or a day ends, the sensor compares
each day with its record: a day never loaded, or whose files changed, is requested; a re-delivery
whose files hash the same as what was loaded is a proven no-op, and the tick says so.
"""

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from ..deliveries import Delivery, inspect_delivery, is_unchanged, latest_records, stamp_matches
from ..landing import complete_deliveries
from ..partitions import (
    DeliveryPlan,
    contiguous_blocks,
    format_days,
    partition_bounds,
    plan_deliveries,
)
from ..resources import LandingZone
from ..runner import range_tags
from .jobs import TRIGGER_TAG, WAREHOUSE_TAGS, AssetJob

LANDING_SENSOR = "landing_zone_sensor"
SENSOR_INTERVAL_ENV = "ECOMMERCE_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL_S = 15


def sensor_interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    return int(env.get(SENSOR_INTERVAL_ENV) or DEFAULT_SENSOR_INTERVAL_S)


def delivery_stamps(landing_dir: Path) -> dict[date, int]:
    """Each complete delivery's ``_SUCCESS`` mtime (ns): a new value means a (re-)delivery."""
    stamps = {}
    for day, folder in complete_deliveries(landing_dir).items():
        try:
            stamps[day] = (folder / "_SUCCESS").stat().st_mtime_ns
        except FileNotFoundError:  # removed since listed: a re-delivery is being written
            continue
    return stamps


def landing_fingerprint(stamps: Mapping[date, int], last_partition: date) -> str:
    """One hash of the complete deliveries, their ``_SUCCESS`` mtimes and the last partition
    day: it changes when a delivery lands or is re-delivered, and when a day ends."""
    text = ";".join(f"{d.isoformat()}={ns}" for d, ns in sorted(stamps.items()))
    return hashlib.sha1(f"{last_partition}|{text}".encode()).hexdigest()[:16]


def parse_cursor(cursor: str | None) -> dict[str, Any]:
    """The sensor cursor: ``{"fingerprint": …, "deliveries": N, "newest": day, "pending":
    {day: _SUCCESS mtime}}``; ``pending`` holds only days requested whose run has not recorded
    them yet (in flight, or failed until re-delivered), so the cursor stays small."""
    if not cursor:
        return {}
    data = json.loads(cursor)
    return data if isinstance(data, dict) else {}


def dump_cursor(
    stamps: Mapping[date, int], last_partition: date, pending: Mapping[str, int] | None = None
) -> str:
    newest = max(stamps).isoformat() if stamps else None
    data: dict[str, Any] = {
        "fingerprint": landing_fingerprint(stamps, last_partition),
        "deliveries": len(stamps),
        "newest": newest,
    }
    if pending:
        data["pending"] = dict(sorted(pending.items()))
    return json.dumps(data, separators=(",", ":"))


@dataclass
class Reconciliation:
    """The landing zone against what the instance says was loaded."""

    plan: DeliveryPlan
    wanted: dict[date, Delivery] = field(default_factory=dict)
    unchanged: list[date] = field(default_factory=list)
    in_flight: list[date] = field(default_factory=list)
    processed: int = 0

    def notes(self, first: date) -> list[str]:
        out = []
        if self.in_flight:
            out.append(
                f"{len(self.in_flight)} day(s) already requested, not loaded yet (a run in "
                f"progress, or failed: re-deliver or re-run it): {format_days(self.in_flight)}"
            )
        if self.unchanged:
            out.append(
                f"{len(self.unchanged)} re-deliver{'y' if len(self.unchanged) == 1 else 'ies'} "
                f"identical to what was loaded (same files, SHA-256), nothing to do: "
                f"{format_days(self.unchanged)}"
            )
        return out + self.plan.notes(first)


def reconcile(
    landing_dir: Path,
    stamps: Mapping[date, int],
    first: date,
    last: date,
    instance: dg.DagsterInstance | None,
    pending: Mapping[str, int] | None = None,
) -> Reconciliation:
    """Which loadable days need a run: never loaded, or their files changed since, and not
    already requested with this very ``_SUCCESS`` (``pending``)."""
    plan = plan_deliveries(stamps, first, last)
    out = Reconciliation(plan)
    records = latest_records(instance, plan.loadable) if instance is not None else {}
    for day in plan.loadable:
        record = records.get(day)
        if stamp_matches(record, stamps[day]):
            out.processed += 1
            continue
        if (pending or {}).get(day.isoformat()) == stamps[day]:
            out.in_flight.append(day)
            continue
        delivery = inspect_delivery(day, landing_dir / day.isoformat())
        if delivery is None:  # _SUCCESS removed since listed: a re-delivery is being written
            continue
        if is_unchanged(record, delivery):
            out.unchanged.append(day)
        else:
            out.wanted[day] = delivery
    return out


def block_run_request(
    first: date, last: date, deliveries: Mapping[date, Delivery], trigger: str
) -> dg.RunRequest:
    """One run for days ``first``..``last``. The run key names the days, their ``_SUCCESS``
    mtimes and their files' digests: a tick replayed after a crash launches nothing twice."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    text = ",".join(f"{deliveries[d].success_mtime_ns}:{deliveries[d].digest}" for d in days)
    digest = hashlib.sha1(text.encode()).hexdigest()[:16]
    key = f"{first.isoformat()}..{last.isoformat()}@{digest}"
    tags = {**WAREHOUSE_TAGS, TRIGGER_TAG: trigger}
    if first == last:
        return dg.RunRequest(run_key=key, partition_key=first.isoformat(), tags=tags)
    return dg.RunRequest(run_key=key, tags={**tags, **range_tags(first, last)})


def instance_or_none(context: Any) -> dg.DagsterInstance | None:
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:  # unit tests may build contexts without one
        return None


def build_landing_sensor(
    job: AssetJob,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    minimum_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_S,
    now: Any = None,
) -> dg.SensorDefinition:
    """Requests new and changed complete deliveries whose day has ended, one run per block of
    consecutive days. ``now`` (a callable returning an aware datetime) is for tests. The landing
    zone is the ``landing`` resource's, read at each tick."""

    @dg.sensor(
        name=LANDING_SENSOR,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests new and changed complete deliveries (_SUCCESS present) once their "
        "day has ended (UTC); consecutive days go as one range run. A re-delivery identical to "
        "what was loaded is a no-op.",
    )
    def landing_zone_sensor(
        context: dg.SensorEvaluationContext, landing: LandingZone
    ) -> dg.SensorResult | dg.SkipReason:
        landing_dir = landing.root
        moment: datetime | None = now() if now is not None else None
        first, last = partition_bounds(partitions_def, moment)
        stamps = delivery_stamps(landing_dir)
        previous = parse_cursor(context.cursor)
        if previous.get("fingerprint") == landing_fingerprint(stamps, last):
            waiting = plan_deliveries(stamps, first, last).notes(first)
            return dg.SkipReason(
                "; ".join(
                    [
                        f"no change in {landing_dir} since the last tick ({len(stamps)} complete "
                        "deliveries)",
                        *waiting,
                    ]
                )
            )
        pending = previous.get("pending") or {}
        found = reconcile(landing_dir, stamps, first, last, instance_or_none(context), pending)
        # Still in flight (or failed with this very _SUCCESS); the rest was loaded or re-delivered.
        pending = {d.isoformat(): stamps[d] for d in found.in_flight}
        pending.update({d.isoformat(): x.success_mtime_ns for d, x in found.wanted.items()})
        cursor = dump_cursor(stamps, last, pending)
        notes = found.notes(first)
        for note in notes:
            context.log.info(note)
        if not found.wanted:
            message = "; ".join(notes) or (
                f"every complete delivery is processed ({found.processed} in {landing_dir})"
            )
            return dg.SensorResult(skip_reason=message, cursor=cursor)
        blocks = contiguous_blocks(found.wanted)
        context.log.info(f"requesting {len(found.wanted)} day(s) in {len(blocks)} run(s): {blocks}")
        return dg.SensorResult(
            run_requests=[block_run_request(a, b, found.wanted, LANDING_SENSOR) for a, b in blocks],
            cursor=cursor,
        )

    return landing_zone_sensor
