"""A backfill (days 1-5 of 6) launched through the webserver's GraphQL on the lake profile runs
its days in parallel: webserver and daemon as separate processes on an instance in PostgreSQL
(the profile's ``deploy/lake/dagster.yaml``), the warehouse a DuckLake lake, two days per run,
two runs at once.

Asserted: the backfill completes; its partitioned assets ran as runs of at most two days, at
least two of them at the same time, none requested more often than its days need; the
dimensions, the lifetime aggregates and agg_daily_sales ran once each, after every staged day
they read; and every table equals a single-run build of the same days into a DuckDB file.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .backfill_platform import BACKFILL, DONE, INSTANCE, stop_run_launching_sensors
from .conftest import START, definitions
from .lake_support import _admin, differences, drop_database, fresh_lake, pg_settings
from .webserver import (
    ROOT,
    Project,
    Webserver,
    running_webserver,
    start_daemon,
    stop_process,
)

DAYS = 6  # delivered
BACKFILLED = 5  # days 1-5: a backfill of some of the days, as users launch them
DAYS_PER_RUN = 2
STALL_S = 300.0  # no change of the backfill's runs for this long: stuck (see backfill_platform)
LAUNCH = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
  }
}
"""
# Assets that read every delivered day: built once, after the days they read (the unpartitioned
# ones, and agg_daily_sales, whose every day reads all of fact_orders: definitions._splittable).
ONCE = {
    "agg_daily_sales",
    "dim_users",
    "dim_products",
    "dim_date",
    "dim_payment_method",
    "agg_customer_lifetime",
    "agg_product_performance",
}


@dataclass
class LakeProject(Project):
    """A ``Project`` on the lake profile: instance in a PostgreSQL database of its own, a lake."""

    lake: str = ""
    instance_db: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            **super().env,
            "ECOMMERCE_WAREHOUSE": self.lake,
            "ECOMMERCE_LAKE_DATA_PATH": str(self.root / "lake"),
            "ECOMMERCE_PG_DB": self.instance_db,
            "ECOMMERCE_BACKFILL_DAYS_PER_RUN": str(DAYS_PER_RUN),
            "ECOMMERCE_ALERT_LOG": str(self.root / "alerts.jsonl"),
            "DAGSTER_EVENT_BATCH_SIZE": "100",
        }


@dataclass
class Finished:
    status: str
    runs: list[dict[str, Any]]
    errors: list[str]  # step failures of the runs that failed, for the assertion messages


STEP_FAILURES = """
query ($id: ID!) {
  runOrError(runId: $id) {
    ... on Run {
      eventConnection(afterCursor: null) {
        events {
          __typename
          ... on ExecutionStepFailureEvent {
            stepKey
            error { message errorChain { error { message } } }
          }
          ... on RunFailureEvent { message }
        }
      }
    }
  }
}
"""


def step_failures(server: Webserver, run_id: str) -> list[str]:
    events = server.graphql(STEP_FAILURES, {"id": run_id})["runOrError"]["eventConnection"]
    out = []
    for event in events["events"]:
        if event["__typename"] not in {"ExecutionStepFailureEvent", "RunFailureEvent"}:
            continue
        error = event.get("error") or {}
        chain = [link["error"]["message"] for link in error.get("errorChain", [])]
        message = " <- ".join([error.get("message") or event.get("message", ""), *chain])
        out.append(f"{run_id[:8]} {event.get('stepKey', 'run')}: {message}")
    return out


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LakeProject, Finished]]:
    root = tmp_path_factory.mktemp("lakebackfill")
    instance_db = f"dagster_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {instance_db}")
    try:
        with fresh_lake(root / "lake") as uri:
            project = LakeProject(root, lake=uri, instance_db=instance_db)
            project.home.mkdir(parents=True)
            text = (ROOT / "deploy" / "lake" / "dagster.yaml").read_text()
            assert "max_concurrent_runs: 2" in text, text
            (project.home / "dagster.yaml").write_text(
                text.replace("data/dagster-lake", str(root / "data/dagster-lake"))
            )
            generate_landing_zone(
                project.landing, seed=1, scale=0.05, start=START, days=DAYS, clean=True
            )
            yield project, run_backfill(project)
    finally:
        drop_database(instance_db)


def run_backfill(project: LakeProject) -> Finished:
    log = project.root / "daemon.log"
    with running_webserver(project) as server:
        config = server.graphql(INSTANCE)["instance"]["runQueueConfig"]
        assert config == {"maxConcurrentRuns": 2}, config  # the lake profile's queue
        stop_run_launching_sensors(server)
        daemon = start_daemon(project, log)
        try:
            keys = [{"path": [key.path[-1]]} for key in all_asset_keys(project)]
            days = [(START + timedelta(days=i)).isoformat() for i in range(BACKFILLED)]
            launched = server.graphql(
                LAUNCH, {"params": {"assetSelection": keys, "partitionNames": days}}
            )["launchPartitionBackfill"]
            assert launched["__typename"] == "LaunchBackfillSuccess", launched
            return wait_until_done(server, daemon, log, launched["backfillId"])
        finally:
            stop_process(daemon)


def all_asset_keys(project: LakeProject) -> list[Any]:
    return [k for k in project.definitions().resolve_asset_graph().get_all_asset_keys()]


def wait_until_done(
    server: Webserver, daemon: subprocess.Popen, log: Path, backfill_id: str
) -> Finished:
    """Poll the backfill until it is done; fail if nothing changes for ``STALL_S``."""
    seen, changed = None, time.monotonic()
    while True:
        if daemon.poll() is not None:
            pytest.fail(f"dagster-daemon exited:\n{log.read_text(errors='replace')[-4000:]}")
        state = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert state["__typename"] == "PartitionBackfill", state
        now = (state["status"], [(r["runId"], r["status"]) for r in state["runs"]])
        if now != seen:
            seen, changed = now, time.monotonic()
        if state["status"] in DONE and all(r["endTime"] for r in state["runs"]):
            failed = [r["runId"] for r in state["runs"] if r["status"] != "SUCCESS"]
            errors = [line for run_id in failed for line in step_failures(server, run_id)]
            return Finished(state["status"], state["runs"], errors)
        if time.monotonic() - changed > STALL_S:
            pytest.fail(
                f"backfill stuck at {now}\n{log.read_text(errors='replace')[-4000:]}\n"
                f"{server.logs()[-2000:]}"
            )
        time.sleep(2.0)


def assets_of(run: dict[str, Any]) -> set[str]:
    return {key["path"][-1] for key in run["assetSelection"] or []}


def tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def test_the_backfill_completes_in_runs_of_at_most_two_days(
    backfill: tuple[LakeProject, Finished],
) -> None:
    _, done = backfill
    assert done.status in {"COMPLETED", "COMPLETED_SUCCESS"}, "\n".join(done.errors)
    assert all(run["status"] == "SUCCESS" for run in done.runs), done.runs
    partitioned = [
        r
        for r in done.runs
        if "dagster/asset_partition_range_start" in tags(r) and assets_of(r) != {"agg_daily_sales"}
    ]
    assert partitioned, done.runs
    for run in partitioned:
        first = tags(run)["dagster/asset_partition_range_start"]
        last = tags(run)["dagster/asset_partition_range_end"]
        span = (
            (START.fromisoformat(last) - START.fromisoformat(first)).days + 1
            if first and last
            else 0
        )
        assert 1 <= span <= DAYS_PER_RUN, (first, last)
    # No asset is requested again and again: at most ⌈5 / 2⌉ = 3 runs each (an asset reading
    # every day of an input, split into runs, was re-requested without end by Dagster).
    most = -(-BACKFILLED // DAYS_PER_RUN)
    for asset in {a for r in done.runs for a in assets_of(r)}:
        assert sum(asset in assets_of(r) for r in done.runs) <= most, asset


def test_two_runs_wrote_the_lake_at_the_same_time(backfill: tuple[LakeProject, Finished]) -> None:
    _, done = backfill
    spans = sorted((r["startTime"], r["endTime"]) for r in done.runs)
    overlapping = [
        (a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if b[0] < a[1] and a[0] < b[1]
    ]
    assert overlapping, spans


def test_dimensions_and_lifetime_aggregates_ran_once_after_the_days_they_read(
    backfill: tuple[LakeProject, Finished],
) -> None:
    _, done = backfill
    for asset in ONCE:
        runs = [r for r in done.runs if asset in assets_of(r)]
        assert len(runs) == 1, (asset, [assets_of(r) for r in runs])
    # Each staged-reading dimension after every run that staged what it reads.
    for dim, reads in (
        ("dim_users", "stg_users"),
        ("dim_products", "stg_products"),
        ("dim_date", "stg_load_audit"),
    ):
        run = next(r for r in done.runs if dim in assets_of(r))
        staged = [r for r in done.runs if reads in assets_of(r)]
        assert staged and all(r["endTime"] <= run["startTime"] for r in staged), dim


def test_every_table_equals_the_single_run_file_build(
    backfill: tuple[LakeProject, Finished], tmp_path: Path
) -> None:
    """What the backfill targeted, built into a DuckDB file in one run: the same rows everywhere.

    Dagster's backfill also targets every calendar day of agg_daily_sales (each reads all of
    fact_orders), to yesterday; the days without orders have no row (as in the reference)."""
    project, _ = backfill
    warehouse = tmp_path / "warehouse.duckdb"
    defs = definitions(project.landing, warehouse)
    assert materialize_days(defs, START, START + timedelta(days=BACKFILLED - 1)).success
    assert differences(project.lake, warehouse) == {}


def test_the_runs_are_recorded_in_postgresql(backfill: tuple[LakeProject, Finished]) -> None:
    import psycopg2

    project, done = backfill
    con = psycopg2.connect(dbname=project.instance_db, **pg_settings())
    try:
        with con.cursor() as cur:
            cur.execute("SELECT run_id FROM runs")
            recorded = {row[0] for row in cur.fetchall()}
    finally:
        con.close()
    assert {r["runId"] for r in done.runs} <= recorded
