"""Reading deliveries: completeness, headers by name, dialect variants, malformed lines, physical
line numbers and broken quoting that would swallow lines."""

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ecommerce_assets.contract import ORDERS, REVIEWS, TableSpec
from ecommerce_assets.landing import (
    DeliveryError,
    ReadReport,
    check_delivery,
    complete_deliveries,
    read_raw,
)
from ecommerce_assets.record_lines import (
    DEFAULT_MAX_RECORD_LINES,
    MAX_RECORD_LINES_ENV,
    max_record_lines,
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
    # Physical lines: review 1's quoted field runs over lines 2 and 3.
    assert good["line_number"].tolist() == [2, 6]
    assert values(good["review_text"]) == ['great, really "great"\nsecond line', None]
    assert bad["line_number"].tolist() == [4, 5, 7]
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


# ------------------------------------------------------------------------------------------------
# Physical line numbers, and broken quoting that would swallow lines (issue 24).
# ------------------------------------------------------------------------------------------------
REVIEW_HEADER = "review_id,product_id,user_id,rating,review_text,review_date,helpful_votes"
EOLS = {"LF": "\n", "CRLF": "\r\n"}


def order(i: int, status: str = "placed") -> str:
    return f"{i},1,2024-01-01 10:00:00,{status},paypal,0,20.00"


def twelve_orders() -> list[str]:
    """Orders 1..12 on lines 2..13 of an orders file."""
    return [order(i) for i in range(1, 13)]


def read_one(tmp_path: Path, spec: TableSpec, text: str, report: ReadReport | None = None):
    deliver(tmp_path, "2024-01-01", {spec.file_name: text.encode()})
    return read_raw(tmp_path, spec, [date(2024, 1, 1)], NOW, report or ReadReport())


def records(df: pd.DataFrame, key: str) -> list[tuple[str | None, int, bool]]:
    """(key, line_number, malformed) of every raw record, in file order."""
    return list(
        zip(values(df[key]), df["line_number"].tolist(), df["parse_error"].notna(), strict=True)
    )


@pytest.mark.parametrize("eol", EOLS.values(), ids=EOLS.keys())
@pytest.mark.parametrize(
    "closed_on", [None, 9], ids=["quote never closed", "a later quoted value closes it"]
)
def test_an_unterminated_quote_in_line_4_swallows_no_line(
    tmp_path: Path, eol: str, closed_on: int | None
) -> None:
    """The tester's file: lines 4-13 were one malformed record (ten orders gone). Line 4 alone is
    malformed now; lines 5-13 load as the orders they are, each on its physical line."""
    lines = twelve_orders()
    lines[2] = '3,1,2024-01-01 10:00:00,"placed,paypal,0,20.00'  # line 4
    if closed_on is not None:  # DuckDB's rejected record then ends on that line
        lines[closed_on - 2] = order(closed_on - 1, '"shipped"')
    text = eol.join([HEADER, *lines]) + eol
    df = read_one(tmp_path, ORDERS, text)
    expected = [(str(i), i + 1, False) for i in range(1, 13)]
    expected[2] = (None, 4, True)
    assert records(df, "order_id") == expected  # one raw record per source line: 12
    bad = df[df["parse_error"].notna()].iloc[0]
    assert bad["raw_line"] == lines[2]
    assert bad["parse_error"].startswith("UNQUOTED VALUE")
    assert "line 5 starts a record of its own" in bad["parse_error"]
    # Read again from a private copy: the delivered file is untouched.
    assert (tmp_path / "2024-01-01" / "orders.csv").read_bytes() == text.encode()


@pytest.mark.parametrize("eol", EOLS.values(), ids=EOLS.keys())
def test_a_stray_quote_that_closes_with_the_right_field_count_swallows_no_line(
    tmp_path: Path, eol: str
) -> None:
    """A quote opening line 4's last field and one closing line 13's: DuckDB reads one record of
    the right width whose order_amount holds lines 5-12. Its text after a line break is a record
    of the file's width, so line 4 is set apart and lines 5-13 load."""
    lines = twelve_orders()
    lines[2] = '3,1,2024-01-01 10:00:00,placed,paypal,0,"20.00'  # line 4
    lines[11] = order(12) + '"'  # line 13
    df = read_one(tmp_path, ORDERS, eol.join([HEADER, *lines]) + eol)
    expected = [(str(i), i + 1, False) for i in range(1, 13)]
    expected[2] = (None, 4, True)
    assert records(df, "order_id") == expected
    bad = df[df["parse_error"].notna()].iloc[0]
    assert bad["raw_line"] == lines[2]
    assert bad["parse_error"].startswith("SWALLOWED LINES: the quoted field opened on line 4")
    # Line 13 on its own keeps its stray quote as text (staging quarantines the amount).
    assert df["order_amount"].iloc[-1] == '20.00"'


def test_files_read_in_one_scan_keep_their_own_lines(tmp_path: Path) -> None:
    """Days sharing a header are read in one DuckDB scan: each file's records, records of
    several lines and swallowing quotes are placed in that file."""
    legal = [order(1, '"placed\nor not"'), "", order(2)]  # lines 2-3, a blank 4, line 5
    swallowing = twelve_orders()[:4]
    swallowing[1] = '2,1,2024-01-01 10:00:00,placed,paypal,0,"20.00'  # line 3
    swallowing[3] = order(4) + '"'  # line 5
    deliver(tmp_path, "2024-01-01", {"orders.csv": "\n".join([HEADER, *legal]) + "\n"})
    deliver(tmp_path, "2024-01-02", {"orders.csv": "\n".join([HEADER, *swallowing]) + "\n"})
    df = read_raw(tmp_path, ORDERS, [date(2024, 1, 1), date(2024, 1, 2)], NOW, ReadReport())
    assert list(zip(df["source_file"].str[:10], records(df, "order_id"), strict=True)) == [
        ("2024-01-01", ("1", 2, False)),
        ("2024-01-01", ("2", 5, False)),
        ("2024-01-02", ("1", 2, False)),
        ("2024-01-02", (None, 3, True)),
        ("2024-01-02", ("3", 4, False)),
        ("2024-01-02", ("4", 5, False)),
    ]


def test_one_swallowed_line_is_found_in_the_value_too(tmp_path: Path) -> None:
    """Only line 5 swallowed, the closing quote at its end: no whole line inside the field, but
    the value's text after its line break is order 4."""
    lines = twelve_orders()[:4]
    lines[2] = '3,1,2024-01-01 10:00:00,placed,paypal,0,"20.00'
    lines[3] = order(4) + '"'
    df = read_one(tmp_path, ORDERS, "\n".join([HEADER, *lines]) + "\n")
    assert records(df, "order_id") == [
        ("1", 2, False),
        ("2", 3, False),
        (None, 4, True),
        ("4", 5, False),
    ]


@pytest.mark.parametrize("eol", EOLS.values(), ids=EOLS.keys())
def test_a_stray_quote_in_a_multi_line_field_sets_apart_its_whole_record(
    tmp_path: Path, eol: str
) -> None:
    """The quote closing review 1's two-line text is doubled, so the field runs on over reviews
    2 and 3. Its lines 2-3 are the broken record: set apart together (its span in parse_error),
    and the lines after them load -- not line 3's half record."""
    body = [
        '1,5,6,4,"Love it!',
        'Would buy again."",2024-01-01,0',  # line 3: "" is a quote inside, the field goes on
        "2,5,6,4,fine,2024-01-01,0",
        "3,5,6,4,fine,2024-01-01,0",
        '4,5,6,4,"x',
        'y",2024-01-01,0',
        "5,5,6,4,ok,2024-01-01,0",
    ]
    df = read_one(tmp_path, REVIEWS, eol.join([REVIEW_HEADER, *body]) + eol)
    assert records(df, "review_id") == [
        (None, 2, True),
        ("2", 4, False),
        ("3", 5, False),
        ("4", 6, False),
        ("5", 8, False),
    ]
    bad = df[df["parse_error"].notna()].iloc[0]
    assert bad["raw_line"] == eol.join(body[:2])
    assert bad["parse_error"].endswith(
        "lines 2-3 are set apart and the lines after read on their own [record spans lines 2-3]"
    )


def test_legal_multi_line_quoted_fields_stay_one_record(tmp_path: Path) -> None:
    """Quoted fields with line breaks (LF, CRLF, a blank line inside, a line with the header's
    number of commas but no key, the field first in the header as shuffled files have it) are
    one record each, as before; the next record starts on the line after the field closes."""
    header = "review_text,review_id,product_id,user_id,rating,review_date,helpful_votes"
    texts = [
        "Colour differs from the picture,\nsize is OK.",
        "My kids love it.\r\nHighly recommended, really.",
        "p\n\nq",
        "pros:\nfast, light, cheap, small, blue, quiet, sturdy",
        "one line",
    ]
    body = [f'"{t}",{i + 1},5,6,4,2024-01-01,0' for i, t in enumerate(texts)]
    df = read_one(tmp_path, REVIEWS, "\n".join([header, *body]) + "\n")
    assert records(df, "review_id") == [
        ("1", 2, False),
        ("2", 4, False),
        ("3", 6, False),
        ("4", 9, False),
        ("5", 11, False),
    ]
    assert values(df["review_text"]) == texts


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_blank_lines_are_no_records_and_every_line_keeps_its_number(
    tmp_path: Path, eol: str
) -> None:
    """Blank lines are skipped (no record, nothing quarantined) and counted: the records after
    them keep the numbers an editor shows, malformed ones included."""
    lines = [order(1), "", order(2), "", "", "3,1", order(4), "", ""]
    df = read_one(tmp_path, ORDERS, eol.join([HEADER, *lines]) + eol)
    assert records(df, "order_id") == [
        ("1", 2, False),
        ("2", 4, False),
        (None, 7, True),
        ("4", 8, False),
    ]


def test_a_malformed_record_of_several_lines_keeps_its_span(tmp_path: Path) -> None:
    """A record of several lines with no record inside stays whole, its span in parse_error:
    a legal multi-line field with a field too many, and a quote that never closes over lines of
    text that are no records."""
    body = [
        '1,5,6,4,"line one\nline two",2024-01-01,0,extra',
        "2,5,6,4,fine,2024-01-01,0",
        '3,5,6,4,"never closed',
        "no record here",
        "nor, here",
    ]
    df = read_one(tmp_path, REVIEWS, "\n".join([REVIEW_HEADER, *body]) + "\n")
    assert records(df, "review_id") == [(None, 2, True), ("2", 4, False), (None, 5, True)]
    errors = df["parse_error"].dropna().tolist()
    assert errors[0].startswith("TOO MANY COLUMNS") and errors[0].endswith(
        "[record spans lines 2-3]"
    )
    assert errors[1].endswith("[record spans lines 5-7]")


def test_a_swallowed_stretch_longer_than_duckdb_keeps_of_a_reject_is_recovered(
    tmp_path: Path,
) -> None:
    """DuckDB keeps 10,000 characters of a rejected record: a quote never closed over 400 lines
    (~18 kB) is set apart all the same, and the 399 orders after it load."""
    lines = [order(i) for i in range(1, 401)]
    lines[0] = '1,1,2024-01-01 10:00:00,"placed,paypal,0,20.00'
    df = read_one(tmp_path, ORDERS, "\n".join([HEADER, *lines]) + "\n")
    assert records(df, "order_id") == [(None, 2, True)] + [
        (str(i), i + 1, False) for i in range(2, 401)
    ]


def test_line_end_defects_name_the_physical_line(tmp_path: Path) -> None:
    """After a quoted field over two lines, a stray CR is named on the line an editor shows."""
    body = '1,5,6,4,"two\nlines",2024-01-01,0\n2,5,6,4,x\ry,2024-01-01,0\n'
    folder = deliver(tmp_path, "2024-01-01", {"reviews.csv": REVIEW_HEADER + "\n" + body})
    with pytest.raises(DeliveryError, match=r"reviews\.csv, line 4, column 10: a carriage"):
        check_delivery(folder, [REVIEWS], ReadReport())


def test_max_record_lines_is_read_at_run_time_and_long_records_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert max_record_lines({}) == DEFAULT_MAX_RECORD_LINES == 5
    assert max_record_lines({MAX_RECORD_LINES_ENV: "12"}) == 12
    for bad in ("0", "many"):
        with pytest.raises(ValueError, match=MAX_RECORD_LINES_ENV):
            max_record_lines({MAX_RECORD_LINES_ENV: bad})
    monkeypatch.setenv(MAX_RECORD_LINES_ENV, "2")
    body = '1,5,6,4,"a\nb\nc",2024-01-01,0\n2,5,6,4,"d\ne",2024-01-01,0\n'
    report = ReadReport()
    df = read_one(tmp_path, REVIEWS, REVIEW_HEADER + "\n" + body, report)
    assert records(df, "review_id") == [("1", 2, False), ("2", 5, False)]
    assert [w for w in report.warnings if "spans" in w] == [
        f"{tmp_path / '2024-01-01' / 'reviews.csv'}, lines 2-4: one record spans 3 physical "
        f"lines (a quoted field with line breaks), more than {MAX_RECORD_LINES_ENV}=2; loaded "
        "as one record"
    ]
