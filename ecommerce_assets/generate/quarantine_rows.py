"""Defects that staging must quarantine: extra rows, each a copy of a real row with one flaw.

Why a module of its own: these defects never touch real rows -- they add a copy with a fresh key
(from a reserved range) and exactly one corruption -- so totals and references stay intact and
the manifest can name the exact quarantine reason of every added line. One function per class.
"""

from __future__ import annotations

from collections.abc import Callable

from ecommerce_assets import contract

from .formatting import cents_of, cents_text, date_text
from .injection import InjectedRow, Injection
from .vocabulary import BAD_KEYS, BAD_VALUES

# Columns each table's out-of-range and future-timestamp defects may hit.
OUT_OF_RANGE_COLUMNS = {
    "products": ("price", "cost"),
    "orders": ("shipping_amount", "order_ts"),
    "order_items": ("quantity", "unit_price", "discount"),
    "events": ("event_ts",),
    "reviews": ("rating", "helpful_votes", "review_date"),
}
FUTURE_COLUMNS = {
    "users": ("signup_date", "updated_at"),
    "products": ("updated_at",),
    "orders": ("order_ts",),
    "events": ("event_ts",),
    "reviews": ("review_date",),
}
# The column a duplicate key differs in from the row it duplicates.
DUPLICATE_KEY_CHANGE = {
    "orders": "status",
    "order_items": "quantity",
    "events": "session_id",
    "reviews": "helpful_votes",
}

Row = dict[str, str]


def _cost_not_below_price(injection: Injection, row: Row) -> str:
    """Cost at or above the price (the price stays valid), or negative."""
    if injection.rng.random() < 0.7:
        return cents_text(cents_of(row["price"]) + int(injection.rng.integers(0, 2000)))
    return "-1.00"


_OUT_OF_RANGE_VALUE: dict[str, Callable[[Injection, Row], str]] = {
    "price": lambda inj, row: inj.choose(("0.00", "-" + row["price"])),
    "cost": _cost_not_below_price,
    "shipping_amount": lambda inj, row: inj.choose(("-4.99", "-9.99")),
    "order_ts": lambda inj, row: inj.timestamp_text(-int(inj.rng.integers(1, 6))),
    "event_ts": lambda inj, row: inj.timestamp_text(-int(inj.rng.integers(2, 11))),
    "review_date": lambda inj, row: date_text(inj.day_num - int(inj.rng.integers(1, 31))),
    "quantity": lambda inj, row: inj.choose(("0", "-1", "-2")),
    "unit_price": lambda inj, row: inj.choose(("0.00", "-" + row["unit_price"])),
    "discount": lambda inj, row: inj.choose(("1", "1.5", "-0.1", "1.000")),
    "rating": lambda inj, row: inj.choose(("0", "6", "7")),
    "helpful_votes": lambda inj, row: inj.choose(("-1", "-3")),
}


def add_malformed_lines(injection: Injection) -> None:
    """Lines with a field too many, one too few, or a broken quote (multi-line text removed)."""
    for _ in range(injection.how_many("malformed_line")):
        src = injection.pick()
        row = injection.copy_with_fresh_key(src)
        for column, value in row.items():
            if "\n" in value or "\r" in value:
                row[column] = "text"
        how = injection.choose(("more", "fewer", "quote"))
        injection.extras.append(InjectedRow(contract.MALFORMED_LINE, src, row, how))


def add_null_keys(injection: Injection) -> None:
    for _ in range(injection.how_many("null_key")):
        src = injection.pick()
        row = injection.copy_row(src)
        row[injection.spec.key] = ""
        injection.extras.append(InjectedRow(contract.NULL_KEY, src, row))


def add_bad_keys(injection: Injection) -> None:
    for _ in range(injection.how_many("bad_key")):
        src = injection.pick()
        row = injection.copy_row(src)
        row[injection.spec.key] = injection.choose(BAD_KEYS)
        injection.extras.append(InjectedRow(contract.BAD_KEY, src, row))


def _changed_value(injection: Injection, column: str, value: str) -> str:
    if column == "status":
        return injection.choose([x for x in contract.ORDER_STATUSES if x != value])
    if column == "quantity":
        return injection.choose([x for x in ("1", "2", "3", "4") if x != value])
    if column == "session_id":
        return value + "-b"
    return str(int(value) + 1 + int(injection.rng.integers(5)))


def add_duplicate_keys(injection: Injection) -> None:
    """A second row under an existing key, after the first, differing in one column."""
    column = DUPLICATE_KEY_CHANGE.get(injection.spec.name)
    if column is None:
        return
    for _ in range(injection.how_many("duplicate_key")):
        src = injection.pick()
        row = injection.copy_row(src)
        row[column] = _changed_value(injection, column, row[column])
        injection.extras.append(InjectedRow(contract.DUPLICATE_KEY, src, row, after_src=True))


def add_bad_values(injection: Injection) -> None:
    """Unparseable values in typed required columns; for events also a product event without
    its product."""
    spec = injection.spec
    typed = [c for c in spec.columns if c.required and c.kind != "str" and c.name != spec.key]
    for _ in range(injection.how_many("bad_value")):
        if spec.name == "events" and injection.rng.random() < 0.5:
            src = injection.pick(injection.table.masks["product_event"])
            if src is None:
                continue
            row = injection.copy_with_fresh_key(src)
            row["product_id"] = ""
            injection.extras.append(InjectedRow(contract.bad_value("product_id"), src, row))
            continue
        column = typed[int(injection.rng.integers(len(typed)))]
        src = injection.pick()
        row = injection.copy_with_fresh_key(src)
        row[column.name] = injection.choose(BAD_VALUES[column.kind])
        injection.extras.append(InjectedRow(contract.bad_value(column.name), src, row))


def add_out_of_range(injection: Injection) -> None:
    columns = OUT_OF_RANGE_COLUMNS.get(injection.spec.name)
    if columns is None:
        return
    for _ in range(injection.how_many("out_of_range")):
        column = injection.choose(columns)
        src = injection.pick()
        row = injection.copy_with_fresh_key(src)
        row[column] = _OUT_OF_RANGE_VALUE[column](injection, row)
        injection.extras.append(InjectedRow(contract.out_of_range(column), src, row))


def add_future_timestamps(injection: Injection) -> None:
    columns = FUTURE_COLUMNS.get(injection.spec.name)
    if columns is None:
        return
    for _ in range(injection.how_many("future_timestamp")):
        column = injection.choose(columns)
        src = injection.pick()
        row = injection.copy_with_fresh_key(src)
        days_ahead = int(injection.rng.integers(1, 31))
        if injection.spec.column(column).kind == "date":
            row[column] = date_text(injection.day_num + days_ahead)
        else:
            row[column] = injection.timestamp_text(days_ahead)
        injection.extras.append(InjectedRow(contract.FUTURE_TIMESTAMP, src, row))


def add_orphan_lines(injection: Injection) -> None:
    """Order lines whose order does not exist (order ids from a reserved range)."""
    if injection.spec.name != "order_items":
        return
    for _ in range(injection.how_many("orphan_line")):
        src = injection.pick()
        row = injection.copy_with_fresh_key(src)
        row["order_id"] = str(injection.keys.next("orphan_line"))
        injection.extras.append(InjectedRow(contract.ORPHAN_LINE, src, row))


# In injection order: the order is part of the random stream, so part of the output.
QUARANTINE_ROW_DEFECTS = (
    add_malformed_lines,
    add_null_keys,
    add_bad_keys,
    add_duplicate_keys,
    add_bad_values,
    add_out_of_range,
    add_future_timestamps,
    add_orphan_lines,
)
