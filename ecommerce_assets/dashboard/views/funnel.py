"""The conversion funnel: sessions reaching each step, step and overall conversion."""

import altair as alt
import pandas as pd
import streamlit as st

from .. import queries
from ..common import count, current_range, heading, share, table
from ..data import one, query

STEPS = [
    ("Sessions", "sessions"),
    ("Product view", "product_view"),
    ("Add to cart", "add_to_cart"),
    ("Checkout", "checkout"),
    ("Purchase", "purchase"),
]


def render() -> None:
    rng = current_range()
    heading("Conversion funnel", "sessions by event day, late events included")
    totals = one(queries.FUNNEL, **rng.params)
    sessions = totals.get("sessions") or 0
    rows = []
    previous = None
    for label, key in STEPS:
        value = totals.get(key) or 0
        rows.append(
            {
                "step": label,
                "sessions": value,
                "of_all_sessions": value / sessions if sessions else None,
                "from_previous_step": value / previous if previous else None,
            }
        )
        previous = value
    steps = pd.DataFrame(rows)
    for column, row in zip(st.columns(len(STEPS)), rows, strict=True):
        column.metric(
            row["step"],
            count(row["sessions"]),
            delta=None if row["from_previous_step"] is None else share(row["from_previous_step"]),
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
    st.caption("Under each step: its share of the step before.")
    chart = (
        alt.Chart(steps)
        .mark_bar()
        .encode(
            x=alt.X("sessions:Q", title="sessions"),
            y=alt.Y("step:N", sort=[label for label, _ in STEPS], title=None),
            tooltip=["step", "sessions"],
        )
    )
    st.altair_chart(chart, width="stretch")
    table(steps, {"sessions": count, "of_all_sessions": share, "from_previous_step": share})
    st.subheader("Overall conversion by day")
    daily = query(queries.FUNNEL_DAILY, **rng.params)
    if len(daily):
        st.line_chart(daily.set_index("day")[["conversion"]].astype(float))
