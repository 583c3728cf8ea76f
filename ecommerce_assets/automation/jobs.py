"""The deliveries job and the run tags every automation-launched run carries, shared by all."""

from typing import Any

import dagster as dg

DELIVERIES_JOB = "deliveries_job"

# Run tag on every run that writes the warehouse; dagster.yaml limits it to one run at a time
# (DuckDB allows one writer process).
WAREHOUSE_TAG = "ecommerce/warehouse"
WAREHOUSE_TAGS = {WAREHOUSE_TAG: "duckdb"}
TRIGGER_TAG = "ecommerce/trigger"

# What ``dg.define_asset_job`` returns: its class (``UnresolvedAssetJobDefinition``) is not
# exported by ``dagster`` in 1.13, so the annotation stays public and loose.
AssetJob = Any


def build_deliveries_job() -> AssetJob:
    """Every asset and check for a range of delivery days in ONE run.

    Partitioned assets have single-run backfill policies; the unpartitioned dimensions and
    lifetime aggregates are rebuilt once, after staging and before the facts that join them.
    """
    return dg.define_asset_job(
        DELIVERIES_JOB,
        selection=dg.AssetSelection.all(),
        tags=WAREHOUSE_TAGS,
        description="Process delivery days end to end in one run (pick a partition range). "
        "Launched by the landing-zone sensor and the daily schedule.",
    )
