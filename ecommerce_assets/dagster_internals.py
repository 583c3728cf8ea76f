"""Where the project reaches into Dagster's private structures, and why (one place to check on
upgrades). Each use falls back to the public API if the structure is not there.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

# The status of an asset check's latest execution on a partition (``blocking.py`` reads it from
# ``get_asset_check_partition_info``): no public export; the enum's values are stable strings.
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus as AssetCheckExecutionRecordStatus,
)


def add_partition_metadata(
    step: Any, asset_key: dg.AssetKey, by_partition: dict[str, dict[str, Any]]
) -> None:
    """``step.add_asset_metadata(metadata, asset_key, partition_key)`` for many partitions at once
    (the keys are the output's own partition keys, so the public call's check is not repeated).

    Why not the public call per day: each call rebuilds and re-validates the step's whole
    metadata record (Dagster's ``OutputMetadataAccumulator``), so a 366-day range of a
    multi-asset costs quadratic time (6 s of the scale-1 build, profiled). This merges all days
    into the record once. If Dagster's internals change, it falls back to the public call.
    """
    try:
        from dagster._core.execution.context.metadata_logging import (  # private, see above
            AssetMetadataHandle,
            OutputMetadataAccumulator,
        )

        accumulator = step._metadata_accumulator
        merged = dict(accumulator.per_output_metadata)
    except (ImportError, AttributeError):
        for key, metadata in by_partition.items():
            step.add_asset_metadata(metadata, asset_key=asset_key, partition_key=key)
        return
    for key, metadata in by_partition.items():
        handle = AssetMetadataHandle(asset_key=asset_key, partition_key=key)
        merged[handle] = {**merged.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=merged)


def keys_in_job(step: Any) -> tuple[set[dg.AssetKey], set[dg.AssetCheckKey]]:
    """The assets and asset checks the running step's job executes (a subset job: only those).

    Why: neither the run's selection nor the job's ``asset_selection`` says it for a run
    executed in process (both empty or None for a subset); the job's asset layer holds exactly
    the (subsetted) definitions it executes (``AssetLayer.data``: public fields of a class
    Dagster does not export).
    """
    assets: set[dg.AssetKey] = set()
    checks: set[dg.AssetCheckKey] = set()
    for data in step.job_def.asset_layer.data:
        assets |= set(data.assets_def.keys)
        checks |= set(data.assets_def.check_keys)
    return assets, checks
