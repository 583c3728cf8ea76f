"""The generator's manifest must predict staging exactly: re-derive every outcome from the files."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ecommerce_assets import contract as C
from ecommerce_assets.generate import DEFAULT_RATES, generate_landing_zone, main

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


def audit(root: Path) -> dict:
    """Re-derive every manifest claim from the files; return observations for extra asserts."""
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
            q = {e["line"] - 2 for e in entry["quarantine"]}
            loaded[(folder.name, name)] = (header, recs, entry)
            for i, rec in enumerate(recs):
                if i in q or len(rec) != len(header):
                    continue
                row = dict(zip(header, rec, strict=False))
                if name == "users":
                    user_ids.add(row["user_id"])
                if name == "products":
                    product_ids.add(row["product_id"])
    obs: dict = {"orders": 0, "purchases": 0, "events": 0, "late": 0, "checked": Counter()}
    orders_by_id: dict[str, dict] = {}
    purchases: list[dict] = []
    for folder in folders:
        day = date.fromisoformat(folder.name)
        day_orders: dict[str, dict] = {}
        lines_by_order: dict[str, list[dict]] = {}
        found_by_table: dict[str, Counter] = {}
        for name, spec in C.TABLES.items():
            header, recs, entry = loaded[(folder.name, name)]
            qmap = {e["line"] - 2: e["reason"] for e in entry["quarantine"]}
            seen: dict[str, list[str]] = {}
            found: Counter = found_by_table.setdefault(name, Counter())
            staged = []
            for i, rec in enumerate(recs):
                reasons = row_reasons(spec, header, rec, day)
                if i in qmap:
                    obs["checked"][qmap[i]] += 1
                    if qmap[i] == C.DUPLICATE_KEY:
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
                assert reasons == [], (folder.name, name, i, rec, reasons)
                row = dict(zip(header, rec, strict=False))
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
    generate_landing_zone(root, seed=7, scale=0.5, days=21, rates=HIGH_RATES)
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    summary = generate_landing_zone(root, seed=3, scale=2.0, days=60, clean=True)
    return root, summary


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_landing_zone(tmp_path / name, seed=seed, scale=0.3, days=4)
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
            assert entry["quarantine"] == []
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
    assert 0.07 < sum(v == 2 for v in users.values()) / len(users) < 0.13
    assert 0.03 < sum(v == 2 for v in products.values()) / len(products) < 0.07
    # daily volumes follow the reference (scale 2 over 60 days)
    per_day = {t: summary["rows"][t] / 60 / 2 for t in summary["rows"]}
    assert 45 < per_day["orders"] < 65
    assert 2.0 < summary["rows"]["order_items"] / summary["rows"]["orders"] < 2.4
    assert 180 < per_day["events"] < 260
    assert 30 < per_day["reviews"] < 52


def test_tiny_scale_is_small_but_not_empty(tmp_path: Path) -> None:
    summary = generate_landing_zone(tmp_path, scale=0.01, days=366, clean=True)
    assert all(0 < n < 2000 for n in summary["rows"].values())


def test_rerun_overwrites_and_missing_column_is_counted(tmp_path: Path) -> None:
    generate_landing_zone(tmp_path, seed=1, scale=0.2, days=2)
    generate_landing_zone(tmp_path, seed=1, scale=0.2, days=2, rates={"missing_column": 1.0})
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
    cmd += ["--days", "3", "--scale", "0.05", "--rate", "bad_key=0.5"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr
    assert "wrote 3 days" in res.stdout
    assert [p.name for p in days_of(out)] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    audit(out)


def test_cli_out_defaults_to_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECOMMERCE_LANDING_DIR", str(tmp_path / "env"))
    assert main(["--days", "1", "--scale", "0.05"]) == 0
    assert (tmp_path / "env" / "2024-01-01" / C.SUCCESS_MARKER).exists()


def test_live_mode_delivers_the_next_days_one_by_one(tmp_path: Path) -> None:
    """``--live`` appends complete deliveries after the newest one (the demo the sensor watches)."""
    out = tmp_path / "live"
    generate_landing_zone(out, seed=3, scale=0.05, days=2)
    args = [sys.executable, "-m", "ecommerce_assets.generate", "--out", str(out), "--scale", "0.05"]
    result = subprocess.run(
        [*args, "--live", "--interval", "0", "--max-days", "2"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "delivered 2024-01-03" in result.stdout and "delivered 2024-01-04" in result.stdout
    days = sorted(p.name for p in out.iterdir() if (p / "_SUCCESS").is_file())
    assert days == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    manifest = json.loads((out / "2024-01-04" / "_manifest.json").read_text())
    assert manifest["delivery_date"] == "2024-01-04"
