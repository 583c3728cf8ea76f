"""The project's own reads of the Dagster event log, by SQL on its tables.

A mixin of ``PooledSqliteEventLogStorage`` (``instance_storage.py``): what the build's summary
and the per-day check status need, read from the index shard's columns without deserializing
every event, as Dagster's public reads would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import dagster as dg
from sqlalchemy import case, select

from .dagster_internals import (
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)

# (asset, check name, partition or None, passed, severity of a failed evaluation)
CheckResult = tuple[dg.AssetKey, str, str | None, bool, dg.AssetCheckSeverity | None]


class EventLogReads:
    """Reads for the storage it is mixed into, which provides ``index_connection`` (Dagster's)
    and ``flush_check_evaluations`` (held evaluations are written before a read sees the table).
    """

    index_connection: Any
    flush_check_evaluations: Any

    def materialization_pointers(self, storage_ids: Sequence[int]) -> dict[int, tuple[str, float]]:
        """(run id, timestamp) of index-shard events by storage id, without deserializing them.

        What a per-day check evaluation points at (``checks/daily.py``): ``fetch_materializations``
        would deserialize each day's whole materialization (metadata and all), ~0.2 s per asset
        and year.
        """
        table = SqlEventLogStorageTable
        out: dict[int, tuple[str, float]] = {}
        ids = list(storage_ids)
        with self.index_connection() as conn:
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    select(table.c.id, table.c.run_id, table.c.timestamp).where(
                        table.c.id.in_(ids[start : start + 500])
                    )
                ).fetchall()
                for storage_id, run_id, timestamp in rows:
                    out[storage_id] = (run_id, timestamp.replace(tzinfo=UTC).timestamp())
        return out

    def check_results_of_run(self, run_id: str) -> list[CheckResult]:
        """Each check evaluation a run recorded, as (asset, check, partition, passed, severity),
        from the check-execution index: only failed evaluations are deserialized (for their
        severity). The build's summary read all ~27,500 of a year's back (2.9 s at scale 1)."""
        self.flush_check_evaluations()
        table = AssetCheckExecutionsTable
        failed = AssetCheckExecutionRecordStatus.FAILED.value
        query = select(
            table.c.asset_key,
            table.c.check_name,
            table.c.partition,
            table.c.execution_status,
            case((table.c.execution_status == failed, table.c.evaluation_event), else_=None),
        ).where(table.c.run_id == run_id)
        with self.index_connection() as conn:
            rows = conn.execute(query).fetchall()
        out = []
        for asset_key, check_name, partition, status, event in rows:
            if status == AssetCheckExecutionRecordStatus.PLANNED.value:
                continue
            severity = None
            if event:
                evaluation = dg.deserialize_value(event, dg.EventLogEntry).get_dagster_event()
                severity = evaluation.event_specific_data.severity
            asset = dg.AssetKey.from_db_string(asset_key)
            out.append((asset, check_name, partition, status != failed, severity))
        return out
