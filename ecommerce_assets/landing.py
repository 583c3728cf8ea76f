"""Reading the landing zone: which deliveries are complete, and their CSVs as text via DuckDB.

DuckDB's CSV reader does the parsing (RFC 4180 quoting, BOM, LF/CRLF) with the contract's dialect
and no sniffing (sniffing is slow and changes its mind on a malformed line). Columns are mapped by
header name here, because ``read_csv(columns=...)`` names columns by position.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from .contract import SUCCESS_MARKER, TableSpec
from .io_manager import fetch_frame

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Tokens that matter for line ends: a quote toggles quoting; CRLF, CR and LF end a record.
_LINE_END_TOKEN = re.compile(rb'"|\r\n|\r|\n')

RAW_LINEAGE_COLUMNS = (
    "delivery_date",
    "source_file",
    "line_number",
    "ingested_at",
    "raw_line",
    "parse_error",
)


class DeliveryError(ValueError):
    """A delivery breaks the contract in a way that fails the day (e.g. a missing column)."""


def parse_day(name: str) -> date | None:
    """A delivery folder name as a date, or None for anything else (never trusted as a path)."""
    if not _DAY_RE.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def complete_deliveries(landing_dir: Path) -> dict[date, Path]:
    """Delivery folders that carry ``_SUCCESS``, by date (folders being written are skipped)."""
    if not landing_dir.is_dir():
        return {}
    found = {}
    for child in landing_dir.iterdir():
        day = parse_day(child.name)
        if day is not None and child.is_dir() and (child / SUCCESS_MARKER).is_file():
            found[day] = child
    return dict(sorted(found.items()))


def days_between(start: date, end: date) -> list[date]:
    """Days in [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def read_header(path: Path) -> list[str]:
    """The header record of a CSV (BOM stripped), parsed with the contract's dialect."""
    with path.open("rb") as fh:
        first = fh.readline(1 << 20)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeliveryError(
            f"{path}, line 1, column {exc.start + 1}: the header is not valid UTF-8"
        ) from exc
    # A CR-only file has no LF: its first "line" is the whole file; find_line_end_defect names it.
    text = text.split("\r", 1)[0]
    if not text.strip():
        return []
    try:
        return [name.strip() for name in next(csv.reader(io.StringIO(text)))]
    except csv.Error as exc:
        raise DeliveryError(f"{path}, line 1: the header cannot be parsed as CSV ({exc})") from exc


def find_line_end_defect(path: Path) -> str | None:
    """Where a file's line ends are inconsistent, else None.

    DuckDB's strict CSV reader takes the line end of the header (LF, CRLF, or CR alone) for the
    whole file and fails the entire scan, without naming a line, when a record outside quotes ends
    differently (a stray CR in an LF or CRLF file, mixed LF and CRLF). Quoted fields may hold any
    line ends. Returns ``"line N, column C: ..."`` (N counts records, header = 1, like
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
    line, line_start = 1, 3 if data.startswith(b"\xef\xbb\xbf") else 0
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
            column = match.start() - line_start + 1
            what = (
                "a carriage return (CR) outside quotes that is not part of a line end"
                if token == b"\r"
                else f"the line ends with {names[token]}"
            )
            return (
                f"line {line}, column {column}: {what}, but the file's header ends with "
                f"{names[expected]} (line ends must not be mixed)"
            )
        line, line_start = line + 1, match.end()
    return None


@dataclass
class ReadReport:
    """What a read noticed that is not an error: absent files, extra columns, gaps."""

    warnings: list[str] = field(default_factory=list)
    files_read: int = 0


def _checked_header(path: Path, spec: TableSpec, report: ReadReport) -> list[str] | None:
    if path.stat().st_size == 0:
        report.warnings.append(f"{path}: empty file (0 bytes), read as zero rows")
        return None
    header = read_header(path)
    if not header:
        report.warnings.append(f"{path}: no header, read as zero rows")
        return None
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DeliveryError(f"{path}, line 1: column(s) {duplicates} appear more than once")
    missing = [name for name in spec.column_names if name not in header]
    if missing:
        column = missing[0]
        raise DeliveryError(
            f"{path}, line 1: required column {column!r} is missing from the header "
            f"(missing: {missing}); the delivery of {path.parent.name} is not loaded"
        )
    extra = [name for name in header if name not in spec.column_names]
    if extra:
        report.warnings.append(f"{path}: unknown column(s) {extra} ignored")
    return header


def check_delivery(folder: Path, specs: Iterable[TableSpec], report: ReadReport) -> None:
    """Validate every file's header and line ends before anything of a delivery is written."""
    for spec in specs:
        path = folder / spec.file_name
        if path.is_file():
            _checked_header(path, spec, report)
            # Line ends DuckDB cannot parse would fail the whole scan later, without a line.
            defect = find_line_end_defect(path)
            if defect is not None:
                raise DeliveryError(
                    f"{path}, {defect}; the delivery of {folder.name} is not loaded"
                )


def read_raw(
    landing_dir: Path,
    spec: TableSpec,
    days: Iterable[date],
    ingested_at: datetime,
    report: ReadReport,
) -> pd.DataFrame:
    """Every record of ``spec``'s file for ``days`` as delivered (text), plus lineage columns.

    Malformed records are kept (all contract columns NULL) with ``raw_line`` and ``parse_error``
    from DuckDB's reject tables, so staging can quarantine them with their line number.
    ``line_number`` counts records: the header is line 1 and a quoted field spanning several
    physical lines still counts once (DuckDB's numbering of rejects).
    """
    deliveries = complete_deliveries(landing_dir)
    groups: dict[tuple[str, ...], list[tuple[date, Path]]] = {}
    for day in sorted(set(days)):
        folder = deliveries.get(day)
        if folder is None:
            report.warnings.append(f"{day}: no complete delivery (no {SUCCESS_MARKER}); 0 rows")
            continue
        path = folder / spec.file_name
        if not path.is_file():
            report.warnings.append(f"{path}: absent, {spec.name} has zero rows on {day}")
            continue
        header = _checked_header(path, spec, report)
        if header is None:
            continue
        groups.setdefault(tuple(header), []).append((day, path))

    frames = [_read_group(spec, header, files, report) for header, files in groups.items()]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_raw_frame(spec)
    out = _concat(frames)
    out["ingested_at"] = pd.Timestamp(ingested_at).tz_localize(None).as_unit("ns")
    order = np.lexsort((out["line_number"].to_numpy(), out["delivery_date"].to_numpy()))
    out = out.take(order).reset_index(drop=True)
    return out[[*spec.column_names, *RAW_LINEAGE_COLUMNS]]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Column-wise numpy concatenation: pandas' concat is slow on all-NULL object columns."""
    if len(frames) == 1:
        return frames[0]
    return pd.DataFrame(
        {name: np.concatenate([f[name].to_numpy() for f in frames]) for name in frames[0].columns}
    )


def empty_raw_frame(spec: TableSpec) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in spec.column_names})
    frame["delivery_date"] = pd.Series(dtype="datetime64[ns]")
    frame["source_file"] = pd.Series(dtype=object)
    frame["line_number"] = pd.Series(dtype="int64")
    frame["ingested_at"] = pd.Series(dtype="datetime64[ns]")
    frame["raw_line"] = pd.Series(dtype=object)
    frame["parse_error"] = pd.Series(dtype=object)
    return frame


def _read_group(
    spec: TableSpec,
    header: tuple[str, ...],
    files: list[tuple[date, Path]],
    report: ReadReport,
) -> pd.DataFrame:
    """Read files that share one header in a single DuckDB scan."""
    paths = [str(path) for _, path in files]
    # Lineage: per file index, its delivery day and its path relative to the landing zone (never
    # an absolute machine path). Rows carry only DuckDB's file_index; the rest is a numpy take.
    file_days = np.array([np.datetime64(day.isoformat(), "ns") for day, _ in files])
    file_names = np.array([f"{day.isoformat()}/{path.name}" for day, path in files], dtype=object)
    columns = {name: "VARCHAR" for name in header}
    con = duckdb.connect()
    try:
        select = ", ".join(f'"{name}"' for name in spec.column_names)
        try:
            good = fetch_frame(
                con,
                f"SELECT {select}, file_index FROM read_csv($paths, auto_detect=false, "
                "header=true, delim=',', quote='\"', escape='\"', columns=$columns, "
                "store_rejects=true, strict_mode=true)",
                {"paths": paths, "columns": columns},
            )
        except duckdb.InvalidInputException as exc:
            # The whole scan failed and DuckDB names no line: say which file and line if we can.
            for _, path in files:
                defect = find_line_end_defect(path)
                if defect is not None:
                    raise DeliveryError(
                        f"{path}, {defect}; the delivery of {path.parent.name} is not loaded"
                    ) from exc
            raise DeliveryError(
                f"{', '.join(paths)}: DuckDB cannot read the file(s): {exc}"
            ) from exc
        rejects = fetch_frame(
            con,
            "SELECT e.file_id AS file_index, e.line AS line_number, "
            "first(e.csv_line ORDER BY e.column_idx) AS raw_line, "
            "first(e.error_type || ': ' || e.error_message ORDER BY e.column_idx) "
            "AS parse_error "
            "FROM reject_errors e GROUP BY ALL ORDER BY 1, 2",
        )
    finally:
        con.close()
    report.files_read += len(files)

    file_index = good["file_index"].to_numpy(dtype="int64")
    # DuckDB returns a plain scan in file order: the k-th good record of a file is on record line
    # k + 2, shifted past the lines DuckDB rejected in that file.
    lines = good.groupby("file_index", sort=False).cumcount().to_numpy(dtype="int64") + 2
    for index, bad in rejects.groupby("file_index", sort=False):
        rows = np.flatnonzero(file_index == index)
        bad_lines = np.sort(bad["line_number"].to_numpy(dtype="int64"))
        candidates = np.arange(2, len(rows) + len(bad_lines) + 2, dtype="int64")
        lines[rows] = candidates[~np.isin(candidates, bad_lines)][: len(rows)]
    good["line_number"] = lines
    good["raw_line"] = np.full(len(good), None, dtype=object)
    good["parse_error"] = np.full(len(good), None, dtype=object)
    if len(rejects):
        bad_rows = pd.DataFrame(
            {name: np.full(len(rejects), None, dtype=object) for name in spec.column_names}
        )
        bad_rows["file_index"] = rejects["file_index"].to_numpy(dtype="int64")
        bad_rows["line_number"] = rejects["line_number"].to_numpy(dtype="int64")
        bad_rows["raw_line"] = rejects["raw_line"].str.strip("\r\n").to_numpy(dtype=object)
        bad_rows["parse_error"] = rejects["parse_error"].to_numpy(dtype=object)
        good = _concat([good, bad_rows[good.columns]])
    index = good["file_index"].to_numpy(dtype="int64")
    good["delivery_date"] = file_days[index]
    good["source_file"] = file_names[index]
    return good.drop(columns=["file_index"])
