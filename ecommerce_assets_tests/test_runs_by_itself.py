"""Runs by itself, with the real processes: ``bin/ui`` (webserver and daemon, what the README tells
people to run) on a landing zone of the last week, dates relative to today (UTC).

Yesterday's delivery is dropped into the landing zone while it runs (files first, ``_SUCCESS``
last) and a delivery dated today beside it. With no reload and no extra setting, the landing-zone
sensor runs yesterday (its facts and daily aggregates land in the warehouse), today's waits and
nothing fails; the daily schedule's real evaluation (the webserver's dry run, in the code server)
skips yesterday before it arrives and once it is processed. Then ``bin/ui`` is stopped the way a
script stops it, SIGTERM, having been started as a script's background job (SIGINT ignored), and
nothing of it may remain: webserver, daemon, code servers, run workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.automation import DAILY_SCHEDULE, LANDING_SENSOR, TRIGGER_TAG
from ecommerce_assets.generate import generate_landing_zone, release_day
from ecommerce_assets.partitions import today_utc

from .test_daemon_e2e import FAILED, FINISHED, Snapshot, write_home
from .webserver import Webserver, die_with_parent, free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
TODAY = today_utc()
YESTERDAY = TODAY - timedelta(days=1)
FIRST = TODAY - timedelta(days=7)
SENSOR_INTERVAL_S = 2
POLL_S = 1.0
IDLE_AFTER_S = 35  # the automation sensor ticks every 30 s: a run it wants comes by then

DRY_RUN = """
mutation ($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick {
      evaluationResult { skipReason runRequests { runKey } error { message } }
    }
    ... on PythonError { message }
  }
}
"""


def session_processes(sid: int) -> list[str]:
    """Every live process of session ``sid`` (what bin/ui started), as 'pid command'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:120]
                found.append(f"{entry.name} {cmd.decode(errors='replace')}")
        except (OSError, IndexError, ValueError):
            continue
    return found


def ignore_sigint_then_die_with_parent() -> None:  # pragma: no cover - runs in the child
    """What a shell does to a background job of a script (SIGINT ignored), plus the test's own
    safety net (SIGTERM if the test process dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def days_of(run: dg.DagsterRun) -> set:
    tags = run.tags
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    if not first:
        return set()
    a, b = datetime.fromisoformat(first).date(), datetime.fromisoformat(last).date()
    return {a + timedelta(days=i) for i in range((b - a).days + 1)}


def wait_for(home: Path, ui: subprocess.Popen, done, what: str, timeout_s: float = 600) -> Snapshot:
    """Poll the instance until ``done(snapshot)``; fail at once on a failed run or a dead bin/ui."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with instance(home) as inst:
            snap = Snapshot(list(inst.get_run_records()), {}, 0)
        failed = [(r.run_id, r.status.value, dict(r.tags)) for r in snap.runs if r.status in FAILED]
        assert not failed, f"runs failed: {failed}"
        assert ui.poll() is None, "bin/ui exited"
        if done(snap):
            return snap
        time.sleep(POLL_S)
    pytest.fail(f"timed out waiting for {what}")


def loaded(days: set):
    """Every day in ``days`` covered by a successful landing-sensor run, nothing in progress, and
    nothing started for ``IDLE_AFTER_S`` (the automation sensor had its say)."""

    def done(snap: Snapshot) -> bool:
        runs = snap.runs
        if any(r.status not in FINISHED for r in runs):
            return False
        covered = set().union(
            *(days_of(r) for r in runs if r.tags.get(TRIGGER_TAG) == LANDING_SENSOR)
        )
        last_end = max((r.end_time or 0.0 for r in snap.records), default=0.0)
        return days <= covered and time.time() - last_end > IDLE_AFTER_S

    return done


def dry_run_schedule(server: Webserver, at: datetime) -> dict:
    data = server.graphql(
        DRY_RUN,
        {
            "selector": {
                "repositoryLocationName": "ecommerce_assets",
                "repositoryName": "__repository__",
                "scheduleName": DAILY_SCHEDULE,
            },
            "timestamp": at.timestamp(),
        },
    )["scheduleDryRun"]
    assert data["__typename"] == "DryRunInstigationTick", data
    return data["evaluationResult"]


def landing_skip_reason(home: Path) -> str:
    """The latest skip reason of the landing-zone sensor's ticks."""
    with instance(home) as inst:
        states = inst.all_instigator_state()
        (state,) = [s for s in states if s.instigator_name == LANDING_SENSOR]
        ticks = inst.get_ticks(state.instigator_origin_id, state.selector_id, limit=5)
    return next((t.skip_reason for t in ticks if t.skip_reason), "")


def test_bin_ui_runs_new_days_by_itself_and_stops_on_sigterm(tmp_path: Path) -> None:
    source, landing = tmp_path / "source", tmp_path / "landing"
    # Eight days of source data ending today; the landing zone gets the six before yesterday.
    generate_landing_zone(source, seed=21, scale=0.05, start=FIRST, days=8, clean=True)
    for offset in range(6):
        day = FIRST + timedelta(days=offset)
        release_day(source / day.isoformat(), landing / day.isoformat())
    home = tmp_path / "home"
    write_home(home)
    warehouse = tmp_path / "warehouse.duckdb"
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOMMERCE_LANDING_DIR": str(landing),
        "ECOMMERCE_WAREHOUSE": str(warehouse),
        "ECOMMERCE_SENSOR_INTERVAL": str(SENSOR_INTERVAL_S),
        "ECOMMERCE_ALERT_LOG": str(tmp_path / "alerts.jsonl"),
        "PORT": str(port),
    }
    # No extra setting: the defaults must do (an in-process build earlier in the session sets
    # Dagster's planned-events setting in this process; bin/ui's processes do not have it).
    for name in (
        "ECOMMERCE_FIRST_DAY",
        "ECOMMERCE_ALERT_WEBHOOK",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS",
    ):
        env.pop(name, None)
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        ui = subprocess.Popen(
            [str(ROOT / "bin" / "ui")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: every process it starts can be found
            preexec_fn=ignore_sigint_then_die_with_parent if sys.platform == "linux" else None,
        )
    server = Webserver(url=f"http://127.0.0.1:{port}", log=log, process=ui)
    try:
        wait_healthy(server, 180)
        first_days = {FIRST + timedelta(days=i) for i in range(6)}
        wait_for(home, ui, loaded(first_days), "the first six days")
        before = dry_run_schedule(server, datetime.combine(TODAY, datetime.min.time(), UTC))
        assert before["runRequests"] in (None, []) and "has not arrived" in before["skipReason"]

        release_day(source / TODAY.isoformat(), landing / TODAY.isoformat())  # ahead: waits
        release_day(source / YESTERDAY.isoformat(), landing / YESTERDAY.isoformat())
        delivered = time.time()
        snap = wait_for(home, ui, loaded(first_days | {YESTERDAY}), "yesterday's delivery")

        runs = snap.runs
        yesterday_runs = [r for r in runs if YESTERDAY in days_of(r)]
        assert [r.tags.get(TRIGGER_TAG) for r in yesterday_runs] == [LANDING_SENSOR]
        record = next(r for r in snap.records if r.dagster_run.run_id == yesterday_runs[0].run_id)
        print(f"_SUCCESS to the day's run finished: {record.end_time - delivered:.1f} s")
        assert not [r for r in runs if TODAY in days_of(r)]  # today's delivery waits
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        assert f"waiting for its day to end (UTC): {TODAY}" in landing_skip_reason(home)
        after = dry_run_schedule(server, datetime.combine(TODAY, datetime.min.time(), UTC))
        assert "already processed" in (after["skipReason"] or ""), after

        manifest = json.loads((source / YESTERDAY.isoformat() / "_manifest.json").read_text())
        with duckdb.connect(str(warehouse), read_only=True) as con:
            orders = con.execute(
                "SELECT count(*) FROM marts.fact_orders WHERE delivery_date = ?", [YESTERDAY]
            ).fetchone()[0]
            sales = con.execute(
                "SELECT orders FROM marts.agg_daily_sales WHERE business_date = ?", [YESTERDAY]
            ).fetchall()
            today_rows = con.execute(
                "SELECT count(*) FROM raw.raw_orders WHERE delivery_date = ?", [TODAY]
            ).fetchone()[0]
        assert orders == manifest["tables"]["orders"]["staged"] > 0
        assert sales == [(orders,)]
        assert today_rows == 0
    finally:
        alive_before = session_processes(ui.pid)
        os.kill(ui.pid, signal.SIGTERM)  # as a script stops it: the leader only
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            pytest.fail(f"bin/ui ignored SIGTERM; its processes: {alive_before}")
        deadline = time.monotonic() + 30
        while session_processes(ui.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = session_processes(ui.pid)
        if left:
            os.killpg(ui.pid, signal.SIGKILL)
        assert not left, f"processes left after bin/ui stopped: {left}"
