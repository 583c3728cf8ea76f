"""Run asset selections over a range of delivery days in one run (what build and tests use)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

# Private (no public streaming form of execute_in_process): see stream_days.
from .dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    InMemoryJob,
    execute_run_iterator,
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
    return _job(defs, selection, checks).execute_in_process(
        run_config=_run_config(log_level),
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags={**range_tags(first, last), **(tags or {})},
        raise_on_error=raise_on_error,
    )


def stream_days(
    defs: dg.Definitions,
    first: date,
    last: date,
    instance: dg.DagsterInstance,
    *,
    checks: bool = True,
    log_level: str | None = None,
    selection: dg.AssetSelection | None = None,
    tags: dict[str, str] | None = None,
) -> dg.DagsterRun:
    """``materialize_days`` for a big range in this process, keeping nothing but the run.

    Why not ``execute_in_process``: it keeps every event of the run in a list and every output
    object (the dimensions' and lifetime aggregates' frames) to the end, for its result; for a
    366-day build that is ~35,000 events and every whole-history frame, memory that grows with
    the range. A launched run's worker keeps neither; this does what it does, in-process.
    """
    job = _job(defs, selection, checks).as_ephemeral_job(resource_defs={}, input_values={})
    run_config = _run_config(log_level) or {}
    run = instance.create_run_for_job(
        job_def=job,
        run_config=run_config,
        tags={**job.run_tags, **(tags or {}), **range_tags(first, last)},
    )
    for _ in execute_run_iterator(InMemoryJob(job), run, instance):
        pass
    finished = instance.get_run_by_id(run.run_id)
    assert finished is not None
    return finished


def _job(
    defs: dg.Definitions, selection: str | Sequence[str] | dg.AssetSelection | None, checks: bool
) -> dg.JobDefinition:
    job = defs.resolve_implicit_global_asset_job_def()
    if selection is None and checks:
        return job
    if selection is None:
        asset_selection = dg.AssetSelection.all()
    elif isinstance(selection, dg.AssetSelection):
        asset_selection = selection
    else:
        parts = [selection] if isinstance(selection, str) else list(selection)
        asset_selection = dg.AssetSelection.from_string(" or ".join(parts))
    graph = defs.resolve_asset_graph()
    assets = asset_selection.resolve(graph)
    # An order and its lines are one step (``fact_orders_and_lines``): selecting either selects
    # both, with the other's checks, as a UI launch of one of them does. A selection of checks
    # alone stays that (no asset is added to it).
    siblings = dg.AssetSelection.assets(*assets).required_multi_asset_neighbors().resolve(graph)
    added = siblings - assets
    asset_checks = asset_selection.resolve_checks(graph) if checks else set()
    if added and checks:
        asset_checks |= dg.AssetSelection.assets(*added).resolve_checks(graph)
    return job.get_subset(asset_selection=siblings, asset_check_selection=asset_checks)


def _run_config(log_level: str | None) -> dict | None:
    if not log_level:
        return None
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}
