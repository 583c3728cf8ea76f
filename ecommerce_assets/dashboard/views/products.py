"""Products and categories: top sellers, categories' revenue and margin, ratings."""

import streamlit as st

from .. import queries
from ..common import count, current_range, heading, money, share, table
from ..data import query

TOP = 10
MIN_REVIEWS = 3


def render() -> None:
    rng = current_range()
    heading("Products and categories", "lines of non-cancelled orders, by order day")
    top = query(queries.TOP_PRODUCTS, limit=TOP, **rng.params)
    categories = query(queries.CATEGORIES, **rng.params)
    best = top.iloc[0] if len(top) else None
    left, middle, right = st.columns(3)
    left.metric("Top seller", best["product"] if best is not None else "–", border=True)
    middle.metric(
        "Top seller revenue", money(best["revenue"] if best is not None else None), border=True
    )
    right.metric("Categories sold", count(int((categories["units"] > 0).sum())), border=True)
    st.subheader(f"Top {TOP} products by revenue")
    table(
        top[["product", "category", "units", "orders", "revenue", "margin"]],
        {"units": count, "orders": count, "revenue": money, "margin": money},
    )
    st.subheader("Categories")
    if len(categories):
        st.bar_chart(categories.set_index("category")[["revenue", "margin"]].astype(float))
    table(
        categories,
        {
            "units": count,
            "revenue": money,
            "margin": money,
            "margin_share": share,
            "average_rating": lambda v: "–" if v != v or v is None else f"{v:.2f}",
            "reviews": count,
        },
    )
    st.subheader(f"Best rated products (at least {MIN_REVIEWS} reviews in the range)")
    rated = query(queries.TOP_RATED, limit=TOP, min_reviews=MIN_REVIEWS, **rng.params)
    table(rated, {"average_rating": lambda v: f"{v:.2f}", "reviews": count})
