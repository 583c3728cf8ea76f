"""A failed blocking check holds back its asset's readers in later runs too, not only in its own.

Dagster enforces a blocking check inside the run that evaluated it: the steps downstream of a
failed one are skipped. Across runs nothing stops them: a UI backfill of every layer over a range
becomes several runs (raw and staging, then the dimensions, the facts, the aggregates), and the
backfill moves on from run to run on materializations alone, so the dimensions and facts of a day
whose staged table failed a blocking check were built from it (found by
``test_browser_backfill.py``). So when a step loads a day of an asset whose blocking checks did
not run in the same run, the I/O manager asks the instance for those checks' latest result on the
days it loads, and refuses (the step fails, naming the asset, the check and the days) when one
failed against the asset's current materialization. In a run that evaluates the checks itself (a
build, a sensor's run, a whole-graph backfill run) nothing is queried: Dagster does it.
"""

from collections.abc import Mapping, Sequence

import dagster as dg

from .dagster_internals import AssetCheckExecutionRecordStatus, keys_in_job

_SHOWN = 10


def failed_blocking_checks(
    instance: dg.DagsterInstance,
    checks: Sequence[dg.AssetCheckKey],
    partition_keys: Sequence[str] | None,
) -> dict[str, list[str]]:
    """{check name: partitions} where the check's latest result, against the asset's current
    materialization, failed (``partition_keys`` ``None``: an unpartitioned check)."""
    if not checks:
        return {}
    infos = instance.event_log_storage.get_asset_check_partition_info(
        list(checks), partition_keys=list(partition_keys) if partition_keys else None
    )
    failed: dict[str, list[str]] = {}
    for info in infos:
        if info.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED and (
            info.is_current
        ):
            failed.setdefault(info.check_key.name, []).append(info.partition_key or "")
    return {name: sorted(parts) for name, parts in failed.items()}


def refuse_failed_upstream(
    context: dg.InputContext, blocking_checks: Mapping[str, Sequence[str]]
) -> None:
    """Fail the loading step if the input's days failed a blocking check in an earlier run.

    ``blocking_checks``: asset name -> its blocking checks (a subset job's asset graph does not
    carry the checks of the assets it only reads, so they come from the Definitions).
    """
    if context.asset_key is None:
        return
    step = context.step_context
    asset = context.asset_key.to_user_string()
    blocking = [dg.AssetCheckKey(context.asset_key, n) for n in blocking_checks.get(asset, ())]
    assets, checks = keys_in_job(step)
    if not blocking or (context.asset_key in assets and set(blocking) <= checks):
        return  # checked in this run: Dagster skips the readers of a failed one itself
    partitions = context.asset_partition_keys if context.has_asset_partitions else None
    failed = failed_blocking_checks(step.instance, blocking, partitions)
    if not failed:
        return
    found = "; ".join(
        f"{name} on {', '.join(p for p in parts[:_SHOWN] if p) or 'the table'}"
        + (f" (+{len(parts) - _SHOWN} more)" if len(parts) > _SHOWN else "")
        for name, parts in sorted(failed.items())
    )
    raise dg.Failure(
        description=f"{asset} failed blocking checks ({found}): not building on it. Fix the "
        f"data, re-materialize {asset} for those days (its checks run with it), then re-run.",
        metadata={"asset": asset, "failed_checks": dg.MetadataValue.json(failed)},
        allow_retries=False,
    )
