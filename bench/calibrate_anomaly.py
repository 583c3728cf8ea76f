"""Calibration of the row-count anomaly rule (``bench/results/anomaly-calibration.md``).

Run from the project root once the demo (``data/landing``, from ``bin/build``) and the bench's
scale-10 and scale-60 landing zones (``data/bench``) exist:
``python bench/calibrate_anomaly.py``.
"""

import csv
import tempfile
from datetime import date
from pathlib import Path

import ecommerce_assets.checks.anomalies as rule
from ecommerce_assets.contract import TABLE_NAMES
from ecommerce_assets.generate import generate_landing_zone

BUSY = ("orders", "order_items", "events", "reviews")


def counts(root: Path, table: str) -> dict[date, int]:
    out = {}
    for folder in sorted(root.iterdir()):
        path = folder / f"{table}.csv"
        if path.is_file():
            with path.open(newline="", encoding="utf-8-sig") as f:
                out[date.fromisoformat(folder.name)] = sum(1 for _ in csv.reader(f)) - 1
    return out


def main() -> None:
    zones = {}
    for seed in (11, 12, 13):
        folder = Path(tempfile.mkdtemp())
        generate_landing_zone(
            folder, seed=seed, scale=1.0, start=date(2024, 1, 1), days=366, clean=True
        )
        zones[f"clean-{seed}"] = folder
    zones["demo"] = Path("data/landing")
    zones["s10"] = Path("data/bench/scale-10/landing")
    zones["s60"] = Path("data/bench/scale-60/landing")
    series = {(z, t): counts(root, t) for z, root in zones.items() for t in TABLE_NAMES}
    for sigmas in (4.0, 4.5, 5.0):
        rule.SIGMAS = sigmas
        alarms = judged_days = 0
        caught = {}
        for (zone, table), c in series.items():
            judged, found = rule.row_count_anomalies(c, sorted(c))
            judged_days, alarms = judged_days + len(judged), alarms + len(found)
            if zone in ("s10", "s60") and table in BUSY:
                days = sorted(judged)[::5]
                hits = sum(
                    any(
                        a.day == d
                        for a in rule.row_count_anomalies({**c, d: round(c[d] * 0.7)}, [d])[1]
                    )
                    for d in days
                )
                caught[f"{zone} {table}"] = f"{hits}/{len(days)}"
        print(
            f"SIGMAS {sigmas}: {alarms} false alarms of {judged_days} judged days; caught {caught}"
        )


if __name__ == "__main__":
    main()
