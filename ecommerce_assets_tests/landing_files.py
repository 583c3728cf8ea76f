"""Hand-made delivery files for the reliability tests: one valid row per table, the contract's
CSV dialect, and a delivery folder written with or without its _SUCCESS marker."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ecommerce_assets.contract import TABLES, TableSpec

D = "2024-01-01"
DAY = date(2024, 1, 1)
ORDER = TABLES["orders"]

# One valid row per table on delivery day D (text, as delivered).
VALID: dict[str, dict[str, str]] = {
    "users": {
        "user_id": "1",
        "user_name": "Ann Lee",
        "email": "ann@example.com",
        "country": "DE",
        "city": "Berlin",
        "signup_date": D,
        "updated_at": f"{D} 10:00:00",
    },
    "products": {
        "product_id": "1",
        "product_name": "Desk Lamp",
        "category": "Home & Kitchen",
        "subcategory": "Lighting",
        "price": "20.00",
        "cost": "8.00",
        "supplier_id": "3",
        "updated_at": f"{D} 09:00:00",
    },
    "orders": {
        "order_id": "1",
        "user_id": "1",
        "order_ts": f"{D} 10:00:00",
        "status": "placed",
        "payment_method": "paypal",
        "shipping_amount": "0",
        "order_amount": "20.00",
    },
    "order_items": {
        "order_item_id": "1",
        "order_id": "1",
        "product_id": "1",
        "quantity": "1",
        "unit_price": "20.00",
        "discount": "0",
    },
    "events": {
        "event_id": "1",
        "session_id": "s1",
        "user_id": "1",
        "event_type": "page_view",
        "product_id": "",
        "event_ts": f"{D} 10:00:00",
        "event_value": "",
    },
    "reviews": {
        "review_id": "1",
        "product_id": "1",
        "user_id": "1",
        "rating": "4",
        "review_text": "fine",
        "review_date": D,
        "helpful_votes": "0",
    },
}


def _csv_field(value: str) -> str:
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(spec: TableSpec, rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """A contract-dialect CSV of ``rows`` (LF line ends)."""
    names = header or spec.column_names
    lines = [",".join(names)]
    lines += [",".join(_csv_field(row.get(n, "")) for n in names) for row in rows]
    return "\n".join(lines) + "\n"


def deliver(root: Path, day: str, files: dict[str, str | bytes], success: bool = True) -> Path:
    folder = root / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content.encode() if isinstance(content, str) else content)
    if success:
        (folder / "_SUCCESS").touch()
    return folder
