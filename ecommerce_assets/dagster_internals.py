"""Where the project reaches into Dagster's private structures, and why (one place to check on
upgrades). Each use falls back to the public API if the structure is not there.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


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
