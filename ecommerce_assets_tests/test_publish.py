"""The published copy (``publish.py``) on a tiny warehouse, without Dagster: a full copy, then only
what changed (days of a partitioned table, rows of the others), swapped in by rename so a reader of
the previous copy keeps its snapshot; a copy that cannot be the base rebuilt whole; Parquet
versions swapped as a whole; a failed publish leaves the previous copy as it was."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pyarrow
import pytest

from ecommerce_assets.publish import Source, publish

D1 = date(2024, 1, 1)
SOURCES = [
    Source("marts", "fact_sales", "delivery_date"),
    Source("marts", "dim_things"),
]
QUARANTINE = "SELECT table_name, count(*) AS rows FROM staging.q GROUP BY ALL"


def make_warehouse(path: Path, days: int = 4) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE marts.fact_sales AS SELECT "
            "(DATE '2024-01-01' + CAST(i // 3 AS INTEGER))::DATE AS delivery_date, i AS sale_id, "
            "(i * 1.25)::DECIMAL(10, 2) AS amount "
            f"FROM range({days * 3}) t(i)"
        )
        con.execute(
            "CREATE TABLE marts.dim_things AS SELECT i AS thing_id, 'thing ' || i AS name "
            "FROM range(20) t(i)"
        )
        con.execute("CREATE TABLE staging.q AS SELECT 'orders' AS table_name FROM range(3)")


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A reader as an analyst holds one: its own DuckDB, the copy attached read-only."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS copy (READ_ONLY)")
    con.execute("USE copy")
    return con


def run(warehouse: Path, target: Path, **kwargs):
    with duckdb.connect(str(warehouse)) as con:
        return publish(
            con,
            SOURCES,
            {"published.quarantine_by_reason": QUARANTINE},
            target,
            info={"run_id": "r1", "last_delivery_day": D1},
            **kwargs,
        )


def same_content(warehouse: Path, target: Path) -> None:
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{warehouse}' AS w (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS c (READ_ONLY)")
        for table in ("fact_sales", "dim_things"):
            left = rows(con, f"SELECT * FROM w.marts.{table} ORDER BY ALL")
            assert left == rows(con, f"SELECT * FROM c.marts.{table} ORDER BY ALL"), table


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    make_warehouse(path)
    return path


def test_a_first_publish_copies_everything_with_its_own_tables(
    warehouse: Path, tmp_path: Path
) -> None:
    target = tmp_path / "analytics.duckdb"
    done = run(warehouse, target)
    assert done.mode == "full" and done.reason == "no previous copy"
    assert {t.name: t.action for t in done.tables} == {
        "marts.fact_sales": "copied",
        "marts.dim_things": "copied",
        "published.quarantine_by_reason": "copied",
        "published.info": "copied",
    }
    assert done.rows == 12 + 20 + 1 + 1 and done.bytes == target.stat().st_size
    same_content(warehouse, target)
    with reader(target) as con:
        assert rows(con, "SELECT format, mode, run_id, last_delivery_day FROM published.info") == [
            (1, "full", "r1", D1)
        ]
        assert rows(con, "SELECT * FROM published.quarantine_by_reason") == [("orders", 3)]
        listed = rows(con, "SELECT table_name, rows, action FROM published.tables ORDER BY 1")
        assert ("marts.fact_sales", 12, "copied") in listed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analytics.duckdb", "warehouse.duckdb"]


def test_then_only_what_changed_and_a_reader_keeps_its_snapshot(
    warehouse: Path, tmp_path: Path
) -> None:
    target = tmp_path / "analytics.duckdb"
    run(warehouse, target)
    again = run(warehouse, target)
    assert again.mode == "incremental"
    assert {t.name: t.action for t in again.tables if t.name.startswith("marts.")} == {
        "marts.fact_sales": "unchanged",
        "marts.dim_things": "unchanged",
    }
    holder = reader(target)  # open through the next publish
    inode = target.stat().st_ino
    with duckdb.connect(str(warehouse)) as con:  # day 2 re-delivered, day 5 added, a thing renamed
        con.execute("UPDATE marts.fact_sales SET amount = amount + 1 WHERE sale_id = 4")
        con.execute("INSERT INTO marts.fact_sales VALUES (DATE '2024-01-05', 99, 1.00)")
        con.execute("UPDATE marts.dim_things SET name = 'renamed' WHERE thing_id = 7")
    done = run(warehouse, target)
    assert done.mode == "incremental"
    by_name = {t.name: t for t in done.tables}
    assert by_name["marts.fact_sales"].action == "days replaced"
    assert by_name["marts.fact_sales"].days == ["2024-01-02", "2024-01-05"]
    assert by_name["marts.dim_things"].action == "rows replaced"
    same_content(warehouse, target)
    assert target.stat().st_ino != inode  # a new file, renamed over the path
    # The holder still reads the copy it opened, whole and consistent.
    assert rows(holder, "SELECT count(*), sum(amount) FROM marts.fact_sales") == [(12, 82.5)]
    assert rows(holder, "SELECT name FROM marts.dim_things WHERE thing_id = 7") == [("thing 7",)]
    holder.close()
    with reader(target) as fresh:  # a new reader gets the new one
        assert rows(fresh, "SELECT count(*) FROM marts.fact_sales") == [(13,)]


def test_a_copy_that_cannot_be_the_base_is_rebuilt_whole(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "analytics.duckdb"
    run(warehouse, target)
    Path(f"{target}.wal").write_bytes(b"someone opened it for writing")
    done = run(warehouse, target)
    assert done.mode == "full" and ".wal" in done.reason
    assert not Path(f"{target}.wal").exists()  # it belonged to the previous copy
    target.write_bytes(b"\0" * 20000)  # not a DuckDB file
    done = run(warehouse, target)
    assert done.mode == "full" and "could not be the base" in done.reason
    same_content(warehouse, target)
    with duckdb.connect(str(warehouse)) as con:  # a new column: that table is copied whole
        con.execute("ALTER TABLE marts.dim_things ADD COLUMN colour VARCHAR DEFAULT 'red'")
    done = run(warehouse, target)
    assert {t.name: t.action for t in done.tables}["marts.dim_things"] == "copied"
    same_content(warehouse, target)
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_many_changed_days_copy_the_table_whole(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "analytics.duckdb"
    run(warehouse, target)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.fact_sales SET amount = amount * 2")
    done = run(warehouse, target)
    assert {t.name: t.action for t in done.tables}["marts.fact_sales"] == "copied"
    same_content(warehouse, target)


def test_a_failed_publish_leaves_the_previous_copy(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "analytics.duckdb"
    run(warehouse, target)
    before = target.read_bytes()
    with duckdb.connect(str(warehouse)) as con, pytest.raises(ValueError, match="does not exist"):
        publish(con, [*SOURCES, Source("marts", "missing")], {}, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analytics.duckdb", "warehouse.duckdb"]


def test_parquet_versions_are_swapped_whole_and_unchanged_files_linked(
    warehouse: Path, tmp_path: Path
) -> None:
    target, folder = tmp_path / "analytics.duckdb", tmp_path / "parquet"
    extra = {"published.check_results": pyarrow.table({"check_name": ["a"]})}
    with duckdb.connect(str(warehouse)) as con:
        publish(con, SOURCES, extra, target, parquet=folder)
    first = folder.resolve()
    assert folder.is_symlink() and first.parent.name == ".parquet.d"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "marts.dim_things.parquet",
        "marts.fact_sales.parquet",
        "published.check_results.parquet",
        "published.info.parquet",
        "published.tables.parquet",
    ]
    with duckdb.connect() as con:
        assert rows(con, f"SELECT count(*) FROM '{folder}/marts.fact_sales.parquet'") == [(12,)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM marts.fact_sales WHERE delivery_date = DATE '2024-01-04'")
        publish(con, SOURCES, extra, target, parquet=folder)
        second = folder.resolve()
        publish(con, SOURCES, extra, target, parquet=folder)
    assert second != first
    unchanged = "marts.dim_things.parquet"
    assert os.stat(second / unchanged).st_ino == os.stat(folder / unchanged).st_ino  # linked
    assert sorted(p.name for p in first.parent.iterdir()) == sorted(
        [second.name, folder.resolve().name]
    )  # the previous version kept for its readers, older ones removed
    with duckdb.connect() as con:
        assert rows(con, f"SELECT count(*) FROM '{folder}/marts.fact_sales.parquet'") == [(9,)]
    taken = tmp_path / "taken"
    taken.mkdir()
    with duckdb.connect(str(warehouse)) as con, pytest.raises(ValueError, match="did not make"):
        publish(con, SOURCES, {}, target, parquet=taken)


def test_days_are_compared_by_content_not_only_counts(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "analytics.duckdb"
    run(warehouse, target)
    with duckdb.connect(str(warehouse)) as con:  # same rows per day, one value changed
        con.execute("UPDATE marts.fact_sales SET amount = 0 WHERE sale_id = 1")
    done = run(warehouse, target)
    assert {t.name: t.days for t in done.tables}["marts.fact_sales"] == [D1.isoformat()]
    same_content(warehouse, target)


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"ECOMMERCE_WAREHOUSE": "/srv/w/warehouse.duckdb"},
        {"ECOMMERCE_WAREHOUSE": "/srv/w.duckdb", "ECOMMERCE_ANALYTICS": "/srv/a/copy.duckdb"},
    ],
)
def test_the_dashboard_reads_where_runs_publish(environ: dict[str, str]) -> None:
    """The dashboard resolves the copy's path without importing the settings (Dagster)."""
    from ecommerce_assets.dashboard.data import copy_path
    from ecommerce_assets.settings import analytics_target, load_settings

    assert copy_path(environ) == analytics_target(load_settings(environ))
