"""``python -m bench.live_latency``: from a delivery's ``_SUCCESS`` to its day's facts, with nobody
at the keyboard.

What a user runs: ``bin/build`` loads a week of deliveries ending the day before yesterday (dates
relative to today, UTC), then ``bin/ui`` (webserver and daemon, the landing-zone sensor at its
default 15 s interval) runs while yesterday's delivery lands (files first, ``_SUCCESS`` last).
The latency is the time from that ``_SUCCESS`` to the end of the run the sensor launched for it
(its facts and daily aggregates committed). Yesterday is then re-delivered with other content
twice (another seed's files, a new ``_SUCCESS``), each a sample of the same path. The result goes
to ``bench/results/live-latency.json`` and a line of ``bench/results/README.md``'s companion
``live-latency.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import requests

from ecommerce_assets.generate import generate_landing_zone, release_day
from ecommerce_assets.partitions import today_utc

from .__main__ import instance_home

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
TARGET_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_for(home: Path, day: str, after: float, timeout_s: float = 600) -> dg.RunRecord:
    """The first run created after ``after`` covering ``day``, once it has finished."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for record in instance.get_run_records():
                tags = record.dagster_run.tags
                covers = day in (
                    tags.get("dagster/partition"),
                    tags.get("dagster/asset_partition_range_end"),
                )
                if covers and record.create_timestamp.timestamp() > after:
                    status = record.dagster_run.status
                    if status == dg.DagsterRunStatus.SUCCESS:
                        return record
                    if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                        raise RuntimeError(f"run {record.dagster_run.run_id} for {day}: {status}")
        time.sleep(0.5)
    raise TimeoutError(f"no finished run for {day} within {timeout_s:.0f} s")


def measure(scale: float, samples: int) -> dict:
    today = today_utc()
    yesterday = today - timedelta(days=1)
    first = today - timedelta(days=8)
    with tempfile.TemporaryDirectory(prefix="ecommerce-latency-") as tmp_dir:
        tmp = Path(tmp_dir)
        landing = tmp / "landing"
        generate_landing_zone(landing, seed=42, scale=scale, start=first, days=7)
        sources = []
        for seed in range(42, 42 + samples):
            source = tmp / f"source-{seed}"
            generate_landing_zone(source, seed=seed, scale=scale, start=first, days=8)
            sources.append(source / yesterday.isoformat())
        home = instance_home(tmp)
        port = _free_port()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "ECOMMERCE_LANDING_DIR": str(landing),
            "ECOMMERCE_WAREHOUSE": str(tmp / "warehouse.duckdb"),
            "ECOMMERCE_ALERT_LOG": str(tmp / "alerts.jsonl"),
            "PORT": str(port),
        }
        built = subprocess.run([str(ROOT / "bin" / "build"), "--no-demo"], cwd=ROOT, env=env,
                               capture_output=True, text=True)  # fmt: skip
        if built.returncode:
            raise RuntimeError(built.stdout[-3000:] + built.stderr[-3000:])
        log = (tmp / "ui.log").open("wb")
        ui = subprocess.Popen([str(ROOT / "bin" / "ui")], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        latencies = []
        try:
            for _ in range(240):
                try:
                    if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.5)
            time.sleep(20)  # the sensor's first tick: what bin/build loaded is not run again
            for source in sources:
                release_day(source, landing / yesterday.isoformat())
                delivered = (landing / yesterday.isoformat() / "_SUCCESS").stat().st_mtime
                record = _run_for(home, yesterday.isoformat(), after=delivered)
                latencies.append(round(record.end_time - delivered, 2))
                print(f"_SUCCESS → facts of {yesterday}: {latencies[-1]} s", flush=True)
        finally:
            os.kill(ui.pid, signal.SIGTERM)
            try:
                ui.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
            log.close()
    return {
        "scale": scale,
        "sensor_interval_s": 15,
        "samples_s": latencies,
        "median_s": statistics.median(latencies),
        "max_s": max(latencies),
        "target_s": TARGET_S,
        "met": max(latencies) < TARGET_S,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure(args.scale, args.samples)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"live-latency-scale-{args.scale:g}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
