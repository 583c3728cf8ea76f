"""Staged layer: typed and cleaned tables, the quarantine and the per-day load audit.

One multi-asset stages all six tables in one step, because order lines need the staged orders of
the same delivery (``orphan_line``) and every table feeds ``stg_quarantine``.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..contract import TABLES
from ..partitions import window_days
from ..schemas import STAGED_MODELS, StgLoadAudit, StgQuarantine
from ..transforms.staging import complete_audit, stage_table
from .common import table_out
from .raw import raw_asset_name

STAGING_SCHEMA = "staging"
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
        description="One row per quarantined raw row: table, delivery day, file, line, reason and "
        "the raw values as JSON.",
    )
    outs["stg_load_audit"] = table_out(
        StgLoadAudit,
        schema=STAGING_SCHEMA,
        group=GROUP,
        partition_expr="delivery_date",
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
    )
    def staging_tables(
        context: dg.AssetExecutionContext, **raw: pd.DataFrame
    ) -> Iterator[dg.Output]:
        quarantines, audits = [], []
        staged_orders = None
        for name in TABLES:
            spec = TABLES[name]
            result = stage_table(spec, raw[raw_asset_name(name)], staged_orders)
            if name == "orders":
                staged_orders = result.staged
            quarantines.append(result.quarantine)
            audits.append(result.audit)
            by_reason = result.quarantine["reason"].value_counts().to_dict()
            yield dg.Output(
                result.staged,
                output_name=stg_asset_name(name),
                metadata={
                    "quarantined_rows": len(result.quarantine),
                    "exact_duplicates": int(result.audit["exact_duplicates"].sum()),
                    "quarantine_reasons": dg.MetadataValue.json(
                        {k: int(v) for k, v in sorted(by_reason.items())}
                    ),
                },
            )
        quarantine = pd.concat(quarantines, ignore_index=True)
        yield dg.Output(
            quarantine,
            output_name="stg_quarantine",
            metadata={
                "rows_by_table": dg.MetadataValue.json(
                    {
                        k: int(v)
                        for k, v in quarantine["table_name"].value_counts().sort_index().items()
                    }
                )
            },
        )
        audit = complete_audit(
            pd.concat(audits, ignore_index=True), list(TABLES), window_days(context)
        )
        yield dg.Output(audit, output_name="stg_load_audit")

    return staging_tables
