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
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .contract import SUCCESS_MARKER, TableSpec

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

    # One in-memory DuckDB for every header group: connecting costs ~15 ms, and a year of small
    # files with drifting headers makes dozens of groups per table.
    with duckdb.connect() as con:
        tables = [_read_group(con, spec, header, files, report) for header, files in groups.items()]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return empty_raw_frame(spec)
    out = pyarrow.concat_tables(tables).sort_by(
        [("delivery_date", "ascending"), ("line_number", "ascending")]
    )
    stamp = pyarrow.scalar(ingested_at.replace(tzinfo=None), pyarrow.timestamp("us"))
    out = out.append_column("ingested_at", pyarrow.repeat(stamp, out.num_rows))
    return out.select([*spec.column_names, *RAW_LINEAGE_COLUMNS]).to_pandas(
        types_mapper=pd.ArrowDtype
    )


def raw_arrow_schema(spec: TableSpec) -> pyarrow.Schema:
    """A raw table's Arrow types: the contract's columns as text, then the lineage columns."""
    text = pyarrow.string()
    return pyarrow.schema(
        [
            *((name, text) for name in spec.column_names),
            ("delivery_date", pyarrow.date32()),
            ("source_file", text),
            ("line_number", pyarrow.int64()),
            ("ingested_at", pyarrow.timestamp("us")),
            ("raw_line", text),
            ("parse_error", text),
        ]
    )


def empty_raw_frame(spec: TableSpec) -> pd.DataFrame:
    """A raw table with no rows, with the raw model's Arrow types."""
    return raw_arrow_schema(spec).empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _has_rejects(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'reject_errors'"
        ).fetchone()[0]
    )


def _read_group(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    header: tuple[str, ...],
    files: list[tuple[date, Path]],
    report: ReadReport,
) -> pyarrow.Table:
    """Read files that share one header in a single DuckDB scan."""
    paths = [str(path) for _, path in files]
    # Lineage: per file index, its delivery day and its path relative to the landing zone (never
    # an absolute machine path). Rows carry only DuckDB's file_index; the rest is an Arrow take.
    file_days = pyarrow.array([day for day, _ in files], pyarrow.date32())
    file_names = pyarrow.array([f"{day.isoformat()}/{path.name}" for day, path in files])
    columns = {name: "VARCHAR" for name in header}
    try:
        select = ", ".join(f'"{name}"' for name in spec.column_names)
        try:
            good = con.sql(
                f"SELECT {select}, file_index FROM read_csv($paths, auto_detect=false, "
                "header=true, delim=',', quote='\"', escape='\"', columns=$columns, "
                "store_rejects=true, strict_mode=true)",
                params={"paths": paths, "columns": columns},
            ).to_arrow_table()
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
        rejects = con.sql(
            "SELECT e.file_id AS file_index, e.line AS line_number, "
            "first(e.csv_line ORDER BY e.column_idx) AS raw_line, "
            "first(e.error_type || ': ' || e.error_message ORDER BY e.column_idx) "
            "AS parse_error "
            "FROM reject_errors e GROUP BY ALL ORDER BY 1, 2"
        ).to_arrow_table()
    finally:
        # A connection's reject tables accumulate across scans: empty them for the next group.
        if _has_rejects(con):
            con.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")
    report.files_read += len(files)

    file_index = good.column("file_index").to_numpy()
    # DuckDB returns a plain scan in file order: the k-th good record of a file is on record line
    # k + 2, shifted past the lines DuckDB rejected in that file.
    lines = pd.Series(file_index).groupby(file_index, sort=False).cumcount().to_numpy() + 2
    reject_files = rejects.column("file_index").to_numpy()
    reject_lines = rejects.column("line_number").to_numpy()
    for index in np.unique(reject_files):
        rows = np.flatnonzero(file_index == index)
        bad_lines = np.sort(reject_lines[reject_files == index])
        candidates = np.arange(2, len(rows) + len(bad_lines) + 2, dtype="int64")
        lines[rows] = candidates[~np.isin(candidates, bad_lines)][: len(rows)]
    text = pyarrow.string()
    good = good.drop_columns(["file_index"])
    good = good.append_column("line_number", pyarrow.array(lines, pyarrow.int64()))
    good = good.append_column("raw_line", pyarrow.nulls(good.num_rows, text))
    good = good.append_column("parse_error", pyarrow.nulls(good.num_rows, text))
    bad = pyarrow.table(
        {
            **{name: pyarrow.nulls(rejects.num_rows, text) for name in spec.column_names},
            "line_number": rejects.column("line_number").cast(pyarrow.int64()),
            "raw_line": pc.utf8_trim(rejects.column("raw_line"), characters="\r\n"),
            "parse_error": rejects.column("parse_error"),
        }
    )
    # Lineage: per file index, its delivery day and its path relative to the landing zone (never
    # an absolute machine path), taken by index from two small arrays.
    index = pyarrow.concat_arrays(
        [
            pyarrow.array(file_index, pyarrow.int64()),
            rejects.column("file_index").cast(pyarrow.int64()).combine_chunks(),
        ]
    )
    table = pyarrow.concat_tables([good, bad.select(good.column_names)])
    table = table.append_column("delivery_date", pc.take(file_days, index))
    return table.append_column("source_file", pc.take(file_names, index))
