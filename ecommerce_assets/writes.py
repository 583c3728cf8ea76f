"""Writing a slice of a table (some days, or all of it) in one transaction, columns by name.

Why not the stock ``DuckDBPandasIOManager``: it deletes the slice and inserts positionally, each
statement autocommitted, so a failed insert leaves the table empty and a column-order change swaps
values silently (``shared/notes/dagster-duckdb-pandera.md``). Here a write is
``BEGIN; [CREATE|ALTER ADD COLUMN]; DELETE slice; INSERT (cols) SELECT cols; COMMIT`` and any error
rolls the whole thing back, leaving the previous content intact.

On the DuckDB file there is one writer at a time (the file lock), so the chunks stream straight
into the open transaction. On a DuckLake lake several runs write at once and a commit can
conflict with another's (both deleted rows of the same Parquet file): the chunks are first staged
in a local temporary table, then the transaction is retried from it with backoff
(``write_staged``), which a stream consumed once could not do; a table it must create or alter
first is created alone under the lake's DDL lock. A write can also replace the rows of some
business keys instead of a slice (``slices.KeyedFrame``).

Creating and evolving a table is ``table_schema.py``'s.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress
from typing import Any

import duckdb
import pandas as pd
import pyarrow

from .slices import DaySlice, SliceLike, as_slice
from .table_schema import Columns, SchemaEvolutionError, create_or_evolve, needs_ddl, table_columns
from .warehouse import finish_pending, quote_ident

# A write that replaces the rows of some business keys: (key column, keys).
KeySet = tuple[str, Sequence[int]]


# A lake commit that conflicted with another writer's is retried this many times in all, waiting
# CONFLICT_BASE_WAIT_S * 2**n (jittered) between attempts.
CONFLICT_ATTEMPTS = 6
CONFLICT_BASE_WAIT_S = 0.2


class WarehouseConflictError(RuntimeError):
    """A lake write kept conflicting with concurrent writers; nothing of it was committed."""


def _is_conflict(exc: duckdb.Error) -> bool:
    """A DuckLake commit that lost a race: another writer changed what this one read or deleted,
    or DuckLake's own conflict check failed on another process's commit that landed meanwhile
    (DuckLake for DuckDB 1.4 can fail "Failed to parse catalog entry" on a concurrent table
    creation). Either way the transaction was rolled back whole, so running it again is safe."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.TransactionException) and (
        "conflict" in text or "failed to commit ducklake transaction" in text
    )


# The name under which SQL reads a chunk (``_sql_on_chunk``).
_FRAME = "_ecommerce_chunk"


def _as_arrow(df: pd.DataFrame) -> pyarrow.Table:
    """The frame as an Arrow table: zero-copy for Arrow-backed columns, converted otherwise."""
    return pyarrow.Table.from_pandas(df, preserve_index=False)


def write_slice(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    df: pd.DataFrame,
    columns: list[tuple[str, str, bool]] | None = None,
    partition: SliceLike | None = None,
) -> None:
    """Replace one slice (a time window of ``partition[0]``, or the whole table) in one transaction.

    Columns are matched by name. A column the table lacks is added (nullable); a column whose type
    changed, or an output column the declared schema lacks, fails the write and changes nothing.
    """
    write_chunks(con, schema, table, [df], columns, partition)


def write_chunks(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    chunks: Iterable[pd.DataFrame],
    columns: list[tuple[str, str, bool]] | None = None,
    partition: SliceLike | None = None,
    on_chunk: Any = None,
    *,
    staged: bool = False,
    ddl_lock: Callable[[], AbstractContextManager] | None = None,
    keys: KeySet | None = None,
) -> int:
    """``write_slice`` for a slice produced in chunks: still one transaction for the whole slice.

    ``BEGIN; [CREATE|ALTER ADD COLUMN]; DELETE slice; INSERT chunk (by name)...; COMMIT``: if any
    chunk fails (an error in the code producing it, validation, an undeclared column, a row outside
    the window), everything rolls back and the previous content stays. ``on_chunk(frame)`` is
    called after each chunk is inserted. Returns the rows written. ``keys``: replace only the rows
    of those business keys (``slices.KeyedFrame``), not the slice. ``staged``: the lake's way,
    chunks staged locally and the transaction retried on a conflict, DDL under ``ddl_lock``
    (``write_staged``).
    """
    partition = as_slice(partition)
    if staged:
        return write_staged(
            con, schema, table, chunks, columns, partition, on_chunk, ddl_lock=ddl_lock, keys=keys
        )
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    written = 0
    began = False
    try:
        for df in chunks:
            chunk, columns, declared = _checked(con, df, schema, table, columns, partition)
            if not began:
                con.execute("BEGIN TRANSACTION")
                began = True
                _prepare(con, schema, table, columns, partition, keys)
                in_table = table_columns(con, schema, table)
            if len(df):
                # By name: every column of the table in its order, NULL where the chunk lacks it.
                selects = ", ".join(
                    f"CAST({quote_ident(n)} AS {declared[n]}) AS {quote_ident(n)}"
                    if n in declared and n in df.columns
                    else f"CAST(NULL AS {sql_type}) AS {quote_ident(n)}"
                    for n, sql_type in in_table.items()
                )
                # An INSERT statement, not a relation's ``insert_into(fq)``: DuckDB 1.4 takes
                # that argument as one table name, quotes and dot included.
                _sql_on_chunk(con, chunk, f"INSERT INTO {fq} SELECT {selects} FROM {_FRAME}")
                written += len(df)
            del chunk
            if on_chunk is not None:
                on_chunk(df)
            del df  # before the next chunk is produced
        if not began:  # no chunk at all: the slice becomes empty
            if columns is None:
                return 0
            con.execute("BEGIN TRANSACTION")
            began = True
            _prepare(con, schema, table, columns, partition, keys)
        con.execute("COMMIT")
    except BaseException:
        if began:
            with suppress(duckdb.Error):  # a failed statement may leave its result open
                finish_pending(con)
            con.execute("ROLLBACK")
        raise
    return written


def _checked(
    con: duckdb.DuckDBPyConnection,
    df: pd.DataFrame,
    schema: str,
    table: str,
    columns: Columns | None,
    partition: SliceLike | None,
) -> tuple[pyarrow.Table, Columns, dict[str, str]]:
    """The chunk as Arrow once it passed what every write checks first: its columns declared
    (without a declaration, the first chunk's are), the required ones present, its rows inside
    the partition window. Also the columns and their declared SQL types."""
    chunk = _as_arrow(df)
    if columns is None:
        described = _sql_on_chunk(con, chunk, f"DESCRIBE SELECT * FROM {_FRAME}")
        columns = [(row[0], row[1], True) for row in described]
    declared = {name: sql_type for name, sql_type, _ in columns}
    _check_columns(df, schema, table, columns, declared)
    if partition is not None:
        _check_inside_window(con, chunk, schema, table, partition)
    return chunk, columns, declared


def _check_columns(
    df: pd.DataFrame,
    schema: str,
    table: str,
    columns: list[tuple[str, str, bool]],
    declared: dict[str, str],
) -> None:
    undeclared = [c for c in df.columns if c not in declared]
    if undeclared:
        raise SchemaEvolutionError(
            f"{schema}.{table}: output has columns {undeclared} that its schema lacks"
        )
    missing = [name for name, _, nullable in columns if name not in df.columns and not nullable]
    if missing:
        raise SchemaEvolutionError(f"{schema}.{table}: output lacks required columns {missing}")


def _prepare(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    columns: list[tuple[str, str, bool]],
    partition: DaySlice | None,
    keys: KeySet | None = None,
) -> None:
    """Inside the transaction: create or evolve the table, then delete the slice (the rows of
    ``keys`` when given: ``KeyedFrame``)."""
    create_or_evolve(con, schema, table, columns)
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    if keys is not None:
        column, values = keys
        con.execute(
            f"DELETE FROM {fq} WHERE {quote_ident(column)} IN (SELECT unnest(?::BIGINT[]))",
            [[int(v) for v in values]],
        )
    elif partition is not None:
        col = quote_ident(partition.column)
        for start, end in partition.ranges():
            con.execute(f"DELETE FROM {fq} WHERE {col} >= ? AND {col} < ?", [start, end])
    else:
        con.execute(f"DELETE FROM {fq}")


def _sql_on_chunk(con: duckdb.DuckDBPyConnection, chunk: pyarrow.Table, sql: str) -> list[tuple]:
    """Run ``sql``, in which ``_FRAME`` names the chunk's Arrow table; its rows.

    DuckDB finds the table by a replacement scan of this function's local variable. Not
    ``con.register`` nor a relation's ``query``: both keep the Arrow table in the transaction's
    catalog until COMMIT (every chunk of a range stayed in memory). And in a short-lived frame of
    its own: the scan reads the caller's ``f_locals``, a snapshot Python keeps on the frame, which
    in the long-lived ``write_chunks`` frame held each chunk until the next one was read.
    """
    _ecommerce_chunk = chunk  # read by DuckDB under the name _FRAME
    del chunk
    return con.execute(sql).fetchall()


def _check_inside_window(
    con: duckdb.DuckDBPyConnection,
    chunk: pyarrow.Table,
    schema: str,
    table: str,
    partition: DaySlice,
) -> None:
    """Rows outside the replaced days would survive the next re-run of them: refuse them.

    Runs in DuckDB on the chunk's Arrow table (no pandas conversion of the column)."""
    if not chunk.num_rows:
        return
    column = partition.column
    if column not in chunk.column_names:
        raise SchemaEvolutionError(f"{schema}.{table}: partition column {column!r} is missing")
    col = quote_ident(column)
    # A relation's query takes no parameters; the bounds are datetimes, written as literals.
    inside = " OR ".join(
        f"(CAST({col} AS TIMESTAMP) >= TIMESTAMP '{low.isoformat(sep=' ')}' AND "
        f"CAST({col} AS TIMESTAMP) < TIMESTAMP '{high.isoformat(sep=' ')}')"
        for low, high in partition.ranges()
    )
    count, sample = _sql_on_chunk(
        con,
        chunk,
        f"SELECT count(*), list(CAST({col} AS VARCHAR))[1:3] FROM {_FRAME} "
        f"WHERE {col} IS NULL OR NOT ({inside or 'FALSE'})",
    )[0]
    if count:
        raise ValueError(
            f"{schema}.{table}: {int(count)} rows have {column} outside the partition window "
            f"(this write replaces {partition.label()}), e.g. {sample}; nothing was written"
        )


def write_staged(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    chunks: Iterable[pd.DataFrame],
    columns: Columns | None = None,
    partition: SliceLike | None = None,
    on_chunk: Callable[[pd.DataFrame], object] | None = None,
    attempts: int = CONFLICT_ATTEMPTS,
    ddl_lock: Callable[[], AbstractContextManager] | None = None,
    keys: KeySet | None = None,
) -> int:
    """``write_chunks`` for a warehouse with concurrent writers: stage, then commit with retries.

    Each chunk is checked as in ``write_chunks`` and appended to a temporary table of this
    connection (local: memory, spilling to disk past ``memory_limit``). Then
    ``BEGIN; prepare; DELETE slice; INSERT FROM staged; COMMIT``; a commit that conflicts with
    another writer's is rolled back and retried from the staged rows with jittered exponential
    backoff, up to ``attempts`` times, then fails naming the table and slice. Nothing is
    committed unless everything is. ``ddl_lock``: held while the table is created or altered, in
    a transaction of its own before the data's (``lake.catalog_lock``).
    """
    partition = as_slice(partition)
    stage = quote_ident(f"__ecommerce_stage_{uuid.uuid4().hex}")
    staged_columns: list[str] = []
    written = 0
    try:
        for df in chunks:
            chunk, columns, declared = _checked(con, df, schema, table, columns, partition)
            if len(df):
                casts = ", ".join(
                    f"CAST({quote_ident(n)} AS {declared[n]}) AS {quote_ident(n)}"
                    for n in df.columns
                )
                if not staged_columns:
                    sql = f"CREATE TEMP TABLE {stage} AS SELECT {casts} FROM {_FRAME}"
                    staged_columns = list(df.columns)
                else:
                    sql = f"INSERT INTO {stage} BY NAME SELECT {casts} FROM {_FRAME}"
                _sql_on_chunk(con, chunk, sql)
                written += len(df)
            del chunk
            if on_chunk is not None:
                on_chunk(df)
            del df
        if columns is None:  # no chunk at all and nothing declared: nothing to write
            return 0
        fq = f"{quote_ident(schema)}.{quote_ident(table)}"

        def replace_slice() -> None:
            _prepare(con, schema, table, columns, partition, keys)
            if staged_columns:
                present = set(staged_columns)
                selects = ", ".join(
                    quote_ident(n) if n in present else f"CAST(NULL AS {t}) AS {quote_ident(n)}"
                    for n, t in table_columns(con, schema, table).items()
                )
                con.execute(f"INSERT INTO {fq} SELECT {selects} FROM temp.{stage}")

        if ddl_lock is not None and needs_ddl(con, schema, table, columns):
            # Created or altered alone, under the lake's DDL lock (lake.catalog_lock: why).
            with ddl_lock():
                _commit_with_retries(
                    con,
                    schema,
                    table,
                    "its definition",
                    lambda: create_or_evolve(con, schema, table, columns),
                    attempts,
                )
        what = partition.label() if partition else "the table"
        _commit_with_retries(con, schema, table, what, replace_slice, attempts)
        return written
    finally:
        with suppress(duckdb.Error):
            finish_pending(con)
            con.execute(f"DROP TABLE IF EXISTS temp.{stage}")


def _commit_with_retries(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    what: str,
    body: Callable[[], None],
    attempts: int,
) -> None:
    """``BEGIN; body(); COMMIT``, rolled back and retried (jittered backoff) on a lake conflict."""
    for attempt in range(1, attempts + 1):
        try:
            con.execute("BEGIN TRANSACTION")
            body()
            con.execute("COMMIT")
            return
        except BaseException as exc:
            with suppress(duckdb.Error):  # a failed COMMIT has already rolled back
                finish_pending(con)
                con.execute("ROLLBACK")
            if not isinstance(exc, duckdb.Error) or not _is_conflict(exc):
                raise
            if attempt == attempts:
                raise WarehouseConflictError(
                    f"{schema}.{table}: writing {what} conflicted with concurrent writers "
                    f"{attempts} times (last: {str(exc).splitlines()[-1]}). Nothing of this write "
                    "was committed; the table is as the other writers left it. Re-run the step."
                ) from exc
            time.sleep(CONFLICT_BASE_WAIT_S * 2 ** (attempt - 1) * (0.5 + random.random()))
