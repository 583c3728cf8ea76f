"""The daily schedule: a safety net that requests yesterday's delivery if the sensor has not."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from ..partitions import PARTITIONS_END_ENV
from ..settings import Settings
from .jobs import AssetJob
from .sensors import (
    block_run_request,
    delivery_stamps,
    instance_or_none,
    partition_window,
    processed_since,
)

DAILY_SCHEDULE = "daily_delivery_schedule"


def build_daily_schedule(
    job: AssetJob,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    settings: Settings,
) -> dg.ScheduleDefinition:
    """02:00 UTC: yesterday's delivery, or a skip with the reason (not complete, outside the
    partitions, already processed)."""
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
        instance = instance_or_none(context)
        if instance is not None and day in processed_since(instance, {day: stamps[day]}):
            return dg.SkipReason(f"the delivery of {day} is already processed")
        return block_run_request(day, day, stamps, DAILY_SCHEDULE)

    return daily_delivery_schedule
