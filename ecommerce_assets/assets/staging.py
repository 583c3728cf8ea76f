"""Staged layer: typed and cleaned tables, the quarantine and the per-day load audit.

One multi-asset stages the six tables, table by table and chunk by chunk, because every table feeds
``stg_quarantine`` and ``stg_load_audit``. It can be subset: materializing ``stg_orders`` alone
stages orders only; order lines are checked against the staged orders of their delivery.
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import dagster as dg
import pandas as pd

from ..contract import TABLES
from ..partitions import window_days
from ..schemas.staging import STAGED_MODELS, StgLoadAudit, StgQuarantine
from ..slices import DailyFrames, WarehouseSlice
from ..transforms.staging import complete_audit, stage_table
from .common import table_out
from .raw import raw_asset_name

STAGING_SCHEMA = "staging"
_EPOCH = date(1970, 1, 1)
GROUP = "staging"

_GRAIN = {
    "users": "One row per user version (user_id, updated_at) delivered.",
    "products": "One row per product version (product_id, updated_at) delivered.",
    "orders": "One row per order.",
    "order_items": "One row per order line.",
    "events": "One row per click-stream event, keyed by the delivery it arrived in.",
    "reviews": "One row per review.",
}


def stg_asset_name(table: str) -> str:
    return f"stg_{table}"


def build_staging_assets(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    outs = {
        stg_asset_name(name): table_out(
            STAGED_MODELS[name],
            schema=STAGING_SCHEMA,
            group=GROUP,
            partition_expr="delivery_date",
            is_required=False,
            description=f"{_GRAIN[name]} Typed, trimmed, canonical enumerations; bad rows are in "
            "stg_quarantine.",
        )
        for name in TABLES
    }
    outs["stg_quarantine"] = table_out(
        StgQuarantine,
        schema=STAGING_SCHEMA,
        group=GROUP,
        partition_expr="delivery_date",
        is_required=False,
        description="One row per quarantined raw row: table, delivery day, file, line, reason and "
        "the raw values as JSON.",
    )
    outs["stg_load_audit"] = table_out(
        StgLoadAudit,
        schema=STAGING_SCHEMA,
        group=GROUP,
        partition_expr="delivery_date",
        is_required=False,
        description="One row per landing table and delivery day: raw, staged, quarantined and "
        "exact-duplicate row counts (raw = staged + quarantined + duplicates), repairs.",
    )
    ins = {raw_asset_name(name): dg.AssetIn() for name in TABLES}
    deps = {stg_asset_name(n): {dg.AssetKey(raw_asset_name(n))} for n in TABLES}
    deps[stg_asset_name("order_items")].add(dg.AssetKey(raw_asset_name("orders")))
    all_raw = {dg.AssetKey(raw_asset_name(n)) for n in TABLES}
    deps["stg_quarantine"] = all_raw
    deps["stg_load_audit"] = all_raw

    @dg.multi_asset(
        name="staging_tables",
        outs=outs,
        ins=ins,
        internal_asset_deps=deps,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def staging_tables(
        context: dg.AssetExecutionContext,
        raw_users: WarehouseSlice,
        raw_products: WarehouseSlice,
        raw_orders: WarehouseSlice,
        raw_order_items: WarehouseSlice,
        raw_events: WarehouseSlice,
        raw_reviews: WarehouseSlice,
    ) -> Iterator[dg.Output]:
        raw = {
            "users": raw_users,
            "products": raw_products,
            "orders": raw_orders,
            "order_items": raw_order_items,
            "events": raw_events,
            "reviews": raw_reviews,
        }
        selected = set(context.selected_output_names)
        every_table = bool({"stg_quarantine", "stg_load_audit"} & selected)
        quarantines: list[pd.DataFrame] = []
        audits: list[pd.DataFrame] = []
        for name in TABLES:
            output = stg_asset_name(name)
            if output not in selected and not every_table:
                continue
            notes: dict[date, dict] = {}
            staged = _stage_in_chunks(name, raw[name], quarantines, audits, notes)
            if output in selected:
                yield dg.Output(DailyFrames(staged, day_metadata=notes), output_name=output)
            else:
                for _ in staged:  # classified for the quarantine and the audit only
                    pass
        days = window_days(context)
        if "stg_quarantine" in selected:
            quarantine = pd.concat(quarantines, ignore_index=True)
            by_day = quarantine.groupby(["delivery_date", "table_name"]).size()
            notes = {
                day: {
                    "rows_by_table": dg.MetadataValue.json(
                        _counts(by_day.get(day, pd.Series(dtype="int64")))
                    )
                }
                for day in days
            }
            yield dg.Output(
                DailyFrames.single(days, quarantine, notes), output_name="stg_quarantine"
            )
        if "stg_load_audit" in selected:
            audit = complete_audit(pd.concat(audits, ignore_index=True), list(TABLES), days)
            yield dg.Output(DailyFrames.single(days, audit), output_name="stg_load_audit")

    return staging_tables


def _stage_in_chunks(
    name: str,
    raw: WarehouseSlice,
    quarantines: list[pd.DataFrame],
    audits: list[pd.DataFrame],
    notes: dict[date, dict],
) -> Iterator[tuple[list[date], pd.DataFrame]]:
    """Stage one table chunk by chunk (days sized by raw rows), keeping its quarantine and audit
    and noting each day's figures.

    Order lines are checked against the staged orders of their delivery in the warehouse, which
    this step wrote just before (or an earlier run did, when only order lines are materialized).
    """
    spec = TABLES[name]
    orders = None
    if name == "order_items":
        orders = replace(
            raw, schema=STAGING_SCHEMA, table="stg_orders", columns=("delivery_date", "order_id")
        )
    for days in raw.chunks():
        # Every earlier delivery in the warehouse's raw table (committed before this step):
        # a row re-sent today is recognised whichever day first delivered it.
        history = replace(raw, start=_EPOCH, end=min(days))
        result = stage_table(
            spec,
            raw.narrow(days),
            orders.narrow(days) if orders else None,
            history,
            replace(orders, start=_EPOCH, end=min(days)) if orders else None,
        )
        quarantines.append(result.quarantine)
        audits.append(result.audit)
        reasons = result.quarantine.groupby(["delivery_date", "reason"]).size()
        audit = result.audit.set_index("delivery_date")
        for day in days:
            figures = audit.loc[day] if day in audit.index else None
            notes[day] = {
                **{
                    column: int(figures[column]) if figures is not None else 0
                    for column in _AUDIT_FIGURES
                },
                "quarantine_reasons": dg.MetadataValue.json(
                    _counts(reasons.get(day, pd.Series(dtype="int64")))
                ),
            }
        yield days, result.staged
        del result  # before the next chunk is staged (see DailyFrames.__iter__)


_AUDIT_FIGURES = (
    "raw_rows",
    "quarantined_rows",
    "exact_duplicates",
    "repaired_rows",
    "unknown_values",
    "invalid_emails",
)


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(series.items())}
