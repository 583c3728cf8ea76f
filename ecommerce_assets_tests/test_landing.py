"""Reading deliveries: completeness, headers by name, dialect variants, malformed lines."""

from datetime import date, datetime
from pathlib import Path

import pytest

from ecommerce_assets.contract import ORDERS, REVIEWS
from ecommerce_assets.landing import (
    DeliveryError,
    ReadReport,
    check_delivery,
    complete_deliveries,
    read_raw,
)

from .conftest import values

HEADER = "order_id,user_id,order_ts,status,payment_method,shipping_amount,order_amount"
NOW = datetime(2024, 6, 1, 12, 0, 0)


def deliver(root: Path, day: str, files: dict[str, bytes | str], success: bool = True) -> Path:
    folder = root / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    if success:
        (folder / "_SUCCESS").touch()
    return folder


def test_only_folders_with_success_marker_are_deliveries(tmp_path: Path) -> None:
    deliver(tmp_path, "2024-01-01", {"orders.csv": HEADER + "\n"})
    deliver(tmp_path, "2024-01-02", {"orders.csv": HEADER + "\n"}, success=False)
    deliver(tmp_path, "not-a-day", {})
    (tmp_path / "2024-01-03").write_text("a file, not a folder")
    assert list(complete_deliveries(tmp_path)) == [date(2024, 1, 1)]


def test_incomplete_folder_is_never_read(tmp_path: Path) -> None:
    deliver(tmp_path, "2024-01-02", {"orders.csv": HEADER + "\n1,2,x,y,z,1,1\n"}, success=False)
    report = ReadReport()
    df = read_raw(tmp_path, ORDERS, [date(2024, 1, 2)], NOW, report)
    assert len(df) == 0
    assert report.warnings == ["2024-01-02: no complete delivery (no _SUCCESS); 0 rows"]


def test_columns_are_read_by_header_name_with_bom_and_crlf(tmp_path: Path) -> None:
    reordered = "order_amount,order_id,status,user_id,order_ts,payment_method,shipping_amount"
    deliver(
        tmp_path,
        "2024-01-01",
        {
            "orders.csv": "\ufeff"
            + reordered
            + "\r\n12.50,7,placed,3,2024-01-01 10:00:00,paypal,0\r\n"
        },
    )
    deliver(tmp_path, "2024-01-02", {"orders.csv": HEADER + "\n8,4,2024-01-02 09:00:00,x,y,1,2\n"})
    df = read_raw(tmp_path, ORDERS, [date(2024, 1, 1), date(2024, 1, 2)], NOW, ReadReport())
    assert df[["order_id", "user_id", "order_amount", "line_number"]].values.tolist() == [
        ["7", "3", "12.50", 2],
        ["8", "4", "2", 2],
    ]
    assert df["source_file"].tolist() == ["2024-01-01/orders.csv", "2024-01-02/orders.csv"]
    assert list(df.columns[:7]) == ORDERS.column_names


def test_quoted_fields_and_malformed_lines_keep_their_line_numbers(tmp_path: Path) -> None:
    header = "review_id,product_id,user_id,rating,review_text,review_date,helpful_votes"
    body = (
        '1,5,6,4,"great, really ""great""\nsecond line",2024-01-01,0\n'
        "2,5,6,4,too,many,fields,here\n"
        '3,5,6,"bad"quote,x,2024-01-01,0\n'
        "4,5,6,5,,2024-01-01,1\n"
        "5,5\n"
    )
    deliver(tmp_path, "2024-01-01", {"reviews.csv": header + "\n" + body})
    df = read_raw(tmp_path, REVIEWS, [date(2024, 1, 1)], NOW, ReadReport())
    good = df[df["parse_error"].isna()]
    bad = df[df["parse_error"].notna()]
    assert good["line_number"].tolist() == [2, 5]
    assert values(good["review_text"]) == ['great, really "great"\nsecond line', None]
    assert bad["line_number"].tolist() == [3, 4, 6]
    assert bad["raw_line"].tolist() == [
        "2,5,6,4,too,many,fields,here",
        '3,5,6,"bad"quote,x,2024-01-01,0',
        "5,5",
    ]
    assert bad["parse_error"].str.startswith(("TOO MANY", "UNQUOTED", "MISSING")).all()


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    no_ts = HEADER.replace("order_ts,", "")
    folder = deliver(tmp_path, "2024-01-01", {"orders.csv": no_ts + "\n1,2,placed,paypal,0,1\n"})
    with pytest.raises(DeliveryError) as err:
        check_delivery(folder, [ORDERS], ReadReport())
    message = str(err.value)
    assert "orders.csv, line 1: required column 'order_ts' is missing" in message
    assert str(folder / "orders.csv") in message


def test_extra_column_is_ignored_with_a_warning_and_absent_file_is_zero_rows(
    tmp_path: Path,
) -> None:
    deliver(
        tmp_path,
        "2024-01-01",
        {"orders.csv": HEADER + ",coupon_code\n1,2,2024-01-01 00:00:00,placed,paypal,0,1,XMAS\n"},
    )
    deliver(tmp_path, "2024-01-02", {})
    report = ReadReport()
    df = read_raw(tmp_path, ORDERS, [date(2024, 1, 1), date(2024, 1, 2)], NOW, report)
    assert "coupon_code" not in df.columns and len(df) == 1
    assert any("unknown column(s) ['coupon_code'] ignored" in w for w in report.warnings)
    assert any(
        "orders.csv: absent, orders has zero rows on 2024-01-02" in w for w in report.warnings
    )


def test_empty_and_header_only_files_are_zero_rows(tmp_path: Path) -> None:
    deliver(tmp_path, "2024-01-01", {"orders.csv": b""})
    deliver(tmp_path, "2024-01-02", {"orders.csv": HEADER + "\r\n"})
    report = ReadReport()
    df = read_raw(tmp_path, ORDERS, [date(2024, 1, 1), date(2024, 1, 2)], NOW, report)
    assert len(df) == 0
    assert any("empty file (0 bytes)" in w for w in report.warnings)


def test_non_utf8_header_is_a_clear_error(tmp_path: Path) -> None:
    folder = deliver(tmp_path, "2024-01-01", {"orders.csv": b"order_id,\xe9t\xe9\n"})
    with pytest.raises(DeliveryError, match=r"orders.csv, line 1, column 10: the header is not"):
        check_delivery(folder, [ORDERS], ReadReport())
