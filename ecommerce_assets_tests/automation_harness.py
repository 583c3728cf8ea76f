"""Fake deliveries, recorded loads and the landing sensor and schedule on a clock: what the
automation tests drive without a daemon (``test_automation.py``, ``test_automation_wiring.py``)."""

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from ecommerce_assets.automation import (
    LANDING_SENSOR,
    TRIGGER_TAG,
    WAREHOUSE_TAG,
    build_daily_schedule,
    build_deliveries_job,
    build_landing_sensor,
)
from ecommerce_assets.contract import TABLES
from ecommerce_assets.deliveries import sort_days
from ecommerce_assets.partitions import (
    calendar_partitions,
)
from ecommerce_assets.resources import LANDING, LandingZone
from ecommerce_assets.settings import Settings

D1 = date(2024, 1, 1)
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def deliver(
    landing: Path, day: date, *, complete: bool = True, mtime: float | None = None, text: str = ""
) -> Path:
    """A fake delivery folder; ``mtime`` pins the ``_SUCCESS`` time (re-deliveries), ``text``
    changes the files' content."""
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_SUCCESS").unlink(missing_ok=True)
    (folder / "orders.csv").write_text(",".join(TABLES["orders"].column_names) + "\n" + text)
    if complete:
        marker = folder / "_SUCCESS"
        marker.write_bytes(b"")
        if mtime is not None:
            os.utime(marker, (mtime, mtime))
    return folder


def days(n: int, start: date = D1) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def record_load(instance: dg.DagsterInstance, landing: Path, *loaded: date) -> None:
    """What the raw step records for days it ran (``raw_deliveries``' day metadata)."""
    notes = sort_days(landing, list(loaded), TABLES.values()).ledger_notes()
    for day in loaded:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "raw_deliveries", partition=day.isoformat(), metadata=notes[day]
            )
        )


class Harness:
    """A landing zone, calendar partitions from D1, a clock, and the sensor and schedule."""

    def __init__(self, root: Path, now: datetime = datetime(2025, 1, 1, 12, tzinfo=UTC)) -> None:
        self.landing = root / "landing"
        self.landing.mkdir()
        self.settings = Settings(landing_dir=self.landing, warehouse=root / "wh.duckdb")
        self.partitions = calendar_partitions(D1)
        self.now = now
        job = build_deliveries_job()
        self.sensor = build_landing_sensor(job, self.partitions, now=lambda: self.now)
        self.schedule = build_daily_schedule(job, self.partitions)
        # What the sensor and schedule read at each tick (Definitions binds them by name).
        self.resources = {LANDING: LandingZone(path=str(self.landing))}
        self.cursor: str | None = None
        self._instance = dg.instance_for_test()
        self.instance = self._instance.__enter__()

    def close(self) -> None:
        self._instance.__exit__(None, None, None)

    def tick(self) -> dg.SensorResult | dg.SkipReason:
        """One sensor evaluation; the cursor carries over like the daemon's."""
        with dg.build_sensor_context(
            cursor=self.cursor, instance=self.instance, resources=self.resources
        ) as context:
            result = self.sensor(context)
        if isinstance(result, dg.SensorResult) and result.cursor is not None:
            self.cursor = result.cursor
        return result

    def load(self, *loaded: date) -> None:
        record_load(self.instance, self.landing, *loaded)


def requested(result: dg.SensorResult | dg.SkipReason) -> list[tuple[str, str]]:
    """Each run request as (first day, last day); none for a skip."""
    if isinstance(result, dg.SkipReason):
        return []
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
