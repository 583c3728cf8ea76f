"""A faster SQLite event log for the project's Dagster instance (``dagster_home/dagster.yaml``).

Why: a single-run backfill of 366 delivery days logs one materialization event per asset and
day (~7,700 for the full build). Dagster's ``SqliteEventLogStorage`` opens a new SQLAlchemy
engine and SQLite connection for every event and commits with a full fsync; profiling the full
build showed connect + commit + close taking most of its time. This subclass changes only that:
engines are kept (a few, least recently used first out) and connections use WAL with
``synchronous=NORMAL`` (durable across a crashed process; a power cut can lose the last
transactions of the event log, never the warehouse). Schema, queries and file layout are
Dagster's own, so the files stay readable by the stock storage.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine, create_engine
from sqlalchemy.pool import QueuePool

_BUSY_TIMEOUT_S = 30
_MAX_ENGINES = 8


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with kept engines and WAL/``synchronous=NORMAL`` connections."""

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
    def _connect(self, shard: str) -> Iterator[Connection]:  # type: ignore[override]
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
