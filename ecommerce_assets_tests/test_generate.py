"""The generator's manifest must predict staging exactly: re-derive every outcome from the files.

Also: a day never depends on how many days follow it (a window is a prefix of any longer one, a
zone can be continued), the default window ends yesterday (UTC), and ``--live`` keeps delivering
each day once it has ended, on a simulated clock."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ecommerce_assets import contract as C
from ecommerce_assets.generate import DEFAULT_RATES, generate_landing_zone, live_deliveries, main
from ecommerce_assets.generate.live import day_end
from ecommerce_assets.generate.world import build_world, start_day

from .conftest import START

HIGH_RATES = {k: 0.02 for k in DEFAULT_RATES if k not in ("late_event", "missing_column")}
HIGH_RATES["extra_column"] = 0.15
INT = re.compile(r"-?\d+")
POS_INT = re.compile(r"[1-9]\d*")
DEC = re.compile(r"-?\d+(\.\d+)?")
EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
STRING_REPAIR = {
    "users": ("user_name", "email", "country", "city"),
    "products": ("product_name", "category", "subcategory"),
    "orders": ("status", "payment_method"),
    "events": ("event_type",),
}


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def record_index(path: Path) -> dict[int, int]:
    """Physical line a record starts on (the manifest's ``line``) -> the record's index: a line
    break inside a quoted field moves the later records down."""
    out = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        previous = reader.line_num
        for i, _ in enumerate(reader):
            out[previous + 1] = i
            previous = reader.line_num
    return out


def days_of(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def manifest(folder: Path) -> dict:
    return json.loads((folder / C.MANIFEST_FILE).read_text(encoding="utf-8"))


def parse(kind: str, v: str):
    """Parse like staging would; raises ValueError on an unparseable value."""
    if kind == "int":
        if not INT.fullmatch(v):
            raise ValueError(v)
        return int(v)
    if kind == "decimal":
        if not DEC.fullmatch(v):
            raise ValueError(v)
        return Decimal(v)
    if kind == "date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError(v)
        return datetime.strptime(v, "%Y-%m-%d").date()
    if kind == "timestamp":
        return datetime.strptime(v, C.TIMESTAMP_FORMAT)
    return v


def row_reasons(spec: C.TableSpec, header: list[str], rec: list[str], day: date) -> list[str]:
    """Quarantine reasons a record carries on its own (no cross-row context)."""
    if len(rec) != len(header) or "brokenquote" in rec:
        return [C.MALFORMED_LINE]
    row = dict(zip(header, rec, strict=False))
    key = row[spec.key]
    if key == "":
        return [C.NULL_KEY]
    if not POS_INT.fullmatch(key):
        return [C.BAD_KEY]
    out: list[str] = []
    val = {}
    for c in spec.columns:
        v = row.get(c.name, "")
        if c.name == spec.key or c.kind == "str" or v == "":
            continue
        try:
            val[c.name] = parse(c.kind, v)
        except ValueError:
            out.append(C.bad_value(c.name))
    etype = row.get("event_type", "").strip().lower()
    if spec.name == "events" and etype in C.PRODUCT_EVENT_TYPES and row["product_id"] == "":
        out.append(C.bad_value("product_id"))
    start = datetime.combine(day, datetime.min.time())
    end = start + timedelta(days=1)
    if "price" in val and val["price"] <= 0:
        out.append(C.out_of_range("price"))
    elif "cost" in val and "price" in val and not (0 <= val["cost"] < val["price"]):
        out.append(C.out_of_range("cost"))
    checks = {
        "quantity": lambda x: x >= 1,
        "unit_price": lambda x: x > 0,
        "discount": lambda x: 0 <= x < 1,
        "shipping_amount": lambda x: x >= 0,
        "rating": lambda x: 1 <= x <= 5,
        "helpful_votes": lambda x: x >= 0,
    }
    for col, ok in checks.items():
        if col in val and not ok(val[col]):
            out.append(C.out_of_range(col))
    if spec.name == "orders" and "order_ts" in val and val["order_ts"] < start:
        out.append(C.out_of_range("order_ts"))
    if spec.name == "events" and "event_ts" in val and val["event_ts"] < start - timedelta(1):
        out.append(C.out_of_range("event_ts"))
    if spec.name == "reviews" and "review_date" in val and val["review_date"] < day:
        out.append(C.out_of_range("review_date"))
    for col in ("order_ts", "event_ts", "updated_at"):
        if col in val and val[col] >= end:
            out.append(C.FUTURE_TIMESTAMP)
    for col in ("signup_date", "review_date"):
        if col in val and val[col] > day:
            out.append(C.FUTURE_TIMESTAMP)
    return out


def net_cents(q: str, p: str, d: str) -> Decimal:
    return (int(q) * Decimal(p) * (1 - Decimal(d))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def contract_values(spec: C.TableSpec, row: dict[str, str]) -> dict[str, str]:
    """A row's values in the contract's columns (an undeclared column is ignored)."""
    return {c: row.get(c, "") for c in spec.column_names}


def audit(root: Path) -> dict:
    """Re-derive every manifest claim from the files; return observations for extra asserts.

    Rows of events and reviews sent again in a later delivery are judged against the rows staged
    from earlier deliveries: unchanged, an exact duplicate; changed, a ``duplicate_key``."""
    folders = days_of(root)
    loaded: dict[tuple[str, str], tuple[list[str], list[list[str]], dict]] = {}
    user_ids: set[str] = set()
    product_ids: set[str] = set()
    for folder in folders:
        m = manifest(folder)
        assert (folder / C.SUCCESS_MARKER).exists()
        assert (folder / C.SUCCESS_MARKER).stat().st_size == 0
        assert m["delivery_date"] == folder.name
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        for name, spec in C.TABLES.items():
            path = folder / spec.file_name
            raw = path.read_bytes()
            entry = m["tables"][name]
            assert raw.startswith(b"\xef\xbb\xbf") == entry["bom"]
            assert (b"\r\n" in raw.split(b"\n", 1)[0] + b"\n") == entry["crlf"]
            header, recs = read_csv(path)
            assert header == entry["columns"]
            assert entry["rows"] == len(recs)
            index = record_index(path)
            q = {index[e["line"]] for e in entry["quarantine"]}
            loaded[(folder.name, name)] = (header, recs, entry, index)
            for i, rec in enumerate(recs):
                if i in q or len(rec) != len(header):
                    continue
                row = dict(zip(header, rec, strict=False))
                if name == "users":
                    user_ids.add(row["user_id"])
                if name == "products":
                    product_ids.add(row["product_id"])
    obs: dict = {"orders": 0, "purchases": 0, "events": 0, "late": 0}
    obs |= {"checked": Counter(), "resent": Counter()}
    orders_by_id: dict[str, dict] = {}
    purchases: list[dict] = []
    earlier: dict[str, dict[str, dict[str, str]]] = {"events": {}, "reviews": {}}
    for folder in folders:
        day = date.fromisoformat(folder.name)
        day_orders: dict[str, dict] = {}
        lines_by_order: dict[str, list[dict]] = {}
        found_by_table: dict[str, Counter] = {}
        for name, spec in C.TABLES.items():
            header, recs, entry, index = loaded[(folder.name, name)]
            qmap = {index[e["line"]]: e["reason"] for e in entry["quarantine"]}
            seen: dict[str, list[str]] = {}
            found: Counter = found_by_table.setdefault(name, Counter())
            staged = []
            for i, rec in enumerate(recs):
                reasons = row_reasons(spec, header, rec, day)
                prior = None
                if len(rec) == len(header) and name in earlier:
                    prior = earlier[name].get(dict(zip(header, rec, strict=True))[spec.key])
                if i in qmap:
                    obs["checked"][qmap[i]] += 1
                    if qmap[i] == C.DUPLICATE_KEY and prior is not None:
                        # re-sent from an earlier delivery, where it was valid; now changed
                        yesterday = day - timedelta(days=1)
                        assert row_reasons(spec, header, rec, yesterday) == [], (folder.name, i)
                        row = dict(zip(header, rec, strict=True))
                        assert contract_values(spec, row) != prior
                        obs["resent"][C.DUPLICATE_KEY] += 1
                    elif qmap[i] == C.DUPLICATE_KEY:
                        assert reasons == [], (folder.name, name, i, reasons)
                        key = dict(zip(header, rec, strict=False))[spec.key]
                        assert key in seen and seen[key] != rec
                    elif qmap[i] == C.ORPHAN_LINE:
                        assert reasons == []
                        assert dict(zip(header, rec, strict=False))["order_id"] not in day_orders
                    else:
                        assert reasons == [qmap[i]], (folder.name, name, i, rec, reasons)
                    found[qmap[i]] += 1
                    continue
                row = dict(zip(header, rec, strict=False))
                if prior is not None:
                    # an earlier delivery's row sent again unchanged: an exact duplicate
                    assert contract_values(spec, row) == prior, (folder.name, name, i)
                    found[C.EXACT_DUPLICATE] += 1
                    obs["resent"][C.EXACT_DUPLICATE] += 1
                    continue
                assert reasons == [], (folder.name, name, i, rec, reasons)
                key = row[spec.key]
                if key in seen:
                    # versions of users/products differ in updated_at, never exact copies
                    assert seen[key] == rec, (folder.name, name, i)
                    found[C.EXACT_DUPLICATE] += 1
                    continue
                seen[key] = rec
                staged.append(row)
                if name == "order_items":
                    assert row["order_id"] in day_orders, "orphan line not quarantined"
            assert len(staged) == entry["staged"]
            for row in staged if name in earlier else ():
                earlier[name][row[spec.key]] = contract_values(spec, row)
            # in-place defects, recounted from the staged rows
            for row in staged:
                for col in STRING_REPAIR.get(name, ()):
                    v = row[col]
                    enum = C.ENUMERATIONS.get((name, col))
                    if enum is not None:
                        canon = {e.lower(): e for e in enum}.get(v.strip().lower())
                        if canon is None:
                            found[C.unknown_value(col)] += 1
                        elif v != canon:
                            found[C.WHITESPACE_CASE] += 1
                    elif col == "email":
                        if not EMAIL.fullmatch(v.strip().lower()):
                            found[C.INVALID_EMAIL] += 1
                        elif v != v.strip().lower():
                            found[C.WHITESPACE_CASE] += 1
                    elif col == "country":
                        assert re.fullmatch(r" *[A-Za-z]{2} *", v)
                        if v != v.strip().upper():
                            found[C.WHITESPACE_CASE] += 1
                    elif v != v.strip():
                        found[C.WHITESPACE_CASE] += 1
                for col, ids in (("user_id", user_ids), ("product_id", product_ids)):
                    fact = name in ("orders", "order_items", "events", "reviews")
                    if fact and row.get(col) and row[col] not in ids:
                        found[C.orphan_reference(col)] += 1
                if name == "orders":
                    day_orders[row["order_id"]] = row
                if name == "order_items":
                    lines_by_order.setdefault(row["order_id"], []).append(row)
            if name == "order_items":
                for oid, o in day_orders.items():
                    total = sum(
                        (
                            net_cents(li["quantity"], li["unit_price"], li["discount"])
                            for li in lines_by_order.get(oid, [])
                        ),
                        Decimal(0),
                    )
                    total += Decimal(o["shipping_amount"])
                    if abs(total - Decimal(o["order_amount"])) > Decimal("0.01"):
                        assert abs(total - Decimal(o["order_amount"])) >= 1
                        found_by_table["orders"][C.INCONSISTENT_TOTAL] += 1
                    else:
                        assert total == Decimal(o["order_amount"])
                    assert lines_by_order.get(oid), "every order has lines"
                orders_by_id.update(day_orders)
                obs["orders"] += len(day_orders)
            if name == "events":
                start = datetime.combine(day, datetime.min.time())
                for row in staged:
                    obs["events"] += 1
                    if parse("timestamp", row["event_ts"]) < start:
                        found[C.LATE_EVENT] += 1
                    if row["event_type"] == "purchase":
                        purchases.append(row)
                    else:
                        assert row["event_value"] == ""
                obs["late"] += found[C.LATE_EVENT]
            if "extra_column" in entry["defects"]:
                found[C.EXTRA_COLUMN] += 1
                assert set(header) - set(spec.column_names)
        for name, found in found_by_table.items():
            entry = loaded[(folder.name, name)][2]
            found = Counter({k: v for k, v in found.items() if v})
            assert dict(found) == entry["defects"], (folder.name, name, found, entry["defects"])
    # purchase events match exactly one order each (same user, event_ts = order_ts, value)
    by_ts_user: dict[tuple[str, str], list[dict]] = {}
    for o in orders_by_id.values():
        by_ts_user.setdefault((o["order_ts"], o["user_id"]), []).append(o)
    matched: Counter = Counter()
    for ev in purchases:
        candidates = by_ts_user.get((ev["event_ts"], ev["user_id"]), [])
        assert len(candidates) == 1, ev
        assert candidates[0]["order_amount"] == ev["event_value"]
        matched[candidates[0]["order_id"]] += 1
    assert all(v == 1 for v in matched.values())
    obs["purchases"] = len(purchases)
    return obs


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


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def stats(root: Path) -> dict[str, tuple[str, int]]:
    """Every file's hash and mtime: what a re-delivery would change."""
    return {k: (v, (root / k).stat().st_mtime_ns) for k, v in hashes(root).items()}


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
