"""Aggregates (schema ``marts``): daily sales and funnel per business date, product and
customer summaries recomputed from the facts.

Late events: ``agg_conversion_funnel`` for day D reads fact_events of deliveries D and D+1
(``TimeWindowPartitionMapping(0, 1)``), so when D+1's delivery lands, funnel partition D is
stale and re-running it (not a full rebuild) includes D's late events.
"""

import dagster as dg
import pandas as pd

from ..partitions import window_days
from ..schemas.aggregates import (
    AggConversionFunnel,
    AggCustomerLifetime,
    AggDailySales,
    AggProductPerformance,
)
from ..slices import DailyFrames, WarehouseSlice
from ..transforms.aggregates import (
    build_agg_conversion_funnel,
    build_agg_customer_lifetime,
    build_agg_daily_sales,
    build_agg_product_performance,
)
from .common import columns_in, table_asset_kwargs

GROUP = "aggregates"


def late_events_mapping() -> dg.TimeWindowPartitionMapping:
    """Day D reads deliveries D and D+1; D+1 may not exist yet (the newest day).

    Built inside ``build_definitions``, whose filter silences the ``BetaWarning`` Dagster raises
    for ``allow_nonexistent_upstream_partitions`` (at import it printed on every code load).
    """
    return dg.TimeWindowPartitionMapping(
        start_offset=0, end_offset=1, allow_nonexistent_upstream_partitions=True
    )


def build_aggregate_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    daily = {"partitions_def": partitions_def, "backfill_policy": dg.BackfillPolicy.single_run()}

    @dg.asset(
        name="agg_daily_sales",
        ins={"fact_orders": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
        **daily,
        **table_asset_kwargs(
            AggDailySales,
            group=GROUP,
            partition_expr="business_date",
            description="One row per business date (order day): orders, cancellations, returns, "
            "units, gross, discounts, shipping and net revenue of non-cancelled orders, average "
            "order value, unique / new / returning customers, cancellation and return rates. "
            "Reads all of fact_orders: 'new customer' needs each customer's first order.",
        ),
    )
    def agg_daily_sales(
        context: dg.AssetExecutionContext, fact_orders: WarehouseSlice
    ) -> DailyFrames:
        days = window_days(context)
        return DailyFrames.single(days, build_agg_daily_sales(fact_orders, days))

    @dg.asset(
        name="agg_conversion_funnel",
        ins={"fact_events": dg.AssetIn(partition_mapping=late_events_mapping())},
        **daily,
        **table_asset_kwargs(
            AggConversionFunnel,
            group=GROUP,
            partition_expr="business_date",
            description="One row per business date (event day): sessions, sessions reaching "
            "product_view, add_to_cart, checkout and purchase, step and overall conversion rates. "
            "Includes the day's late events delivered the next day.",
        ),
    )
    def agg_conversion_funnel(
        context: dg.AssetExecutionContext, fact_events: WarehouseSlice
    ) -> DailyFrames:
        days = window_days(context)
        return DailyFrames.single(days, build_agg_conversion_funnel(fact_events, days))

    @dg.asset(
        name="agg_product_performance",
        ins={
            "fact_order_items": dg.AssetIn(),
            "fact_reviews": dg.AssetIn(),
            "dim_products": columns_in(
                "product_sk", "product_id", "product_name", "category", "is_current"
            ),
        },
        **table_asset_kwargs(
            AggProductPerformance,
            group=GROUP,
            description="One row per product (current version): units, revenue, margin, orders, "
            "average rating, review count, return rate and revenue rank within its category.",
        ),
    )
    def agg_product_performance(
        fact_order_items: WarehouseSlice,
        fact_reviews: WarehouseSlice,
        dim_products: WarehouseSlice,
    ) -> pd.DataFrame:
        return build_agg_product_performance(fact_order_items, fact_reviews, dim_products)

    @dg.asset(
        name="agg_customer_lifetime",
        ins={
            "fact_orders": dg.AssetIn(),
            "dim_users": columns_in("user_sk", "user_id", "is_current"),
        },
        **table_asset_kwargs(
            AggCustomerLifetime,
            group=GROUP,
            description="One row per customer with a non-cancelled order: first and last order, "
            "orders, revenue, average order value, days since last order, is_active, "
            "ltv_estimate and RFM segment, as of the last delivery day.",
        ),
    )
    def agg_customer_lifetime(
        fact_orders: WarehouseSlice, dim_users: WarehouseSlice
    ) -> pd.DataFrame:
        return build_agg_customer_lifetime(fact_orders, dim_users)

    return [agg_daily_sales, agg_conversion_funnel, agg_product_performance, agg_customer_lifetime]
