"""The real ``dagster-webserver`` on ``workspace.yaml``, driven through its GraphQL API.

What the UI shows comes from these queries: the asset catalog and groups, the checks per asset,
the partitions of a partitioned asset, schedules and sensors, a launched run and the check
evaluations it produced. Every listing is compared with the project's Definitions loaded
in-process with the same environment, so the tests follow the project as it grows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.partitions import last_partition_day

from .webserver import START, Project, Webserver, running_webserver

LOCATION = "ecommerce_assets"
REPOSITORY = "__repository__"  # the repository Dagster builds from a ``Definitions``
ASSET_JOB = "__ASSET_JOB"  # the implicit job behind every "Materialize" button
DAY = START.isoformat()
RUN_TIMEOUT_S = 240.0
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
REPO_SELECTOR = {"repositoryName": REPOSITORY, "repositoryLocationName": LOCATION}

ASSET_NODES = """
query {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name } }
    }
  }
}
"""

ASSET_PARTITIONS = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode { partitionKeys partitionDefinition { type description } }
  }
}
"""

PARTITION_SETS = """
query ($repo: RepositorySelector!, $job: String!) {
  partitionSetsOrError(repositorySelector: $repo, pipelineName: $job) {
    __typename
    ... on PartitionSets {
      results { name partitionsOrError { ... on Partitions { results { name } } } }
    }
  }
}
"""

SCHEDULES_AND_SENSORS = """
query ($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    __typename
    ... on Schedules { results { name cronSchedule scheduleState { status } } }
  }
  sensorsOrError(repositorySelector: $repo) {
    __typename
    ... on Sensors { results { name sensorType sensorState { status } } }
  }
}
"""

LAUNCH_RUN = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status tags { key value } assetSelection { path } }
  }
}
"""

CHECK_EXECUTIONS = """
query ($key: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: 5) {
    runId
    status
    partition
    evaluation { success severity checkName description partition }
  }
}
"""

LATEST_CHECK_EXECUTIONS = """
query {
  assetNodes {
    assetKey { path }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name
          executionForLatestMaterialization {
            runId
            status
            evaluation { checkName success severity description }
          }
        }
      }
    }
  }
}
"""

MATERIALIZED_PARTITIONS = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetPartitionStatuses {
        __typename
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project.create(tmp_path_factory.mktemp("webserver"))


@pytest.fixture(scope="module")
def server(project: Project) -> Iterator[Webserver]:
    with running_webserver(project) as server:
        yield server


@pytest.fixture(scope="module")
def defs(project: Project) -> dg.Definitions:
    return project.definitions()


def key_input(key: dg.AssetKey) -> dict[str, list[str]]:
    return {"path": list(key.path)}


def test_assets_groups_and_checks_match_the_definitions(
    server: Webserver, defs: dg.Definitions
) -> None:
    graph = defs.resolve_asset_graph()
    expected_groups = {
        key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()
    }
    expected_checks = {
        (check.asset_key.to_user_string(), check.name) for check in graph.asset_check_keys
    }

    nodes = server.graphql(ASSET_NODES)["assetNodes"]

    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    assert groups == expected_groups
    checks = set()
    for node in nodes:
        assert node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]:
            checks.add(("/".join(node["assetKey"]["path"]), check["name"]))
    assert checks == expected_checks
    # The layers the README documents are the groups the UI shows.
    assert {"raw", "staging", "dimensions", "facts", "aggregates"} <= set(groups.values())


def test_partitions_are_the_calendar_days_from_the_first_delivery(
    server: Webserver, defs: dg.Definitions
) -> None:
    """Every day from the first complete delivery to yesterday (UTC): the server's partitions,
    computed when it loaded the code location, are the calendar's."""
    last = last_partition_day()
    expected = [(START + timedelta(days=i)).isoformat() for i in range((last - START).days + 1)]
    graph = defs.resolve_asset_graph()
    partitioned = [k for k in graph.get_all_asset_keys() if graph.get(k).is_partitioned]
    assert dg.AssetKey("raw_orders") in partitioned

    node = server.graphql(ASSET_PARTITIONS, {"key": {"path": ["raw_orders"]}})["assetNodeOrError"]
    assert node["__typename"] == "AssetNode"
    assert node["partitionKeys"] == expected
    assert node["partitionDefinition"]["type"] == "TIME_WINDOW"

    sets = server.graphql(PARTITION_SETS, {"repo": REPO_SELECTOR, "job": ASSET_JOB})
    results = sets["partitionSetsOrError"]["results"]
    names = [p["name"] for s in results for p in s["partitionsOrError"]["results"]]
    assert names == expected


def test_schedules_and_sensors_match_the_definitions(
    server: Webserver, defs: dg.Definitions
) -> None:
    repo = defs.get_repository_def()
    data = server.graphql(SCHEDULES_AND_SENSORS, {"repo": REPO_SELECTOR})
    assert data["schedulesOrError"]["__typename"] == "Schedules"
    assert data["sensorsOrError"]["__typename"] == "Sensors"
    schedules = {s["name"]: s["cronSchedule"] for s in data["schedulesOrError"]["results"]}
    sensors = {s["name"] for s in data["sensorsOrError"]["results"]}
    assert schedules == {s.name: s.cron_schedule for s in repo.schedule_defs}
    assert sensors == {s.name for s in repo.sensor_defs}


def wait_for_run(server: Webserver, run_id: str, timeout_s: float = RUN_TIMEOUT_S) -> dict:
    """Poll ``runOrError`` until the run is finished (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = server.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        assert run["__typename"] == "Run", run
        if run["status"] in TERMINAL:
            return run
        time.sleep(1.0)
    raise TimeoutError(f"run {run_id} not finished after {timeout_s:.0f} s:\n{server.logs()}")


def test_launch_one_delivery_day_and_read_its_check_evaluations(
    server: Webserver, defs: dg.Definitions, project: Project
) -> None:
    """What "Materialize all" for partition 2024-01-01 does: one run, then check results."""
    graph = defs.resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys())
    check_keys = sorted(graph.asset_check_keys, key=lambda c: (c.asset_key, c.name))
    params = {
        "selector": {
            **REPO_SELECTOR,
            "jobName": ASSET_JOB,
            "assetSelection": [key_input(k) for k in keys],
            "assetCheckSelection": [
                {"assetKey": key_input(c.asset_key), "name": c.name} for c in check_keys
            ],
        },
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": DAY}]},
    }

    launched = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    run = wait_for_run(server, run_id)
    assert run["status"] == "SUCCESS", server.logs()[-5000:]
    assert {"key": "dagster/partition", "value": DAY} in run["tags"]
    assert {tuple(k["path"]) for k in run["assetSelection"]} == {tuple(k.path) for k in keys}

    # The asset page's partition bar: exactly the launched day is materialized.
    statuses = server.graphql(MATERIALIZED_PARTITIONS, {"key": {"path": ["stg_orders"]}})
    ranges = statuses["assetNodeOrError"]["assetPartitionStatuses"]["ranges"]
    assert [(r["status"], r["startKey"], r["endKey"]) for r in ranges] == [
        ("MATERIALIZED", DAY, DAY)
    ]
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        days = con.execute("SELECT DISTINCT delivery_date FROM staging.stg_orders").fetchall()
    assert [str(d[0]) for d in days] == [DAY]

    # Every check of the project was evaluated by this run: what the checks tab shows.
    nodes = server.graphql(LATEST_CHECK_EXECUTIONS)["assetNodes"]
    latest = {
        ("/".join(n["assetKey"]["path"]), c["name"]): c["executionForLatestMaterialization"]
        for n in nodes
        for c in n["assetChecksOrError"]["checks"]
    }
    assert set(latest) == {(c.asset_key.to_user_string(), c.name) for c in check_keys}
    failed_errors = []
    for (asset, name), execution in latest.items():
        assert execution is not None, f"{asset}:{name} has no execution"
        assert execution["runId"] == run_id, (asset, name, execution)
        assert execution["status"] in {"SUCCEEDED", "FAILED"}, (asset, name, execution)
        evaluation = execution["evaluation"]
        assert evaluation["checkName"] == name
        if not evaluation["success"] and evaluation["severity"] == "ERROR":
            failed_errors.append((asset, name, evaluation["description"]))
    # Clean demo data: no ERROR-severity check fails (WARN-level ones may flag thin history).
    assert not failed_errors

    # One check's history, as its own page lists it.
    check = check_keys[0]
    history = server.graphql(
        CHECK_EXECUTIONS, {"key": key_input(check.asset_key), "check": check.name}
    )["assetCheckExecutions"]
    assert history and {e["runId"] for e in history} == {run_id}, history
