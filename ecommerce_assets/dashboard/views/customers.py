"""Customers: who ordered in the range, lifetime value and RFM segments, signup-month cohorts."""

import altair as alt
import streamlit as st

from .. import queries
from ..common import count, current_range, heading, money, table
from ..data import as_date, one, query

TOP = 10


def render() -> None:
    rng = current_range()
    heading("Customers", "lifetime value and segments as of the last delivery day")
    ordered = one(queries.CUSTOMERS, **rng.params)
    lifetime = one(queries.LIFETIME)
    cols = st.columns(4)
    cols[0].metric("Customers who ordered", count(ordered.get("customers")), border=True)
    cols[1].metric("Customers (all time)", count(lifetime.get("customers")), border=True)
    cols[2].metric("Active (ordered in 90 days)", count(lifetime.get("active")), border=True)
    cols[3].metric("Average lifetime value", money(lifetime.get("average_ltv")), border=True)
    as_of = as_date(lifetime["as_of_date"]) if lifetime.get("as_of_date") else "–"
    st.caption(f"Lifetime value and RFM segments as of {as_of} (docs/star-schema.md)")
    left, right = st.columns(2)
    segments = query(queries.SEGMENTS)
    with left:
        st.subheader("RFM segments")
        table(
            segments[["segment", "customers", "average_revenue", "average_ltv"]],
            {"customers": count, "average_revenue": money, "average_ltv": money},
        )
    with right:
        st.subheader(f"Top {TOP} customers by lifetime value")
        top = query(queries.TOP_CUSTOMERS, limit=TOP)
        table(
            top[["user_id", "segment", "orders", "revenue", "ltv_estimate"]],
            {"orders": count, "revenue": money, "ltv_estimate": money},
        )
    st.subheader("Cohorts: customers who ordered, by signup month and order month")
    cohorts = query(queries.COHORTS, **rng.params)
    if cohorts.empty:
        st.info("No orders in this range.")
        return
    chart = (
        alt.Chart(cohorts)
        .mark_rect()
        .encode(
            x=alt.X("order_month:O", title="order month"),
            y=alt.Y("cohort:O", title="signup month"),
            color=alt.Color("customers:Q", title="customers"),
            tooltip=["cohort", "order_month", "customers", "signed_up", "revenue"],
        )
    )
    st.altair_chart(chart, width="stretch")
    sizes = (
        cohorts.groupby("cohort")
        .agg(signed_up=("signed_up", "first"), revenue=("revenue", "sum"))
        .reset_index()
        .sort_values("cohort", ascending=False)
    )
    table(sizes.head(24), {"signed_up": count, "revenue": money})
