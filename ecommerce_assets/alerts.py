"""Alert records: appended to a JSON-lines log and, when configured, POSTed to a webhook.

Alerts are written by sensors, which run in the daemon while runs may hold the DuckDB writer
lock; a log file never waits on that lock, so alerts are not kept in the warehouse.
``ECOMMERCE_ALERT_WEBHOOK`` and ``ECOMMERCE_ALERT_LOG`` are read when an alert is sent.
"""

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WEBHOOK_ENV = "ECOMMERCE_ALERT_WEBHOOK"
ALERT_LOG_ENV = "ECOMMERCE_ALERT_LOG"
ALERT_LOG_NAME = "alerts.jsonl"
WEBHOOK_TIMEOUT_S = 5.0


@dataclass
class Alert:
    """One alert: what happened (``kind``), where (run, job, asset, check) and a short message."""

    kind: str  # "run_failure" | "check_failure"
    message: str
    run_id: str | None = None
    job_name: str | None = None
    asset_key: str | None = None
    check_name: str | None = None
    partition: str | None = None
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


def alert_log_path(warehouse: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``ECOMMERCE_ALERT_LOG``, else ``alerts.jsonl`` beside the warehouse."""
    env = os.environ if environ is None else environ
    custom = env.get(ALERT_LOG_ENV)
    return Path(custom) if custom else warehouse.parent / ALERT_LOG_NAME


def post_json(url: str, payload: Mapping[str, Any], timeout_s: float = WEBHOOK_TIMEOUT_S) -> int:
    """POST ``payload`` as JSON; the HTTP status (raises on connection errors and 4xx/5xx)."""
    body = json.dumps(payload, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return int(response.status)


def send_alert(alert: Alert, log_path: Path, environ: Mapping[str, str] | None = None) -> Delivery:
    """Record ``alert`` in the log, then POST it to the webhook if one is configured.

    A webhook failure is reported in the returned ``Delivery`` (and the log), never raised: an
    unreachable alert endpoint must not make the alerting sensor itself fail forever.
    """
    env = os.environ if environ is None else environ
    payload = alert.to_json()
    delivery = Delivery(log_path=log_path)
    url = (env.get(WEBHOOK_ENV) or "").strip()
    if url:
        try:
            delivery.webhook_status = post_json(url, payload)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            delivery.webhook_error = f"{type(exc).__name__}: {exc}"
    record = {**payload, "webhook_status": delivery.webhook_status}
    if delivery.webhook_error:
        record["webhook_error"] = delivery.webhook_error
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    return delivery


def read_alerts(log_path: Path) -> list[dict[str, Any]]:
    """Every alert recorded in ``log_path`` (oldest first); empty when there is none."""
    if not log_path.is_file():
        return []
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
