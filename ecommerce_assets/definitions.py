"""The one ``Definitions`` of the project: every layer, check, resource and automation wired."""

from __future__ import annotations

import dagster as dg

from .assets.common import WAREHOUSE_IO
from .assets.raw import build_raw_assets
from .assets.staging import build_staging_assets
from .io_manager import DuckDBWarehouseIOManager
from .partitions import delivery_partitions
from .resources import LandingZone
from .settings import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything, for one landing zone and warehouse (tests pass temporary ones)."""
    partitions = delivery_partitions(settings.landing_dir)
    assets = [build_raw_assets(partitions), build_staging_assets(partitions)]
    return dg.Definitions(
        assets=assets,
        resources={
            "landing": LandingZone(path=str(settings.landing_dir)),
            WAREHOUSE_IO: DuckDBWarehouseIOManager(
                database=str(settings.warehouse), lock_timeout_s=settings.lock_timeout_s
            ),
        },
        # One process per run: DuckDB allows a single writer process, and in-process steps avoid
        # paying Dagster's process start-up per step.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded lazily by Dagster tools, so the environment is read at load time, not import."""
    return build_definitions(load_settings())
