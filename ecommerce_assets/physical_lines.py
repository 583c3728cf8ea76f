"""A delivered file's physical lines (as an editor numbers them) and the line breaks in records.

The pieces ``record_lines.py`` places records with: where each line starts and stops, which
line end a file uses, and how many line breaks each record's values hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow
import pyarrow.compute as pc


@dataclass(frozen=True)
class FileLines:
    """A file's physical lines: line k (1-based) is ``data[starts[k-1]:stops[k-1]]``, without its
    line end; ``nonblank`` the numbers of the lines after the header that hold anything."""

    data: bytes
    eol: bytes  # the byte that ends a line
    newline: bytes  # the header's line end: LF, CRLF or CR
    starts: np.ndarray
    stops: np.ndarray
    nonblank: np.ndarray

    @classmethod
    def of(cls, data: bytes) -> FileLines:
        eol = eol_of(data)
        raw = np.frombuffer(data, np.uint8)
        ends = np.flatnonzero(raw == eol[0])
        starts = np.concatenate(([0], ends + 1))
        stops = np.concatenate((ends, [len(data)]))
        if starts[-1] == len(data):  # the last line has its line end: nothing after it
            starts, stops = starts[:-1], stops[:-1]
        crlf = eol == b"\n" and len(ends) > 0 and ends[0] > 0 and raw[ends[0] - 1] == 13
        if crlf:  # the CR of a CRLF belongs to the line end
            stops = stops - ((stops > starts) & (raw[np.maximum(stops - 1, 0)] == 13))
        nonblank = np.flatnonzero(stops[1:] > starts[1:]) + 2
        return cls(data, eol, b"\r\n" if crlf else eol, starts, stops, nonblank)

    @property
    def count(self) -> int:
        return len(self.starts)

    def line_of(self, position: int) -> int:
        """The line holding byte ``position`` (a line end belongs to its line)."""
        return int(np.searchsorted(self.starts, position, side="right"))

    def text(self, first: int, last: int, limit: int | None = None) -> str:
        stop = self.stops[last - 1]
        if limit is not None:  # UTF-8 takes at most 4 bytes a character
            stop = min(stop, self.starts[first - 1] + 4 * limit)
        text = self.data[self.starts[first - 1] : stop].decode("utf-8", "replace")
        return text if limit is None else text[:limit]

    def without(self, lines: Iterable[int]) -> bytes:
        """The file with ``lines`` blank: each keeps a line end (the header's, which a line end
        inside quotes need not be), so every other line keeps its number."""
        parts, done = [], 0
        for line in sorted(lines):
            parts += [self.data[done : self.starts[line - 1]], self.newline]
            done = int(self.starts[line]) if line < self.count else len(self.data)
        parts.append(self.data[done:])
        return b"".join(parts)


def eol_of(data: bytes) -> bytes:
    """The byte that ends a physical line: CR when the header ends with a lone CR, else LF."""
    lf, cr = data.find(b"\n"), data.find(b"\r")
    return b"\r" if cr >= 0 and (lf < 0 or cr < lf - 1) else b"\n"


def line_breaks(table: pyarrow.Table, width: int, eol: str) -> np.ndarray:
    """Per record, the line breaks inside its values (the first ``width`` columns): it spans
    that many physical lines more than one."""
    total = np.zeros(table.num_rows, np.int64)
    for i in range(width):
        column = table.column(i)
        if column.null_count < len(column):
            total += pc.count_substring(column, eol).fill_null(0).to_numpy()
    return total


def values_of(column: pyarrow.ChunkedArray, rows: np.ndarray) -> Callable[[int], pyarrow.Scalar]:
    """The value of ``column`` at the ``i``th of ``rows``."""
    return lambda i: column[int(rows[i])]


def line_count(data: bytes) -> int:
    """A file's physical lines (header included)."""
    eol = eol_of(data)
    return data.count(eol) + (0 if not data or data.endswith(eol) else 1)


def multi_line_values(
    table: pyarrow.Table, breaks: np.ndarray, eol: str = "\n"
) -> dict[int, tuple[str | None, ...]]:
    """The values (header order) of the good records that span several lines and might have
    swallowed one (a value with a line break and the commas of a record of the header's width),
    by row."""
    rows = np.flatnonzero(breaks)
    if not len(rows):
        return {}
    picked = table.take(pyarrow.array(rows)).columns[: table.num_columns - 1]
    width = len(picked)
    maybe = np.zeros(len(rows), bool)
    for column in picked:
        commas = pc.count_substring(column, ",").fill_null(0).to_numpy()
        broken = pc.count_substring(column, eol).fill_null(0).to_numpy() > 0
        maybe |= (commas >= width - 1) & broken
    if not maybe.any():
        return {}
    keep = pyarrow.array(np.flatnonzero(maybe))
    values = zip(*(c.take(keep).to_pylist() for c in picked), strict=True)
    return dict(zip(rows[maybe].tolist(), values, strict=True))
