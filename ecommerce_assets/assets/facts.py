"""Facts (schema ``marts``), partitioned by delivery day with single-run backfills.

Each step reads the same delivery days of its staged inputs, a chunk of days at a time, joins the
whole dimensions (only the columns an as-of join needs) inside DuckDB, and replaces its days in the
warehouse (``delivery_date``).
"""

import dagster as dg

from ..schemas.facts import FactEvents, FactOrderItems, FactOrders, FactReviews
from ..slices import DailyFrames, WarehouseSlice
from ..transforms.facts import (
    build_fact_events,
    build_fact_order_items,
    build_fact_orders,
    build_fact_reviews,
)
from .common import MARTS_SCHEMA, columns_in, in_chunks, table_asset_kwargs, table_out

GROUP = "facts"
_USERS = ("user_sk", "user_id", "valid_from")
_PRODUCTS = ("product_sk", "product_id", "valid_from", "cost")
# Every fact's ``date_key`` references the calendar, and its ``foreign_keys_resolve`` check reads
# it, though no fact step loads it (the key is the date's yyyymmdd). Declared so that no fact is
# built and checked before the calendar: a backfill launches a fact's runs as soon as its parents
# are materialized: the lake profile's split backfill once failed four days' foreign-key checks
# on right rows, most likely checked before the run that wrote ``dim_date`` (docs/scaling.md).
_CALENDAR = dg.AssetKey("dim_date")


def _keys(*names: str) -> set[dg.AssetKey]:
    return {dg.AssetKey(name) for name in names}


def build_fact_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    common = {
        "partitions_def": partitions_def,
        "backfill_policy": dg.BackfillPolicy.single_run(),
    }

    def kwargs(model: type, description: str) -> dict:
        return {
            **common,
            **table_asset_kwargs(
                model, group=GROUP, description=description, partition_expr="delivery_date"
            ),
        }

    # An order and its lines are one unit: one step writes both, so that no run ever holds one
    # without the other. Their checks read both (net = Σ line net + shipping; every line has its
    # order): with two assets, a backfill split into runs built the orders of some days in a run
    # whose lines came later (they also wait for dim_products), and those checks failed on days
    # that were right.
    @dg.multi_asset(
        name="fact_orders_and_lines",
        outs={
            "fact_orders": table_out(
                FactOrders,
                group=GROUP,
                schema=MARTS_SCHEMA,
                partition_expr="delivery_date",
                description="One row per order: user version at order time, payment method, "
                "item count, units, gross, discount, shipping, net = Σ line net + shipping, the "
                "source's order_amount and an amount-mismatch flag (|order_amount − net| > 0.01).",
            ),
            "fact_order_items": table_out(
                FactOrderItems,
                group=GROUP,
                schema=MARTS_SCHEMA,
                partition_expr="delivery_date",
                description="One row per order line (the sales fact): product and user versions "
                "at order time, exact line gross / discount / net, unit cost and margin of the "
                "product version then valid, order status.",
            ),
        },
        ins={
            "stg_orders": dg.AssetIn(),
            "stg_order_items": dg.AssetIn(),
            "dim_users": columns_in(*_USERS),
            "dim_products": columns_in(*_PRODUCTS),
            "dim_payment_method": dg.AssetIn(),
        },
        deps=[_CALENDAR],
        internal_asset_deps={
            "fact_orders": _keys(
                "stg_orders", "stg_order_items", "dim_users", "dim_payment_method", "dim_date"
            ),
            "fact_order_items": _keys(
                "stg_orders",
                "stg_order_items",
                "dim_users",
                "dim_products",
                "dim_payment_method",
                "dim_date",
            ),
        },
        **common,
    )
    def fact_orders_and_lines(
        stg_orders: WarehouseSlice,
        stg_order_items: WarehouseSlice,
        dim_users: WarehouseSlice,
        dim_products: WarehouseSlice,
        dim_payment_method: WarehouseSlice,
    ) -> tuple[DailyFrames, DailyFrames]:
        orders = in_chunks(
            stg_order_items,
            lambda days: build_fact_orders(
                stg_orders.narrow(days), stg_order_items.narrow(days), dim_users, dim_payment_method
            ),
        )
        lines = in_chunks(
            stg_order_items,
            lambda days: build_fact_order_items(
                stg_orders.narrow(days),
                stg_order_items.narrow(days),
                dim_users,
                dim_products,
                dim_payment_method,
            ),
        )
        return orders, lines

    @dg.asset(
        name="fact_events",
        deps=[_CALENDAR],
        ins={
            "stg_events": dg.AssetIn(),
            "dim_users": columns_in(*_USERS),
            "dim_products": columns_in(*_PRODUCTS),
        },
        **kwargs(
            FactEvents,
            "One row per click-stream event, in the delivery it arrived in (late arrivals keep "
            "their event_date): session, user and product versions at event time, event type, "
            "time, value.",
        ),
    )
    def fact_events(
        stg_events: WarehouseSlice,
        dim_users: WarehouseSlice,
        dim_products: WarehouseSlice,
    ) -> DailyFrames:
        return in_chunks(
            stg_events,
            lambda days: build_fact_events(stg_events.narrow(days), dim_users, dim_products),
        )

    @dg.asset(
        name="fact_reviews",
        deps=[_CALENDAR],
        ins={
            "stg_reviews": dg.AssetIn(),
            "dim_users": columns_in(*_USERS),
            "dim_products": columns_in(*_PRODUCTS),
        },
        **kwargs(
            FactReviews,
            "One row per review: product and user versions valid at the end of the review day, "
            "rating, text and its length, helpful votes.",
        ),
    )
    def fact_reviews(
        stg_reviews: WarehouseSlice,
        dim_users: WarehouseSlice,
        dim_products: WarehouseSlice,
    ) -> DailyFrames:
        return in_chunks(
            stg_reviews,
            lambda days: build_fact_reviews(stg_reviews.narrow(days), dim_users, dim_products),
        )

    return [fact_orders_and_lines, fact_events, fact_reviews]
