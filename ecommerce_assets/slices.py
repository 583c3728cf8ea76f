"""Days as the unit of work: a range run reads and writes its days a chunk at a time.

A single-run backfill hands each step every day of its range. Loading them all at once made memory
grow with the range (16 GB for a year of 10 M rows). Instead:

- the I/O manager gives each warehouse input as a ``WarehouseSlice``: a lazy reference to the
  input's days in the warehouse, which a transform reads as a SQL view (history stays in DuckDB,
  only results cross into pandas) or one chunk of days at a time;
- a partitioned asset returns ``DailyFrames``: its output produced chunk by chunk (consecutive
  days, about ``ECOMMERCE_CHUNK_ROWS`` rows each, so a busy day and a quiet one cost the same),
  which the I/O manager validates and writes chunk by chunk inside one transaction, recording each
  day's own figures on that day's partition.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import duckdb
import pandas as pd

from .resources import Warehouse
from .warehouse import fetch_frame, quote_ident

CHUNK_ROWS_ENV = "ECOMMERCE_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 250_000


def chunk_rows(environ: Mapping[str, str] | None = None) -> int:
    """Rows per chunk (``ECOMMERCE_CHUNK_ROWS``, default 250,000), read at run time."""
    env = os.environ if environ is None else environ
    text = (env.get(CHUNK_ROWS_ENV) or "").strip()
    if not text:
        return DEFAULT_CHUNK_ROWS
    try:
        value = int(text.replace("_", ""))
    except ValueError as exc:
        raise ValueError(f"{CHUNK_ROWS_ENV}={text!r} is not a whole number of rows") from exc
    if value < 1:
        raise ValueError(f"{CHUNK_ROWS_ENV}={text!r} must be at least 1")
    return value


def plan_chunks(
    days: Sequence[date], weight_by_day: Mapping[date, int], budget: int
) -> list[list[date]]:
    """Consecutive days grouped so that each group weighs about ``budget`` (rows or bytes).

    A day is never split (it is the unit the UI shows), so one day heavier than the budget is a
    chunk of its own.
    """
    chunks: list[list[date]] = []
    current: list[date] = []
    total = 0
    for day in days:
        weight = int(weight_by_day.get(day, 0))
        if current and total + weight > budget:
            chunks.append(current)
            current, total = [], 0
        current.append(day)
        total += weight
    if current:
        chunks.append(current)
    return chunks


def days_in(start: date, end: date) -> list[date]:
    """Days in [start, end): the one place a range of days is listed."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


@dataclass(frozen=True)
class DaySlice:
    """The part of a table a write replaces: ``column`` in [start, end), or, with ``days``, only
    those days of it (a range run that skips days it has no delivery for keeps their rows)."""

    column: str
    start: datetime
    end: datetime
    days: tuple[date, ...] | None = None

    def ranges(self) -> list[tuple[datetime, datetime]]:
        """Half-open [start, end) ranges of the replaced days (one per block of days)."""
        if self.days is None:
            return [(self.start, self.end)]
        out: list[tuple[datetime, datetime]] = []
        for day in sorted(set(self.days)):
            low = datetime.combine(day, clock_time())
            high = low + timedelta(days=1)
            if low < self.start or high > self.end:
                raise ValueError(f"{day} is outside the slice [{self.start}, {self.end})")
            if out and out[-1][1] == low:
                out[-1] = (out[-1][0], high)
            else:
                out.append((low, high))
        return out

    def label(self) -> str:
        window = f"[{self.start:%Y-%m-%d}, {self.end:%Y-%m-%d})"
        if self.days is None:
            return f"days {window}"
        return f"{len(set(self.days))} day(s) of {window}"


SliceLike = DaySlice | tuple[str, datetime, datetime]


def as_slice(partition: SliceLike | None) -> DaySlice | None:
    """A ``DaySlice`` from a slice or a (column, start, end) tuple."""
    if partition is None or isinstance(partition, DaySlice):
        return partition
    return DaySlice(*partition)


@dataclass(frozen=True)
class WarehouseSlice:
    """A warehouse table, or the days [start, end) of it by its partition column, not yet read."""

    warehouse: Warehouse  # the resource: where the table is, and how long to wait for its lock
    schema: str
    table: str
    column: str | None = None
    start: date | None = None
    end: date | None = None
    columns: tuple[str, ...] | None = None
    # The run reading it: its connections share the run's one lock wait (``warehouse.connect``).
    run_id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def days(self) -> list[date]:
        if self.start is None or self.end is None:
            raise ValueError(f"{self.name} is not a slice of days")
        return days_in(self.start, self.end)

    def narrow(self, days: Sequence[date]) -> WarehouseSlice:
        """The same table restricted to the days from ``min(days)`` to ``max(days)``."""
        if self.column is None:
            return self
        return replace(self, start=min(days), end=max(days) + timedelta(days=1))

    def select_sql(self) -> str:
        """``SELECT`` of the slice. Dates are ``date`` objects, never text from outside."""
        cols = ", ".join(quote_ident(c) for c in self.columns) if self.columns else "*"
        sql = f"SELECT {cols} FROM {quote_ident(self.schema)}.{quote_ident(self.table)}"
        if self.column is not None and self.start is not None and self.end is not None:
            col = quote_ident(self.column)
            sql += (
                f" WHERE {col} >= DATE '{self.start.isoformat()}'"
                f" AND {col} < DATE '{self.end.isoformat()}'"
            )
        return sql

    def rows_by_day(self) -> dict[date, int]:
        """Rows per day of the slice (what chunks are sized by)."""
        if self.column is None:
            raise ValueError(f"{self.name} has no partition column")
        col = quote_ident(self.column)
        with self.warehouse.connect(run_id=self.run_id) as con:
            rows = con.execute(
                f"SELECT CAST({col} AS DATE), count(*) FROM ({self.select_sql()}) GROUP BY 1"
            ).fetchall()
        return {day: int(n) for day, n in rows}

    def chunks(self, budget: int | None = None) -> list[list[date]]:
        """The slice's days in chunks of about ``budget`` rows (default ``chunk_rows()``)."""
        return plan_chunks(self.days(), self.rows_by_day(), budget or chunk_rows())

    def frame(self) -> pd.DataFrame:
        """The slice's rows as an Arrow-backed frame."""
        with self.warehouse.connect(run_id=self.run_id) as con:
            return fetch_frame(con, self.select_sql())


Relation = pd.DataFrame | WarehouseSlice


@contextmanager
def sql_inputs(inputs: Mapping[str, Relation | None]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection in which every input is a relation of that name.

    A frame is registered (zero-copy when it is Arrow-backed); a ``WarehouseSlice`` becomes a
    temporary view over the warehouse table, so SQL over all of history runs inside DuckDB and only
    its result crosses into pandas. Transforms take either, so unit tests pass small frames.
    """
    slices = [v for v in inputs.values() if isinstance(v, WarehouseSlice)]
    databases = {s.warehouse.database for s in slices}
    if len(databases) > 1:
        raise ValueError(f"inputs come from several warehouses: {sorted(databases)}")
    opened = (
        slices[0].warehouse.connect(run_id=slices[0].run_id) if slices else _memory_connection()
    )
    with opened as con:
        for name, value in inputs.items():
            if isinstance(value, WarehouseSlice):
                con.execute(f"CREATE TEMP VIEW {quote_ident(name)} AS {value.select_sql()}")
            elif value is not None:
                con.register(name, value)
        yield con


@contextmanager
def _memory_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    try:
        yield con
    finally:
        con.close()


@dataclass
class KeyedFrame:
    """An unpartitioned output that replaces only the rows of some business keys.

    ``frame`` holds every row of those ``keys`` (column ``key``); the write deletes the table's
    rows of ``keys`` and inserts ``frame`` in one transaction, leaving every other key as it was.
    What an SCD2 dimension updated from a day's changes writes (``assets/dimensions.py``), so a
    day costs its keys, not the table.
    """

    frame: pd.DataFrame
    key: str
    keys: Sequence[int]


@dataclass
class DailyFrames:
    """A partitioned output as (days, frame) chunks, produced lazily while it is written.

    Each chunk's frame holds exactly the rows of its days; together the chunks cover the step's
    range in order. ``validate`` (set by the output's Dagster type) runs on each chunk first.
    ``day_metadata`` holds each day's own figures, filled while the chunks are produced; the I/O
    manager puts them on that day's materialization with the day's row count, in one call per
    day (Dagster's per-partition metadata costs grow with the number of calls in a step).
    ``days``: the only days of the step's range this output replaces (the raw layer leaves a day
    it has no acceptable delivery for as it was); ``None``: every day of the range. Known before
    the first chunk: the write deletes the replaced days when it starts.
    """

    chunks: Iterable[tuple[Sequence[date], pd.DataFrame]]
    validate: Callable[[pd.DataFrame], object] | None = None
    day_metadata: dict[date, dict[str, Any]] = field(default_factory=dict)
    days: set[date] | None = None

    @classmethod
    def single(
        cls,
        days: Sequence[date],
        frame: pd.DataFrame,
        day_metadata: dict[date, dict[str, Any]] | None = None,
    ) -> DailyFrames:
        """The whole range as one chunk (for outputs of a few rows per day)."""
        return cls([(list(days), frame)], day_metadata=day_metadata or {})

    def __iter__(self) -> Iterator[tuple[Sequence[date], pd.DataFrame]]:
        for days, frame in self.chunks:
            if self.validate is not None:
                self.validate(frame)
            yield days, frame
            # Resumed for the next chunk: let this one go before it is produced (a generator's
            # local would keep two chunks alive at once). Producers do the same.
            del frame
