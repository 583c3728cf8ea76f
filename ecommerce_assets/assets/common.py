"""What every layer's asset outputs share: warehouse schema, Pandera type, column schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from ..io_manager import SCHEMA_ON_EVERY_DAY
from ..schemas.common import dagster_type, table_schema
from ..slices import DailyFrames, WarehouseSlice

WAREHOUSE_IO = "warehouse_io_manager"


def table_out(
    model: type[pa.DataFrameModel],
    *,
    schema: str,
    group: str,
    description: str,
    partition_expr: str | None = None,
    schema_on_every_day: bool = False,
    **kwargs: Any,
) -> dg.AssetOut:
    """An ``AssetOut`` typed by ``model`` and stored as ``<schema>.<asset name>``."""
    metadata: dict[str, Any] = {"schema": schema, "dagster/column_schema": table_schema(model)}
    if partition_expr:
        metadata["partition_expr"] = partition_expr
    if schema_on_every_day:
        metadata[SCHEMA_ON_EVERY_DAY] = True
    return dg.AssetOut(
        dagster_type=dagster_type(model),
        metadata=metadata,
        group_name=group,
        description=description,
        io_manager_key=WAREHOUSE_IO,
        **kwargs,
    )


def in_chunks(driver: WarehouseSlice, build: Callable[[list[date]], pd.DataFrame]) -> DailyFrames:
    """A partitioned output built chunk by chunk over the days of ``driver`` (sized by its rows)."""
    return DailyFrames((days, build(days)) for days in driver.chunks())
