"""The landing-zone sensor, the daily schedule and the automation wiring, without a daemon.

The sensor and schedule only look at folders and ``_SUCCESS`` markers, so these tests fake
deliveries with empty folders: fast and exact.
"""

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_assets.automation import (
    AUTOMATION_SENSOR,
    DAILY_SCHEDULE,
    DELIVERIES_JOB,
    LANDING_SENSOR,
    TRIGGER_TAG,
    WAREHOUSE_TAG,
    after_upstream_condition,
    build_daily_schedule,
    build_deliveries_job,
    build_landing_sensor,
    contiguous_blocks,
    dump_cursor,
    late_data_condition,
    parse_cursor,
)
from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.partitions import delivery_partitions, partitions_end_from_env
from ecommerce_assets.runner import range_tags
from ecommerce_assets.settings import Settings

D1 = date(2024, 1, 1)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def deliver(landing: Path, day: date, *, complete: bool = True, mtime: float | None = None) -> Path:
    """A fake delivery folder; ``mtime`` pins the ``_SUCCESS`` time (re-deliveries)."""
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text("order_id\n")
    if complete:
        marker = folder / "_SUCCESS"
        marker.write_bytes(b"")
        if mtime is not None:
            os.utime(marker, (mtime, mtime))
    return folder


def days(n: int, start: date = D1) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


class Harness:
    """A landing zone, a partition window and the sensor/schedule built for them."""

    def __init__(self, root: Path, last_partition: date = date(2024, 12, 31)) -> None:
        self.landing = root / "landing"
        self.landing.mkdir()
        self.settings = Settings(landing_dir=self.landing, warehouse=root / "wh.duckdb")
        self.partitions = dg.DailyPartitionsDefinition(
            start_date=D1.isoformat(), end_date=(last_partition + timedelta(days=1)).isoformat()
        )
        job = build_deliveries_job()
        self.sensor = build_landing_sensor(job, self.partitions, self.settings)
        self.schedule = build_daily_schedule(job, self.partitions, self.settings)
        self.cursor: str | None = None

    def tick(self, instance: dg.DagsterInstance | None = None) -> dg.SensorResult | dg.SkipReason:
        """One sensor evaluation; the cursor carries over like the daemon's."""
        context = dg.build_sensor_context(cursor=self.cursor, instance=instance)
        result = self.sensor(context)
        if isinstance(result, dg.SensorResult) and result.cursor is not None:
            self.cursor = result.cursor
        return result


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def requested(result: dg.SensorResult | dg.SkipReason) -> list[tuple[str, str]]:
    """Each run request as (first day, last day)."""
    assert isinstance(result, dg.SensorResult), result
    out = []
    for req in result.run_requests or []:
        assert req.tags[WAREHOUSE_TAG]
        assert req.tags[TRIGGER_TAG] == LANDING_SENSOR
        if req.partition_key:
            out.append((req.partition_key, req.partition_key))
        else:
            out.append((req.tags[RANGE_START], req.tags[RANGE_END]))
    return out


def skip_message(result: dg.SensorResult | dg.SkipReason) -> str:
    if isinstance(result, dg.SkipReason):
        return result.skip_message or ""
    assert not result.run_requests, result.run_requests
    return result.skip_reason.skip_message if result.skip_reason else ""


def test_new_day_is_requested_once(h: Harness) -> None:
    deliver(h.landing, D1)
    assert requested(h.tick()) == [("2024-01-01", "2024-01-01")]
    assert "no new" in skip_message(h.tick())
    deliver(h.landing, D1 + timedelta(days=1))
    assert requested(h.tick()) == [("2024-01-02", "2024-01-02")]
    assert set(parse_cursor(h.cursor)) == {"2024-01-01", "2024-01-02"}


def test_redelivery_with_a_newer_success_is_requested_again(h: Harness) -> None:
    for day in days(3):
        deliver(h.landing, day, mtime=1_700_000_000)
    assert requested(h.tick()) == [("2024-01-01", "2024-01-03")]
    deliver(h.landing, D1 + timedelta(days=1), mtime=1_700_000_500)  # day 2 re-delivered
    assert requested(h.tick()) == [("2024-01-02", "2024-01-02")]
    assert "no new" in skip_message(h.tick())


def test_incomplete_folder_is_not_requested_until_success_appears(h: Harness) -> None:
    deliver(h.landing, D1)
    h.tick()
    deliver(h.landing, D1 + timedelta(days=1), complete=False)
    result = h.tick()
    assert "no new" in skip_message(result)
    assert "2024-01-02" not in parse_cursor(h.cursor)
    deliver(h.landing, D1 + timedelta(days=1))
    assert requested(h.tick()) == [("2024-01-02", "2024-01-02")]


def test_redelivery_in_progress_keeps_the_old_stamp(h: Harness) -> None:
    deliver(h.landing, D1, mtime=1_700_000_000)
    h.tick()
    (h.landing / "2024-01-01" / "_SUCCESS").unlink()  # the source starts re-delivering
    assert "no new" in skip_message(h.tick())
    assert parse_cursor(h.cursor)["2024-01-01"] == 1_700_000_000 * 10**9


def test_nothing_in_the_landing_zone_skips(h: Harness) -> None:
    assert "no new" in skip_message(h.tick())
    assert h.cursor is None


def test_many_waiting_days_go_as_one_range_run(h: Harness) -> None:
    for day in days(366):
        deliver(h.landing, day)
    result = h.tick()
    assert requested(result) == [("2024-01-01", "2024-12-31")]
    assert result.run_requests[0].tags == {
        WAREHOUSE_TAG: "duckdb",
        TRIGGER_TAG: LANDING_SENSOR,
        **range_tags(date(2024, 1, 1), date(2024, 12, 31)),
    }
    assert len(parse_cursor(h.cursor)) == 366


def test_gaps_split_into_one_run_per_block_of_consecutive_days(h: Harness) -> None:
    for day in [*days(3), date(2024, 1, 10), date(2024, 1, 11)]:
        deliver(h.landing, day)
    assert requested(h.tick()) == [("2024-01-01", "2024-01-03"), ("2024-01-10", "2024-01-11")]
    assert contiguous_blocks([date(2024, 1, 5), D1, date(2024, 1, 2)]) == [
        (D1, date(2024, 1, 2)),
        (date(2024, 1, 5), date(2024, 1, 5)),
    ]


def test_run_keys_are_stable_so_a_replayed_tick_launches_nothing_twice(h: Harness) -> None:
    for day in days(2):
        deliver(h.landing, day, mtime=1_700_000_000)
    first = h.tick().run_requests[0].run_key
    h.cursor = None  # the daemon lost the cursor update (crash after submitting)
    again = h.tick().run_requests[0].run_key
    assert first == again and first.startswith("2024-01-01..2024-01-02@")
    deliver(h.landing, D1, mtime=1_700_000_900)
    h.cursor = None
    assert h.tick().run_requests[0].run_key != first  # a re-delivery is a new run key


def test_deliveries_beyond_the_partition_window_ask_for_a_reload(tmp_path: Path) -> None:
    h = Harness(tmp_path, last_partition=date(2024, 1, 2))
    for day in days(2):
        deliver(h.landing, day)
    h.tick()
    deliver(h.landing, date(2024, 1, 3))
    message = skip_message(h.tick())
    assert "2024-01-03" in message and "reload the code location" in message
    assert "ECOMMERCE_PARTITIONS_END" in message
    assert "2024-01-03" not in parse_cursor(h.cursor)  # picked up after the reload


def test_first_tick_skips_days_already_materialized(h: Harness) -> None:
    for day in days(3):
        deliver(h.landing, day, mtime=1_700_000_000)
    with dg.instance_for_test() as instance:
        for day in days(2):
            instance.report_runless_asset_event(
                dg.AssetMaterialization("raw_orders", partition=day.isoformat())
            )
        assert requested(h.tick(instance)) == [("2024-01-03", "2024-01-03")]
        assert set(parse_cursor(h.cursor)) == {"2024-01-01", "2024-01-02", "2024-01-03"}


def test_cursor_round_trips() -> None:
    stamps = {"2024-01-02": 2, "2024-01-01": 1}
    assert parse_cursor(dump_cursor(stamps)) == stamps
    assert parse_cursor(None) == {}


def schedule_at(h: Harness, when: datetime, instance: dg.DagsterInstance | None = None):
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    return h.schedule(context)


def test_schedule_requests_yesterdays_delivery(h: Harness) -> None:
    deliver(h.landing, D1)
    deliver(h.landing, D1 + timedelta(days=1))
    result = schedule_at(h, datetime(2024, 1, 3, 2, tzinfo=UTC))
    assert isinstance(result, dg.RunRequest)
    assert result.partition_key == "2024-01-02"
    assert result.tags[WAREHOUSE_TAG] and result.tags[TRIGGER_TAG] == DAILY_SCHEDULE
    assert h.schedule.cron_schedule == "0 2 * * *"
    assert h.schedule.execution_timezone == "UTC"


def test_schedule_skips_with_a_reason_when_the_delivery_is_not_there(h: Harness) -> None:
    deliver(h.landing, D1)
    result = schedule_at(h, datetime(2024, 1, 5, 2, tzinfo=UTC))
    assert isinstance(result, dg.SkipReason)
    assert "2024-01-04 has not arrived" in result.skip_message
    assert "newest complete delivery: 2024-01-01" in result.skip_message
    deliver(h.landing, date(2024, 1, 4), complete=False)
    result = schedule_at(h, datetime(2024, 1, 5, 2, tzinfo=UTC))
    assert isinstance(result, dg.SkipReason)
    assert "being written (no _SUCCESS yet)" in result.skip_message


def test_schedule_skips_a_delivery_already_processed(h: Harness) -> None:
    deliver(h.landing, D1, mtime=1_700_000_000)
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("raw_orders", partition="2024-01-01")
        )
        result = schedule_at(h, datetime(2024, 1, 2, 2, tzinfo=UTC), instance)
    assert isinstance(result, dg.SkipReason)
    assert "already processed" in result.skip_message


def test_definitions_wire_jobs_sensors_schedule_and_automation(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    deliver(h.landing, D1)
    defs = build_definitions(h.settings)
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


def test_partitions_end_env_extends_the_window(tmp_path: Path) -> None:
    landing = tmp_path / "lz"
    deliver(landing, D1)
    end = partitions_end_from_env({"ECOMMERCE_PARTITIONS_END": "2024-01-31"})
    assert end == date(2024, 1, 31)
    parts = delivery_partitions(landing, end)
    assert parts.get_last_partition_key() == "2024-01-31"
    assert delivery_partitions(landing).get_last_partition_key() == "2024-01-01"
    assert partitions_end_from_env({}) is None
    with pytest.raises(ValueError, match="ECOMMERCE_PARTITIONS_END"):
        partitions_end_from_env({"ECOMMERCE_PARTITIONS_END": "soon"})
