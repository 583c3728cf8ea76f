"""Quality gates: when a counted defect stops being "handled" and becomes a warning or an error.

A check counts failing rows; its gate says how many a delivery day may hold and still pass. Keys,
references and conservation are exact (any failing row fails, ``Gate()``); a defect the platform
handles as designed (a repaired value, an unknown enumeration member, a quarantined row, an orphan
linked to the unknown member) passes with its counts in the metadata until its share of the day's
rows crosses the gate. ``min_rows`` keeps a quiet day (a handful of rows, where one defect is a
large share) from failing on noise.

Defaults live beside each check; ``ECOMMERCE_QUALITY_GATES`` names a TOML file that overrides them
per check (docs/data-quality.md)::

    ["stg_orders.unknown_values"]
    share = 0.01     # fail when more than 1 % of the day's rows are unknown values ...
    min_rows = 3     # ... and at least 3 rows are
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

GATES_ENV = "ECOMMERCE_QUALITY_GATES"


@dataclass(frozen=True)
class Gate:
    """Fail when ``failing > share × checked`` and ``failing >= min_rows``."""

    share: float = 0.0
    min_rows: int = 1

    def passed(self, checked: int, failing: int) -> bool:
        return failing < self.min_rows or failing <= self.share * checked

    def describe(self) -> str:
        if self.share == 0 and self.min_rows <= 1:
            return "0 failing rows"
        floor = f" and at least {self.min_rows} rows" if self.min_rows > 1 else ""
        return f"fails above {self.share:.1%} of a day's rows{floor}"


# Keys, references, conservation: any failing row fails.
EXACT = Gate()
# A handled defect: the generator injects each at 0.2-0.5 % of a file's rows; a day fails when
# its share is several times that, so a delivery that went wrong shows, a usual one does not.
HANDLED = Gate(share=0.02, min_rows=5)
# Rows repaired (whitespace, case): events carry several text columns, ~1-3 % of rows a day.
REPAIRED = Gate(share=0.05, min_rows=10)
# All quarantine reasons of a day together (~2 % of rows in the demo).
QUARANTINE = Gate(share=0.05, min_rows=5)


def load_gates(environ: Mapping[str, str] | None = None) -> dict[str, Gate]:
    """Per-check overrides (``"asset.check"`` → Gate) from ``ECOMMERCE_QUALITY_GATES``'s TOML."""
    env = os.environ if environ is None else environ
    path = env.get(GATES_ENV)
    if not path:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{GATES_ENV}={path}: cannot read quality gates: {exc}") from exc
    gates = {}
    for key, values in data.items():
        if not isinstance(values, dict) or set(values) - {"share", "min_rows"}:
            raise ValueError(
                f"{path}: [{key}] must hold only `share` (0..1) and `min_rows` (integer ≥ 1)"
            )
        share, min_rows = float(values.get("share", 0.0)), int(values.get("min_rows", 1))
        if not 0 <= share <= 1 or min_rows < 1:
            raise ValueError(f"{path}: [{key}] share must be in 0..1 and min_rows ≥ 1")
        gates[key] = Gate(share, min_rows)
    return gates
