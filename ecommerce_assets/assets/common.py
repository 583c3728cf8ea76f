"""What every layer's assets share: how a table asset is declared (warehouse schema, Pandera
type, column schema, I/O manager), inputs narrowed to some columns, and chunked outputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from ..io_manager import COLUMN_SCHEMA_KEY, PARTITION_EXPR, SCHEMA_KEY, SCHEMA_ON_EVERY_DAY
from ..resources import WAREHOUSE_IO
from ..schemas.common import dagster_type, table_schema
from ..slices import DailyFrames, WarehouseSlice

MARTS_SCHEMA = "marts"


def table_asset_kwargs(
    model: type[pa.DataFrameModel],
    *,
    group: str,
    description: str,
    schema: str = MARTS_SCHEMA,
    partition_expr: str | None = None,
    schema_on_every_day: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of ``dg.asset`` (or ``dg.AssetOut``) for a table typed by ``model``,
    stored by the I/O manager as ``<schema>.<asset name>``."""
    metadata: dict[str, Any] = {SCHEMA_KEY: schema, COLUMN_SCHEMA_KEY: table_schema(model)}
    if partition_expr:
        metadata[PARTITION_EXPR] = partition_expr
    if schema_on_every_day:
        metadata[SCHEMA_ON_EVERY_DAY] = True
    return {
        "dagster_type": dagster_type(model),
        "metadata": metadata,
        "group_name": group,
        "description": description,
        "io_manager_key": WAREHOUSE_IO,
    }


def table_out(
    model: type[pa.DataFrameModel],
    *,
    group: str,
    description: str,
    schema: str,
    partition_expr: str | None = None,
    schema_on_every_day: bool = False,
    is_required: bool = True,
) -> dg.AssetOut:
    """One output of a multi-asset, declared like a single table asset."""
    return dg.AssetOut(
        **table_asset_kwargs(
            model,
            group=group,
            description=description,
            schema=schema,
            partition_expr=partition_expr,
            schema_on_every_day=schema_on_every_day,
        ),
        is_required=is_required,
    )


def columns_in(*columns: str) -> dg.AssetIn:
    """An input that loads only ``columns`` (the I/O manager honours ``columns`` metadata)."""
    return dg.AssetIn(metadata={"columns": list(columns)})


def in_chunks(driver: WarehouseSlice, build: Callable[[list[date]], pd.DataFrame]) -> DailyFrames:
    """A partitioned output built chunk by chunk over the days of ``driver`` (sized by its rows)."""
    return DailyFrames((days, build(days)) for days in driver.chunks())
