"""Overview: the range's KPIs (with their change against the period before) and daily trends."""

import math

import pandas as pd
import streamlit as st

from .. import queries
from ..common import change, count, current_range, heading, money
from ..data import one, query

# A KPI's sparkline shows at most this many points (a long range: means of consecutive days):
# drawing 366 of them in each of five cards took the year's overview past 2 s in the browser.
SPARK_POINTS = 60


def sparkline(values: pd.Series) -> list[float]:
    values = values.fillna(0).astype(float).reset_index(drop=True)
    bucket = max(1, math.ceil(len(values) / SPARK_POINTS))
    return values.groupby(values.index // bucket).mean().round(2).tolist()


def render() -> None:
    rng = current_range()
    heading("Overview", "orders by the day they were placed; cancelled orders excluded")
    now = one(queries.KPIS, **rng.params)
    before_start, before_end = rng.previous()
    before = one(queries.KPIS, start=before_start, end=before_end)
    daily = query(queries.DAILY, **rng.params)
    daily["average_order_value"] = daily["revenue"] / daily["orders"].where(daily["orders"] > 0)
    kpis = [
        ("Revenue", "revenue", money, "Net revenue of non-cancelled orders, shipping included."),
        ("Orders", "orders", count, "Non-cancelled orders placed in the range."),
        ("Average order value", "average_order_value", money, "Revenue / orders."),
        ("Margin", "margin", money, "Net line revenue − cost of the lines (unknown costs as 0)."),
        ("New customers", "new_customers", count, "Customers whose first order fell in the range."),
    ]
    for column, (label, key, fmt, help_text) in zip(st.columns(len(kpis)), kpis, strict=True):
        series = sparkline(daily[key])
        column.metric(
            label,
            fmt(now.get(key)),
            delta=change(now.get(key), before.get(key)),
            help=help_text,
            chart_data=series if len(series) > 1 else None,
            border=True,
        )
    st.caption(
        f"Cancelled orders: {count(now.get('cancelled'))} · change against "
        f"{before_start} → {before_end}"
    )
    if daily.empty:
        st.info("No orders in this range.")
        return
    trend = daily.set_index("day")
    left, right = st.columns(2)
    left.subheader("Revenue and margin by day")
    left.line_chart(trend[["revenue", "margin"]].astype(float))
    right.subheader("Orders and new customers by day")
    right.line_chart(trend[["orders", "new_customers"]].astype(float))
    st.subheader("Average order value by day")
    st.line_chart(trend[["average_order_value"]].astype(float))
