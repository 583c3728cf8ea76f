"""The catalog API client against the real local server (``generate/catalog_api.py``, in a thread):
pagination to the end, retries on 5xx and timeouts, ``Retry-After`` obeyed, a feed that changes
mid-walk, malformed and incomplete records, a retry budget spent, and the rate limit as the
server measured it. The truth is the landing zone's products.csv, as the CSV reader reads it."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from ecommerce_assets.catalog_client import (
    CatalogApiError,
    CatalogSettings,
    fetch_days,
    load_catalog_settings,
    raw_frame,
    retry_after_seconds,
)
from ecommerce_assets.contract import PRODUCTS
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.generate.catalog_api import Fault, serving
from ecommerce_assets.landing import ReadReport, read_raw

from .conftest import HIGH_RATES, START

DAYS = [START, date(2024, 1, 2), date(2024, 1, 3)]
STAMP = datetime(2024, 6, 1)
SAME = [*PRODUCTS.column_names, "delivery_date", "line_number"]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog") / "landing"
    generate_landing_zone(root, seed=11, scale=0.1, start=START, days=len(DAYS), rates=HIGH_RATES)
    return root


@pytest.fixture(scope="module")
def truth(landing: Path) -> pd.DataFrame:
    return read_raw(landing, PRODUCTS, DAYS, STAMP, ReadReport())


def settings(url: str, **kw: object) -> CatalogSettings:
    base = {"page_size": 5, "rps": 200.0, "backoff_s": 0.01, "timeout_s": 2.0}
    return CatalogSettings(source="api", url=url, **{**base, **kw})


def fetched(landing: Path, faults: list[str], **kw: object) -> tuple[pd.DataFrame, dict, list]:
    with serving(landing, [Fault.parse(f) for f in faults]) as (url, catalog):
        days = fetch_days(DAYS, settings(url, **kw))
        return raw_frame(days.values(), STAMP), days, catalog.requests()


def assert_same_rows(api: pd.DataFrame, truth: pd.DataFrame) -> None:
    """Every record once, in order, with its text: nothing lost, nothing duplicated."""
    assert len(api) == len(truth)
    pd.testing.assert_frame_equal(api[SAME].astype(str), truth[SAME].astype(str))
    assert (api["parse_error"].isna() == truth["parse_error"].isna()).all()


def test_every_page_walked_once(landing: Path, truth: pd.DataFrame) -> None:
    api, days, log = fetched(landing, [])
    assert_same_rows(api, truth)
    manifest = [json.loads((landing / d.isoformat() / "_manifest.json").read_text()) for d in DAYS]
    assert len(api) == sum(m["tables"]["products"]["rows"] for m in manifest)
    pages = sum(f.pages for f in days.values())
    assert pages == sum(max(1, -(-len(f.items) // 5)) for f in days.values()) > len(DAYS)
    assert len(log) == pages  # one request per page, none repeated
    assert set(api["source_file"]) == {f"api:{d}/products" for d, f in days.items() if f.items}


def test_a_burst_of_5xx_is_retried(landing: Path, truth: pd.DataFrame) -> None:
    api, days, log = fetched(landing, ["5xx:2:3"])
    assert_same_rows(api, truth)
    walks_to_2 = [f for f in days.values() if f.pages >= 2]
    assert sum(r["status"] == 503 for r in log) == 3 * len(walks_to_2) > 0
    assert all(f.requests == f.pages + 3 for f in walks_to_2)


def test_retry_after_is_waited_exactly(landing: Path, truth: pd.DataFrame) -> None:
    api, _, log = fetched(landing, ["429:2:1"])
    assert_same_rows(api, truth)
    limited = [i for i, r in enumerate(log) if r["status"] == 429]
    assert limited
    for i in limited:  # the next request (the retry of that page) came after Retry-After
        assert log[i + 1]["cursor"] == log[i]["cursor"]
        assert log[i + 1]["t"] - log[i]["t"] >= 1.0


def test_a_slow_page_times_out_and_is_read_again(landing: Path, truth: pd.DataFrame) -> None:
    api, days, log = fetched(landing, ["slow:2:1.5"], timeout_s=0.4)
    assert_same_rows(api, truth)
    slow = [r for r in log if r.get("slow_s")]
    assert slow and all(f.requests == f.pages + 1 for f in days.values() if f.pages >= 2)


def test_a_feed_that_changes_mid_walk_is_walked_again(landing: Path, truth: pd.DataFrame) -> None:
    api, days, _ = fetched(landing, ["change:3"])
    assert_same_rows(api, truth)
    changed = [f for f in days.values() if f.restarts]
    assert changed and all(f.restarts == 1 for f in changed)


def test_malformed_and_incomplete_records_keep_their_json(
    landing: Path, truth: pd.DataFrame
) -> None:
    api, days, _ = fetched(landing, ["malformed:1", "incomplete:2"])
    assert len(api) == len(truth)
    bad = api[api["parse_error"].notna() & truth["parse_error"].isna()]
    walked_2 = sum(f.pages >= 2 for f in days.values())
    assert len(bad) == len([d for d in days.values() if d.items]) + walked_2
    for row in bad.itertuples():
        raw = json.loads(row.raw_line)
        if row.parse_error.startswith("malformed"):
            assert row.parse_error == "malformed record: a JSON array, not an object"
            assert isinstance(raw, list) and len(raw) == len(PRODUCTS.columns)
        else:
            assert row.parse_error == "incomplete record: field(s) ['price'] absent"
            assert set(raw) == set(PRODUCTS.column_names) - {"price"}
        assert all(pd.isna(getattr(row, c)) for c in PRODUCTS.column_names)


def test_a_spent_retry_budget_names_the_url_and_page(landing: Path) -> None:
    with serving(landing, [Fault.parse("5xx:2:100")]) as (url, catalog):
        with pytest.raises(CatalogApiError) as error:
            fetch_days(DAYS, settings(url, attempts=3))
        log = catalog.requests()
    message = str(error.value)
    assert f"{url}/products?updated_since=2024-01-01T00%3A00%3A00" in message
    assert "(day 2024-01-01, page 2) failed 3 times, last with HTTP 503" in message
    assert [r["status"] for r in log] == [200, 503, 503, 503]


def max_in_one_second(log: list[dict]) -> int:
    times = sorted(r["t"] for r in log)
    return max(sum(t <= u < t + 1.0 for u in times) for t in times)


def test_the_rate_limit_holds_as_the_server_measures_it(landing: Path, truth: pd.DataFrame) -> None:
    api, _, log = fetched(landing, [], rps=4, page_size=8)
    assert_same_rows(api, truth)
    assert len(log) > 12  # a few seconds of requests
    assert max_in_one_second(log) <= 4


def test_the_servers_own_limit_is_obeyed(landing: Path, truth: pd.DataFrame) -> None:
    with serving(landing, rps=4) as (url, catalog):
        api = raw_frame(fetch_days(DAYS, settings(url, rps=50, page_size=12)).values(), STAMP)
        log = catalog.requests()
    assert_same_rows(api, truth)
    assert any(r["status"] == 429 for r in log)  # the server said so, with Retry-After: 1
    assert max_in_one_second([r for r in log if r["status"] == 200]) <= 4


def test_retry_after_forms() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("soon") is None


def test_settings_read_when_asked() -> None:
    assert load_catalog_settings({}).source == "csv"
    api = load_catalog_settings(
        {"ECOMMERCE_PRODUCTS_SOURCE": "API", "ECOMMERCE_CATALOG_API_URL": "http://h:1/"}
    )
    assert (api.source, api.url) == ("api", "http://h:1")
    with pytest.raises(ValueError, match="needs ECOMMERCE_CATALOG_API_URL"):
        load_catalog_settings({"ECOMMERCE_PRODUCTS_SOURCE": "api"})
    with pytest.raises(ValueError, match="expected one of csv, api"):
        load_catalog_settings({"ECOMMERCE_PRODUCTS_SOURCE": "ftp"})
