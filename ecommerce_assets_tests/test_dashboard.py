"""The analysts' dashboard in a real headless Chromium: ``bin/dashboard`` on the published copy of
a five-day build, each page opened with a date range in its URL, the figures it shows compared
with SQL of the test's own on the warehouse (not the dashboard's queries); a new publish picked up
without a restart; no connection to anything but 127.0.0.1, from the server (an audit hook in the
dashboard's Python) or the page (Chromium's network log).

Screenshots go to ``$ECOMMERCE_SCREENSHOT_DIR`` or the test's temporary directory; the ones in
docs/img are of the scale-10 year (``python -m bench.analytics --shots docs/img``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import duckdb
import pytest
import requests

from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .conftest import START
from .test_browser import chromium, screenshot_dir
from .webserver import ROOT, Project, die_with_parent, free_port

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DAYS = 5
FROM, TO = date(2024, 1, 2), date(2024, 1, 4)
QUERY = f"?from={FROM}&to={TO}"
WAIT_S = 60
METRICS = """return Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
    (m.querySelector('[data-testid="stMetricLabel"]') || {}).innerText || '',
    (m.querySelector('[data-testid="stMetricValue"]') || {}).innerText || ''])"""
# Python's audit hook in the dashboard's process: every connection and name look-up that is not
# the loopback is written to $ECOMMERCE_NET_AUDIT.
SITECUSTOMIZE = """
import os, sys
_LOG = os.environ.get("ECOMMERCE_NET_AUDIT")
_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")
def _hook(event, args):
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else None
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if host is not None and not str(host).startswith(_LOCAL):
        with open(_LOG, "a") as out:
            out.write(f"{event} {host}\\n")
if _LOG:
    sys.addaudithook(_hook)
"""


@dataclass
class Site:
    warehouse: Path
    copy: Path
    url: str
    audit: Path

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            params = {k: v for k, v in {"start": FROM, "end": TO}.items() if f"${k}" in query}
            return con.execute(query, params).fetchall()

    def one(self, query: str):
        return self.sql(query)[0][0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboard")
    project = Project(root)
    generate_landing_zone(project.landing, seed=4, scale=0.3, start=START, days=DAYS)
    with dg.DagsterInstance.ephemeral() as instance:
        last = date(2024, 1, DAYS)
        assert materialize_days(project.definitions(), START, last, instance=instance).success
    copy = root / "analytics.duckdb"
    assert copy.exists()
    hooks = root / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    audit = root / "net-audit.log"
    port = free_port()
    env = {
        **project.env,
        "ECOMMERCE_ANALYTICS": str(copy),
        "DASHBOARD_PORT": str(port),
        "PYTHONPATH": str(hooks),
        "ECOMMERCE_NET_AUDIT": str(audit),
    }
    log = root / "dashboard.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "dashboard")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield Site(project.warehouse, copy, url, audit)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    # The performance log: which requests a page made (the dashboard reads only its copy).
    with chromium((1280, 800), {"goog:loggingPrefs": {"performance": "ALL"}}) as driver:
        yield driver


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory)


def figures(driver: webdriver.Chrome, url: str, *labels: str) -> dict[str, str]:
    """Open ``url``; once every metric named in ``labels`` shows a value, all metrics shown."""
    driver.get(url)

    def ready(d: webdriver.Chrome) -> dict[str, str] | bool:
        shown = dict(d.execute_script(METRICS))
        return shown if all(shown.get(label) for label in labels) else False

    try:
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(ready)
    except TimeoutException:
        body = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{url}: no {labels} within {WAIT_S} s:\n{body[:2000]}") from None


def settle_and_shoot(driver: webdriver.Chrome, path: Path) -> None:
    """Wait for the page's script run to end (tables and charts drawn), then a screenshot."""
    WebDriverWait(driver, WAIT_S, poll_frequency=0.2).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
    )
    time.sleep(1.0)  # charts draw after the data arrives
    assert driver.save_screenshot(str(path)), path


def money(value) -> str:
    return f"{float(value):,.2f}"


def whole(value) -> str:
    return f"{int(value):,}"


# The test's own SQL: from the facts where the dashboard reads aggregates, by its own definitions
# (docs/analytics.md): non-cancelled orders by the day they were placed.
ORDERS = (
    "FROM marts.fact_orders WHERE status <> 'cancelled' AND order_ts::DATE BETWEEN $start AND $end"
)
LINES = (
    "FROM marts.fact_order_items WHERE order_status <> 'cancelled' "
    "AND order_ts::DATE BETWEEN $start AND $end"
)


def test_overview_kpis_match_the_warehouse(
    site: Site, browser: webdriver.Chrome, shots: Path
) -> None:
    shown = figures(browser, f"{site.url}/{QUERY}", "Revenue", "New customers")
    revenue, orders = site.sql(f"SELECT sum(net), count(*) {ORDERS}")[0]
    assert shown["Revenue"] == money(revenue)
    assert shown["Orders"] == whole(orders)
    assert shown["Average order value"] == money(round(revenue / orders, 2))
    assert shown["Margin"] == money(site.one(f"SELECT sum(coalesce(margin, 0)) {LINES}"))
    first_orders = (
        "SELECT count(*) FROM (SELECT user_id, min(order_ts)::DATE AS first FROM marts.fact_orders "
        "WHERE status <> 'cancelled' GROUP BY 1) WHERE first BETWEEN $start AND $end"
    )
    assert shown["New customers"] == whole(site.one(first_orders))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"Data through {date(2024, 1, DAYS)}" in body  # the data's last delivery day
    assert f"{FROM} → {TO}" in body
    settle_and_shoot(browser, shots / "dashboard-overview.png")


def test_products_page_names_the_top_seller(
    site: Site, browser: webdriver.Chrome, shots: Path
) -> None:
    shown = figures(browser, f"{site.url}/products{QUERY}", "Top seller")
    name, revenue = site.sql(
        "SELECT p.product_name, sum(l.line_net) AS revenue FROM marts.fact_order_items l "
        "JOIN marts.dim_products p ON p.product_id = l.product_id AND p.is_current "
        "WHERE l.order_status <> 'cancelled' AND l.order_ts::DATE BETWEEN $start AND $end "
        "GROUP BY l.product_id, p.product_name ORDER BY revenue DESC, l.product_id LIMIT 1"
    )[0]
    assert shown["Top seller"] == name
    assert shown["Top seller revenue"] == money(revenue)
    assert name in browser.find_element(By.TAG_NAME, "body").text  # first row of the table
    settle_and_shoot(browser, shots / "dashboard-products.png")


def test_customers_page_counts_who_ordered(
    site: Site, browser: webdriver.Chrome, shots: Path
) -> None:
    shown = figures(browser, f"{site.url}/customers{QUERY}", "Customers who ordered")
    assert shown["Customers who ordered"] == whole(
        site.one(f"SELECT count(DISTINCT user_id) {ORDERS}")
    )
    everyone = "SELECT count(DISTINCT user_id) FROM marts.fact_orders WHERE status <> 'cancelled'"
    assert shown["Customers (all time)"] == whole(site.one(everyone))
    settle_and_shoot(browser, shots / "dashboard-customers.png")


def test_funnel_steps_match_the_events(site: Site, browser: webdriver.Chrome, shots: Path) -> None:
    shown = figures(browser, f"{site.url}/funnel{QUERY}", "Sessions", "Purchase")
    sessions = (
        "SELECT count(*) FROM (SELECT DISTINCT event_date, session_id FROM marts.fact_events "
        "WHERE event_date BETWEEN $start AND $end {})"
    )
    assert shown["Sessions"] == whole(site.one(sessions.format("")))
    for label, event in [("Add to cart", "add_to_cart"), ("Purchase", "purchase")]:
        steps = site.one(sessions.format(f"AND event_type = '{event}'"))
        assert shown[label] == whole(steps), label
    settle_and_shoot(browser, shots / "dashboard-funnel.png")


def test_quality_page_scores_and_quarantine(
    site: Site, browser: webdriver.Chrome, shots: Path
) -> None:
    shown = figures(browser, f"{site.url}/quality{QUERY}", "Quality score", "Quarantined rows")
    score = site.one(
        "SELECT sum(quality_score * greatest(raw_rows, 1)) / sum(greatest(raw_rows, 1)) "
        "FROM marts.data_quality_report WHERE delivery_date BETWEEN $start AND $end"
    )
    assert shown["Quality score"] == f"{score:.2f}"
    quarantined = site.one(
        "SELECT count(*) FROM staging.stg_quarantine WHERE delivery_date BETWEEN $start AND $end"
    )
    assert quarantined > 0 and shown["Quarantined rows"] == whole(quarantined)
    settle_and_shoot(browser, shots / "dashboard-quality.png")


def test_a_new_publish_is_picked_up_without_a_restart(
    site: Site, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    """A copy renamed over the published one (as a publish does): the next page view reads it."""
    newer = tmp_path / "newer.duckdb"
    shutil.copyfile(site.copy, newer)
    with duckdb.connect(str(newer)) as con:
        con.execute("UPDATE published.info SET last_delivery_day = DATE '2024-02-29'")
    os.replace(newer, site.copy)
    figures(browser, f"{site.url}/{QUERY}", "Revenue")
    WebDriverWait(browser, WAIT_S, poll_frequency=0.2).until(
        lambda d: "Data through 2024-02-29" in d.find_element(By.TAG_NAME, "body").text
    )


def test_nothing_connects_beyond_the_loopback(site: Site, browser: webdriver.Chrome) -> None:
    """Run last: every request the pages made, and every connection of the dashboard's server."""
    figures(browser, f"{site.url}/quality{QUERY}", "Quality score")
    hosts = set()
    for entry in browser.get_log("performance"):
        message = entry["message"]
        if '"Network.requestWillBeSent"' in message or '"Network.webSocketCreated"' in message:
            for url in _urls(message):
                hosts.add(urlparse(url).hostname)
    assert hosts == {"127.0.0.1"}, hosts
    assert not site.audit.exists() or site.audit.read_text() == "", site.audit.read_text()


def _urls(message: str) -> list[str]:
    params = json.loads(message)["message"]["params"]
    url = params.get("request", {}).get("url") or params.get("url") or ""
    return [url] if url.startswith(("http", "ws")) else []
