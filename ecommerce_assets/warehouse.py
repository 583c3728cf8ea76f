"""Talking to the DuckDB warehouse: connections that wait for the lock, frames fetched as Arrow.

Every frame the platform reads crosses from DuckDB to pandas as Arrow (``pd.ArrowDtype``
columns): no Python object per value, DECIMAL money stays exact ``decimal128`` and DATE stays a
date. Plain ``.df()`` would build object strings and turn DECIMAL into float64.
"""

from __future__ import annotations

import os
import random
import re
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow

from .lake import data_path as lake_data_path
from .lake import is_lake, lake_connection

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")
# A new warehouse file another process has created but whose headers (DuckDB's first three
# 4 KiB blocks) it has not written yet: two runs starting at once on a fresh warehouse saw this.
_NOT_YET_DUCKDB = "is not a valid DuckDB database file"
_HEADER_BYTES = 3 * 4096

MEMORY_LIMIT_ENV = "ECOMMERCE_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "250MB"


@dataclass(frozen=True)
class WarehouseLocation:
    """Where the warehouse is (``ECOMMERCE_WAREHOUSE``): a DuckDB file, or a DuckLake lake
    (``ducklake:…``, ``lake.py``).

    One type for both, so a lake's connection string is never taken for a path: ``file`` is the
    DuckDB file or None, and ``os.fspath`` of a lake fails instead of naming a file that is not.
    """

    target: str

    @classmethod
    def of(cls, value: str | os.PathLike[str] | WarehouseLocation) -> WarehouseLocation:
        return value if isinstance(value, WarehouseLocation) else cls(os.fspath(value))

    @property
    def is_lake(self) -> bool:
        return is_lake(self.target)

    @property
    def file(self) -> Path | None:
        """The DuckDB file; None for a lake."""
        return None if self.is_lake else Path(self.target)

    def __str__(self) -> str:
        return self.target

    def __fspath__(self) -> str:
        if self.is_lake:
            raise TypeError(f"the warehouse {self.target} is a lake, not a file")
        return self.target


class WarehouseLockedError(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


class WarehouseCorruptError(RuntimeError):
    """The warehouse file is not an intact DuckDB database: refused before anything is written."""


# A run waits for a locked warehouse once: (database, run id) -> the monotonic deadline of that
# wait, shared by every connection the run opens afterwards (its steps and inputs).
_RUN_DEADLINES: dict[tuple[str, str], float] = {}
# Connections this process holds open, per warehouse file. DuckDB's lock is a POSIX record lock,
# which belongs to the process and is released when the process closes ANY descriptor of the file:
# reading the header while a connection is open would hand the lock to another process (two
# writers, a corrupted file; seen with three concurrent runs). So the header is read only before
# the first connection.
_OPEN: dict[str, int] = {}


def check_intact(path: Path) -> None:
    """Refuse a file that is not an intact DuckDB database before DuckDB writes to it.

    DuckDB opens a truncated file and may write to it before a read hits the missing blocks
    ("Corrupt database file"). Its headers say how big the file must be: the main header carries
    the magic ``DUCK``; of the two database headers the newer (higher iteration) counts the
    blocks and their size. A file shorter than that is truncated. A file shorter than the headers
    may be one another process is creating (``connect`` waits for it).
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size < _HEADER_BYTES:
        return
    with path.open("rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if head[8:12] != b"DUCK":
        raise WarehouseCorruptError(
            f"{path} is not a DuckDB database (no DUCK magic at byte 8): refusing to open it; "
            "nothing was written. Point ECOMMERCE_WAREHOUSE at the warehouse, or move this file."
        )
    headers = [struct.unpack_from("<6Q", head, offset) for offset in (4096, 8192)]
    _, _, meta_block, _, _, block_size = max(headers, key=lambda h: h[1])
    body = size - _HEADER_BYTES
    # The catalog's metadata block id (the low 56 bits; DuckDB keeps an index in the high byte).
    meta = meta_block & ((1 << 56) - 1)
    if (
        block_size <= 0
        or body % block_size
        or (meta != (1 << 56) - 1 and meta >= body // block_size)
    ):
        raise WarehouseCorruptError(
            f"{path} is truncated: {size:,} bytes is not its {_HEADER_BYTES:,} header bytes plus "
            f"whole blocks of {block_size:,} bytes holding its catalog (block {meta}): refusing "
            "to open it; nothing was written. Restore it from a copy, or move it away to "
            "rebuild the warehouse."
        )


def quote_ident(name: str) -> str:
    """Quote an identifier that comes from code (asset names, schemas), never from data."""
    return '"' + name.replace('"', '""') + '"'


def memory_limit(environ: Mapping[str, str] | None = None) -> str:
    """The warehouse's DuckDB ``memory_limit``: ``ECOMMERCE_DUCKDB_MEMORY_LIMIT``, default 250MB."""
    env = os.environ if environ is None else environ
    text = (env.get(MEMORY_LIMIT_ENV) or "").strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text, re.IGNORECASE):
        raise ValueError(f"{MEMORY_LIMIT_ENV}={text!r} is not a size such as 500MB or 2GiB")
    return text


def describe_warehouse(database: str | Path) -> str:
    """Where the warehouse is, for people: the file's absolute path, or the lake and its data."""
    if is_lake(database):
        return f"{database} (DuckLake; data in {lake_data_path()})"
    return str(Path(database).resolve())


def _lock_holder(message: str) -> str:
    match = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", message)
    if not match:
        return "another process"
    return f"{match.group(1)} (PID {match.group(2)})"


def _being_created(path: Path, message: str) -> bool:
    """True when ``path`` is a DuckDB file still being created by another process."""
    if _NOT_YET_DUCKDB not in message:
        return False
    try:
        return path.stat().st_size < _HEADER_BYTES
    except FileNotFoundError:  # created and removed again: just retry
        return True


@contextmanager
def connect(
    database: str | Path,
    lock_timeout_s: float = 60.0,
    log: Any | None = None,
    run_id: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting with backoff while another process holds its lock.

    DuckDB lets one process open a file read-write; a concurrent run or a DuckDB CLI left open makes
    ``connect`` fail at once, so we retry until ``lock_timeout_s`` and then name the holder.
    With ``run_id``, the run waits once: every connection of the run shares the deadline of its
    first wait, so a run whose steps each open the warehouse fails after one timeout, not one per
    step. A file that is not an intact DuckDB database is refused before it is opened.
    A ``ducklake:`` warehouse has no such lock: see ``lake.py``.
    """
    if is_lake(database):
        with lake_connection(str(database), memory_limit()) as con:
            yield con
        return
    path = Path(database)
    opened = str(path.resolve()) if str(database) != ":memory:" else ""
    if opened:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not _OPEN.get(opened):
            check_intact(path)
    scope = (str(database), run_id) if run_id else None
    inherited = scope is not None and scope in _RUN_DEADLINES
    deadline = _RUN_DEADLINES[scope] if inherited else time.monotonic() + lock_timeout_s
    delay = 0.05
    warned = False
    while True:
        try:
            con = duckdb.connect(str(database))
            break
        except duckdb.IOException as exc:
            message = str(exc)
            if _being_created(path, message) and time.monotonic() < deadline:
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)
                continue
            if not any(marker in message for marker in _LOCK_MARKERS):
                raise
            if scope is not None:
                _RUN_DEADLINES.setdefault(scope, deadline)
            if time.monotonic() >= deadline:
                holder = _lock_holder(message)
                waited = "the run already waited" if inherited else "waited"
                raise WarehouseLockedError(
                    f"The warehouse {database} is locked by {holder}; "
                    f"{waited} {lock_timeout_s:.0f}s (ECOMMERCE_LOCK_TIMEOUT). "
                    "Close that process (a DuckDB CLI, notebook or BI tool on the file, or a "
                    "concurrent run) and re-run; nothing was written."
                ) from exc
            if log is not None and not warned:
                log.warning(f"Warehouse {database} is locked by {_lock_holder(message)}; waiting.")
                warned = True
            # Short, jittered waits: DuckDB's lock is not a queue, and a waiter that sleeps long
            # keeps missing the gaps between another process's short transactions.
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.25)
    if opened:
        _OPEN[opened] = _OPEN.get(opened, 0) + 1
    try:
        # DuckDB keeps every block a connection reads or writes cached until ``memory_limit``
        # (default 80 % of RAM). A range run writes each output in one long transaction while it
        # reads its input through another connection, so the cache grew with the range (225 MB
        # for a year of staged events at scale 60). Blocks are on disk (optimistic writes), so a
        # bounded pool evicts them; query intermediates beyond it spill to ``<warehouse>.tmp``.
        # A SET, not a connect config: other connections to the same instance stay compatible.
        con.execute(f"SET memory_limit = '{memory_limit()}'")
        yield con
    finally:
        con.close()
        if opened:
            _OPEN[opened] -= 1


def finish_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Finish an ``execute()`` result still partly fetched (``fetchone``) on the connection.

    A relation cannot run while one is open. DuckDB 2.x has ``complete()`` for this; 1.4.4 (the
    version the lake's extensions are built for) has not, so the rest of the result is fetched.
    """
    complete = getattr(con, "complete", None)
    if complete is not None:
        complete()
        return
    with suppress(duckdb.InvalidInputException):  # no open result: nothing to finish
        con.fetchall()


def fetch_frame(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run a query and return its rows as an Arrow-backed pandas frame (one column per type)."""
    finish_pending(con)
    relation = con.sql(sql, params=params) if params else con.sql(sql)
    table = relation.to_arrow_table()
    # DuckDB's HUGEINT (what ``sum`` of counts gives) arrives as decimal128(38, 0), on which
    # pandas arithmetic overflows its precision: whole numbers become int64 (checked cast).
    for index, column in enumerate(table.schema):
        if pyarrow.types.is_decimal(column.type) and column.type.scale == 0:
            table = table.set_column(index, column.name, table.column(index).cast(pyarrow.int64()))
    return table.to_pandas(types_mapper=pd.ArrowDtype)
