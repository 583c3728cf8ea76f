"""Per-day check status as Dagster records it (what the UI's check and partition views read), and
the row-count anomaly rule calibrated on generated data.

- A range run records each day's status; re-running clean days leaves a day that still holds its
  defect failed; fixing that day's delivery and re-running it turns it green.
- While a day runs, the day of an asset still to come in the run is in progress, with the planned
  events bin/ui's webserver and daemon record.
- On a clean generated year the anomaly rule raises nothing; a 30 % drop in a busy table (orders
  at scale 20, ~1,100 a day) is caught on every day it is planted.
"""

import csv
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

# Private: the partition statuses the UI's partition bar shows have no public type.
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from ecommerce_assets.assets import aggregates as aggregate_assets
from ecommerce_assets.checks.anomalies import row_count_anomalies
from ecommerce_assets.contract import TABLE_NAMES
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .conftest import ROOT, make_built, project_instance

CHECK = dg.AssetCheckKey(dg.AssetKey("raw_orders"), "unexpected_columns")
PLANNED_SUBSETS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    with project_instance(tmp_path, monkeypatch, batch_size=100) as inst:
        yield inst


def _status(instance: dg.DagsterInstance, defs: dg.Definitions) -> dict[str, str]:
    """Each day's resolved status of CHECK, as Dagster's asset-check state has it."""
    partitions = defs.resolve_asset_graph().get_check_spec(CHECK).partitions_def
    state = instance.event_log_storage.get_asset_check_state([(CHECK, partitions)])[CHECK]
    out = {}
    for status, subset in state.subsets.items():
        for key in subset.subset_value.get_partition_keys():
            out[key] = status.value
    return out


def _add_column(path: Path, name: str) -> None:
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    rows = [[*row, name if i == 0 else "x"] for i, row in enumerate(rows)]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def test_a_days_check_stays_failed_until_that_day_is_fixed(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    built = make_built(tmp_path, days=4, scale=0.05, seed=3, clean=True)
    day1, day2, day3, day4 = [d.isoformat() for d in built.days()]
    orders = built.landing / day2 / "orders.csv"
    original = orders.read_bytes()
    _add_column(orders, "coupon_code")
    raw = "group:raw"

    assert materialize_days(built.defs, built.first, built.last, instance=instance, selection=raw)
    assert _status(instance, built.defs) == {
        day1: "SUCCEEDED",
        day2: "FAILED",
        day3: "SUCCEEDED",
        day4: "SUCCEEDED",
    }
    # Clean days re-run: the run's checks pass, and day 2 still shows its defect.
    last = built.days()[2:]
    result = materialize_days(built.defs, last[0], last[1], instance=instance, selection=raw)
    evaluations = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == CHECK]
    assert sorted(e.partition for e in evaluations) == [day3, day4]
    assert all(e.passed for e in evaluations)
    assert _status(instance, built.defs)[day2] == "FAILED"
    # The delivery fixed and its day re-run: green.
    orders.write_bytes(original)
    d2 = built.days()[1]
    materialize_days(built.defs, d2, d2, instance=instance, selection=raw)
    assert set(_status(instance, built.defs).values()) == {"SUCCEEDED"}


def test_a_day_being_run_shows_in_progress(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bin/_setup (bin/ui's webserver and daemon) leaves ``DAGSTER_EMIT_PARTITION_SUBSET_IN_
    PLANNED_EVENTS`` unset, and with Dagster's per-partition planned events a day's run shows the
    day of an asset still to come as in progress, one already written as materialized: what the
    UI's partition bar shows and the automation's in_progress guards read. With the setting (it
    was bin/_setup's) Dagster 1.13 reported no partition of a run in progress."""
    env = {k: v for k, v in os.environ.items() if k not in {PLANNED_SUBSETS, "ECOMMERCE_PROFILE"}}
    shown = subprocess.run(
        ["bash", "-c", f'source bin/_setup >/dev/null; echo "${{{PLANNED_SUBSETS}-unset}}"'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == "unset"
    monkeypatch.delenv(PLANNED_SUBSETS)  # the project's instance, as bin/ui's processes have it
    built = make_built(tmp_path / "zone", days=1, scale=0.02, seed=3, clean=True)
    reached, release = threading.Event(), threading.Event()
    real = aggregate_assets.build_agg_conversion_funnel

    def held(*args: object) -> object:  # the funnel's step waits while the statuses are read
        reached.set()
        release.wait(120)
        return real(*args)

    monkeypatch.setattr(aggregate_assets, "build_agg_conversion_funnel", held)
    done: list[bool] = []
    run = threading.Thread(
        target=lambda: done.append(
            materialize_days(built.defs, built.first, built.first, instance=instance).success
        )
    )
    run.start()
    try:
        assert reached.wait(120), "the run did not reach the funnel's step"
        day = built.first.isoformat()
        graph = built.defs.resolve_asset_graph()
        status = {
            asset: instance.get_status_by_partition(
                dg.AssetKey(asset), [day], graph.get(dg.AssetKey(asset)).partitions_def
            )[day]
            for asset in ("fact_events", "agg_conversion_funnel")
        }
    finally:
        release.set()
        run.join()
    assert status == {
        "fact_events": AssetPartitionStatus.MATERIALIZED,
        "agg_conversion_funnel": AssetPartitionStatus.IN_PROGRESS,
    }
    assert done == [True]


def _counts(landing: Path, table: str) -> dict[date, int]:
    counts = {}
    for folder in sorted(landing.iterdir()):
        path = folder / f"{table}.csv"
        if path.is_file():
            with path.open(newline="", encoding="utf-8-sig") as f:
                counts[date.fromisoformat(folder.name)] = sum(1 for _ in csv.reader(f)) - 1
    return counts


def test_row_count_anomaly_is_quiet_on_a_clean_generated_year(tmp_path: Path) -> None:
    generate_landing_zone(tmp_path, seed=11, scale=1.0, days=366, clean=True)
    for table in TABLE_NAMES:
        counts = _counts(tmp_path, table)
        judged, found = row_count_anomalies(counts, sorted(counts))
        assert len(judged) > 200, table
        assert found == [], table


def test_row_count_anomaly_catches_a_thirty_percent_drop(tmp_path: Path) -> None:
    generate_landing_zone(tmp_path, seed=12, scale=20.0, days=70, clean=True)
    counts = _counts(tmp_path, "orders")
    days = sorted(counts)
    judged, found = row_count_anomalies(counts, days)
    assert found == [] and len(judged) >= 21
    for day in days[-21:]:
        dropped = {**counts, day: round(counts[day] * 0.7)}
        _, found = row_count_anomalies(dropped, [day])
        assert [a.day for a in found] == [day], (day, counts[day], judged[day])
    assert min(counts.values()) > 800 and max(days) - min(days) == timedelta(days=69)
