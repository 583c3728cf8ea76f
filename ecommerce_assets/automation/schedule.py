"""The daily schedule: a safety net that requests yesterday's delivery if the sensor has not."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from ..deliveries import inspect_delivery, is_unchanged, latest_records
from ..resources import LandingZone
from .jobs import AssetJob
from .sensors import block_run_request, delivery_stamps, instance_or_none

DAILY_SCHEDULE = "daily_delivery_schedule"


def build_daily_schedule(
    job: AssetJob,
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> dg.ScheduleDefinition:
    """02:00 UTC: yesterday's delivery, or a skip with the reason (not complete, before the first
    day, already processed). The landing zone is the ``landing`` resource's, read at each tick."""
    first_day = partitions_def.start.date()

    @dg.schedule(
        name=DAILY_SCHEDULE,
        job=job,
        cron_schedule="0 2 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="02:00 UTC: process yesterday's delivery if the sensor has not; skips with "
        "a reason when the delivery is not complete or already processed.",
    )
    def daily_delivery_schedule(
        context: dg.ScheduleEvaluationContext, landing: LandingZone
    ) -> dg.RunRequest | dg.SkipReason:
        landing_dir = landing.root
        when = context.scheduled_execution_time or datetime.now(UTC)
        day = when.astimezone(UTC).date() - timedelta(days=1)
        if day < first_day:
            return dg.SkipReason(f"{day} is before the first day {first_day}")
        stamps = delivery_stamps(landing_dir)
        delivery = inspect_delivery(day, landing_dir / day.isoformat()) if day in stamps else None
        if delivery is None:
            folder = landing_dir / day.isoformat()
            state = "is being written (no _SUCCESS yet)" if folder.is_dir() else "has not arrived"
            newest = max(stamps).isoformat() if stamps else "none"
            return dg.SkipReason(
                f"the delivery of {day} {state} in {landing_dir}; newest complete delivery: "
                f"{newest}"
            )
        instance = instance_or_none(context)
        record = latest_records(instance, [day]).get(day) if instance is not None else None
        if is_unchanged(record, delivery):
            return dg.SkipReason(f"the delivery of {day} is already processed")
        return block_run_request(day, day, {day: delivery}, DAILY_SCHEDULE)

    return daily_delivery_schedule
