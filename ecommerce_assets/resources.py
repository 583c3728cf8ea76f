"""Resources: where the landing zone is. The warehouse is the I/O manager (``io_manager.py``)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


class LandingZone(dg.ConfigurableResource):
    """The folder of daily deliveries (``ECOMMERCE_LANDING_DIR``)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)
