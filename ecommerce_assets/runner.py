"""Run asset selections over a range of delivery days in one run (what build and tests use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


def range_tags(first: date, last: date) -> dict[str, str]:
    """Run tags that make one run cover partitions ``first``..``last`` (inclusive)."""
    return {
        ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
    }


def materialize_days(
    defs: dg.Definitions,
    first: date,
    last: date,
    *,
    instance: dg.DagsterInstance | None = None,
    selection: str | Sequence[str] | dg.AssetSelection | None = None,
    raise_on_error: bool = True,
    tags: dict[str, str] | None = None,
    checks: bool = True,
    log_level: str | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize ``selection`` (default: every asset and check) for ``first``..``last`` at once.

    ``selection`` uses Dagster's selection syntax (``"group:raw"``, ``"key:stg_orders+"``); a list
    of such strings is their union.

    Partitioned assets use their single-run backfill policy: each step reads the whole range once.
    """
    job = defs.resolve_implicit_global_asset_job_def()
    run_tags = {**range_tags(first, last), **(tags or {})}
    if selection is not None or not checks:
        if selection is None:
            asset_selection = dg.AssetSelection.all()
        elif isinstance(selection, dg.AssetSelection):
            asset_selection = selection
        else:
            parts = [selection] if isinstance(selection, str) else list(selection)
            asset_selection = dg.AssetSelection.from_string(" or ".join(parts))
        graph = defs.resolve_asset_graph()
        job = job.get_subset(
            asset_selection=asset_selection.resolve(graph),
            asset_check_selection=asset_selection.resolve_checks(graph) if checks else set(),
        )
    run_config = (
        {"loggers": {"console": {"config": {"log_level": log_level}}}} if log_level else None
    )
    return job.execute_in_process(
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags=run_tags,
        raise_on_error=raise_on_error,
    )


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
