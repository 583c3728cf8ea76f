"""An auditor of a generated landing zone, written from the contract, independent of the generator.

It re-reads the files as staging would (``ecommerce_assets.contract`` only, nothing from
``ecommerce_assets.generate`` but its rate names) and re-derives every claim of each day's
manifest: rows, quarantine reasons, in-place defects, re-sent rows, totals, purchase events, so a
generator bug cannot hide behind a shared helper. Used by ``test_generate.py`` and
``test_generate_live.py``, which also share ``HIGH_RATES`` (rates that make every defect class
appear) and ``hashes`` from here."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from ecommerce_assets import contract as C
from ecommerce_assets.generate import DEFAULT_RATES

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


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
