"""End to end with the real daemon: deliveries dropped into the landing zone are picked up by the
landing-zone sensor, queued, run and written to the warehouse; the sensor's cursor survives a
restart of the daemon.

A temporary DAGSTER_HOME uses the project's ``dagster_home/dagster.yaml`` (its run queue limits)
with storage moved into the test folder; ``dagster-daemon run`` is started on this machine only and
its process group is always terminated.

Waits have no deadline of their own: they poll the instance until the state waited for is there
(every run finished, and after the last one a tick of each run-launching sensor that requested
nothing), and fail at once when a run fails or the daemon exits. The only hard limit is
pytest-timeout (pyproject); when it fires, the runs, the ticks and the daemon log are printed.
"""

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

# Private: tick and backfill records have no public types; the daemon's own state is read here.
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.scheduler.instigation import InstigatorTick, InstigatorType, TickStatus

from ecommerce_assets.automation import (
    AUTOMATION_SENSOR,
    LANDING_SENSOR,
    RELINK_SENSOR,
    TRIGGER_TAG,
    parse_cursor,
)
from ecommerce_assets.generate import generate_landing_zone, release_day

from .conftest import START

ROOT = Path(__file__).resolve().parents[1]
DAEMON = Path(sys.executable).with_name("dagster-daemon")
SENSOR_INTERVAL_S = 2  # ECOMMERCE_SENSOR_INTERVAL: the landing sensor's minimum interval here
POLL_S = SENSOR_INTERVAL_S / 2  # the instance is read twice per landing-sensor interval
RUN_LAUNCHERS = (LANDING_SENSOR, AUTOMATION_SENSOR, RELINK_SENSOR)  # the sensors that launch runs
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
FAILED = FINISHED - {dg.DagsterRunStatus.SUCCESS}

pytestmark = pytest.mark.skipif(not DAEMON.exists(), reason="dagster-daemon not installed")


@dataclass(frozen=True)
class Snapshot:
    """The instance's runs, and the ticks of the run-launching sensors since some time."""

    records: list[dg.RunRecord]
    ticks: dict[str, list[InstigatorTick]]
    backfills_in_progress: int

    @property
    def runs(self) -> list[dg.DagsterRun]:
        """Oldest first."""
        return [r.dagster_run for r in sorted(self.records, key=lambda r: r.create_timestamp)]

    def idle_since(self, after: float) -> bool:
        """Every run finished, and each run-launching sensor ticked after both ``after`` and the
        last run's end without requesting anything: nothing is running and nothing is due."""
        if self.backfills_in_progress:
            return False
        if any(r.dagster_run.status not in FINISHED for r in self.records):
            return False
        since = max([after, *(r.end_time or 0.0 for r in self.records)])
        for name in RUN_LAUNCHERS:
            later = {t.status for t in self.ticks.get(name, []) if t.timestamp > since}
            # A failed tick requested nothing; the next one is what counts.
            if TickStatus.SKIPPED not in later or later & {TickStatus.STARTED, TickStatus.SUCCESS}:
                return False
        return True


@dataclass
class Platform:
    """A generated source of deliveries, an empty landing zone and the daemon serving them."""

    root: Path
    source: Path
    landing: Path
    warehouse: Path
    home: Path
    log: Path
    workspace: Path
    env: dict[str, str]
    daemon: subprocess.Popen | None = field(default=None, repr=False)

    def deliver(self, *days: date) -> float:
        """Release ``days`` into the landing zone; the time after the last ``_SUCCESS``."""
        for day in days:
            release_day(self.source / day.isoformat(), self.landing / day.isoformat())
        return time.time()

    def start_daemon(self) -> float:
        """Start ``dagster-daemon run`` (its own process group); the time it was started."""
        assert self.daemon is None, "the daemon is already running"
        with self.log.open("ab") as log:
            self.daemon = subprocess.Popen(
                [str(DAEMON), "run", "-w", str(self.workspace)],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: code server and runs stop with it
            )
        return time.time()

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            stop_group(self.daemon)
            self.daemon = None

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def snapshot(self, after: float = 0.0) -> Snapshot:
        """Runs, and the run-launching sensors' ticks that started after ``after``."""
        with self.instance() as instance:
            records = list(instance.get_run_records())
            ticks = {
                state.instigator_name: list(
                    instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
                )
                for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
                if state.instigator_name in RUN_LAUNCHERS
            }
            backfills = instance.get_backfills(status=BulkActionStatus.REQUESTED)
        return Snapshot(records, ticks, len(backfills))

    def landing_cursor(self) -> dict[str, object]:
        """The landing sensor's cursor as stored in the instance."""
        with self.instance() as instance:
            states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        (state,) = [s for s in states if s.instigator_name == LANDING_SENSOR]
        return parse_cursor(state.instigator_data.cursor if state.instigator_data else None)

    def wait_idle(self, after: float) -> Snapshot:
        """Poll until idle since ``after`` (``Snapshot.idle_since``); fail at once if a run fails
        or the daemon exits. A failed tick is retried by the daemon (and shown in the report)."""
        while True:
            snap = self.snapshot(after)
            failed = [
                (r.run_id, r.job_name, r.status.value) for r in snap.runs if r.status in FAILED
            ]
            if failed:
                pytest.fail(f"runs failed: {failed}")
            if self.daemon is None or self.daemon.poll() is not None:
                pytest.fail("the daemon is not running")
            if snap.idle_since(after):
                return snap
            time.sleep(POLL_S)

    def report(self) -> str:
        """Runs, recent ticks and the daemon log's tail: what a failed wait prints."""
        snap = self.snapshot()
        runs = [(r.job_name, r.status.value, dict(r.tags)) for r in snap.runs]
        ticks = {
            name: [(t.status.value, list(t.run_keys), t.skip_reason, t.error) for t in ts[:5]]
            for name, ts in snap.ticks.items()
        }
        tail = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
        return f"runs: {runs}\nlatest ticks: {ticks}\ndaemon log tail:\n{tail}"

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
def running_platform(root: Path, *, days: int) -> Iterator[Platform]:
    """Generate ``days`` deliveries (not yet delivered), start the daemon, stop it at the end.

    On any failure (a failed wait, pytest-timeout) the runs, ticks and daemon log are printed.
    """
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
    warehouse = root / "warehouse.duckdb"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOMMERCE_LANDING_DIR": str(landing),
        "ECOMMERCE_WAREHOUSE": str(warehouse),
        # The landing zone starts empty: the first partition is the zone's first day.
        "ECOMMERCE_FIRST_DAY": START.isoformat(),
        "ECOMMERCE_SENSOR_INTERVAL": str(SENSOR_INTERVAL_S),
        "PATH": f"{DAEMON.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("ECOMMERCE_ALERT_WEBHOOK", None)
    # As bin/ui's daemon has it (an in-process build earlier in the session may have set it here).
    env.pop("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", None)
    platform = Platform(root, source, landing, warehouse, home, root / "daemon.log", workspace, env)
    with platform.instance() as instance:  # create the storage first: no migration race
        instance.get_runs(limit=1)
    platform.start_daemon()
    try:
        yield platform
    except BaseException:
        print(platform.report())
        raise
    finally:
        platform.stop_daemon()


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


def run_spans(snap: Snapshot) -> list[tuple[float, float]]:
    """(start, end) of every run, in start order."""
    return sorted((r.start_time or 0.0, r.end_time or 0.0) for r in snap.records)


def describe(snap: Snapshot) -> None:
    """What ran (shown with ``-s`` or on failure)."""
    t0 = min((r.start_time or 0.0 for r in snap.records), default=0.0)
    for r in sorted(snap.records, key=lambda r: r.create_timestamp):
        run = r.dagster_run
        tags = {k: v for k, v in run.tags.items() if "/" in k and "dagster/code" not in k}
        span = (round((r.start_time or 0.0) - t0, 1), round((r.end_time or 0.0) - t0, 1))
        print(run.job_name, run.status.value, span, sorted(run.asset_selection or []), tags)


def test_sensor_runs_new_deliveries_through_the_daemon(tmp_path: Path) -> None:
    """Days 1 and 3 delivered at once, then day 2: each is requested exactly once, the queue
    runs everything one run at a time, and the warehouse holds exactly the delivered rows."""
    days = [START + timedelta(days=i) for i in range(3)]
    with running_platform(tmp_path, days=3) as p:
        # Days 1 and 3 at once: two blocks, two runs requested in one tick, queued together.
        first = p.wait_idle(after=p.deliver(days[0], days[2]))
        snap = p.wait_idle(after=p.deliver(days[1]))
        describe(snap)

    assert [covered_days(r) for r in sensor_runs(first.runs)] == [[days[0]], [days[2]]]
    assert [covered_days(r) for r in sensor_runs(snap.runs)] == [[days[0]], [days[2]], [days[1]]]
    assert {r.status for r in snap.runs} == {dg.DagsterRunStatus.SUCCESS}
    assert all(r.tags.get("ecommerce/warehouse") for r in snap.runs)
    # The run queue ran them one at a time: no two runs overlapped (one DuckDB writer).
    spans = run_spans(snap)
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


def test_landing_sensor_cursor_survives_a_daemon_restart(tmp_path: Path) -> None:
    """Day 1 is delivered and run; the daemon stops; day 2 is delivered while it is down. After
    the restart the sensor, its cursor read back from the instance, requests day 2 and does
    not request day 1 again; the automation sensor then re-runs funnel day 1 (late events)."""
    day1, day2 = START, START + timedelta(days=1)
    with running_platform(tmp_path, days=2) as p:
        before = p.wait_idle(after=p.deliver(day1))
        p.stop_daemon()
        stored = p.landing_cursor()
        delivered = p.deliver(day2)
        restarted = p.start_daemon()
        snap = p.wait_idle(after=delivered)
        describe(snap)
        final = p.landing_cursor()

    assert [covered_days(r) for r in sensor_runs(before.runs)] == [[day1]]
    # A small cursor: the landing zone's fingerprint and counts, not every day's history.
    assert (stored["deliveries"], stored["newest"]) == (1, day1.isoformat())
    runs = sensor_runs(snap.runs)
    assert [covered_days(r) for r in runs] == [[day1], [day2]]
    created = {r.dagster_run.run_id: r.create_timestamp.timestamp() for r in snap.records}
    assert created[runs[0].run_id] < delivered < restarted < created[runs[1].run_id]
    # Every landing tick since the restart: one requested day 2 (its run key names the day),
    # none requested day 1 again.
    requested = [list(t.run_keys) for t in snap.ticks[LANDING_SENSOR] if t.run_keys]
    assert len(requested) == 1 and len(requested[0]) == 1
    assert requested[0][0].startswith(f"{day2}..{day2}@")
    assert (final["deliveries"], final["newest"]) == (2, day2.isoformat())
    # Day 2 carries day 1's late events: the automation sensor re-ran funnel day 1, only that,
    # then published the analysts' copy again (it reads the funnel).
    automated = [r for r in snap.runs if r.tags.get("dagster/sensor_name") == AUTOMATION_SENSOR]
    automated.sort(key=lambda r: created[r.run_id])
    assert [(r.asset_selection, r.tags.get("dagster/partition")) for r in automated] == [
        ({dg.AssetKey("agg_conversion_funnel")}, day1.isoformat()),
        ({dg.AssetKey("analytics_copy")}, None),
    ]
    assert len(snap.runs) == len(runs) + len(automated)
    assert {r.status for r in snap.runs} == {dg.DagsterRunStatus.SUCCESS}
    counts = dict(
        p.query("SELECT delivery_date, count(*) FROM staging.stg_orders GROUP BY 1 ORDER BY 1")
    )
    assert counts == {day: p.staged(day) for day in (day1, day2)}
