"""Data quality: the quality score by day, the quarantine by reason, the checks that warned or
failed (their latest evaluation, per delivery day)."""

import altair as alt
import streamlit as st

from .. import queries
from ..common import count, current_range, heading, score, table
from ..data import one, query


def render() -> None:
    rng = current_range()
    heading("Data quality", "by delivery day; scores 0-100 weighted by raw rows")
    totals = one(queries.QUALITY, **rng.params)
    quarantine = query(queries.QUARANTINE, **rng.params)
    checks = query(queries.CHECKS, **rng.params)
    failed = int((checks["status"] == "failed").sum())
    warned = int((checks["status"] == "warned").sum())
    cols = st.columns(5)
    cols[0].metric("Quality score", score(totals.get("score")), border=True)
    cols[1].metric("Lowest table-day score", score(totals.get("lowest")), border=True)
    cols[2].metric("Quarantined rows", count(quarantine["rows"].sum()), border=True)
    cols[3].metric("Checks failed", count(failed), border=True)
    cols[4].metric("Checks warned", count(warned), border=True)
    daily = query(queries.QUALITY_DAILY, **rng.params)
    if len(daily):
        st.subheader("Quality score by day")
        lines = daily.melt("day", ["quality_score", "lowest_table_score"], "score", "value")
        chart = (
            alt.Chart(lines)
            .mark_line()
            .encode(
                x=alt.X("day:T", title=None),
                y=alt.Y("value:Q", title="score", scale=alt.Scale(zero=False)),
                color=alt.Color("score:N", title=None, legend=alt.Legend(orient="bottom")),
                tooltip=["day:T", "score:N", alt.Tooltip("value:Q", format=".2f")],
            )
        )
        st.altair_chart(chart, width="stretch")
    st.subheader("Quality by table")
    fraction = lambda v: f"{v:.4f}"  # noqa: E731
    table(
        query(queries.QUALITY_TABLES, **rng.params),
        {
            "quality_score": score,
            "completeness": fraction,
            "uniqueness": fraction,
            "validity": fraction,
            "accuracy": fraction,
            "consistency": fraction,
            "raw_rows": count,
        },
    )
    left, right = st.columns(2)
    left.subheader("Quarantine by reason")
    with left:
        table(quarantine, {"rows": count})
    right.subheader("Checks that warned or failed")
    with right:
        if checks.empty:
            st.success("Every check passed on these days.")
        else:
            table(checks, {"rows_failing": count})
