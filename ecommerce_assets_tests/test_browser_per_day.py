"""Per-day truth in the real UI (headless Chromium): a day's partition page shows that day's row
count after a range run, and a day's check stays failed after clean days are re-run.

The landing zone has four clean days, except that day 2's orders.csv carries a column the
contract does not know (``raw_orders:unexpected_columns`` fails that day only). Everything is
built in one range run; then days 3-4 are re-run alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.runner import materialize_days

from .test_browser import (  # noqa: F401 (fixtures)
    browser,
    dismiss_popups,
    open_page,
    screenshot,
    shots,
)
from .webserver import START, Project, Webserver, running_webserver

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DAY2, DAY3 = (START + timedelta(days=1)).isoformat(), (START + timedelta(days=2)).isoformat()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project.create(tmp_path_factory.mktemp("per-day"), days=4)
    orders = project.landing / DAY2 / "orders.csv"
    rows = list(csv.reader(orders.read_text(encoding="utf-8-sig").splitlines()))
    rows = [[*row, "coupon_code" if i == 0 else "SAVE10"] for i, row in enumerate(rows)]
    with orders.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    defs = project.definitions()
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        last = START + timedelta(days=3)
        assert materialize_days(defs, START, last, instance=instance).success
        clean = START + timedelta(days=2)
        assert materialize_days(defs, clean, last, instance=instance, selection="group:raw")
    return project


@pytest.fixture(scope="module")
def server(project: Project) -> Iterator[Webserver]:
    with running_webserver(project) as server:
        yield server


def test_a_partition_page_shows_that_days_row_count(
    server: Webserver,
    browser: webdriver.Chrome,  # noqa: F811
    project: Project,
    shots: Path,  # noqa: F811
) -> None:
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        per_day = dict(
            con.execute(
                "SELECT strftime(delivery_date, '%Y-%m-%d'), count(*) FROM staging.stg_orders "
                "GROUP BY 1"
            ).fetchall()
        )
    assert per_day[DAY3] != sum(per_day.values())  # a day's count, not the range's
    url = f"{server.url}/assets/stg_orders?view=partitions&partition={DAY3}"
    open_page(browser, url, "dagster/partition_row_count", "raw_rows", "quarantine_reasons")
    lines = browser.find_element(By.TAG_NAME, "body").text.splitlines()
    value = lines[lines.index("dagster/partition_row_count") + 1]
    assert value == str(per_day[DAY3]), (value, per_day)
    screenshot(browser, shots / "partition-day.png")


def test_a_days_check_stays_failed_after_clean_days_are_re_run(
    server: Webserver,
    browser: webdriver.Chrome,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    url = f"{server.url}/assets/raw_orders?view=checks&checkDetail=unexpected_columns"
    open_page(browser, url, "unexpected_columns", "Execution history", "Partitions")
    lines = browser.find_element(By.TAG_NAME, "body").text.splitlines()
    # The checks list: the check's status is the worst of its days.
    assert lines[lines.index("unexpected_columns") + 1] == "Failed", lines[:60]
    # By script: the UI's first-visit "Join the Dagster community" dialog may cover the tab.
    dismiss_popups(browser)
    tab = browser.find_elements(By.XPATH, "//*[normalize-space()='Partitions']")[-1]
    browser.execute_script("arguments[0].click();", tab)
    WebDriverWait(browser, 60, poll_frequency=0.5).until(
        lambda d: "Failed (1)" in d.find_element(By.TAG_NAME, "body").text
    )
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Passed (3)" in text and "Failed (1)" in text, text[-1500:]
    # The day in the list of partitions (a virtualized row: clicked by script).
    day = browser.find_elements(By.XPATH, f"//*[normalize-space()='{DAY2}']")[-1]
    browser.execute_script("arguments[0].click();", day)
    WebDriverWait(browser, 60, poll_frequency=0.5).until(
        lambda d: "rows_failing 1" in d.find_element(By.TAG_NAME, "body").text
    )
    lines = browser.find_element(By.TAG_NAME, "body").text.splitlines()
    detail = lines[len(lines) - lines[::-1].index(DAY2) - 1 :]  # the day's panel, last
    assert detail[:2] == [DAY2, "Failed"], detail[:10]
    assert "rows_checked 1" in detail and "failing_sample [Show Markdown]" in detail, detail
    screenshot(browser, shots / "check-partitions.png")
