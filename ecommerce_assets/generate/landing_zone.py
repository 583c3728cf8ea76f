"""Writing a landing zone: day folders with the six files, the manifest and ``_SUCCESS`` last.

Why a module of its own: this is the generator's public API. It ties the per-run world, the
per-day facts and the per-file defects together with their random streams (one for master data,
one per day, one per day and table), and delivers days like a source system does -- which the
live demo reuses to drop days into a watched landing zone one at a time.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from ecommerce_assets import contract

from .defects import inject
from .dimensions import products_day, users_day
from .facts import facts_day
from .injection import ReservedKeys
from .rates import DEFAULT_RATES
from .render import render, write_atomic
from .world import World, build_world


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


def _write_day(
    folder: Path,
    world: World,
    day_index: int,
    tables: dict,
    seed: int,
    rates: Mapping[str, float],
    keys: ReservedKeys,
) -> dict[str, dict]:
    """Inject defects into and write the day's six files; returns their manifest entries."""
    day_num = world.day0 + day_index
    entries = {}
    for table_index, name in enumerate(contract.TABLE_NAMES):
        spec = contract.TABLES[name]
        seed_sequence = np.random.SeedSequence([seed, 2, day_index, table_index])
        file_rng = np.random.default_rng(seed_sequence)
        extras, counts = inject(spec, tables[name], day_num, file_rng, rates, keys)
        data, entry = render(spec, tables[name], extras, counts, file_rng, rates)
        write_atomic(folder / spec.file_name, data)
        entries[name] = entry
    return entries


def generate_landing_zone(
    out: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    start: date = date(2024, 1, 1),
    days: int = 366,
    clean: bool = False,
    rates: Mapping[str, float] | None = None,
) -> dict:
    """Write ``days`` daily delivery folders under ``out`` and return a small summary.

    Each folder gets the six CSVs, ``_manifest.json`` predicting staging's outcome, and the
    ``_SUCCESS`` marker last. ``clean=True`` turns every defect rate to zero (format variations
    and late events remain, as the contract allows them).
    """
    if days < 1 or scale <= 0:
        raise ValueError("days must be >= 1 and scale > 0")
    effective = effective_rates(rates, clean)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(seed, scale, start, days)
    keys = ReservedKeys()
    carry: dict[str, np.ndarray] = {}
    rows = {t: 0 for t in contract.TABLE_NAMES}
    defects: dict[str, dict[str, int]] = {t: {} for t in contract.TABLE_NAMES}
    for day_index in range(days):
        day = start + timedelta(days=day_index)
        day_rng = np.random.default_rng(np.random.SeedSequence([seed, 1, day_index]))
        facts, carry = facts_day(world, day_index, day_rng, effective["late_event"], carry)
        tables = {
            "users": users_day(world, day_index),
            "products": products_day(world, day_index),
            **facts,
        }
        folder = out / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / contract.SUCCESS_MARKER).unlink(missing_ok=True)
        entries = _write_day(folder, world, day_index, tables, seed, effective, keys)
        for name, entry in entries.items():
            rows[name] += entry["rows"]
            for label, count in entry["defects"].items():
                defects[name][label] = defects[name].get(label, 0) + count
        manifest = {
            "delivery_date": day.isoformat(),
            "seed": seed,
            "scale": float(scale),
            "clean": bool(clean),
            "tables": entries,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(folder / contract.MANIFEST_FILE, text.encode("utf-8"))
        (folder / contract.SUCCESS_MARKER).write_bytes(b"")
    return {
        "out": str(out),
        "days": days,
        "rows": rows,
        "defects": {t: dict(sorted(v.items())) for t, v in defects.items()},
    }


def _is_complete(folder: Path) -> bool:
    return (folder / contract.SUCCESS_MARKER).is_file()


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


def live_deliveries(
    out: Path,
    *,
    interval_s: float,
    max_days: int | None = None,
    initial: int = 0,
    log: Callable[[str], None] = print,
    **generate_kwargs: object,
) -> list[date]:
    """Live demo: deliver the generated days missing from ``out``, one every ``interval_s``.

    The whole period (``start``, ``days`` and the other ``generate_landing_zone`` arguments) is
    generated once into a scratch folder, so every delivered day belongs to the same consistent
    world as the days already in ``out`` (same seed and scale give identical files). Days already
    complete in ``out`` are skipped; ``initial`` days are delivered at once, then one per interval,
    at most ``max_days`` in all. Returns the days delivered.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    released: list[date] = []
    with tempfile.TemporaryDirectory(prefix=".live-", dir=out.parent) as scratch:
        generate_landing_zone(Path(scratch), **generate_kwargs)  # type: ignore[arg-type]
        pending = sorted(
            p for p in Path(scratch).iterdir() if p.is_dir() and not _is_complete(out / p.name)
        )
        if max_days is not None:
            pending = pending[:max_days]
        for i, folder in enumerate(pending):
            if i >= max(initial, 1):
                time.sleep(interval_s)
            release_day(folder, out / folder.name)
            released.append(date.fromisoformat(folder.name))
            log(f"delivered {folder.name} to {out} ({len(pending) - i - 1} more to come)")
    return released
