"""Alerts: the log record, the webhook POST (against a local HTTP server), the alert sensors."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from ecommerce_assets.automation.alerts import (
    ALERT_SENSORS,
    Alert,
    alert_log_path,
    failed_error_checks,
    read_alerts,
    send_alert,
    send_alerts,
)
from ecommerce_assets.resources import WAREHOUSE, Warehouse


class Hook:
    """A webhook endpoint on 127.0.0.1 that records every JSON body it receives."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                hook.received.append(json.loads(self.rfile.read(length)))
                hook.headers.append(dict(self.headers))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Hook":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    with Hook() as h:
        yield h


def test_alert_is_logged_and_posted_as_json(tmp_path: Path, hook: Hook) -> None:
    log = tmp_path / "alerts.jsonl"
    alert = Alert(kind="check_failure", message="boom", asset_key="stg_orders", check_name="c1")
    result = send_alert(alert, log, {"ECOMMERCE_ALERT_WEBHOOK": hook.url})
    assert result.webhook_status == 200 and result.webhook_error is None
    assert len(hook.received) == 1
    body = hook.received[0]
    assert body["source"] == "ecommerce_assets"
    assert body["kind"] == "check_failure" and body["message"] == "boom"
    assert body["asset_key"] == "stg_orders" and body["check_name"] == "c1"
    assert body["severity"] == "ERROR" and body["created_at"]
    assert hook.headers[0]["Content-Type"] == "application/json"
    [record] = read_alerts(log)
    assert record["message"] == "boom" and record["webhook_status"] == 200


def test_without_webhook_the_alert_is_only_logged(tmp_path: Path, hook: Hook) -> None:
    log = tmp_path / "alerts.jsonl"
    send_alert(Alert(kind="run_failure", message="x"), log, {})
    assert hook.received == []
    assert read_alerts(log)[0]["webhook_status"] is None


def test_unreachable_webhook_is_recorded_not_raised(tmp_path: Path) -> None:
    with Hook() as dead:
        url = dead.url
    log = tmp_path / "alerts.jsonl"
    result = send_alert(
        Alert(kind="run_failure", message="x"), log, {"ECOMMERCE_ALERT_WEBHOOK": url}
    )
    assert result.webhook_status is None and result.webhook_error
    assert read_alerts(log)[0]["webhook_error"]


def test_alert_log_defaults_beside_the_warehouse(tmp_path: Path) -> None:
    wh = tmp_path / "data" / "warehouse.duckdb"
    assert alert_log_path(wh, {}) == tmp_path / "data" / "alerts.jsonl"
    assert alert_log_path(wh, {"ECOMMERCE_ALERT_LOG": "/x/a.jsonl"}) == Path("/x/a.jsonl")


@dg.asset
def flaky_table() -> int:
    return 1


@dg.asset_check(asset=flaky_table, blocking=False)
def flaky_table_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata={"rows": 0}
    )


@dg.asset_check(asset=flaky_table)
def flaky_table_warns() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


@dg.op
def explode() -> None:
    raise RuntimeError("warehouse on fire")


@dg.job
def failing_job() -> None:
    explode()


def test_alert_sensors_report_failed_runs_and_failed_error_checks(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECOMMERCE_ALERT_WEBHOOK", hook.url)
    monkeypatch.delenv("ECOMMERCE_ALERT_LOG", raising=False)
    resources = {WAREHOUSE: Warehouse(database=str(tmp_path / "wh.duckdb"))}
    run_failure, check_failure = ALERT_SENSORS
    log = tmp_path / "alerts.jsonl"
    with dg.instance_for_test() as instance:
        failed = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not failed.success
        failure_event = next(
            e for e in failed.all_events if e.event_type_value == "PIPELINE_FAILURE"
        )
        with dg.build_run_status_sensor_context(
            sensor_name=run_failure.name,
            dagster_event=failure_event,
            dagster_instance=instance,
            dagster_run=failed.dagster_run,
            resources=resources,
        ).for_run_failure() as context:
            run_failure(context)

        ok = dg.materialize(
            [flaky_table],
            instance=instance,
            selection=None,
        )
        checked = (
            dg.Definitions(
                assets=[flaky_table], asset_checks=[flaky_table_has_rows, flaky_table_warns]
            )
            .resolve_implicit_global_asset_job_def()
            .execute_in_process(instance=instance)
        )
        assert ok.success and checked.success
        success_event = next(
            e for e in checked.all_events if e.event_type_value == "PIPELINE_SUCCESS"
        )
        with dg.build_run_status_sensor_context(
            sensor_name=check_failure.name,
            dagster_event=success_event,
            dagster_instance=instance,
            dagster_run=checked.dagster_run,
            resources=resources,
        ) as context:
            check_failure(context)

    kinds = [(a["kind"], a.get("check_name")) for a in read_alerts(log)]
    assert kinds == [("run_failure", None), ("check_failure", "flaky_table_has_rows")]
    assert [b["kind"] for b in hook.received] == ["run_failure", "check_failure"]
    assert "warehouse on fire" in hook.received[0]["message"]
    assert hook.received[0]["job_name"] == "failing_job"
    assert hook.received[1]["asset_key"] == "flaky_table"
    assert hook.received[1]["details"]["rows"] == 0


def test_a_silent_webhook_costs_a_tick_its_budget_not_a_timeout_per_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that accepts connections and never answers, twelve alerts, a 1 s budget: one
    POST is tried (and times out within the budget), the other eleven are logged as not sent."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(32)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)  # read nothing, answer nothing

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setenv("ECOMMERCE_ALERT_WEBHOOK", f"http://127.0.0.1:{server.getsockname()[1]}/")
    alerts = [Alert(kind="check_failure", message=f"check {i}") for i in range(12)]
    log = tmp_path / "alerts.jsonl"
    try:
        deliveries = send_alerts(alerts, log, budget_s=1.0)
    finally:
        server.close()
        for connection in held:
            connection.close()
    assert len(held) == 1
    assert "timed out" in (deliveries[0].webhook_error or "")
    assert all(d.webhook_error.startswith("not sent:") for d in deliveries[1:])
    assert [a["message"] for a in read_alerts(log)] == [f"check {i}" for i in range(12)]


def test_a_check_failed_on_many_days_of_a_run_is_one_alert_listing_them() -> None:
    def evaluation(check: str, day: str, passed: bool = False) -> SimpleNamespace:
        data = SimpleNamespace(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            asset_key=dg.AssetKey("raw_deliveries"),
            check_name=check,
            partition=day,
            description="refused",
            metadata={"rows": dg.MetadataValue.int(0)},
        )
        return SimpleNamespace(dagster_event=SimpleNamespace(event_specific_data=data))

    days = [f"2024-01-{d:02d}" for d in range(1, 13)]
    entries = [evaluation("delivery_accepted", d) for d in reversed(days)]
    entries += [evaluation("arrived_by_deadline", "2024-01-05")]
    entries += [evaluation("delivery_accepted", "2024-01-20", passed=True)]
    instance = SimpleNamespace(all_logs=lambda run_id, of_type: entries)
    alerts = failed_error_checks(instance, "run-1")  # type: ignore[arg-type]
    assert [(a.check_name, a.partition, a.partitions) for a in alerts] == [
        ("delivery_accepted", None, days),
        ("arrived_by_deadline", "2024-01-05", ["2024-01-05"]),
    ]
    assert alerts[0].message == (
        "check delivery_accepted on raw_deliveries failed on 12 day(s): "
        + ", ".join(days[:10])
        + " and 2 more: refused"
    )
