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

import itertools
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.generate import generate_landing_zone

from .backfill_platform import (
    DAYS,
    FAIL_DAY,
    FIRST,
    FUTURE_TS,
    INSTANCE,
    LAST,
    OUTSIDE,
    WARN_DAY,
    Backfill,
    Platform,
    QueuedProject,
    checks_of,
    materialized_ranges,
    plant_defects,
    stop_run_launching_sensors,
    wait_for_daemon,
    write_project_instance,
)
from .test_browser import (  # noqa: F401 (fixtures)
    WINDOW,
    body_text,
    browser,
    no_spinner,
    open_page,
    screenshot,
    shots,
)
from .ui_pages import (
    COLOUR,
    check_list,
    click,
    failing_sample,
    launch_from_lineage,
    open_check_day,
    text_is,
    wait,
    watch_until_done,
)
from .webserver import BIN, START, running_webserver, start_daemon, stop_process

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

DAEMON = BIN / "dagster-daemon"
TALL = (WINDOW[0], 1700)  # the backfill page lists every asset

pytestmark = pytest.mark.skipif(not DAEMON.exists(), reason="dagster-daemon not installed")


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
