"""Reliability against bad input: every defect at an extreme rate, hostile files.

Each test feeds something a source system might really send and proves the platform either
quarantines it with a reason or fails with a message naming file, line and column -- and that no
row disappears (raw = staged + quarantined + exact duplicates). Odd deliveries run end to end
through Dagster are in test_reliability_deliveries.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from ecommerce_assets.contract import TABLES
from ecommerce_assets.landing import DeliveryError, ReadReport, check_delivery, read_raw
from ecommerce_assets.transforms.staging import StageResult, stage_table

from .landing_files import DAY, ORDER, VALID, D, csv_text, deliver

NOW = datetime(2024, 1, 2, 6, 0, 0)
N = 6  # rows per hand-made file: every one of them carries the defect


def stage_file(root: Path, table: str, staged_orders: pd.DataFrame | None = None) -> StageResult:
    """Read ``table`` of day D as the raw layer does, then stage it; assert rows are conserved."""
    spec = TABLES[table]
    check_delivery(root / D, [spec], ReadReport())
    raw = read_raw(root, spec, [DAY], NOW, ReadReport())
    result = stage_table(spec, raw, staged_orders)
    audit = result.audit
    if len(raw):
        assert int(audit["raw_rows"].sum()) == len(raw)
    assert len(raw) == len(result.staged) + len(result.quarantine) + int(
        audit["exact_duplicates"].sum()
    )
    return result


def valid_orders() -> pd.DataFrame:
    """Staged orders of day D holding order 1, for order lines to attach to."""
    return pd.DataFrame({"delivery_date": [pd.Timestamp(D)], "order_id": [1]})


# ------------------------------------------------------------------------------------------------
# Every defect class of the landing contract, all rows of one file bad.
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Extreme:
    """A defect applied to every row of one table's file, and what staging must make of it."""

    table: str
    mutate: Callable[[int, dict[str, str]], dict[str, str]]
    reasons: dict[str, int]  # quarantine reason -> rows
    staged: int = 0
    audit: tuple[str, int] | None = None  # an audit counter that must equal the value
    check: Callable[[pd.DataFrame], bool] | None = None  # on the staged rows


EXTREMES: dict[str, Extreme] = {
    "null_key": Extreme(
        "orders", lambda i, r: {**r, "order_id": "", "shipping_amount": str(i)}, {"null_key": N}
    ),
    "bad_key": Extreme(
        "reviews",
        lambda i, r: {**r, "review_id": ["abc", "-5", "0", "1.5", "12abc", "x7"][i]},
        {"bad_key": N},
    ),
    "duplicate_key": Extreme(
        "events",
        lambda i, r: {**r, "event_id": "7", "session_id": f"s{i}"},
        {"duplicate_key": N - 1},
        staged=1,
        check=lambda s: s["session_id"].tolist() == ["s0"],  # the first by file order wins
    ),
    "bad_value": Extreme(
        "order_items",
        lambda i, r: {**r, "order_item_id": str(i + 1), "quantity": "N/A"},
        {"bad_value:quantity": N},
    ),
    "out_of_range": Extreme(
        "products",
        lambda i, r: {**r, "product_id": str(i + 1), "cost": "25.00"},
        {"out_of_range:cost": N},
    ),
    "future_timestamp": Extreme(
        "orders",
        lambda i, r: {**r, "order_id": str(i + 1), "order_ts": "2024-01-02 00:00:01"},
        {"future_timestamp": N},
    ),
    "orphan_line": Extreme(
        "order_items",
        lambda i, r: {**r, "order_item_id": str(i + 1), "order_id": str(100 + i)},
        {"orphan_line": N},
    ),
    "exact_duplicate": Extreme(
        "users",
        lambda i, r: dict(r),
        {},
        staged=1,
        audit=("exact_duplicates", N - 1),
    ),
    "whitespace_case": Extreme(
        "orders",
        lambda i, r: {
            **r,
            "order_id": str(i + 1),
            "status": "  SHIPPED ",
            "payment_method": "PayPal",
        },
        {},
        staged=N,
        audit=("repaired_rows", N),
        check=lambda s: set(s["status"]) == {"shipped"} and set(s["payment_method"]) == {"paypal"},
    ),
    "unknown_value": Extreme(
        "orders",
        lambda i, r: {**r, "order_id": str(i + 1), "payment_method": "bitcoin"},
        {},
        staged=N,
        audit=("unknown_values", N),
        check=lambda s: set(s["payment_method"]) == {"unknown"},
    ),
    "invalid_email": Extreme(
        "users",
        lambda i, r: {**r, "user_id": str(i + 1), "email": "alice@@example"},
        {},
        staged=N,
        audit=("invalid_emails", N),
        check=lambda s: s["email"].isna().all(),
    ),
    "orphan_reference": Extreme(
        "reviews",
        lambda i, r: {**r, "review_id": str(i + 1), "product_id": "999999"},
        {},
        staged=N,  # kept: the marts link it to the unknown product
    ),
    "inconsistent_total": Extreme(
        "orders",
        lambda i, r: {**r, "order_id": str(i + 1), "order_amount": "999.99"},
        {},
        staged=N,  # kept as sent, counted by the accuracy check
        check=lambda s: (s["order_amount"].astype(float) == 999.99).all(),
    ),
    "late_event": Extreme(
        "events",
        lambda i, r: {**r, "event_id": str(i + 1), "event_ts": "2023-12-31 23:00:00"},
        {},
        staged=N,
        check=lambda s: s["is_late_arrival"].all(),
    ),
}


@pytest.mark.parametrize("defect", sorted(EXTREMES))
def test_every_defect_class_with_all_rows_of_a_file_bad(tmp_path: Path, defect: str) -> None:
    case = EXTREMES[defect]
    spec = TABLES[case.table]
    rows = [case.mutate(i, VALID[case.table]) for i in range(N)]
    deliver(tmp_path, D, {spec.file_name: csv_text(spec, rows)})
    orders = valid_orders() if case.table == "order_items" and defect != "orphan_line" else None
    result = stage_file(tmp_path, case.table, orders)
    got = result.quarantine["reason"].value_counts().to_dict()
    assert got == case.reasons
    assert len(result.staged) == case.staged
    if case.audit is not None:
        column, expected = case.audit
        assert int(result.audit[column].sum()) == expected
    if case.check is not None:
        assert case.check(result.staged)
    # Every quarantined row keeps its file, line and raw values.
    assert (result.quarantine["source_file"] == f"{D}/{spec.file_name}").all()
    assert result.quarantine["raw_values"].notna().all()


def test_malformed_lines_only_file_is_all_quarantined_with_line_numbers(tmp_path: Path) -> None:
    spec = TABLES["orders"]
    body = "\n".join(f"{i},1,{D} 10:00:00,placed,paypal,0,1,extra,fields" for i in range(N))
    deliver(tmp_path, D, {spec.file_name: ",".join(spec.column_names) + "\n" + body + "\n"})
    result = stage_file(tmp_path, "orders")
    assert len(result.staged) == 0
    assert result.quarantine["reason"].tolist() == ["malformed_line"] * N
    assert result.quarantine["line_number"].tolist() == list(range(2, N + 2))


def test_missing_required_column_in_every_file_fails_the_day_naming_file_and_column(
    tmp_path: Path,
) -> None:
    files = {}
    for name, spec in TABLES.items():
        header = [c for c in spec.column_names if c != spec.key]
        files[spec.file_name] = csv_text(spec, [VALID[name]], header)
    folder = deliver(tmp_path, D, files)
    with pytest.raises(DeliveryError, match=r"users\.csv, line 1: required column 'user_id'"):
        check_delivery(folder, list(TABLES.values()), ReadReport())


# ------------------------------------------------------------------------------------------------
# Files: format variants that load, and garbage that fails clearly.
# ------------------------------------------------------------------------------------------------
HEADER = ",".join(ORDER.column_names)


def _order_rows(n: int, **over: str) -> list[dict[str, str]]:
    return [{**VALID["orders"], "order_id": str(i + 1), **over} for i in range(n)]


def test_bom_crlf_quoted_commas_and_newlines_load_exactly(tmp_path: Path) -> None:
    spec = TABLES["reviews"]
    texts = ["a, b, and c", 'she said "wow"', "line one\nline two", "crlf\r\ninside", "", "x"]
    rows = [
        {**VALID["reviews"], "review_id": str(i + 1), "review_text": t} for i, t in enumerate(texts)
    ]
    # BOM and CRLF line ends (quoted newlines become CRLF too, which quotes allow).
    data = "\ufeff" + "\r\n".join(csv_text(spec, rows).split("\n"))
    deliver(tmp_path, D, {spec.file_name: data.encode("utf-8")})
    result = stage_file(tmp_path, "reviews")
    assert len(result.quarantine) == 0
    staged = result.staged["review_text"].tolist()
    assert staged[:2] == texts[:2] and staged[5] == "x" and pd.isna(staged[4])
    assert "line one" in staged[2] and "line two" in staged[2]
    # Physical lines: reviews 3 and 4 each run over two lines.
    assert result.staged["line_number"].tolist() == [2, 3, 4, 6, 8, 9]


def test_columns_in_a_new_order_and_an_extra_column_load_by_name(tmp_path: Path) -> None:
    header = [*reversed(ORDER.column_names), "coupon_code"]
    rows = [{**r, "coupon_code": "SAVE10"} for r in _order_rows(N)]
    deliver(tmp_path, D, {ORDER.file_name: csv_text(ORDER, rows, header)})
    report = ReadReport()
    check_delivery(tmp_path / D, [ORDER], report)
    assert any("['coupon_code'] ignored" in w for w in report.warnings)
    result = stage_file(tmp_path, "orders")
    assert len(result.staged) == N and len(result.quarantine) == 0
    assert result.staged["order_id"].tolist() == list(range(1, N + 1))
    assert set(result.staged["status"]) == {"placed"}


def test_too_many_fields_and_a_very_long_field(tmp_path: Path) -> None:
    long_ok = "y" * 500_000  # long, but within DuckDB's 2 MB line limit: kept intact
    too_long = "z" * 2_100_000  # over it: that one line is quarantined, the rest loads
    rows = _order_rows(4)
    lines = [HEADER]
    lines.append(",".join(rows[0].values()))
    lines.append(",".join(rows[1].values()) + ",surplus,fields")
    lines.append(",".join({**rows[2], "status": long_ok}.values()))
    lines.append(",".join({**rows[3], "status": too_long}.values()))
    deliver(tmp_path, D, {ORDER.file_name: "\n".join(lines) + "\n"})
    result = stage_file(tmp_path, "orders")
    assert result.staged["order_id"].tolist() == [1, 3]
    assert result.staged["status"].tolist() == ["placed", "unknown"]  # long_ok: not an enum value
    q = result.quarantine.set_index("line_number")["reason"].to_dict()
    assert q == {3: "malformed_line", 5: "malformed_line"}
    assert "LINE SIZE" in result.quarantine.iloc[1]["raw_values"]


def test_latin1_body_lines_are_quarantined_with_the_encoding_error(tmp_path: Path) -> None:
    text = csv_text(ORDER, _order_rows(3, status="placed"))
    lines = text.splitlines()
    lines[2] = lines[2].replace("paypal", "caf\u00e9")  # line 3 in Latin-1, the rest UTF-8
    data = b"\n".join(
        line.encode("latin-1") if i == 2 else line.encode() for i, line in enumerate(lines)
    )
    deliver(tmp_path, D, {ORDER.file_name: data + b"\n"})
    result = stage_file(tmp_path, "orders")
    assert result.staged["order_id"].tolist() == [1, 3]
    assert result.quarantine[["line_number", "reason"]].values.tolist() == [[3, "malformed_line"]]
    assert "INVALID ENCODING" in result.quarantine.iloc[0]["raw_values"]


def test_latin1_header_fails_naming_file_line_and_column(tmp_path: Path) -> None:
    data = ("order_id,user_id,order_ts,st\u00e4tus\n").encode("latin-1")
    folder = deliver(tmp_path, D, {ORDER.file_name: data})
    with pytest.raises(DeliveryError, match=r"orders\.csv, line 1, column 29: .*not valid UTF-8"):
        check_delivery(folder, [ORDER], ReadReport())


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "png",
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
            r"line 1, column 1: .*not valid UTF-8",
        ),
        ("gzip", b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8, r"line 1, column 1: .*gzip"),
        (
            "garbage after the header",
            (HEADER + "\n1,1,x,y,z,0,1\n").encode() + bytes(range(256)) * 4,
            r"line 4, column 3: a carriage return \(CR\) outside quotes.*header ends with LF",
        ),
        (
            "a stray CR in a CRLF file",
            (HEADER + "\r\n1,1,x,y\rz,0,1\r\n").encode(),
            r"line 2, column 8: a carriage return \(CR\) outside quotes.*header ends with CRLF",
        ),
        (
            "mixed LF and CRLF",
            (HEADER + "\n1,1,x,y,z,0,1\n2,1,x,y,z,0,1\r\n").encode(),
            r"line 3, column 14: the line ends with CRLF, but the file's header ends with LF",
        ),
    ],
)
def test_binary_garbage_and_broken_line_ends_fail_naming_file_line_and_column(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    folder = deliver(tmp_path, D, {ORDER.file_name: content})
    with pytest.raises(DeliveryError, match=r"2024-01-01/orders\.csv, " + expected):
        check_delivery(folder, [ORDER], ReadReport())
    # read_raw, on its own, fails just as clearly rather than with DuckDB's bare parser error.
    if "UTF-8" not in expected:
        with pytest.raises(DeliveryError, match=expected):
            read_raw(tmp_path, ORDER, [DAY], NOW, ReadReport())


def test_binary_garbage_without_line_breaks_is_quarantined_not_lost(tmp_path: Path) -> None:
    rng = random.Random(5)
    junk = bytes(rng.choice([b for b in range(256) if b != 13]) for _ in range(4000))
    deliver(tmp_path, D, {ORDER.file_name: (HEADER + "\n").encode() + junk})
    result = stage_file(tmp_path, "orders")  # conservation asserted inside
    assert len(result.staged) == 0 and len(result.quarantine) > 0


def test_cr_inside_quotes_is_data_and_cr_only_line_ends_load(tmp_path: Path) -> None:
    spec = TABLES["reviews"]
    rows = [{**VALID["reviews"], "review_id": str(i), "review_text": "old\rmac"} for i in (1, 2)]
    deliver(tmp_path, D, {spec.file_name: csv_text(spec, rows)})
    assert stage_file(tmp_path, "reviews").staged["review_text"].tolist() == ["old\rmac"] * 2
    # Classic Mac files (CR alone ends every line, as in the header) read consistently.
    deliver(tmp_path, D, {spec.file_name: csv_text(spec, rows).replace("\n", "\r")})
    assert stage_file(tmp_path, "reviews").staged["review_id"].tolist() == [1, 2]
