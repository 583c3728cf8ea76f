"""Several partition runs launched at once through the real run queue: every one succeeds.

Three non-consecutive deliveries land together, so the landing-zone sensor submits three runs in
the same tick. The project's run queue (dagster_home/dagster.yaml: one run at a time, and one
run per ``ecommerce/warehouse`` tag) must start them one after another: none fails on DuckDB's
"Could not set lock", none overlaps another, and every day has exactly its rows.
"""

import itertools
from datetime import timedelta
from pathlib import Path

import dagster as dg

from .test_daemon_e2e import START, covered_days, run_spans, running_platform, sensor_runs


def test_runs_submitted_at_once_are_queued_and_all_succeed(tmp_path: Path) -> None:
    days = [START + timedelta(days=i) for i in (0, 2, 4)]
    with running_platform(tmp_path, days=5) as p:
        snap = p.wait_idle(after=p.deliver(*days))  # fails at once if a run fails
        runs = sensor_runs(snap.runs)
        spans = run_spans(snap)  # the sensor's runs and any automation run after them
        logs = p.log.read_text(errors="replace")

    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 3, logs[-3000:]
    assert len({r.tags["dagster/tick"] for r in runs}) == 1  # submitted together
    assert sorted(d for r in runs for d in covered_days(r)) == days
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans  # the queue ran them one at a time
    assert "Could not set lock" not in logs
    counts = dict(
        p.query("SELECT delivery_date, count(*) FROM staging.stg_orders GROUP BY 1 ORDER BY 1")
    )
    assert counts == {day: p.staged(day) for day in days}
