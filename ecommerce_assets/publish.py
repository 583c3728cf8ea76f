"""The analysts' published copy: the marts in a DuckDB file readers can hold open while runs write.

DuckDB admits one process with a file open for writing and no reader beside it, so an analyst's
session on the warehouse made the next run wait for the lock and fail. Readers get a file of their
own instead. ``publish`` builds a new copy beside the published one (``.<name>.<pid>.<id>.tmp``,
attached to the run's warehouse connection), checkpoints it, and swaps it in with ``os.replace``:
a reader holding the previous copy keeps its inode, a consistent snapshot; a reader opening the
path afterwards gets the new one. The run never opens the published file (it only copies it with
the filesystem and renames over it), so no reader can make it wait.

Only what changed is written. A full copy of the scale-10 marts costs 1.0-1.8 s, more than 10 % of
a one-day run (bench/results/analytics-scale-10.json), so the previous copy is copied by the
filesystem (~0.04 s) and only what differs is replaced in it: for a table partitioned by day, the
days whose row count or content digest (XOR of row hashes) differ between the warehouse and the
copy; for the others, the whole table when its digest differs. A previous copy that cannot serve as
the base (missing, of another format, a ``.wal`` beside it because someone opened it for writing,
unreadable) is rebuilt whole.

Parquet (``ECOMMERCE_ANALYTICS_PARQUET=dir``): the same tables as files of a version folder swapped
in as a whole (``parquet_export.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow

from .parquet_export import export_parquet, swap_parquet
from .resources import Warehouse
from .warehouse import quote_ident

# published.info.format: a previous copy of another format is rebuilt whole.
FORMAT = 1
# The copy's own schema (not ``analytics``: in a file named analytics.duckdb, DuckDB's catalog is
# ``analytics`` too, and ``analytics.x`` would be ambiguous).
META = "published"
INFO = "info"
# The new copy's name while it is attached to the warehouse connection.
ALIAS = "analytics_new"
# More changed days than this share of a table's days: the table is copied whole.
WHOLE_TABLE_SHARE = 0.5
_HEADER_BYTES = 3 * 4096


@dataclass(frozen=True)
class Source:
    """A warehouse table to publish, with its day column when it is partitioned by day."""

    schema: str
    table: str
    day_column: str | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass
class TableResult:
    name: str
    rows: int
    action: str  # "copied" (whole), "days replaced", "rows replaced", "unchanged"
    days: list[str] = field(default_factory=list)


@dataclass
class Publication:
    path: Path
    mode: str  # "full" or "incremental"
    reason: str  # why a full copy, or what the base was
    tables: list[TableResult]
    bytes: int
    seconds: float
    parquet: Path | None = None

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class AnalyticsCopy(dg.ConfigurableResource):
    """Where ``analytics_copy`` publishes: ``ECOMMERCE_ANALYTICS`` ("": no DuckDB copy, a lake's
    default) and ``ECOMMERCE_ANALYTICS_PARQUET`` ("": no Parquet export); and the warehouse file,
    held open while the step runs (see ``yield_for_execution``)."""

    path: str = ""
    parquet: str = ""
    warehouse: Warehouse  # the ``warehouse`` resource itself (nested)

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[AnalyticsCopy]:
        """Hold a connection to the warehouse file from before the step loads its 13 inputs to
        its end: each input's check through the I/O manager then reuses this process's open
        database (DuckDB's instance cache) instead of opening the file again, ~0.06 s apiece at
        scale 10, and the step waits for another process's lock once, here."""
        if not self.path or self.warehouse.location.is_lake:
            yield self
            return
        run_id = context.dagster_run.run_id if context.dagster_run else None
        with self.warehouse.connect(context.log, run_id):
            yield self


def _literal(path: Path | str) -> str:
    return str(path).replace("'", "''")


def base_problem(target: Path) -> str | None:
    """Why the published copy cannot be the base of an incremental publish (None: it can)."""
    if not target.exists():
        return "no previous copy"
    if Path(f"{target}.wal").exists():
        return "a .wal beside the previous copy (someone opened it for writing)"
    if target.stat().st_size < _HEADER_BYTES:
        return "the previous copy is not a DuckDB file"
    return None


def publish(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[Source],
    extras: Mapping[str, str | pyarrow.Table],
    target: Path,
    *,
    info: Mapping[str, Any] | None = None,
    parquet: Path | None = None,
    log: Any | None = None,
) -> Publication:
    """Publish ``sources`` (tables of ``con``'s database) and ``extras`` (``schema.table`` ->
    a query on ``con`` or an Arrow table: ``published.*``) to ``target``, swapped in atomically;
    ``info``'s fields go into ``published.info`` with the format, the time and the mode."""
    started = time.perf_counter()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    reason = base_problem(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")

    def fill(incremental: bool) -> tuple[list[TableResult], Path | None]:
        """Bring the copy at ``tmp`` up to date (the previous copy's bytes, or a new file)."""
        version = None
        con.execute(f"ATTACH '{_literal(tmp)}' AS {ALIAS}")
        try:
            if incremental:
                _check_format(con)
            source_db = con.execute("SELECT current_database()").fetchone()[0]
            tables = [_sync(con, source_db, s, incremental) for s in sources]
            row = {
                "format": FORMAT,
                "published_at": datetime.now(UTC).replace(tzinfo=None),
                "mode": "incremental" if incremental else "full",
                **(info or {}),
            }
            tables += _write_extras(con, {**extras, f"{META}.{INFO}": _one_row(row)})
            _write_table_list(con, tables)
            if parquet is not None:
                listed = [(t.name, t.action) for t in tables] + [(f"{META}.tables", "copied")]
                version = export_parquet(con, ALIAS, parquet, listed)
            con.execute(f"CHECKPOINT {ALIAS}")
        except BaseException:
            if version is not None:
                shutil.rmtree(version, ignore_errors=True)
            raise
        finally:
            con.execute(f"DETACH {ALIAS}")
        return tables, version

    version: Path | None = None
    try:
        if reason is None:
            try:
                shutil.copyfile(target, tmp)
                tables, version = fill(incremental=True)
            except (duckdb.Error, OSError, ValueError) as exc:
                reason = f"the previous copy could not be the base ({exc})"
                if log is not None:
                    log.warning(f"Publishing {target} whole: {reason}")
                _remove(tmp)
                _remove(Path(f"{tmp}.wal"))
        if reason is not None:
            tables, version = fill(incremental=False)
        if Path(f"{tmp}.wal").exists():
            raise RuntimeError(f"{tmp}: a WAL is left after CHECKPOINT and DETACH; not swapping")
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
        # A WAL left by someone who opened the previous copy for writing belongs to that copy:
        # a reader of the new one would replay it.
        _remove(Path(f"{target}.wal"))
        if parquet is not None and version is not None:
            swap_parquet(parquet, version)
    except BaseException:
        _remove(tmp)
        _remove(Path(f"{tmp}.wal"))
        if version is not None:
            shutil.rmtree(version, ignore_errors=True)
        raise
    return Publication(
        path=target,
        mode="full" if reason is not None else "incremental",
        reason=reason or "the previous copy, what changed replaced",
        tables=tables,
        bytes=target.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
        parquet=parquet,
    )


def _check_format(con: duckdb.DuckDBPyConnection) -> None:
    """The attached previous copy is one this code wrote (else: ValueError, a full copy)."""
    (found,) = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
        "AND schema_name = ? AND table_name = ?",
        [ALIAS, META, INFO],
    ).fetchone()
    if not found:
        raise ValueError(f"no {META}.{INFO} table")
    (fmt,) = con.execute(f"SELECT max(format) FROM {ALIAS}.{META}.{INFO}").fetchone()
    if fmt != FORMAT:
        raise ValueError(f"format {fmt}, not {FORMAT}")


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()


def _sync(
    con: duckdb.DuckDBPyConnection, source_db: str, source: Source, incremental: bool
) -> TableResult:
    """Make the copy's table equal the warehouse's, writing as little as it can."""
    schema, table = quote_ident(source.schema), quote_ident(source.table)
    src = f"{quote_ident(source_db)}.{schema}.{table}"
    dst = f"{ALIAS}.{schema}.{table}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{schema}")
    columns = _columns(con, source_db, source.schema, source.table)
    if not columns:
        raise ValueError(f"{source.name} does not exist in the warehouse")
    same = incremental and columns == _columns(con, ALIAS, source.schema, source.table)
    row = "hash(row(" + ", ".join(quote_ident(c) for c, _ in columns) + "))"
    days: list[str] = []
    if not same:
        action = "copied"
    elif source.day_column is None:
        digest = f"SELECT count(*), coalesce(bit_xor({row}), 0) FROM "
        before = con.execute(digest + src).fetchone()
        action = "unchanged" if before == con.execute(digest + dst).fetchone() else "copied"
        if action == "copied" and _replace_rows(con, src, dst, row, before[0]):
            action = "rows replaced"
            if con.execute(digest + dst).fetchone() != before:  # duplicates, or a hash collision
                action = "copied"
    else:
        day = f"CAST({quote_ident(source.day_column)} AS DATE)"
        digest = f"SELECT {day} AS d, count(*) AS n, bit_xor({row}) AS h FROM {{}} GROUP BY 1"
        changed = [
            d
            for (d,) in con.execute(
                f"SELECT coalesce(s.d, p.d) FROM ({digest.format(src)}) s "
                f"FULL JOIN ({digest.format(dst)}) p ON s.d IS NOT DISTINCT FROM p.d "
                "WHERE s.n IS DISTINCT FROM p.n OR s.h IS DISTINCT FROM p.h ORDER BY 1"
            ).fetchall()
        ]
        (total_days,) = con.execute(f"SELECT count(DISTINCT {day}) FROM {src}").fetchone()
        if not changed:
            action = "unchanged"
        elif None in changed or len(changed) > WHOLE_TABLE_SHARE * max(total_days, 1):
            action = "copied"
        else:
            action, days = "days replaced", [d.isoformat() for d in changed]
            where = f"WHERE {day} IN (SELECT unnest(?::DATE[]))"
            con.execute(f"DELETE FROM {dst} {where}", [changed])
            con.execute(f"INSERT INTO {dst} SELECT * FROM {src} {where}", [changed])
    if action == "copied":
        con.execute(f"CREATE OR REPLACE TABLE {dst} AS FROM {src}")
    (rows,) = con.execute(f"SELECT count(*) FROM {dst}").fetchone()
    return TableResult(source.name, int(rows), action, days)


def _replace_rows(con: duckdb.DuckDBPyConnection, src: str, dst: str, row: str, total: int) -> bool:
    """Delete the copy's rows the warehouse no longer has and insert the ones it lacks, matched
    by row hash, when that is under half the table (an SCD2 dimension: a day's new versions);
    False, having written nothing, when a whole copy is cheaper."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE publish_hashes AS SELECT {row} AS h FROM {src}")
    try:
        (new,) = con.execute(
            f"SELECT count(*) FROM temp.publish_hashes WHERE h NOT IN (SELECT {row} FROM {dst})"
        ).fetchone()
        if new > WHOLE_TABLE_SHARE * max(total, 1):
            return False
        con.execute(f"DELETE FROM {dst} WHERE {row} NOT IN (SELECT h FROM temp.publish_hashes)")
        con.execute(
            f"INSERT INTO {dst} SELECT * FROM {src} WHERE {row} NOT IN (SELECT {row} FROM {dst})"
        )
        return True
    finally:
        con.execute("DROP TABLE IF EXISTS temp.publish_hashes")


def _one_row(row: Mapping[str, Any]) -> pyarrow.Table:
    return pyarrow.Table.from_pylist([dict(row)])


def _write_extras(
    con: duckdb.DuckDBPyConnection, extras: Mapping[str, str | pyarrow.Table]
) -> list[TableResult]:
    """Tables of the copy's own (``published.*``), rewritten on every publish (they are small)."""
    out = []
    for name, content in extras.items():
        schema, table = (quote_ident(p) for p in name.split(".", 1))
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{schema}")
        dst = f"{ALIAS}.{schema}.{table}"
        if isinstance(content, str):
            con.execute(f"CREATE OR REPLACE TABLE {dst} AS {content}")
        else:
            con.register("publish_extra", content)
            try:
                con.execute(f"CREATE OR REPLACE TABLE {dst} AS FROM publish_extra")
            finally:
                con.unregister("publish_extra")
        (rows,) = con.execute(f"SELECT count(*) FROM {dst}").fetchone()
        out.append(TableResult(name, int(rows), "copied"))
    return out


def _write_table_list(con: duckdb.DuckDBPyConnection, tables: Sequence[TableResult]) -> None:
    days = pyarrow.array([t.days for t in tables], pyarrow.list_(pyarrow.string()))
    listing = pyarrow.table(
        {
            "table_name": [t.name for t in tables],
            "rows": pyarrow.array([t.rows for t in tables], pyarrow.int64()),
            "action": [t.action for t in tables],
            "days_replaced": days,
        }
    )
    _write_extras(con, {f"{META}.tables": listing})


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
