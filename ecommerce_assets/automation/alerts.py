"""Alerts: failed runs and failed ERROR checks reach people via a JSON-lines log and a webhook."""

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from ..lake import data_path as lake_data_path
from ..resources import Warehouse
from ..warehouse import WarehouseLocation
from .jobs import TRIGGER_TAG

# Alerts are written by sensors, which run in the daemon while runs may hold the DuckDB writer
# lock; a log file never waits on that lock, so alerts are not kept in the warehouse.
# ``ECOMMERCE_ALERT_WEBHOOK`` and ``ECOMMERCE_ALERT_LOG`` are read when an alert is sent.
WEBHOOK_ENV = "ECOMMERCE_ALERT_WEBHOOK"
ALERT_LOG_ENV = "ECOMMERCE_ALERT_LOG"
ALERT_LOG_NAME = "alerts.jsonl"
WEBHOOK_TIMEOUT_S = 5.0
# The webhook time one sensor tick may spend on all its alerts (Dagster stops a tick after 60 s):
# past it, alerts are still logged, marked as not sent, instead of stalling the tick.
WEBHOOK_BUDGET_S = 20.0
RUN_FAILURE_SENSOR = "run_failure_alert"
CHECK_FAILURE_SENSOR = "check_failure_alert"
ALERT_SENSOR_INTERVAL_S = 10


@dataclass
class Alert:
    """One alert: what happened (``kind``), where (run, job, asset, check) and a short message."""

    kind: str  # "run_failure" | "check_failure" | "late_delivery"
    message: str
    run_id: str | None = None
    job_name: str | None = None
    asset_key: str | None = None
    check_name: str | None = None
    partition: str | None = None  # the day, when the alert is about exactly one
    partitions: list[str] = field(default_factory=list)  # every day it is about
    severity: str = "ERROR"
    details: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        return {"source": "ecommerce_assets", **asdict(self)}


@dataclass
class Delivery:
    """What happened to one alert: where it was logged, and the webhook's answer if any."""

    log_path: Path
    webhook_status: int | None = None
    webhook_error: str | None = None


def alert_log_path(
    warehouse: WarehouseLocation | Path, environ: Mapping[str, str] | None = None
) -> Path:
    """``ECOMMERCE_ALERT_LOG``, else ``alerts.jsonl`` beside the warehouse (a lake: beside its
    local data folder, or in ``data/`` when its data is in object storage)."""
    env = os.environ if environ is None else environ
    custom = env.get(ALERT_LOG_ENV)
    if custom:
        return Path(custom)
    file = WarehouseLocation.of(warehouse).file
    if file is None:  # a lake
        data = lake_data_path(env)
        return (Path("data") if "://" in data else Path(data).parent) / ALERT_LOG_NAME
    return file.parent / ALERT_LOG_NAME


def post_json(url: str, payload: Mapping[str, Any], timeout_s: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST ``payload`` as JSON; the HTTP status (raises on connection errors and 4xx/5xx)."""
    body = json.dumps(payload, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return int(response.status)


def send_alert(
    alert: Alert,
    log_path: Path,
    environ: Mapping[str, str] | None = None,
    deadline: float | None = None,
) -> Delivery:
    """Record ``alert`` in the log, then POST it to the webhook if one is configured, giving up
    at ``deadline`` (``time.monotonic()``; see ``send_alerts``).

    A webhook failure is reported in the returned ``Delivery`` (and the log), never raised: an
    unreachable alert endpoint must not make the alerting sensor itself fail forever.
    """
    env = os.environ if environ is None else environ
    payload = alert.to_json()
    delivery = Delivery(log_path=log_path)
    url = (env.get(WEBHOOK_ENV) or "").strip()
    left = WEBHOOK_TIMEOUT_S if deadline is None else deadline - time.monotonic()
    if url and left <= 0:
        delivery.webhook_error = "not sent: the tick's webhook time was spent on earlier alerts"
    elif url:
        try:
            delivery.webhook_status = post_json(url, payload, min(WEBHOOK_TIMEOUT_S, left))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            delivery.webhook_error = f"{type(exc).__name__}: {exc}"
    record = {**payload, "webhook_status": delivery.webhook_status}
    if delivery.webhook_error:
        record["webhook_error"] = delivery.webhook_error
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    return delivery


def send_alerts(
    alerts: list[Alert],
    log_path: Path,
    budget_s: float = WEBHOOK_BUDGET_S,
    environ: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Send ``alerts`` one after another, the webhook's total time bounded by ``budget_s``:
    every alert is logged; those left when the time is spent are logged as not sent.

    Not Apprise or dagster-slack: the endpoint is one generic JSON webhook (Slack, Teams and most
    incident tools accept one through an incoming-webhook or workflow URL), and the standard
    library's client is enough for one POST with a timeout; neither library bounds a batch's total
    time, which is what a sensor tick needs.
    """
    deadline = time.monotonic() + budget_s
    return [send_alert(alert, log_path, environ, deadline) for alert in alerts]


def read_alerts(log_path: Path) -> list[dict[str, Any]]:
    """Every alert recorded in ``log_path`` (oldest first); empty when there is none."""
    if not log_path.is_file():
        return []
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def failed_error_checks(instance: dg.DagsterInstance, run_id: str) -> list[Alert]:
    """An alert per check of ``run_id`` that failed with severity ERROR, its failed days listed
    (a range run evaluates a check once per day: one alert, not one per day)."""
    failed: dict[tuple[str, str], list[Any]] = {}
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    for entry in events:
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if evaluation is None or evaluation.passed:
            continue
        if evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
        failed.setdefault(key, []).append(evaluation)
    alerts = []
    for (asset, check), evaluations in failed.items():
        first = evaluations[0]
        days = sorted({p for e in evaluations if (p := getattr(e, "partition", None))})
        shown = ", ".join(days[:10]) + (f" and {len(days) - 10} more" if len(days) > 10 else "")
        alerts.append(
            Alert(
                kind="check_failure",
                message=f"check {check} on {asset} failed"
                + (f" on {len(days)} day(s): {shown}" if days else "")
                + (f": {first.description}" if first.description else ""),
                run_id=run_id,
                job_name=None,
                asset_key=asset,
                check_name=check,
                partition=days[0] if len(days) == 1 else None,
                partitions=days,
                details={k: getattr(v, "value", str(v)) for k, v in (first.metadata or {}).items()},
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


@dg.run_failure_sensor(
    name=RUN_FAILURE_SENSOR,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_SENSOR_INTERVAL_S,
    description="A failed run (and its failed ERROR checks) -> alert log + webhook.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: Warehouse) -> None:
    """Each alert to the log beside the warehouse (``alert_log_path``) and the webhook."""
    run = context.dagster_run
    log_path = alert_log_path(warehouse.location)
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
    alerts = [alert, *failed_error_checks(context.instance, run.run_id)]
    for item in alerts:
        item.job_name = run.job_name
    for item, result in zip(alerts, send_alerts(alerts, log_path), strict=True):
        context.log.info(f"alert recorded in {result.log_path}: {item.message}")


@dg.run_status_sensor(
    name=CHECK_FAILURE_SENSOR,
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=ALERT_SENSOR_INTERVAL_S,
    description="A successful run whose ERROR-severity checks failed -> alert log + webhook.",
)
def check_failure_alert(context: dg.RunStatusSensorContext, warehouse: Warehouse) -> None:
    """Each alert to the log beside the warehouse (``alert_log_path``) and the webhook."""
    run = context.dagster_run
    log_path = alert_log_path(warehouse.location)
    alerts = failed_error_checks(context.instance, run.run_id)
    for item in alerts:
        item.job_name = run.job_name
        item.details.update(_run_details(run))
    send_alerts(alerts, log_path)
    for item in alerts:
        context.log.info(f"alert recorded in {log_path}: {item.message}")


# The two alert sensors, for ``Definitions`` (they read the ``warehouse`` resource when they run).
ALERT_SENSORS = [run_failure_alert, check_failure_alert]
