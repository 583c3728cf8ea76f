"""Reading the landing zone: which deliveries are complete, and their CSVs as text via DuckDB.

DuckDB's CSV reader does the parsing (RFC 4180 quoting, BOM, LF/CRLF) with the contract's dialect
and no sniffing (sniffing is slow and changes its mind on a malformed line). Columns are mapped by
header name here, because ``read_csv(columns=...)`` names columns by position.

Line numbers are physical: a record's ``line_number`` is the line of the file it starts on, as an
editor shows it (header = line 1, blank lines counted). DuckDB numbers only the records it rejects,
and by record, so each file's records are placed on its lines (``record_lines.py``) from what
DuckDB returns: the line breaks inside each record's values, the records it rejected and the
file's blank lines. The same pass finds broken quoting that swallowed whole lines into one record:
the line whose quote opened the field is quarantined and the file read again without it, so the
lines after it load as the records they are (``record_lines.py`` says when, and why that is
sound).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .contract import SUCCESS_MARKER, TableSpec
from .csv_scan import find_line_end_defect, rejects_by_file, scan
from .physical_lines import line_breaks, line_count, multi_line_values, values_of
from .record_lines import max_record_lines, place_file, place_simple

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


# Magic bytes of compressed files a source may deliver under a ``.csv`` name.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}


def read_header(path: Path) -> list[str]:
    """The header record of a CSV (BOM stripped), parsed with the contract's dialect."""
    with path.open("rb") as fh:
        first = fh.readline(1 << 20)
    for magic, kind in _COMPRESSED.items():
        if first.startswith(magic):
            raise DeliveryError(
                f"{path}, line 1, column 1: the file is {kind}-compressed, not CSV text "
                "(the contract delivers plain UTF-8 CSV)"
            )
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
    folders: Mapping[date, Path] | None = None,
) -> pd.DataFrame:
    """Every record of ``spec``'s file for ``days`` as delivered (text), plus lineage columns.

    Malformed records are kept (all contract columns NULL) with ``raw_line`` and ``parse_error``
    from DuckDB's reject tables, so staging can quarantine them with their line number.
    ``line_number`` is the physical line the record starts on: the header is line 1, blank lines
    (which are no records) count, a quoted field spanning lines makes one record of several.
    Broken quoting never swallows lines: a record whose quoted field ran over lines that start
    records of their own has its first line quarantined (``malformed_line``) and the lines after it
    read on their own; a malformed record that still spans lines says so in ``parse_error``
    (``[record spans lines 4-13]``). See the comment above ``MAX_RECORD_LINES_ENV``.
    ``folders``: the complete deliveries the caller decided to read (default: those present now).
    """
    deliveries = complete_deliveries(landing_dir) if folders is None else folders
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
    limit = max_record_lines()
    with duckdb.connect() as con:
        tables = [
            _read_group(con, spec, header, files, report, limit) for header, files in groups.items()
        ]
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


def _read_group(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    header: tuple[str, ...],
    files: list[tuple[date, Path]],
    report: ReadReport,
    limit: int,
) -> pyarrow.Table:
    """Read files that share one header in a single DuckDB scan, each record on its lines."""
    paths = [str(path) for _, path in files]
    try:
        good, rejects = scan(con, header, paths)
    except duckdb.InvalidInputException as exc:
        # The whole scan failed and DuckDB names no line: say which file and line if we can.
        for _, path in files:
            defect = find_line_end_defect(path)
            if defect is not None:
                raise DeliveryError(
                    f"{path}, {defect}; the delivery of {path.parent.name} is not loaded"
                ) from exc
        raise DeliveryError(f"{', '.join(paths)}: DuckDB cannot read the file(s): {exc}") from exc
    report.files_read += len(files)

    file_index = good.column(len(header)).to_numpy()
    # A plain scan returns the files in order, each file's records in order: the rows of a file
    # are one run of them (sorted stably should a DuckDB ever interleave files).
    order = None
    if len(file_index) > 1 and bool((np.diff(file_index) < 0).any()):
        order = np.argsort(file_index, kind="stable")
    bounds = np.searchsorted(
        file_index if order is None else file_index[order], np.arange(len(files) + 1)
    )
    by_file = rejects_by_file(rejects)
    # Most files have as many lines as records and the header: every record on one line, no
    # blank line, so record k is on line k + 1. Only the others need the line breaks in values.
    datas = [path.read_bytes() for _, path in files]
    simple = [
        line_count(data) == 1 + int(bounds[i + 1] - bounds[i]) + len(by_file.get(i, []))
        for i, data in enumerate(datas)
    ]
    breaks = np.zeros(good.num_rows, np.int64)
    if not all(simple):
        rows = np.concatenate(
            [np.arange(bounds[i], bounds[i + 1]) for i, easy in enumerate(simple) if not easy]
        )
        rows = rows if order is None else order[rows]
        breaks[rows] = line_breaks(good.take(pyarrow.array(rows)), len(header), "\n")
    # The values of the records of several lines, by file and row in it (a few per file).
    position = np.empty(len(file_index), np.int64)  # a row's place among its file's rows
    position[np.arange(len(file_index)) if order is None else order] = np.arange(
        len(file_index)
    ) - np.repeat(bounds[:-1], np.diff(bounds))
    multi: dict[int, dict[int, tuple[str | None, ...]]] = {}
    for row, values in multi_line_values(good, breaks).items():
        multi.setdefault(int(file_index[row]), {})[int(position[row])] = values
    first = good.column(0)

    lines = np.zeros(good.num_rows, np.int64)
    keep = np.ones(good.num_rows, bool)
    replaced: list[tuple[int, pyarrow.Table, np.ndarray]] = []
    malformed: list[tuple[int, int, str, str]] = []  # file index, line, raw line, parse error
    for index, (_, path) in enumerate(files):
        rows = np.arange(bounds[index], bounds[index + 1])
        if order is not None:
            rows = order[rows]
        first_of = values_of(first, rows)
        placed = None
        if simple[index]:
            placed = place_simple(datas[index], len(rows), by_file.get(index, []), first_of)
        if placed is None:
            placed = place_file(
                con,
                spec.key,
                header,
                path,
                datas[index],
                lambda rows=rows: good.take(pyarrow.array(rows)),
                first_of,
                breaks[rows],
                multi.get(index, {}),
                by_file.get(index, []),
                report.warnings,
                limit,
            )
        datas[index] = b""  # read: let it go
        if placed.table is None:
            lines[rows] = placed.lines
        else:  # read again without the lines broken quoting had swallowed
            keep[rows] = False
            replaced.append((index, placed.table, placed.lines))
        malformed += [(index, *bad) for bad in placed.malformed]

    names = spec.column_names
    at = [header.index(name) for name in names]
    text = pyarrow.string()
    kept = good if keep.all() else good.filter(pyarrow.array(keep))
    tables = [kept.select(at).rename_columns(names)]
    indexes, numbers = [file_index[keep]], [lines[keep]]
    for index, table, table_lines in replaced:
        tables.append(table.select(at).rename_columns(names))
        indexes.append(np.full(table.num_rows, index, np.int64))
        numbers.append(table_lines)
    found = pyarrow.concat_tables(tables)
    found = found.append_column("line_number", pyarrow.array(np.concatenate(numbers), "int64"))
    found = found.append_column("raw_line", pyarrow.nulls(found.num_rows, text))
    found = found.append_column("parse_error", pyarrow.nulls(found.num_rows, text))
    bad = pyarrow.table(
        {
            **{name: pyarrow.nulls(len(malformed), text) for name in names},
            "line_number": pyarrow.array([m[1] for m in malformed], pyarrow.int64()),
            "raw_line": pyarrow.array([m[2] for m in malformed], text),
            "parse_error": pyarrow.array([m[3] for m in malformed], text),
        }
    )
    # Lineage: per file index, its delivery day and its path relative to the landing zone (never
    # an absolute machine path), taken by index from two small arrays.
    file_days = pyarrow.array([day for day, _ in files], pyarrow.date32())
    file_names = pyarrow.array([f"{day.isoformat()}/{path.name}" for day, path in files])
    index = pyarrow.array(
        np.concatenate([*indexes, np.array([m[0] for m in malformed], np.int64)]), "int64"
    )
    table = pyarrow.concat_tables([found.cast(bad.schema), bad])
    table = table.append_column("delivery_date", pc.take(file_days, index))
    return table.append_column("source_file", pc.take(file_names, index))
