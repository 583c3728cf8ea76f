"""The generator's manifest must predict staging exactly: re-derive every outcome from the files.

The auditor doing so lives in ``contract_audit.py``; also here: same seed, same bytes, volumes
and change shares, the CLI, and the default window ending yesterday (UTC). A zone that grows day
by day (prefix windows, continuing a zone, ``--live``, rows re-sent from yesterday) is tested in
``test_generate_live.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ecommerce_assets import contract as C
from ecommerce_assets.generate import generate_landing_zone, main
from ecommerce_assets.generate.world import build_world, start_day

from .conftest import START
from .contract_audit import HIGH_RATES, audit, days_of, hashes, manifest, read_csv


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dirty")
    generate_landing_zone(root, seed=7, scale=0.5, start=START, days=21, rates=HIGH_RATES)
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    summary = generate_landing_zone(root, seed=3, scale=2.0, start=START, days=60, clean=True)
    return root, summary


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_landing_zone(tmp_path / name, seed=seed, scale=0.3, start=START, days=4)
    a, b, c = (hashes(tmp_path / n) for n in "abc")
    assert len(a) == 4 * 8
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_every_manifest_claim_holds_on_dirty_data(dirty: Path) -> None:
    obs = audit(dirty)
    # the high rates exercise every quarantine class
    for reason in (
        C.MALFORMED_LINE,
        C.NULL_KEY,
        C.BAD_KEY,
        C.DUPLICATE_KEY,
        C.ORPHAN_LINE,
        C.FUTURE_TIMESTAMP,
    ):
        assert obs["checked"][reason] > 0, reason
    assert any(r.startswith("bad_value:") for r in obs["checked"])
    assert any(r.startswith("out_of_range:") for r in obs["checked"])
    assert obs["purchases"] > 0
    # rows of yesterday sent again, unchanged and changed
    assert obs["resent"][C.EXACT_DUPLICATE] > 0 and obs["resent"][C.DUPLICATE_KEY] > 0


def test_dirty_manifest_covers_in_place_defects(dirty: Path) -> None:
    labels: Counter = Counter()
    for folder in days_of(dirty):
        for entry in manifest(folder)["tables"].values():
            labels.update(entry["defects"])
            assert entry["staged"] == entry["rows"] - len(entry["quarantine"]) - entry[
                "defects"
            ].get(C.EXACT_DUPLICATE, 0)
    for label in (
        C.EXACT_DUPLICATE,
        C.WHITESPACE_CASE,
        C.INVALID_EMAIL,
        C.INCONSISTENT_TOTAL,
        C.EXTRA_COLUMN,
        C.unknown_value("status"),
        C.orphan_reference("product_id"),
    ):
        assert labels[label] > 0, label


def test_clean_run_has_no_defects_but_keeps_format_variations(clean: tuple[Path, dict]) -> None:
    root, summary = clean
    obs = audit(root)
    bom = crlf = shuffled = 0
    for folder in days_of(root):
        m = manifest(folder)
        assert m["clean"] is True
        for name, entry in m["tables"].items():
            assert set(entry["defects"]) <= {C.LATE_EVENT}
            assert entry["quarantine"] == [] and "resent" not in entry
            assert entry["staged"] == entry["rows"]
            bom += entry["bom"]
            crlf += entry["crlf"]
            shuffled += entry["columns"] != C.TABLES[name].column_names
    assert bom and crlf and shuffled
    # late events ~1 %
    assert 0.004 < obs["late"] / obs["events"] < 0.02
    assert summary["rows"]["orders"] == obs["orders"]


def test_dimension_versions_and_volumes(clean: tuple[Path, dict]) -> None:
    root, summary = clean
    versions: dict[str, Counter] = {"users": Counter(), "products": Counter()}
    for folder in days_of(root):
        for name in versions:
            header, recs = read_csv(folder / f"{name}.csv")
            key = header.index(C.TABLES[name].key)
            versions[name].update(r[key] for r in recs)
    users, products = versions["users"], versions["products"]
    assert max(users.values()) == 2 and max(products.values()) == 2
    # daily volumes follow the reference (scale 2 over 60 days)
    per_day = {t: summary["rows"][t] / 60 / 2 for t in summary["rows"]}
    assert 45 < per_day["orders"] < 65
    assert 2.0 < summary["rows"]["order_items"] / summary["rows"]["orders"] < 2.4
    assert 180 < per_day["events"] < 260
    assert 30 < per_day["reviews"] < 52


def test_change_shares_over_the_reference_window() -> None:
    """~10 % of users and ~5 % of products get a second version within 366 days, each drawn
    when the entity appears (so it holds for the master data, files aside)."""
    world = build_world(5, 2.0, START)
    changed = {"users": 0, "products": 0}
    for day_index in range(366):
        start_day(world, day_index)
        for name in changed:
            changed[name] += getattr(world, name).changed.size
    assert 0.085 < changed["users"] / world.users.n < 0.115
    assert 0.04 < changed["products"] / world.products.n < 0.06
    with pytest.raises(ValueError):
        start_day(world, 400)  # days are drawn in order


def test_tiny_scale_is_small_but_not_empty(tmp_path: Path) -> None:
    summary = generate_landing_zone(tmp_path, scale=0.01, start=START, days=366, clean=True)
    assert all(0 < n < 2000 for n in summary["rows"].values())


def test_rerun_overwrites_and_missing_column_is_counted(tmp_path: Path) -> None:
    generate_landing_zone(tmp_path, seed=1, scale=0.2, start=START, days=2)
    rates = {"missing_column": 1.0}
    generate_landing_zone(tmp_path, seed=1, scale=0.2, start=START, days=2, rates=rates)
    for folder in days_of(tmp_path):
        for name, entry in manifest(folder)["tables"].items():
            header, recs = read_csv(folder / f"{name}.csv")
            assert entry["defects"][C.MISSING_COLUMN] == 1
            assert set(C.TABLES[name].column_names) - set(header)
            assert len(recs) == entry["rows"]


def test_unknown_rate_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_landing_zone(tmp_path, days=1, rates={"nope": 0.1})


def test_cli_via_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "landing"
    cmd = [sys.executable, "-m", "ecommerce_assets.generate", "--out", str(out)]
    cmd += ["--days", "3", "--scale", "0.05", "--start", "2024-01-01", "--rate", "bad_key=0.5"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    assert "wrote 3 days" in res.stdout
    assert [p.name for p in days_of(out)] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    audit(out)


def test_cli_out_defaults_to_env_and_the_window_ends_yesterday(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --start the window ends yesterday (UTC): the newest day that has ended."""
    monkeypatch.setenv("ECOMMERCE_LANDING_DIR", str(tmp_path / "env"))
    before = datetime.now(UTC).date()
    assert main(["--days", "2", "--scale", "0.05"]) == 0
    summary = generate_landing_zone(tmp_path / "api", days=3, scale=0.02, clean=True)
    after = datetime.now(UTC).date()
    for root, days in ((tmp_path / "env", 2), (tmp_path / "api", 3)):
        names = [p.name for p in days_of(root)]
        assert names in (window_ending_before(today, days) for today in (before, after)), names
        assert all((root / name / C.SUCCESS_MARKER).exists() for name in names)
    assert summary["start"] == days_of(tmp_path / "api")[0].name


def window_ending_before(today: date, days: int) -> list[str]:
    return [(today - timedelta(days=days - i)).isoformat() for i in range(days)]
