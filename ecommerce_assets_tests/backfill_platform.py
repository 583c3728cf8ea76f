"""The platform the UI backfill test (``test_browser_backfill.py``) drives, without the browser:
the project on its own queued instance with two planted defects, webserver and daemon as one
``Platform``, its sensors and daemons over GraphQL, and a backfill's state.

Kept apart from the browser pages (``ui_pages.py``) so ``test_lake_backfill.py`` can reuse the
GraphQL and sensor helpers without importing Selenium or a browser test module.
"""

from __future__ import annotations

import csv
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ecommerce_assets.automation import AUTOMATION_SENSOR, LANDING_SENSOR, RELINK_SENSOR

from .webserver import HEALTH_TIMEOUT_S, ROOT, START, Project, Webserver

DAYS = 4
WARN_DAY = (START + timedelta(days=1)).isoformat()  # raw_orders:unexpected_columns warns
FAIL_DAY = (START + timedelta(days=2)).isoformat()  # stg_users:dates_in_range fails (blocking)
FIRST, LAST = WARN_DAY, FAIL_DAY  # the range picked in the launch dialog: days 2-3 of 4
OUTSIDE = [START.isoformat(), (START + timedelta(days=DAYS - 1)).isoformat()]
# Without any state change for this long the backfill is stuck: the backfill daemon's iteration
# (30 s) plus one queued run's start (a new process loading the code) and finish, which take tens
# of seconds on a loaded 2-core machine, with room to spare.
STALL_S = 300.0
POLL_S = 2.0
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
UNFINISHED_RUN = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "MANAGED", "CANCELING"}


class QueuedProject(Project):
    """A ``Project`` on the project's own instance (run queue, daemon) and bin/_setup's env,
    its code location with a staging bug."""

    workspace = "ecommerce_assets_tests/faulty_workspace.yaml"

    @property
    def env(self) -> dict[str, str]:
        env = {
            **super().env,
            "DAGSTER_EVENT_BATCH_SIZE": "100",
        }
        for name in (
            "ECOMMERCE_ALERT_WEBHOOK",
            "ECOMMERCE_QUALITY_GATES",
            "ECOMMERCE_PARTITIONS_END",
        ):
            env.pop(name, None)
        return env


@dataclass
class Platform:
    project: QueuedProject
    server: Webserver
    daemon: subprocess.Popen
    daemon_log: Path

    def alive(self) -> None:
        """Fail at once, with the logs, when the daemon or the webserver has exited."""
        for name, proc in (("dagster-daemon", self.daemon), ("webserver", self.server.process)):
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}):\n{self.logs()}")

    def logs(self) -> str:
        daemon = self.daemon_log.read_text(errors="replace") if self.daemon_log.exists() else ""
        return (
            f"daemon log tail:\n{daemon[-4000:]}\nwebserver log tail:\n{self.server.logs()[-2000:]}"
        )


FUTURE_TS = f"{(START + timedelta(days=3)).isoformat()} 09:00:00"  # the day after FAIL_DAY


def plant_defects(landing: Path) -> None:
    """Day 2's orders gain an unknown column; day 3's users a user updated the next day."""
    orders = landing / WARN_DAY / "orders.csv"
    rows = list(csv.reader(orders.read_text(encoding="utf-8-sig").splitlines()))
    rows = [[*row, "coupon_code" if i == 0 else "SAVE10"] for i, row in enumerate(rows)]
    with orders.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    users = landing / FAIL_DAY / "users.csv"
    text = users.read_text(encoding="utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    future = f"999,Future Record,future.record@example.com,SE,Stockholm,2023-11-05,{FUTURE_TS}"
    users.write_text(text.rstrip("\r\n") + newline + future + newline, encoding="utf-8")


def write_project_instance(home: Path, storage: Path) -> None:
    """The project's dagster.yaml, its ``data/dagster`` storage moved under ``storage``."""
    text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    assert "data/dagster" in text and "run_queue" in text, text
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text.replace("data/dagster", str(storage / "data/dagster")))


SENSORS = """
query {
  sensorsOrError(repositorySelector: {repositoryLocationName: "ecommerce_assets",
                                      repositoryName: "__repository__"}) {
    ... on Sensors { results { name sensorState { id status } } }
  }
}
"""
STOP_SENSOR = """
mutation ($id: String) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}
"""
INSTANCE = """
query {
  instance {
    runQueueConfig { maxConcurrentRuns }
    daemonHealth { allDaemonStatuses { daemonType healthy } }
  }
}
"""


def stop_run_launching_sensors(server: Webserver) -> None:
    results = server.graphql(SENSORS)["sensorsOrError"]["results"]
    states = {s["name"]: s["sensorState"] for s in results}
    for name in (LANDING_SENSOR, AUTOMATION_SENSOR, RELINK_SENSOR):
        result = server.graphql(STOP_SENSOR, {"id": states[name]["id"]})["stopSensor"]
        assert result.get("instigationState", {}).get("status") == "STOPPED", result


def wait_for_daemon(platform: Platform) -> None:
    """Until the daemons that start backfills and queued runs report a heartbeat."""
    needed = {"BACKFILL", "QUEUED_RUN_COORDINATOR", "SENSOR"}
    deadline = time.monotonic() + HEALTH_TIMEOUT_S  # a process start-up, like the webserver's
    while time.monotonic() < deadline:
        platform.alive()
        statuses = platform.server.graphql(INSTANCE)["instance"]["daemonHealth"]
        healthy = {d["daemonType"] for d in statuses["allDaemonStatuses"] if d["healthy"]}
        if needed <= healthy:
            return
        time.sleep(1.0)
    pytest.fail(f"daemons {needed} not healthy after {HEALTH_TIMEOUT_S:.0f} s\n{platform.logs()}")


BACKFILLS = """
query { partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }
"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs { runId status startTime endTime tags { key value } assetSelection { path } }
    }
    ... on PythonError { message }
  }
}
"""


@dataclass
class Backfill:
    id: str
    status: str
    runs: list[dict[str, Any]]
    queued_seen: int  # page loads of the backfill's Runs tab that listed a run as "Queued"

    def tags(self, run: dict[str, Any]) -> dict[str, str]:
        return {t["key"]: t["value"] for t in run["tags"]}

    def run_of(self, asset: str) -> dict[str, Any]:
        (run,) = [r for r in self.runs if [asset] in [k["path"] for k in r["assetSelection"]]]
        return run


def backfill_state(server: Webserver, backfill_id: str) -> dict[str, Any]:
    result = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    assert result["__typename"] == "PartitionBackfill", result
    return result


PARTITIONS = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}
"""


def materialized_ranges(server: Webserver, asset: str) -> list[tuple[str, str]]:
    node = server.graphql(PARTITIONS, {"key": {"path": [asset]}})["assetNodeOrError"]
    ranges = node["assetPartitionStatuses"]["ranges"]
    return [(r["startKey"], r["endKey"]) for r in ranges if r["status"] == "MATERIALIZED"]


def checks_of(platform: Platform, asset: str) -> list[str]:
    graph = platform.project.definitions().resolve_asset_graph()
    return sorted(c.name for c in graph.asset_check_keys if c.asset_key == dg.AssetKey(asset))
