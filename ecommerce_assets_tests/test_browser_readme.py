"""The README, its docs and the UI agree: every UI path they name is followed in a real headless
Chromium against a real ``dagster-webserver``.

The paths come from the docs themselves (the table between ``<!-- ui-paths`` and
``<!-- /ui-paths -->`` in docs/ui.md, "Where everything is"): each row is clicked from the start
page, label by label, and must end on the page it names, showing what it says. A documented
label, page or promise that the UI no longer has fails its row. A UI page (a `` `/…` `` path)
named in README.md or any docs/*.md must be reached by a row of that table. The instance holds
one run, made by ``python -m ecommerce_assets.build`` over three generated days, as after
``bin/build``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import dagster as dg
import pytest

from .test_browser import (
    WAIT_S,
    WINDOW,
    body_text,
    browser,  # noqa: F401 (a fixture)
    dismiss_popups,
    no_spinner,
    open_page,
)
from .test_build_run import built, server  # noqa: F401 (fixtures)
from .webserver import ROOT, Project, Webserver

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

README = ROOT / "README.md"
DOCS = ROOT / "docs"
UI_DOC = DOCS / "ui.md"  # the ui-paths table and the UI tour
DATA_QUALITY_DOC = DOCS / "data-quality.md"  # the "Run page" bullet
TALL = (WINDOW[0], 2400)  # lists render only their visible rows: every asset fits
CLICKABLE = "ancestor-or-self::*[self::a or self::button or @role='tab' or @role='menuitem'][1]"
UI_PAGE = re.compile(r"`(/(?:assets|asset-groups|runs|overview|automation|locations)[^`]*)`")


@dataclass(frozen=True)
class Step:
    label: str
    # "click" (a link, tab, button or list item), "box" (a graph node), "right-click", "untick"
    # (a status checkbox, labelled with its count: "Missing (1067)")
    how: str


@dataclass(frozen=True)
class UiPath:
    clicks: str
    steps: tuple[Step, ...]
    page: str
    shows: tuple[str, ...]


def documented_text() -> str:
    """The README and every page of docs/: where a UI page may be named."""
    pages = [README, *sorted(DOCS.glob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in pages)


def readme_ui_paths(text: str) -> list[UiPath]:
    """The rows of the ui-paths table (docs/ui.md)."""
    start, end = text.index("<!-- ui-paths"), text.index("<!-- /ui-paths -->")
    lines = [line for line in text[start:end].splitlines() if line.startswith("|")]
    rows = []
    for line in lines[2:]:  # after the header and its separator
        clicks, page, shows = (cell.strip() for cell in line.strip("|").split("|"))
        steps = []
        for part in clicks.split("→"):
            (label,) = re.findall(r"\*\*(.+?)\*\*", part)
            hows = ("right-click", "box", "untick")
            how = next((h for h in hows if h in part), "click")
            steps.append(Step(label, how))
        (path,) = re.findall(r"`([^`]+)`", page)
        rows.append(UiPath(clicks, tuple(steps), path, tuple(re.findall(r"`([^`]+)`", shows))))
    return rows


UI_PATHS = readme_ui_paths(UI_DOC.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:  # noqa: F811
    browser.set_window_size(*TALL)
    try:
        yield browser
    finally:
        browser.set_window_size(*WINDOW)


def _matching(driver: webdriver.Chrome, label: str) -> list:
    """Elements whose own text is exactly ``label`` (innermost ones), in document order."""
    assert "'" not in label, label
    return driver.find_elements(
        By.XPATH, f"//*[normalize-space()='{label}' and not(*[normalize-space()='{label}'])]"
    )


def _wait(driver: webdriver.Chrome, condition, what: str):
    """Poll ``condition`` (re-rendered elements are looked up again) until truthy, or fail."""
    try:
        return WebDriverWait(
            driver, WAIT_S, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)
    except TimeoutException:
        raise AssertionError(
            f"{what}: not within {WAIT_S} s on {driver.current_url}\n{body_text(driver)[:3000]}"
        ) from None


def follow(driver: webdriver.Chrome, step: Step) -> None:
    """Click ``step.label`` on the current page (the last match: page content follows the bar)."""
    before = driver.current_url

    def clicked(d: webdriver.Chrome) -> str | None:
        dismiss_popups(d)
        if step.how == "untick":
            boxes = d.find_elements(
                By.XPATH, f"//label[starts-with(normalize-space(), '{step.label} (')]"
            )
            if not boxes:
                return None
            d.execute_script("arguments[0].click();", boxes[-1])
            return "clicked"
        elements = _matching(d, step.label)
        if not elements:
            return None
        target = elements[-1]
        if step.how == "click":
            clickable = [a for e in elements for a in e.find_elements(By.XPATH, CLICKABLE)]
            links = [a for a in clickable if a.tag_name == "a"]  # a tab before a section header
            target = (links or clickable or elements)[-1]
            href = target.get_attribute("href") if target.tag_name == "a" else None
            navigates = bool(href) and not d.current_url.startswith(href)  # not already there
            d.execute_script("arguments[0].click();", target)
            return "navigates" if navigates else "clicked"
        d.execute_script("arguments[0].scrollIntoView({block: 'center'});", target)
        chain = ActionChains(d).move_to_element(target)
        (chain.context_click() if step.how == "right-click" else chain.click()).perform()
        return "clicked"

    if _wait(driver, clicked, f"no {step.label!r} to click") == "navigates":
        _wait(driver, lambda d: d.current_url != before, f"{step.label!r} did not navigate")
        _wait(driver, no_spinner, f"{step.label!r}: page still loading")


def _missing(driver: webdriver.Chrome, path: UiPath) -> list[str]:
    text = body_text(driver)
    try:
        hrefs = [a.get_attribute("href") or "" for a in driver.find_elements(By.TAG_NAME, "a")]
    except WebDriverException:  # the page re-rendered under us: look again
        return ["(page re-rendering)"]
    url, want = urlsplit(driver.current_url), urlsplit(path.page)
    missing = [f"page {path.page}"] if url.path != want.path else []
    missing += [f"?{k}={v}" for k, v in parse_qsl(want.query) if (k, v) not in parse_qsl(url.query)]
    for shown in path.shows:
        present = any(shown in h for h in hrefs) if shown.startswith("/") else shown in text
        if not present:
            missing.append(shown)
    return missing


@pytest.mark.parametrize("path", UI_PATHS, ids=[p.clicks.replace("*", "") for p in UI_PATHS])
def test_a_readme_ui_path_exists(server: Webserver, page: webdriver.Chrome, path: UiPath) -> None:  # noqa: F811
    open_page(page, f"{server.url}/", "Overview", "Catalog", "Lineage")
    for step in path.steps:
        follow(page, step)

    def arrived(d: webdriver.Chrome) -> bool:
        dismiss_popups(d)
        return not _missing(d, path)

    try:
        WebDriverWait(page, WAIT_S, poll_frequency=0.5).until(arrived)
    except TimeoutException:
        raise AssertionError(
            f"{path.clicks}: missing {_missing(page, path)} on {page.current_url}\n"
            f"{body_text(page)[:3000]}"
        ) from None


def test_every_ui_page_the_readme_and_docs_name_is_in_the_table() -> None:
    named = set(UI_PAGE.findall(documented_text()))
    assert {"/asset-groups", "/assets/stg_orders?view=checks"} <= named, named
    reached = {p.page for p in UI_PATHS} | {s for p in UI_PATHS for s in p.shows}  # links too
    assert named <= reached, named - reached


def _the_build_run(project: Project) -> dg.DagsterRun:
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        (run,) = instance.get_runs()
        return run


def _readme_check_steps() -> list[str]:
    """The check steps named by the "Run page" bullet (docs/data-quality.md)."""
    text = DATA_QUALITY_DOC.read_text(encoding="utf-8")
    bullet = text[text.index("- **Run page**") :].split("\n- ")[0]
    return re.findall(r"`([a-z_]+_checks)`", bullet)


def test_the_builds_run_is_on_the_timeline(
    server: Webserver,  # noqa: F811
    page: webdriver.Chrome,
    built: Project,  # noqa: F811
) -> None:
    """README: the build's run shows on the Timeline with its target, materializations,
    partitions and check results, and can be re-executed; its check evaluations come from the
    steps the README names, plus the one Dagster generates for ``column_schema_change``."""
    run = _the_build_run(built)
    graph = built.definitions().resolve_asset_graph()
    assets, checks = len(graph.get_all_asset_keys()), len(graph.asset_check_keys)

    open_page(page, f"{server.url}/overview/activity/timeline", "Jobless asset materializations")
    bar = _wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, ".chunk-popover-target"), "bar")
    # Its popover opens on hover; a bar a few pixels wide next to the "Now" line is hard to hover
    # with the pointer, so the hover is dispatched to it.
    hover = "arguments[0].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));"
    page.execute_script(hover, bar[0].find_element(By.XPATH, "./*"))
    link = _wait(
        page,
        lambda d: d.find_elements(By.CSS_SELECTOR, f"a[href$='/runs/{run.run_id}']"),
        "the build's run in the Timeline bar's popover",
    )
    page.execute_script("arguments[0].click();", link[0])
    _wait(
        page,
        lambda d: all(
            t in body_text(d)
            for t in ("Success", f"{assets} assets", f"{checks} checks", "Re-execute all (*)")
        ),
        "the run page's target and Re-execute",
    )

    run_url = f"{server.url}/runs/{run.run_id}"
    open_page(page, f"{run_url}?logs=type%3AASSET_MATERIALIZATION", "partition 2024-01-01")

    steps = _readme_check_steps()
    assert "staging_checks" in steps, steps
    with dg.DagsterInstance.from_config(str(built.home)) as instance:
        logs = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    by_step: dict[str, set[str]] = {}
    for entry in logs:
        evaluation = entry.dagster_event.event_specific_data
        by_step.setdefault(entry.step_key, set()).add(evaluation.check_name)
    generated = {s for s in by_step if re.fullmatch(r"asset_check_[0-9a-f]+", s)}
    assert set(by_step) == set(steps) | generated, sorted(by_step)
    assert [by_step[s] for s in generated] == [{"column_schema_change"}], by_step
    for step in [*steps, *generated]:
        url = f"{run_url}?logs=step%3A{step}"  # the run's events filtered to the step
        open_page(page, url, "ASSET_CHECK_EVALUATION")
        lines = body_text(page).splitlines()
        rows = [i for i, line in enumerate(lines) if line == "ASSET_CHECK_EVALUATION"]
        assert rows and all(lines[i - 1] == step for i in rows), (step, lines[-60:])


SENSOR_STATUS = """
query ($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
  }
}
"""


def test_a_sensor_toggles_off_and_on_in_the_ui(
    server: Webserver,  # noqa: F811
    page: webdriver.Chrome,
) -> None:
    """docs/automation.md "Sensors on and off": Automation → the sensor → toggle; stored in the
    instance."""
    selector = {
        "repositoryLocationName": "ecommerce_assets",
        "repositoryName": "__repository__",
        "sensorName": "landing_zone_sensor",
    }

    def status() -> str:
        return server.graphql(SENSOR_STATUS, {"selector": selector})["sensorOrError"][
            "sensorState"
        ]["status"]

    open_page(page, f"{server.url}/", "Automation")
    follow(page, Step("Automation", "click"))
    follow(page, Step("landing_zone_sensor", "click"))
    _wait(page, lambda d: "Running" in body_text(d), "the sensor page")
    assert status() == "RUNNING"
    for want in ("STOPPED", "RUNNING"):
        (toggle,) = page.find_elements(By.CSS_SELECTOR, "input[type='checkbox']")
        page.execute_script("arguments[0].click();", toggle)
        _wait(page, lambda _, want=want: status() == want, f"sensor {want}")
