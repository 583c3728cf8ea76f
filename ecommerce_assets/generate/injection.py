"""What defect injection works with: the file being corrupted, its random stream and the results.

Why a module of its own: every defect class -- extra quarantine rows and in-place changes alike
-- picks rows, draws how many defects a file gets and records what it did in the same way; this
is that shared state, so each class can be a small function of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecommerce_assets import contract

from .formatting import timestamp_text
from .rates import EXTRA_KEY_BASE, ORPHAN_LINE_BASE, ORPHAN_REF_BASE
from .world import DayTable


@dataclass
class InjectedRow:
    """An extra line of the file: a corrupted copy of a real row, or a verbatim duplicate."""

    reason: str | None  # quarantine reason, None for an exact duplicate
    src: int  # the copied row of this file, -1 for a row of yesterday's file
    fields: dict[str, str] | None = None  # None: verbatim copy of the source line
    malformed: str | None = None  # "more", "fewer" or "quote"
    after_src: bool = False
    resent: str | None = None  # re-send class of a row of yesterday's file


@dataclass
class ReservedKeys:
    """Reserved key ranges for injected rows: they never collide with real keys."""

    extra: int = EXTRA_KEY_BASE
    orphan_line: int = ORPHAN_LINE_BASE
    orphan_ref: int = ORPHAN_REF_BASE

    def next(self, kind: str) -> int:
        value = getattr(self, kind) + 1
        setattr(self, kind, value)
        return value


@dataclass
class Injection:
    """One file's defect injection: its table, stream and rates, and what was injected so far."""

    spec: contract.TableSpec
    table: DayTable
    day_num: int  # the delivery day, days since the epoch
    rng: np.random.Generator
    rates: Mapping[str, float]
    keys: ReservedKeys
    extras: list[InjectedRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # in-place defects by label

    def __post_init__(self) -> None:
        n = self.table.n
        # rows that may be copied or corrupted (not purchases nor late events)
        self.src: np.ndarray = self.table.masks.get("src", np.ones(n, bool))
        # rows already changed in place: each gets one defect at most
        self.used = np.zeros(n, bool)

    def pick(self, mask: np.ndarray | None = None) -> int | None:
        """A random eligible row, or None when there is none."""
        ok = self.src if mask is None else self.src & mask
        idx = np.flatnonzero(ok)
        return int(idx[self.rng.integers(idx.size)]) if idx.size else None

    def take(self, mask_name: str | None) -> int | None:
        """A random eligible row not changed in place yet, marked as changed."""
        unused = ~self.used
        row = self.pick(unused if mask_name is None else unused & self.table.masks[mask_name])
        if row is not None:
            self.used[row] = True
        return row

    def how_many(self, defect: str) -> int:
        """How many defects of this class the file gets: binomial over its real rows."""
        rate = float(self.rates.get(defect, 0.0))
        return int(self.rng.binomial(self.table.n, min(max(rate, 0.0), 1.0))) if rate > 0 else 0

    def choose(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def copy_row(self, index: int) -> dict[str, str]:
        return {name: str(column[index]) for name, column in self.table.cols.items()}

    def copy_with_fresh_key(self, index: int) -> dict[str, str]:
        """A copy of a row under a reserved key, so only its one corruption makes it fail."""
        row = self.copy_row(index)
        row[self.spec.key] = str(self.keys.next("extra"))
        return row

    def timestamp_text(self, day_offset: int) -> str:
        """A timestamp ``day_offset`` days from the delivery day, at a random hour."""
        return timestamp_text(
            (self.day_num + day_offset) * 86400 + int(self.rng.integers(3600, 86400))
        )

    def count(self, label: str) -> None:
        self.counts[label] = self.counts.get(label, 0) + 1
