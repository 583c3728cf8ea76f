"""The delivery days a check run covers, read from the run's tags.

A check of a partitioned asset reads only the days of its run (a daily run never rescans
history); a check launched on its own from the UI, without partition tags, checks every day.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from ..dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from ..slices import days_in


@dataclass(frozen=True)
class CheckedDays:
    """The delivery days a run covers (both ends inclusive); ``None``: every day in the table."""

    first: date | None = None
    last: date | None = None

    @property
    def is_all(self) -> bool:
        return self.first is None or self.last is None

    def where(self, column: str = "delivery_date", *, lookback_days: int = 0) -> str:
        """A SQL predicate keeping ``column`` inside the window (optionally widened back)."""
        if self.is_all:
            return "TRUE"
        start = self.first - timedelta(days=lookback_days)
        return f"CAST({column} AS DATE) BETWEEN DATE '{start}' AND DATE '{self.last}'"

    def days(self) -> list[date]:
        """Every day of the window, in order (none for the whole table)."""
        if self.is_all:
            return []
        return days_in(self.first, self.last + timedelta(days=1))

    def label(self) -> str:
        return "all delivery days" if self.is_all else f"{self.first} .. {self.last}"


def checked_days(tags: dict[str, str]) -> CheckedDays:
    """The run's partition range from its tags (single-run backfill or one partition).

    Checks of partitioned assets read only these days, so a daily run never rescans history. A
    run without partition tags (a check launched on its own from the UI) checks every day.
    """
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return CheckedDays(date.fromisoformat(start[:10]), date.fromisoformat(end[:10]))
    single = tags.get(PARTITION_NAME_TAG)
    if single:
        day = date.fromisoformat(single[:10])
        return CheckedDays(day, day)
    return CheckedDays()
