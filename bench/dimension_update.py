"""``python -m bench.dimension_update``: what one day costs an SCD2 dimension, by history length.

Issue 26: a day's dimension update must not grow with history. The year's staged users of a
scale (default 60; the landing zone cached under ``data/bench/``, raw tables and staged users, built
once through Dagster) are laid out as one and as three years of history (the year repeated with
other user ids, its dates shifted a year each time) in a DuckDB file, ``dim_users`` built from
all of it. Then, for each length, the median of 3 runs of:

- ``rebuild``: ``dim_users`` from all staged history, written whole (what every day cost before);
- ``update``: what a day's run does now (``assets/dimensions.py``): the keys of the last day's
  staged rows, their versions from all their rows, those keys' rows replaced (``KeyedFrame``).

The updated table is checked equal to the rebuilt one. Results:
``bench/results/dimension-update-scale-<scale>.json``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.resources import Warehouse
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.schemas import DimUsers
from ecommerce_assets.schemas.common import model_columns, sql_type
from ecommerce_assets.settings import Settings
from ecommerce_assets.slices import WarehouseSlice
from ecommerce_assets.transforms.dimensions import build_dim_users, staged_keys
from ecommerce_assets.writes import write_chunks

from .__main__ import REFERENCE_START, save_result
from .relink import reference_zone

REPEATS = 3
SHIFT_DAYS = 366


def staged_users(landing: Path, tmp: Path, days: int) -> Path:
    """A warehouse holding the zone's raw tables and staged users, built as the platform does."""
    warehouse = tmp / "staged.duckdb"
    defs = build_definitions(Settings(landing_dir=landing, warehouse=warehouse))
    last = REFERENCE_START + timedelta(days=days - 1)
    result = materialize_days(
        defs, REFERENCE_START, last, selection=["group:raw", "key:stg_users"], checks=False
    )
    assert result.success
    return warehouse


def history(staged: Path, years: int, out: Path) -> tuple[int, date]:
    """``years`` copies of the staged year in ``out`` (other ids, dates a year later each)."""
    with duckdb.connect(str(out)) as con:
        con.execute(f"ATTACH '{staged}' AS src (READ_ONLY)")
        (span,) = con.execute("SELECT max(user_id) + 1 FROM src.staging.stg_users").fetchone()
        con.execute("CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE staging.stg_users AS SELECT * FROM src.staging.stg_users WHERE false"
        )
        for i in range(years):
            shift = f"INTERVAL {i * SHIFT_DAYS} DAY"
            con.execute(
                "INSERT INTO staging.stg_users SELECT * REPLACE ("
                f"user_id + {i * span} AS user_id, updated_at + {shift} AS updated_at, "
                f"delivery_date + {shift} AS delivery_date) FROM src.staging.stg_users"
            )
        rows, last = con.execute(
            "SELECT count(*), max(CAST(delivery_date AS DATE)) FROM staging.stg_users"
        ).fetchone()
        con.execute("CREATE SCHEMA marts")
    return int(rows), last


def _slice(db: Path) -> WarehouseSlice:
    return WarehouseSlice(
        warehouse=Warehouse(database=str(db)),
        schema="staging",
        table="stg_users",
        column="delivery_date",
        start=date(1970, 1, 1),
        end=date(2100, 1, 1),
    )


COLUMNS = [(name, sql_type(c), c.nullable) for name, c in model_columns(DimUsers).items()]


def rebuild(db: Path) -> float:
    start = time.perf_counter()
    versions = build_dim_users(_slice(db))
    with duckdb.connect(str(db)) as con:
        write_chunks(con, "marts", "dim_users", [versions], COLUMNS)
    return time.perf_counter() - start


def update(db: Path, day: date) -> tuple[float, int]:
    start = time.perf_counter()
    staged = _slice(db)
    keys = staged_keys(staged, "user_id", [day])
    versions = build_dim_users(staged, keys)
    with duckdb.connect(str(db)) as con:
        write_chunks(
            con, "marts", "dim_users", [versions], COLUMNS, keys=("user_id", keys["key"].tolist())
        )
    return time.perf_counter() - start, len(keys)


def table(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * FROM marts.dim_users ORDER BY ALL").fetchall()


def main(argv: list[str] | None = None) -> int:
    args, cached = reference_zone(argv, __doc__.splitlines()[0])  # bench.relink's zone
    report: dict = {"scale": args.scale, "days": args.days}
    with tempfile.TemporaryDirectory(prefix="ecommerce-dims-") as tmp_dir:
        tmp = Path(tmp_dir)
        staged = staged_users(cached.resolve(), tmp, args.days)
        for years in (1, 3):
            db = tmp / f"history-{years}.duckdb"
            rows, last = history(staged, years, db)
            rebuilds = [rebuild(db) for _ in range(REPEATS)]
            whole = table(db)
            updates = [update(db, last) for _ in range(REPEATS)]
            assert table(db) == whole, "the updated table differs from the rebuilt one"
            report[f"{years}_year"] = {
                "staged_rows": rows,
                "dimension_rows": len(whole),
                "day": last.isoformat(),
                "day_keys": updates[0][1],
                "rebuild_s": round(statistics.median(rebuilds), 3),
                "update_s": round(statistics.median(s for s, _ in updates), 3),
            }
    save_result(f"dimension-update-scale-{args.scale:g}", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
