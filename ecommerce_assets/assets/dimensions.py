"""Dimensions (schema ``marts``): calendar, payment methods, SCD2 users and products.

Unpartitioned: each SCD2 dimension reads every staged delivery (the default all-partitions
mapping), versions ordered by ``updated_at`` whatever day delivered them, and its surrogate keys
are deterministic, so a rebuild never moves the key of an unchanged version
(``transforms/dimensions.py``). After its first build a dimension is updated: only the keys of the
days staged since its last build are recomputed and replaced (``dimension_updates.py`` says when
it rebuilds instead), so a day's cost does not grow with history. A version that arrives late
re-splits history; the loaded fact days whose links that changes are named in the
materialization's ``relink_days`` (``transforms/relink.py``), and the relink sensor and the build
re-run their facts.
"""

from collections.abc import Callable
from datetime import date

import dagster as dg
import pandas as pd

from ..dimension_updates import LOGIC_VERSION, STAGED_THROUGH, plan_update
from ..partitions import today_utc
from ..resources import Warehouse
from ..schemas.dimensions import DimDate, DimPaymentMethod, DimProducts, DimUsers
from ..slices import KeyedFrame, WarehouseSlice, sql_inputs
from ..table_schema import table_columns
from ..transforms.dimensions import (
    SCD2_VERSION,
    build_dim_date,
    build_dim_payment_method,
    build_dim_products,
    build_dim_users,
    staged_keys,
)
from ..transforms.relink import DIMENSIONS, relink_days
from .common import columns_in, table_asset_kwargs

GROUP = "dimensions"


def calendar_years(
    audit: WarehouseSlice | pd.DataFrame, today: date | None = None
) -> tuple[date, date]:
    """Whole calendar years around the delivered days, including the day before the first
    delivery (its late events); the current year (UTC) when nothing is delivered yet.

    Read from the staged load audit (one row per table and delivered day) when the asset runs,
    not from the partitions: they are open-ended and would make the calendar grow every year.
    """
    with sql_inputs({"audit": audit}) as con:
        first, last = con.execute(
            "SELECT min(CAST(delivery_date AS DATE)), max(CAST(delivery_date AS DATE)) FROM audit"
        ).fetchone()
    if first is None:
        year = (today or today_utc()).year
        return date(year, 1, 1), date(year, 12, 31)
    start = date.fromordinal(first.toordinal() - 1)
    return date(start.year, 1, 1), date(last.year, 12, 31)


def update_dimension(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    table: str,
    staged: WarehouseSlice,
    build: Callable[..., pd.DataFrame],
) -> pd.DataFrame | KeyedFrame:
    """Rebuild ``table`` from all staged history, or update the keys of the days staged since
    its last build (``dimension_updates``); name the fact days to re-link; say which it did."""
    dim = DIMENSIONS[table]
    with warehouse.connect(context.log, context.run_id) as con:
        exists = bool(table_columns(con, "marts", table))
    plan = plan_update(context.instance, table, staged.table, exists, SCD2_VERSION)
    if plan.days is None:
        versions = build(staged)
        out: pd.DataFrame | KeyedFrame = versions
    else:
        keys = staged_keys(staged, dim.key, plan.days) if plan.days else _no_keys()
        versions = build(staged, keys)
        out = KeyedFrame(versions, dim.key, keys["key"].tolist())
    with warehouse.connect(context.log, context.run_id) as con:
        days = relink_days(con, dim, versions, some=plan.days is not None)
    if days:
        context.log.info(f"{table}: {len(days)} loaded fact day(s) to re-link: {days}")
    context.log.info(f"{table}: {plan.reason}")
    context.add_output_metadata(
        {
            "relink_days": dg.MetadataValue.json([d.isoformat() for d in days]),
            "relink_day_count": len(days),
            "update": plan.reason,
            "updated_keys": len(out.keys) if isinstance(out, KeyedFrame) else -1,
            STAGED_THROUGH: plan.staged_through,
            LOGIC_VERSION: SCD2_VERSION,
        }
    )
    return out


def _no_keys() -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series([], dtype="int64")})


def build_dimension_assets() -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="dim_date",
        ins={"stg_load_audit": columns_in("delivery_date")},
        **table_asset_kwargs(
            DimDate,
            group=GROUP,
            description="One row per calendar day (whole years covering every delivered day and "
            "the day before the first). Key date_key = YYYYMMDD.",
        ),
    )
    def dim_date(stg_load_audit: WarehouseSlice) -> pd.DataFrame:
        first, last = calendar_years(stg_load_audit)
        return build_dim_date(first, last)

    @dg.asset(
        name="dim_payment_method",
        **table_asset_kwargs(
            DimPaymentMethod,
            group=GROUP,
            description="One row per payment method of the contract plus 'unknown' (key 0), "
            "with its type: card, wallet, bank or gift card.",
        ),
    )
    def dim_payment_method() -> pd.DataFrame:
        return build_dim_payment_method()

    @dg.asset(
        name="dim_users",
        ins={"stg_users": dg.AssetIn()},
        code_version=SCD2_VERSION,
        **table_asset_kwargs(
            DimUsers,
            group=GROUP,
            description="One row per user version (SCD type 2) plus the unknown member "
            "(user_sk 0). A new version when name, email, country or city changes; "
            "user_sk is a stable hash of (user_id, valid_from).",
        ),
    )
    def dim_users(
        context: dg.AssetExecutionContext, stg_users: WarehouseSlice, warehouse: Warehouse
    ) -> pd.DataFrame | KeyedFrame:
        return update_dimension(context, warehouse, "dim_users", stg_users, build_dim_users)

    @dg.asset(
        name="dim_products",
        ins={"stg_products": dg.AssetIn()},
        code_version=SCD2_VERSION,
        **table_asset_kwargs(
            DimProducts,
            group=GROUP,
            description="One row per product version (SCD type 2) plus the unknown member "
            "(product_sk 0). A new version when name, category, subcategory, price, cost or "
            "supplier changes; product_sk is a stable hash of (product_id, valid_from).",
        ),
    )
    def dim_products(
        context: dg.AssetExecutionContext, stg_products: WarehouseSlice, warehouse: Warehouse
    ) -> pd.DataFrame | KeyedFrame:
        return update_dimension(
            context, warehouse, "dim_products", stg_products, build_dim_products
        )

    return [dim_date, dim_payment_method, dim_users, dim_products]
