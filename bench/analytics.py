"""``python -m bench.analytics``: what the analysts' published copy costs a run, and how fast the
dashboard's pages render, at scale 10 (the reference year, 366 days).

1. ``bin/build``'s command builds every day but the last (its ``analytics_copy`` is a full copy);
2. the last day alone is built as the harness's ``increment`` is (``--first D --last D``, timed):
   its ``analytics_copy`` step publishes only what changed; the step's own time (from its run's
   STEP_START to STEP_SUCCESS, inputs included) against the increment's wall time;
3. ``publish`` itself, in this process, on the final warehouse: a full copy to a new file and an
   incremental publish with nothing changed (median of 3 each);
4. ``bin/dashboard`` on the copy; headless Chromium opens each page with a month's range and the
   time until its figures are in the DOM is taken: once the front end is loaded (a first view of
   the year, timed on its own), each page's first view (its queries run) and the median of 5
   more views (new sessions, cached queries).

Results: ``bench/results/analytics-scale-10.json``; ``--shots docs/img`` also saves each page.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import requests

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.landing import complete_deliveries
from ecommerce_assets.publish import Source, publish

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
RANGE = "?from=2024-06-01&to=2024-06-30"
YEAR = "?from=2024-01-01&to=2024-12-31"
# Each page with June 2024 (a month of a year's data), and the overview with the whole year.
PAGES = {
    "overview": f"{RANGE}",
    "products": f"products{RANGE}",
    "customers": f"customers{RANGE}",
    "funnel": f"funnel{RANGE}",
    "quality": f"quality{RANGE}",
    "overview, whole year": f"{YEAR}",
}
METRICS = """return Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m =>
    (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || '')"""
TARGET_PAGE_S = 2.0
TARGET_SHARE = 0.10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _home(root: Path) -> Path:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(text.replace("data/dagster", str(root / "dagster")))
    return home


def _build(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process", *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
    return time.perf_counter() - started


STEP_START, STEP_SUCCESS = dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS


def _last_publish(home: Path) -> dict:
    """The latest ``analytics_copy`` materialization's metadata and its step's duration."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.fetch_materializations(dg.AssetKey("analytics_copy"), limit=1).records[0]
        meta = {k: v.value for k, v in record.asset_materialization.metadata.items()}
        times = {}
        for kind in (STEP_START, STEP_SUCCESS):
            for entry in instance.all_logs(record.run_id, of_type=kind):
                if entry.step_key == "analytics_copy":
                    times[kind] = entry.timestamp
    return {
        "mode": meta["mode"],
        "step_s": round(times[STEP_SUCCESS] - times[STEP_START], 3),
        "asset_body_s": meta["seconds"],
        "publish_s": meta["publish_seconds"],
        "rows": meta["rows"],
        "bytes": meta["bytes"],
        "changed": meta["changed"],
    }


def _direct(warehouse: Path, tmp: Path) -> dict:
    """``publish`` alone on the final warehouse: a full copy, and an incremental one."""
    with duckdb.connect(str(warehouse), read_only=False) as con:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
        ).fetchall()
        days = {"agg_daily_sales": "business_date", "agg_conversion_funnel": "business_date"}
        daily = ("fact_", "agg_daily", "agg_conversion", "data_quality")
        sources = [
            Source("marts", t, days.get(t, "delivery_date") if t.startswith(daily) else None)
            for (t,) in tables
        ]
        full, incremental = [], []
        for i in range(3):
            target = tmp / f"direct-{i}.duckdb"
            full.append(publish(con, sources, {}, target).seconds)
            incremental.append(publish(con, sources, {}, target).seconds)
    return {
        "full_copy_s": statistics.median(full),
        "incremental_unchanged_s": statistics.median(incremental),
        "samples": {"full": full, "incremental": incremental},
    }


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--window-size=1280,800", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _view(driver, url: str) -> float:
    """Seconds from the navigation to every metric of the page showing a value."""
    started = time.perf_counter()
    driver.get(url)
    deadline = started + 60
    while time.perf_counter() < deadline:
        values = driver.execute_script(METRICS)
        if values and all(values):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise TimeoutError(url)


def _pages(copy: Path, shots: Path | None, log: Path) -> dict:
    port = _free_port()
    env = {**os.environ, "ECOMMERCE_ANALYTICS": str(copy), "DASHBOARD_PORT": str(port)}
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(ROOT / "bin" / "dashboard")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    driver = None
    try:
        for _ in range(240):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/_stcore/health", timeout=2).ok:
                    break
            time.sleep(0.5)
        driver = _browser()
        # The first navigation loads Streamlit's front end into a cold browser (its scripts,
        # fonts) and opens the copy: timed on its own, on the default range (the last 30 days:
        # other queries than the pages' below, whose first views still run theirs).
        out = {"front_end_cold_s": round(_view(driver, f"{base}/"), 3)}
        for name, path in PAGES.items():
            url = f"{base}/{path}"
            first = _view(driver, url)
            again = [_view(driver, url) for _ in range(5)]
            out[name] = {"first_view_s": round(first, 3),
                         "median_s": round(statistics.median(again), 3)}  # fmt: skip
            if shots is not None and "year" not in name:
                time.sleep(1.5)  # charts and tables drawn
                driver.save_screenshot(str(shots / f"dashboard-{name}.png"))
        return out
    finally:
        if driver is not None:
            driver.quit()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--cache", type=Path, default=Path("data/bench"), help="landing zones")
    parser.add_argument("--shots", type=Path, default=None, help="save each page's screenshot")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    from bench.__main__ import REFERENCE_START

    landing = args.cache / f"scale-{args.scale:g}" / "landing"
    if not complete_deliveries(landing):
        generate_landing_zone(landing, seed=42, scale=args.scale, start=REFERENCE_START)
    days = list(complete_deliveries(landing))
    with tempfile.TemporaryDirectory(prefix="ecommerce-analytics-") as tmp_dir:
        tmp = Path(tmp_dir)
        warehouse = tmp / "warehouse.duckdb"
        env = {
            **os.environ,
            "DAGSTER_HOME": str(_home(tmp)),
            "ECOMMERCE_LANDING_DIR": str(landing.resolve()),
            "ECOMMERCE_WAREHOUSE": str(warehouse),
        }
        history = _build(env, "--last", (days[-1] - timedelta(days=1)).isoformat())
        full = _last_publish(Path(env["DAGSTER_HOME"]))
        last = days[-1].isoformat()
        increment = _build(env, "--first", last, "--last", last)
        incremental = _last_publish(Path(env["DAGSTER_HOME"]))
        direct = _direct(warehouse, tmp)
        if args.shots is not None:
            args.shots.mkdir(parents=True, exist_ok=True)
        pages = _pages(tmp / "analytics.duckdb", args.shots, tmp / "dashboard.log")
    report = {
        "scale": args.scale,
        "days": len(days),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "history_build_s": round(history, 2),
        "increment_s": round(increment, 2),
        "publish_in_history_build": full,
        "publish_in_increment": incremental,
        "publish_step_share_of_increment": round(incremental["step_s"] / increment, 3),
        "publish_direct": direct,
        "pages": pages,
        "targets": {"publish_step_share": TARGET_SHARE, "page_s": TARGET_PAGE_S},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"analytics-scale-{args.scale:g}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
