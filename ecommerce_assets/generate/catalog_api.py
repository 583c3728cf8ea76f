"""``python -m ecommerce_assets.generate.catalog_api``: the demo catalog over HTTP, with faults.

Serves the products of a generated landing zone (the same seed, so the same data as its
``products.csv``) as the paginated JSON API of ``docs/catalog-api.md``, from a local process
(stdlib ``ThreadingHTTPServer``: no server dependency). Faults are injected by ``--fault`` or
``POST /_faults``; every ``/products`` request is logged with its arrival time (``GET
/_requests``), so tests measure the client's requests per second from the server's side.

Each day's feed is its ``products.csv`` records in file order (read by the platform's own CSV
reader, so a line DuckDB rejects is served as a malformed record: its raw text as a JSON string);
``seq`` is the record's number in the file less one, so ``seq + 1`` is the CSV's line number.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from ..contract import PRODUCTS, SUCCESS_MARKER
from ..landing import DeliveryError, ReadReport, complete_deliveries, read_raw

FAULT_KINDS = ("5xx", "429", "slow", "malformed", "incomplete", "change")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Fault:
    """``KIND:PAGE[:ARG]``, applied to page ``PAGE`` (1 = the first) of every window's walk.

    - ``5xx:P:N``: the first N reads of page P answer 503;
    - ``429:P:S``: the first read of page P answers 429 with ``Retry-After: S``;
    - ``slow:P:S``: the first read of page P waits S seconds before answering;
    - ``malformed:P``: page P's first record is served as a JSON array, not an object;
    - ``incomplete:P``: page P's first record lacks its ``price`` field;
    - ``change:P``: the window's first record is withheld until page P is first read, then
      published in its place: every later record's ``seq`` shifts and the snapshot changes.
    """

    kind: str
    page: int
    arg: float = 1.0

    @classmethod
    def parse(cls, text: str) -> Fault:
        parts = text.split(":")
        if parts[0] not in FAULT_KINDS or len(parts) not in (2, 3):
            raise ValueError(f"fault {text!r}: expected KIND:PAGE[:ARG], KIND in {FAULT_KINDS}")
        return cls(parts[0], int(parts[1]), float(parts[2]) if len(parts) == 3 else 1.0)


def _day_items(landing: Path, day: date) -> list[tuple[int, object]]:
    """``(seq, record)`` of a day's products, in file order."""
    frame = read_raw(landing, PRODUCTS, [day], datetime.now(), ReadReport())
    items = []
    for row in frame.itertuples(index=False):
        row = row._asdict()
        seq = int(row["line_number"]) - 1
        if not pd.isna(row["parse_error"]):
            items.append((seq, row["raw_line"]))
        else:
            items.append((seq, {c: _text(row[c]) for c in PRODUCTS.column_names}))
    return items


def _text(value: object) -> str | None:
    return None if pd.isna(value) else str(value)


class Catalog:
    """The served feed, its faults and its request log (shared by the server's threads)."""

    def __init__(self, landing: Path, faults: list[Fault] | None = None, rps: float = 0) -> None:
        self.landing = landing
        self.rps = rps  # the server's own limit (0: none), answered with 429
        self.lock = threading.Lock()
        self._days: dict[date, tuple[float, list[tuple[int, object]]]] = {}
        self.set_faults(faults or [])

    def set_faults(self, faults: list[Fault]) -> None:
        """Replace the faults and forget what they did so far (a fresh start for a test)."""
        with self.lock:
            self.faults = list(faults)
            self.reads: dict[tuple, int] = {}
            self.published: set[tuple] = set()
            self.log: list[dict] = []

    def requests(self) -> list[dict]:
        with self.lock:
            return list(self.log)

    def _items(self, day: date, folder: Path) -> list[tuple[int, object]]:
        stamp = (folder / SUCCESS_MARKER).stat().st_mtime  # a re-delivered day is read again
        if day not in self._days or self._days[day][0] != stamp:
            self._days[day] = (stamp, _day_items(self.landing, day))
        return self._days[day][1]

    def _window(
        self, since: datetime, before: datetime, limit: int
    ) -> list[tuple[str, int, object]]:
        """The window's items as ``(day, seq, record)`` with content faults applied."""
        out = []
        for day, folder in complete_deliveries(self.landing).items():
            # A record published with day D's delivery changed at D 00:00.
            if since <= datetime.combine(day, datetime.min.time()) < before:
                out += [(day.isoformat(), seq, record) for seq, record in self._items(day, folder)]
        for fault in self.faults:
            withheld = fault.kind == "change" and (since, before) not in self.published
            # Only where the walk will reach page P, so the record is published at all.
            if withheld and len(out) - 1 > (fault.page - 1) * limit:
                first_day = out[0][0]
                out = [(d, s - 1 if d == first_day else s, r) for d, s, r in out[1:]]
        for fault in self.faults:
            start = (fault.page - 1) * limit
            if fault.kind in ("malformed", "incomplete") and start < len(out):
                d, s, record = out[start]
                if isinstance(record, dict):
                    if fault.kind == "malformed":
                        record = list(record.values())
                    else:
                        record = {k: v for k, v in record.items() if k != "price"}
                out[start] = (d, s, record)
        return out

    def page(self, query: dict[str, str]) -> tuple[int, dict[str, str], object]:
        """Answer one ``GET /products``: (status, headers, JSON body)."""
        try:
            since = datetime.fromisoformat(query["updated_since"])
            before = datetime.fromisoformat(query.get("updated_before") or "9999-12-31")
            limit = int(query.get("limit") or 100)
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError(f"limit must be 1..{MAX_LIMIT}")
            cursor = query.get("cursor")
            after = tuple(cursor.split("/")) if cursor else None
            after = (after[0], int(after[1])) if after else None
        except (KeyError, ValueError, IndexError) as exc:
            return 400, {}, {"error": f"bad request: {exc}"}
        now = time.time()
        with self.lock:
            recent = [r for r in self.log if now - r["t"] < 1.0]
            entry = {"t": now, "since": query["updated_since"], "cursor": cursor, "status": 200}
            self.log.append(entry)
            if self.rps and len(recent) >= self.rps:
                entry["status"] = 429
                return 429, {"Retry-After": "1"}, {"error": "rate limit exceeded"}
            window = (since, before)
            try:
                items = self._window(since, before, limit)
            except DeliveryError as exc:
                entry["status"] = 500
                return 500, {}, {"error": f"the catalog cannot be read: {exc}"}
            position = 0 if after is None else sum((d, s) <= after for d, s, _ in items)
            number = position // limit + 1
            entry["page"] = number
            wait = 0.0
            for index, fault in enumerate(self.faults):
                if fault.page != number:
                    continue
                reads = self.reads[(index, window)] = self.reads.get((index, window), 0) + 1
                if fault.kind == "5xx" and reads <= fault.arg:
                    entry["status"] = 503
                    return 503, {}, {"error": "injected fault: service unavailable"}
                if fault.kind == "429" and reads == 1:
                    entry["status"] = 429
                    return 429, {"Retry-After": f"{fault.arg:g}"}, {"error": "injected: slow down"}
                if fault.kind == "slow" and reads == 1:
                    wait = entry["slow_s"] = fault.arg
                if fault.kind == "change" and reads == 1 and window not in self.published:
                    self.published.add(window)
                    items = self._window(since, before, limit)
            body = {
                "items": [
                    {"day": d, "seq": s, "record": r}
                    for d, s, r in items[position : position + limit]
                ],
                "snapshot": hashlib.sha1(json.dumps(items, sort_keys=True).encode()).hexdigest()[
                    :16
                ],
                "next_cursor": None,
            }
            if position + limit < len(items):
                last = items[position + limit - 1]
                body["next_cursor"] = f"{last[0]}/{last[1]}"
        if wait:
            time.sleep(wait)  # outside the lock: other requests go on meanwhile
        return 200, {}, body


def _handler(catalog: Catalog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout): nothing to answer

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/products":
                status, headers, body = catalog.page(query)
                self._send(status, body, headers)
            elif url.path == "/health":
                self._send(200, {"status": "ok"})
            elif url.path == "/_requests":
                self._send(200, {"requests": catalog.requests()})
            else:
                self._send(404, {"error": f"no such path: {url.path}"})

        def do_POST(self) -> None:
            body = json.loads(
                self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
            )
            if self.path == "/_faults":
                try:
                    catalog.set_faults([Fault.parse(f) for f in body.get("faults", [])])
                except ValueError as exc:
                    self._send(400, {"error": str(exc)})
                    return
                self._send(200, {"faults": [f.__dict__ for f in catalog.faults]})
            else:
                self._send(404, {"error": f"no such path: {self.path}"})

        def log_message(self, format: str, *args: object) -> None:
            pass  # the request log is /_requests; stderr stays quiet

    return Handler


def make_server(
    landing: Path, port: int = 0, faults: list[Fault] | None = None, rps: float = 0
) -> tuple[ThreadingHTTPServer, Catalog]:
    """A server on 127.0.0.1 (``port`` 0: a free one) serving ``landing``'s products."""
    catalog = Catalog(landing, faults, rps)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(catalog))
    server.daemon_threads = True
    return server, catalog


@contextmanager
def serving(
    landing: Path, faults: list[Fault] | None = None, rps: float = 0
) -> Iterator[tuple[str, Catalog]]:
    """The server in a thread of this process while the block runs: its URL and its catalog."""
    server, catalog = make_server(landing, 0, faults, rps)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", catalog
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_in_background(landing: Path, args: tuple[str, ...] = ()) -> str:
    """Start the server as a child process on a free port and return its URL; it stops when this
    process exits (its stdin closes), however this process ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", __name__, "--landing", str(landing), "--exit-with-stdin", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline().split()
    if first[:1] != ["serving"]:
        process.kill()
        raise RuntimeError(f"the catalog API server did not start (exit code {process.wait()})")

    def stop() -> None:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()

    atexit.register(stop)
    return first[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True, help="the landing zone served")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: free one)")
    parser.add_argument(
        "--fault", action="append", default=[], type=Fault.parse, help="KIND:PAGE[:ARG], repeatable"
    )
    parser.add_argument("--rps", type=float, default=0, help="answer 429 above this rate (0: no)")
    parser.add_argument(
        "--exit-with-stdin", action="store_true", help="stop when stdin closes (a parent's pipe)"
    )
    args = parser.parse_args(argv)
    server, _ = make_server(args.landing, args.port, args.fault, args.rps)
    if args.exit_with_stdin:
        threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
    # The first line says where: a parent that asked for port 0 reads it.
    print(f"serving http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
