"""The project's DuckDB I/O manager: every slice write is one transaction, by column name.

Why not the stock ``DuckDBPandasIOManager``: it deletes the slice and inserts positionally, each
statement autocommitted, so a failed insert leaves the table empty and a column-order change swaps
values silently (``shared/notes/dagster-duckdb-pandera.md``). Here a write is
``BEGIN; [CREATE|ALTER ADD COLUMN]; DELETE slice; INSERT (cols) SELECT cols; COMMIT`` and any error
rolls the whole thing back, leaving the previous content intact.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

PARTITION_EXPR = "partition_expr"
SCHEMA_KEY = "schema"
COLUMN_SCHEMA_KEY = "dagster/column_schema"

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


class WarehouseLockedError(RuntimeError):
    """The warehouse file stayed locked by another process for longer than the timeout."""


class SchemaEvolutionError(ValueError):
    """An output is incompatible with the table already in the warehouse."""


def quote_ident(name: str) -> str:
    """Quote an identifier that comes from code (asset names, schemas), never from data."""
    return '"' + name.replace('"', '""') + '"'


def _lock_holder(message: str) -> str:
    match = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", message)
    if not match:
        return "another process"
    return f"{match.group(1)} (PID {match.group(2)})"


@contextmanager
def connect(
    database: str | Path,
    lock_timeout_s: float = 60.0,
    log: Any | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting with backoff while another process holds its lock.

    DuckDB lets one process open a file read-write; a concurrent run or a DuckDB CLI left open makes
    ``connect`` fail at once, so we retry until ``lock_timeout_s`` and then name the holder.
    """
    path = Path(database)
    if str(database) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_timeout_s
    delay = 0.05
    warned = False
    while True:
        try:
            con = duckdb.connect(str(database))
            break
        except duckdb.IOException as exc:
            message = str(exc)
            if not any(marker in message for marker in _LOCK_MARKERS):
                raise
            if time.monotonic() >= deadline:
                holder = _lock_holder(message)
                raise WarehouseLockedError(
                    f"The warehouse {database} is locked by {holder}; "
                    f"waited {lock_timeout_s:.0f}s. "
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
    try:
        yield con
    finally:
        con.close()


def fetch_frame(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Run a query and return pandas with nanosecond datetimes (what the Pandera models declare)."""
    df = con.execute(sql, params or []).df()
    for name, dtype in df.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            continue
        if str(dtype).startswith("datetime64") and str(dtype) != "datetime64[ns]":
            # An SCD2 valid_to of 9999-12-31 does not fit nanoseconds: it stays microseconds.
            with suppress(OverflowError, pd.errors.OutOfBoundsDatetime):
                df[name] = df[name].astype("datetime64[ns]")

    return df


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
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    con.register("__ecommerce_frame", df)
    try:
        if columns is None:
            described = con.execute("DESCRIBE SELECT * FROM __ecommerce_frame").fetchall()
            columns = [(row[0], row[1], True) for row in described]
        declared = {name: sql_type for name, sql_type, _ in columns}
        undeclared = [c for c in df.columns if c not in declared]
        if undeclared:
            raise SchemaEvolutionError(
                f"{schema}.{table}: output has columns {undeclared} that its schema lacks"
            )
        missing = [name for name, _, nullable in columns if name not in df.columns and not nullable]
        if missing:
            raise SchemaEvolutionError(f"{schema}.{table}: output lacks required columns {missing}")
        if partition is not None:
            _check_inside_window(df, schema, table, *partition)

        con.execute("BEGIN TRANSACTION")
        try:
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
            if len(df):
                names = [n for n, _, _ in columns if n in df.columns]
                targets = ", ".join(quote_ident(n) for n in names)
                selects = ", ".join(
                    f"CAST({quote_ident(n)} AS {declared[n]}) AS {quote_ident(n)}" for n in names
                )
                con.execute(f"INSERT INTO {fq} ({targets}) SELECT {selects} FROM __ecommerce_frame")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("__ecommerce_frame")


def _check_inside_window(
    df: pd.DataFrame, schema: str, table: str, column: str, start: datetime, end: datetime
) -> None:
    """Rows outside the partition window would survive the next re-run of it: refuse them."""
    if column not in df.columns:
        raise SchemaEvolutionError(f"{schema}.{table}: partition column {column!r} is missing")
    if not len(df):
        return
    values = pd.to_datetime(df[column])
    outside = values.isna() | (values < pd.Timestamp(start)) | (values >= pd.Timestamp(end))
    if outside.any():
        sample = df.loc[outside, column].head(3).tolist()
        raise ValueError(
            f"{schema}.{table}: {int(outside.sum())} rows have {column} outside the partition "
            f"window [{start:%Y-%m-%d}, {end:%Y-%m-%d}), e.g. {sample}; nothing was written"
        )


def _window(context: dg.InputContext | dg.OutputContext) -> tuple[datetime, datetime]:
    window = context.asset_partitions_time_window
    return window.start.replace(tzinfo=None), window.end.replace(tzinfo=None)


class DuckDBWarehouseIOManager(dg.ConfigurableIOManager):
    """Persists pandas outputs as ``<schema>.<asset name>`` tables in one DuckDB file.

    The schema comes from the asset's ``schema`` metadata (``raw``, ``staging``, ``marts``);
    partitioned assets name their time column in ``partition_expr``.
    """

    database: str
    lock_timeout_s: float = 60.0
    preview_rows: int = 5

    def _identity(self, metadata: dict[str, Any], asset_key: dg.AssetKey) -> tuple[str, str]:
        return str(metadata.get(SCHEMA_KEY, "public")), asset_key.path[-1]

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | None) -> None:
        if obj is None:
            return
        metadata = dict(context.definition_metadata or {})
        schema, table = self._identity(metadata, context.asset_key)
        columns = declared_columns(metadata)
        partition = None
        if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
            partition = (str(metadata[PARTITION_EXPR]), *_window(context))
        with connect(self.database, self.lock_timeout_s, context.log) as con:
            write_slice(con, schema, table, obj, columns, partition)
            total = con.execute(
                f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}"
            ).fetchone()[0]
        out: dict[str, Any] = {
            "dagster/table_name": f"{schema}.{table}",
            "dagster/row_count": int(total),
            "preview": dg.MetadataValue.md(_preview(obj, self.preview_rows)),
        }
        if partition is not None:
            out["dagster/partition_row_count"] = len(obj)
        if COLUMN_SCHEMA_KEY in metadata:
            value = metadata[COLUMN_SCHEMA_KEY]
            out[COLUMN_SCHEMA_KEY] = getattr(value, "schema", value)
        context.add_output_metadata(out)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        upstream = context.upstream_output
        metadata = dict(upstream.definition_metadata or {}) if upstream else {}
        schema, table = self._identity(metadata, context.asset_key)
        wanted = (context.definition_metadata or {}).get("columns")
        select = ", ".join(quote_ident(c) for c in wanted) if wanted else "*"
        fq = f"{quote_ident(schema)}.{quote_ident(table)}"
        with connect(self.database, self.lock_timeout_s, context.log) as con:
            if not _table_columns(con, schema, table):
                raise dg.Failure(
                    f"Table {schema}.{table} does not exist in {self.database}: materialize "
                    f"{context.asset_key.to_user_string()} first."
                )
            if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
                column = quote_ident(str(metadata[PARTITION_EXPR]))
                return fetch_frame(
                    con,
                    f"SELECT {select} FROM {fq} WHERE {column} >= ? AND {column} < ?",
                    list(_window(context)),
                )
            return fetch_frame(con, f"SELECT {select} FROM {fq}")


def _preview(df: pd.DataFrame, rows: int) -> str:
    if df.empty:
        return "_no rows_"
    return df.head(rows).to_markdown(index=False)
