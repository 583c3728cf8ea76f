"""What every page shares: the date range picked in the sidebar, number formats, tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

RANGE_KEY = "ecommerce_range"


@dataclass(frozen=True)
class Range:
    """The range the pages show (inclusive) and the data's first and last delivery day."""

    start: date
    end: date
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> tuple[date, date]:
        """The period of equal length just before, for the KPIs' change."""
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    @property
    def params(self) -> dict[str, date]:
        return {"start": self.start, "end": self.end}


def current_range() -> Range:
    return st.session_state[RANGE_KEY]


def money(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):,.2f}"


def count(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def share(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value) * 100:.1f} %"


def score(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.2f}"


def change(now: Any, before: Any) -> str | None:
    """The KPI's change against the previous period, as a percentage (None: nothing before)."""
    if now is None or before is None or pd.isna(before) or float(before) == 0:
        return None
    return f"{(float(now) - float(before)) / abs(float(before)) * 100:+.1f} %"


def table(frame: pd.DataFrame, formats: dict[str, Any]) -> None:
    """A static table (HTML, so every figure is text in the page) with formatted columns."""
    shown = frame.copy()
    for column, fmt in formats.items():
        if column in shown:
            shown[column] = shown[column].map(fmt)
    st.table(shown, hide_index=True)


def heading(title: str, note: str) -> None:
    rng = current_range()
    st.title(title)
    st.caption(f"{rng.start} → {rng.end} ({rng.days} days) · {note}")
