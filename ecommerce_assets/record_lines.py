"""Where each record of a delivered CSV starts, and quoting that swallowed lines.

Why a module of its own: DuckDB returns a file's good records in order and numbers only the ones
it rejects, by a counter of records; the platform's line numbers are physical (as an editor shows
them), and a stray quote can swallow whole lines into one record. Placing each record on its
lines, and recovering swallowed lines, is the reader's one intricate part (``landing.py`` calls
``place_simple`` and ``place_file``). The scan itself and the line-end check are in
``csv_scan.py``, a file's lines in ``physical_lines.py``, what sets swallowing quotes apart in
``swallowed_quotes.py``; the walk (``place_file``, ``_walk``, ``_tile``, ``record_end``,
``_trusted``) stays here whole, one algorithm whose parts check each other.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow

from .csv_scan import Reject, rejects_by_file, scan
from .physical_lines import FileLines, eol_of, line_breaks, multi_line_values
from .swallowed_quotes import (
    RAW_LINE_LIMIT,
    SetApart,
    disjoint,
    quote_openers,
    swallowing_records,
)

# ------------------------------------------------------------------------------------------------
# Physical lines: where each record starts, and quoting that swallowed lines.
#
# A file's physical lines end at LF (at CR in a file whose header ends with a lone CR, classic
# Mac); a CRLF's CR belongs to the line end, and a line end inside a quoted field starts a new
# physical line, as in an editor. A blank line (nothing before its line end) is no record: DuckDB
# skips it, so the platform does, and it is not quarantined -- but it keeps its number.
#
# DuckDB returns the good records in file order, with their values, and numbers the records it
# rejects by a counter of records and blank lines. The walk (``_walk``) follows them through the
# lines: a good record spans one line more than the line breaks in its values; a rejected one is
# re-read from the file (``record_end``: DuckDB's text of a rejected record can be cut, or even
# another record's after some broken quotes); blank lines are skipped.
#
# Broken quoting: RFC 4180 lets a quoted field run over several lines, so a record of several
# lines is legal; one whose quoted field swallowed lines that are records of their own is not. A
# record of several lines -- rejected by DuckDB (case a: the stray quote made the field count
# wrong) or accepted (case b: the quote closed where the field count came out right) -- swallowed
# lines when the file, read from one of its lines after the first (case a), or the text of one
# of its values after a line break (case b), starts a complete record: the header's number of
# fields, quotes only around whole fields as RFC 4180 has them, and a positive integer in the key
# column (what staging accepts as a key). Recovering those lines is sound: the record's first
# line is the one whose quote opened the field (every line after it was read as quoted text), so
# that line is quarantined (``malformed_line``, its own text) and the file read again with it
# blank -- the lines after it are then read by the same reader as any other line, and a legal
# multi-line field among them stays one record. No legal field is mistaken for one: its text
# after a line break would have to hold exactly the header's number of fields and a positive
# integer at the key's place; a continuation line such as ``size is OK.",2024-01-20,2,...`` (the
# field first in a shuffled header) is no record, as its quote is not around a whole field. A
# record of several lines without such a line is kept whole (nothing in it is a record of its
# own): rejected, it is quarantined with its span (``[record spans lines 4-13]`` in
# ``parse_error``), and the check ``stg_quarantine.malformed_record_lines`` fails when it spans
# more than ``ECOMMERCE_MAX_RECORD_LINES`` lines; accepted and longer than that, a warning names
# it.
# ------------------------------------------------------------------------------------------------
MAX_RECORD_LINES_ENV = "ECOMMERCE_MAX_RECORD_LINES"
DEFAULT_MAX_RECORD_LINES = 5
# How parse_error names the physical lines of a malformed record spanning several (first-last).
RECORD_SPAN_PATTERN = r"\[record spans lines ([0-9]+)-([0-9]+)\]"
# Re-reads of one file: each sets apart every swallowing record found at once; another is needed
# only when a recovered stretch itself holds one (nested broken quotes).
_MAX_REREADS = 20
_WARNED_RECORDS = 5  # long records named per file; the rest are counted


def max_record_lines(environ: Mapping[str, str] | None = None) -> int:
    """Physical lines a malformed record may span before a check fails
    (``ECOMMERCE_MAX_RECORD_LINES``, default 5), read at run time."""
    env = os.environ if environ is None else environ
    text = (env.get(MAX_RECORD_LINES_ENV) or "").strip()
    if not text:
        return DEFAULT_MAX_RECORD_LINES
    try:
        value = int(text.replace("_", ""))
    except ValueError as exc:
        raise ValueError(f"{MAX_RECORD_LINES_ENV}={text!r} is not a whole number of lines") from exc
    if value < 1:
        raise ValueError(f"{MAX_RECORD_LINES_ENV}={text!r} must be at least 1")
    return value


@dataclass
class Placement:
    """Where one file's records are: the first line of each good record (of ``table`` when the
    file was read again, else of the group's rows), and its malformed records."""

    lines: np.ndarray
    table: pyarrow.Table | None = None
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, error


def place_file(
    con: duckdb.DuckDBPyConnection,
    key: str,
    header: tuple[str, ...],
    path: Path,
    data: bytes,
    rows: Callable[[], pyarrow.Table],
    rows_first: Callable[[int], pyarrow.Scalar],
    breaks: np.ndarray,
    values: dict[int, tuple[str | None, ...]],
    rejects: list[Reject],
    warnings: list[str],
    limit: int,
) -> Placement:
    """Place one file's records on its physical lines, setting apart swallowing quotes.

    ``data``: the file's bytes; ``rows``: its good records (``rows_first``: the first value of
    one); ``breaks``: the LFs in each; ``values``: the values of those with any, by record;
    ``rejects``: the records DuckDB rejected, in file order.
    """
    eol = eol_of(data)
    if eol == b"\r" and len(breaks):  # classic Mac: CR ends a line
        mac = rows()
        breaks = line_breaks(mac, len(header), "\r")
        values = multi_line_values(mac, breaks, "\r")
    lines = FileLines.of(data)
    key_at = header.index(key)
    table: pyarrow.Table | None = None  # the file's good records once it was read again
    set_apart: SetApart = {}  # the lines quarantined as swallowing, by first line
    for reread in range(_MAX_REREADS + 1):
        good, spans, fits = _walk(lines, breaks, rejects)
        first_value = rows_first if table is None else table.column(0).__getitem__
        trusted = _trusted(lines, good, spans, first_value)
        if trusted < len(good):  # place no more than the records before it went astray
            fits, spans = False, [s for s in spans if s[1] < good[trusted]]
        # The records placed: all, or those before DuckDB's account went astray; after them,
        # lines that leave a quote open.
        found = swallowing_records(
            lines, good[:trusted], spans, values, rejects, len(header), key_at
        )
        placed = max([int(good[trusted - 1] + breaks[trusted - 1])] if trusted else [1])
        placed = lines.count if fits else max([placed, *(last for _, last in spans)])
        openers = quote_openers(lines, len(header), key_at, placed + 1)
        swallowing = disjoint(found, openers)
        if not swallowing:
            break
        again = None
        if reread < _MAX_REREADS:
            blank = [n for f, (last, _, _) in swallowing.items() for n in range(f, last + 1)]
            again = _reread(con, header, path, lines.without(blank), warnings)
        if again is None:  # kept as read: the quarantine and the warnings show it
            warnings.append(
                f"{path}: broken quoting swallows lines into the records starting on lines "
                f"{sorted(swallowing)}, and reading the file without them failed"
                + (f" {reread} times" if reread == _MAX_REREADS else "")
            )
            break
        set_apart.update(swallowing)
        lines, (table, rejects) = FileLines.of(again[0]), again[1:]
        breaks = line_breaks(table, len(header), eol.decode())
        values = multi_line_values(table, breaks, eol.decode())

    malformed = [(line, text, error) for line, (_, text, error) in set_apart.items()]
    if not fits:
        warnings.append(
            f"{path}: its records could not be matched to its physical lines; line_number "
            "counts records there (header = 1, blank lines included)"
        )
        good, counters = _record_numbers(len(breaks), rejects)
        for counter, reject in zip(counters, rejects, strict=True):
            malformed.append((counter, reject.text.strip("\r\n"), reject.error))
        return Placement(good, table, malformed)
    for (first_line, last_line), reject in zip(spans, rejects, strict=True):
        span = f" [record spans lines {first_line}-{last_line}]" if last_line > first_line else ""
        text = lines.text(first_line, last_line, RAW_LINE_LIMIT)
        malformed.append((first_line, text, reject.error + span))
    long_records = np.flatnonzero(breaks + 1 > limit)
    for row in long_records[:_WARNED_RECORDS]:
        first_line = int(good[row])
        warnings.append(
            f"{path}, lines {first_line}-{first_line + int(breaks[row])}: one record spans "
            f"{int(breaks[row]) + 1} physical lines (a quoted field with line breaks), more than "
            f"{MAX_RECORD_LINES_ENV}={limit}; loaded as one record"
        )
    if len(long_records) > _WARNED_RECORDS:
        warnings.append(
            f"{path}: {len(long_records) - _WARNED_RECORDS} more records span more than "
            f"{limit} physical lines"
        )
    return Placement(good, table, malformed)


def place_simple(
    data: bytes,
    total: int,
    rejects: list[Reject],
    rows_first: Callable[[int], pyarrow.Scalar],
) -> Placement | None:
    """A file with as many lines as records and the header: records on lines 2, 3, ... in file
    order, DuckDB's counter of a rejected one its line (None should that not hold)."""
    good, counters = _record_numbers(total, rejects)
    if not rejects:
        return Placement(good)
    lines = FileLines.of(data)
    spans = [(line, line) for line in counters]
    if counters[-1] > lines.count or _trusted(lines, good, spans, rows_first) < total:
        return None
    return Placement(
        good,
        malformed=[
            (line, lines.text(line, line, RAW_LINE_LIMIT), reject.error)
            for line, reject in zip(counters, rejects, strict=True)
        ],
    )


def _reread(
    con: duckdb.DuckDBPyConnection,
    header: tuple[str, ...],
    path: Path,
    data: bytes,
    warnings: list[str],
) -> tuple[bytes, pyarrow.Table, list[Reject]] | None:
    """``path`` read again as ``data`` (a private copy: the landing zone is never written);
    None when DuckDB cannot (a line end inside the swallowed quotes that is not the header's
    now ends a line)."""
    with tempfile.TemporaryDirectory(prefix="ecommerce-landing-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(data)
        try:
            good, rejects = scan(con, header, [str(copy)])
        except duckdb.Error as exc:
            warnings.append(f"{path}: read again without swallowing lines: {exc}")
            return None
    return data, good, rejects_by_file(rejects).get(0, [])


def _walk(
    lines: FileLines, breaks: np.ndarray, rejects: list[Reject]
) -> tuple[np.ndarray, list[tuple[int, int]], bool]:
    """Follow DuckDB's records through the file's physical lines: the first line of each good
    record, the (first, last) lines of each rejected one, and whether all fit the lines (if not,
    those placed before they stopped fitting).

    DuckDB's reject ``counter`` counts records and blank lines (header = 1); a good record spans
    one line more than the line breaks in its values, a rejected one the lines ``record_end``
    finds; a blank line where a record would start is skipped. Between two records of several
    lines or rejects every record is one line, so the walk jumps from one such record to the next.
    """
    nonblank = lines.nonblank
    total = len(breaks)
    if not rejects and int(breaks.sum()) + total + 1 == lines.count:
        # No reject and no line between the records (no blank one): each starts after the last.
        good = np.concatenate(([2], 2 + np.cumsum(breaks + 1)[:-1])).astype(np.int64)[:total]
        if (lines.stops[good - 1] > lines.starts[good - 1]).all():  # none starts on a blank
            return good, [], True
    if len(nonblank) == lines.count - 1:  # no blank line at all: the records tile the lines
        tiled = _tile(lines, breaks, rejects)
        if tiled is not None:
            return tiled
    good = np.zeros(total, np.int64)
    spans: list[tuple[int, int]] = []
    multi = np.flatnonzero(breaks)
    line = counter = 2  # the next record's first line and DuckDB counter
    g = m_i = r_i = 0  # good records placed, records of several lines passed, rejects placed
    while True:
        i0 = int(np.searchsorted(nonblank, line))
        m = int(multi[m_i]) if m_i < len(multi) else total
        r = rejects[r_i].counter if r_i < len(rejects) else None
        if m < total:  # good record m is on the (m - g)th non-blank line from here
            if i0 + m - g >= len(nonblank):
                return good[:g], spans, False
            start = int(nonblank[i0 + m - g])
            at = counter + start - line
        # The reject comes first when its counter is not after record m's: with a reject before
        # m, ``start`` took the reject's line for a good record's, so ``at`` is never below it.
        if r is not None and (m == total or r <= at):
            start = line + r - counter
            i1 = int(np.searchsorted(nonblank, start))
            if r < counter or g + i1 - i0 > m or i1 >= len(nonblank) or nonblank[i1] != start:
                return good[:g], spans, False
            good[g : g + i1 - i0] = nonblank[i0:i1]
            g += i1 - i0
            last = record_end(lines, start)
            spans.append((start, last))
            line, counter, r_i = last + 1, r + 1, r_i + 1
        elif m < total:
            good[g:m] = nonblank[i0 : i0 + m - g]
            good[m] = start
            line, counter = start + int(breaks[m]) + 1, at + 1
            g, m_i = m + 1, m_i + 1
            if line > lines.count + 1:
                return good[:g], spans, False
        else:  # the rest are records of one line each, and nothing but blank lines after them
            if i0 + total - g != len(nonblank):
                return good[:g], spans, False
            good[g:] = nonblank[i0:]
            return good, spans, True


def _tile(
    lines: FileLines, breaks: np.ndarray, rejects: list[Reject]
) -> tuple[np.ndarray, list[tuple[int, int]], bool] | None:
    """``_walk`` for a file without a blank line: record k (good or rejected, counted from 0)
    is DuckDB's counter k + 2, and each starts on the line after the last one's (None when the
    records do not end on the file's last line)."""
    spans_of_good = breaks + 1
    good = np.zeros(len(breaks), np.int64)
    spans: list[tuple[int, int]] = []
    line = counter = 2
    g = 0
    for reject in rejects:
        k = reject.counter - counter  # good records before it
        if k < 0 or g + k > len(breaks):
            return None
        stretch = spans_of_good[g : g + k]
        good[g : g + k] = line + np.cumsum(stretch) - stretch
        line += int(stretch.sum())
        g += k
        last = record_end(lines, line)
        spans.append((line, last))
        line, counter = last + 1, reject.counter + 1
    stretch = spans_of_good[g:]
    good[g:] = line + np.cumsum(stretch) - stretch
    if line + int(stretch.sum()) != lines.count + 1:
        return None
    return good, spans, True


_UNQUOTED_END = re.compile(rb"[,\r\n]")


def record_end(lines: FileLines, start: int) -> int:
    """The last line of the record that starts on line ``start``, read as DuckDB reads one it
    rejects: fields as RFC 4180 has them, but a quote inside an unquoted field is text, and a
    character after a closing quote (an error) makes the rest of that field unquoted text; the
    record ends at a line end outside quotes, or with a quote never closed at the end of the
    file."""
    data, at = lines.data, int(lines.starts[start - 1])
    while at < len(data):
        if data[at] == 0x22:  # a quoted field: to its closing quote ("" is a quote inside)
            close = data.find(b'"', at + 1)
            while close >= 0 and data[close + 1 : close + 2] == b'"':
                close = data.find(b'"', close + 2)
            if close < 0:
                return lines.count
            at = close + 1
        found = _UNQUOTED_END.search(data, at)
        if found is None:
            return lines.count
        if found.group() != b",":
            return lines.line_of(found.start())
        at = found.end()
    return lines.count


def _trusted(
    lines: FileLines,
    good: np.ndarray,
    spans: list[tuple[int, int]],
    first_value: Callable[[int], pyarrow.Scalar],
) -> int:
    """How many good records, from the first, are placed where they are: a record right after a
    rejected one (and the first and last) must be on a line that starts with its first value.
    DuckDB's account of a file can go astray after some broken quotes (its reports repeat or skip
    records, a CR alone ends one): what follows is not trusted."""
    after = np.searchsorted(good, [last + 1 for _, last in spans])
    rows = {0, len(good) - 1, *after.tolist()}
    for row in sorted(r for r in rows if 0 <= r < len(good)):
        value = first_value(row).as_py() or ""  # unquoted: the line starts with it
        text = lines.text(int(good[row]), int(good[row]))
        if not text.startswith((value, '"') if value else (",", '"')):
            return row
    return len(good)


def _record_numbers(total: int, rejects: list[Reject]) -> tuple[np.ndarray, list[int]]:
    """DuckDB's counters instead of lines (the fallback when the records do not fit the lines)."""
    counters = np.array([r.counter for r in rejects], np.int64)
    candidates = np.arange(2, total + len(counters) + 2, dtype=np.int64)
    good = candidates[~np.isin(candidates, counters)][:total]
    return good, counters.tolist()
