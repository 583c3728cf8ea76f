"""The DuckDB I/O manager's guarantees, each proven against a real DuckDB file."""

import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb_pandas import DuckDBPandasIOManager

from ecommerce_assets.io_manager import DuckDBWarehouseIOManager
from ecommerce_assets.resources import Warehouse
from ecommerce_assets.table_schema import SchemaEvolutionError
from ecommerce_assets.warehouse import WarehouseCorruptError, WarehouseLockedError, connect
from ecommerce_assets.writes import write_slice

DAY1 = (datetime(2024, 1, 1), datetime(2024, 1, 2))
DAY2 = (datetime(2024, 1, 2), datetime(2024, 1, 3))


def rows(db: Path, sql: str, stock: bool = False) -> list[tuple]:
    # The stock manager's connections carry a user-agent config; DuckDB refuses a second
    # connection to the same file in this process with a different config.
    config = {"custom_user_agent": "dagster"} if stock else {}
    with duckdb.connect(str(db), config=config) as con:
        return con.execute(sql).fetchall()


def frame(day: str, **cols: list) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"d": pd.to_datetime([day] * n), **cols})


COLUMNS = [("d", "DATE", False), ("qty", "INTEGER", True), ("price", "DECIMAL(10,2)", True)]


def write(db: Path, df: pd.DataFrame, window=DAY1, columns=COLUMNS) -> None:
    with connect(db) as con:
        write_slice(con, "s", "t", df, columns, ("d", *window) if window else None)


def test_failed_insert_rolls_back_and_keeps_previous_content(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1, 2, 3, 4, 5], price=[1.0] * 5))
    bad = frame("2024-01-01", qty=["1", "two"], price=[1.0, 2.0])
    with pytest.raises(duckdb.ConversionException):
        write(db, bad)
    assert rows(db, "SELECT count(*), sum(qty) FROM s.t") == [(5, 15)]


def test_stock_io_manager_loses_the_table_where_ours_keeps_it(tmp_path: Path) -> None:
    """The stock failure (DELETE committed, INSERT failed) reproduced, then ours on that input."""
    stock_db = tmp_path / "stock.duckdb"

    def run(io_manager: dg.IOManagerDefinition | dg.ConfigurableIOManager, df: pd.DataFrame):
        @dg.asset(name="t", metadata={"schema": "s"})
        def t() -> pd.DataFrame:
            return df

        return dg.materialize([t], resources={"io_manager": io_manager}, raise_on_error=False)

    five = pd.DataFrame({"a": [1, 2, 3, 4, 5]})
    six_cols = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": ["x"] * 6})
    stock = DuckDBPandasIOManager(database=str(stock_db))
    assert run(stock, five).success
    assert not run(stock, six_cols).success
    assert rows(stock_db, "SELECT count(*) FROM s.t", stock=True) == [
        (0,)
    ]  # the stock manager lost the rows

    ours_db = tmp_path / "ours.duckdb"
    ours = DuckDBWarehouseIOManager(warehouse=Warehouse(database=str(ours_db)))
    assert run(ours, five).success
    assert run(ours, six_cols).success  # a new nullable column is added, not a failure
    assert rows(ours_db, "SELECT count(*), count(b) FROM s.t") == [(6, 6)]
    failing = pd.DataFrame({"a": ["not a number"], "b": ["y"]})
    assert not run(ours, failing).success
    assert rows(ours_db, "SELECT count(*), sum(a) FROM s.t") == [(6, 21)]


def test_columns_are_matched_by_name_not_position(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[2], price=[9.99]))
    swapped = frame("2024-01-02", price=[19.99], qty=[3])[["d", "price", "qty"]]
    write(db, swapped, DAY2)
    assert rows(db, "SELECT qty, price::VARCHAR FROM s.t ORDER BY d") == [
        (2, "9.99"),
        (3, "19.99"),
    ]


def test_stock_io_manager_swaps_reordered_columns(tmp_path: Path) -> None:
    db = tmp_path / "stock.duckdb"
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")
    frames = {
        "2024-01-01": pd.DataFrame(
            {"d": pd.to_datetime(["2024-01-01"]), "qty": [2], "price": [9.5]}
        ),
        "2024-01-02": pd.DataFrame(
            {"d": pd.to_datetime(["2024-01-02"]), "price": [19.5], "qty": [3]}
        ),
    }

    @dg.asset(name="t", partitions_def=daily, metadata={"schema": "s", "partition_expr": "d"})
    def t(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return frames[context.partition_key]

    for io_manager, path in (
        (DuckDBPandasIOManager(database=str(db)), db),
        (
            DuckDBWarehouseIOManager(warehouse=Warehouse(database=str(tmp_path / "ours.duckdb"))),
            tmp_path / "ours.duckdb",
        ),
    ):
        for key in frames:
            dg.materialize([t], partition_key=key, resources={"io_manager": io_manager})
        got = rows(path, "SELECT qty, price FROM s.t ORDER BY d", stock=path == db)
        if path == db:
            # stock: price went into qty (rounded to an integer) and qty into price
            assert got == [(2, 9.5), (20, 3.0)]
        else:
            assert got == [(2, 9.5), (3, 19.5)]


def test_new_nullable_column_is_added(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1], price=[1.0]))
    columns = [*COLUMNS, ("note", "VARCHAR", True)]
    write(db, frame("2024-01-02", qty=[2], price=[2.0], note=["new"]), DAY2, columns)
    assert rows(db, "SELECT qty, note FROM s.t ORDER BY d") == [(1, None), (2, "new")]


def test_incompatible_type_change_fails_clearly_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1], price=[1.0]))
    columns = [("d", "DATE", False), ("qty", "VARCHAR", True), ("price", "DECIMAL(10,2)", True),
               ("extra", "VARCHAR", True)]  # fmt: skip
    with pytest.raises(SchemaEvolutionError, match=r"column 'qty' is INTEGER .* produces VARCHAR"):
        write(db, frame("2024-01-01", qty=["x"], price=[2.0], extra=["e"]), DAY1, columns)
    assert rows(db, "SELECT qty, price::VARCHAR FROM s.t") == [(1, "1.00")]
    assert [r[0] for r in rows(db, "DESCRIBE s.t")] == ["d", "qty", "price"]


def test_rematerializing_a_day_replaces_it_and_empty_output_clears_it(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1, 2], price=[1.0, 1.0]))
    write(db, frame("2024-01-02", qty=[7], price=[1.0]), DAY2)
    write(db, frame("2024-01-01", qty=[3], price=[1.0]))
    assert rows(db, "SELECT d::VARCHAR, qty FROM s.t ORDER BY d") == [
        ("2024-01-01", 3),
        ("2024-01-02", 7),
    ]
    write(db, frame("2024-01-01", qty=[], price=[]))
    assert rows(db, "SELECT d::VARCHAR, qty FROM s.t") == [("2024-01-02", 7)]


def test_rows_outside_the_partition_window_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-02", qty=[7], price=[1.0]), DAY2)
    with pytest.raises(ValueError, match=r"1 rows have d outside the partition window"):
        write(db, frame("2024-01-02", qty=[1], price=[1.0]), DAY1)
    assert rows(db, "SELECT qty FROM s.t") == [(7,)]


def test_materialization_metadata(tmp_path: Path) -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn("d", "DATE", description="the day"),
            dg.TableColumn("qty", "INTEGER", description="units"),
        ]
    )

    @dg.asset(
        name="t",
        partitions_def=daily,
        metadata={"schema": "s", "partition_expr": "d", "dagster/column_schema": schema},
    )
    def t(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return pd.DataFrame({"d": pd.to_datetime([context.partition_key] * 3), "qty": [1, 2, 3]})

    io_manager = DuckDBWarehouseIOManager(warehouse=Warehouse(database=str(tmp_path / "w.duckdb")))
    for key in ("2024-01-01", "2024-01-02"):
        result = dg.materialize([t], partition_key=key, resources={"io_manager": io_manager})
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["dagster/partition_row_count"].value == 3
    assert metadata["dagster/row_count"].value == 6
    assert metadata["dagster/table_name"].value == "s.t"
    column_schema = metadata["dagster/column_schema"].value
    assert [(c.name, c.type, c.description) for c in column_schema.columns] == [
        ("d", "DATE", "the day"),
        ("qty", "INTEGER", "units"),
    ]
    preview = metadata["preview"].value.splitlines()
    assert "qty" in preview[0] and len(preview) == 2 + 3  # header, rule, three rows
    described = rows(tmp_path / "w.duckdb", "DESCRIBE s.t")
    assert [(r[0], r[1]) for r in described] == [("d", "DATE"), ("qty", "INTEGER")]


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_held_by_another_process_fails_with_its_name(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1], price=[1.0]))
    holder = _hold_lock(db, 30)
    try:
        expected = rf"PID {holder.pid}.*Close that process"
        with pytest.raises(WarehouseLockedError, match=expected), connect(db, lock_timeout_s=1.0):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert rows(db, "SELECT qty FROM s.t") == [(1,)]


def test_lock_is_waited_for_with_backoff(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    write(db, frame("2024-01-01", qty=[1], price=[1.0]))
    holder = _hold_lock(db, 1.5)
    try:
        started = time.monotonic()
        write(db, frame("2024-01-01", qty=[2], price=[1.0]))
        assert time.monotonic() - started >= 0.5  # it really waited for the holder
    finally:
        holder.wait()
    assert rows(db, "SELECT qty FROM s.t") == [(2,)]


def test_a_warehouse_file_still_being_created_is_waited_for(tmp_path: Path) -> None:
    """Two runs starting at once on a fresh warehouse: one has created the file but not written
    DuckDB's headers yet when the other opens it. The second waits (it used to fail at once with
    "not a valid DuckDB database file"); a file that is not a warehouse still fails at once."""
    path = tmp_path / "warehouse.duckdb"
    path.touch()  # created, headers not written yet
    timer = threading.Timer(0.5, path.unlink)
    timer.start()
    with connect(path, lock_timeout_s=30) as con:  # fails at once without the wait
        assert con.execute("SELECT 42").fetchone() == (42,)
    timer.join()
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 2000)  # past the header size: a real, foreign file
    with (
        pytest.raises(WarehouseCorruptError, match="is not a DuckDB database"),
        connect(junk, lock_timeout_s=30),
    ):
        pass
