"""``python bench/memory_by_step.py LANDING FIRST LAST``: the build's peak RSS, step by step.

Builds every asset and check for the delivery days FIRST..LAST of the landing zone LANDING in this
process (``python -m ecommerce_assets.build --in-process``, the benchmark's mode) into a fresh
warehouse and instance under a temporary folder, sampling this process's resident memory every
0.1 s; then prints the peak and, from the run's step events, each step's duration and peak. Used
to show that memory is bounded by a chunk, not by the range (``bench/results/memory-by-range.md``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    landing, first, last = sys.argv[1:4]
    project = Path(__file__).resolve().parents[1]
    root = Path(tempfile.mkdtemp(prefix="ecommerce-memory-"))
    home = root / "dagster_home"
    home.mkdir()
    config = (project / "dagster_home" / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(config.replace("data/dagster", str(root / "dagster")))
    os.environ.update(
        DAGSTER_HOME=str(home),
        ECOMMERCE_LANDING_DIR=str(Path(landing).resolve()),
        ECOMMERCE_WAREHOUSE=str(root / "warehouse.duckdb"),
    )
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), _rss_mb()))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    import dagster as dg

    from ecommerce_assets import build

    started = time.time()
    code = build.main(["--no-demo", "--in-process", "--first", first, "--last", last])
    done.set()
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
        starts: dict[str, float] = {}
        steps: list[tuple[str, float, float]] = []
        for entry in instance.all_logs(run.run_id):
            kind = entry.dagster_event.event_type_value if entry.dagster_event else None
            if kind == "STEP_START":
                starts[entry.step_key] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                steps.append((entry.step_key, starts[entry.step_key], entry.timestamp))
    peak = max(rss for _, rss in samples)
    print(f"\n{first} .. {last}: {time.time() - started:.1f} s, peak {peak:.0f} MB")
    for key, begin, end in sorted(steps, key=lambda s: s[1]):
        during = [rss for t, rss in samples if begin <= t <= end] or [0.0]
        print(f"  {key:<40} {end - begin:7.1f} s  peak {max(during):6.0f} MB")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
