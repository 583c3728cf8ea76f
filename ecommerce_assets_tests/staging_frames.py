"""Tiny raw frames as the raw layer builds them, for the staging rules' tests."""

import pandas as pd

from ecommerce_assets.contract import TableSpec
from ecommerce_assets.landing import empty_raw_frame

DAY = "2024-03-10"


def raw_frame(spec: TableSpec, rows: list[dict], day: str = DAY) -> pd.DataFrame:
    """A raw frame as the raw layer builds it: text columns, lineage, line numbers from 2."""
    if not rows:
        return empty_raw_frame(spec)
    records = []
    for i, row in enumerate(rows):
        record = {c: row.get(c) for c in spec.column_names}
        record.update(
            delivery_date=pd.Timestamp(day),
            source_file=f"{day}/{spec.file_name}",
            line_number=i + 2,
            ingested_at=pd.Timestamp("2024-03-11"),
            raw_line=row.get("raw_line"),
            parse_error=row.get("parse_error"),
        )
        records.append(record)
    return pd.DataFrame(records)


def order(**overrides: str | None) -> dict:
    base = {
        "order_id": "1",
        "user_id": "10",
        "order_ts": f"{DAY} 10:00:00",
        "status": "placed",
        "payment_method": "paypal",
        "shipping_amount": "4.99",
        "order_amount": "24.99",
    }
    return {**base, **overrides}


def reasons(result) -> list[tuple[int, str]]:
    return list(zip(result.quarantine["line_number"], result.quarantine["reason"], strict=True))
