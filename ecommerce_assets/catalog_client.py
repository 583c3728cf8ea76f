"""The product catalog over HTTP: a paginated JSON API read one delivery day at a time, turned
into the same raw rows the CSV reader makes (``docs/catalog-api.md`` is the API's contract).

Why httpx + tenacity rather than a hand-written loop or dlt: httpx (already installed with
Dagster) gives timeouts and connection reuse; tenacity gives the retry policy as data (which
errors, how many attempts, exponential backoff with jitter, a custom wait for ``Retry-After``),
tested by its own project. dlt's REST source would bring its own pipeline state, schema inference
and a second loader beside the warehouse's transactional I/O manager, for one endpoint.

A day's walk follows ``next_cursor`` to the end; every item carries its place in the day's feed
(``seq``), so a page read twice (a retry after a timeout) never adds a row twice, and every page
carries the feed's ``snapshot``: if it changes mid-walk (records inserted or reordered), the walk
restarts from the first page, so the day is one consistent version of the feed.
"""

from __future__ import annotations

import email.utils
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import httpx
import pandas as pd
import pyarrow
import tenacity

from .contract import PRODUCTS, TableSpec
from .landing import RAW_LINEAGE_COLUMNS, raw_arrow_schema

SOURCE_ENV = "ECOMMERCE_PRODUCTS_SOURCE"
URL_ENV = "ECOMMERCE_CATALOG_API_URL"
RPS_ENV = "ECOMMERCE_CATALOG_API_RPS"
PAGE_SIZE_ENV = "ECOMMERCE_CATALOG_API_PAGE_SIZE"
ATTEMPTS_ENV = "ECOMMERCE_CATALOG_API_ATTEMPTS"
TIMEOUT_ENV = "ECOMMERCE_CATALOG_API_TIMEOUT"
BACKOFF_ENV = "ECOMMERCE_CATALOG_API_BACKOFF"
SOURCES = ("csv", "api")
PRODUCTS_PATH = "/products"


@dataclass(frozen=True)
class CatalogSettings:
    """Where the catalog comes from and how politely it is read."""

    source: str = "csv"
    url: str = ""
    rps: float = 20.0  # request starts in any one-second window, retries included
    page_size: int = 100
    attempts: int = 6  # per page, the first try included
    timeout_s: float = 10.0
    backoff_s: float = 0.5  # first wait; doubles per attempt, plus up to as much jitter
    backoff_max_s: float = 30.0
    max_restarts: int = 3  # walks restarted because the feed changed under them


def load_catalog_settings(environ: dict[str, str] | None = None) -> CatalogSettings:
    """The catalog settings from ``environ`` (default: the process environment), read when
    called, never at import."""
    env = os.environ if environ is None else environ
    default = CatalogSettings()
    source = (env.get(SOURCE_ENV) or default.source).strip().lower()
    if source not in SOURCES:
        raise ValueError(f"{SOURCE_ENV}={source!r}: expected one of {', '.join(SOURCES)}")
    url = (env.get(URL_ENV) or "").strip().rstrip("/")
    if source == "api" and not url:
        raise ValueError(f"{SOURCE_ENV}=api needs {URL_ENV} (e.g. http://127.0.0.1:8765)")
    return CatalogSettings(
        source=source,
        url=url,
        rps=float(env.get(RPS_ENV) or default.rps),
        page_size=int(env.get(PAGE_SIZE_ENV) or default.page_size),
        attempts=int(env.get(ATTEMPTS_ENV) or default.attempts),
        timeout_s=float(env.get(TIMEOUT_ENV) or default.timeout_s),
        backoff_s=float(env.get(BACKOFF_ENV) or default.backoff_s),
    )


class CatalogApiError(RuntimeError):
    """A fetch that failed for good; the message names the URL, the page and why."""


class TransientError(Exception):
    """A response worth retrying (429, 5xx, a body cut short); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """At most ``floor(rps)`` requests in any one-second window (one per ``1 / rps`` seconds
    below 1), as the server counts arrivals: a request may start only when fewer than that many
    have *finished* within the window, or are in flight. Counting from when a request finished,
    not when it started, keeps the bound whatever the latency (a request arrives after the client
    started it and before the client has its answer), so no clock is shared with the server."""

    def __init__(self, rps: float, margin_s: float = 0.005) -> None:
        if rps <= 0:
            raise ValueError(f"requests per second must be positive, not {rps}")
        self.capacity = max(1, int(rps))  # a fraction of a request per second is not spent
        self.window_s = (1.0 if rps >= 1 else 1.0 / rps) + margin_s
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._lock = threading.Condition()

    def __enter__(self) -> RateLimiter:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._finished and now - self._finished[0] >= self.window_s:
                    self._finished.popleft()
                if len(self._finished) + self._in_flight < self.capacity:
                    self._in_flight += 1
                    return self
                # Wake when the oldest finished request leaves the window, or one finishes.
                oldest = self._finished[0] + self.window_s - now if self._finished else None
                self._lock.wait(oldest)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._in_flight -= 1
            self._finished.append(time.monotonic())
            self._lock.notify_all()


@dataclass
class DayFetch:
    """One day's feed as read: its items by ``seq``, and what the walk went through."""

    day: date
    items: dict[int, object] = field(default_factory=dict)
    plain: dict[int, object] = field(default_factory=dict)  # the records as JSON values
    pages: int = 0
    requests: int = 0
    restarts: int = 0
    pages_read_twice: int = 0


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP date (RFC 9110); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _waiter(settings: CatalogSettings) -> Callable[[tenacity.RetryCallState], float]:
    backoff = tenacity.wait_exponential_jitter(
        initial=settings.backoff_s, max=settings.backoff_max_s, jitter=settings.backoff_s
    )

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return error.retry_after  # the server said how long: exactly that
        return backoff(state)

    return wait


class CatalogClient:
    """Reads the catalog API's ``/products`` feed, day by day, politely and completely."""

    def __init__(
        self,
        settings: CatalogSettings,
        log: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.log = log or (lambda message: None)
        self.limiter = RateLimiter(settings.rps)
        self.http = httpx.Client(
            base_url=settings.url, timeout=settings.timeout_s, transport=transport
        )

    def __enter__(self) -> CatalogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def _get(self, params: dict[str, str], fetch: DayFetch) -> tuple[dict, dict]:
        """One request: the page parsed twice (numbers kept as their text, and as JSON values for
        the raw JSON of malformed records), or TransientError for what is worth a retry."""
        fetch.requests += 1
        with self.limiter:
            response = self.http.get(PRODUCTS_PATH, params=params)
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientError(f"HTTP {status} {response.reason_phrase}", wait)
        if status != 200:
            raise CatalogApiError(
                f"{response.request.url}: HTTP {status} {response.reason_phrase}: "
                f"{response.text[:300]}"
            )
        try:
            exact = json.loads(response.content, parse_int=str, parse_float=str)
            plain = json.loads(response.content)
        except ValueError as exc:
            raise TransientError(f"the page is not valid JSON ({exc})") from exc
        if not isinstance(exact, dict) or not {"items", "snapshot"} <= exact.keys():
            raise CatalogApiError(
                f"{response.request.url}: not a page of the catalog API "
                "(expected an object with items, snapshot and next_cursor)"
            )
        return exact, plain

    def _page(self, params: dict[str, str], fetch: DayFetch, number: int) -> tuple[dict, dict]:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((TransientError, httpx.TransportError)),
            wait=_waiter(self.settings),
            stop=tenacity.stop_after_attempt(self.settings.attempts),
            before_sleep=lambda s: self.log(
                f"catalog API, {fetch.day} page {number}: {_describe(s.outcome.exception())}; "
                f"attempt {s.attempt_number} of {self.settings.attempts}, retrying in "
                f"{s.upcoming_sleep:.2f} s"
            ),
            reraise=True,
        )
        try:
            return retrying(self._get, params, fetch)
        except (TransientError, httpx.TransportError) as exc:
            url = httpx.URL(self.settings.url + PRODUCTS_PATH, params=params)
            raise CatalogApiError(
                f"catalog API: {url} (day {fetch.day}, page {number}) failed "
                f"{self.settings.attempts} times, last with {_describe(exc)}; "
                "nothing of this run was written"
            ) from exc

    def fetch_day(self, day: date) -> DayFetch:
        """Every item published on ``day``: the window [day 00:00, day+1 00:00) walked to its last
        page, restarted if the feed changes under the walk."""
        since = datetime.combine(day, dtime())
        window = {
            "updated_since": since.isoformat(),
            "updated_before": (since + timedelta(days=1)).isoformat(),
            "limit": str(self.settings.page_size),
        }
        fetch = DayFetch(day)
        for attempt in range(self.settings.max_restarts + 1):
            fetch.items, fetch.plain, fetch.pages = {}, {}, 0
            fetch.restarts = attempt
            if self._walk(window, fetch):
                return fetch
        raise CatalogApiError(
            f"catalog API: {self.settings.url}{PRODUCTS_PATH} for {day}: the feed changed during "
            f"each of {self.settings.max_restarts + 1} walks; nothing of this run was written"
        )

    def _walk(self, window: dict[str, str], fetch: DayFetch) -> bool:
        """One walk of a day's pages; False when the feed's snapshot changed mid-walk."""
        snapshot, cursor, seen_cursors = None, None, set()
        while True:
            params = dict(window, **({"cursor": cursor} if cursor else {}))
            exact, plain = self._page(params, fetch, fetch.pages + 1)
            if snapshot is None:
                snapshot = exact["snapshot"]
            elif exact["snapshot"] != snapshot:
                self.log(
                    f"catalog API, {fetch.day}: the feed changed at page {fetch.pages + 1} "
                    f"(snapshot {snapshot} → {exact['snapshot']}); restarting the day's walk"
                )
                return False
            fetch.pages += 1
            added = 0
            for item, plain_item in zip(exact["items"], plain["items"], strict=True):
                seq = int(item["seq"])
                if seq in fetch.items:
                    continue
                fetch.items[seq] = item.get("record")
                fetch.plain[seq] = plain_item.get("record")
                added += 1
            if exact["items"] and not added:
                fetch.pages_read_twice += 1
            cursor = exact.get("next_cursor")
            if not cursor:
                return True
            if cursor in seen_cursors:
                raise CatalogApiError(
                    f"catalog API: {self.settings.url}{PRODUCTS_PATH} for {fetch.day}: cursor "
                    f"{cursor!r} came back twice (the pagination would never end)"
                )
            seen_cursors.add(cursor)


def _describe(error: BaseException | None) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"a timeout ({type(error).__name__})"
    if isinstance(error, httpx.TransportError):
        return f"a connection error ({type(error).__name__}: {error})"
    return str(error)


_JSON_KINDS = {str: "string", list: "array", dict: "object", bool: "boolean", type(None): "null"}


def _kind(value: object) -> str:
    return _JSON_KINDS.get(type(value), "number")


def record_row(
    record: object, plain: object = None, spec: TableSpec = PRODUCTS
) -> tuple[dict | None, str | None]:
    """A record's contract columns as text (``record`` parsed with JSON numbers kept as their
    text), or None and why it is malformed: not an object, a field absent (incomplete), or a
    field that is not a string, number or null. ``plain`` is the record parsed as usual (for
    naming a JSON type); default ``record``."""
    plain = record if plain is None else plain
    if not isinstance(plain, dict):
        return None, f"malformed record: a JSON {_kind(plain)}, not an object"
    missing = [name for name in spec.column_names if name not in record]
    if missing:
        return None, f"incomplete record: field(s) {missing} absent"
    for name in spec.column_names:
        value = record[name]
        if value is not None and not isinstance(value, str):
            kind = _kind(plain[name])
            return None, f"malformed record: field {name!r} is a JSON {kind}, not a scalar"
    return {name: record[name] for name in spec.column_names}, None


def source_name(day: date, spec: TableSpec = PRODUCTS) -> str:
    """The ``source_file`` of a row read from the API: not a file, so said so."""
    return f"api:{day.isoformat()}/{spec.name}"


def raw_frame(
    fetches: Iterable[DayFetch], ingested_at: datetime, spec: TableSpec = PRODUCTS
) -> pd.DataFrame:
    """The raw table of ``fetches``: the CSV reader's columns and types; ``line_number`` is the
    item's ``seq`` + 1 (a CSV's record number, header = 1), malformed records keep their JSON
    in ``raw_line`` and the reason in ``parse_error``."""
    columns: dict[str, list] = {name: [] for name in [*spec.column_names, *RAW_LINEAGE_COLUMNS]}
    stamp = ingested_at.replace(tzinfo=None)
    for fetch in sorted(fetches, key=lambda f: f.day):
        for seq in sorted(fetch.items):
            values, error = record_row(fetch.items[seq], fetch.plain[seq], spec)
            for name in spec.column_names:
                columns[name].append(values[name] if values else None)
            columns["delivery_date"].append(fetch.day)
            columns["source_file"].append(source_name(fetch.day, spec))
            columns["line_number"].append(seq + 1)
            columns["ingested_at"].append(stamp)
            raw = json.dumps(fetch.plain[seq], ensure_ascii=False, separators=(",", ":"))
            columns["raw_line"].append(raw if error else None)
            columns["parse_error"].append(error)
    table = pyarrow.table(columns, schema=raw_arrow_schema(spec))
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def extra_fields(fetch: DayFetch, spec: TableSpec = PRODUCTS) -> list[str]:
    """Fields of the day's records the contract does not know (ignored, like extra columns)."""
    known = set(spec.column_names)
    names = {n for r in fetch.items.values() if isinstance(r, dict) for n in r if n not in known}
    return sorted(names)


def fetch_days(
    days: Iterable[date], settings: CatalogSettings, log: Callable[[str], None] | None = None
) -> dict[date, DayFetch]:
    """Every day's feed, in day order; raises CatalogApiError before anything is returned."""
    with CatalogClient(settings, log) as client:
        return {day: client.fetch_day(day) for day in sorted(set(days))}
