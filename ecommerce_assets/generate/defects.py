"""Defect injection for one file: which rows get which defect, in a fixed, seeded order.

Why a module of its own: the order in which defect classes draw from the file's random stream
is part of the output (the same seed must give the same files), so it is written down once here:
extra quarantine rows first (copied before any in-place change), then in-place changes, then rows
of yesterday's file sent again.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ecommerce_assets import contract

from .in_place import add_exact_duplicates, change_rows_in_place
from .injection import Injection, ReservedKeys
from .quarantine_rows import QUARANTINE_ROW_DEFECTS
from .resent import PreviousFile, add_resent_rows
from .world import DayTable


def inject(
    spec: contract.TableSpec,
    table: DayTable,
    day_num: int,
    rng: np.random.Generator,
    rates: Mapping[str, float],
    keys: ReservedKeys,
    previous: PreviousFile | None = None,
) -> Injection:
    """Choose and apply this file's row defects; ``previous`` is yesterday's file of the table.

    Returns the injection: its extra rows, in-place counts and which rows were touched. Re-sent
    rows of yesterday come last, so they never shift the draws of the other classes.
    """
    injection = Injection(spec, table, day_num, rng, rates, keys)
    if table.n == 0 or not injection.src.any():
        return injection
    for add_rows in QUARANTINE_ROW_DEFECTS:
        add_rows(injection)
    add_exact_duplicates(injection)
    change_rows_in_place(injection)
    add_resent_rows(injection, previous)
    return injection
