"""The lake profile's warehouse against the real PostgreSQL: same tables, concurrent writers.

- the same landing zone built into a DuckDB file and into a DuckLake lake gives identical tables
  (every row, money to the cent);
- two runs of different days writing the lake at the same time both land;
- a commit that conflicts with another writer's is retried from the staged rows, and after the
  last attempt fails naming the table, nothing of it committed;
- a run killed in the middle of its write leaves the lake as it was;
- a table is created under the lake's DDL lock; data writes do not take it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from ecommerce_assets import lake, writes
from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.settings import Settings
from ecommerce_assets.warehouse import connect
from ecommerce_assets.writes import WarehouseConflictError, write_chunks

from .conftest import ROOT, Built, make_built
from .lake_support import differences, fresh_lake, tables

DAYS = 4


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Four days with many defects, every asset and check built into a DuckDB file."""
    built = make_built(tmp_path_factory.mktemp("file"), days=DAYS, scale=0.2, seed=23)
    assert materialize_days(built.defs, built.first, built.last).success
    return built


def lake_settings(built: Built, uri: str) -> Settings:
    return Settings(landing_dir=built.landing, warehouse=Path(uri))


def test_the_same_landing_zone_gives_identical_tables_in_both_profiles(
    built: Built, tmp_path: Path
) -> None:
    with fresh_lake(tmp_path / "lake") as uri:
        defs = build_definitions(lake_settings(built, uri))
        assert materialize_days(defs, built.first, built.last).success
        counts = tables(uri)
        assert set(counts) == {f"{s}.{t}" for s, t, _ in file_tables(built)}
        assert counts["marts.fact_orders"] > 0
        assert differences(uri, built.warehouse) == {}
        # Spelled out for the reader: the money.
        money = "SELECT sum(order_amount), sum(shipping) FROM marts.fact_orders"
        with connect(uri) as con:
            assert con.execute(money).fetchall() == built.query(money)
        # The tables are Parquet files under the data path, not in PostgreSQL.
        assert list((tmp_path / "lake").rglob("*.parquet"))


def file_tables(built: Built) -> list[tuple[str, str, int]]:
    return built.query(
        "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
        "WHERE database_name = current_database()"
    )


RUN_DAYS = """
import json, sys, time
from datetime import date
from pathlib import Path
from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.settings import Settings

landing, uri, first, last = sys.argv[1:5]
defs = build_definitions(Settings(landing_dir=Path(landing), warehouse=uri))
started = time.time()
result = materialize_days(
    defs, date.fromisoformat(first), date.fromisoformat(last),
    selection=["group:raw", "group:staging"], raise_on_error=False,
)
print(json.dumps({"success": result.success, "started": started, "ended": time.time()}))
"""


def test_two_concurrent_runs_of_different_days_both_land(built: Built, tmp_path: Path) -> None:
    """Runs of days 1-2 and 3-4 (raw and staged layers) start together on one lake; both
    succeed, their spans overlap (they did run at once), and every table equals the file's."""
    with fresh_lake(tmp_path / "lake") as uri:
        env = {**os.environ}
        halves = [
            (built.first, built.first + timedelta(days=1)),
            (built.first + timedelta(days=2), built.last),
        ]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    RUN_DAYS,
                    str(built.landing),
                    uri,
                    a.isoformat(),
                    b.isoformat(),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for a, b in halves
        ]
        outs = [p.communicate(timeout=600) for p in procs]
        reports = []
        for proc, (out, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert all(r["success"] for r in reports), outs
        (a, b) = reports
        assert a["started"] < b["ended"] and b["started"] < a["ended"], reports  # overlapped
        layers = {name for name in tables(uri)}
        assert {n.split(".")[0] for n in layers} == {"raw", "staging"}
        assert differences(uri, built.warehouse, only=layers) == {}


def frame(day: date, rows: int, value: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"d": pd.to_datetime([day] * rows), "v": pd.array([value] * rows, dtype="int64")}
    )


COLUMNS = [("d", "TIMESTAMP", False), ("v", "BIGINT", True)]
D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


def window(first: date, last: date) -> tuple[str, datetime, datetime]:
    return (
        "d",
        datetime.combine(first, datetime.min.time()),
        datetime.combine(last + timedelta(days=1), datetime.min.time()),
    )


def seed_table(uri: str) -> None:
    """Days 1-3 of ``s.t`` in one write, so that all three share a Parquet file."""
    whole = pd.concat([frame(D1, 5, 1), frame(D2, 5, 1), frame(D3, 5, 1)], ignore_index=True)
    with connect(uri) as con:
        write_chunks(con, "s", "t", [whole], COLUMNS, window(D1, D3), staged=True)


def content(uri: str) -> list[tuple]:
    with connect(uri) as con:
        return con.execute(
            "SELECT CAST(d AS DATE), v, count(*) FROM s.t GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()


def with_rival_commits(
    monkeypatch: pytest.MonkeyPatch, uri: str, times: int
) -> tuple[list[int], list[float]]:
    """Right after the write deleted its slice, another writer rewrites day 1 and commits, on the
    first ``times`` attempts: the write's commit then conflicts (both deleted the same rows).
    Returns the rivals' commits and the waits of the write between its attempts."""
    prepare = writes._prepare
    rivals: list[int] = []
    waits: list[float] = []

    def racing(con, schema, table, columns, partition, keys=None):
        prepare(con, schema, table, columns, partition, keys)
        if len(rivals) < times:
            rivals.append(len(rivals) + 1)
            with connect(uri) as other:
                other.execute("BEGIN")
                other.execute("DELETE FROM s.t WHERE CAST(d AS DATE) = DATE '2024-01-01'")
                other.execute(
                    "INSERT INTO s.t SELECT TIMESTAMP '2024-01-01', ? FROM range(4)",
                    [100 + len(rivals)],
                )
                other.execute("COMMIT")

    monkeypatch.setattr(writes, "_prepare", racing)
    monkeypatch.setattr(writes, "CONFLICT_BASE_WAIT_S", 0.01)
    monkeypatch.setattr(writes.time, "sleep", waits.append)
    return rivals, waits


def test_a_conflicting_commit_is_retried_from_the_staged_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_lake(tmp_path / "lake") as uri:
        seed_table(uri)
        rivals, waits = with_rival_commits(monkeypatch, uri, times=2)
        with connect(uri) as con:
            written = write_chunks(
                con,
                "s",
                "t",
                iter([frame(D1, 3, 7), frame(D2, 2, 7)]),
                COLUMNS,
                window(D1, D2),
                staged=True,
            )
        assert rivals == [1, 2]
        assert len(waits) == 2  # two commits lost the race, the third won
        assert 0.005 <= waits[0] <= 0.015 and 0.01 <= waits[1] <= 0.03  # backoff, jittered
        assert written == 5
        # Days 1-2 are the write's (the rivals' day 1 replaced), day 3 as seeded: nothing lost,
        # nothing twice.
        assert content(uri) == [(D1, 7, 3), (D2, 7, 2), (D3, 1, 5)]


def test_a_write_that_keeps_conflicting_fails_clearly_and_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_lake(tmp_path / "lake") as uri:
        seed_table(uri)
        rivals, waits = with_rival_commits(monkeypatch, uri, times=99)
        with connect(uri) as con, pytest.raises(WarehouseConflictError) as failed:
            write_chunks(con, "s", "t", [frame(D1, 3, 7)], COLUMNS, window(D1, D1), staged=True)
        assert len(rivals) == writes.CONFLICT_ATTEMPTS
        assert len(waits) == writes.CONFLICT_ATTEMPTS - 1
        message = str(failed.value)
        assert "s.t: writing days [2024-01-01, 2024-01-02)" in message
        assert f"{writes.CONFLICT_ATTEMPTS} times" in message and "Nothing" in message
        # Day 1 as the last rival left it, days 2-3 as seeded: the failed write left no trace.
        last = 100 + writes.CONFLICT_ATTEMPTS
        assert content(uri) == [(D1, last, 4), (D2, 1, 5), (D3, 1, 5)]


def test_a_table_is_created_under_the_lakes_ddl_lock_and_data_writes_do_not_wait(
    tmp_path: Path,
) -> None:
    """Creating a table waits for ``lake.catalog_lock`` (two processes creating one table at once
    could both commit on this DuckLake: lake.py says why); writing days of an existing table
    does not take it."""
    with fresh_lake(tmp_path / "lake") as uri:
        lock = partial(lake.catalog_lock, uri)

        def create() -> None:
            with connect(uri) as con:
                write_chunks(con, "s", "t", [frame(D1, 2, 1)], COLUMNS, window(D1, D1),
                             staged=True, ddl_lock=lock)  # fmt: skip

        with lock():  # another process's DDL in progress
            creator = threading.Thread(target=create)
            creator.start()
            creator.join(timeout=3.0)
            assert creator.is_alive()  # waiting for the lock
            assert "s.t" not in tables(uri)
        creator.join(timeout=60)
        assert not creator.is_alive()
        assert content(uri) == [(D1, 1, 2)]

        def write_day_2() -> None:
            with connect(uri) as con:
                write_chunks(con, "s", "t", [frame(D2, 3, 2)], COLUMNS, window(D2, D2),
                             staged=True, ddl_lock=lock)  # fmt: skip

        with lock():  # the table exists: no DDL, so no wait
            writer = threading.Thread(target=write_day_2)
            writer.start()
            writer.join(timeout=60)
            assert not writer.is_alive()
        assert content(uri) == [(D1, 1, 2), (D2, 2, 3)]


KILLED_WRITER = """
import sys, time
from datetime import datetime
import pandas as pd
from ecommerce_assets import lake, writes
from ecommerce_assets.warehouse import connect

uri = sys.argv[1]
commit = writes._commit_with_retries

def slow_insert(con, *args):
    real = con.execute
    # Inside the transaction, after the DELETE and the INSERT: say so, then wait to be killed.
    class Pausing:
        def __getattr__(self, name):
            return getattr(con, name)
        def execute(self, sql, *a):
            if sql == "COMMIT":
                print("WRITTEN", flush=True)
                time.sleep(600)
            return real(sql, *a)
    return commit(Pausing(), *args)

writes._commit_with_retries = slow_insert
rows = pd.DataFrame(
    {"d": pd.to_datetime(["2024-01-01"] * 1000), "v": pd.array([9] * 1000, dtype="int64")}
)
with connect(uri) as con:
    writes.write_chunks(con, "s", "t", [rows], [("d", "TIMESTAMP", False), ("v", "BIGINT", True)],
        ("d", datetime(2024, 1, 1), datetime(2024, 1, 2)), staged=True)
"""


def test_a_run_killed_mid_write_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    with fresh_lake(tmp_path / "lake") as uri:
        seed_table(uri)
        before = content(uri)
        writer = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), uri],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            line = writer.stdout.readline()
            assert line.strip() == "WRITTEN", writer.stderr.read()[-3000:]
            # Deleted and inserted, not committed: nobody else sees any of it.
            assert content(uri) == before
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=30)
        assert writer.returncode == -signal.SIGKILL
        assert content(uri) == before
        # And the lake takes the next write at once (no lock left behind).
        with connect(uri) as con:
            write_chunks(con, "s", "t", [frame(D1, 2, 5)], COLUMNS, window(D1, D1), staged=True)
        assert content(uri) == [(D1, 5, 2), *before[1:]]
