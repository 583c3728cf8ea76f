"""``bin/build``'s run is a run of the code location: the webserver re-executes it as it would a
run launched from the UI (no "different version" of the job), and the re-execution succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import dagster as dg
import pytest

from .test_webserver import RUN_STATUS, wait_for_run
from .webserver import ROOT, Project, Webserver, running_webserver

REEXECUTE = """
mutation ($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
  }
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A small landing zone built by ``python -m ecommerce_assets.build`` (as bin/build does)."""
    project = Project.create(tmp_path_factory.mktemp("build-run"))
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce_assets.build", "--no-demo"],
        cwd=ROOT,
        env={**project.env, "DAGSTER_EVENT_BATCH_SIZE": "100"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture(scope="module")
def server(built: Project) -> Iterator[Webserver]:
    with running_webserver(built) as server:
        yield server


def test_the_build_run_re_executes_from_the_webserver(built: Project, server: Webserver) -> None:
    os.environ["DAGSTER_HOME"], old = str(built.home), os.environ.get("DAGSTER_HOME")
    try:
        with dg.DagsterInstance.get() as instance:
            (run,) = instance.get_runs()
    finally:
        if old is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = old
    assert run.is_success and run.remote_job_origin is not None
    parent = server.graphql(RUN_STATUS, {"runId": run.run_id})["runOrError"]
    assert parent["status"] == "SUCCESS"
    launched = server.graphql(
        REEXECUTE, {"params": {"parentRunId": run.run_id, "strategy": "ALL_STEPS"}}
    )["launchRunReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    child = wait_for_run(server, launched["run"]["runId"])
    assert child["status"] == "SUCCESS", server.logs()[-3000:]
    tags = {t["key"]: t["value"] for t in child["tags"]}
    assert tags["dagster/parent_run_id"] == run.run_id
    assert tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert "different version" not in server.logs()
