"""``python -m bench``: the platform side by side with a peer and a floor.

For each scale (default 1 and 60) it generates a landing zone once (cached under
``data/bench/``), then measures in this one run, each in a fresh process:

1. ``platform``: the full build from an empty warehouse, every asset and check, one run
   (``python -m ecommerce_assets.build``, Dagster's start-up included);
2. ``platform_no_checks``: the same without asset checks (what the checks cost);
3. ``increment``: one new delivery and everything depending on it, on top of the full history;
4. ``peer``: the pandas + SQLite script of the reference design (``peer_pandas_sqlite.py``);
5. ``floor``: the same transformations as one DuckDB SQL script (``floor_duckdb.py``).

``--measurements`` picks a subset (a big scale can skip the slow ones); ratios are computed only
from what was measured. Wall time, rows per second and peak RSS (``wait4``'s ``ru_maxrss`` of the
measured process) are written as JSON under ``bench/results/`` with a markdown table
(``bench/results/README.md``, "–" where nothing was measured) and a plot of every scale measured
so far (``bench/results/scaling.png``: wall time and peak RSS against raw rows).

The benchmark is not part of the installed package: run it from the project root
(``python -m bench``), the folder that holds ``bench/``. The peer is started as
``python -m bench.peer_pandas_sqlite`` with that root on ``PYTHONPATH``, so it is found from any
working directory.
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
from datetime import date, timedelta
from pathlib import Path

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.landing import complete_deliveries

from .floor_duckdb import floor_sql

# The project root: the folder holding ``bench/`` (so ``import bench`` works) and ``dagster_home/``.
ROOT = Path(__file__).resolve().parents[1]

# The reference year: a fixed window, so a cached zone and every result stay comparable.
REFERENCE_START = date(2024, 1, 1)
MEASUREMENTS = ("platform", "platform_no_checks", "increment", "peer", "floor")
PLOTTED = ("platform", "peer", "floor")
MISSING = "–"

FLOOR_RUNNER = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
    "con.execute(open(sys.argv[2]).read()); con.close()"
)


# Measured processes are started by this launcher, not by the harness itself: Linux carries the
# peak RSS of a forked process's memory image across ``exec`` into the new program's
# ``ru_maxrss``, so a child forked from the harness (which holds a scale's validated stg_events)
# reported at least the harness's size. The launcher is a bare interpreter (no site, ~10 MB).
LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print("@@measure@@" + json.dumps({"wall_s": time.perf_counter() - started,
      "maxrss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}), flush=True)
"""
MARK = "@@measure@@"


def save_result(name: str, report: dict) -> Path:
    """``report`` with this machine's Python and CPUs, written to ``bench/results/<name>.json``."""
    report = {**report, "environment": {"python": sys.version.split()[0], "cpus": os.cpu_count()}}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"written to {path}")
    return path


def measure(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``args`` in a fresh process; its wall time and its own peak RSS (with what it waited
    for: a build's helper processes)."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    marks = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    result = json.loads(marks[-1][len(MARK) :]) if marks else {"code": proc.returncode}
    if proc.returncode != 0 or result["code"] != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result['code']}):\n{proc.stdout[-4000:]}")
    return {
        "wall_s": round(result["wall_s"], 2),
        "peak_rss_mb": round(result["maxrss_kb"] / 1024, 1),
    }


def validation_cost(warehouse: Path) -> dict[str, float]:
    """What one full Pandera validation of ``stg_events`` costs: the price an input load would
    pay again if inputs were typed by the model too (they are plain DataFrames, by design)."""
    from ecommerce_assets.schemas import StgEvents
    from ecommerce_assets.warehouse import connect, fetch_frame

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


def instance_home(root: Path) -> Path:
    """A fresh instance configured like the project's (``dagster_home/dagster.yaml``)."""
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    project = ROOT / "dagster_home" / "dagster.yaml"
    text = project.read_text().replace("data/dagster", str(root / "dagster"))
    (home / "dagster.yaml").write_text(text)
    return home


def with_root_on_path(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the project root first on ``PYTHONPATH``: a
    measured ``python -m bench.…`` finds the ``bench`` package whatever its working directory."""
    env = dict(os.environ if env is None else env)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *rest])
    return env


def parse_measurements(text: str) -> tuple[str, ...]:
    """``"floor,peer"`` -> the named measurements in the harness's order; unknown names fail."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(MEASUREMENTS)
    if unknown or not names:
        raise ValueError(
            f"unknown or no measurements {sorted(unknown)}; choose from {', '.join(MEASUREMENTS)}"
        )
    return tuple(name for name in MEASUREMENTS if name in names)


def compute_ratios(results: dict[str, dict]) -> dict[str, float]:
    """The ratios whose two measurements are both present (a missing one is left out)."""
    wall = {name: r["wall_s"] for name, r in results.items()}
    ratios: dict[str, float] = {}
    if "platform" in wall:
        full = wall["platform"]
        if "floor" in wall:
            ratios["platform_over_floor"] = round(full / wall["floor"], 2)
        if "platform_no_checks" in wall:
            ratios["checks_overhead"] = round(full / wall["platform_no_checks"] - 1, 3)
        if "increment" in wall:
            ratios["increment_over_full"] = round(wall["increment"] / full, 3)
        if "peer" in wall:
            ratios["platform_over_peer"] = round(full / wall["peer"], 2)
    return ratios


def bench_scale(
    scale: float, cache: Path, measurements: tuple[str, ...] | list[str] = MEASUREMENTS
) -> dict:
    wanted = set(measurements)
    landing = cache / f"scale-{scale:g}" / "landing"
    if not complete_deliveries(landing):
        generate_landing_zone(landing, seed=42, scale=scale, start=REFERENCE_START)
    rows = landing_rows(landing)
    days = list(complete_deliveries(landing))
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ecommerce-bench-") as tmp_dir:
        tmp = Path(tmp_dir)

        def build_env(name: str) -> dict[str, str]:
            root = tmp / name
            return {
                **os.environ,
                "DAGSTER_HOME": str(instance_home(root)),
                "ECOMMERCE_LANDING_DIR": str(landing),
                "ECOMMERCE_WAREHOUSE": str(root / "warehouse.duckdb"),
            }

        # In-process: wait4's peak RSS is then the build's. A launched run's worker is a
        # multiprocessing child of the code server, which wait4 does not report.
        build = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"]
        validation = None
        if "platform" in wanted:
            results["platform"] = measure(build, build_env("full"))
            validation = validation_cost(tmp / "full" / "warehouse.duckdb")
        if "platform_no_checks" in wanted:
            results["platform_no_checks"] = measure([*build, "--no-checks"], build_env("nochecks"))

        if "increment" in wanted:
            env = build_env("increment")
            before = (days[-1] - timedelta(days=1)).isoformat()
            measure([*build, "--last", before], env)  # the history, not timed
            last = days[-1].isoformat()
            results["increment"] = measure([*build, "--first", last, "--last", last], env)

        if "peer" in wanted:
            results["peer"] = measure(
                [
                    sys.executable,
                    "-m",
                    "bench.peer_pandas_sqlite",
                    str(landing),
                    str(tmp / "peer.sqlite"),
                ],
                with_root_on_path(),
            )
        if "floor" in wanted:
            script = tmp / "floor.sql"
            script.write_text(floor_sql(landing))
            results["floor"] = measure(
                [sys.executable, "-c", FLOOR_RUNNER, str(tmp / "floor.duckdb"), str(script)]
            )
    for result in results.values():
        result["rows_per_s"] = round(rows / result["wall_s"])
    return {
        "scale": scale,
        "raw_rows": rows,
        "days": len(days),
        "results": results,
        "pandera_validation": validation,
        "ratios": compute_ratios(results),
    }


def _fmt(value: float | None, spec: str = "") -> str:
    return MISSING if value is None else format(value, spec)


def load_reports(out: Path) -> list[dict]:
    """Every scale measured so far (``scale-*.json`` under ``out``), smallest first."""
    reports = [json.loads(p.read_text()) for p in out.glob("scale-*.json")]
    return sorted(reports, key=lambda r: r["scale"])


def plot(reports: list[dict], path: Path) -> Path:
    """Wall time and peak RSS against raw rows (log x), a line per platform, peer and floor.

    A scale where a measurement is missing is skipped for that line only."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display needed
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    panels = fig.subplots(1, 2)
    for ax, key, label in (
        (panels[0], "wall_s", "wall time (s)"),
        (panels[1], "peak_rss_mb", "peak RSS (MB)"),
    ):
        for name in PLOTTED:
            points = sorted(
                (report["raw_rows"], report["results"][name][key])
                for report in reports
                if name in report.get("results", {})
            )
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("raw rows")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle("ecommerce_assets benchmark: platform, peer and floor by scale")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def markdown(reports: list[dict]) -> str:
    lines = [
        "| scale | raw rows | measurement | wall (s) | rows/s | peak RSS (MB) |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for report in reports:
        results = report["results"]
        names = [*MEASUREMENTS, *(name for name in results if name not in MEASUREMENTS)]
        for name in names:
            r = results.get(name)
            if r is None:
                cells = [MISSING] * 3
            else:
                cells = [f"{r['wall_s']}", f"{r['rows_per_s']:,}", f"{r['peak_rss_mb']:,}"]
            lines.append(
                f"| {report['scale']:g} | {report['raw_rows']:,} | {name} | {' | '.join(cells)} |"
            )
    lines += ["", "| scale | platform / floor | platform / peer | checks overhead | "
              "increment / full |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for report in reports:
        r = report.get("ratios", {})
        cells = [
            _fmt(r.get("platform_over_floor")),
            _fmt(r.get("platform_over_peer")),
            _fmt(r.get("checks_overhead"), ".1%"),
            _fmt(r.get("increment_over_full"), ".1%"),
        ]
        lines.append(f"| {report['scale']:g} | {' | '.join(cells)} |")
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
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,60", help="comma-separated scales (default 1,60)")
    parser.add_argument("--cache", type=Path, default=Path("data/bench"), help="landing zones")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="results folder")
    parser.add_argument(
        "--measurements",
        default=",".join(MEASUREMENTS),
        help=f"comma-separated subset of {','.join(MEASUREMENTS)} (default all)",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the pandas + SQLite peer")
    args = parser.parse_args(argv)
    try:
        measurements = parse_measurements(args.measurements)
    except ValueError as error:
        parser.error(str(error))
    if args.no_peer:
        measurements = tuple(name for name in measurements if name != "peer")
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": "2-core"}
    for scale in (float(s) for s in args.scales.split(",")):
        print(f"scale {scale:g} ({', '.join(measurements)}) …", flush=True)
        report = bench_scale(scale, args.cache, measurements)
        print(json.dumps(report, indent=2), flush=True)
        # Written as soon as the scale is done: a later scale that fails keeps the earlier ones.
        path = args.out / f"scale-{report['scale']:g}.json"
        path.write_text(json.dumps({**report, "environment": meta}, indent=2) + "\n")
        publish(args.out)
    return 0


def publish(out: Path) -> None:
    """The table and the plot of every scale measured so far (each scale's JSON from one run)."""
    every = load_reports(out)
    table = markdown(every)
    (out / "README.md").write_text("# Benchmark results\n\n" + table)
    print(table)
    print(f"plot: {plot(every, out / 'scaling.png')}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
