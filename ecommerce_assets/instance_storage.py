"""A faster SQLite event log for the project's Dagster instance (``dagster_home/dagster.yaml``).

Why: a single-run backfill of 366 delivery days logs one materialization event per asset and
day (~7,700 for the full build). Dagster's ``SqliteEventLogStorage`` opens a new SQLAlchemy
engine and SQLite connection for every event and commits with a full fsync; profiling the full
build showed connect + commit + close taking most of its time. This subclass changes only that:
engines are kept (a few, least recently used first out) and connections use WAL with
``synchronous=NORMAL`` (durable across a crashed process; a power cut can lose the last
transactions of the event log, never the warehouse). Schema, queries and file layout are
Dagster's own, so the files stay readable by the stock storage.

Batches: with ``DAGSTER_EVENT_BATCH_SIZE`` > 0 (bin/_setup and ``build._instance`` set it) Dagster
hands the per-partition materializations/observations of a step output, and a run's planned
events, to ``store_event_batch``, which the stock storage stores one by one: two transactions
per event (run shard, index shard), the asset-key row rewritten each time. Here each stretch of
consecutive asset events of one run takes one transaction per shard, with the statements and
helpers of ``SqliteEventLogStorage.store_event``; the asset-key row is written only by the
events whose values survive the batch, so every table ends up with the rows the per-event path
leaves. Other events (run and log events) and a stretch whose transactions fail (both roll back)
take the per-event path.

Per-day check results: a range run's checks record one evaluation per check and day (~25,000 for
the 366-day build), and Dagster hands those to ``store_event`` one at a time (they are not in its
``BATCH_WRITABLE_EVENTS``): three transactions each, ~2.8 ms, ~70 s of the build. Here, with
batching on, consecutive partitioned evaluations of one run are held and written together (one
transaction per shard, the check-execution rows updated by one ``executemany``) before any other
event is stored, before any read of check state or run logs, and every ``DAGSTER_EVENT_BATCH_SIZE``
evaluations. A check step always logs a further event (its outputs, its success or failure) after
its evaluations, so they are stored before the step is seen to end; a killed process loses the
held ones exactly when its step never ends (Dagster then reports the checks as failed to execute).

It is one class overriding Dagster's storage, each override next to the paths it changes; which
events a batch holds is decided in ``event_batches.py``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from sqlalchemy import and_, bindparam
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import QueuePool

from .dagster_internals import (
    INDEX_SHARD_NAME,
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
)
from .event_batches import (
    asset_row_writers,
    batch_size,
    batchable,
    held_check_evaluation,
    inserted,
)
from .event_log_reads import EventLogReads

_BUSY_TIMEOUT_S = 30
_MAX_ENGINES = 8
_log = logging.getLogger(__name__)
# The batch paths call SqliteEventLogStorage's internals as Dagster 1.13 has them
# (dagster_internals.py). When a batch fails, its events are written one by one (the same rows,
# slower): in production that is one warning per process, naming both versions; with this
# variable set (the tests set it) it is an error, so a Dagster upgrade that changed the internals
# fails a test instead of quietly slowing every build.
STRICT_ENV = "ECOMMERCE_EVENT_LOG_STRICT"
WRITTEN_FOR = "1.13"
_warned = False


class BatchFallbackError(RuntimeError):
    """A batch write failed and strict mode (``STRICT_ENV``) forbids the per-event fallback."""


def _fall_back(what: str, count: int) -> None:
    """Called in an ``except`` block before the per-event fallback: raise, or warn once."""
    global _warned
    message = (
        f"batched event-log write of {count} {what} failed; this storage was written for Dagster "
        f"{WRITTEN_FOR}.x and runs on {dg.__version__}: writing events one by one (same rows, "
        "slower) until the process ends"
    )
    if os.environ.get(STRICT_ENV, "").strip() not in ("", "0"):
        raise BatchFallbackError(message)
    if not _warned:
        _warned = True
        _log.warning(message, exc_info=True)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _UnplannedEvaluation(Exception):
    """A held evaluation has no planned row: the stock path inserts one."""


class PooledSqliteEventLogStorage(EventLogReads, SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with kept engines, WAL/``synchronous=NORMAL`` and batch writes."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._held: list[dg.EventLogEntry] = []
        self._held_lock = threading.RLock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            )
            sa_event.listen(engine, "connect", _pragmas)
        self._engines[shard] = engine
        while len(self._engines) > _MAX_ENGINES:
            _, old = self._engines.popitem(last=False)
            old.dispose()
        return engine

    @contextmanager
    def _transaction(self, shard: str) -> Iterator[Connection]:
        """A connection to ``shard`` inside a transaction; the caller holds ``self._db_lock``."""
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # type: ignore[override]
        with self._db_lock, self._transaction(shard) as conn:
            yield conn

    def store_event(self, event: dg.EventLogEntry) -> None:
        """Dagster's, except that partitioned check evaluations are held and written in batches."""
        size = batch_size()
        if size > 0 and held_check_evaluation(event):
            with self._held_lock:
                if self._held and self._held[0].run_id != event.run_id:
                    self.flush_check_evaluations()
                self._held.append(event)
                if len(self._held) >= size:
                    self.flush_check_evaluations()
            return
        self.flush_check_evaluations()
        super().store_event(event)

    def flush_check_evaluations(self) -> None:
        """Write the held check evaluations (one transaction per shard), oldest first."""
        with self._held_lock:
            held, self._held = self._held, []
            if held:
                self._store_check_evaluations(held)

    def _store_check_evaluations(self, events: list[dg.EventLogEntry]) -> None:
        """``store_event`` for each evaluation, as Dagster does it, in one transaction per shard.

        Each evaluation updates the check-execution row its run planned for its partition; if any
        has no such row (the stock path then inserts one), both transactions roll back and the
        evaluations take the stock path one by one.
        """
        # Each event serialized once (the stock path serializes it three times), and the inserts
        # of the same statement with parameters (compiled once) instead of one ``values()`` each.
        event_rows = [self._event_to_row(event) for event in events]
        insert = SqlEventLogStorageTable.insert()
        table = AssetCheckExecutionsTable
        update = (
            table.update()
            .where(
                and_(
                    table.c.asset_key == bindparam("b_asset_key"),
                    table.c.check_name == bindparam("b_check_name"),
                    table.c.run_id == bindparam("b_run_id"),
                    table.c.partition == bindparam("b_partition"),
                )
            )
            .values(
                execution_status=bindparam("b_status"),
                evaluation_event=bindparam("b_event"),
                evaluation_event_timestamp=bindparam("b_timestamp"),
                evaluation_event_storage_id=bindparam("b_event_id"),
                materialization_event_storage_id=bindparam("b_materialization_id"),
            )
        )
        try:
            with (
                self._db_lock,
                self._transaction(events[0].run_id) as run_conn,
                self._transaction(INDEX_SHARD_NAME) as index_conn,
            ):
                run_conn.execute(insert, event_rows)
                rows = []
                for event, row in zip(events, event_rows, strict=True):
                    result = index_conn.execute(insert, row)
                    event_id = result.inserted_primary_key[0]
                    result.close()
                    evaluation = event.get_dagster_event().event_specific_data
                    target = evaluation.target_materialization_data  # type: ignore[union-attr]
                    rows.append(
                        {
                            "b_asset_key": evaluation.asset_key.to_string(),  # type: ignore[union-attr]
                            "b_check_name": evaluation.check_name,  # type: ignore[union-attr]
                            "b_run_id": event.run_id,
                            "b_partition": evaluation.partition,  # type: ignore[union-attr]
                            "b_status": (
                                AssetCheckExecutionRecordStatus.SUCCEEDED.value
                                if evaluation.passed  # type: ignore[union-attr]
                                else AssetCheckExecutionRecordStatus.FAILED.value
                            ),
                            "b_event": row["event"],
                            "b_timestamp": row["timestamp"],
                            "b_event_id": event_id,
                            "b_materialization_id": target.storage_id if target else None,
                        }
                    )
                updated = index_conn.execute(update, rows).rowcount
                if updated != len(rows):
                    raise _UnplannedEvaluation(f"{updated} of {len(rows)} rows were planned")
        except Exception as exc:
            if not isinstance(exc, _UnplannedEvaluation):
                _fall_back("check evaluations", len(events))
            for event in events:
                super().store_event(event)

    # Reads that may concern held evaluations see them written first.
    def get_asset_check_partition_info(self, *args: Any, **kwargs: Any) -> Any:
        self.flush_check_evaluations()
        return super().get_asset_check_partition_info(*args, **kwargs)

    def get_latest_asset_check_execution_by_key(self, *args: Any, **kwargs: Any) -> Any:
        self.flush_check_evaluations()
        return super().get_latest_asset_check_execution_by_key(*args, **kwargs)

    def get_asset_check_execution_history(self, *args: Any, **kwargs: Any) -> Any:
        self.flush_check_evaluations()
        return super().get_asset_check_execution_history(*args, **kwargs)

    def get_records_for_run(self, *args: Any, **kwargs: Any) -> Any:
        self.flush_check_evaluations()
        return super().get_records_for_run(*args, **kwargs)

    def get_logs_for_run(self, *args: Any, **kwargs: Any) -> Any:
        self.flush_check_evaluations()
        return super().get_logs_for_run(*args, **kwargs)

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        """Store ``events`` in order: stretches of one run's asset events at once, others alone."""
        self.flush_check_evaluations()
        stretch: list[dg.EventLogEntry] = []
        for event in events:
            if stretch and not (batchable(event) and event.run_id == stretch[0].run_id):
                self._store_asset_events(stretch)
                stretch = []
            if batchable(event):
                stretch.append(event)
            else:
                self.store_event(event)
        if stretch:
            self._store_asset_events(stretch)

    def _store_asset_events(self, events: list[dg.EventLogEntry]) -> None:
        """``SqliteEventLogStorage.store_event`` for each of ``events``, one transaction a shard.

        The index transaction commits just before the run one and nothing is written on a failure
        before the commits, so the per-event fallback does not duplicate rows.
        """
        if len(events) == 1:
            self.store_event(events[0])
            return
        statements = [self.prepare_insert_event(event) for event in events]
        try:
            with (
                self._db_lock,
                self._transaction(events[0].run_id) as run_conn,
                self._transaction(INDEX_SHARD_NAME) as index_conn,
            ):
                for statement in statements:
                    run_conn.execute(statement)
                event_ids: list[int] = []
                for statement in statements:
                    event_ids.append(inserted(index_conn, statement))
                if None in event_ids:
                    raise dg.DagsterInvariantViolationError(
                        "Cannot store asset event tags for null event id."
                    )
                self._store_asset_event_tags(index_conn, events, event_ids)
                for i in asset_row_writers(events):
                    self._store_asset_event(index_conn, events[i], event_ids[i])
        except Exception:
            _fall_back("asset events", len(events))
            for event in events:
                self.store_event(event)

    def _store_asset_check_evaluation_planned(
        self, event: dg.EventLogEntry, event_id: int | None
    ) -> None:
        """Dagster's rows, with the event serialized once instead of once per partition row.

        A check of a partitioned asset planned over a range gets one row per day, and the stock
        method re-serializes the whole event (with its partition subset) for each and compiles one
        multi-row VALUES statement: ~20 s of the 366-day build with 99 checks (profiled). Same
        table, same values.
        """
        planned = event.dagster_event.event_specific_data  # type: ignore[union-attr]
        subset = planned.partitions_subset
        partition_keys = subset.get_partition_keys() if subset else [None]
        serialized = dg.serialize_value(event)
        timestamp = self._event_insert_timestamp(event)
        rows = [
            {
                "asset_key": planned.asset_key.to_string(),
                "check_name": planned.check_name,
                "partition": partition_key,
                "run_id": event.run_id,
                "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                "evaluation_event": serialized,
                "evaluation_event_timestamp": timestamp,
                "evaluation_event_storage_id": event_id,
            }
            for partition_key in partition_keys
        ]
        with self.index_connection() as conn:
            # executemany: one prepared statement, not one compiled multi-row VALUES clause.
            conn.execute(AssetCheckExecutionsTable.insert(), rows)

    def dispose(self) -> None:
        self.flush_check_evaluations()
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
