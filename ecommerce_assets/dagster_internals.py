"""Every place the project reaches into Dagster's private modules, with the reason for each
(one place to check on upgrades). Other modules import these names from here, never from
``dagster._...``; where Dagster exports a public equivalent, the project uses that instead
(``dg.DagsterRun``, ``dg.DagsterEventType``, ``dg.DagsterRunStatus``, ``dg.serialize_value``,
``dg.deserialize_value``).
"""

from __future__ import annotations

from typing import Any

import dagster as dg

# launch.py: no public API loads a workspace and submits a run through the instance's run
# launcher and coordinator (what the UI's Materialize does); `dagster job launch` uses these.
from dagster._cli.workspace.cli_target import (
    WorkspaceOpts as WorkspaceOpts,
)
from dagster._cli.workspace.cli_target import (
    get_workspace_from_cli_opts as get_workspace_from_cli_opts,
)

# checks/daily.py: the pointer from a day's evaluation to the materialization it checked, a
# public type in a private module (Dagster builds it itself only for a step's single partition).
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as AssetCheckEvaluationTargetMaterializationData,
)

# runner.stream_days: executing a run's plan in this process with Dagster's own iterator (what a
# launched worker does), because ``execute_in_process`` keeps every event and output for its
# result, memory that grows with the range; the public ``dagster.execute_job`` does too (its
# ``execute_run`` collects the run's events in a list for the result it returns).
from dagster._core.definitions.job_base import InMemoryJob as InMemoryJob

# launch.py: the job (and asset subset) a launched run targets, as `dagster job launch` names it.
from dagster._core.definitions.selector import JobSubsetSelector as JobSubsetSelector

# runner.stream_days (see InMemoryJob above).
from dagster._core.execution.api import execute_run_iterator as execute_run_iterator

# blocking.py reads, and instance_storage.py writes, the status of a check's latest execution on
# a partition: the enum is not exported.
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus as AssetCheckExecutionRecordStatus,
)

# instance_storage.py: it subclasses Dagster's SQLite event log and writes batches with the stock
# storage's own tables and statements, so its files stay readable by the stock storage.
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable as AssetCheckExecutionsTable,
)
from dagster._core.storage.event_log.schema import (
    SqlEventLogStorageTable as SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME as INDEX_SHARD_NAME,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage as SqliteEventLogStorage,
)

# The tags Dagster puts on a run that covers one partition or a partition range: the strings
# Dagster documents (backfills, `dagster asset materialize --partition-range`), not its private
# constants; test_house pins them to the constants.
PARTITION_NAME_TAG = "dagster/partition"
ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


# instance_storage.py: the events Dagster mirrors into the index shard (its private ASSET_EVENTS,
# spelled with the public enum; test_house pins it to Dagster's).
ASSET_EVENTS = frozenset(
    {
        dg.DagsterEventType.ASSET_MATERIALIZATION,
        dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        dg.DagsterEventType.ASSET_OBSERVATION,
        dg.DagsterEventType.ASSET_FAILED_TO_MATERIALIZE,
        dg.DagsterEventType.FRESHNESS_STATE_CHANGE,
    }
)

# A run is over: Dagster's FINISHED_STATUSES, spelled with the public enum.
FINISHED_STATUSES = frozenset(
    {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
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
