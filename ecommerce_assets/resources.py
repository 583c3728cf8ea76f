"""Dagster resources and their keys: the landing zone, the catalog API and the DuckDB warehouse.

Assets, checks and the quality report reach the warehouse through :class:`Warehouse`; the I/O
manager (``io_manager.py``, key ``WAREHOUSE_IO``) and the analytics copy nest that same resource,
so one object owns the database, its lock wait and its connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from .catalog_client import CatalogSettings
from .settings import Settings
from .warehouse import WarehouseLocation, connect, fetch_frame

LANDING = "landing"
CATALOG = "catalog"
WAREHOUSE = "warehouse"
# Key of the I/O manager: recorded in every run of an instance, so it never changes.
WAREHOUSE_IO = "warehouse_io_manager"


class LandingZone(dg.ConfigurableResource):
    """The folder of daily deliveries (``ECOMMERCE_LANDING_DIR``)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file (``ECOMMERCE_WAREHOUSE``) and how long to wait for its lock.

    One connection per ``connect`` block: DuckDB lets a single process write the file, so a
    connection is held only while a step reads or writes, and a busy lock is waited for
    (``ECOMMERCE_LOCK_TIMEOUT``) instead of failing the run at once.
    """

    database: str
    lock_timeout_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        return cls(database=str(settings.warehouse), lock_timeout_s=settings.lock_timeout_s)

    @property
    def location(self) -> WarehouseLocation:
        """The DuckDB file or lake this resource opens."""
        return WarehouseLocation(self.database)

    @contextmanager
    def connect(
        self, log: Any | None = None, run_id: str | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, waiting with backoff while another process holds the lock (a run,
        ``run_id``, waits once: its later connections share the first wait's deadline)."""
        with connect(self.database, self.lock_timeout_s, log, run_id) as con:
            yield con

    def frame(self, sql: str, log: Any | None = None, run_id: str | None = None) -> pd.DataFrame:
        """The rows of ``sql`` as an Arrow-backed frame, on a connection of their own."""
        with self.connect(log, run_id) as con:
            return fetch_frame(con, sql)


class CatalogApi(dg.ConfigurableResource):
    """Where ``raw_products`` comes from: the landing zone's CSVs (``csv``) or the catalog API
    (``api``, ``docs/catalog-api.md``), with the client's limits (``ECOMMERCE_CATALOG_API_*``)."""

    source: str = "csv"
    url: str = ""
    rps: float = 20.0
    page_size: int = 100
    attempts: int = 6
    timeout_s: float = 10.0
    backoff_s: float = 0.5

    @classmethod
    def from_settings(cls, settings: CatalogSettings) -> CatalogApi:
        return cls(**{name: getattr(settings, name) for name in CATALOG_FIELDS})

    def settings(self) -> CatalogSettings:
        return CatalogSettings(**{name: getattr(self, name) for name in CATALOG_FIELDS})


CATALOG_FIELDS = ("source", "url", "rps", "page_size", "attempts", "timeout_s", "backoff_s")
