"""Automation: what launches runs and raises alerts without a person, wired for Definitions."""

# One module a concern:
# - ``jobs``: ``deliveries_job`` and the run tags (``WAREHOUSE_TAG`` on every run these launch;
#   ``dagster_home/dagster.yaml`` lets one such run at a time write the DuckDB warehouse).
# - ``sensors``: the landing-zone sensor, its cursor and run keys.
# - ``schedule``: the daily schedule (02:00 UTC, yesterday's delivery).
# - ``conditions``: declarative automation for what is not partitioned by delivery, its sensor.
# - ``deadlines``: arrival deadlines and the delivery calendar, the sensor that flags late days.
# - ``relink``: fact days a late dimension version re-links, their job and sensor.
# - ``alerts``: the alert records (log, webhook) and the sensors that send them.

from typing import Any

import dagster as dg

from .alerts import (
    ALERT_SENSOR_INTERVAL_S,
    ALERT_SENSORS,
    CHECK_FAILURE_SENSOR,
    RUN_FAILURE_SENSOR,
    Alert,
    check_failure_alert,
    failed_error_checks,
    run_failure_alert,
    step_errors,
)
from .conditions import (
    AUTOMATION_INTERVAL_S,
    AUTOMATION_SENSOR,
    after_upstream_condition,
    apply_automation,
    build_automation_sensor,
    late_data_condition,
    upstream_blocking_checks_passed,
    with_automation,
)
from .deadlines import ARRIVAL_CHECK, DEADLINE_SENSOR, build_deadline_sensor
from .jobs import DELIVERIES_JOB, TRIGGER_TAG, WAREHOUSE_TAG, WAREHOUSE_TAGS, build_deliveries_job
from .relink import (
    RELINK_JOB,
    RELINK_SENSOR,
    build_relink_job,
    build_relink_sensor,
    pending_relinks,
    relink_selection,
    relink_tags,
)
from .schedule import DAILY_SCHEDULE, build_daily_schedule
from .sensors import (
    DEFAULT_SENSOR_INTERVAL_S,
    LANDING_SENSOR,
    SENSOR_INTERVAL_ENV,
    block_run_request,
    build_landing_sensor,
    delivery_stamps,
    dump_cursor,
    landing_fingerprint,
    parse_cursor,
    reconcile,
    sensor_interval_from_env,
)

__all__ = [
    "ALERT_SENSORS",
    "ALERT_SENSOR_INTERVAL_S",
    "ARRIVAL_CHECK",
    "AUTOMATION_INTERVAL_S",
    "AUTOMATION_SENSOR",
    "CHECK_FAILURE_SENSOR",
    "DAILY_SCHEDULE",
    "DEADLINE_SENSOR",
    "DEFAULT_SENSOR_INTERVAL_S",
    "DELIVERIES_JOB",
    "LANDING_SENSOR",
    "RELINK_JOB",
    "RELINK_SENSOR",
    "RUN_FAILURE_SENSOR",
    "SENSOR_INTERVAL_ENV",
    "TRIGGER_TAG",
    "WAREHOUSE_TAG",
    "WAREHOUSE_TAGS",
    "Alert",
    "DeliveryCalendar",
    "after_upstream_condition",
    "apply_automation",
    "block_run_request",
    "build_automation",
    "build_automation_sensor",
    "build_daily_schedule",
    "build_deadline_sensor",
    "build_deliveries_job",
    "build_landing_sensor",
    "build_relink_job",
    "build_relink_sensor",
    "check_failure_alert",
    "delivery_stamps",
    "dump_cursor",
    "failed_error_checks",
    "landing_fingerprint",
    "late_data_condition",
    "late_days",
    "load_calendar",
    "parse_cursor",
    "pending_relinks",
    "reconcile",
    "relink_selection",
    "relink_tags",
    "run_failure_alert",
    "sensor_interval_from_env",
    "step_errors",
    "upstream_blocking_checks_passed",
    "with_automation",
]


def build_automation(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    sensor_interval_s: int | None = None,
) -> dict[str, list[Any]]:
    """``jobs``, ``sensors`` and ``schedules`` keyword arguments for ``dg.Definitions``."""
    job = build_deliveries_job()
    relink = build_relink_job()
    interval = sensor_interval_s if sensor_interval_s is not None else sensor_interval_from_env()
    return {
        "jobs": [job, relink],
        "sensors": [
            build_landing_sensor(job, partitions_def, interval),
            build_automation_sensor(),
            build_deadline_sensor(partitions_def),
            build_relink_sensor(relink),
            *ALERT_SENSORS,
        ],
        "schedules": [build_daily_schedule(job, partitions_def)],
    }
