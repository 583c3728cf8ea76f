"""Launch a range of delivery days as one run of the project's code location (what bin/build does).

Why not ``execute_in_process``: a run executed in the calling process has no code location, so
the UI cannot place it (no Timeline entry, an empty Target, partitions that say Job "None", and a
re-execution that warns the job "may be a different version"). Here the run is created from the
workspace (``workspace.yaml``) exactly as the UI's "Materialize" creates it, its origin the code
location, and started by the instance's run launcher (a worker process of the code server), not
through the run queue (which only the daemon drains); the caller waits for it to finish. There
is no public API for this; it uses what ``dagster job launch`` uses (``dagster._cli``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from dagster.version import __version__

from .dagster_internals import (
    FINISHED_STATUSES,
    JobSubsetSelector,
    WorkspaceOpts,
    get_workspace_from_cli_opts,
)

ASSET_JOB = "__ASSET_JOB"  # Dagster's implicit job of every asset (what the UI materializes)
WORKSPACE = "workspace.yaml"
LOCATION = "ecommerce_assets"


def _workspace_file() -> Path:
    """The project's ``workspace.yaml``: in the working directory (bin/* run from the project
    root), else beside the package (a source checkout run from elsewhere)."""
    for folder in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (folder / WORKSPACE).is_file():
            return folder / WORKSPACE
    raise FileNotFoundError(
        f"{WORKSPACE} not found in {Path.cwd()} or beside the package: run from the project "
        "root (bin/build does), or use --in-process"
    )


def launch_and_wait(
    instance: dg.DagsterInstance,
    *,
    tags: Mapping[str, str],
    checks: bool = True,
    run_config: Mapping[str, object] | None = None,
    workspace: Path | None = None,
    poll_s: float = 0.5,
    selection: dg.AssetSelection | None = None,
) -> dg.DagsterRun:
    """Create the asset job's run (every asset, or ``selection``, and their checks unless
    ``checks`` is False) from the workspace, launch it, wait for it to finish and return it."""
    workspace = workspace or _workspace_file()
    opts = WorkspaceOpts(workspace=(str(workspace),))
    with get_workspace_from_cli_opts(instance, __version__, opts, log_level="WARNING") as context:
        location = context.get_code_location(LOCATION)
        repository = next(iter(location.get_repositories().values()))
        full_job = repository.get_full_job(ASSET_JOB)
        graph = repository.asset_graph
        asset_keys = set(graph.materializable_asset_keys)
        if selection is not None:
            asset_keys &= selection.resolve(graph)
        selector = JobSubsetSelector(
            location_name=location.name,
            repository_name=repository.name,
            job_name=ASSET_JOB,
            op_selection=None,
            asset_selection=asset_keys,
            asset_check_selection=(
                {
                    k
                    for k in graph.asset_check_keys
                    if selection is None or k.asset_key in asset_keys
                }
                if checks
                else set()
            ),
        )
        job = location.get_job(selector)
        config = dict(run_config or {})
        plan = location.get_execution_plan(
            job, config, step_keys_to_execute=None, known_state=None, instance=instance
        ).execution_plan_snapshot
        run = instance.create_run(
            job_name=ASSET_JOB,
            run_id=None,
            run_config=config,
            resolved_op_selection=job.resolved_op_selection,
            step_keys_to_execute=plan.step_keys_to_execute,
            op_selection=None,
            status=None,
            root_run_id=None,
            parent_run_id=None,
            tags={**full_job.tags, **tags},
            job_snapshot=job.job_snapshot,
            execution_plan_snapshot=plan,
            parent_job_snapshot=job.parent_job_snapshot,
            remote_job_origin=job.get_remote_origin(),
            job_code_origin=job.get_python_origin(),
            asset_selection=frozenset(asset_keys),
            asset_check_selection=selector.asset_check_selection,
            asset_graph=repository.asset_graph,
        )
        instance.launch_run(run.run_id, context)
        # The code server (and the run worker it started) live as long as this context.
        while True:
            current = instance.get_run_by_id(run.run_id)
            if current is not None and current.status in FINISHED_STATUSES:
                return current
            time.sleep(poll_s)
