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
    if not text.strip():
        return []
    return [name.strip() for name in next(csv.reader(io.StringIO(text)))]


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
    """Validate every file's header of a delivery before anything of it is read or written."""
    for spec in specs:
        path = folder / spec.file_name
        if path.is_file():
            _checked_header(path, spec, report)


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
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out["ingested_at"] = pd.Timestamp(ingested_at).tz_localize(None).as_unit("ns")
    out = out.sort_values(["delivery_date", "line_number"], kind="stable", ignore_index=True)
    return out[[*spec.column_names, *RAW_LINEAGE_COLUMNS]]


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
    day_of = {str(path): day for day, path in files}
    # Lineage paths are relative to the landing zone, never absolute machine paths.
    rel_of = {str(path): f"{day.isoformat()}/{path.name}" for day, path in files}
    columns = {name: "VARCHAR" for name in header}
    con = duckdb.connect()
    try:
        select = ", ".join(f'"{name}"' for name in spec.column_names)
        good = fetch_frame(
            con,
            f"SELECT {select}, filename FROM read_csv($paths, auto_detect=false, header=true, "
            "delim=',', quote='\"', escape='\"', columns=$columns, store_rejects=true, "
            "filename=true, strict_mode=true)",
            {"paths": paths, "columns": columns},
        )
        rejects = fetch_frame(
            con,
            "SELECT s.file_path AS filename, e.line AS line_number, "
            "first(e.csv_line ORDER BY e.column_idx) AS raw_line, "
            "first(e.error_type || ': ' || e.error_message ORDER BY e.column_idx) "
            "AS parse_error "
            "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
            "GROUP BY ALL",
        )
    finally:
        con.close()
    report.files_read += len(files)

    good["line_number"] = np.zeros(len(good), dtype="int64")
    rejected_by_file = {name: grp for name, grp in rejects.groupby("filename", sort=False)}
    positions = good.groupby("filename", sort=False).indices
    for name, idx in positions.items():
        bad = rejected_by_file.get(name)
        bad_lines = (
            np.sort(bad["line_number"].to_numpy(dtype="int64")) if bad is not None else np.array([])
        )
        total = len(idx) + len(bad_lines)
        lines = np.arange(2, total + 2, dtype="int64")
        if len(bad_lines):
            lines = lines[~np.isin(lines, bad_lines)]
        good.loc[good.index[idx], "line_number"] = lines[: len(idx)]
    good["raw_line"] = None
    good["parse_error"] = None
    if len(rejects):
        bad_rows = pd.DataFrame({name: [None] * len(rejects) for name in spec.column_names})
        bad_rows["filename"] = rejects["filename"].to_numpy()
        bad_rows["line_number"] = rejects["line_number"].to_numpy(dtype="int64")
        bad_rows["raw_line"] = rejects["raw_line"].str.strip("\r\n").to_numpy()
        bad_rows["parse_error"] = rejects["parse_error"].to_numpy()
        good = pd.concat([good, bad_rows], ignore_index=True)
    good["delivery_date"] = pd.to_datetime(good["filename"].map(day_of)).astype("datetime64[ns]")
    good["source_file"] = good["filename"].map(rel_of)
    return good.drop(columns=["filename"])
