"""Start the real ``dagster-webserver`` on a free loopback port for a test, and always stop it.

The webserver loads ``workspace.yaml`` from the project root with a temporary ``DAGSTER_HOME``
and the ``ECOMMERCE_*`` variables pointing at a small generated landing zone and a temporary
warehouse. The instance has no queued run coordinator (unlike the project's ``dagster_home``), so
a run launched through GraphQL starts at once, without a daemon; no daemon also means no sensor or
schedule launches anything behind the test's back.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import requests

from ecommerce_assets.definitions import build_definitions
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.settings import Settings

from .conftest import START

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAYS = 3
HEALTH_TIMEOUT_S = 120.0
INSTANCE_YAML = """\
# Test instance: storage under this DAGSTER_HOME; runs launched at once (Dagster's default is a
# queue, which needs the daemon).
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
"""


@dataclass
class Project:
    """A temporary DAGSTER_HOME, landing zone and warehouse, and the environment naming them."""

    root: Path
    home: Path = field(init=False)
    # The workspace file the webserver and the daemon load, relative to the project root.
    workspace = "workspace.yaml"
    landing: Path = field(init=False)
    warehouse: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.root / "dagster_home"
        self.landing = self.root / "landing"
        self.warehouse = self.root / "warehouse.duckdb"

    @classmethod
    def create(cls, root: Path, *, days: int = DAYS) -> Project:
        """Write the instance config and a small clean landing zone (2024-01-01, ...)."""
        project = cls(root)
        project.home.mkdir(parents=True, exist_ok=True)
        (project.home / "dagster.yaml").write_text(INSTANCE_YAML)
        generate_landing_zone(
            project.landing, seed=1, scale=0.05, start=START, days=days, clean=True
        )
        return project

    @property
    def settings(self) -> Settings:
        return Settings(landing_dir=self.landing, warehouse=self.warehouse)

    @property
    def env(self) -> dict[str, str]:
        # Dagster's planned-events setting is the build's, set in this process by an in-process
        # build earlier in the session; the webserver and daemon of bin/ui do not have it.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k != "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
        }
        return {
            **inherited,
            "DAGSTER_HOME": str(self.home),
            "ECOMMERCE_LANDING_DIR": str(self.landing),
            "ECOMMERCE_WAREHOUSE": str(self.warehouse),
            "DAGSTER_DISABLE_TELEMETRY": "1",
        }

    def definitions(self) -> dg.Definitions:
        """The project's Definitions loaded in-process with the same settings as the server."""
        return build_definitions(self.settings)


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM the webserver if the test process dies without running its cleanup."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Webserver:
    """A running webserver: its base URL and a GraphQL client."""

    url: str
    log: Path
    process: subprocess.Popen

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to ``/graphql``; return ``data``, failing on any GraphQL error."""
        response = requests.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def stop_process(process: subprocess.Popen) -> None:
    """Terminate the webserver's whole process group (it spawns a code server), then kill it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # Children that outlived the leader are still in the group: make sure none survive.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_healthy(server: Webserver, timeout_s: float) -> None:
    """Poll ``/server_info`` and then the code location until both answer, or fail with logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited early:\n{server.logs()}")
        # Not up yet, or the code location still loading: retry until the deadline.
        with contextlib.suppress(requests.RequestException, AssertionError, KeyError, TypeError):
            if requests.get(f"{server.url}/server_info", timeout=2).ok:
                data = server.graphql(LOCATION_STATUS)
                entries = data["workspaceOrError"]["locationEntries"]
                statuses = {e["name"]: e["loadStatus"] for e in entries}
                if statuses and all(s == "LOADED" for s in statuses.values()):
                    errors = [
                        e
                        for e in entries
                        if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"
                    ]
                    if errors:
                        raise RuntimeError(f"code location failed to load: {errors}")
                    return
        time.sleep(0.5)
    raise TimeoutError(f"dagster-webserver not healthy after {timeout_s:.0f} s:\n{server.logs()}")


LOCATION_STATUS = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


@contextlib.contextmanager
def running_webserver(
    project: Project, *, timeout_s: float = HEALTH_TIMEOUT_S
) -> Iterator[Webserver]:
    """``dagster-webserver -w workspace.yaml`` on 127.0.0.1:<free port>, stopped on exit."""
    port = free_port()
    log = project.root / "webserver.log"
    process = spawn(
        project,
        [
            str(BIN / "dagster-webserver"),
            "-w",
            project.workspace,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        log,
    )
    server = Webserver(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        wait_healthy(server, timeout_s)
        yield server
    finally:
        stop_process(process)


def spawn(project: Project, args: list[str], log: Path) -> subprocess.Popen:
    """One of the project's tools with its environment from the project root, output to ``log``,
    in a process group of its own (``stop_process`` stops its children too), dying with the
    test process on Linux."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=project.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )


def start_daemon(project: Project, log: Path) -> subprocess.Popen:
    """``dagster-daemon run -w workspace.yaml``, output to ``log`` (its code server and run
    workers stop with it)."""
    return spawn(project, [str(BIN / "dagster-daemon"), "run", "-w", project.workspace], log)
