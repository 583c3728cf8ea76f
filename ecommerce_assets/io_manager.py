"""The project's DuckDB I/O manager: every slice write is one transaction, by column name.

Why not the stock ``DuckDBPandasIOManager``: it deletes the slice and inserts positionally, each
statement autocommitted, so a failed insert leaves the table empty and a column-order change swaps
values silently (``shared/notes/dagster-duckdb-pandera.md``). Here a write is
``BEGIN; [CREATE|ALTER ADD COLUMN]; DELETE slice; INSERT (cols) SELECT cols; COMMIT`` and any error
rolls the whole thing back, leaving the previous content intact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .blocking import refuse_failed_upstream
from .dagster_internals import add_partition_metadata
from .resources import Warehouse
from .slices import DailyFrames, WarehouseSlice
from .warehouse import WarehouseLockedError, connect, fetch_frame, quote_ident

__all__ = [
    "DuckDBWarehouseIOManager",
    "SchemaEvolutionError",
    "WarehouseLockedError",
    "connect",
    "fetch_frame",
    "quote_ident",
    "write_chunks",
    "write_slice",
]

PARTITION_EXPR = "partition_expr"
SCHEMA_KEY = "schema"
COLUMN_SCHEMA_KEY = "dagster/column_schema"
# Definition metadata of assets whose column-schema-change check compares partitions: their column
# schema goes on every day's materialization, not only on a range's last day.
SCHEMA_ON_EVERY_DAY = "ecommerce/column_schema_on_every_day"
_FRAME = "__ecommerce_frame"


class SchemaEvolutionError(ValueError):
    """An output is incompatible with the table already in the warehouse."""


def _normalize_type(sql_type: str) -> str:
    return re.sub(r"\s+", "", sql_type).upper()


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def declared_columns(metadata: dict[str, Any]) -> list[tuple[str, str, bool]] | None:
    """(name, SQL type, nullable) from a ``dagster/column_schema`` entry, if the asset has one."""
    value = metadata.get(COLUMN_SCHEMA_KEY)
    if value is None:
        return None
    schema = getattr(value, "schema", value)
    out = []
    for column in schema.columns:
        nullable = column.constraints.nullable if column.constraints else True
        out.append((column.name, column.type, nullable))
    return out


def _as_arrow(df: pd.DataFrame) -> pyarrow.Table:
    """The frame as an Arrow table: zero-copy for Arrow-backed columns, converted otherwise."""
    return pyarrow.Table.from_pandas(df, preserve_index=False)


def write_slice(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    df: pd.DataFrame,
    columns: list[tuple[str, str, bool]] | None = None,
    partition: tuple[str, datetime, datetime] | None = None,
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
    partition: tuple[str, datetime, datetime] | None = None,
    on_chunk: Any = None,
) -> int:
    """``write_slice`` for a slice produced in chunks: still one transaction for the whole slice.

    ``BEGIN; [CREATE|ALTER ADD COLUMN]; DELETE slice; INSERT chunk (by name)...; COMMIT``: if any
    chunk fails (an error in the code producing it, validation, an undeclared column, a row outside
    the window), everything rolls back and the previous content stays. ``on_chunk(frame)`` is
    called after each chunk is inserted. Returns the rows written.
    """
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    written = 0
    began = False
    try:
        for df in chunks:
            # The chunk is a relation queried under the name _FRAME, not ``con.register``ed: a
            # registration dropped inside an open transaction stays in DuckDB's catalog, with its
            # Arrow table, until COMMIT, so every chunk of the slice stayed in memory to the end.
            frame = con.from_arrow(_as_arrow(df))
            if columns is None:
                described = frame.query(_FRAME, f"DESCRIBE SELECT * FROM {_FRAME}").fetchall()
                columns = [(row[0], row[1], True) for row in described]
            declared = {name: sql_type for name, sql_type, _ in columns}
            _check_columns(df, schema, table, columns, declared)
            if partition is not None:
                _check_inside_window(frame, len(df), schema, table, *partition)
            if not began:
                con.execute("BEGIN TRANSACTION")
                began = True
                _prepare(con, schema, table, columns, partition)
                in_table = _table_columns(con, schema, table)
            if len(df):
                # By name: every column of the table in its order, NULL where the chunk lacks it.
                selects = ", ".join(
                    f"CAST({quote_ident(n)} AS {declared[n]}) AS {quote_ident(n)}"
                    if n in declared and n in df.columns
                    else f"CAST(NULL AS {sql_type}) AS {quote_ident(n)}"
                    for n, sql_type in in_table.items()
                )
                frame.project(selects).insert_into(fq)
                written += len(df)
            del frame
            if on_chunk is not None:
                on_chunk(df)
            del df  # before the next chunk is produced
        if not began:  # no chunk at all: the slice becomes empty
            if columns is None:
                return 0
            con.execute("BEGIN TRANSACTION")
            began = True
            _prepare(con, schema, table, columns, partition)
        con.execute("COMMIT")
    except BaseException:
        if began:
            with suppress(duckdb.Error):  # a failed statement may leave its result open
                con.complete()
            con.execute("ROLLBACK")
        raise
    return written


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
    partition: tuple[str, datetime, datetime] | None,
) -> None:
    """Inside the transaction: create or evolve the table, then delete the slice."""
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    existing = _table_columns(con, schema, table)
    if not existing:
        ddl = ", ".join(f"{quote_ident(n)} {t}" for n, t, _ in columns)
        con.execute(f"CREATE TABLE {fq} ({ddl})")
    else:
        for name, sql_type, _ in columns:
            if name not in existing:
                con.execute(f"ALTER TABLE {fq} ADD COLUMN {quote_ident(name)} {sql_type}")
            elif _normalize_type(existing[name]) != _normalize_type(sql_type):
                raise SchemaEvolutionError(
                    f"{schema}.{table}: column {name!r} is {existing[name]} in the "
                    f"warehouse but the asset now produces {sql_type}. This is not a "
                    "compatible change: migrate the table (or drop it to rebuild) first. "
                    "Nothing was written."
                )
    if partition is not None:
        column, start, end = partition
        col = quote_ident(column)
        con.execute(f"DELETE FROM {fq} WHERE {col} >= ? AND {col} < ?", [start, end])
    else:
        con.execute(f"DELETE FROM {fq}")


def _check_inside_window(
    frame: duckdb.DuckDBPyRelation,
    rows: int,
    schema: str,
    table: str,
    column: str,
    start: datetime,
    end: datetime,
) -> None:
    """Rows outside the partition window would survive the next re-run of it: refuse them.

    Runs in DuckDB on the chunk's relation (no pandas conversion of the column)."""
    if not rows:
        return
    if column not in frame.columns:
        raise SchemaEvolutionError(f"{schema}.{table}: partition column {column!r} is missing")
    col = quote_ident(column)
    # A relation's query takes no parameters; the bounds are datetimes, written as literals.
    low, high = (f"TIMESTAMP '{bound.isoformat(sep=' ')}'" for bound in (start, end))
    outside = (
        f"{col} IS NULL OR CAST({col} AS TIMESTAMP) < {low} OR CAST({col} AS TIMESTAMP) >= {high}"
    )
    count, sample = frame.query(
        _FRAME,
        f"SELECT count(*), list(CAST({col} AS VARCHAR))[1:3] FROM {_FRAME} WHERE {outside}",
    ).fetchall()[0]
    if count:
        raise ValueError(
            f"{schema}.{table}: {int(count)} rows have {column} outside the partition "
            f"window [{start:%Y-%m-%d}, {end:%Y-%m-%d}), e.g. {sample}; nothing was written"
        )


def _window(context: dg.InputContext | dg.OutputContext) -> tuple[datetime, datetime]:
    window = context.asset_partitions_time_window
    return window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)


def _rows_by_day(frame: pd.DataFrame, column: str) -> dict[str, int]:
    """Rows per partition key (``YYYY-MM-DD``) of a chunk, counted by Arrow."""
    if not len(frame):
        return {}
    values = pyarrow.array(frame[column].array) if column in frame else pyarrow.array([])
    days = pc.cast(values, pyarrow.date32()) if not pyarrow.types.is_date32(values.type) else values
    counts = pc.value_counts(days)
    return {
        str(d.as_py()): int(n.as_py())
        for d, n in zip(counts.field("values"), counts.field("counts"), strict=True)
    }


class DuckDBWarehouseIOManager(dg.ConfigurableIOManager):
    """Persists outputs as ``<schema>.<asset name>`` tables in one DuckDB file.

    The schema comes from the asset's ``schema`` metadata (``raw``, ``staging``, ``marts``);
    partitioned assets name their time column in ``partition_expr``. An output is a frame, or
    ``DailyFrames`` (a range produced chunk by chunk; see ``slices.py``); an input is a
    ``WarehouseSlice`` that the asset reads as SQL or chunk by chunk.
    """

    database: str
    lock_timeout_s: float = 60.0
    preview_rows: int = 5
    # Asset name -> its blocking checks: an input whose days failed one in an earlier run is
    # refused (``blocking.py``). ``definitions.py`` fills it from the checks it builds.
    blocking_checks: dict[str, list[str]] = {}  # noqa: RUF012 (pydantic copies it per instance)

    @property
    def warehouse(self) -> Warehouse:
        """The ``warehouse`` resource's file and lock wait (one config, ``definitions.py``)."""
        return Warehouse(database=self.database, lock_timeout_s=self.lock_timeout_s)

    def _identity(self, metadata: dict[str, Any], asset_key: dg.AssetKey) -> tuple[str, str]:
        return str(metadata.get(SCHEMA_KEY, "public")), asset_key.path[-1]

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | DailyFrames | None
    ) -> None:
        if obj is None:
            return
        metadata = dict(context.definition_metadata or {})
        schema, table = self._identity(metadata, context.asset_key)
        columns = declared_columns(metadata)
        partition = None
        if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
            partition = (str(metadata[PARTITION_EXPR]), *_window(context))
        frames = _frames(obj) if isinstance(obj, DailyFrames) else [obj]
        per_day: dict[str, int] = {}
        last: list[str] = []

        def seen(frame: pd.DataFrame) -> None:
            if partition is not None:
                per_day.update(_rows_by_day(frame, partition[0]))
            if len(frame):
                # Rendered now: ``head()`` of an Arrow-backed frame is a view that would keep the
                # whole chunk's buffers alive while the next chunk is produced.
                last[:] = [_preview(frame, min(self.preview_rows, 5))]

        with self.warehouse.connect(context.log) as con:
            written = write_chunks(con, schema, table, frames, columns, partition, on_chunk=seen)
            total = con.execute(
                f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}"
            ).fetchone()[0]
        preview = dg.MetadataValue.md(last[0] if last else _preview(pd.DataFrame(), 5))
        out: dict[str, Any] = {"dagster/table_name": f"{schema}.{table}"}
        if partition is None:
            out.update({"dagster/row_count": int(total), "preview": preview})
            if COLUMN_SCHEMA_KEY in metadata:
                value = metadata[COLUMN_SCHEMA_KEY]
                out[COLUMN_SCHEMA_KEY] = getattr(value, "schema", value)
            context.add_output_metadata(out)
            return
        context.add_output_metadata(out)
        # Each day's materialization carries that day's figures. What describes the table as a
        # whole (total rows, a preview, the column schema) goes on the range's last day only,
        # not copied onto 366 events, except the column schema of assets whose schema-change
        # check (Dagster's) compares the two latest materializations, whichever days they are.
        schema_meta = {}
        if COLUMN_SCHEMA_KEY in metadata:
            value = metadata[COLUMN_SCHEMA_KEY]
            schema_meta[COLUMN_SCHEMA_KEY] = getattr(value, "schema", value)
        keys = context.asset_partition_keys
        notes = obj.day_metadata if isinstance(obj, DailyFrames) else {}
        notes = {str(day): figures for day, figures in notes.items()}
        by_day: dict[str, dict[str, Any]] = {}
        for key in keys:
            day_meta: dict[str, Any] = {
                "dagster/partition_row_count": per_day.get(key, 0),
                **(schema_meta if metadata.get(SCHEMA_ON_EVERY_DAY) else {}),
                **notes.get(key, {}),
            }
            if key == keys[-1]:
                day_meta.update(
                    {
                        "dagster/row_count": int(total),
                        "preview": preview,
                        "range_rows": written,
                        **schema_meta,
                    }
                )
            by_day[key] = day_meta
        add_partition_metadata(context.step_context, context.asset_key, by_day)

    def load_input(self, context: dg.InputContext) -> WarehouseSlice:
        refuse_failed_upstream(context, self.blocking_checks)
        upstream = context.upstream_output
        metadata = dict(upstream.definition_metadata or {}) if upstream else {}
        schema, table = self._identity(metadata, context.asset_key)
        wanted = (context.definition_metadata or {}).get("columns")
        with self.warehouse.connect(context.log) as con:
            if not _table_columns(con, schema, table):
                raise dg.Failure(
                    f"Table {schema}.{table} does not exist in {self.database}: materialize "
                    f"{context.asset_key.to_user_string()} first."
                )
        found = WarehouseSlice(
            database=self.database,
            schema=schema,
            table=table,
            columns=tuple(wanted) if wanted else None,
            lock_timeout_s=self.lock_timeout_s,
        )
        if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
            start, end = _window(context)
            return replace(
                found, column=str(metadata[PARTITION_EXPR]), start=start.date(), end=end.date()
            )
        return found


def _frames(obj: DailyFrames) -> Iterator[pd.DataFrame]:
    for _, frame in obj:
        yield frame
        del frame  # before the next chunk is produced (see DailyFrames.__iter__)


def _preview(df: pd.DataFrame, rows: int) -> str:
    if df.empty:
        return "_no rows_"
    return df.head(rows).to_markdown(index=False)
