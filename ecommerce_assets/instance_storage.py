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
leaves. Other events (asset checks, run and log events) and a stretch whose transactions fail
(both roll back) take the per-event path.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg

# Private: the event types the stock storage mirrors into the index shard (its store_event's test).
from dagster._core.events import ASSET_EVENTS

# Private: the check-execution table and status the planned-check override writes (Dagster's).
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)

# Private: the closing result wrapper SqliteEventLogStorage.store_event reads event ids with.
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import QueuePool

_BUSY_TIMEOUT_S = 30
_MAX_ENGINES = 8
_log = logging.getLogger(__name__)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _batchable(event: dg.EventLogEntry) -> bool:
    """Asset events: a run-shard row, an index-shard mirror, its tags and the asset-key row."""
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS


def _asset_row_writers(events: Sequence[dg.EventLogEntry]) -> list[int]:
    """Indexes of the events whose ``asset_keys`` write shows in the row after all of them.

    The row of an asset key is inserted by its first event; each later write sets the columns
    its event type sets, so a write followed by one of the same key and type leaves no trace.
    Within one transaction the result is the per-event one, at ~1 write per asset instead of N.
    """
    first: dict[dg.AssetKey | None, int] = {}
    last: dict[tuple[dg.AssetKey | None, dg.DagsterEventType | None], int] = {}
    for i, event in enumerate(events):
        key = event.get_dagster_event().asset_key
        first.setdefault(key, i)
        last[(key, event.dagster_event_type)] = i
    return sorted({*first.values(), *last.values()})


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with kept engines, WAL/``synchronous=NORMAL`` and batch writes."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
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

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        """Store ``events`` in order: stretches of one run's asset events at once, others alone."""
        stretch: list[dg.EventLogEntry] = []
        for event in events:
            if stretch and not (_batchable(event) and event.run_id == stretch[0].run_id):
                self._store_asset_events(stretch)
                stretch = []
            if _batchable(event):
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
                    with db_result(index_conn, statement) as result:
                        event_ids.append(result.inserted_primary_key[0])
                if None in event_ids:
                    raise dg.DagsterInvariantViolationError(
                        "Cannot store asset event tags for null event id."
                    )
                self._store_asset_event_tags(index_conn, events, event_ids)
                for i in _asset_row_writers(events):
                    self._store_asset_event(index_conn, events[i], event_ids[i])
        except Exception:
            _log.warning(
                "Batch of %d events failed; storing them one by one", len(events), exc_info=True
            )
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
        serialized = serialize_value(event)
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
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
