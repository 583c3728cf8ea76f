"""The lake profile's Dagster instance (deploy/lake/dagster.yaml) on the real PostgreSQL that
bin/postgres runs: run, event-log and schedule storage in PostgreSQL, a run's records in its tables
and visible to another process, a run queue two wide whose runs a separate daemon process starts,
and ``bin/postgres start`` idempotent. Group ``lake``: bin/test's lake pass (ECOMMERCE_PROFILE=lake,
.venv-lake, the connection settings of ``bin/postgres env``).

The instance's tables go to a scratch database created here and dropped afterwards, never to the
developer's ``dagster`` database; the asset run is a trivial one, not the project's graph.

``psycopg2`` and ``dagster_postgres`` (the ``lake`` extra) are imported inside the tests: the
default pass (.venv) collects this module too before deselecting it, so it must import there."""

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import dagster as dg
import pytest

from .lake_support import drop_database
from .webserver import stop_process

ROOT = Path(__file__).resolve().parents[1]
LAKE_YAML = ROOT / "deploy" / "lake" / "dagster.yaml"
BIN_POSTGRES = ROOT / "bin" / "postgres"


def connect(dbname: str):
    import psycopg2

    return psycopg2.connect(
        host=os.environ["ECOMMERCE_PG_HOST"],
        port=int(os.environ["ECOMMERCE_PG_PORT"]),
        user=os.environ["ECOMMERCE_PG_USER"],
        password=os.environ.get("ECOMMERCE_PG_PASSWORD") or None,
        dbname=dbname,
    )


def query(dbname: str, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(connect(dbname)) as con, con.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@pytest.fixture(scope="module")
def scratch_db() -> Iterator[str]:
    """A database of its own in the profile's PostgreSQL (the role may create databases)."""
    name = f"test_lake_instance_{uuid.uuid4().hex[:8]}"
    with closing(connect(os.environ["ECOMMERCE_PG_DB"])) as con:
        con.autocommit = True
        con.cursor().execute(f'CREATE DATABASE "{name}"')
    yield name
    drop_database(name)


@pytest.fixture
def lake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_db: str) -> Path:
    """A DAGSTER_HOME holding the profile's dagster.yaml, its local paths under ``tmp_path`` and its
    database the scratch one (through ECOMMERCE_PG_DB, as a deployment would set it)."""
    text = LAKE_YAML.read_text()
    assert "data/dagster-lake" in text
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(text.replace("data/dagster-lake", str(tmp_path / "data")))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ECOMMERCE_PG_DB", scratch_db)
    return home


@dg.asset
def lake_probe() -> int:
    return 1


def test_the_instance_keeps_runs_events_and_schedules_in_postgres(
    lake_home: Path, scratch_db: str
) -> None:
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        port, user = os.environ["ECOMMERCE_PG_PORT"], os.environ["ECOMMERCE_PG_USER"]
        assert instance.run_storage.postgres_url == (
            f"postgresql+psycopg2://{user}@{os.environ['ECOMMERCE_PG_HOST']}:{port}/{scratch_db}"
        )
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 2
        assert queue.tag_concurrency_limits == []
    tables = {t for (t,) in query(scratch_db, "SELECT tablename FROM pg_tables")}
    assert {"runs", "event_logs", "jobs", "job_ticks", "instigators"} <= tables


def test_a_run_is_recorded_in_postgres_and_seen_by_another_process(
    lake_home: Path, scratch_db: str
) -> None:
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([lake_probe], instance=instance)
    assert result.success
    run_id = result.run_id

    assert query(scratch_db, "SELECT status FROM runs WHERE run_id = %s", (run_id,)) == [
        ("SUCCESS",)
    ]
    kinds = dict(
        query(
            scratch_db,
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s"
            " GROUP BY dagster_event_type",
            (run_id,),
        )
    )
    assert kinds[dg.DagsterEventType.ASSET_MATERIALIZATION.value] == 1, kinds
    assert kinds[dg.DagsterEventType.RUN_SUCCESS.value] == 1, kinds  # stored as PIPELINE_SUCCESS
    assert query(
        scratch_db,
        "SELECT asset_key FROM event_logs WHERE run_id = %s"
        " AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        (run_id,),
    ) == [('["lake_probe"]',)]

    # Another process (a webserver, a daemon) with the same environment reads the same run.
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster as dg\n"
            "with dg.DagsterInstance.get() as i:\n"
            "    e = i.get_latest_materialization_event(dg.AssetKey('lake_probe'))\n"
            "    print(e.run_id, i.get_run_by_id(e.run_id).status.value)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert seen.stdout.split() == [run_id, "SUCCESS"]


PROBE_CODE = """
import dagster as dg


@dg.asset
def lake_probe() -> int:
    return 1


defs = dg.Definitions(assets=[lake_probe], jobs=[dg.define_asset_job("probe_job", [lake_probe])])
"""


def test_queued_runs_are_started_by_a_separate_process(lake_home: Path, tmp_path: Path) -> None:
    """Two runs launched from the CLI wait in the PostgreSQL queue; a `dagster-daemon run` process
    with the same environment starts both (as on another machine) and they succeed."""
    (tmp_path / "probe_defs.py").write_text(PROBE_CODE)
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(f"load_from:\n  - python_file: {tmp_path / 'probe_defs.py'}\n")
    bindir = Path(sys.executable).parent
    for _ in range(2):
        subprocess.run(
            [bindir / "dagster", "job", "launch", "-w", workspace, "-j", "probe_job"],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
            cwd=tmp_path,
        )
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="probe_job"))
        assert [r.status for r in runs] == [dg.DagsterRunStatus.QUEUED] * 2

        log = (tmp_path / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [bindir / "dagster-daemon", "run", "-w", workspace],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,  # its group: the code server it starts stops with it
        )
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                statuses = [instance.get_run_by_id(r.run_id).status for r in runs]
                if all(
                    s in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
                    for s in statuses
                ):
                    break
                time.sleep(1)
        finally:
            stop_process(daemon)  # the whole group: a bare terminate() left its code server
            log.close()
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2, (tmp_path / "daemon.log").read_text()


def test_bin_postgres_start_twice_changes_nothing() -> None:
    if os.environ["ECOMMERCE_PG_HOST"] != "127.0.0.1":
        pytest.skip("ECOMMERCE_PG_HOST names a PostgreSQL of the user's own, not bin/postgres's")
    started = query(os.environ["ECOMMERCE_PG_DB"], "SELECT pg_postmaster_start_time()")
    port = os.environ["ECOMMERCE_PG_PORT"]
    for _ in range(2):
        out = subprocess.run(
            [BIN_POSTGRES, "start"], capture_output=True, text=True, timeout=120, check=True
        )
        assert re.fullmatch(
            rf"PostgreSQL \d+ running on 127\.0\.0\.1:{port} \(pid \d+\), .*\n", out.stdout
        )
    assert query(os.environ["ECOMMERCE_PG_DB"], "SELECT pg_postmaster_start_time()") == started
    assert subprocess.run([BIN_POSTGRES, "status"], capture_output=True).returncode == 0

    env = subprocess.run(
        [BIN_POSTGRES, "env"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    names = re.findall(r"^export (\w+)=", env, flags=re.M)
    assert names == [
        "ECOMMERCE_PG_HOST",
        "ECOMMERCE_PG_PORT",
        "ECOMMERCE_PG_USER",
        "ECOMMERCE_PG_DB",
        "ECOMMERCE_PG_PASSWORD",
        "ECOMMERCE_WAREHOUSE",
        "ECOMMERCE_LAKE_DATA_PATH",
    ]
    user = os.environ["ECOMMERCE_PG_USER"]
    assert (
        f"export ECOMMERCE_WAREHOUSE='ducklake:postgres:dbname=lake host=127.0.0.1 port={port}"
        f" user={user}'" in env
    )
    # the role owns both databases: the instance's and the DuckLake catalog's
    owners = query(
        os.environ["ECOMMERCE_PG_DB"],
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database"
        " WHERE datname IN (%s, 'lake') ORDER BY datname",
        (os.environ["ECOMMERCE_PG_DB"],),
    )
    assert {owner for _, owner in owners} == {user} and len(owners) == 2
