"""DuckDB's scan of a group of delivered CSV files, and the line-end check made before it.

``scan`` reads the files once with DuckDB's strict reader (good records as text, rejected ones
with DuckDB's counter and error); ``find_line_end_defect`` names the line of mixed line ends that
would make that reader fail a whole file without naming one. Placing the records on physical
lines is ``record_lines.py``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow

# Tokens that matter for line ends: a quote toggles quoting; CRLF, CR and LF end a record.
_LINE_END_TOKEN = re.compile(rb'"|\r\n|\r|\n')
_BOM = b"\xef\xbb\xbf"


def has_rejects(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'reject_errors'"
        ).fetchone()[0]
    )


def scan(
    con: duckdb.DuckDBPyConnection, header: tuple[str, ...], paths: list[str]
) -> tuple[pyarrow.Table, pyarrow.Table]:
    """One DuckDB scan of files sharing ``header``: the good records (every column of the header
    as text, extra columns included, by position: ``c0``, ``c1``, ...; then ``file_index``) and
    the rejected ones (``file_index``, DuckDB's ``counter``, ``csv_line`` and ``parse_error``),
    each in file order. Columns are named by position so that no header name (one called
    ``file_index``, an empty one) meets the SQL."""
    try:
        good = con.sql(
            "SELECT *, file_index FROM read_csv($paths, auto_detect=false, header=true, "
            "delim=',', quote='\"', escape='\"', columns=$columns, store_rejects=true, "
            "strict_mode=true)",
            params={"paths": paths, "columns": {f"c{i}": "VARCHAR" for i in range(len(header))}},
        ).to_arrow_table()
        rejects = con.sql(
            "SELECT e.file_id AS file_index, e.line AS counter, "
            "first(e.csv_line ORDER BY e.column_idx) AS csv_line, "
            "first(e.error_type || ': ' || e.error_message ORDER BY e.column_idx) "
            "AS parse_error "
            "FROM reject_errors e GROUP BY ALL ORDER BY 1, 2"
        ).to_arrow_table()
    finally:
        # A connection's reject tables accumulate across scans: empty them for the next scan.
        if has_rejects(con):
            con.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")
    return good, rejects


@dataclass(frozen=True)
class Reject:
    """A record DuckDB rejected: its ``counter`` (records and blank lines, header = 1), its error,
    and its text as DuckDB kept it (used only when the records do not fit the lines)."""

    counter: int
    text: str
    error: str


def rejects_by_file(table: pyarrow.Table) -> dict[int, list[Reject]]:
    """The rejected records of a scan, by file index."""
    by_file: dict[int, list[Reject]] = {}
    columns = ("file_index", "counter", "csv_line", "parse_error")
    for index, counter, text, error in zip(
        *(table.column(c).to_pylist() for c in columns), strict=True
    ):
        by_file.setdefault(int(index), []).append(Reject(int(counter), text or "", error))
    return by_file


def find_line_end_defect(path: Path) -> str | None:
    """Where a file's line ends are inconsistent, else None.

    DuckDB's strict CSV reader takes the line end of the header (LF, CRLF, or CR alone) for the
    whole file and fails the entire scan, without naming a line, when a record outside quotes ends
    differently (a stray CR in an LF or CRLF file, mixed LF and CRLF). Quoted fields may hold any
    line ends. Returns ``"line N, column C: ..."`` (N the physical line, header = 1, like
    ``line_number``; C counts bytes).
    """
    data = path.read_bytes()
    if b"\r" not in data or b"\n" not in data:
        return None  # LF only, or CR only: consistent
    if data.count(b"\r\n") == data.count(b"\r") == data.count(b"\n"):
        return None  # CRLF only (the common case), without scanning
    names = {b"\n": "LF", b"\r\n": "CRLF", b"\r": "CR"}
    expected: bytes | None = None
    quoted = False
    for match in _LINE_END_TOKEN.finditer(data):
        token = match.group()
        if token == b'"':
            quoted = not quoted
            continue
        if quoted:
            continue
        if expected is None:
            expected = token
        elif token != expected:
            line, column = _line_and_column(data, match.start(), expected)
            what = (
                "a carriage return (CR) outside quotes that is not part of a line end"
                if token == b"\r"
                else f"the line ends with {names[token]}"
            )
            return (
                f"line {line}, column {column}: {what}, but the file's header ends with "
                f"{names[expected]} (line ends must not be mixed)"
            )
    return None


def _line_and_column(data: bytes, position: int, header_end: bytes) -> tuple[int, int]:
    """The physical line (1-based) and byte column (1-based, BOM excluded) of ``position``."""
    end = b"\r" if header_end == b"\r" else b"\n"
    start = data.rfind(end, 0, position) + 1
    if start == 0 and data.startswith(_BOM):
        start = len(_BOM)
    return 1 + data.count(end, 0, position), position - start + 1
