"""Rendering one file: CSV layout, encoding variations, placement of injected lines, manifest.

Why a module of its own: the contract allows shuffled columns, a BOM, CRLF line ends and quoted
fields, and forbids extra or missing columns; this module decides each file's layout, writes the
bytes and describes the file for ``_manifest.json`` -- including the line number of every row
staging must quarantine, which only the renderer knows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecommerce_assets import contract

from .formatting import concat, csv_field, csv_fields
from .injection import InjectedRow
from .rates import BOM_RATE, CRLF_RATE, SHUFFLE_RATE
from .vocabulary import EXTRA_COLUMN_NAMES, EXTRA_COLUMN_VALUES
from .world import DayTable


@dataclass
class FileLayout:
    """Header order, the undeclared column if any, and the encoding variations of one file."""

    columns: list[str]
    extra_column: str | None
    bom: bool
    crlf: bool


def _choose_layout(
    spec: contract.TableSpec,
    rng: np.random.Generator,
    rates: Mapping[str, float],
    defects: dict[str, int],
) -> FileLayout:
    """Shuffle, add or drop columns and pick BOM/CRLF; file-level defects go to ``defects``."""
    names = list(spec.column_names)
    if rng.random() < SHUFFLE_RATE:
        names = [names[i] for i in rng.permutation(len(names))]
    extra_column = None
    if rng.random() < float(rates.get("extra_column", 0.0)):
        extra_column = EXTRA_COLUMN_NAMES[int(rng.integers(len(EXTRA_COLUMN_NAMES)))]
        names.insert(int(rng.integers(len(names) + 1)), extra_column)
        defects[contract.EXTRA_COLUMN] = 1
    if rng.random() < float(rates.get("missing_column", 0.0)):
        droppable = [c.name for c in spec.columns if c.required and c.name != spec.key]
        names.remove(droppable[int(rng.integers(len(droppable)))])
        defects[contract.MISSING_COLUMN] = 1
    bom = bool(rng.random() < BOM_RATE)
    crlf = bool(rng.random() < CRLF_RATE)
    return FileLayout(names, extra_column, bom, crlf)


def _real_lines(
    spec: contract.TableSpec, table: DayTable, layout: FileLayout, rng: np.random.Generator
) -> list[str]:
    """The table's rows as CSV lines in the layout's column order."""
    extra_values = EXTRA_COLUMN_VALUES[rng.integers(0, EXTRA_COLUMN_VALUES.size, size=table.n)]
    parts = []
    for name in layout.columns:
        if name == layout.extra_column:
            parts.append(extra_values)
        else:
            column = table.cols[name]
            parts.append(csv_fields(column) if spec.column(name).kind == "str" else column)
    if not table.n:
        return []
    joined = parts[0]
    for part in parts[1:]:
        joined = concat(joined, ",", part)
    return joined.tolist()


def _injected_lines(
    extras: list[InjectedRow], lines: list[str], layout: FileLayout, rng: np.random.Generator
) -> list[tuple[InjectedRow, str]]:
    """The injected rows as CSV lines; a corrupted copy equal to another line is dropped."""
    seen = set(lines)
    kept: list[tuple[InjectedRow, str]] = []
    for extra in extras:
        if extra.fields is None:
            kept.append((extra, lines[extra.src]))
            continue
        values = []
        for name in layout.columns:
            if name == layout.extra_column:
                values.append(csv_field(str(EXTRA_COLUMN_VALUES[int(rng.integers(1, 6))])))
            else:
                values.append(csv_field(extra.fields[name]))
        if extra.malformed == "more":
            values.append("x")
        elif extra.malformed == "fewer":
            values.pop()
        elif extra.malformed == "quote":
            values[int(rng.integers(1, len(values)))] = '"broken"quote'
        line = ",".join(values)
        if line in seen:
            continue  # never let an injected row be an exact copy of another line
        seen.add(line)
        kept.append((extra, line))
    return kept


def _line_order(n: int, kept: list[tuple[InjectedRow, str]], rng: np.random.Generator) -> list[int]:
    """Positions for the injected lines among the real ones (duplicates after their source)."""
    m = len(kept)
    primary = np.empty(n + m, np.int64)
    tie = np.zeros(n + m)
    primary[:n] = 2 * np.arange(n) + 1
    for j, (extra, _) in enumerate(kept):
        lowest = extra.src + 1 if extra.after_src else 0
        primary[n + j] = 2 * int(rng.integers(lowest, n + 1))
    tie[n:] = rng.random(m)
    return np.lexsort((tie, primary)).tolist()


def render(
    spec: contract.TableSpec,
    table: DayTable,
    extras: list[InjectedRow],
    counts: dict[str, int],
    rng: np.random.Generator,
    rates: Mapping[str, float],
) -> tuple[bytes, dict]:
    """Lay out one CSV file (header, column order, extras) and describe it for the manifest."""
    n = table.n
    defects = dict(counts)
    layout = _choose_layout(spec, rng, rates, defects)
    lines = _real_lines(spec, table, layout, rng)
    kept = _injected_lines(extras, lines, layout, rng)
    order = _line_order(n, kept, rng)
    all_lines = lines + [line for _, line in kept]
    quarantine, resent = [], []
    # Physical line numbers, as the platform reports them: a line break inside a quoted field
    # (a review text over two lines) moves every later record down a line.
    line = 2
    for i in order:
        record_line, line = line, line + 1 + all_lines[i].count("\n")
        if i >= n:
            extra = kept[i - n][0]
            if extra.resent is not None:
                resent.append({"line": record_line, "defect": extra.resent})
            if extra.reason is not None:
                quarantine.append({"line": record_line, "reason": extra.reason})
                defects[extra.reason] = defects.get(extra.reason, 0) + 1
            elif extra.resent is not None:  # yesterday's row sent again unchanged
                defects[contract.EXACT_DUPLICATE] = defects.get(contract.EXACT_DUPLICATE, 0) + 1
    if table.late:
        defects[contract.LATE_EVENT] = table.late
    eol = "\r\n" if layout.crlf else "\n"
    header = ",".join(csv_field(c) for c in layout.columns)
    body = eol.join([header] + [all_lines[i] for i in order]) + eol
    data = (("\ufeff" if layout.bom else "") + body).encode("utf-8")
    n_duplicates = sum(1 for extra, _ in kept if extra.reason is None)
    entry = {
        "rows": n + len(kept),
        "defects": dict(sorted(defects.items())),
        "quarantine": quarantine,
        "staged": n + len(kept) - len(quarantine) - n_duplicates,
        "columns": layout.columns,
        "bom": layout.bom,
        "crlf": layout.crlf,
    }
    if resent:
        entry["resent"] = resent
    return data, entry


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a hidden temporary file, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
