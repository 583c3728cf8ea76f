"""Shared fixtures: small generated landing zones built into temporary warehouses; and the four
test groups, so a developer has a quick loop (README, "Tests").

- ``unit``: pure functions and file readers on tiny inputs, no Dagster run (about two minutes);
- ``pipeline``: the asset graph materialized in-process on generated or hand-written landing
  zones into temporary warehouses and instances;
- ``e2e``: the real tools a user runs, as processes: the ``dagster``/``dg`` CLIs, ``bin/build``,
  the webserver's GraphQL, the daemon, a headless browser;
- ``lake``: the lake profile (a DuckLake warehouse, the instance in PostgreSQL), in its own venv
  (``.venv-lake``, DuckDB 1.4.4) with ``ECOMMERCE_PROFILE=lake``: ``bin/test``'s lake pass. Run
  anywhere else, a lake test fails (it is not skipped) saying how to run it. A lake module imports
  the ``lake`` extra's packages inside its tests: the default pass collects it before deselecting.

Every test module is in exactly one group (a module nobody classified fails the collection); a
test heavier than its module's group is listed in ``HEAVIER``.
"""

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster._core.storage.defs_state import base as defs_state

from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.generate import DEFAULT_RATES, generate_landing_zone
from ecommerce_assets.instance_storage import STRICT_ENV
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.settings import Settings
from ecommerce_assets.slices import days_in

START = date(2024, 1, 1)
ROOT = Path(__file__).resolve().parents[1]

GROUPS: dict[str, set[str]] = {
    "unit": {
        "test_alerts",
        "test_automation",
        "test_automation_wiring",
        "test_bench",
        "test_catalog_client",
        "test_dimensions",
        "test_generate",
        "test_generate_live",
        "test_house",
        "test_landing",
        "test_publish",
        "test_security",
        "test_slices",
        "test_staging",
        "test_staging_across_deliveries",
        "test_test_groups",
    },
    "pipeline": {
        "test_aggregates",
        "test_analytics",
        "test_arrival_order",
        "test_automation_evaluated",
        "test_catalog_api_pipeline",
        "test_check_kinds",
        "test_check_status",
        "test_checks",
        "test_day_isolation",
        "test_facts",
        "test_instance_storage",
        "test_io_manager",
        "test_oracle",
        "test_per_day",
        "test_pipeline",
        "test_properties",
        "test_reliability_faults",
        "test_reliability_deliveries",
        "test_reliability_input",
    },
    "e2e": {
        "test_browser",
        "test_browser_backfill",
        "test_browser_per_day",
        "test_browser_readme",
        "test_build_run",
        "test_catalog_api_build",
        "test_cli",
        "test_daemon_e2e",
        "test_dagster_cli",
        "test_dashboard",
        "test_runs_by_itself",
        "test_webserver",
    },
    "lake": {
        "test_lake_instance",
        "test_lake_backfill",
        "test_lake_warehouse",
    },
}
# Tests heavier than their module's group: (module, test name prefix) -> group.
HEAVIER: dict[tuple[str, str], str] = {
    ("test_dimensions", "test_keys_stable_across_rebuild_and_added_delivery"): "pipeline",
    ("test_arrival_order", "test_relink_days_names_the_days_whose_links_change"): "unit",
}


def group_of(module: str, test: str) -> str:
    """The group of ``module``'s test ``test`` (a test whose name says daemon is ``e2e``)."""
    if "daemon" in test:
        return "e2e"
    for (heavy_module, prefix), group in HEAVIER.items():
        if module == heavy_module and test.startswith(prefix):
            return group
    for group, modules in GROUPS.items():
        if module in modules:
            return group
    raise pytest.UsageError(
        f"{module}.py is in no test group: add it to GROUPS in ecommerce_assets_tests/conftest.py"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        item.add_marker(group_of(module, item.name))


def lake_profile_problem() -> str | None:
    """Why this process cannot run the lake group's tests, or None when it can."""
    profile = os.environ.get("ECOMMERCE_PROFILE")
    if profile != "lake":
        return f"ECOMMERCE_PROFILE is {'unset' if profile is None else repr(profile)}, not 'lake'"
    if importlib.util.find_spec("dagster_postgres") is None or duckdb.__version__ != "1.4.4":
        return f"this Python ({sys.prefix}) is not .venv-lake with the project's `lake` extra"
    if not os.environ.get("ECOMMERCE_PG_HOST"):
        return "ECOMMERCE_PG_HOST is not set (bin/_setup sets it from bin/postgres env)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A lake test outside the lake profile fails before its fixtures run, saying how to run it."""
    if item.get_closest_marker("lake") is not None and (problem := lake_profile_problem()):
        pytest.fail(
            f"a lake test outside the lake profile: {problem}. Run it with bin/test (its lake "
            "pass) or ECOMMERCE_PROFILE=lake bin/test -m lake",
            pytrace=False,
        )


# A batched event-log write that falls back to per-event writes is an error in every test, and in
# every process a test starts (webservers, daemons, builds inherit the environment).
os.environ.setdefault(STRICT_ENV, "1")


@pytest.fixture(autouse=True)
def _no_stale_defs_state_storage() -> Iterator[None]:
    """Each test starts without a current ``DefsStateStorage``.

    Entering a ``DagsterInstance`` (``with instance:``) makes its defs-state storage the process's
    current one (a context variable) until the block exits; an instance a test leaves entered and
    then drops leaves a storage whose instance is gone, and every later ``Definitions`` resolved
    in this process fails ("Attempted to resolve undefined DagsterInstance weakref").
    """
    token = defs_state._current_storage.set(None)
    try:
        yield
    finally:
        defs_state._current_storage.reset(token)


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
        return days_in(self.first, self.last + timedelta(days=1))


# Columns that say when and by which run a row was loaded, not what it holds: left out of digests.
RUN_LINEAGE = ("ingested_at", "loaded_at", "run_id", "success_at")


def table_digest(
    warehouse: Path, schemas: tuple[str, ...] = ("raw", "staging")
) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent content checksum of every table of ``schemas``.

    The checksum XORs a hash of every row, so it sees one changed cell, a lost row or a duplicated
    one (which cancels only in pairs; counts catch that). Run lineage (``RUN_LINEAGE``: the wall
    clock of a load, its run, the source's ``_SUCCESS`` time) is left out.
    """
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE list_contains(?, table_schema) ORDER BY 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in RUN_LINEAGE
            ]
            row = ", ".join(f'"{c}"' for c in cols)
            count, digest = con.execute(
                f'SELECT count(*), coalesce(bit_xor(hash(row({row}))), 0) FROM "{schema}"."{table}"'
            ).fetchone()
            out[f"{schema}.{table}"] = (int(count), str(digest))
    return out


def definitions(landing: Path, warehouse: Path | str, **settings: object) -> dg.Definitions:
    """The project's Definitions on ``landing`` and ``warehouse`` (a file or a lake)."""
    return build_definitions(Settings(landing_dir=landing, warehouse=warehouse, **settings))


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the DuckDB file ``warehouse``, opened read-only."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def values(series: pd.Series) -> list:
    """A column's values with None for NULL (Arrow-backed columns give pd.NA)."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def make_built(root: Path, *, days: int, scale: float, seed: int, clean: bool = False) -> Built:
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    generate_landing_zone(
        landing, seed=seed, scale=scale, start=START, days=days, clean=clean, rates=HIGH_RATES
    )
    return Built(
        landing, warehouse, definitions(landing, warehouse), START, START + timedelta(days=days - 1)
    )


@pytest.fixture(scope="module")
def staged_zone(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Five days at scale 0.3 with many defects, raw + staged layers built in one run."""
    built = make_built(tmp_path_factory.mktemp("staged"), days=5, scale=0.3, seed=7)
    built.result = materialize_days(
        built.defs, built.first, built.last, selection=["group:raw", "group:staging"]
    )
    assert built.result.success
    return built
