"""The Dagster UI in a real headless Chromium: lineage, an asset's partitions, its checks.

Debian's ``chromium`` and ``chromium-driver`` are driven by Selenium with both paths given, so
nothing is downloaded (``.ci/run`` installs them). The instance is filled first with one run of
every asset and check over the three generated days, so the pages show what a user sees after
``bin/build``. Screenshots go to ``$ECOMMERCE_SCREENSHOT_DIR`` (``docs/img`` for the UI
tour, docs/ui.md) or to the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ecommerce_assets.runner import materialize_days

from .webserver import DAYS, START, Project, Webserver, running_webserver

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
WAIT_S = 60
WINDOW = (1440, 900)
ASSET = dg.AssetKey("stg_orders")  # the asset whose partitions and checks the tour shows
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium)")
    pytest.skip(
        f"no {CHROMIUM} / {CHROMEDRIVER} (bin/test on CI installs them)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A landing zone whose every asset and check was built once, recorded in the instance."""
    project = Project.create(tmp_path_factory.mktemp("browser"))
    last = START + timedelta(days=DAYS - 1)
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        result = materialize_days(project.definitions(), START, last, instance=instance)
    assert result.success
    return project


@pytest.fixture(scope="module")
def server(project: Project) -> Iterator[Webserver]:
    with running_webserver(project) as server:
        yield server


@contextmanager
def chromium(
    window: tuple[int, int] = WINDOW, capabilities: dict | None = None
) -> Iterator[webdriver.Chrome]:
    """Headless Chromium through Debian's chromedriver, in a throwaway profile."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    # An explicit driver path: Selenium Manager is never asked to download anything.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ECOMMERCE_SCREENSHOT_DIR`` (to keep the pictures), else a temporary folder."""
    target = os.environ.get("ECOMMERCE_SCREENSHOT_DIR")
    path = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


def body_text(driver: webdriver.Chrome) -> str:
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except WebDriverException:
        return ""


def dismiss_popups(driver: webdriver.Chrome) -> None:
    """Close the UI's first-visit "Join the Dagster community" dialog if it is open."""
    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        with contextlib.suppress(WebDriverException):
            button.click()


def open_page(driver: webdriver.Chrome, url: str, *expected: str, settle: Callable | None = None):
    """Load ``url`` and wait (bounded) until every ``expected`` text is rendered."""
    driver.get(url)

    def ready(d: webdriver.Chrome) -> bool:
        dismiss_popups(d)
        text = body_text(d)
        return all(e in text for e in expected) and "Join the Dagster community" not in text

    try:
        WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(ready)
    except TimeoutException:
        missing = [e for e in expected if e not in body_text(driver)]
        raise AssertionError(
            f"{url}: not rendered within {WAIT_S} s: {missing}\n{body_text(driver)[:3000]}"
        ) from None
    if settle:
        WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(settle)


def no_spinner(driver: webdriver.Chrome) -> bool:
    """Loading indicators gone (the graph and tables render after their queries return)."""
    return not driver.find_elements(By.CSS_SELECTOR, "[class*='Spinner'], [role='progressbar']")


def screenshot(driver: webdriver.Chrome, path: Path) -> None:
    dismiss_popups(driver)
    assert driver.save_screenshot(str(path)), path
    assert path.stat().st_size > 10_000, f"{path} looks empty"


def test_asset_lineage_shows_every_layer(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    graph = project.definitions().resolve_asset_graph()
    groups = sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()})

    url = f"{server.url}/asset-groups"
    open_page(browser, url, "Global asset lineage", *groups, settle=no_spinner)

    # Each group is named twice: in the sidebar's tree and as a node of the rendered graph.
    lines = body_text(browser).splitlines()
    assert all(lines.count(g) >= 2 for g in groups), lines

    screenshot(browser, shots / "lineage.png")


def test_asset_lineage_shows_its_neighbours_and_check_results(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    graph = project.definitions().resolve_asset_graph()
    node = graph.get(ASSET)
    neighbours = sorted(k.to_user_string() for k in node.parent_keys | node.child_keys)
    checks = [c for c in graph.asset_check_keys if c.asset_key == ASSET]

    url = f"{server.url}/assets/{ASSET.to_user_string()}?view=lineage"
    open_page(browser, url, "Nearest Neighbors", *neighbours, settle=no_spinner)

    text = body_text(browser)
    assert f"{len(checks)} / {len(checks)} Passed" in text, text[:2000]
    screenshot(browser, shots / "asset-lineage.png")


def show_all_partitions(driver: webdriver.Chrome, dialog: str) -> Any:
    """A launch dialog's partition input, for every partition.

    Partitions follow the calendar up to yesterday: the dialog opens on the last 90 days, and the
    test projects' days (2024) are older. "Show all partitions" is what a user clicks.
    """
    assert "older partitions are outside this range" in dialog, dialog
    show_all = driver.find_element(By.XPATH, "//*[normalize-space()='Show all partitions']")
    driver.execute_script("arguments[0].click();", show_all)
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.5).until(
        lambda d: d.find_element(By.XPATH, "//input[starts-with(@placeholder, 'ex:')]")
    )


def test_catalog_lists_every_asset(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    keys = project.definitions().resolve_asset_graph().get_all_asset_keys()
    names = sorted(k.to_user_string() for k in keys)
    browser.set_window_size(WINDOW[0], 60 * len(names) + 600)  # the list renders visible rows
    try:
        open_page(browser, f"{server.url}/assets", *names, settle=no_spinner)
    finally:
        browser.set_window_size(*WINDOW)
    text = body_text(browser)
    # Partitions follow the calendar: every day from the first delivery to yesterday (UTC).
    defs = project.definitions()
    total = len(defs.resolve_asset_graph().get(ASSET).partitions_def.get_partition_keys())
    assert total > DAYS
    assert f"{total:,} partitions" in text, text[:3000]


def test_asset_page_shows_its_partitions(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    days = [(START + timedelta(days=i)).isoformat() for i in range(DAYS)]
    url = f"{server.url}/assets/{ASSET.to_user_string()}?view=partitions"
    graph = project.definitions().resolve_asset_graph()
    total = len(graph.get(ASSET).partitions_def.get_partition_keys())
    # Partitions follow the calendar: the delivered days are materialized, every later day up to
    # yesterday is missing (the truth: nothing was delivered), none failed. The list shows the
    # newest first; hiding the missing ones leaves the delivered days.
    missing = f"Missing ({total - DAYS})"
    selected = f"{total:,} Partitions Selected"
    open_page(browser, url, ASSET.to_user_string(), f"Materialized ({DAYS})", missing, selected)
    text = body_text(browser)
    assert "Failed (0)" in text, text[:2000]
    assert days[-1] not in text.split(missing, 1)[1][:400], "2024 days listed before any filter"
    toggle = browser.find_element(By.XPATH, f"//*[normalize-space()='{missing}']")
    browser.execute_script("arguments[0].click();", toggle)
    WebDriverWait(browser, WAIT_S, poll_frequency=0.5).until(
        lambda d: all(day in body_text(d).split("Missing (", 1)[1] for day in days)
    )
    screenshot(browser, shots / "partitions.png")


def test_checks_view_shows_the_asset_checks_and_their_results(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    graph = project.definitions().resolve_asset_graph()
    checks = sorted(c.name for c in graph.asset_check_keys if c.asset_key == ASSET)
    assert checks, f"{ASSET.to_user_string()} has no checks to show"

    url = f"{server.url}/assets/{ASSET.to_user_string()}?view=checks"
    open_page(browser, url, f"Checks ({len(checks)})", *checks, settle=no_spinner)

    text = body_text(browser)
    assert text.count("Succeeded") >= len(checks), text[:2000]
    screenshot(browser, shots / "checks.png")


UI_RUNS = """
query {
  runsOrError(filter: { tags: [{ key: "dagster/from_ui", value: "true" }] }) {
    ... on Runs { results { runId } }
  }
}
"""


def test_materialize_one_staged_table_for_one_day(
    server: Webserver, browser: webdriver.Chrome, project: Project, shots: Path
) -> None:
    """**Materialize…** on ``stg_orders``: the dialog launches that asset alone, no surprise.

    The staging multi-asset can be subset, so the UI raises no "Additional assets will be
    materialized" alert naming the other staging tables. The run it launches for one day
    materializes ``stg_orders`` for that day and nothing else: ``staging_tables`` stages only
    the orders (order lines, the quarantine and the load audit are written only when selected),
    and ``staging_checks`` evaluates only the checks of ``stg_orders``, for that day. Last in
    this module: it adds a run to the instance the other tests read.
    """
    from .test_webserver import wait_for_run

    graph = project.definitions().resolve_asset_graph()
    day = (START + timedelta(days=1)).isoformat()
    siblings = sorted(
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == graph.get(ASSET).group_name and k != ASSET
    )
    assert "stg_order_items" in siblings, siblings
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == ASSET}
    before = {r["runId"] for r in server.graphql(UI_RUNS)["runsOrError"]["results"]}

    open_page(browser, f"{server.url}/assets/{ASSET.to_user_string()}", "Materialize…")
    button = browser.find_element(By.XPATH, "//button[normalize-space()='Materialize…']")
    browser.execute_script("arguments[0].click();", button)
    title = f"Launch runs to materialize {ASSET.to_user_string()}"
    alert = "Additional assets will be materialized"

    def shown(d: webdriver.Chrome) -> bool:
        dismiss_popups(d)
        return title in body_text(d) or alert in body_text(d)

    WebDriverWait(browser, WAIT_S, poll_frequency=0.5).until(shown)
    dialogs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "[class*='dialog']")]
    dialog = next((t for t in dialogs if title in t), body_text(browser))
    assert "additional assets" not in body_text(browser).lower(), dialog
    assert not [s for s in siblings if s in dialog], dialog
    assert "Partition selection" in dialog, dialog

    day_input = show_all_partitions(browser, dialog)
    day_input.send_keys(day, Keys.ENTER)
    WebDriverWait(browser, WAIT_S, poll_frequency=0.5).until(
        lambda d: "1 partition" in body_text(d) and "Launch 1 run" in body_text(d)
    )
    screenshot(browser, shots / "materialize-dialog.png")
    launch = browser.find_element(By.XPATH, "//button[normalize-space()='Launch 1 run']")
    browser.execute_script("arguments[0].click();", launch)

    def launched(_: object) -> set[str]:
        runs = {r["runId"] for r in server.graphql(UI_RUNS)["runsOrError"]["results"]}
        return runs - before

    (run_id,) = WebDriverWait(browser, WAIT_S, poll_frequency=0.5).until(launched)
    run = wait_for_run(server, run_id)
    assert run["status"] == "SUCCESS", server.logs()[-3000:]
    assert [k["path"] for k in run["assetSelection"]] == [ASSET.path]
    assert {t["key"]: t["value"] for t in run["tags"]}["dagster/partition"] == day

    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        logs = instance.all_logs(run_id)
    events = [e.dagster_event for e in logs if e.dagster_event]
    written = sorted(
        (e.asset_key.to_user_string(), e.partition)
        for e in events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    )
    assert written == [(ASSET.to_user_string(), day)], written
    evaluated = sorted(
        (d.asset_key.to_user_string(), d.check_name, d.partition)
        for d in (e.event_specific_data for e in events)
        if isinstance(d, dg.AssetCheckEvaluation)
    )
    assert evaluated == sorted((ASSET.to_user_string(), c, day) for c in checks), evaluated
    steps = {e.step_key for e in events if e.event_type == dg.DagsterEventType.STEP_SUCCESS}
    assert steps == {"staging_tables", "staging_checks"}, steps
