"""Rows a source sends again a day later: at-least-once delivery of events and reviews.

Why a module of its own: unlike every other defect these copy a row of *yesterday's* delivered
file, not today's, so they need the previous day's rows (kept by the day writer). What staging
does with them is what the contract says: sent again unchanged, an exact duplicate of the earlier
delivery (removed, counted); with one value changed, a ``duplicate_key`` (the earlier delivery
wins, the later is quarantined). The manifest predicts both like their in-file counterparts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecommerce_assets import contract

from .injection import InjectedRow, Injection

RESENT_IDENTICAL = "resent_identical"
RESENT_CHANGED = "resent_changed"
# The non-key column a changed re-send differs in; its new value stays valid, so the key is the
# only reason staging has to quarantine it.
RESENT_CHANGE = {"events": "session_id", "reviews": "helpful_votes"}


@dataclass
class PreviousFile:
    """Yesterday's delivered rows of one table, and those a source may send again today."""

    cols: dict[str, np.ndarray]
    eligible: np.ndarray  # row indices: real, on time, not a purchase, carrying no defect


def previous_file(injection: Injection) -> PreviousFile | None:
    """What tomorrow may re-send of this file: real rows no defect changed, copied or shares a key
    with (late events and purchases are never eligible, as for every defect). ``None`` for a
    table without re-sends."""
    if injection.spec.name not in RESENT_CHANGE:
        return None
    ok = injection.src & ~injection.used
    for extra in injection.extras:
        if extra.src >= 0:
            ok[extra.src] = False
    return PreviousFile(injection.table.cols, np.flatnonzero(ok))


def _changed(column: str, value: str) -> str:
    """One more helpful vote, or the event re-assigned to another session: valid either way."""
    if column == "helpful_votes":
        return str(int(value) + 1)
    return value + "-r"


def add_resent_rows(injection: Injection, previous: PreviousFile | None) -> None:
    """Rows of yesterday's file sent again, each at most once: unchanged, then changed."""
    column = RESENT_CHANGE.get(injection.spec.name)
    if column is None or previous is None:
        return
    remaining = previous.eligible
    for defect in (RESENT_IDENTICAL, RESENT_CHANGED):
        k = min(injection.how_many(defect), remaining.size)
        if not k:
            continue
        chosen = injection.rng.choice(remaining.size, size=k, replace=False)
        for index in remaining[chosen].tolist():
            row = {name: str(values[index]) for name, values in previous.cols.items()}
            reason = None
            if defect == RESENT_CHANGED:
                row[column] = _changed(column, row[column])
                reason = contract.DUPLICATE_KEY
            injection.extras.append(InjectedRow(reason, -1, row, resent=defect))
        remaining = np.delete(remaining, chosen)
