"""``python -m bench.lake_backfill``: a UI backfill of every asset over a landing zone's days, the
way a user launches one (the webserver's GraphQL, the daemon starting the runs), in three set-ups:

- ``default``: the default profile — SQLite instance, DuckDB file, run queue one wide, the whole
  range in one run (its backfill policy);
- ``lake-1`` and ``lake-2``: the lake profile — instance in PostgreSQL, DuckLake warehouse, runs
  of ``--days-per-run`` days, with one and with two runs at a time.

Each starts from nothing (a new instance database, warehouse and lake), runs the webserver and
``dagster-daemon`` as separate processes from the profile's venv, and measures from the launch to
the backfill's end: wall time, runs, how many ran at once at most, and the run time summed over
runs (what the machine spent). Needs the PostgreSQL of ``bin/postgres`` (``eval "$(bin/postgres
env)"``) and both venvs; run from the project root with ``.venv-lake/bin/python``. Results:
``bench/results/lake-backfill-scale-<scale>.json`` (the table in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
SETUPS = ("default", "lake-1", "lake-2")
LAUNCH = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}"""
STATE = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs { runId status startTime endTime } }
  }
}"""
ASSETS = """
query { assetNodes { assetKey { path } } }
"""
SENSORS = """
query { sensorsOrError(repositorySelector: {repositoryLocationName: "ecommerce_assets",
                                            repositoryName: "__repository__"}) {
  ... on Sensors { results { name sensorState { id status } } } } }"""
STOP_SENSOR = "mutation ($id: String) { stopSensor(id: $id) { __typename } }"
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass
class Result:
    setup: str
    days: int
    wall_s: float
    status: str
    runs: int
    failed_runs: int
    most_at_once: int
    run_seconds: float


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The largest number of runs running at the same instant."""
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = best = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


def _pg(sql: str) -> None:
    import psycopg2

    con = psycopg2.connect(
        dbname="postgres",
        host=os.environ["ECOMMERCE_PG_HOST"],
        port=os.environ["ECOMMERCE_PG_PORT"],
        user=os.environ["ECOMMERCE_PG_USER"],
    )
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(sql)
    con.close()


def _environment(setup: str, work: Path, landing: Path, days_per_run: int) -> dict[str, str]:
    env = {
        **os.environ,
        "ECOMMERCE_LANDING_DIR": str(landing),
        "DAGSTER_HOME": str(work / "home"),
        "ECOMMERCE_ALERT_LOG": str(work / "alerts.jsonl"),
        "DAGSTER_EVENT_BATCH_SIZE": "100",
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    (work / "home").mkdir(parents=True)
    if setup == "default":
        text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
        text = text.replace("data/dagster", str(work / "data/dagster"))
        env["ECOMMERCE_WAREHOUSE"] = str(work / "warehouse.duckdb")
        env.pop("ECOMMERCE_BACKFILL_DAYS_PER_RUN", None)
    else:
        text = (ROOT / "deploy" / "lake" / "dagster.yaml").read_text()
        text = text.replace("data/dagster-lake", str(work / "data/dagster-lake"))
        text = text.replace("max_concurrent_runs: 2", f"max_concurrent_runs: {setup[-1]}")
        suffix = uuid.uuid4().hex[:10]
        env["ECOMMERCE_PG_DB"] = f"bench_dagster_{suffix}"
        lake_db = f"bench_lake_{suffix}"
        for name in (env["ECOMMERCE_PG_DB"], lake_db):
            _pg(f"CREATE DATABASE {name}")
        env["ECOMMERCE_WAREHOUSE"] = (
            f"ducklake:postgres:dbname={lake_db} host={env['ECOMMERCE_PG_HOST']} "
            f"port={env['ECOMMERCE_PG_PORT']} user={env['ECOMMERCE_PG_USER']}"
        )
        env["ECOMMERCE_LAKE_DATA_PATH"] = str(work / "lake")
        env["ECOMMERCE_BACKFILL_DAYS_PER_RUN"] = str(days_per_run)
    (work / "home" / "dagster.yaml").write_text(text)
    return env


def _start(venv: Path, env: dict[str, str], work: Path, name: str, args: list[str]):
    log = (work / f"{name}.log").open("wb")
    return subprocess.Popen(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=120)
    body.raise_for_status()
    data = body.json()
    if data.get("errors"):
        raise RuntimeError(data["errors"])
    return data["data"]


def measure(setup: str, landing: Path, days: list[str], days_per_run: int) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{setup}-"))
    env = _environment(setup, work, landing, days_per_run)
    venv = ROOT / (".venv" if setup == "default" else ".venv-lake")
    port = 3300 + SETUPS.index(setup)
    url = f"http://127.0.0.1:{port}/graphql"
    web = ["dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    processes = [_start(venv, env, work, "webserver", web)]
    try:
        deadline = time.monotonic() + 300
        while True:
            with suppress(requests.RequestException, RuntimeError, KeyError, TypeError):
                keys = [n["assetKey"] for n in _graphql(url, ASSETS)["assetNodes"]]
                if keys:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{setup}: webserver not up, see {work}/webserver.log")
            time.sleep(1)
        # Before the daemon starts: the landing sensor would run every delivered day itself.
        sensors = _graphql(url, SENSORS)["sensorsOrError"]["results"]
        for sensor in sensors:
            _graphql(url, STOP_SENSOR, {"id": sensor["sensorState"]["id"]})
        daemon = ["dagster-daemon", "run", "-w", "workspace.yaml"]
        processes.append(_start(venv, env, work, "daemon", daemon))
        started = time.time()
        launched = _graphql(
            url, LAUNCH, {"params": {"assetSelection": keys, "partitionNames": days}}
        )["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(launched)
        while True:
            state = _graphql(url, STATE, {"id": launched["backfillId"]})
            state = state["partitionBackfillOrError"]
            if state["status"] in DONE and all(r["endTime"] for r in state["runs"]):
                break
            time.sleep(1)
        wall = time.time() - started
    finally:
        _stop(processes)
    spans = [(r["startTime"], r["endTime"]) for r in state["runs"] if r["startTime"]]
    result = Result(
        setup=setup,
        days=len(days),
        wall_s=round(wall, 1),
        status=state["status"],
        runs=len(state["runs"]),
        failed_runs=sum(r["status"] != "SUCCESS" for r in state["runs"]),
        most_at_once=most_at_once(spans),
        run_seconds=round(sum(e - s for s, e in spans), 1),
    )
    if setup != "default":
        for name in (env["ECOMMERCE_PG_DB"], env["ECOMMERCE_WAREHOUSE"].split()[0].split("=")[1]):
            _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    shutil.rmtree(work, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="10")
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--days-per-run", type=int, default=31)
    parser.add_argument("--days", type=int, default=0, help="only the first N days (0: all)")
    args = parser.parse_args(argv)
    landing = ROOT / "data" / "bench" / f"scale-{args.scale}" / "landing"
    days = sorted(p.name for p in landing.iterdir() if (p / "_manifest.json").exists())
    if args.days:
        days = days[: args.days]
    results = []
    for setup in args.setups.split(","):
        print(f"{setup}: backfill of {len(days)} days …", flush=True)
        result = measure(setup, landing, days, args.days_per_run)
        print(f"  {asdict(result)}", flush=True)
        results.append(asdict(result))
    name = f"lake-backfill-scale-{args.scale}" + (f"-{len(days)}-days" if args.days else "")
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "scale": args.scale,
                "days_per_run": args.days_per_run,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": time.strftime("%Y-%m-%d"),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
