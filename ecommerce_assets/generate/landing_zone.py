"""Writing a landing zone: day folders with the six files, the manifest and ``_SUCCESS`` last.

Why a module of its own: this is the generator's public API. It ties the world (grown day by
day), the per-day facts and the per-file defects together with their random streams (the
backlog's, one per day for newcomers, one per day for facts, one per day and table for defects),
and delivers days like a source system does -- which the live demo reuses to drop days into a
watched landing zone one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from ecommerce_assets import contract

from .defects import inject
from .dimensions import products_day, users_day
from .facts import facts_day
from .injection import ReservedKeys
from .rates import DEFAULT_RATES
from .render import render, write_atomic
from .resent import PreviousFile, previous_file
from .world import build_world, start_day


def effective_rates(rates: Mapping[str, float] | None, clean: bool) -> dict[str, float]:
    """``DEFAULT_RATES`` overridden by ``rates``; ``clean`` zeroes all but late events."""
    effective = dict(DEFAULT_RATES)
    for name, value in (rates or {}).items():
        if name not in DEFAULT_RATES:
            raise ValueError(f"unknown rate {name!r}; known: {', '.join(DEFAULT_RATES)}")
        effective[name] = float(value)
    if clean:
        effective = {k: (v if k == "late_event" else 0.0) for k, v in effective.items()}
    return effective


def default_start(days: int, today: date | None = None) -> date:
    """The first day of a window of ``days`` days that ends yesterday (UTC): the newest day that
    has ended, so a landing zone generated today is complete and on today's calendar."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=days)


class DayWriter:
    """Makes a landing zone's days in order, carrying from day to day what a source carries: the
    world, the reserved key ranges, the late events held back and yesterday's delivered rows.

    A day depends only on the days before it, never on how many follow: so any prefix of a
    window is byte-identical to a shorter window, and a zone can be continued one day at a time.
    """

    def __init__(
        self, seed: int, scale: float, start: date, clean: bool, rates: Mapping[str, float]
    ) -> None:
        self.seed, self.scale, self.start, self.clean = seed, scale, start, clean
        self.rates = dict(rates)
        self.world = build_world(seed, scale, start)
        self.keys = ReservedKeys()
        self.carry: dict[str, np.ndarray] = {}
        self.previous: dict[str, PreviousFile | None] = {}

    @property
    def next_day(self) -> date:
        return self.start + timedelta(days=self.world.day_index + 1)

    def make_day(self) -> tuple[date, dict[str, bytes], dict[str, dict]]:
        """The next day: its files (six CSVs, then the manifest) and their manifest entries."""
        day_index = self.world.day_index + 1
        day = self.next_day
        start_day(self.world, day_index)
        day_rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1, day_index]))
        facts, self.carry = facts_day(
            self.world, day_index, day_rng, self.rates["late_event"], self.carry
        )
        tables = {"users": users_day(self.world), "products": products_day(self.world), **facts}
        day_num = self.world.day0 + day_index
        files: dict[str, bytes] = {}
        entries: dict[str, dict] = {}
        for table_index, name in enumerate(contract.TABLE_NAMES):
            spec = contract.TABLES[name]
            seed_sequence = np.random.SeedSequence([self.seed, 2, day_index, table_index])
            file_rng = np.random.default_rng(seed_sequence)
            previous = self.previous.get(name)
            injection = inject(
                spec, tables[name], day_num, file_rng, self.rates, self.keys, previous
            )
            files[spec.file_name], entries[name] = render(
                spec, tables[name], injection.extras, injection.counts, file_rng, self.rates
            )
            # a file whose header lacks a required column fails its day: nothing to re-send
            broken = contract.MISSING_COLUMN in entries[name]["defects"]
            self.previous[name] = None if broken else previous_file(injection)
        manifest = {
            "delivery_date": day.isoformat(),
            "seed": self.seed,
            "scale": float(self.scale),
            "clean": bool(self.clean),
            "tables": entries,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        files[contract.MANIFEST_FILE] = text.encode("utf-8")
        return day, files, entries


def _is_complete(folder: Path) -> bool:
    return (folder / contract.SUCCESS_MARKER).is_file()


def deliver_files(folder: Path, files: Mapping[str, bytes]) -> bool:
    """Write a day folder like a source system: ``_SUCCESS`` removed first, the files, ``_SUCCESS``
    last. A complete folder already holding exactly these bytes is left untouched (no
    re-delivery), so continuing a zone never disturbs its earlier days. Returns whether it wrote.
    """
    if _is_complete(folder) and all(
        (folder / name).is_file() and (folder / name).read_bytes() == data
        for name, data in files.items()
    ):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    (folder / contract.SUCCESS_MARKER).unlink(missing_ok=True)
    for name, data in files.items():
        write_atomic(folder / name, data)
    (folder / contract.SUCCESS_MARKER).write_bytes(b"")
    return True


def generate_landing_zone(
    out: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    start: date | None = None,
    days: int = 366,
    clean: bool = False,
    rates: Mapping[str, float] | None = None,
) -> dict:
    """Write ``days`` daily delivery folders under ``out`` and return a small summary.

    Each folder gets the six CSVs, ``_manifest.json`` predicting staging's outcome, and the
    ``_SUCCESS`` marker last. ``start=None`` ends the window yesterday (UTC). ``clean=True`` turns
    every defect rate to zero (format variations and late events remain, as the contract allows
    them). The first N days do not depend on ``days``: a longer run continues a shorter one, and
    days already delivered with identical bytes are left untouched.
    """
    if days < 1 or scale <= 0:
        raise ValueError("days must be >= 1 and scale > 0")
    effective = effective_rates(rates, clean)
    start = default_start(days) if start is None else start
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writer = DayWriter(seed, scale, start, clean, effective)
    rows = {t: 0 for t in contract.TABLE_NAMES}
    defects: dict[str, dict[str, int]] = {t: {} for t in contract.TABLE_NAMES}
    unchanged = 0
    for _ in range(days):
        day, files, entries = writer.make_day()
        unchanged += not deliver_files(out / day.isoformat(), files)
        for name, entry in entries.items():
            rows[name] += entry["rows"]
            for label, count in entry["defects"].items():
                defects[name][label] = defects[name].get(label, 0) + count
    return {
        "out": str(out),
        "start": start.isoformat(),
        "days": days,
        "unchanged": unchanged,
        "rows": rows,
        "defects": {t: dict(sorted(v.items())) for t, v in defects.items()},
    }


def release_day(source: Path, target: Path) -> None:
    """Deliver one generated day folder like a source system: the files, then ``_SUCCESS`` last.

    An existing target is a re-delivery: its ``_SUCCESS`` goes first, so the day is never seen
    complete with a mix of old and new files.
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / contract.SUCCESS_MARKER).unlink(missing_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name != contract.SUCCESS_MARKER:
            write_atomic(target / path.name, path.read_bytes())
    (target / contract.SUCCESS_MARKER).write_bytes(b"")
