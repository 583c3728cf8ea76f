"""Quoting that swallowed lines: a record of several lines whose later lines are records of their
own (what a stray quote does), found so that the reader can set its first line apart and read
the lines after it on their own (``record_lines.place_file``; the rule, and why it is sound, in
``record_lines.py``'s comment above ``MAX_RECORD_LINES_ENV``).
"""

from __future__ import annotations

import bisect
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the reader's types (record_lines imports this module at run time)
    from .csv_scan import Reject
    from .physical_lines import FileLines

# The text kept of a malformed record (DuckDB keeps as much of a rejected record's).
RAW_LINE_LIMIT = 10_000
# Lines after a record's first tried as the start of a record, and lines of text parsed each time.
START_LINES = 200
RECORD_TEXT_LINES = 100
KEY_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
SWALLOWED_LINES = "SWALLOWED LINES"

SetApart = dict[int, tuple[int, str, str]]


def set_apart(lines: FileLines, first: int, own: int, why: str) -> tuple[int, str, str]:
    """Lines ``first`` up to the one before ``own`` (the record of its own), as one malformed
    record: the broken record's lines (most often ``first`` alone), blank lines after excluded."""
    last = int(lines.nonblank[np.searchsorted(lines.nonblank, own) - 1]) if own > first else first
    last = max(first, last)
    what = f"line {first} is" if last == first else f"lines {first}-{last} are"
    span = f" [record spans lines {first}-{last}]" if last > first else ""
    return (
        last,
        lines.text(first, last, RAW_LINE_LIMIT),
        f"{why}: {what} set apart and the lines after read on their own{span}",
    )


def swallowing_records(
    lines: FileLines,
    good: np.ndarray,
    spans: list[tuple[int, int]],
    values: dict[int, tuple[str | None, ...]],
    rejects: list[Reject],
    width: int,
    key_at: int,
) -> SetApart:
    """The records placed whose quoting swallowed lines (see the comment above
    ``MAX_RECORD_LINES_ENV``), by first line: what to quarantine of each."""
    found: SetApart = {}
    # (a) Rejected: the file read from one of its lines after the first.
    for (first, last), reject in zip(spans, rejects, strict=False):  # the rejects placed
        if last > first and (own := _record_start(lines, first, last, width, key_at)):
            why = (
                f"{reject.error} [the quoted field opened on line {first} ran to line {last}, "
                f"but line {own} starts a record of its own]"
            )
            found[first] = set_apart(lines, first, own, why)
    # (b) Accepted: a value's text after one of its line breaks (a whole line swallowed is in
    # the value as it was: a quote in it would have closed the field).
    for row, record in values.items():
        if row >= len(good):  # not placed: DuckDB's account went astray before it
            continue
        first = own = int(good[row])
        for piece in (p for v in record for p in (v or "").split(lines.eol.decode())[1:]):
            own += 1
            if _is_record(piece.removesuffix("\r"), width, key_at):
                why = (
                    f"{SWALLOWED_LINES}: the quoted field opened on line {first} ran over line "
                    f"{own}, which is a record of its own"
                )
                found[first] = set_apart(lines, first, own, why)
                break
    return found


def quote_openers(lines: FileLines, width: int, key_at: int, start: int) -> SetApart:
    """Lines from ``start`` on (those DuckDB's account did not place) that open a quoted field
    they leave open, whose text is not the start of a record DuckDB accepts
    (``_lenient_fields``), and whose next line that is not blank is a record of its own
    (``_is_record``): a stray quote, whatever DuckDB made of it. Only lines with an odd number of
    quotes can leave one open; in a legal multi-line field those are its first line (the start
    of a record that reads whole) and its last (its quote closes a field)."""
    if start > lines.count:
        return {}
    quotes = np.flatnonzero(np.frombuffer(lines.data, np.uint8) == ord('"'))
    counts = np.searchsorted(quotes, lines.stops) - np.searchsorted(quotes, lines.starts)
    found: SetApart = {}
    for line in (np.flatnonzero(counts[start - 1 :] % 2) + start).tolist():
        i = int(np.searchsorted(lines.nonblank, line + 1))
        if i == len(lines.nonblank) or not _leaves_open(lines.text(line, line)):
            continue
        record = _lenient_fields(lines.text(line, min(lines.count, line + RECORD_TEXT_LINES)))
        own = int(lines.nonblank[i])
        if (record is None or len(record) != width) and _is_record(
            lines.text(own, min(lines.count, own + RECORD_TEXT_LINES)), width, key_at
        ):
            why = (
                f"{SWALLOWED_LINES}: line {line} leaves a quoted field open, and line {own} is "
                "a record of its own"
            )
            found[line] = set_apart(lines, line, own, why)
    return found


def disjoint(found: SetApart, openers: SetApart) -> SetApart:
    """``found`` and the ``openers`` whose lines none of it sets apart (each line once)."""
    taken = sorted((first, last) for first, (last, _, _) in found.items())
    out = dict(found)
    for first, entry in openers.items():
        i = bisect.bisect_right(taken, (first, 1 << 62)) - 1
        if first not in out and not (i >= 0 and taken[i][1] >= first):
            out[first] = entry
    return out


def _leaves_open(line: str) -> bool:
    """Whether a field of ``line`` opens with a quote that does not close on it."""
    at = 0
    while at < len(line):
        if line[at] == '"':
            close = line.find('"', at + 1)
            while close >= 0 and line[close + 1 : close + 2] == '"':
                close = line.find('"', close + 2)
            if close < 0:
                return True
            at = close + 1
        comma = line.find(",", at)
        if comma < 0:
            return False
        at = comma + 1
    return False


def _lenient_fields(text: str) -> list[str] | None:
    """The fields of the record ``text`` starts with, read as DuckDB's reader accepts one: a
    quote opening a field must close it (before a comma or a line end), a quote inside an
    unquoted field is text. None when ``text`` does not start with such a record."""
    fields: list[str] = []
    at = 0
    while True:
        match = _LENIENT_FIELD.match(text, at)
        if match is None:
            return None
        quoted, plain = match.groups()
        fields.append(plain if quoted is None else quoted.replace('""', '"'))
        at = match.end()
        if at == len(text) or text[at] in "\r\n":
            return fields
        if text[at] != ",":
            return None
        at += 1


# One field of a record read strictly as RFC 4180 says: quoted (a quote inside doubled) or
# without any quote; the unquoted alternative matches the empty string, so ``match`` never fails.
_STRICT_FIELD = re.compile(r'"([^"]*(?:""[^"]*)*)"|([^,"\r\n]*)')
# The same, as DuckDB reads one: an unquoted field may hold quotes (not as its first character).
_LENIENT_FIELD = re.compile(r'"([^"]*(?:""[^"]*)*)"|([^,"\r\n][^,\r\n]*|)')


def _strict_fields(text: str) -> list[str] | None:
    """The fields of the record ``text`` starts with, read strictly (a quote only around a whole
    field, as RFC 4180 says); None when ``text`` does not start with such a record."""
    fields: list[str] = []
    at = 0
    while True:
        match = _STRICT_FIELD.match(text, at)
        if match is None:  # never: the unquoted alternative matches the empty string
            return None
        quoted, plain = match.groups()
        fields.append(plain if quoted is None else quoted.replace('""', '"'))
        at = match.end()
        if at == len(text) or text[at] in "\r\n":
            return fields
        if text[at] != ",":
            return None
        at += 1


def _is_record(text: str, width: int, key_at: int) -> bool:
    """Whether ``text`` starts with a complete record of ``width`` fields whose key (field
    ``key_at``) is a positive integer, as staging accepts one."""
    if text.count(",") < width - 1:  # the common answer, at once
        return False
    fields = _strict_fields(text)
    if fields is None or len(fields) != width:
        return False
    key = fields[key_at].strip()
    return bool(KEY_TEXT.fullmatch(key)) and int(key) > 0


def _record_start(lines: FileLines, first: int, last: int, width: int, key_at: int) -> int | None:
    """The first line after ``first`` (up to ``last``) from which the file's text starts a
    complete record of its own (``_is_record``); that record may run past ``last``, where
    DuckDB's reading of the broken record stopped."""
    end = lines.count
    for line in range(first + 1, min(last, first + START_LINES) + 1):
        if _is_record(lines.text(line, min(end, line + RECORD_TEXT_LINES - 1)), width, key_at):
            return line
    return None
