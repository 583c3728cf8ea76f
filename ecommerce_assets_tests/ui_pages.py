"""The Dagster UI pages the backfill test (``test_browser_backfill.py``) drives in Chromium:
generic Selenium helpers (click, wait, exact text), the backfill launched from **Lineage** and
watched on its Runs tab, an asset's Checks list with its icons' colours, a check's day and its
failing sample.

Kept apart from ``backfill_platform.py``, which needs no browser (``test_lake_backfill.py``
imports it).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .backfill_platform import (
    BACKFILLS,
    DONE,
    FIRST,
    LAST,
    POLL_S,
    STALL_S,
    UNFINISHED_RUN,
    Backfill,
    Platform,
    backfill_state,
)
from .test_browser import (
    WAIT_S,
    body_text,
    dismiss_popups,
    no_spinner,
    open_page,
    screenshot,
    show_all_partitions,
)
from .webserver import Webserver

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


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
