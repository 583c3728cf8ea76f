"""The live demo: deliver a landing zone's missing days, then each new day once it has ended.

Why a module of its own: this is the one part of the generator that reads a clock. A source
system delivers day D only after D has ended (UTC); the demo does the same, generating day by
day (a day never depends on the days after it) and waiting on a clock that tests replace, so
they can let days end without sleeping.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Protocol

from ecommerce_assets import contract

from .landing_zone import DayWriter, default_start, deliver_files, effective_rates, release_day

_MAX_NAP_S = 60.0  # wake up at least this often to look at the clock again


class Clock(Protocol):
    """What the live demo needs of time: the current instant (UTC) and a way to wait."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def day_end(day: date) -> datetime:
    """00:00:00 UTC of the following day: when ``day`` has ended."""
    return datetime.combine(day + timedelta(days=1), day_time(0), tzinfo=UTC)


def _wait_until(clock: Clock, instant: datetime) -> None:
    """Sleep in naps until the clock reads ``instant`` (a nap may end early; the clock decides)."""
    while (remaining := (instant - clock.now()).total_seconds()) > 0:
        clock.sleep(min(remaining, _MAX_NAP_S))


def live_deliveries(
    out: Path,
    *,
    interval_s: float,
    max_days: int | None = None,
    initial: int = 0,
    lag_s: float = 0.0,
    log: Callable[[str], None] = print,
    clock: Clock | None = None,
    seed: int = 42,
    scale: float = 1.0,
    start: date | None = None,
    days: int = 366,
    clean: bool = False,
    rates: Mapping[str, float] | None = None,
) -> list[date]:
    """Live demo: deliver the days missing from ``out``, then keep delivering new days.

    Days are generated one at a time into a scratch folder and released with ``release_day``
    (files first, ``_SUCCESS`` last). A day already complete in ``out`` is skipped, but generated
    all the same, so later days are those of the same world. ``initial`` days go at once, then
    one per ``interval_s``; past the window (``start``, ``days``) each following day goes as soon
    as it has ended (UTC) plus ``lag_s``. No day is ever delivered before it has ended. Stops
    after ``max_days`` deliveries (never, if None); returns the days delivered.
    """
    if days < 1 or scale <= 0:
        raise ValueError("days must be >= 1 and scale > 0")
    effective = effective_rates(rates, clean)
    start = default_start(days) if start is None else start
    clock = clock or SystemClock()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    writer = DayWriter(seed, scale, start, clean, effective)
    window_end = start + timedelta(days=days - 1)
    released: list[date] = []
    last_release: datetime | None = None
    with tempfile.TemporaryDirectory(prefix=".live-", dir=out.parent) as scratch:
        while max_days is None or len(released) < max_days:
            day, files, _ = writer.make_day()
            target = out / day.isoformat()
            if (target / contract.SUCCESS_MARKER).is_file():
                continue
            folder = Path(scratch) / day.isoformat()
            deliver_files(folder, files)
            ready = day_end(day) + timedelta(seconds=lag_s)
            if last_release is not None and len(released) >= max(initial, 1):
                ready = max(ready, last_release + timedelta(seconds=interval_s))
            if clock.now() < day_end(day) + timedelta(seconds=lag_s):
                log(f"waiting for {day} to end (UTC), delivery at {ready:%Y-%m-%d %H:%M:%S} UTC")
            _wait_until(clock, ready)
            release_day(folder, target)
            shutil.rmtree(folder)
            last_release = clock.now()
            released.append(day)
            if day < window_end:
                more = f"the window runs to {window_end}"
            else:
                more = f"next: {day + timedelta(days=1)}, once it has ended"
            log(f"delivered {day} to {out} ({more})")
    return released
