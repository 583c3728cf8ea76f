"""Automation: the landing-zone sensor, the daily schedule, declarative automation and alerts.

Design (see the README, "Automation"):

- ``deliveries_job`` materializes every asset and check for a range of delivery days in ONE run
  (partitioned assets have single-run backfill policies; the unpartitioned dimensions and lifetime
  aggregates are rebuilt once, after staging and before the facts that join them).
- ``landing_zone_sensor`` compares each complete delivery's ``_SUCCESS`` mtime with its cursor
  (JSON: day -> mtime in ns) and requests the new and re-delivered days, one run per contiguous
  block of days. The run key carries the mtimes, so a tick replayed after a crash launches nothing
  twice.
- ``daily_delivery_schedule`` (02:00 UTC) requests yesterday's delivery and skips with a reason
  when it is not complete or already processed.
- Assets that are not partitioned by delivery get an automation condition (after their upstreams
  change, only when upstream blocking checks passed); ``automation_sensor`` evaluates them and is
  on by default.
- ``run_failure_alert`` and ``check_failure_alert`` record alerts (``alerts.py``).

Every run these launch carries ``WAREHOUSE_TAG``; ``dagster_home/dagster.yaml`` limits the run
queue so that only one run at a time writes the DuckDB warehouse (one writer process).
"""

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from .alerts import Alert, alert_log_path, send_alert
from .contract import SUCCESS_MARKER
from .landing import complete_deliveries
from .partitions import PARTITIONS_END_ENV
from .runner import range_tags
from .settings import Settings

DELIVERIES_JOB = "deliveries_job"
LANDING_SENSOR = "landing_zone_sensor"
DAILY_SCHEDULE = "daily_delivery_schedule"
AUTOMATION_SENSOR = "automation_sensor"
RUN_FAILURE_SENSOR = "run_failure_alert"
CHECK_FAILURE_SENSOR = "check_failure_alert"

# Run tag on every run that writes the warehouse; dagster.yaml limits it to one run at a time.
WAREHOUSE_TAG = "ecommerce/warehouse"
WAREHOUSE_TAGS = {WAREHOUSE_TAG: "duckdb"}
TRIGGER_TAG = "ecommerce/trigger"
# A raw asset every delivery run materializes: its records tell whether a day was processed.
MARKER_ASSET = dg.AssetKey("raw_orders")
SENSOR_INTERVAL_ENV = "ECOMMERCE_SENSOR_INTERVAL"
DEFAULT_SENSOR_INTERVAL_S = 15
ALERT_SENSOR_INTERVAL_S = 10
# Evaluating automation conditions costs CPU in the daemon; every 30 s is plenty for rebuilds.
AUTOMATION_INTERVAL_S = 30


# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested without Dagster contexts)
# --------------------------------------------------------------------------------------------
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


def _instance_or_none(context: Any) -> dg.DagsterInstance | None:
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:  # unit tests may build contexts without one
        return None


# --------------------------------------------------------------------------------------------
# Jobs, sensors, schedule
# --------------------------------------------------------------------------------------------
def build_deliveries_job() -> UnresolvedAssetJobDefinition:
    """Every asset and check: raw and staging for the days, dimensions, facts, aggregates."""
    return dg.define_asset_job(
        DELIVERIES_JOB,
        selection=dg.AssetSelection.all(),
        tags=WAREHOUSE_TAGS,
        description="Process delivery days end to end in one run (pick a partition range). "
        "Launched by the landing-zone sensor and the daily schedule.",
    )


def build_landing_sensor(
    job: UnresolvedAssetJobDefinition,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: Settings,
    minimum_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_S,
) -> dg.SensorDefinition:
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
            instance = _instance_or_none(context)
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


def build_daily_schedule(
    job: UnresolvedAssetJobDefinition,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: Settings,
) -> dg.ScheduleDefinition:
    landing_dir = settings.landing_dir

    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=job,
        cron_schedule="0 2 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="02:00 UTC: process yesterday's delivery if the sensor has not; skips with "
        "a reason when the delivery is not complete.",
    )
    def daily_delivery_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        when = context.scheduled_execution_time or datetime.now(UTC)
        day = when.astimezone(UTC).date() - timedelta(days=1)
        stamps = delivery_stamps(landing_dir)
        if day not in stamps:
            folder = landing_dir / day.isoformat()
            state = "is being written (no _SUCCESS yet)" if folder.is_dir() else "has not arrived"
            newest = max(stamps).isoformat() if stamps else "none"
            return dg.SkipReason(
                f"the delivery of {day} {state} in {landing_dir}; newest complete delivery: "
                f"{newest}"
            )
        first, last = partition_window(partitions_def)
        if not first <= day <= last:
            return dg.SkipReason(
                f"the delivery of {day} is outside the partitions {first}..{last}: reload the "
                f"code location (or set {PARTITIONS_END_ENV})"
            )
        instance = _instance_or_none(context)
        if instance is not None and day in processed_since(instance, {day: stamps[day]}):
            return dg.SkipReason(f"the delivery of {day} is already processed")
        return block_run_request(day, day, stamps, DAILY_SCHEDULE)

    return daily_delivery_schedule


# --------------------------------------------------------------------------------------------
# Declarative automation
# --------------------------------------------------------------------------------------------
def upstream_blocking_checks_passed() -> dg.AutomationCondition:
    """No materialized upstream partition has a blocking check that has not passed.

    Not Dagster's ``all_deps_blocking_checks_passed()``: it maps each dependency's *passing*
    partitions down to the asset, so a dimension reading every staged day (or the funnel reading
    two days) passed as soon as ANY of those days passed, and a day with a failed key check did
    not hold it back (``test_automation_evaluated.py``). Checks of partitions requested in the
    same tick count as passed, as in Dagster's condition.
    """
    ac = dg.AutomationCondition
    not_passed = ac.any_checks_match(
        ~(ac.check_passed() | ac.will_be_requested()), blocking_only=True
    ).with_label("a blocking check not passed")
    return (~ac.any_deps_match(~ac.missing() & not_passed)).with_label(
        "upstream blocking checks passed"
    )


def after_upstream_condition() -> dg.AutomationCondition:
    """Unpartitioned assets: after any upstream update, once upstream blocking checks passed.

    Like ``eager()`` without ``any_deps_missing``: a dimension built from the deliveries present
    is right even while later days of the partition window are still missing.
    """
    ac = dg.AutomationCondition
    return (
        (ac.newly_missing() | ac.any_deps_updated()).since_last_handled()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & upstream_blocking_checks_passed()
    ).with_label("after upstream updates, blocking checks passed")


def late_data_condition() -> dg.AutomationCondition:
    """Partitioned assets that read later deliveries (late events): every partition whose
    upstream partitions changed, not only the latest one as ``eager()`` would."""
    ac = dg.AutomationCondition
    return (
        ac.any_deps_updated().since_last_handled()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & upstream_blocking_checks_passed()
    ).with_label("late data arrived, blocking checks passed")


def _reads_later_partitions(spec: dg.AssetSpec) -> bool:
    for dep in spec.deps:
        mapping = dep.partition_mapping
        if isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.end_offset > 0:
            return True
    return False


def with_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The automation condition an asset gets unless it declares its own."""
    if spec.automation_condition is not None:
        return spec
    if spec.partitions_def is None:
        return spec.replace_attributes(automation_condition=after_upstream_condition())
    if _reads_later_partitions(spec):
        return spec.replace_attributes(automation_condition=late_data_condition())
    return spec


def apply_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with automation conditions on the assets not partitioned by delivery.

    Applied here rather than in each asset module, so assets added later get it too.
    """
    with warnings.catch_warnings():  # map_asset_specs is marked preview in 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=with_automation)


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------
def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """An alert per check of ``run_id`` that failed with severity ERROR."""
    alerts = []
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    for entry in events:
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if evaluation is None or evaluation.passed:
            continue
        if evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        asset = evaluation.asset_key.to_user_string()
        alerts.append(
            Alert(
                kind="check_failure",
                message=f"check {evaluation.check_name} on {asset} failed"
                + (f": {evaluation.description}" if evaluation.description else ""),
                run_id=run_id,
                job_name=None,
                asset_key=asset,
                check_name=evaluation.check_name,
                partition=getattr(evaluation, "partition", None),
                details={
                    k: getattr(v, "value", str(v)) for k, v in (evaluation.metadata or {}).items()
                },
            )
        )
    return alerts


def step_errors(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key -> the error that failed it (the run failure event only names the steps)."""
    errors = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event else None
        while error is not None and error.cause is not None:  # the user's error, not wrappers
            error = error.cause
        if event is not None and error is not None:
            errors[event.step_key or "?"] = error.message.strip()
    return errors


def _run_details(run: dg.DagsterRun) -> dict[str, Any]:
    keep = ("dagster/partition", "dagster/asset_partition_range_start")
    keep += ("dagster/asset_partition_range_end", TRIGGER_TAG, "dagster/backfill")
    return {k: run.tags[k] for k in keep if k in run.tags}


def build_alert_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    warehouse = settings.warehouse

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=ALERT_SENSOR_INTERVAL_S,
        description="A failed run (and its failed ERROR checks) -> alert log + webhook.",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
        run = context.dagster_run
        log_path = alert_log_path(warehouse)
        message = context.failure_event.message or "run failed"
        errors = step_errors(context.instance, run.run_id)
        if errors:
            message += " " + "; ".join(f"{step}: {err}" for step, err in errors.items())
        alert = Alert(
            kind="run_failure",
            message=f"run {run.run_id} of {run.job_name} failed: {message}",
            run_id=run.run_id,
            job_name=run.job_name,
            details={**_run_details(run), "step_errors": errors},
        )
        for item in [alert, *failed_error_checks(context.instance, run.run_id)]:
            item.job_name = run.job_name
            result = send_alert(item, log_path)
            context.log.info(f"alert recorded in {result.log_path}: {item.message}")

    @dg.run_status_sensor(
        name=CHECK_FAILURE_SENSOR,
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=ALERT_SENSOR_INTERVAL_S,
        description="A successful run whose ERROR-severity checks failed -> alert log + webhook.",
    )
    def check_failure_alert(context: dg.RunStatusSensorContext) -> None:
        run = context.dagster_run
        log_path = alert_log_path(warehouse)
        for item in failed_error_checks(context.instance, run.run_id):
            item.job_name = run.job_name
            item.details.update(_run_details(run))
            send_alert(item, log_path)
            context.log.info(f"alert recorded in {log_path}: {item.message}")

    return [run_failure_alert, check_failure_alert]


# --------------------------------------------------------------------------------------------
# Everything, for build_definitions
# --------------------------------------------------------------------------------------------
def sensor_interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    return int(env.get(SENSOR_INTERVAL_ENV) or DEFAULT_SENSOR_INTERVAL_S)


def build_automation(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: Settings,
    sensor_interval_s: int | None = None,
) -> dict[str, list[Any]]:
    """``jobs``, ``sensors`` and ``schedules`` keyword arguments for ``dg.Definitions``."""
    job = build_deliveries_job()
    interval = sensor_interval_s if sensor_interval_s is not None else sensor_interval_from_env()
    automation_sensor = dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        run_tags=WAREHOUSE_TAGS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=AUTOMATION_INTERVAL_S,
        description="Declarative automation: dimensions, lifetime aggregates and late-event "
        "aggregates after their upstreams change (only when blocking checks passed).",
    )
    return {
        "jobs": [job],
        "sensors": [
            build_landing_sensor(job, partitions_def, settings, interval),
            automation_sensor,
            *build_alert_sensors(settings),
        ],
        "schedules": [build_daily_schedule(job, partitions_def, settings)],
    }
