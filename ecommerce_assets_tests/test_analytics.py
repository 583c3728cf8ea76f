"""``analytics_copy`` in the asset graph: a build publishes the marts and what the dashboard needs
(the quarantine summary, the checks that warned or failed, the data's last delivery day); an
analyst holding the copy open (another process, DuckDB's read-only connection) never makes a run
wait, keeps the snapshot it opened, and a new reader sees the new run's data; a day that failed a
blocking check in an earlier run holds the publish back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.automation.conditions import after_upstream_condition
from ecommerce_assets.checks.daily import latest_materializations
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .conftest import (
    HIGH_RATES,
    START,
    Built,
    definitions,
    make_built,
    project_instance,
    table_digest,
)

ASSET = dg.AssetKey("analytics_copy")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Built, dg.DagsterInstance]]:
    """Four days with many defects (files with extra columns warn), every asset built once in
    an instance configured like the project's (its batched event log included)."""
    root = tmp_path_factory.mktemp("analytics")
    with pytest.MonkeyPatch.context() as mp, project_instance(root, mp, batch_size=100) as inst:
        zone = make_built(root / "zone", days=4, scale=0.2, seed=5)
        zone.result = materialize_days(zone.defs, zone.first, zone.last, instance=inst)
        assert zone.result.success
        yield zone, inst


def copy_of(zone: Built) -> Path:
    return zone.warehouse.parent / "analytics.duckdb"


def read(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{path}' AS copy (READ_ONLY)")
        con.execute("USE copy")
        return con.execute(sql).fetchall()


def test_the_copy_holds_the_marts_and_what_the_dashboard_needs(
    built: tuple[Built, dg.DagsterInstance],
) -> None:
    zone, _ = built
    copy = copy_of(zone)
    assert table_digest(copy, ("marts",)) == table_digest(zone.warehouse, ("marts",))
    assert len(table_digest(copy, ("marts",))) == 13
    assert read(
        copy, "SELECT run_id, first_delivery_day, last_delivery_day FROM published.info"
    ) == [(zone.result.run_id, zone.first, zone.last)]
    quarantine = (
        "SELECT CAST(delivery_date AS DATE), table_name, reason, count(*) "
        "FROM staging.stg_quarantine GROUP BY ALL ORDER BY ALL"
    )
    summary = read(copy, "SELECT * FROM published.quarantine_by_reason ORDER BY ALL")
    assert summary == zone.query(quarantine) and summary
    # Every check that did not pass in the run, each day's latest evaluation: all in the copy,
    # those of the checks that ran after it in the step order too (it runs last).
    failed = {
        (
            e.asset_key.to_user_string(),
            e.check_name,
            e.partition,
            "failed" if e.severity == dg.AssetCheckSeverity.ERROR else "warned",
        )
        for e in zone.result.get_asset_check_evaluations()
        if not e.passed
    }
    published = read(
        copy, "SELECT asset, check_name, partition, status FROM published.check_results"
    )
    assert set(published) == failed and failed
    (materialization,) = zone.result.asset_materializations_for_node("analytics_copy")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert meta["path"] == str(copy.resolve()) and meta["mode"] == "full"
    assert meta["tables"] == 16 and meta["bytes"] == copy.stat().st_size
    assert meta["rows"] > 0 and 0 < meta["publish_seconds"] <= meta["seconds"]


def test_it_follows_the_marts_in_its_own_group_with_the_projects_automation(
    built: tuple[Built, dg.DagsterInstance],
) -> None:
    zone, _ = built
    graph = zone.defs.resolve_asset_graph()
    node = graph.get(ASSET)
    assert node.group_name == "analytics" and node.partitions_def is None
    parents = {k.to_user_string() for k in node.parent_keys}
    assert {"dim_users", "fact_events", "agg_daily_sales", "data_quality_report"} <= parents
    assert len(parents) == 13
    assert node.automation_condition == after_upstream_condition()


def test_a_failed_blocking_check_in_an_earlier_run_holds_the_publish_back(
    built: tuple[Built, dg.DagsterInstance],
) -> None:
    zone, instance = built
    copy = copy_of(zone)
    before = copy.stat()
    graph = zone.defs.resolve_asset_graph()
    check = next(
        k
        for k in graph.asset_check_keys
        if k.asset_key == dg.AssetKey("fact_orders") and graph.get_check_spec(k).blocking
    )
    day = zone.days()[1]
    target = latest_materializations(instance, "fact_orders", [day])[day.isoformat()]
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=check.asset_key,
            check_name=check.name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            blocking=True,
            partition=day.isoformat(),
            target_materialization_data=target,
        )
    )
    result = materialize_days(
        zone.defs, zone.first, zone.last, instance=instance, selection="key:analytics_copy",
        raise_on_error=False,
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.message
    assert "fact_orders failed blocking checks" in message and day.isoformat() in message
    after = copy.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


HOLDER = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)  # as an analyst's duckdb -readonly session
def one(sql):
    return con.execute(sql).fetchone()[0]
def state():
    return {
        "orders": one("SELECT count(*) FROM marts.fact_orders"),
        "days": one("SELECT count(DISTINCT delivery_date) FROM marts.fact_orders"),
        "run_id": one("SELECT run_id FROM published.info"),
    }
print(json.dumps(state()), flush=True)
sys.stdin.readline()  # held open until the test says so
print(json.dumps(state()), flush=True)
"""


def test_a_reader_holding_the_copy_never_makes_a_run_wait(tmp_path: Path) -> None:
    """Another process holds the published copy open (DuckDB's own read-only connection) while
    a run loads a new day and publishes: the run does not wait (a lock wait of 1 s would fail
    it), the holder reads its old snapshot to the end, a new reader sees the new day."""
    zone = make_built(tmp_path / "zone", days=3, scale=0.05, seed=2)
    defs = definitions(zone.landing, zone.warehouse, lock_timeout_s=1.0)
    with dg.DagsterInstance.ephemeral() as instance:
        assert materialize_days(defs, zone.first, zone.last, instance=instance).success
        copy = copy_of(zone)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(copy)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            opened = json.loads(holder.stdout.readline())
            assert opened["days"] == 3
            generate_landing_zone(
                zone.landing, seed=2, scale=0.05, start=START, days=4, rates=HIGH_RATES
            )
            day4 = zone.last + timedelta(days=1)
            started = time.monotonic()
            result = materialize_days(defs, day4, day4, instance=instance)
            took = time.monotonic() - started
            assert result.success
            (published,) = result.asset_materializations_for_node("analytics_copy")
            assert published.metadata["mode"].value == "incremental"
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert json.loads(holder.stdout.readline()) == opened  # its snapshot, whole
        finally:
            holder.kill()
            holder.wait()
    assert took < 120
    days = read(copy, "SELECT count(DISTINCT delivery_date) FROM marts.fact_orders")
    assert days == [(4,)]
    assert read(copy, "SELECT run_id FROM published.info") == [(result.run_id,)]
