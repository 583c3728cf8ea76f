"""The commands a user runs: ``dagster definitions validate`` and the build module."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.contract import TABLES
from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.partitions import last_partition_day
from ecommerce_assets.settings import Settings

from .conftest import START

ROOT = Path(__file__).resolve().parents[1]


def project_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "ECOMMERCE_LANDING_DIR": str(tmp_path / "landing"),
        "ECOMMERCE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }


def check_count() -> int:
    """How many asset checks the definitions hold (every one runs in a build)."""
    settings = Settings(landing_dir=ROOT / "data" / "none", warehouse=ROOT / "data" / "none.duckdb")
    return len(build_definitions(settings).resolve_asset_graph().asset_check_keys)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_dagster_definitions_validate(tmp_path: Path) -> None:
    dagster = Path(sys.executable).parent / "dagster"
    result = run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"], project_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr
    # No flood of Dagster's beta/preview notices on code load (there were ~70).
    output = result.stdout + result.stderr
    assert output.count("BetaWarning") + output.count("PreviewWarning") == 0, output[-3000:]


def test_importing_the_code_location_prints_no_dagster_notice(tmp_path: Path) -> None:
    """A launched run imports the package in a fresh process, outside ``build_definitions``'
    filter: nothing at import time may raise Dagster's beta/preview notices."""
    code = "import ecommerce_assets.definitions"
    result = run([sys.executable, "-W", "default", "-c", code], project_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "BetaWarning" not in result.stderr and "PreviewWarning" not in result.stderr, (
        result.stderr[-3000:]
    )


def test_build_generates_a_demo_zone_and_records_runs_in_the_instance(tmp_path: Path) -> None:
    """With no landing zone configured and the project's data/landing absent, the build generates
    the demo ending yesterday (UTC) there, and loads it in one run of the code location."""
    env = project_env(tmp_path)
    del env["ECOMMERCE_LANDING_DIR"]  # the project's default, data/landing (here under tmp_path)
    args = [sys.executable, "-m", "ecommerce_assets.build", "--demo-days", "3"]
    result = subprocess.run(
        [*args, "--demo-scale", "0.05"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "generating a demo landing zone" in result.stdout
    assert "SUCCESS" in result.stdout
    assert str(tmp_path / "warehouse.duckdb") in result.stdout
    last = last_partition_day()
    expected = {(last - timedelta(days=i)).isoformat() for i in range(3)}
    landing = tmp_path / "data" / "landing"
    assert {p.name for p in landing.iterdir()} == expected
    with duckdb.connect(env["ECOMMERCE_WAREHOUSE"]) as con:
        staged = con.execute(
            "SELECT count(DISTINCT delivery_date) FROM staging.stg_orders"
        ).fetchone()
    assert staged == (3,)
    os.environ["DAGSTER_HOME"], old = env["DAGSTER_HOME"], os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert len(runs) == 1 and runs[0].is_success
            # A run of the code location, as the UI launches it (Timeline, Target, re-execution).
            launched = runs[0]
            assert launched.remote_job_origin is not None
            assert launched.remote_job_origin.location_name == "ecommerce_assets"
            assert launched.job_name == "__ASSET_JOB" and launched.job_code_origin is not None
            assert dg.AssetKey("agg_daily_sales") in (launched.asset_selection or set())
            assert len(launched.asset_check_selection or ()) == check_count()
            assert launched.tags["dagster/asset_partition_range_end"] == last.isoformat()
            record = instance.get_latest_materialization_event(dg.AssetKey("stg_orders"))
            assert record is not None
            partitions = instance.get_materialized_partitions(dg.AssetKey("stg_orders"))
            assert partitions == expected
    finally:
        if old is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = old


def test_build_in_process_streams_the_run_into_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--in-process`` (the benchmark's mode) streams the run instead of keeping its events and
    outputs: the instance still gets the run, every day's materializations and one evaluation per
    check and day."""
    env = project_env(tmp_path)
    generate_landing_zone(
        Path(env["ECOMMERCE_LANDING_DIR"]), seed=3, scale=0.05, start=START, days=3
    )
    result = run([sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    days = {(START + timedelta(days=i)).isoformat() for i in range(3)}
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        (build_run,) = instance.get_runs()
        assert build_run.is_success
        assert build_run.tags["dagster/asset_partition_range_end"] == max(days)
        for asset in ("raw_orders", "stg_orders", "fact_orders", "agg_daily_sales"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == days
        assert instance.get_latest_materialization_event(dg.AssetKey("dim_users")) is not None
        records = instance.get_records_for_run(
            build_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000
        ).records
    by_check: dict[tuple[str, str], list[str | None]] = {}
    for record in records:
        evaluation = record.event_log_entry.get_dagster_event().event_specific_data
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
        by_check.setdefault(key, []).append(evaluation.partition)
    assert len(by_check) == check_count()
    for key, partitions in by_check.items():
        # a check of a partitioned asset: one evaluation per day; of the whole table: one
        assert sorted(partitions) == sorted(days) or partitions == [None], key


def test_the_demo_year_warns_only_where_the_readme_says(tmp_path: Path) -> None:
    """The demo build (what ``bin/build`` generates and builds: 366 days at scale 1) ends as the
    data-quality docs say (docs/data-quality.md): that many checks passing on every day, the
    warning checks they name and no others, none failing with ERROR."""
    docs_text = (ROOT / "docs" / "data-quality.md").read_text()
    claim = re.search(
        r"ends with (\d+) of (\d+)\s+checks passing on every day\. The (\d+) that warn are\s+"
        r"`raw_<table>:(\w+)`",
        docs_text,
    )
    assert claim, "docs/data-quality.md no longer states what the demo build warns about"
    passing, total, warning, check = int(claim[1]), int(claim[2]), int(claim[3]), claim[4]
    env = project_env(tmp_path)
    del env["ECOMMERCE_LANDING_DIR"]  # the demo goes into the project's data/landing (tmp_path)
    # The project's own instance (as bin/build: its batched event log), storage under tmp_path.
    text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text(
        text.replace("data/dagster", str(tmp_path / "data" / "dagster"))
    )
    # The demo of a fixed year: what it warns about must not depend on the day the test runs.
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce_assets.build", "--in-process", "--demo-start",
         "2024-01-01"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(
        r"Asset checks: (\d+) checks, \d+ results .*: (\d+) checks passed everywhere, "
        r"(\d+) warned, (\d+) failed with ERROR",
        result.stdout,
    )
    assert summary, result.stdout
    assert [int(n) for n in summary.groups()] == [total, passing, warning, 0]
    warned = set(re.findall(r"^  WARN  (\S+)", result.stdout, re.MULTILINE))
    assert warned == {f"raw_{table}:{check}" for table in TABLES}
    assert len(warned) == warning


def test_build_refuses_a_damaged_warehouse_and_names_a_lock_holder_without_a_traceback(
    tmp_path: Path,
) -> None:
    """A truncated warehouse file is refused before anything is written (exit 2, the file byte
    for byte as it was); a warehouse held by another process makes the run fail after one lock
    wait, and the summary names the holder in a line, not a traceback."""
    env = project_env(tmp_path)
    generate_landing_zone(
        Path(env["ECOMMERCE_LANDING_DIR"]), seed=3, scale=0.05, start=START, days=2
    )
    warehouse = Path(env["ECOMMERCE_WAREHOUSE"])
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS i FROM range(300000)")
    data = warehouse.read_bytes()
    warehouse.write_bytes(data[: len(data) // 2])
    result = run([sys.executable, "-m", "ecommerce_assets.build", "--no-demo"], env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is truncated" in result.stderr and "nothing was written" in result.stderr
    assert warehouse.read_bytes() == data[: len(data) // 2]

    warehouse.unlink()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(300)", str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        locked = {**env, "ECOMMERCE_LOCK_TIMEOUT": "2"}
        args = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"]
        result = run(args, locked)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "locked by" in result.stdout and f"(PID {holder.pid})" in result.stdout
    assert "cannot be read" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_build_exits_non_zero_when_a_delivery_breaks_the_contract(tmp_path: Path) -> None:
    env = project_env(tmp_path)
    generate_landing_zone(
        Path(env["ECOMMERCE_LANDING_DIR"]), seed=5, scale=0.05, start=START, days=2,
        rates={"missing_column": 1.0},
    )  # fmt: skip
    result = run([sys.executable, "-m", "ecommerce_assets.build", "--no-demo"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    # Each day is refused alone, named with its file and column; nothing of it written.
    assert "Refused deliveries (2 day(s), nothing of them written)" in result.stdout
    assert "is missing from the header" in result.stdout
    assert "ERROR raw_deliveries:delivery_accepted on 2 day(s)" in result.stdout


def test_the_committed_check_catalog_is_what_the_code_defines(tmp_path: Path) -> None:
    """docs/checks.md is regenerated whenever a check changes: the command reports it stale."""
    env = project_env(tmp_path)
    command = [sys.executable, "-m", "ecommerce_assets.check_catalog", "--check"]
    result = run(command, env)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "docs" / "checks.md").read_text()
    assert text.count("\n| `") == check_count()  # one row per check the definitions hold
    stale = tmp_path / "checks.md"
    stale.write_text(text.replace("| `stg_orders` | `key_not_null_unique` |", "| `x` | `y` |"))
    result = run([*command, "--out", str(stale)], env)
    assert result.returncode == 1 and "out of date" in result.stdout


def test_build_generates_demo_data_nowhere_but_the_projects_empty_landing_zone(
    tmp_path: Path,
) -> None:
    """A mistyped ECOMMERCE_LANDING_DIR (missing, empty, or holding only folders still being
    written) fails clearly, naming the directory, and writes nothing anywhere: no demo files, no
    _SUCCESS, no warehouse, no Dagster storage."""
    env = project_env(tmp_path)
    landing = Path(env["ECOMMERCE_LANDING_DIR"])
    being_written = landing / "2024-01-01"
    for state in ("missing", "empty", "being written"):
        if state == "empty":
            landing.mkdir()
        if state == "being written":
            being_written.mkdir()
            (being_written / "orders.csv").write_text("order_id\n")
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        result = run([sys.executable, "-m", "ecommerce_assets.build"], env)
        assert result.returncode == 2, (state, result.stdout + result.stderr)
        assert f"No complete delivery: {landing}" in result.stderr, state
        assert "Not generating demo data there" in result.stderr
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, state
    assert "none has _SUCCESS yet (still being written)" in result.stderr


def test_build_keeps_a_day_being_redelivered_and_leaves_todays_delivery_waiting(
    tmp_path: Path,
) -> None:
    """A loaded day whose _SUCCESS is gone (its source re-delivers it) keeps everything it
    produced through the next build (one run per block of complete days, the day in none), and a
    complete delivery dated today waits for its day to end: named, not loaded, nothing fails."""
    env = project_env(tmp_path)
    landing = Path(env["ECOMMERCE_LANDING_DIR"])
    today = last_partition_day() + timedelta(days=1)
    first = today - timedelta(days=3)
    generate_landing_zone(landing, seed=9, scale=0.05, start=first, days=4, clean=True)
    build = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"]
    result = run(build, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"waiting for its day to end (UTC): {today}" in result.stdout
    assert "in 1 run(s)" in result.stdout

    def per_day() -> dict:
        with duckdb.connect(env["ECOMMERCE_WAREHOUSE"], read_only=True) as con:
            rows = con.execute(
                "SELECT delivery_date, count(*) FROM staging.stg_orders GROUP BY 1"
            ).fetchall()
            facts = con.execute("SELECT count(*) FROM marts.fact_orders").fetchone()[0]
        return {"staged": dict(rows), "facts": facts}

    loaded = per_day()
    assert sorted(loaded["staged"]) == [first + timedelta(days=i) for i in range(3)]
    (landing / (first + timedelta(days=1)).isoformat() / "_SUCCESS").unlink()
    result = run(build, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "in 2 run(s)" in result.stdout  # the first day, and the third
    assert per_day() == loaded


def test_build_relinks_the_fact_days_a_late_users_file_changed(tmp_path: Path) -> None:
    """Days 1-3 built, then days 4-6 with a third of day 1's users delivered on day 5: the build
    re-links days 1-3 in a run of its own, says so, and every order then carries the user version
    valid at its time (computed here from dim_users' intervals, not by the platform's join)."""
    from .test_arrival_order import deliver_late

    env = project_env(tmp_path)
    landing = Path(env["ECOMMERCE_LANDING_DIR"])
    generate_landing_zone(landing, seed=5, scale=0.1, start=START, days=6, clean=True)
    assert deliver_late(landing, "users", START, START + timedelta(days=4), every=3) > 100
    build = [sys.executable, "-m", "ecommerce_assets.build", "--no-demo", "--in-process"]
    first = run([*build, "--last", (START + timedelta(days=2)).isoformat()], env)
    assert first.returncode == 0 and "re-linking" not in first.stdout, first.stdout
    result = run([*build, "--first", (START + timedelta(days=3)).isoformat()], env)
    assert result.returncode == 0, result.stdout + result.stderr
    span = f"{START} … {START + timedelta(days=2)}"
    assert "changed the links of 3 loaded fact day(s): re-linking them in 1 run(s)" in (
        result.stdout
    )
    assert re.search(rf"Run \S+ \(3 days, {span}\): SUCCESS", result.stdout), result.stdout
    with duckdb.connect(env["ECOMMERCE_WAREHOUSE"], read_only=True) as con:
        wrong = con.execute(
            """
            WITH v AS (
                SELECT user_sk, user_id, valid_from,
                    min(valid_from) OVER (PARTITION BY user_id) AS first_from,
                    lead(valid_from) OVER (PARTITION BY user_id ORDER BY valid_from) AS next_from
                FROM marts.dim_users WHERE user_sk <> 0
            ), expected AS (
                SELECT o.order_id, o.user_sk, coalesce(max(v.user_sk), 0) AS want
                FROM marts.fact_orders AS o LEFT JOIN v ON v.user_id = o.user_id
                    AND (o.order_ts >= v.valid_from OR v.valid_from = v.first_from)
                    AND (v.next_from IS NULL OR o.order_ts < v.next_from)
                GROUP BY ALL
            )
            SELECT count(*) FILTER (WHERE user_sk <> want), count(*) FROM expected
            """
        ).fetchone()
    assert wrong[0] == 0 and wrong[1] > 0, wrong
