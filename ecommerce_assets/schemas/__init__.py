"""Pandera models: the typed contract of every table the platform writes, one module per layer.

``raw``, ``staging``, ``dimensions``, ``facts`` and ``aggregates`` match the asset modules (the
quality report sits with ``aggregates``, its asset's group); ``common`` holds the Arrow column
types and the helpers that turn a model into a Dagster type, a column schema or a conformed frame.
Every name is re-exported here, so ``from ecommerce_assets.schemas import StgOrders`` works.
"""

from .aggregates import (
    AggConversionFunnel,
    AggCustomerLifetime,
    AggDailySales,
    AggProductPerformance,
    DataQualityReport,
)
from .common import (
    StrictModel,
    arrow_type,
    conform,
    dagster_type,
    field,
    model_columns,
    sql_type,
    table_schema,
)
from .dimensions import DimDate, DimPaymentMethod, DimProducts, DimUsers
from .facts import FactEvents, FactOrderItems, FactOrders, FactReviews
from .raw import RAW_MODELS, RawLineage
from .staging import (
    STAGED_MODELS,
    StagedLineage,
    StgEvents,
    StgLoadAudit,
    StgOrderItems,
    StgOrders,
    StgProducts,
    StgQuarantine,
    StgReviews,
    StgUsers,
)

__all__ = [
    "RAW_MODELS",
    "STAGED_MODELS",
    "AggConversionFunnel",
    "AggCustomerLifetime",
    "AggDailySales",
    "AggProductPerformance",
    "DataQualityReport",
    "DimDate",
    "DimPaymentMethod",
    "DimProducts",
    "DimUsers",
    "FactEvents",
    "FactOrderItems",
    "FactOrders",
    "FactReviews",
    "RawLineage",
    "StagedLineage",
    "StgEvents",
    "StgLoadAudit",
    "StgOrderItems",
    "StgOrders",
    "StgProducts",
    "StgQuarantine",
    "StgReviews",
    "StgUsers",
    "StrictModel",
    "arrow_type",
    "conform",
    "dagster_type",
    "field",
    "model_columns",
    "sql_type",
    "table_schema",
]
