"""``python -m bench.relink``: what a late user delivery costs, re-linked or resolved at read time.

Issue 26 asks which costs less at scale 60: re-linking the facts a late dimension version changes
(what the platform does: ``transforms/relink.py``, the relink runs), or storing business keys and
resolving the version in every query (a view over key and time). The same year of deliveries is
built as a user would, with one day's ``users.csv`` delivered two weeks late (its rows appended to
the last day's file), and the last day then arrives:

- ``history``: ``build --last <day before>`` (not the subject, reported for scale);
- ``increment``: ``build --first <last> --last <last>`` as a user runs it: the day's run (the
  dimensions name the days to re-link) and the build's relink runs; per run and per step;
- ``read_time``: an analyst's query (events by the user's country and event type, the biggest
  fact) with the stored surrogate key and with the user version resolved at read time, the
  median of 5 runs each;
- ``dimension_rebuild``: building ``dim_users`` from one and from three years of staged versions
  (the staged rows repeated with other ids), the part of each day's run that reads history.

Results: ``bench/results/relink-scale-<scale>.json``.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.landing import complete_deliveries
from ecommerce_assets.transforms.dimensions import build_dim_users

from .__main__ import REFERENCE_START, instance_home, measure, save_result

LATE_BY = 14

STORED = """
SELECT u.country, e.event_type, count(*) AS events
FROM marts.fact_events AS e JOIN marts.dim_users AS u USING (user_sk)
GROUP BY ALL
"""
READ_TIME = """
WITH versions AS (
    SELECT user_id, country,
        CASE WHEN row_number() OVER w = 1 THEN TIMESTAMP '-infinity' ELSE valid_from END AS lo,
        coalesce(lead(valid_from) OVER w, TIMESTAMP 'infinity') AS hi
    FROM marts.dim_users WHERE user_sk <> 0
    WINDOW w AS (PARTITION BY user_id ORDER BY valid_from)
)
SELECT coalesce(v.country, 'unknown') AS country, e.event_type, count(*) AS events
FROM marts.fact_events AS e
LEFT JOIN versions AS v ON v.user_id = e.user_id AND e.event_ts >= v.lo AND e.event_ts < v.hi
GROUP BY ALL
"""


def late_zone(cached: Path, work: Path) -> tuple[Path, str, str]:
    """``work``: the cached zone's days as links, but the late day's users moved to the last
    day's file (both copied). Returns the zone, the late day and the last day."""
    days = sorted(complete_deliveries(cached))
    last, late = days[-1], days[-1] - timedelta(days=LATE_BY)
    work.mkdir(parents=True)
    for day in days:
        target = work / day.isoformat()
        if day in (late, last):
            shutil.copytree(cached / day.isoformat(), target)
        else:
            target.symlink_to(cached / day.isoformat(), target_is_directory=True)
    source, dest = work / late.isoformat() / "users.csv", work / last.isoformat() / "users.csv"
    text = source.read_text(encoding="utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    header, *rows = list(csv.reader(text.splitlines()))
    with source.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator=newline).writerow(header)
    tail = dest.read_text(encoding="utf-8-sig")
    newline = "\r\n" if "\r\n" in tail else "\n"
    with dest.open("a", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator=newline).writerows(rows)
    return work, late.isoformat(), last.isoformat()


def runs_since(home: Path, after: float) -> list[dict]:
    """The runs created after ``after``: selection, days, wall time, the dimensions' steps."""
    out = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in reversed(instance.get_run_records()):
            if record.create_timestamp.timestamp() <= after:
                continue
            run = record.dagster_run
            stats = {s.step_key: s for s in instance.get_run_step_stats(run.run_id)}
            steps = {
                key: round(s.end_time - s.start_time, 2)
                for key, s in stats.items()
                if key in ("dim_users", "dim_products") and s.end_time and s.start_time
            }
            dims = {}
            for key in ("dim_users", "dim_products"):
                event = instance.get_latest_materialization_event(dg.AssetKey(key))
                if event and event.run_id == run.run_id:
                    meta = event.asset_materialization.metadata
                    dims[key] = meta["relink_days"].value if "relink_days" in meta else None
            out.append(
                {
                    "run_id": run.run_id,
                    # The build tags its relink runs with its trigger; the day's run has none.
                    "kind": "relink" if run.tags.get("ecommerce/trigger") else "day",
                    "first": run.tags.get("dagster/asset_partition_range_start"),
                    "last": run.tags.get("dagster/asset_partition_range_end"),
                    "wall_s": round(record.end_time - record.start_time, 2),
                    "dimension_steps_s": steps,
                    "relink_days": dims,
                }
            )
    return out


def timed(con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        con.execute(sql).fetchall()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples), 3)


def read_time(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (events,) = con.execute("SELECT count(*) FROM marts.fact_events").fetchone()
        stored, resolved = timed(con, STORED), timed(con, READ_TIME)
        same = sorted(con.execute(STORED).fetchall()) == sorted(con.execute(READ_TIME).fetchall())
    return {
        "fact_events_rows": events,
        "stored_key_s": stored,
        "resolved_at_read_s": resolved,
        "extra_per_query_s": round(resolved - stored, 3),
        "same_answer": same,
    }


def dimension_rebuild(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = con.execute("SELECT * FROM staging.stg_users").df()
        (span,) = con.execute("SELECT max(user_id) FROM staging.stg_users").fetchone()
    out = {}
    for years in (1, 3):
        frames = [staged.assign(user_id=staged["user_id"] + i * (span + 1)) for i in range(years)]
        frame = frames[0] if years == 1 else pd.concat(frames)
        start = time.perf_counter()
        build_dim_users(frame)
        out[f"{years}_year_s"] = round(time.perf_counter() - start, 2)
        out[f"{years}_year_rows"] = len(frame)
    return out


def reference_zone(argv: list[str] | None, description: str) -> tuple[argparse.Namespace, Path]:
    """The command line (``--scale``, ``--days``, ``--cache``) and the cached zone it names,
    generated on first use (shared by ``bench.relink`` and ``bench.dimension_update``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", type=float, default=60.0)
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--cache", type=Path, default=Path("data/bench"))
    args = parser.parse_args(argv)
    cached = args.cache / f"relink-scale-{args.scale:g}" / "landing"
    if len(complete_deliveries(cached)) != args.days:
        generate_landing_zone(
            cached, seed=42, scale=args.scale, start=REFERENCE_START, days=args.days, clean=True
        )
    return args, cached


def main(argv: list[str] | None = None) -> int:
    args, cached = reference_zone(argv, __doc__.splitlines()[0])
    with tempfile.TemporaryDirectory(prefix="ecommerce-relink-") as tmp_dir:
        tmp = Path(tmp_dir)
        landing, late, last = late_zone(cached.resolve(), tmp / "landing")
        home = instance_home(tmp)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "ECOMMERCE_LANDING_DIR": str(landing),
            "ECOMMERCE_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        }
        build = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"]
        before = (REFERENCE_START + timedelta(days=args.days - 2)).isoformat()
        history = measure([*build, "--last", before], env)
        started = time.time()
        increment = measure([*build, "--first", last, "--last", last], env)
        report = {
            "scale": args.scale,
            "days": args.days,
            "late_day": late,
            "delivered_with": last,
            "history": history,
            "increment": {**increment, "runs": runs_since(home, started)},
            "read_time": read_time(tmp / "warehouse.duckdb"),
            "dimension_rebuild": dimension_rebuild(tmp / "warehouse.duckdb"),
        }
    save_result(f"relink-scale-{args.scale:g}", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
