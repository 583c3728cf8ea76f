"""End to end with the real daemon: deliveries dropped into the landing zone are picked up by the
landing-zone sensor, queued, run and written to the warehouse.

A temporary DAGSTER_HOME uses the project's ``dagster_home/dagster.yaml`` (its run queue limits)
with storage moved into the test folder; ``dagster-daemon run`` is started on this machine only and
its process group is always terminated.
"""

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from ecommerce_assets.automation import LANDING_SENSOR, TRIGGER_TAG
from ecommerce_assets.generate import generate_landing_zone, release_day

ROOT = Path(__file__).resolve().parents[1]
DAEMON = Path(sys.executable).with_name("dagster-daemon")
START = date(2024, 1, 1)
WAIT_S = 300.0  # runs take ~30-50 s each under the daemon on 2 cores
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

pytestmark = pytest.mark.skipif(not DAEMON.exists(), reason="dagster-daemon not installed")


@dataclass
class Platform:
    """A generated source of deliveries, an empty landing zone and a running daemon."""

    root: Path
    source: Path
    landing: Path
    warehouse: Path
    home: Path
    log: Path

    def deliver(self, *days: date) -> None:
        for day in days:
            release_day(self.source / day.isoformat(), self.landing / day.isoformat())

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def runs(self) -> list[dg.DagsterRun]:
        with self.instance() as instance:
            return list(instance.get_runs())

    def wait_until(self, what: str, done: Callable[[list[dg.DagsterRun]], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            runs = self.runs()
            if done(runs):
                return
            time.sleep(1.0)
        tail = self.log.read_text(errors="replace")[-4000:]
        summary = [(r.job_name, r.status.value, dict(r.tags)) for r in self.runs()]
        pytest.fail(f"timed out waiting for {what}; runs: {summary}\ndaemon log tail:\n{tail}")

    def wait_idle(self, min_runs: int) -> list[dg.DagsterRun]:
        """Wait for at least ``min_runs`` runs, all finished, and quiet for a few seconds (the
        automation sensor may follow a sensor run with its own)."""
        quiet_since: list[float] = []

        def idle(runs: list[dg.DagsterRun]) -> bool:
            if len(runs) >= min_runs and all(r.status in FINISHED for r in runs):
                quiet_since.append(time.monotonic())
                return quiet_since[-1] - quiet_since[0] >= 8.0
            quiet_since.clear()
            return False

        self.wait_until(f"{min_runs}+ finished runs and a quiet queue", idle)
        return self.runs()

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    def staged(self, day: date, table: str = "orders") -> int:
        return json.loads((self.source / day.isoformat() / "_manifest.json").read_text())["tables"][
            table
        ]["staged"]


def write_home(home: Path) -> None:
    """The project's dagster.yaml with its storage paths moved under ``home``."""
    config = yaml.safe_load((ROOT / "dagster_home" / "dagster.yaml").read_text())
    storage = home / "storage"
    config["run_storage"]["config"]["base_dir"] = str(storage / "history")
    config["event_log_storage"]["config"]["base_dir"] = str(storage / "history" / "runs")
    config["schedule_storage"]["config"]["base_dir"] = str(storage / "schedules")
    config["local_artifact_storage"]["config"]["base_dir"] = str(home)
    config["compute_logs"]["config"]["base_dir"] = str(home / "logs")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@contextmanager
def running_platform(root: Path, *, days: int, last_partition: date) -> Iterator[Platform]:
    """Generate ``days`` deliveries (not yet delivered), start the daemon, stop it at the end."""
    source, landing = root / "source", root / "landing"
    generate_landing_zone(source, seed=11, scale=0.05, start=START, days=days, clean=True)
    landing.mkdir()
    home = root / "home"
    write_home(home)
    workspace = root / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "ecommerce_assets.definitions",
                            "location_name": "ecommerce_assets",
                            "working_directory": str(ROOT),
                        }
                    }
                ]
            }
        )
    )
    platform = Platform(root, source, landing, root / "warehouse.duckdb", home, root / "daemon.log")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOMMERCE_LANDING_DIR": str(landing),
        "ECOMMERCE_WAREHOUSE": str(platform.warehouse),
        "ECOMMERCE_PARTITIONS_END": last_partition.isoformat(),
        "ECOMMERCE_SENSOR_INTERVAL": "2",
        "PATH": f"{DAEMON.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("ECOMMERCE_ALERT_WEBHOOK", None)
    with platform.instance() as instance:  # create the storage first: no migration race
        instance.get_runs(limit=1)
    with platform.log.open("wb") as log:
        proc = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(workspace)],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: code server and runs stop with it
        )
    try:
        yield platform
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """Terminate the process group we started (daemon, code server, run workers)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # children left after the daemon exited
        os.killpg(proc.pid, signal.SIGKILL)


def sensor_runs(runs: list[dg.DagsterRun]) -> list[dg.DagsterRun]:
    return [r for r in runs if r.tags.get(TRIGGER_TAG) == LANDING_SENSOR]


def covered_days(run: dg.DagsterRun) -> list[date]:
    tags = run.tags
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def run_spans(p: Platform, runs: list[dg.DagsterRun]) -> list[tuple[float, float]]:
    with p.instance() as instance:
        records = instance.get_run_records(dg.RunsFilter(run_ids=[r.run_id for r in runs]))
    return sorted((r.start_time or 0.0, r.end_time or 0.0) for r in records)


def test_sensor_runs_new_deliveries_through_the_daemon(tmp_path: Path) -> None:
    t0 = time.monotonic()
    days = [START + timedelta(days=i) for i in range(3)]
    with running_platform(tmp_path, days=3, last_partition=days[-1]) as p:
        # Days 1 and 3 at once: two runs requested in one tick, queued together.
        p.deliver(days[0], days[2])
        p.wait_until(
            "the sensor's runs of the first deliveries to succeed",
            lambda runs: (
                sum(r.status == dg.DagsterRunStatus.SUCCESS for r in sensor_runs(runs)) >= 2
            ),
        )
        t1 = time.monotonic()
        p.deliver(days[1])
        runs = p.wait_idle(min_runs=3)
        print(f"first runs after {t1 - t0:.0f}s, idle after {time.monotonic() - t0:.0f}s")
        for r in runs:
            print(r.job_name, r.status.value, {k: v for k, v in r.tags.items() if "/" in k})
        spans = run_spans(p, runs)
        print([(round(a - spans[0][0], 1), round(b - spans[0][0], 1)) for a, b in spans])

    failed = [(r.run_id, r.job_name, r.status.value) for r in runs if r.status in FINISHED]
    failed = [f for f in failed if f[2] != "SUCCESS"]
    assert not failed, failed
    by_sensor = sensor_runs(runs)
    requested = sorted(d for r in by_sensor for d in covered_days(r))
    assert requested == days  # each delivery requested exactly once
    assert all(r.tags.get("ecommerce/warehouse") for r in runs)
    # The run queue ran them one at a time: no two runs overlapped (one DuckDB writer).
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans
    counts = dict(
        p.query("SELECT delivery_date, count(*) FROM staging.stg_orders GROUP BY 1 ORDER BY 1")
    )
    assert counts == {day: p.staged(day) for day in days}
    facts = p.query("SELECT count(DISTINCT delivery_date) FROM marts.fact_orders")[0][0]
    assert facts == 3
    dims = p.query("SELECT count(*) FROM marts.dim_users")[0][0]
    assert dims > 1
