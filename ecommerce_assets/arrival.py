"""When deliveries are due: the arrival deadline and the days a source never delivers on.

Day D's delivery is due by ``ECOMMERCE_DELIVERY_DEADLINE`` (``HH:MM``, UTC, on D+1; default
06:00; ``off``: no deadline). ``ECOMMERCE_NO_DELIVERY_DAYS`` lists the days without a delivery
(weekday names and ISO dates, e.g. ``Sun,2026-12-25``): they are never late. Read by the
``delivery_deadline_sensor`` (``automation/deadlines.py``) and the ``arrived_by_deadline`` check.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from .landing import complete_deliveries
from .partitions import last_partition_day

DEADLINE_ENV = "ECOMMERCE_DELIVERY_DEADLINE"
CALENDAR_ENV = "ECOMMERCE_NO_DELIVERY_DAYS"
DEFAULT_DEADLINE = "06:00"
# Only the last week is judged: an older gap is a missing partition, not news.
DEADLINE_LOOKBACK_DAYS = 7
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DeliveryCalendar:
    """When deliveries are due: the deadline (time of day D+1, UTC) and the days without one."""

    deadline: time | None = time(6, 0)
    weekdays_off: frozenset[int] = frozenset()
    dates_off: frozenset[date] = frozenset()

    def expects(self, day: date) -> bool:
        """A delivery is due for ``day`` (not a weekday or date the source never delivers on)."""
        return day.weekday() not in self.weekdays_off and day not in self.dates_off

    def due(self, day: date) -> datetime | None:
        """When ``day``'s delivery is due (UTC), or None without a deadline or a delivery."""
        if self.deadline is None or not self.expects(day):
            return None
        return datetime.combine(day + timedelta(days=1), self.deadline, tzinfo=UTC)


def load_calendar(environ: Mapping[str, str] | None = None) -> DeliveryCalendar:
    """``ECOMMERCE_DELIVERY_DEADLINE`` and ``ECOMMERCE_NO_DELIVERY_DAYS``, checked."""
    env = os.environ if environ is None else environ
    text = (env.get(DEADLINE_ENV) or DEFAULT_DEADLINE).strip().lower()
    deadline = None
    if text != "off":
        try:
            deadline = time.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(
                f"{DEADLINE_ENV}={text!r} must be HH:MM (UTC, on the day after the delivery day) "
                "or off"
            ) from exc
    weekdays, dates = set(), set()
    for item in (env.get(CALENDAR_ENV) or "").replace(";", ",").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item[:3] in _WEEKDAYS and item.isalpha():
            weekdays.add(_WEEKDAYS.index(item[:3]))
            continue
        try:
            dates.add(date.fromisoformat(item))
        except ValueError as exc:
            raise ValueError(
                f"{CALENDAR_ENV}: {item!r} is neither a weekday (Mon … Sun) nor a date (YYYY-MM-DD)"
            ) from exc
    return DeliveryCalendar(deadline, frozenset(weekdays), frozenset(dates))


def late_days(
    landing_dir: Path, calendar: DeliveryCalendar, first: date, now: datetime
) -> dict[date, datetime]:
    """Days of the lookback window past their deadline without a complete delivery."""
    last = last_partition_day(now)
    start = max(first, last - timedelta(days=DEADLINE_LOOKBACK_DAYS - 1))
    arrived = complete_deliveries(landing_dir)
    late = {}
    for offset in range((last - start).days + 1):
        day = start + timedelta(days=offset)
        due = calendar.due(day)
        if due is not None and now >= due and day not in arrived:
            late[day] = due
    return late
