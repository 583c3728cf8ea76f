"""What the automation is wired from: the Definitions' jobs, sensors, schedule and conditions,
and the calendar partitions' first day."""

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_assets.automation import (
    AUTOMATION_SENSOR,
    DAILY_SCHEDULE,
    DELIVERIES_JOB,
    LANDING_SENSOR,
    after_upstream_condition,
    late_data_condition,
)
from ecommerce_assets.partitions import (
    calendar_partitions,
    default_first_day,
    partition_bounds,
)
from ecommerce_assets.settings import load_settings

from .automation_harness import D1, deliver
from .conftest import definitions


def test_definitions_wire_jobs_sensors_schedule_and_automation(tmp_path: Path) -> None:
    deliver(tmp_path / "landing", D1)
    defs = definitions(tmp_path / "landing", tmp_path / "wh.duckdb")
    repo = defs.get_repository_def()
    sensors = {s.name: s for s in repo.sensor_defs}
    assert set(sensors) >= {LANDING_SENSOR, AUTOMATION_SENSOR}
    assert {"run_failure_alert", "check_failure_alert"} <= set(sensors)
    for sensor in sensors.values():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    assert repo.get_schedule_def(DAILY_SCHEDULE).job_name == DELIVERIES_JOB
    graph = defs.resolve_asset_graph()
    conditions = {
        key.to_user_string(): graph.get(key).automation_condition
        for key in graph.get_all_asset_keys()
    }
    # Which asset gets which condition; what each requests is evaluated on a real instance in
    # test_automation_evaluated.py.
    unpartitioned = {
        name for name in conditions if graph.get(dg.AssetKey(name)).partitions_def is None
    }
    assert {
        name for name, c in conditions.items() if c == after_upstream_condition()
    } == unpartitioned
    assert {name for name, c in conditions.items() if c == late_data_condition()} == {
        "agg_conversion_funnel"  # reads the next day's late events
    }
    assert conditions["raw_orders"] is None and conditions["stg_orders"] is None
    job = defs.resolve_job_def(DELIVERIES_JOB)
    assert set(job.asset_layer.executable_asset_keys) == set(graph.materializable_asset_keys)


def test_partitions_follow_the_calendar_from_the_first_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open-ended daily partitions: from ECOMMERCE_FIRST_DAY, else the oldest day folder
    (complete or being written), else the first day of the demo (the 366 days ending
    yesterday); the last is yesterday (UTC)."""
    landing = tmp_path / "lz"
    deliver(landing, date(2024, 3, 3))
    assert default_first_day(landing) == date(2024, 3, 3)
    (landing / "2024-03-01").write_text("")  # a file named like a day is not a delivery
    deliver(landing, date(2024, 3, 2), complete=False)  # being written: its day is a partition
    assert default_first_day(landing) == date(2024, 3, 2)
    now = datetime(2026, 12, 6, 8, tzinfo=UTC)
    assert default_first_day(tmp_path / "empty", now) == date(2025, 12, 5)
    parts = calendar_partitions(date(2024, 3, 3))
    assert parts.end is None  # open-ended: no end fixed when the code location loads
    assert partition_bounds(parts, now) == (date(2024, 3, 3), date(2026, 12, 5))
    monkeypatch.setenv("ECOMMERCE_FIRST_DAY", "2024-01-01")
    assert load_settings().first_day == D1
    monkeypatch.setenv("ECOMMERCE_FIRST_DAY", "soon")
    with pytest.raises(ValueError, match="ECOMMERCE_FIRST_DAY"):
        load_settings()
