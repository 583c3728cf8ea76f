"""``python -m bench.ui_partitions``: the UI's catalog and partition pages as the calendar grows.

Open-ended daily partitions add a partition every day: three years of history is ~1,100 of them,
most of a demo's days missing. This measures, through the real webserver's GraphQL (what the
pages load), with the first partition 366 and 1,100 days back and the last 30 days delivered and
loaded (``bin/build``): the asset catalog with every asset's partition counts, one asset's
partition statuses (its Partitions tab), its partition keys, and the checks of a partitioned
asset per partition (the per-day check dashboard). Each query is timed five times after one
warm-up; the median is reported. Results: ``bench/results/ui-partitions.json``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.partitions import last_partition_day

from .__main__ import instance_home

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
LOADED_DAYS = 30
REPEAT = 5

QUERIES = {
    "catalog (every asset, partition counts)": """
        query { assetNodes { assetKey { path } partitionStats {
            numMaterialized numPartitions numFailed numMaterializing } } }""",
    "partitions tab (statuses of raw_orders)": """
        query { assetNodeOrError(assetKey: {path: ["raw_orders"]}) { ... on AssetNode {
            assetPartitionStatuses { ... on TimePartitionStatuses {
                ranges { status startKey endKey } } } } } }""",
    "partition keys of raw_orders": """
        query { assetNodeOrError(assetKey: {path: ["raw_orders"]}) { ... on AssetNode {
            partitionKeysByDimension { name partitionKeys } } } }""",
    "checks of raw_deliveries by partition": """
        query { assetNodeOrError(assetKey: {path: ["raw_deliveries"]}) { ... on AssetNode {
            assetChecksOrError { ... on AssetChecks { checks { name
                partitionStatuses { ... on AssetCheckTimePartitionStatuses {
                    ranges { status startKey endKey } } } } } } } } }""",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, query: str) -> float:
    start = time.perf_counter()
    response = requests.post(f"{url}/graphql", json={"query": query}, timeout=300)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return elapsed


def measure(history_days: int, tmp: Path) -> dict:
    """Build the last 30 days with the first partition ``history_days`` back, then time."""
    last = last_partition_day()
    landing = tmp / f"landing-{history_days}"
    start = last - timedelta(days=LOADED_DAYS - 1)
    generate_landing_zone(landing, seed=42, scale=1.0, start=start, days=LOADED_DAYS)
    home = instance_home(tmp / f"instance-{history_days}")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOMMERCE_LANDING_DIR": str(landing),
        "ECOMMERCE_WAREHOUSE": str(tmp / f"warehouse-{history_days}.duckdb"),
        "ECOMMERCE_FIRST_DAY": (last - timedelta(days=history_days - 1)).isoformat(),
    }
    built = subprocess.run([str(ROOT / "bin" / "build"), "--no-demo"], cwd=ROOT, env=env,
                           capture_output=True, text=True)  # fmt: skip
    if built.returncode:
        raise RuntimeError(built.stdout[-2000:] + built.stderr[-2000:])
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                _post(url, "query { version }")
                break
            except (requests.RequestException, RuntimeError):
                time.sleep(0.5)
        timings = {}
        for name, query in QUERIES.items():
            _post(url, query)  # warm-up: the code location's snapshot, caches
            samples = [_post(url, query) for _ in range(REPEAT)]
            timings[name] = round(statistics.median(samples) * 1000)
            print(f"{history_days} partitions: {name}: {timings[name]} ms", flush=True)
        return {"partitions": history_days, "loaded_days": LOADED_DAYS, "median_ms": timings}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ecommerce-ui-") as tmp_dir:
        results = [measure(days, Path(tmp_dir)) for days in (366, 1100)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ui-partitions.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
