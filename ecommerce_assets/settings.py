"""Where the platform reads and writes, resolved from the environment when asked (never at import).

``ECOMMERCE_LANDING_DIR`` (default ``data/landing``) and ``ECOMMERCE_WAREHOUSE`` (default
``data/warehouse.duckdb``) are the stable interface; every entry point calls :func:`load_settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LANDING_ENV = "ECOMMERCE_LANDING_DIR"
WAREHOUSE_ENV = "ECOMMERCE_WAREHOUSE"
LOCK_TIMEOUT_ENV = "ECOMMERCE_LOCK_TIMEOUT"
DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse: Path
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the platform's paths from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return Settings(
        landing_dir=Path(env.get(LANDING_ENV) or DEFAULT_LANDING),
        warehouse=Path(env.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE),
        lock_timeout_s=float(env.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT_S),
    )
