"""Days as the unit of work: chunk planning, slices of the warehouse, chunked outputs."""

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pandera.errors
import pytest

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
    assert chunk_rows({}) == 1_000_000
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
    whole = WarehouseSlice(warehouse, "s", "t", column="d", start=D[0], end=D[4])
    assert whole.rows_by_day() == {D[0]: 3, D[1]: 3, D[2]: 2, D[3]: 2}
    assert whole.chunks(6) == [[D[0], D[1]], [D[2], D[3]]]
    part = whole.narrow([D[1], D[2]])
    assert (part.start, part.end) == (D[1], D[3])
    frame = WarehouseSlice(
        warehouse, "s", "t", column="d", start=D[1], end=D[2], columns=("n", "label")
    ).frame()
    assert list(frame.columns) == ["n", "label"]
    assert sorted(frame["n"].tolist()) == [1, 5, 9]
    # Arrow-backed: no Python object per text value.
    assert str(frame["label"].dtype) == "string[pyarrow]"


def test_sql_inputs_mixes_frames_and_warehouse_slices(warehouse: str) -> None:
    days = pd.DataFrame({"d": pd.to_datetime(["2024-03-02", "2024-03-04"])})
    table = WarehouseSlice(warehouse, "s", "t", column="d", start=D[0], end=D[4])
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
