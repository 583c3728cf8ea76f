"""Reliability under faults: a killed run, a locked warehouse, a failing backfill, concurrent runs.

Each test injects one fault against a real DuckDB file and proves: the warehouse opens cleanly,
committed days keep their exact content, nothing is half-written, and a re-run completes with
every row counted exactly once (against the generator's manifests).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.contract import TABLES
from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.settings import Settings
from ecommerce_assets.warehouse import WarehouseLockedError, connect

from .conftest import HIGH_RATES, START, Built, make_built, table_digest

# Assets only: the asset checks (tested elsewhere) would only add time here.
LAYERS = dg.AssetSelection.groups("raw", "staging").without_checks()
STAGED_TABLES = [*(f"stg_{t}" for t in TABLES), "stg_quarantine", "stg_load_audit"]


def per_day_counts(built: Built) -> dict[tuple[str, str], int]:
    out = {}
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        for table in TABLES:
            for prefix, schema in (("raw_", "raw"), ("stg_", "staging")):
                rows = con.execute(
                    f"SELECT strftime(delivery_date, '%Y-%m-%d'), count(*) "
                    f"FROM {schema}.{prefix}{table} GROUP BY ALL"
                ).fetchall()
                out |= {(prefix + table, d): n for d, n in rows}
    return out


def expected_counts(built: Built, days: list[date]) -> dict[tuple[str, str], int]:
    out = {}
    for day in days:
        for table, info in built.manifest(day)["tables"].items():
            if info["rows"]:
                out[("raw_" + table, day.isoformat())] = info["rows"]
            if info["staged"]:
                out[("stg_" + table, day.isoformat())] = info["staged"]
    return out


def assert_no_duplicate_keys(built: Built) -> None:
    """Every staged key appears once per delivery day (users/products: once per version)."""
    for name, spec in TABLES.items():
        key = f"{spec.key}, {spec.version_column}" if spec.version_column else spec.key
        dupes = built.query(
            f"SELECT count(*) FROM (SELECT delivery_date, {key} FROM staging.stg_{name} "
            "GROUP BY ALL HAVING count(*) > 1)"
        )
        assert dupes == [(0,)], name


SEED, SCALE, ZONE_DAYS = 13, 0.05, 3


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Three small days, raw + staged built once; each test copies it before breaking it."""
    built = make_built(tmp_path_factory.mktemp("faults"), days=ZONE_DAYS, scale=SCALE, seed=SEED)
    assert materialize_days(built.defs, built.first, built.last, selection=LAYERS).success
    return built


def copy_zone(zone: Built, root: Path, lock_timeout_s: float = 60.0) -> Built:
    shutil.copytree(zone.landing, root / "landing")
    shutil.copy(zone.warehouse, root / "warehouse.duckdb")
    settings = Settings(root / "landing", root / "warehouse.duckdb", lock_timeout_s)
    return Built(
        settings.landing_dir,
        settings.warehouse.file,
        build_definitions(settings),
        zone.first,
        zone.last,
    )


def redeliver(built: Built, day: date) -> None:
    """Replace a day's delivery with a re-delivery of another size: the same source (its rows
    and keys, which other days never reuse) sent with other defects, so the run would change it.
    """
    other = built.landing.parent / "other"
    generate_landing_zone(
        other, seed=SEED, scale=SCALE, start=built.first, days=ZONE_DAYS, rates={}
    )
    shutil.rmtree(built.landing / day.isoformat())
    shutil.copytree(other / day.isoformat(), built.landing / day.isoformat())


# ------------------------------------------------------------------------------------------------
# SIGKILL in the middle of writing a table.
# ------------------------------------------------------------------------------------------------
KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path
    import dagster as dg
    import ecommerce_assets.io_manager as io
    from ecommerce_assets.definitions import build_definitions
    from ecommerce_assets.runner import materialize_days
    from ecommerce_assets.settings import Settings

    landing, warehouse, day, target = sys.argv[1:5]
    real_write = io.write_chunks

    class Stall:
        # Delegates to the connection, but stalls forever just before the target's COMMIT.
        def __init__(self, con, table):
            self.con, self.table = con, table
        def __getattr__(self, name):
            return getattr(self.con, name)
        def execute(self, sql, *args):
            if sql == "COMMIT" and self.table == target:
                print("inside-transaction", flush=True)
                time.sleep(600)
            # A chunk is read by DuckDB's replacement scan of its caller's local (writes.py,
            # _sql_on_chunk): this wrapper is now that caller, so it holds the chunk under that
            # name.
            _ecommerce_chunk = sys._getframe(1).f_locals.get("_ecommerce_chunk")
            return self.con.execute(sql, *args)

    def stalling_write(con, schema, table, *args, **kwargs):
        return real_write(Stall(con, table), schema, table, *args, **kwargs)

    io.write_chunks = stalling_write
    defs = build_definitions(Settings(landing_dir=Path(landing), warehouse=Path(warehouse)))
    d = date.fromisoformat(day)
    layers = dg.AssetSelection.groups("raw", "staging").without_checks()
    materialize_days(defs, d, d, selection=layers)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("target", ["stg_orders"])
def test_sigkill_while_writing_a_table_loses_nothing(
    zone: Built, tmp_path: Path, target: str
) -> None:
    built = copy_zone(zone, tmp_path)
    before = table_digest(built.warehouse)
    day = built.first + timedelta(days=1)
    redeliver(built, day)  # the run would change this day

    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            *map(str, (built.landing, built.warehouse, day)),
            target,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line == "inside-transaction", line
        os.kill(proc.pid, signal.SIGKILL)  # the table's DELETE and INSERT ran, COMMIT did not
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # The warehouse opens cleanly; the interrupted table holds its previous content.
    after = table_digest(built.warehouse)
    prefix = target.split("_")[0] + "."
    schema = {"raw.": "raw.", "stg.": "staging."}[prefix]
    assert after[schema + target] == before[schema + target]
    # Tables committed before the kill hold the new day; nothing else changed.
    assert set(after) == set(before)

    # A re-run completes, and every day holds exactly its delivery.
    assert materialize_days(built.defs, day, day, selection=LAYERS).success
    assert per_day_counts(built) == expected_counts(built, built.days())
    assert_no_duplicate_keys(built)


# ------------------------------------------------------------------------------------------------
# The warehouse locked by another process.
# ------------------------------------------------------------------------------------------------
HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


def test_locked_warehouse_waits_then_fails_naming_the_holder(zone: Built, tmp_path: Path) -> None:
    built = copy_zone(zone, tmp_path, lock_timeout_s=1.5)
    before = table_digest(built.warehouse)
    redeliver(built, built.last)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(built.warehouse), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = materialize_days(
            built.defs, built.last, built.last, selection=LAYERS, raise_on_error=False
        )
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    chain, cause = [], error
    while cause is not None:
        chain.append(cause.message)
        cause = cause.cause
    text = " ".join(chain)
    assert f"PID {holder.pid}" in text and "locked by" in text and "waited" in text
    assert table_digest(built.warehouse) == before  # nothing half-written

    # With the holder gone, the same run completes.
    assert materialize_days(built.defs, built.last, built.last, selection=LAYERS).success
    assert per_day_counts(built) == expected_counts(built, built.days())


def test_a_run_waits_for_a_locked_warehouse_once(tmp_path: Path) -> None:
    """Every connection of one run shares the deadline of its first wait: once the run has
    waited its ECOMMERCE_LOCK_TIMEOUT, its next step fails at once (it would otherwise wait the
    10 minutes asked for here), saying so; another run waits its own timeout."""
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), "120"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with (
            pytest.raises(WarehouseLockedError, match=rf"PID {holder.pid}\); waited 1s"),
            connect(warehouse, 1.0, run_id="run-a"),
        ):
            pass
        with (
            pytest.raises(WarehouseLockedError, match="the run already waited"),
            connect(warehouse, 600.0, run_id="run-a"),
        ):
            pass
        with (
            pytest.raises(WarehouseLockedError, match="; waited 1s"),
            connect(warehouse, 1.0, run_id="run-b"),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)


# ------------------------------------------------------------------------------------------------
# A failure in the middle of a single-run backfill.
# ------------------------------------------------------------------------------------------------
def test_failure_mid_backfill_keeps_committed_days_and_rerun_completes(
    zone: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days 1-3 committed by an earlier run; a backfill of 1-6 fails while staging orders (after
    raw and the first staged tables committed the whole range); a re-run finishes, no duplicates."""
    root = tmp_path
    shutil.copytree(zone.landing, root / "landing")
    shutil.copy(zone.warehouse, root / "warehouse.duckdb")
    generate_landing_zone(root / "more", seed=13, scale=0.05, start=START, days=6, rates=HIGH_RATES)
    for day in ("2024-01-04", "2024-01-05", "2024-01-06"):
        shutil.copytree(root / "more" / day, root / "landing" / day)
    settings = Settings(root / "landing", root / "warehouse.duckdb")
    built = Built(
        settings.landing_dir,
        settings.warehouse.file,
        build_definitions(settings),
        START,
        date(2024, 1, 6),
    )
    committed = expected_counts(built, built.days()[:3])
    assert per_day_counts(built) == committed

    import ecommerce_assets.assets.staging as staging_assets

    real = staging_assets.stage_table

    def failing(spec, raw, *context):
        if spec.name == "orders":
            raise RuntimeError("injected: the machine ran out of memory staging orders")
        return real(spec, raw, *context)

    monkeypatch.setattr(staging_assets, "stage_table", failing)
    result = materialize_days(
        built.defs, built.first, built.last, selection=LAYERS, raise_on_error=False
    )
    assert not result.success
    counts = per_day_counts(built)
    # Every committed table is exact for every day it holds: no day partially replaced.
    expected_all = expected_counts(built, built.days())
    for key, n in counts.items():
        assert n == expected_all[key], key
    # Staged orders (the failed write) still hold exactly the days committed before.
    assert {k: v for k, v in counts.items() if k[0] == "stg_orders"} == {
        k: v for k, v in committed.items() if k[0] == "stg_orders"
    }

    monkeypatch.setattr(staging_assets, "stage_table", real)
    assert materialize_days(built.defs, built.first, built.last, selection=LAYERS).success
    assert per_day_counts(built) == expected_all
    assert_no_duplicate_keys(built)


# ------------------------------------------------------------------------------------------------
# Concurrent runs for different days against one warehouse.
# ------------------------------------------------------------------------------------------------
ONE_DAY_RUN = textwrap.dedent(
    """
    import sys
    from datetime import date
    from pathlib import Path
    import dagster as dg
    from ecommerce_assets.definitions import build_definitions
    from ecommerce_assets.runner import materialize_days
    from ecommerce_assets.settings import Settings

    landing, warehouse, day = sys.argv[1:4]
    settings = Settings(Path(landing), Path(warehouse), lock_timeout_s=120)
    defs = build_definitions(settings)
    d = date.fromisoformat(day)
    layers = dg.AssetSelection.groups("raw", "staging").without_checks()
    result = materialize_days(defs, d, d, selection=layers)
    sys.exit(0 if result.success else 1)
    """
)


def test_concurrent_runs_for_different_days_all_succeed_with_exact_counts(
    zone: Built, tmp_path: Path
) -> None:
    shutil.copytree(zone.landing, tmp_path / "landing")
    settings = Settings(tmp_path / "landing", tmp_path / "warehouse.duckdb")
    built = Built(
        settings.landing_dir,
        settings.warehouse.file,
        build_definitions(settings),
        zone.first,
        zone.last,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ONE_DAY_RUN, *map(str, (built.landing, built.warehouse, day))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day in built.days()
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    for proc, err in zip(procs, errors, strict=True):
        assert proc.returncode == 0, err[-3000:]
    assert per_day_counts(built) == expected_counts(built, built.days())
    assert_no_duplicate_keys(built)
    # The same content as the one-run build of the same deliveries.
    assert table_digest(built.warehouse) == table_digest(zone.warehouse)


def test_table_digest_sees_a_changed_value(zone: Built, tmp_path: Path) -> None:
    """The checksum used above is sensitive to one changed cell (it is not a row count)."""
    db = tmp_path / "w.duckdb"
    shutil.copy(zone.warehouse, db)
    before = table_digest(db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE staging.stg_orders SET shipping_amount = shipping_amount + 0.01 "
            "WHERE order_id = (SELECT min(order_id) FROM staging.stg_orders)"
        )
    after = table_digest(db)
    assert after["staging.stg_orders"][0] == before["staging.stg_orders"][0]
    assert after["staging.stg_orders"][1] != before["staging.stg_orders"][1]
