"""A backfill as a user drives it, in headless Chromium, against the project's own instance.

The webserver and ``dagster-daemon`` both run on the project's ``dagster_home/dagster.yaml`` (its
storage moved into the test's folder), so every run goes through the ``QueuedRunCoordinator``,
one at a time, started by the daemon. The landing zone holds four small days with two defects a
source really delivers:

- day 2's ``orders.csv`` carries a column the contract does not know (``coupon_code``): the
  loader ignores it and ``raw_orders:unexpected_columns`` (WARN) fails that day;
- day 3's ``users.csv`` carries a user updated the day after its delivery. Staging quarantines
  such a row, so no delivery can fail a blocking check of the staged layer (they catch broken
  transforms); the webserver and the daemon load ``faulty_workspace.yaml``, the project's code
  location with that quarantine rule removed (``faulty_definitions.py``), so the row is staged
  and ``stg_users:dates_in_range`` (ERROR, blocking) fails that day.

Before the daemon starts, ``landing_zone_sensor``, ``automation_sensor`` and ``relink_sensor`` are
switched off: the first would request every delivered day on its first tick and the others would
launch runs of their own, while this test wants only the range a user picks. The alert sensors
stay on.

In the browser: **Lineage** → **Materialize all…** → days 2-3 of 4 → **Launch backfill** →
**Runs** → **Backfills** → the backfill, watched until it is done; then the days' partitions,
the checks' statuses and colours, and the failed and the warned check's metadata for their day.
Screenshots go to ``$ECOMMERCE_SCREENSHOT_DIR`` (``docs/img`` for docs/ui.md) or a temp folder.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.automation import AUTOMATION_SENSOR, LANDING_SENSOR, RELINK_SENSOR
from ecommerce_assets.generate import generate_landing_zone

from .test_browser import (  # noqa: F401 (fixtures)
    WAIT_S,
    WINDOW,
    body_text,
    browser,
    dismiss_popups,
    no_spinner,
    open_page,
    screenshot,
    shots,
    show_all_partitions,
)
from .webserver import (
    BIN,
    HEALTH_TIMEOUT_S,
    ROOT,
    START,
    Project,
    Webserver,
    running_webserver,
    start_daemon,
    stop_process,
)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DAEMON = BIN / "dagster-daemon"
DAYS = 4
WARN_DAY = (START + timedelta(days=1)).isoformat()  # raw_orders:unexpected_columns warns
FAIL_DAY = (START + timedelta(days=2)).isoformat()  # stg_users:dates_in_range fails (blocking)
FIRST, LAST = WARN_DAY, FAIL_DAY  # the range picked in the launch dialog: days 2-3 of 4
OUTSIDE = [START.isoformat(), (START + timedelta(days=DAYS - 1)).isoformat()]
# Without any state change for this long the backfill is stuck: the backfill daemon's iteration
# (30 s) plus one queued run's start (a new process loading the code) and finish, which take tens
# of seconds on a loaded 2-core machine, with room to spare.
STALL_S = 300.0
POLL_S = 2.0
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
UNFINISHED_RUN = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "MANAGED", "CANCELING"}
TALL = (WINDOW[0], 1700)  # the backfill page lists every asset

pytestmark = pytest.mark.skipif(not DAEMON.exists(), reason="dagster-daemon not installed")


class QueuedProject(Project):
    """A ``Project`` on the project's own instance (run queue, daemon) and bin/_setup's env,
    its code location with a staging bug."""

    workspace = "ecommerce_assets_tests/faulty_workspace.yaml"

    @property
    def env(self) -> dict[str, str]:
        env = {
            **super().env,
            "DAGSTER_EVENT_BATCH_SIZE": "100",
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1",
        }
        for name in (
            "ECOMMERCE_ALERT_WEBHOOK",
            "ECOMMERCE_QUALITY_GATES",
            "ECOMMERCE_PARTITIONS_END",
        ):
            env.pop(name, None)
        return env


@dataclass
class Platform:
    project: QueuedProject
    server: Webserver
    daemon: subprocess.Popen
    daemon_log: Path

    def alive(self) -> None:
        """Fail at once, with the logs, when the daemon or the webserver has exited."""
        for name, proc in (("dagster-daemon", self.daemon), ("webserver", self.server.process)):
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}):\n{self.logs()}")

    def logs(self) -> str:
        daemon = self.daemon_log.read_text(errors="replace") if self.daemon_log.exists() else ""
        return (
            f"daemon log tail:\n{daemon[-4000:]}\nwebserver log tail:\n{self.server.logs()[-2000:]}"
        )


FUTURE_TS = f"{(START + timedelta(days=3)).isoformat()} 09:00:00"  # the day after FAIL_DAY


def plant_defects(landing: Path) -> None:
    """Day 2's orders gain an unknown column; day 3's users a user updated the next day."""
    orders = landing / WARN_DAY / "orders.csv"
    rows = list(csv.reader(orders.read_text(encoding="utf-8-sig").splitlines()))
    rows = [[*row, "coupon_code" if i == 0 else "SAVE10"] for i, row in enumerate(rows)]
    with orders.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    users = landing / FAIL_DAY / "users.csv"
    text = users.read_text(encoding="utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    future = f"999,Future Record,future.record@example.com,SE,Stockholm,2023-11-05,{FUTURE_TS}"
    users.write_text(text.rstrip("\r\n") + newline + future + newline, encoding="utf-8")


def write_project_instance(home: Path, storage: Path) -> None:
    """The project's dagster.yaml, its ``data/dagster`` storage moved under ``storage``."""
    text = (ROOT / "dagster_home" / "dagster.yaml").read_text()
    assert "data/dagster" in text and "run_queue" in text, text
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(text.replace("data/dagster", str(storage / "data/dagster")))


SENSORS = """
query {
  sensorsOrError(repositorySelector: {repositoryLocationName: "ecommerce_assets",
                                      repositoryName: "__repository__"}) {
    ... on Sensors { results { name sensorState { id status } } }
  }
}
"""
STOP_SENSOR = """
mutation ($id: String) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}
"""
INSTANCE = """
query {
  instance {
    runQueueConfig { maxConcurrentRuns }
    daemonHealth { allDaemonStatuses { daemonType healthy } }
  }
}
"""


def stop_run_launching_sensors(server: Webserver) -> None:
    results = server.graphql(SENSORS)["sensorsOrError"]["results"]
    states = {s["name"]: s["sensorState"] for s in results}
    for name in (LANDING_SENSOR, AUTOMATION_SENSOR, RELINK_SENSOR):
        result = server.graphql(STOP_SENSOR, {"id": states[name]["id"]})["stopSensor"]
        assert result.get("instigationState", {}).get("status") == "STOPPED", result


def wait_for_daemon(platform: Platform) -> None:
    """Until the daemons that start backfills and queued runs report a heartbeat."""
    needed = {"BACKFILL", "QUEUED_RUN_COORDINATOR", "SENSOR"}
    deadline = time.monotonic() + HEALTH_TIMEOUT_S  # a process start-up, like the webserver's
    while time.monotonic() < deadline:
        platform.alive()
        statuses = platform.server.graphql(INSTANCE)["instance"]["daemonHealth"]
        healthy = {d["daemonType"] for d in statuses["allDaemonStatuses"] if d["healthy"]}
        if needed <= healthy:
            return
        time.sleep(1.0)
    pytest.fail(f"daemons {needed} not healthy after {HEALTH_TIMEOUT_S:.0f} s\n{platform.logs()}")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Four days with two defects; webserver and daemon on the project's instance."""
    root = tmp_path_factory.mktemp("backfill")
    project = QueuedProject(root)
    generate_landing_zone(project.landing, seed=1, scale=0.05, start=START, days=DAYS, clean=True)
    plant_defects(project.landing)
    write_project_instance(project.home, root)
    log = root / "daemon.log"
    with running_webserver(project) as server:
        config = server.graphql(INSTANCE)["instance"]["runQueueConfig"]
        assert config == {"maxConcurrentRuns": 1}, config  # the project's queue is in force
        stop_run_launching_sensors(server)  # before the daemon ticks them
        daemon = start_daemon(project, log)
        platform = Platform(project, server, daemon, log)
        try:
            wait_for_daemon(platform)
            yield platform
        finally:
            stop_process(daemon)


def click(driver: webdriver.Chrome, xpath: str) -> None:
    """Click the last element matching ``xpath`` once it exists (by script: no overlay in the
    way, e.g. the first-visit "Join the Dagster community" dialog)."""

    def found(d: webdriver.Chrome) -> Any:
        dismiss_popups(d)
        elements = d.find_elements(By.XPATH, xpath)
        return elements[-1] if elements else None

    element = wait(driver, found, f"no {xpath}")
    driver.execute_script("arguments[0].click();", element)


def wait(driver: webdriver.Chrome, condition: Callable[[Any], Any], what: str) -> Any:
    """``WebDriverWait`` for a UI reaction (bounded by ``WAIT_S``), failing with the page."""
    try:
        return WebDriverWait(
            driver,
            WAIT_S,
            poll_frequency=0.5,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"{what}: not within {WAIT_S} s on {driver.current_url}\n{body_text(driver)[:3000]}"
        ) from None


def text_is(label: str) -> str:
    """XPath: the innermost elements whose whole text is ``label``."""
    assert "'" not in label, label
    return f"//*[normalize-space()='{label}' and not(*[normalize-space()='{label}'])]"


BACKFILLS = """
query { partitionBackfillsOrError { ... on PartitionBackfills { results { id } } } }
"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs { runId status startTime endTime tags { key value } assetSelection { path } }
    }
    ... on PythonError { message }
  }
}
"""


@dataclass
class Backfill:
    id: str
    status: str
    runs: list[dict[str, Any]]
    queued_seen: int  # page loads of the backfill's Runs tab that listed a run as "Queued"

    def tags(self, run: dict[str, Any]) -> dict[str, str]:
        return {t["key"]: t["value"] for t in run["tags"]}

    def run_of(self, asset: str) -> dict[str, Any]:
        (run,) = [r for r in self.runs if [asset] in [k["path"] for k in r["assetSelection"]]]
        return run


def backfill_state(server: Webserver, backfill_id: str) -> dict[str, Any]:
    result = server.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
    assert result["__typename"] == "PartitionBackfill", result
    return result


def launch_from_lineage(
    platform: Platform, driver: webdriver.Chrome, folder: Path, assets: int
) -> str:
    """**Lineage** → **Materialize all…** → the range → **Launch backfill**; its id."""
    url = platform.server.url
    # The UI's "Join the Dagster community" dialog opens on its own on a loopback origin and
    # takes the keyboard: mark it seen for this instance, as its Skip button does.
    platform.server.graphql("mutation { setNuxSeen }")
    open_page(driver, f"{url}/asset-groups", "Global asset lineage", "Materialize all…")
    click(driver, "//button[normalize-space()='Materialize all…']")
    title = f"Launch runs to materialize {assets} assets"
    wait(driver, lambda d: title in body_text(d) and "Partition selection" in body_text(d), title)
    show_all_partitions(driver, body_text(driver))

    launch = "//button[normalize-space()='Launch backfill']"

    def chosen(d: webdriver.Chrome) -> bool:
        return "2 partitions" in body_text(d) and d.find_element(By.XPATH, launch).is_enabled()

    # On a loaded machine the dialog can take the keys before it has the partitions (it then
    # shows "0 partitions"): type the range again, as a user would, until it is taken.
    for attempt in range(3):
        dismiss_popups(driver)
        days = driver.find_element(By.XPATH, "//input[starts-with(@placeholder, 'ex:')]")
        days.send_keys(Keys.CONTROL, "a")
        days.send_keys(Keys.DELETE)
        days.send_keys(f"[{FIRST}...{LAST}]", Keys.ENTER)
        try:
            WebDriverWait(driver, WAIT_S / 3, poll_frequency=0.5).until(chosen)
            break
        except TimeoutException:
            if attempt == 2:
                wait(driver, chosen, "the range's 2 partitions and an enabled Launch backfill")
    driver.find_element(By.XPATH, text_is(title)).click()  # leave the input: the bar shows it
    screenshot(driver, folder / "backfill-launch.png")

    before = {
        b["id"] for b in platform.server.graphql(BACKFILLS)["partitionBackfillsOrError"]["results"]
    }
    click(driver, launch)
    toast = wait(
        driver,
        lambda d: re.search(r"Created backfill (\w+)", body_text(d)),
        "the 'Created backfill' toast",
    )
    after = {
        b["id"] for b in platform.server.graphql(BACKFILLS)["partitionBackfillsOrError"]["results"]
    }
    assert after - before == {toast.group(1)}, (before, after)
    return toast.group(1)


def watch_until_done(platform: Platform, driver: webdriver.Chrome, backfill_id: str) -> Backfill:
    """Reload the backfill's Runs tab until the backfill and all its runs are finished.

    No total deadline: the wait ends when the state waited for is there, fails at once when the
    daemon or the webserver exits, and fails when nothing changed for ``STALL_S``. Counts the page
    loads that showed a queued run (the backfill submits several runs at once; the queue starts
    one at a time).
    """
    url = f"{platform.server.url}/runs/b/{backfill_id}?tab=runs"
    last_change, seen, queued_seen = time.monotonic(), None, 0
    while True:
        platform.alive()
        state = backfill_state(platform.server, backfill_id)
        runs = sorted((r["runId"], r["status"]) for r in state["runs"])
        if (state["status"], runs) != seen:
            seen, last_change = (state["status"], runs), time.monotonic()
        if state["status"] in DONE and not any(s in UNFINISHED_RUN for _, s in runs):
            return Backfill(backfill_id, state["status"], state["runs"], queued_seen)
        if time.monotonic() - last_change > STALL_S:
            pytest.fail(
                f"backfill {backfill_id} stuck for {STALL_S:.0f} s: {seen}\n{platform.logs()}"
            )
        with contextlib.suppress(WebDriverException):
            driver.get(url)  # a fresh load: the list as the server has it now
            with contextlib.suppress(TimeoutException):
                WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(
                    lambda d: "Launched by" in body_text(d)  # the runs list has rendered
                )
            if "Queued" in body_text(driver).splitlines():
                queued_seen += 1
        time.sleep(POLL_S)


@pytest.fixture(scope="module")
def backfill(
    platform: Platform,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> Backfill:
    """The backfill launched from the UI, followed from the Runs page until done."""
    graph = platform.project.definitions().resolve_asset_graph()
    backfill_id = launch_from_lineage(
        platform, browser, shots, len(graph.materializable_asset_keys)
    )

    # As a user finds it again: Runs → Backfills → its id.
    click(browser, "//a[normalize-space()='Runs']")
    click(browser, "//*[@role='tab' and normalize-space()='Backfills']")
    click(browser, f"//a[normalize-space()='{backfill_id}']")
    wait(browser, lambda d: f"/runs/b/{backfill_id}" in d.current_url, "the backfill's page")
    return watch_until_done(platform, browser, backfill_id)


def test_the_backfill_ran_the_chosen_days_one_queued_run_at_a_time(
    platform: Platform,
    backfill: Backfill,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    """The backfill page names the range and every asset; its runs went through the queue."""
    graph = platform.project.definitions().resolve_asset_graph()
    names = sorted(k.to_user_string() for k in graph.materializable_asset_keys)
    browser.set_window_size(*TALL)
    try:
        open_page(
            browser,
            f"{platform.server.url}/runs/b/{backfill.id}",
            "Partition selection",
            f"{FIRST}...{LAST}",
            *names,
            settle=no_spinner,
        )
        screenshot(browser, shots / "backfill-done.png")
    finally:
        browser.set_window_size(*WINDOW)
    lines = body_text(browser).splitlines()
    status = lines[lines.index("Status") + 1]
    assert status in {"Succeeded", "Failed", "Completed"}, lines[:40]
    # Per partitioned asset of the range: targeted, in progress, succeeded, failed.
    row = lines[lines.index("stg_orders") + 1 :][:5]
    assert row == ["100% completed", "2", "0", "2", "0"], row

    # The raw and staging layers ran as one single-run backfill of the range.
    staging = backfill.run_of("stg_users")
    tags = backfill.tags(staging)
    assert (
        tags["dagster/asset_partition_range_start"],
        tags["dagster/asset_partition_range_end"],
    ) == (
        FIRST,
        LAST,
    )
    assert all(backfill.tags(r)["dagster/backfill"] == backfill.id for r in backfill.runs)
    # The run queue: several runs submitted at once, shown queued, started one after another.
    assert backfill.queued_seen > 0, "no page load of the backfill's Runs tab showed 'Queued'"
    spans = sorted((r["startTime"], r["endTime"]) for r in backfill.runs)
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans)), spans
    with dg.DagsterInstance.from_config(str(platform.project.home)) as instance:
        for run in backfill.runs:
            enqueued = instance.all_logs(run["runId"], of_type=dg.DagsterEventType.RUN_ENQUEUED)
            assert enqueued, f"run {run['runId']} did not go through the queue"


PARTITIONS = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}
"""


def materialized_ranges(server: Webserver, asset: str) -> list[tuple[str, str]]:
    node = server.graphql(PARTITIONS, {"key": {"path": [asset]}})["assetNodeOrError"]
    ranges = node["assetPartitionStatuses"]["ranges"]
    return [(r["startKey"], r["endKey"]) for r in ranges if r["status"] == "MATERIALIZED"]


@pytest.mark.usefixtures("backfill")  # the days it built are what these pages show
def test_the_chosen_days_show_materialized_and_the_others_missing(
    platform: Platform,
    browser: webdriver.Chrome,  # noqa: F811
) -> None:
    url = f"{platform.server.url}/assets/stg_orders?view=partitions"
    graph = platform.project.definitions().resolve_asset_graph()
    # Partitions follow the calendar: every day after the zone's four is missing too.
    total = len(graph.get(dg.AssetKey("stg_orders")).partitions_def.get_partition_keys())
    missing = f"Missing ({total - 2})"
    open_page(browser, url, "Materialized (2)", missing)
    untick = browser.find_element(By.XPATH, f"//label[normalize-space()='{missing}']")
    browser.execute_script("arguments[0].click();", untick)

    def listed(d: webdriver.Chrome) -> str:  # the list, after the status checkboxes
        return body_text(d).split(missing, 1)[-1]

    wait(browser, lambda d: FIRST in listed(d) and LAST in listed(d), "days 2-3 listed")
    assert not [day for day in OUTSIDE if day in listed(browser)], listed(browser)
    layers = sorted(
        k.to_user_string()
        for k in graph.materializable_asset_keys
        if graph.get(k).group_name in {"raw", "staging"}
    )
    assert layers, graph.get_all_asset_keys()
    for asset in layers:
        assert materialized_ranges(platform.server, asset) == [(FIRST, LAST)], asset


ICON = "ancestor::*[.//*[@role='img']][1]//*[@role='img']"
COLOUR = re.compile(r"--icon-color:\s*var\(--color-accent-(\w+)\)")


def check_list(
    driver: webdriver.Chrome, names: list[str]
) -> dict[str, tuple[str, str, str]] | None:
    """Each check of the Checks tab's list: (status, icon, icon colour); None until all shown."""
    rows = {}
    for name in names:
        titles = driver.find_elements(By.XPATH, f"//*[@title='{name}']")
        if not titles:
            return None
        title = titles[0]  # the list comes before the selected check's detail
        icon = title.find_element(By.XPATH, ICON)
        status = title.find_element(By.XPATH, "..").text.splitlines()[-1]
        colour = COLOUR.search(icon.get_attribute("style") or "")
        rows[name] = (status, icon.get_attribute("aria-label"), colour.group(1) if colour else "")
    return rows


def checks_of(platform: Platform, asset: str) -> list[str]:
    graph = platform.project.definitions().resolve_asset_graph()
    return sorted(c.name for c in graph.asset_check_keys if c.asset_key == dg.AssetKey(asset))


PASSED = ("Succeeded", "check_circle", "green")
WARNED = ("Failed", "warning_outline", "yellow")
FAILED = ("Failed", "cancel", "red")


@pytest.mark.usefixtures("backfill")  # the days it built are what these pages show
def test_checks_show_their_status_in_the_colour_of_its_severity(
    platform: Platform,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    """docs/data-quality.md: green passed, yellow failed with WARN, red failed with ERROR; in each
    asset's Checks list and in the lineage nodes' check summaries."""
    expected = {
        "stg_users": {"dates_in_range": FAILED},
        # delivery_freshness: day 4 is delivered but outside the range, so not loaded.
        "raw_orders": {"unexpected_columns": WARNED, "delivery_freshness": WARNED},
    }
    for asset, failing in expected.items():
        names = checks_of(platform, asset)
        assert set(failing) <= set(names), names
        url = f"{platform.server.url}/assets/{asset}?view=checks"
        open_page(browser, url, f"Checks ({len(names)})", *names, settle=no_spinner)
        rows = wait(browser, lambda d, n=names: check_list(d, n), f"{asset}'s checks list")
        assert rows == {n: failing.get(n, PASSED) for n in names}, rows

    url = f"{platform.server.url}/assets/stg_users?view=lineage"
    # dim_users has no check result: the backfill's run of the dimensions refused the failed day.
    summaries = {"raw_users": "4 / 5 Passed", "stg_users": "3 / 4 Passed"}
    open_page(browser, url, "Nearest Neighbors", *summaries, *summaries.values(), settle=no_spinner)
    icons = {}
    for asset, summary in summaries.items():
        icon = browser.find_element(
            By.XPATH, f"//span[normalize-space()='{summary}']/../*[@role='img']"
        )
        icons[asset] = (
            icon.get_attribute("aria-label"),
            COLOUR.search(icon.get_attribute("style")).group(1),
        )
    assert icons == {
        "raw_users": ("warning_outline", "yellow"),
        "stg_users": ("close", "red"),
    }, icons
    screenshot(browser, shots / "backfill-lineage.png")


def open_check_day(
    driver: webdriver.Chrome, server: Webserver, asset: str, check: str, day: str, *, blocking: bool
) -> list[str]:
    """Checks tab → the check (its About says whether it blocks) → its Partitions tab → the day:
    that day's panel, line by line."""
    open_page(driver, f"{server.url}/assets/{asset}?view=checks", check, settle=no_spinner)
    click(driver, f"//*[@title='{check}']")
    about = f"This is a {'blocking' if blocking else 'non-blocking'} asset check."

    def shown(d: webdriver.Chrome) -> bool:
        text = body_text(d)  # selected: named in the list and in the detail's header
        return about in text and text.splitlines().count(check) >= 2

    wait(driver, shown, f"{check}'s detail: {about}")
    click(driver, "//button[@role='tab' and normalize-space()='Partitions']")
    wait(driver, lambda d: "Passed (1)" in body_text(d) and "Failed (1)" in body_text(d), "days")
    click(driver, text_is(day))  # the day in the list of partitions (the last match)

    def panel(d: webdriver.Chrome) -> list[str] | None:
        lines = body_text(d).splitlines()
        if lines.count(day) < 2 or "rows_failing 1" not in lines:
            return None
        return lines[len(lines) - lines[::-1].index(day) - 1 :]  # the day's panel, last

    return wait(driver, panel, f"{asset}:{check} for {day}")


def failing_sample(driver: webdriver.Chrome) -> str:
    """Open ``failing_sample``'s markdown table, return its text, close it."""
    click(driver, "//a[normalize-space()='[Show Markdown]']")
    dialog = wait(
        driver,
        lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, "[role='dialog']")), None),
        "the failing_sample dialog",
    )
    click(driver, "//button[normalize-space()='Close']")
    return dialog


def test_the_failed_blocking_check_shows_its_day_and_failing_rows(
    platform: Platform,
    backfill: Backfill,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    panel = open_check_day(
        browser, platform.server, "stg_users", "dates_in_range", FAIL_DAY, blocking=True
    )
    assert panel[:2] == [FAIL_DAY, "Failed"], panel
    with duckdb.connect(str(platform.project.warehouse), read_only=True) as con:
        (staged,) = con.execute(
            "SELECT count(*) FROM staging.stg_users WHERE delivery_date = ?", [FAIL_DAY]
        ).fetchone()
    shown = {f"rows_checked {staged}", "rows_failing 1", "failing_sample [Show Markdown]"}
    assert shown <= set(panel), panel
    screenshot(browser, shots / "check-failed.png")
    sample = failing_sample(browser)
    for shown in ("999", FUTURE_TS, f"{FAIL_DAY}/users.csv", "line_number"):
        assert shown in sample, sample
    # The run that evaluated it is the backfill's staging run, failed by the blocking check
    # alone: its checks step is its only failed step. The next run, of the dimensions, refuses
    # the failed day (naming it) and is the only other run that failed.
    staging = backfill.run_of("stg_users")
    assert staging["status"] == "FAILURE"
    others = [r for r in backfill.runs if r is not staging and r["status"] != "SUCCESS"]
    assert len(others) == 1, backfill.runs
    with dg.DagsterInstance.from_config(str(platform.project.home)) as instance:
        failures = instance.all_logs(staging["runId"], of_type=dg.DagsterEventType.STEP_FAILURE)
        refusals = instance.all_logs(others[0]["runId"], of_type=dg.DagsterEventType.STEP_FAILURE)
    assert {e.step_key for e in failures} == {"staging_checks"}, [e.message for e in failures]
    reasons = {
        e.step_key: e.dagster_event.step_failure_data.user_failure_data.description
        for e in refusals
    }
    assert f"stg_users failed blocking checks (dates_in_range on {FAIL_DAY})" in reasons.get(
        "dim_users", ""
    ), reasons


@pytest.mark.usefixtures("backfill")  # the days it built are what these pages show
def test_the_warned_check_shows_the_file_and_its_unknown_column(
    platform: Platform,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    panel = open_check_day(
        browser, platform.server, "raw_orders", "unexpected_columns", WARN_DAY, blocking=False
    )
    assert panel[:2] == [WARN_DAY, "Failed"], panel
    assert {"rows_checked 1", "rows_failing 1", "failing_sample [Show Markdown]"} <= set(panel), (
        panel
    )
    badge = browser.find_elements(By.XPATH, f"{text_is('Failed')}/..//*[@role='img']")
    assert any(b.get_attribute("aria-label") == "warning_outline" for b in badge), "no WARN badge"
    screenshot(browser, shots / "check-warned.png")
    sample = failing_sample(browser)
    assert f"{WARN_DAY}/orders.csv" in sample and "coupon_code" in sample, sample


def test_a_failed_blocking_check_keeps_that_days_downstream_assets_unbuilt(
    platform: Platform, backfill: Backfill
) -> None:
    """docs/data-quality.md "Blocking checks": downstream assets are not materialized for that day,
    though the backfill builds the layers in separate runs: the run of the dimensions refuses the
    staged day that failed its blocking check (``blocking.py``), and the facts wait on the
    dimensions."""
    for fact in ("fact_orders", "fact_order_items", "fact_events", "fact_reviews"):
        days = materialized_ranges(platform.server, fact)
        assert not any(a <= FAIL_DAY <= b for a, b in days), (fact, days)
