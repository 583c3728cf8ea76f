"""A landing zone that grows day by day: a day never depends on how many days follow it.

A window is a prefix of any longer one; a zone can be continued without re-delivering its days;
``--live`` keeps delivering each day once it has ended (UTC, plus a lag), checked on a simulated
clock; rows of yesterday's events and reviews sent again today are predicted by the manifest.
Every zone is re-checked by the independent auditor in ``contract_audit.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ecommerce_assets import contract as C
from ecommerce_assets.generate import generate_landing_zone, live_deliveries, main
from ecommerce_assets.generate.live import day_end

from .conftest import START
from .contract_audit import HIGH_RATES, audit, days_of, hashes, manifest, read_csv, record_index


def stats(root: Path) -> dict[str, tuple[str, int]]:
    """Every file's hash and mtime: what a re-delivery would change."""
    return {k: (v, (root / k).stat().st_mtime_ns) for k, v in hashes(root).items()}


def test_a_window_is_a_prefix_of_any_longer_one(tmp_path: Path) -> None:
    """Day d never depends on how many days follow: --days 3 is the start of --days 5, every file
    (late events held on the last day, re-sent rows and every defect included)."""
    rates = {**HIGH_RATES, "late_event": 0.1}
    for name, days in (("three", 3), ("five", 5)):
        generate_landing_zone(
            tmp_path / name, seed=8, scale=0.3, start=START, days=days, rates=rates
        )
        args = ["--out", str(tmp_path / f"cli-{name}"), "--seed", "8", "--scale", "0.1"]
        assert main([*args, "--start", "2024-02-27", "--days", str(days), "--clean"]) == 0
    for prefix in ("", "cli-"):
        three, five = hashes(tmp_path / f"{prefix}three"), hashes(tmp_path / f"{prefix}five")
        assert len(three) == 3 * 8 and len(five) == 5 * 8
        assert three == {k: v for k, v in five.items() if k in three}
    # the held late events of day 3 are delivered on day 4 of the longer window
    assert manifest(tmp_path / "five" / "2024-01-04")["tables"]["events"]["defects"][C.LATE_EVENT]


def test_continuing_a_zone_adds_a_day_and_leaves_the_others_untouched(tmp_path: Path) -> None:
    """--days 10 then --days 11 into the same folder: day 11 appears, days 1-10 are not
    re-delivered (same bytes, same mtimes), and the result is a fresh 11-day zone."""
    out = tmp_path / "zone"
    generate_landing_zone(out, seed=4, scale=0.05, start=START, days=10)
    before = stats(out)
    summary = generate_landing_zone(out, seed=4, scale=0.05, start=START, days=11)
    after = stats(out)
    assert summary["unchanged"] == 10
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted({k.split("/")[0] for k in after.keys() - before.keys()}) == ["2024-01-11"]
    generate_landing_zone(tmp_path / "fresh", seed=4, scale=0.05, start=START, days=11)
    assert hashes(tmp_path / "fresh") == hashes(out)


class FakeClock:
    """A clock whose sleep lets time pass at once; checks at every nap that no day was
    delivered before it ended."""

    def __init__(self, now: datetime, out: Path, lag_s: float) -> None:
        self.t, self.out, self.lag_s, self.naps = now, out, lag_s, 0

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.naps += 1
        self.t += timedelta(seconds=seconds)
        self.check()

    def check(self) -> None:
        for folder in days_of(self.out):
            if (folder / C.SUCCESS_MARKER).exists():
                ended = day_end(date.fromisoformat(folder.name))
                assert self.t >= ended + timedelta(seconds=self.lag_s), folder.name


def test_live_continues_past_the_window_as_days_end(tmp_path: Path) -> None:
    """The window's missing days first (one per interval), then each day once it has ended
    (UTC) plus the lag; an existing day is skipped yet the world goes through it."""
    out, lag = tmp_path / "live", 30.0
    generate_landing_zone(out, seed=3, scale=0.05, start=START, days=1)
    start_at = datetime(2024, 1, 5, 12, 0, tzinfo=UTC)
    clock = FakeClock(start_at, out, lag)
    log: list[tuple[str, datetime]] = []

    def record(message: str) -> None:
        log.append((message, clock.now()))
        clock.check()
        for folder in days_of(out):  # every delivered day complete, _SUCCESS written last
            files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
            assert len(files) == 8 and max(files.values()) == files[C.SUCCESS_MARKER]

    common = {"seed": 3, "scale": 0.05, "start": START}
    released = live_deliveries(
        out, interval_s=10, initial=1, lag_s=lag, max_days=5, log=record, clock=clock,
        days=3, **common,
    )  # fmt: skip
    assert released == [START + timedelta(days=i) for i in range(1, 6)]
    delivered = [(m.split()[1], t) for m, t in log if m.startswith("delivered")]
    assert [d for d, _ in delivered] == [d.isoformat() for d in released]
    # 01-02 at once, then one per interval while days have ended: 01-03, 01-04 (window ends 01-03)
    assert [t for _, t in delivered[:3]] == [start_at + timedelta(seconds=s) for s in (0, 10, 20)]
    # 01-05 and 01-06 only once they have ended, plus the lag
    for day, at in delivered[3:]:
        assert at == day_end(date.fromisoformat(day)) + timedelta(seconds=lag)
    assert any(m.startswith("waiting for 2024-01-05") for m, _ in log)
    generate_landing_zone(tmp_path / "batch", days=6, **common)
    assert hashes(tmp_path / "batch") == hashes(out)


def test_live_mode_delivers_the_next_days_one_by_one(tmp_path: Path) -> None:
    """``--live`` appends complete deliveries after the newest one (the demo the sensor watches)."""
    out = tmp_path / "live"
    generate_landing_zone(out, seed=3, scale=0.05, start=START, days=2)
    args = [sys.executable, "-m", "ecommerce_assets.generate", "--out", str(out), "--scale", "0.05"]
    result = subprocess.run(
        [*args, "--start", "2024-01-01", "--live", "--interval", "0", "--max-days", "2"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "delivered 2024-01-03" in result.stdout and "delivered 2024-01-04" in result.stdout
    days = sorted(p.name for p in out.iterdir() if (p / "_SUCCESS").is_file())
    assert days == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    manifest = json.loads((out / "2024-01-04" / "_manifest.json").read_text())
    assert manifest["delivery_date"] == "2024-01-04"


def test_rows_resent_from_yesterday_are_predicted(tmp_path: Path) -> None:
    """At-least-once sources: a row of D-1's events or reviews file sent again in D's, unchanged
    (an exact duplicate of the earlier delivery) or with one value changed (a duplicate key).
    The manifest predicts both; no other file changes because of them; none on the first day."""
    resent = {"resent_identical": 0.04, "resent_changed": 0.04}
    common = {"seed": 9, "scale": 0.5, "start": START, "days": 5}
    generate_landing_zone(tmp_path / "plain", **common)
    generate_landing_zone(tmp_path / "resent", rates=resent, **common)
    plain, with_resent = hashes(tmp_path / "plain"), hashes(tmp_path / "resent")
    for key, digest in plain.items():
        file_name = key.split("/")[1]
        if file_name not in ("events.csv", "reviews.csv", C.MANIFEST_FILE):
            assert with_resent[key] == digest, key
    obs = audit(tmp_path / "resent")
    seen: Counter = Counter()
    folders = days_of(tmp_path / "resent")
    for yesterday, folder in zip([None, *folders], folders, strict=False):
        for name in ("events", "reviews"):
            entry = manifest(folder)["tables"][name]
            if yesterday is None:
                assert "resent" not in entry
                continue
            header, recs = read_csv(folder / f"{name}.csv")
            old_header, old_recs = read_csv(yesterday / f"{name}.csv")
            spec, old_entry = C.TABLES[name], manifest(yesterday)["tables"][name]
            old_q = {e["line"] for e in old_entry["quarantine"]}
            old_line_of = {i: line for line, i in record_index(yesterday / f"{name}.csv").items()}
            old = {
                rec[old_header.index(spec.key)]: (
                    old_line_of[n],
                    dict(zip(old_header, rec, strict=True)),
                )
                for n, rec in enumerate(old_recs)
                if len(rec) == len(old_header)
            }
            index = record_index(folder / f"{name}.csv")
            quarantine = {e["line"]: e["reason"] for e in entry["quarantine"]}
            for item in entry.get("resent", []):
                row = dict(zip(header, recs[index[item["line"]]], strict=True))
                old_line, old_row = old[row[spec.key]]
                # a real row of yesterday: not quarantined, not late, not a purchase
                assert old_line not in old_q
                if name == "events":
                    assert old_row["event_ts"].startswith(yesterday.name)
                    assert old_row["event_type"] != "purchase"
                diff = {c for c in spec.column_names if row[c] != old_row[c]}
                if item["defect"] == "resent_identical":
                    assert diff == set() and item["line"] not in quarantine
                else:
                    assert diff == {"session_id" if name == "events" else "helpful_votes"}
                    assert quarantine[item["line"]] == C.DUPLICATE_KEY
                seen[(name, item["defect"])] += 1
    assert all(seen[(t, d)] > 0 for t in ("events", "reviews") for d in resent), seen
    assert (
        obs["resent"][C.EXACT_DUPLICATE]
        == seen[("events", "resent_identical")] + seen[("reviews", "resent_identical")]
    )
