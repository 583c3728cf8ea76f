"""``python -m ecommerce_assets.bench``: the platform side by side with a peer and a floor.

For each scale (default 1 and 60) it generates a landing zone once (cached under
``data/bench/``), then measures in this one run, each in a fresh process:

1. ``platform``: the full build from an empty warehouse, every asset and check, one run
   (``python -m ecommerce_assets.build``, Dagster's start-up included);
2. ``platform_no_checks``: the same without asset checks (what the checks cost);
3. ``increment``: one new delivery and everything depending on it, on top of the full history;
4. ``peer``: the pandas + SQLite script of the reference design (``peer_pandas_sqlite.py``);
5. ``floor``: the same transformations as one DuckDB SQL script (``floor_duckdb.py``).

Wall time, rows per second and peak RSS (``wait4``'s ``ru_maxrss`` of the measured process) are
written as JSON under ``bench/results/`` with a markdown table (``bench/results/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ..generate import generate_landing_zone
from ..landing import complete_deliveries
from .floor_duckdb import floor_sql

FLOOR_RUNNER = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
    "con.execute(open(sys.argv[2]).read()); con.close()"
)


def measure(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``args`` in a fresh process; its wall time and its own peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{output[-4000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def validation_cost(warehouse: Path) -> dict[str, float]:
    """What one full Pandera validation of ``stg_events`` costs: the price an input load would
    pay again if inputs were typed by the model too (they are plain DataFrames, by design)."""
    from ..io_manager import connect, fetch_frame
    from ..schemas import StgEvents

    with connect(warehouse) as con:
        frame = fetch_frame(con, "SELECT * FROM staging.stg_events")
    started = time.perf_counter()
    StgEvents.validate(frame, lazy=True)
    seconds = time.perf_counter() - started
    return {
        "rows": len(frame),
        "seconds": round(seconds, 3),
        "seconds_per_million_rows": round(seconds / max(len(frame), 1) * 1e6, 3),
    }


def landing_rows(landing: Path) -> int:
    total = 0
    for folder in complete_deliveries(landing).values():
        manifest = json.loads((folder / "_manifest.json").read_text())
        total += sum(t["rows"] for t in manifest["tables"].values())
    return total


def _instance_home(root: Path) -> Path:
    """A fresh instance configured like the project's (``dagster_home/dagster.yaml``)."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    project = Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml"
    text = project.read_text().replace("data/dagster", str(root / "dagster"))
    (home / "dagster.yaml").write_text(text)
    return home


def bench_scale(scale: float, cache: Path, peer: bool) -> dict:
    landing = cache / f"scale-{scale:g}" / "landing"
    if not complete_deliveries(landing):
        generate_landing_zone(landing, seed=42, scale=scale)
    rows = landing_rows(landing)
    days = list(complete_deliveries(landing))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ecommerce-bench-") as tmp_dir:
        tmp = Path(tmp_dir)

        def build_env(name: str) -> dict[str, str]:
            root = tmp / name
            return {
                **os.environ,
                "DAGSTER_HOME": str(_instance_home(root)),
                "ECOMMERCE_LANDING_DIR": str(landing),
                "ECOMMERCE_WAREHOUSE": str(root / "warehouse.duckdb"),
            }

        build = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo"]
        results["platform"] = measure(build, build_env("full"))
        validation = validation_cost(tmp / "full" / "warehouse.duckdb")
        results["platform_no_checks"] = measure([*build, "--no-checks"], build_env("nochecks"))

        env = build_env("increment")
        before = (days[-1] - timedelta(days=1)).isoformat()
        measure([*build, "--last", before], env)  # the history, not timed
        last = days[-1].isoformat()
        results["increment"] = measure([*build, "--first", last, "--last", last], env)

        if peer:
            results["peer"] = measure(
                [
                    sys.executable,
                    "-m",
                    "ecommerce_assets.bench.peer_pandas_sqlite",
                    str(landing),
                    str(tmp / "peer.sqlite"),
                ]
            )
        script = tmp / "floor.sql"
        script.write_text(floor_sql(landing))
        results["floor"] = measure(
            [sys.executable, "-c", FLOOR_RUNNER, str(tmp / "floor.duckdb"), str(script)]
        )
    for result in results.values():
        result["rows_per_s"] = round(rows / result["wall_s"])
    full, floor = results["platform"]["wall_s"], results["floor"]["wall_s"]
    ratios = {
        "platform_over_floor": round(full / floor, 2),
        "checks_overhead": round(full / results["platform_no_checks"]["wall_s"] - 1, 3),
        "increment_over_full": round(results["increment"]["wall_s"] / full, 3),
    }
    if "peer" in results:
        ratios["platform_over_peer"] = round(full / results["peer"]["wall_s"], 2)
    return {
        "scale": scale,
        "raw_rows": rows,
        "days": len(days),
        "results": results,
        "pandera_validation": validation,
        "ratios": ratios,
    }


def markdown(reports: list[dict]) -> str:
    lines = [
        "| scale | raw rows | measurement | wall (s) | rows/s | peak RSS (MB) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for report in reports:
        for name, r in report["results"].items():
            lines.append(
                f"| {report['scale']:g} | {report['raw_rows']:,} | {name} | {r['wall_s']} | "
                f"{r['rows_per_s']:,} | {r['peak_rss_mb']:,} |"
            )
    lines += ["", "| scale | platform / floor | platform / peer | checks overhead | "
              "increment / full |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for report in reports:
        r = report["ratios"]
        lines.append(
            f"| {report['scale']:g} | {r['platform_over_floor']} | "
            f"{r.get('platform_over_peer', '–')} | {r['checks_overhead']:.1%} | "
            f"{r['increment_over_full']:.1%} |"
        )
    lines += [
        "",
        "| scale | rows of stg_events validated by Pandera | seconds | s per million rows |",
        "|---|---:|---:|---:|",
    ]
    for report in reports:
        v = report.get("pandera_validation")
        if v:
            lines.append(
                f"| {report['scale']:g} | {v['rows']:,} | {v['seconds']} | "
                f"{v['seconds_per_million_rows']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,60", help="comma-separated scales (default 1,60)")
    parser.add_argument("--cache", type=Path, default=Path("data/bench"), help="landing zones")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="results folder")
    parser.add_argument("--no-peer", action="store_true", help="skip the pandas + SQLite peer")
    args = parser.parse_args(argv)
    reports = []
    for scale in (float(s) for s in args.scales.split(",")):
        print(f"scale {scale:g} …", flush=True)
        report = bench_scale(scale, args.cache, peer=not args.no_peer)
        print(json.dumps(report, indent=2), flush=True)
        reports.append(report)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": "2-core"}
    for report in reports:
        path = args.out / f"scale-{report['scale']:g}.json"
        path.write_text(json.dumps({**report, "environment": meta}, indent=2) + "\n")
    # The table shows every scale measured so far (each scale's JSON is from one run).
    every = [json.loads(p.read_text()) for p in sorted(args.out.glob("scale-*.json"))]
    every.sort(key=lambda r: r["scale"])
    table = markdown(every)
    (args.out / "README.md").write_text("# Benchmark results\n\n" + table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
