"""The benchmark harness: measurement subsets, ratios, the markdown table, the plot, and how a
process's peak memory is measured.

No landing zone is generated and no build is measured: the reports are fabricated dicts shaped
like ``bench_scale``'s output, and every expected ratio is worked out by hand below.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import (
    MEASUREMENTS,
    compute_ratios,
    load_reports,
    markdown,
    measure,
    parse_measurements,
    plot,
    publish,
    with_root_on_path,
)


def result(wall_s: float, peak_rss_mb: float, rows: int) -> dict:
    return {"wall_s": wall_s, "peak_rss_mb": peak_rss_mb, "rows_per_s": round(rows / wall_s)}


def report(scale: float, rows: int, walls: dict[str, float], rss: float = 500.0) -> dict:
    results = {name: result(wall, rss, rows) for name, wall in walls.items()}
    return {
        "scale": scale,
        "raw_rows": rows,
        "days": 366,
        "results": results,
        "pandera_validation": None,
        "ratios": compute_ratios(results),
    }


def test_parse_measurements_keeps_the_harness_order_and_rejects_unknown_names() -> None:
    assert parse_measurements("floor, peer") == ("peer", "floor")
    assert parse_measurements(",".join(MEASUREMENTS)) == MEASUREMENTS
    with pytest.raises(ValueError, match="unknown"):
        parse_measurements("floor,platfrom")
    with pytest.raises(ValueError):
        parse_measurements(" , ")


def test_ratios_with_every_measurement() -> None:
    walls = {"platform": 120.0, "platform_no_checks": 100.0, "increment": 12.0, "peer": 80.0,
             "floor": 40.0}  # fmt: skip
    ratios = compute_ratios({name: {"wall_s": wall} for name, wall in walls.items()})
    # 120 / 40 = 3; 120 / 100 - 1 = 0.2; 12 / 120 = 0.1; 120 / 80 = 1.5
    assert ratios == {
        "platform_over_floor": 3.0,
        "checks_overhead": 0.2,
        "increment_over_full": 0.1,
        "platform_over_peer": 1.5,
    }


def test_ratios_only_from_what_was_measured() -> None:
    # platform and floor only: 90 / 60 = 1.5, nothing else can be computed.
    assert compute_ratios({"platform": {"wall_s": 90.0}, "floor": {"wall_s": 60.0}}) == {
        "platform_over_floor": 1.5
    }
    # platform and increment: 9 / 90 = 0.1.
    assert compute_ratios({"platform": {"wall_s": 90.0}, "increment": {"wall_s": 9.0}}) == {
        "increment_over_full": 0.1
    }
    # no platform: no ratio at all (peer / floor alone is not one of the reported ratios).
    assert compute_ratios({"peer": {"wall_s": 30.0}, "floor": {"wall_s": 10.0}}) == {}
    assert compute_ratios({}) == {}


def test_markdown_shows_a_dash_for_what_is_missing() -> None:
    full = report(1, 1000, {"platform": 10.0, "platform_no_checks": 8.0, "increment": 2.0,
                            "peer": 5.0, "floor": 4.0})  # fmt: skip
    big = report(200, 2_000_000, {"peer": 400.0, "floor": 100.0}, rss=1234.5)
    big["pandera_validation"] = None
    table = markdown([full, big])
    lines = table.splitlines()

    # Every measurement has a row at every scale, a dash where it was not measured.
    assert "| 1 | 1,000 | platform | 10.0 | 100 | 500.0 |" in lines
    assert "| 200 | 2,000,000 | platform | – | – | – |" in lines
    assert "| 200 | 2,000,000 | increment | – | – | – |" in lines
    # 2,000,000 rows / 400 s = 5,000 rows/s; / 100 s = 20,000 rows/s.
    assert "| 200 | 2,000,000 | peer | 400.0 | 5,000 | 1,234.5 |" in lines
    assert "| 200 | 2,000,000 | floor | 100.0 | 20,000 | 1,234.5 |" in lines
    assert sum(line.startswith("| 1 | 1,000 |") for line in lines) == len(MEASUREMENTS)
    assert sum(line.startswith("| 200 | 2,000,000 |") for line in lines) == len(MEASUREMENTS)

    # Ratios: 10 / 4 = 2.5, 10 / 5 = 2.0, 10 / 8 - 1 = 25 %, 2 / 10 = 20 %; none at scale 200.
    assert "| 1 | 2.5 | 2.0 | 25.0% | 20.0% |" in lines
    assert "| 200 | – | – | – | – |" in lines
    # No Pandera row without a platform run: the last table is its header alone.
    assert table.endswith("| s per million rows |\n|---|---:|---:|---:|\n")


def test_markdown_of_a_report_without_ratios_key() -> None:
    # A report written by hand or by an older harness may lack "ratios": still a table.
    old = report(10, 10_000, {"floor": 2.0})
    del old["ratios"]
    assert "| 10 | – | – | – | – |" in markdown([old]).splitlines()


def test_plot_writes_a_png_from_the_results_folder(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.mkdir()
    small = report(1, 175_901, {"platform": 70.0, "peer": 7.0, "floor": 3.5}, rss=600.0)
    # At the big scale the platform was skipped: its line just ends at scale 1.
    big = report(200, 35_000_000, {"peer": 900.0, "floor": 250.0}, rss=12_000.0)
    for r in (small, big):
        (out / f"scale-{r['scale']:g}.json").write_text(json.dumps(r))

    reports = load_reports(out)
    assert [r["scale"] for r in reports] == [1, 200]
    path = plot(reports, out / "scaling.png")

    assert path == out / "scaling.png"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000


def test_publish_writes_the_table_and_the_plot_of_every_scale(tmp_path: Path) -> None:
    for r in (
        report(60, 10_000_000, {"platform": 200.0, "peer": 250.0, "floor": 100.0}),
        report(1, 175_901, {"floor": 3.5}),
    ):
        (tmp_path / f"scale-{r['scale']:g}.json").write_text(json.dumps(r))
    publish(tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Benchmark results\n\n| scale | raw rows |")
    # Smallest scale first; 200 / 100 = 2.0 and 200 / 250 = 0.8 at scale 60.
    assert readme.index("| 1 | 175,901 |") < readme.index("| 60 | 10,000,000 |")
    assert "| 60 | 2.0 | 0.8 | – | – |" in readme
    assert (tmp_path / "scaling.png").stat().st_size > 10_000


def test_measure_reports_the_childs_own_peak_memory() -> None:
    """A measured process's peak RSS is its own: neither the harness's size (which Linux would
    carry into a child forked from it) nor less than what it allocated."""
    held = bytearray(400 * 1024 * 1024)
    held[::4096] = b"x" * len(held[::4096])  # touched: resident in the harness
    small = measure([sys.executable, "-c", "print('ok')"])
    big = measure(
        [
            sys.executable,
            "-c",
            "b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])",
        ]
    )
    assert small["peak_rss_mb"] < 100 <= 300 <= big["peak_rss_mb"] < 400
    with pytest.raises(RuntimeError, match="failed"):
        measure([sys.executable, "-c", "raise SystemExit(3)"])
    del held


def test_the_peer_runs_from_anywhere_and_takes_only_the_contract_from_the_platform(
    tmp_path: Path,
) -> None:
    """The harness starts the peer as ``python -m bench.peer_pandas_sqlite``: with the project
    root on ``PYTHONPATH`` it is found from any working directory, and of the platform it loads
    the landing contract alone (no transform, no Dagster, no DuckDB)."""
    probe = (
        "import sys, bench.peer_pandas_sqlite; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('ecommerce_assets', 'dagster', 'duckdb', 'pandera')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=with_root_on_path({"PYTHONPATH": "elsewhere"}),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "['ecommerce_assets', 'ecommerce_assets.contract']"


def test_the_lake_backfill_counts_the_most_runs_at_once() -> None:
    from bench.lake_backfill import most_at_once

    assert most_at_once([]) == 0
    assert most_at_once([(0, 10), (10, 20)]) == 1  # one ends as the next starts: never together
    assert most_at_once([(0, 10), (5, 20), (6, 7), (30, 40)]) == 3
    assert most_at_once([(0, 10), (2, 4), (5, 8), (9, 12)]) == 2
