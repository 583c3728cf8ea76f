"""The ``dagster`` and ``dg`` commands exactly as the README documents them.

The commands are read from the README's "Running parts of the pipeline" block, their dates mapped
onto a three-day generated landing zone, and run as a user runs them: from the project root, with
``DAGSTER_HOME`` and the ``ECOMMERCE_*`` variables set. Each must exit 0, write the selected
tables for the selected days to the warehouse and record one run in the instance. Dagster's
current CLI works from the project root too: ``dg check defs``, ``dg list defs`` and ``dg dev``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb

from ecommerce_assets.contract import TABLE_NAMES as TABLES

from .webserver import (
    BIN,
    DAYS,
    HEALTH_TIMEOUT_S,
    ROOT,
    START,
    Project,
    Webserver,
    free_port,
    spawn,
    stop_process,
    wait_healthy,
)

FIRST = START.isoformat()
LAST = (START + timedelta(days=DAYS - 1)).isoformat()
ONE_DAY = (START + timedelta(days=1)).isoformat()


def readme_commands() -> list[str]:
    """The ``dagster asset materialize`` lines of the README (continuations joined)."""
    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if line.strip().startswith("dagster asset materialize")
    ]


def on_test_days(command: str) -> list[str]:
    """The README command with its dates mapped onto the generated landing zone."""
    command = re.sub(r"--partition-range \S+", f"--partition-range {FIRST}...{LAST}", command)
    command = re.sub(r"--partition \S+", f"--partition {ONE_DAY}", command)
    args = shlex.split(command)
    return [str(BIN / args[0]), *args[1:]]


def readme_command(select: str) -> list[str]:
    matches = [c for c in readme_commands() if f"--select {select} " in c + " "]
    assert len(matches) == 1, f"README documents no single command for {select}: {matches}"
    return on_test_days(matches[0])


def dagster(project: Project, args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        args, cwd=ROOT, env=project.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def days_in(project: Project, table: str) -> list[str]:
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        rows = con.execute(f"SELECT DISTINCT delivery_date FROM {table} ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def tables_in(project: Project) -> set[str]:
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()")
        return {r[0] for r in rows.fetchall()}


def runs(project: Project) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        return list(reversed(instance.get_runs()))


def test_readme_documents_the_three_commands() -> None:
    commands = readme_commands()
    assert any("--select raw_orders --partition " in c for c in commands), commands
    assert any("--select 'group:raw' --partition-range " in c for c in commands), commands
    assert any("--select 'group:staging' --partition-range " in c for c in commands), commands
    assert all("-m ecommerce_assets.definitions" in c for c in commands), commands


def test_one_asset_for_one_day(tmp_path: Path) -> None:
    project = Project.create(tmp_path)

    dagster(project, readme_command("raw_orders"))

    assert days_in(project, "raw.raw_orders") == [ONE_DAY]
    assert {t for t in tables_in(project) if not t.startswith("raw.")} == set()
    (run,) = runs(project)
    assert run.is_success
    assert run.tags.get("dagster/partition") == ONE_DAY
    assert run.asset_selection == {dg.AssetKey("raw_orders")}


def test_a_range_of_days_then_a_whole_layer(tmp_path: Path) -> None:
    """``group:raw`` over the range (one run), then the staging layer that reads it."""
    project = Project.create(tmp_path)
    days = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]

    dagster(project, readme_command("'group:raw'"))

    for table in TABLES:  # small days may bring no new users or products: a subset then
        assert set(days_in(project, f"raw.raw_{table}")) <= set(days), table
    for table in ("orders", "order_items", "events"):
        assert days_in(project, f"raw.raw_{table}") == days, table
    assert not any(t.startswith("staging.") for t in tables_in(project))

    dagster(project, readme_command("'group:staging'"))

    assert days_in(project, "staging.stg_orders") == days
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        audit = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE raw_rows = staged_rows + quarantined_rows"
            " + exact_duplicates) FROM staging.stg_load_audit"
        ).fetchone()
    assert audit is not None and audit[0] == audit[1] == DAYS * len(TABLES)

    raw_run, staging_run = runs(project)
    for run, layer in zip((raw_run, staging_run), ("raw", "staging"), strict=True):
        assert run.is_success, layer
        # A range is one run (single-run backfill), not one run per day.
        assert run.tags.get("dagster/asset_partition_range_start") == FIRST
        assert run.tags.get("dagster/asset_partition_range_end") == LAST
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey("stg_orders")) == set(days)


def test_dg_checks_and_lists_the_definitions(tmp_path: Path) -> None:
    """``dg check defs`` loads the project; ``dg list defs --json`` lists every asset and check
    of the Definitions (dg reads ``[tool.dg]`` in pyproject.toml)."""
    project = Project.create(tmp_path)
    checked = dagster(project, [str(BIN / "dg"), "check", "defs"])
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = json.loads(dagster(project, [str(BIN / "dg"), "list", "defs", "--json"]).stdout)
    graph = project.definitions().resolve_asset_graph()
    assets = {a["asset_key"] for a in listed["assets"]}
    assert assets == {k.to_user_string() for k in graph.materializable_asset_keys}
    checks = {(c["asset_key"], c["name"]) for c in listed["asset_checks"]}
    assert checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}


def test_dg_dev_serves_the_project(tmp_path: Path) -> None:
    """``dg dev`` from the project root starts the webserver (and daemon) on the one code
    location, which loads every asset."""
    project = Project.create(tmp_path)
    port, log = free_port(), tmp_path / "dg-dev.log"
    process = spawn(
        project, [str(BIN / "dg"), "dev", "--host", "127.0.0.1", "--port", str(port)], log
    )
    server = Webserver(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        wait_healthy(server, HEALTH_TIMEOUT_S)
        data = server.graphql("{ assetNodes { assetKey { path } } }")
    finally:
        stop_process(process)
    served = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
    graph = project.definitions().resolve_asset_graph()
    assert served == {k.to_user_string() for k in graph.materializable_asset_keys}
