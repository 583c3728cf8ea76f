"""The project's warehouse I/O manager: every slice write is one transaction, by column name.

The write itself (why not the stock ``DuckDBPandasIOManager``, and the lake's retries) is in
``writes.py``; here: which slice an output or input is, and each day's metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .blocking import refuse_failed_upstream
from .dagster_internals import add_partition_metadata
from .lake import catalog_lock
from .resources import Warehouse
from .slices import DailyFrames, KeyedFrame, WarehouseSlice
from .table_schema import table_columns
from .warehouse import is_lake, quote_ident
from .writes import DaySlice, write_chunks

__all__ = ["DuckDBWarehouseIOManager"]

PARTITION_EXPR = "partition_expr"
SCHEMA_KEY = "schema"
COLUMN_SCHEMA_KEY = "dagster/column_schema"
# Definition metadata of assets whose column-schema-change check compares partitions: their column
# schema goes on every day's materialization, not only on a range's last day.
SCHEMA_ON_EVERY_DAY = "ecommerce/column_schema_on_every_day"


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

    # The ``warehouse`` resource itself (nested): one owner of the database, its lock wait and
    # its connections.
    warehouse: Warehouse
    preview_rows: int = 5
    # Asset name -> its blocking checks: an input whose days failed one in an earlier run is
    # refused (``blocking.py``). ``definitions.py`` fills it from the checks it builds.
    blocking_checks: dict[str, list[str]] = {}  # noqa: RUF012 (pydantic copies it per instance)

    @property
    def database(self) -> str:
        return self.warehouse.database

    def _identity(self, metadata: dict[str, Any], asset_key: dg.AssetKey) -> tuple[str, str]:
        return str(metadata.get(SCHEMA_KEY, "public")), asset_key.path[-1]

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | DailyFrames | KeyedFrame | None
    ) -> None:
        if obj is None:
            return
        metadata = dict(context.definition_metadata or {})
        schema, table = self._identity(metadata, context.asset_key)
        columns = declared_columns(metadata)
        partition = None
        if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
            days = obj.days if isinstance(obj, DailyFrames) else None
            partition = DaySlice(
                str(metadata[PARTITION_EXPR]),
                *_window(context),
                days=tuple(sorted(days)) if days is not None else None,
            )
        key_set = None
        if isinstance(obj, KeyedFrame):  # only these keys' rows are replaced
            key_set, obj = (obj.key, obj.keys), obj.frame
        frames = _frames(obj) if isinstance(obj, DailyFrames) else [obj]
        per_day: dict[str, int] = {}
        last: list[str] = []

        def seen(frame: pd.DataFrame) -> None:
            if partition is not None:
                per_day.update(_rows_by_day(frame, partition.column))
            if len(frame):
                # Rendered now: ``head()`` of an Arrow-backed frame is a view that would keep the
                # whole chunk's buffers alive while the next chunk is produced.
                last[:] = [_preview(frame, min(self.preview_rows, 5))]

        with self.warehouse.connect(context.log, context.run_id) as con:
            written = write_chunks(
                con,
                schema,
                table,
                frames,
                columns,
                partition,
                on_chunk=seen,
                staged=is_lake(self.database),
                ddl_lock=partial(catalog_lock, self.database) if is_lake(self.database) else None,
                keys=key_set,
            )
            total = con.execute(
                f"SELECT count(*) FROM {quote_ident(schema)}.{quote_ident(table)}"
            ).fetchone()[0]
            if partition is not None and partition.days is not None:
                # Days this write left as they were: their rows, for their pages.
                per_day.update(_kept_rows(con, schema, table, partition))
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
        run_id = _input_run_id(context)
        with self.warehouse.connect(context.log, run_id) as con:
            if not table_columns(con, schema, table):
                raise dg.Failure(
                    f"Table {schema}.{table} does not exist in {self.database}: materialize "
                    f"{context.asset_key.to_user_string()} first."
                )
        found = WarehouseSlice(
            warehouse=self.warehouse,
            schema=schema,
            table=table,
            columns=tuple(wanted) if wanted else None,
            run_id=run_id,
        )
        if context.has_asset_partitions and metadata.get(PARTITION_EXPR):
            start, end = _window(context)
            return replace(
                found, column=str(metadata[PARTITION_EXPR]), start=start.date(), end=end.date()
            )
        return found


def _input_run_id(context: dg.InputContext) -> str | None:
    """The run loading an input (None for an input context built outside a run)."""
    try:
        return context.step_context.run_id
    except dg.DagsterInvariantViolationError:
        return None


def _kept_rows(con: Any, schema: str, table: str, partition: DaySlice) -> dict[str, int]:
    """Rows per day of the slice's window that the write did not replace."""
    replaced = set(partition.days or ())
    col = quote_ident(partition.column)
    rows = con.execute(
        f"SELECT CAST({col} AS DATE), count(*) FROM {quote_ident(schema)}.{quote_ident(table)} "
        f"WHERE {col} >= ? AND {col} < ? GROUP BY 1",
        [partition.start, partition.end],
    ).fetchall()
    return {str(day): int(n) for day, n in rows if day not in replaced}


def _frames(obj: DailyFrames) -> Iterator[pd.DataFrame]:
    for _, frame in obj:
        yield frame
        del frame  # before the next chunk is produced (see DailyFrames.__iter__)


def _preview(df: pd.DataFrame, rows: int) -> str:
    if df.empty:
        return "_no rows_"
    return df.head(rows).to_markdown(index=False)
