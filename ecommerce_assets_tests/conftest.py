"""Shared fixtures: small generated landing zones built into temporary warehouses."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.generate import DEFAULT_RATES, generate_landing_zone
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.settings import Settings

START = date(2024, 1, 1)
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def project_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> Iterator[dg.DagsterInstance]:
    """An instance from the project's dagster.yaml, its storage under ``tmp_path``, with the
    event batching the build and bin/* set (``DAGSTER_EVENT_BATCH_SIZE``)."""
    text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(text.replace("data/dagster", str(tmp_path / "data/dagster")))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", str(batch_size))
    monkeypatch.setenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")  # as the project
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


# Defect rates well above the defaults, so that every class occurs on a few days of small data.
HIGH_RATES = {k: min(v * 10, 0.05) for k, v in DEFAULT_RATES.items() if k != "missing_column"}


@dataclass
class Built:
    """A generated landing zone, its Definitions, and the warehouse built from it."""

    landing: Path
    warehouse: Path
    defs: dg.Definitions
    first: date
    last: date
    result: dg.ExecuteInProcessResult | None = None

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse)) as con:
            return con.execute(sql, params or []).fetchall()

    def manifest(self, day: date) -> dict:
        return json.loads((self.landing / day.isoformat() / "_manifest.json").read_text())

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def values(series: pd.Series) -> list:
    """A column's values with None for NULL (Arrow-backed columns give pd.NA)."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def make_built(root: Path, *, days: int, scale: float, seed: int, clean: bool = False) -> Built:
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate_landing_zone(
        landing, seed=seed, scale=scale, start=START, days=days, clean=clean, rates=HIGH_RATES
    )
    defs = build_definitions(Settings(landing_dir=landing, warehouse=warehouse))
    return Built(landing, warehouse, defs, START, START + timedelta(days=days - 1))


@pytest.fixture(scope="module")
def staged_zone(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Five days at scale 0.3 with many defects, raw + staged layers built in one run."""
    built = make_built(tmp_path_factory.mktemp("staged"), days=5, scale=0.3, seed=7)
    built.result = materialize_days(
        built.defs, built.first, built.last, selection=["group:raw", "group:staging"]
    )
    assert built.result.success
    return built
