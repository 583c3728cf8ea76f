"""Text forms of numbers, dates and CSV fields, for whole columns at once and for single values.

Why a module of its own: the landing files must spell every value exactly as the contract says
(cents without binary floats, ``YYYY-MM-DD HH:MM:SS``, RFC-4180 quoting). Rows are built as
numpy string columns for speed, single injected rows as Python strings; both spellings live here
side by side so they cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from .vocabulary import STRING_DTYPE


def concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise concatenation of string columns and constants."""
    out = parts[0]
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def format_ints(values: np.ndarray) -> np.ndarray:
    """Integers as decimal text."""
    return np.asarray(values, dtype=np.int64).astype(STRING_DTYPE)


def format_cents(cents: np.ndarray) -> np.ndarray:
    """Non-negative integer cents -> 'X.YY' without binary floats."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = (cents // 100).astype(STRING_DTYPE)
    return concat(whole, ".", np.strings.zfill((cents % 100).astype(STRING_DTYPE), 2))


def format_timestamps(secs: np.ndarray) -> np.ndarray:
    """Seconds since the epoch as ``YYYY-MM-DD HH:MM:SS``."""
    text = np.asarray(secs, dtype=np.int64).astype("datetime64[s]").astype(STRING_DTYPE)
    return np.strings.replace(text, "T", " ")


def format_dates(days: np.ndarray) -> np.ndarray:
    """Days since the epoch as ``YYYY-MM-DD``."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(STRING_DTYPE)


def cents_text(cents: int) -> str:
    """Signed integer cents -> '-X.YY'."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def cents_of(text: str) -> int:
    """'X.YY' (possibly negative) -> integer cents."""
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


def timestamp_text(secs: int) -> str:
    """One timestamp, spelled like ``format_timestamps``."""
    return str(np.datetime64(int(secs), "s")).replace("T", " ")


def date_text(day: int) -> str:
    """One date, spelled like ``format_dates``."""
    return str(np.datetime64(int(day), "D"))


def _needs_quote(text: str) -> bool:
    return any(ch in text for ch in ',"\r\n') or text != text.strip(" ")


def csv_field(text: str) -> str:
    """RFC-4180 field: quoted only when needed, quotes doubled."""
    return '"' + text.replace('"', '""') + '"' if _needs_quote(text) else text


def csv_fields(column: np.ndarray) -> np.ndarray:
    """``csv_field`` for a whole string column."""
    need = (
        (np.strings.find(column, ",") >= 0)
        | (np.strings.find(column, '"') >= 0)
        | (np.strings.find(column, "\n") >= 0)
        | (np.strings.find(column, "\r") >= 0)
        | np.strings.startswith(column, " ")
        | np.strings.endswith(column, " ")
    )
    if not need.any():
        return column
    out = column.copy()
    out[need] = concat('"', np.strings.replace(column[need], '"', '""'), '"')
    return out
