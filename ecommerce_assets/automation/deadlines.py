"""Arrival deadlines: a day whose delivery has not arrived by its deadline is flagged, per day.

Day D's delivery is due by ``ECOMMERCE_DELIVERY_DEADLINE`` (``arrival.py``). The
``delivery_deadline_sensor`` looks at the landing zone and the instance (no warehouse, no run):
a day of the last week past its deadline without a delivery (complete now, or loaded before) gets
a failed ``raw_deliveries:arrived_by_deadline`` evaluation on its partition (shown on the day's
page and the check's dashboard) and one alert per tick naming the newly late days. When the
delivery lands, its run evaluates the check again, passing: the flag clears. Days the source
never delivers on (``ECOMMERCE_NO_DELIVERY_DAYS``) raise nothing.

The failed evaluation is reported without a run, once per day: Dagster 1.13 stores a runless
evaluation under run id "" and its unique index on (asset, check, run id, partition) refuses a
second one for the same partition (an IntegrityError), so the sensor never reports a day that
already has an evaluation, and the clearing is the loading run's own evaluation.

Why not Dagster's freshness: ``FreshnessPolicy`` and ``build_time_partition_freshness_checks``
judge an asset (or its newest partition) by when it was materialized; they cannot say that one day
among several is late while a later one arrived, know nothing of a delivery calendar (a holiday
would go red), and measure the platform's processing rather than the source's arrival.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from ..arrival import DEADLINE_ENV, DeliveryCalendar, late_days, load_calendar
from ..deliveries import DELIVERIES_ASSET, latest_records, verdict_of
from ..landing import complete_deliveries
from ..partitions import format_days
from ..resources import LandingZone, Warehouse
from .alerts import Alert, alert_log_path, send_alert

DEADLINE_SENSOR = "delivery_deadline_sensor"
ARRIVAL_CHECK = "arrived_by_deadline"
DEADLINE_SENSOR_INTERVAL_S = 60


def arrival_evaluation(
    day: date, passed: bool, metadata: dict[str, Any]
) -> dg.AssetCheckEvaluation:
    """The day's ``arrived_by_deadline`` result, as the sensor reports it without a run."""
    return dg.AssetCheckEvaluation(
        asset_key=DELIVERIES_ASSET,
        check_name=ARRIVAL_CHECK,
        passed=passed,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if passed else "The delivery has not arrived by its deadline.",
        partition=day.isoformat(),
    )


def _evaluated(instance: dg.DagsterInstance, day: date) -> bool:
    """The day's arrival check has a result already (a run's, or an earlier runless one)."""
    key = dg.AssetCheckKey(DELIVERIES_ASSET, ARRIVAL_CHECK)
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [key], partition_keys=[day.isoformat()]
    )
    return bool(infos)


def build_deadline_sensor(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    calendar: DeliveryCalendar | None = None,
    now: Any = None,
) -> dg.SensorDefinition:
    """Flags days past their deadline without a delivery (and clears them when it lands).

    The cursor holds only the days flagged now (at most the lookback window). ``now`` (a callable
    returning an aware datetime) is for tests. The landing zone and the warehouse (beside which
    alerts are logged) are the resources', read at each tick.
    """
    first = partitions_def.start.date()
    calendar = calendar or load_calendar()

    @dg.sensor(
        name=DEADLINE_SENSOR,
        minimum_interval_seconds=DEADLINE_SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Flags a day whose delivery has not arrived by its deadline (a failed "
        "raw_deliveries:arrived_by_deadline on that day, and an alert); cleared when it lands.",
    )
    def delivery_deadline_sensor(
        context: dg.SensorEvaluationContext, landing: LandingZone, warehouse: Warehouse
    ) -> dg.SkipReason:
        landing_dir = landing.root
        moment: datetime = now() if now is not None else datetime.now(UTC)
        if calendar.deadline is None:
            return dg.SkipReason(f"no delivery deadline ({DEADLINE_ENV}=off)")
        flagged = {date.fromisoformat(d) for d in json.loads(context.cursor or "[]")}
        late = late_days(landing_dir, calendar, first, moment)
        # A day being re-delivered (its _SUCCESS removed) arrived long ago: it is not late.
        loaded = latest_records(context.instance, late)
        late = {d: due for d, due in late.items() if verdict_of(loaded.get(d)) is None}
        complete = complete_deliveries(landing_dir)
        arrived = sorted(d for d in flagged if d not in late and d in complete)
        new = sorted(d for d in late if d not in flagged)
        for day in new:
            if _evaluated(context.instance, day):
                continue  # flagged before (a lost cursor): Dagster takes one runless result
            context.instance.report_runless_asset_event(
                arrival_evaluation(
                    day,
                    False,
                    {"deadline": late[day].isoformat(), "checked_at": moment.isoformat()},
                )
            )
        if new:
            shown = ", ".join(f"{d} (due {late[d]:%Y-%m-%d %H:%M} UTC)" for d in new[:5])
            alert = Alert(
                kind="late_delivery",
                message=f"{len(new)} deliver{'y' if len(new) == 1 else 'ies'} not arrived by "
                f"the deadline in {landing_dir}: {shown}",
                asset_key=DELIVERIES_ASSET.to_user_string(),
                check_name=ARRIVAL_CHECK,
                partition=new[0].isoformat() if len(new) == 1 else None,
                partitions=[d.isoformat() for d in new],
                severity="WARN",
                details={"days": [d.isoformat() for d in new]},
            )
            send_alert(alert, alert_log_path(warehouse.location))
            context.log.warning(alert.message)
        # Only the days late now: one that left the lookback window keeps its failed evaluation
        # (the truth) until a run loads it.
        still = sorted(late)
        context.update_cursor(json.dumps([d.isoformat() for d in still]))
        cleared = f"; arrived (its run clears the flag): {format_days(arrived)}" if arrived else ""
        if not still:
            return dg.SkipReason(f"every expected delivery arrived by its deadline{cleared}")
        return dg.SkipReason(
            f"{len(still)} late deliver{'y' if len(still) == 1 else 'ies'}: {format_days(still)}"
            + (f"; newly late, alerted: {format_days(new)}" if new else "")
            + cleared
        )

    return delivery_deadline_sensor
