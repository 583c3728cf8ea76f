"""Days as the unit of work: chunk planning, slices of the warehouse, chunked outputs."""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pandera.errors
import pyarrow
import pyarrow.compute as pc
import pytest

from ecommerce_assets.io_manager import DuckDBWarehouseIOManager
from ecommerce_assets.resources import Warehouse
from ecommerce_assets.runner import range_tags
from ecommerce_assets.schemas import StgLoadAudit, conform, dagster_type
from ecommerce_assets.slices import (
    DailyFrames,
    WarehouseSlice,
    chunk_rows,
    plan_chunks,
    sql_inputs,
)

D = [date(2024, 3, 1) + timedelta(days=i) for i in range(6)]


def test_chunks_are_sized_by_rows_so_busy_and_quiet_days_cost_the_same() -> None:
    rows = {D[0]: 40, D[1]: 40, D[2]: 100, D[3]: 10, D[4]: 10, D[5]: 10}
    # 40 + 40 fit in 100; the busy day alone fills a chunk; three quiet days share one.
    assert plan_chunks(D, rows, 100) == [[D[0], D[1]], [D[2]], [D[3], D[4], D[5]]]


def test_a_day_heavier_than_the_budget_is_its_own_chunk_and_days_are_never_lost() -> None:
    rows = {D[0]: 5, D[1]: 500, D[2]: 5}
    assert plan_chunks(D[:3], rows, 10) == [[D[0]], [D[1]], [D[2]]]
    # Days without rows (no delivery) still belong to a chunk: their partitions get written.
    assert plan_chunks(D, {}, 10) == [D]


def test_chunk_rows_is_read_from_the_environment() -> None:
    assert chunk_rows({}) == 250_000
    assert chunk_rows({"ECOMMERCE_CHUNK_ROWS": "250_000"}) == 250_000
    with pytest.raises(ValueError, match="ECOMMERCE_CHUNK_ROWS='lots' is not a whole number"):
        chunk_rows({"ECOMMERCE_CHUNK_ROWS": "lots"})
    with pytest.raises(ValueError, match="must be at least 1"):
        chunk_rows({"ECOMMERCE_CHUNK_ROWS": "0"})


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    path = str(tmp_path / "w.duckdb")
    with duckdb.connect(path) as con:
        con.execute("CREATE SCHEMA s")
        con.execute(
            "CREATE TABLE s.t AS SELECT DATE '2024-03-01' + CAST(i % 4 AS INTEGER) AS d, "
            "i AS n, 'x' || i AS label FROM range(10) AS r(i)"
        )
    return path


def test_a_slice_reads_only_its_days_and_columns(warehouse: str) -> None:
    whole = WarehouseSlice(
        Warehouse(database=warehouse), "s", "t", column="d", start=D[0], end=D[4]
    )
    assert whole.rows_by_day() == {D[0]: 3, D[1]: 3, D[2]: 2, D[3]: 2}
    assert whole.chunks(6) == [[D[0], D[1]], [D[2], D[3]]]
    part = whole.narrow([D[1], D[2]])
    assert (part.start, part.end) == (D[1], D[3])
    frame = WarehouseSlice(
        Warehouse(database=warehouse),
        "s",
        "t",
        column="d",
        start=D[1],
        end=D[2],
        columns=("n", "label"),
    ).frame()
    assert list(frame.columns) == ["n", "label"]
    assert sorted(frame["n"].tolist()) == [1, 5, 9]
    # Arrow-backed: no Python object per text value.
    assert str(frame["label"].dtype) == "string[pyarrow]"


def test_sql_inputs_mixes_frames_and_warehouse_slices(warehouse: str) -> None:
    days = pd.DataFrame({"d": pd.to_datetime(["2024-03-02", "2024-03-04"])})
    table = WarehouseSlice(
        Warehouse(database=warehouse), "s", "t", column="d", start=D[0], end=D[4]
    )
    with sql_inputs({"t": table, "wanted": days}) as con:
        rows = con.execute(
            "SELECT CAST(t.d AS VARCHAR), count(*) FROM t JOIN wanted w "
            "ON t.d = CAST(w.d AS DATE) GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("2024-03-02", 3), ("2024-03-04", 2)]


_COUNTS = (
    "staged_rows",
    "quarantined_rows",
    "exact_duplicates",
    "repaired_rows",
    "unknown_values",
    "invalid_emails",
)


def _audit(day: date, raw_rows: int) -> pd.DataFrame:
    counts = {name: [0] for name in _COUNTS}
    frame = pd.DataFrame(
        {"table_name": ["orders"], "delivery_date": [day], "raw_rows": [raw_rows], **counts}
    )
    return conform(frame, StgLoadAudit)


def test_daily_frames_are_validated_chunk_by_chunk_by_the_output_type() -> None:
    frames = DailyFrames([([D[0]], _audit(D[0], 3)), ([D[1]], _audit(D[1], -1))])
    check = dagster_type(StgLoadAudit).type_check(None, frames)  # type: ignore[arg-type]
    assert check.success
    chunks = iter(frames)
    assert next(chunks)[1]["raw_rows"].tolist() == [3]
    # The second chunk breaks the model (raw_rows >= 0): it fails when it is produced.
    with pytest.raises(pandera.errors.SchemaErrors, match="raw_rows"):
        next(chunks)


def test_a_written_chunk_is_released_before_the_next_one_is_produced(tmp_path: Path) -> None:
    """One chunk in memory at a time, though a range is written in one transaction.

    A frame ``register``ed on a DuckDB connection inside an open transaction stays in its catalog
    until COMMIT, even unregistered, so every chunk of a range once stayed in memory to the end
    (peak memory grew with the range). Measured in Arrow's pool, where the chunks' values live.
    """
    rows = 500_000
    chunk = 8 * rows  # the int64 column, allocated in Arrow's pool
    in_pool: list[int] = []

    def produce(days: list[date]) -> Iterator[tuple[list[date], pd.DataFrame]]:
        for day in days:
            in_pool.append(pyarrow.total_allocated_bytes())
            values = pc.add(pyarrow.array(np.arange(rows)), 1)
            frame = pd.DataFrame(
                {
                    "d": pd.Series([pd.Timestamp(day)] * rows, dtype="datetime64[ns]"),
                    "n": pd.array(values, dtype=pd.ArrowDtype(pyarrow.int64())),
                }
            )
            del values
            yield [day], frame
            del frame

    daily = dg.DailyPartitionsDefinition(start_date=D[0].isoformat(), end_date=D[5].isoformat())

    @dg.asset(
        name="t",
        partitions_def=daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"schema": "s", "partition_expr": "d"},
    )
    def t(context: dg.AssetExecutionContext) -> DailyFrames:
        window = context.partition_time_window
        days = [d for d in D if window.start.date() <= d < window.end.date()]
        return DailyFrames(produce(days))

    result = dg.materialize(
        [t],
        resources={
            "io_manager": DuckDBWarehouseIOManager(
                warehouse=Warehouse(database=str(tmp_path / "w.duckdb"))
            )
        },
        tags=range_tags(D[0], D[4]),
    )
    assert result.success
    assert len(in_pool) == 5
    grown = [after - in_pool[0] for after in in_pool[1:]]
    assert max(grown) < chunk // 2, f"Arrow memory kept from earlier chunks: {grown}"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert con.execute("SELECT count(*), sum(n) FROM s.t").fetchall() == [
            (5 * rows, 5 * rows * (rows + 1) // 2)
        ]
