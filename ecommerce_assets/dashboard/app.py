"""The Streamlit script ``bin/dashboard`` runs: the date filter, the data's last delivery day and
the pages (the overview at the root URL, the others at ``/products``, ``/customers``, ``/funnel``,
``/quality``). ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` in the URL sets the range (the default:
the 30 days ending on the last delivery day); changing it in the sidebar writes it back to the
URL."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from ecommerce_assets.dashboard import data
from ecommerce_assets.dashboard.common import RANGE_KEY, Range
from ecommerce_assets.dashboard.queries import INFO
from ecommerce_assets.dashboard.views import customers, funnel, overview, products, quality

# The range shown when the URL names none: the last 30 delivered days (and the 30 before, in the
# KPIs' change); the sidebar's picker and ?from=&to= choose any other.
DEFAULT_DAYS = 30
PAGES = [
    # The default page is served at the root URL (its url_path is not a path of its own).
    st.Page(overview.render, title="Overview", url_path="overview", default=True),
    st.Page(products.render, title="Products and categories", url_path="products"),
    st.Page(customers.render, title="Customers", url_path="customers"),
    st.Page(funnel.render, title="Conversion funnel", url_path="funnel"),
    st.Page(quality.render, title="Data quality", url_path="quality"),
]

# KPI figures smaller than Streamlit's and narrower margins, so five fit side by side at 1280 px.
STYLE = """<style>
[data-testid='stMetricValue'] { font-size: 1.45rem; }
[data-testid='stMainBlockContainer'] { padding: 2rem 2rem 3rem 2rem; }
</style>"""


def main() -> None:
    st.set_page_config(page_title="E-commerce analytics", layout="wide")
    st.html(STYLE)
    page = st.navigation(PAGES)
    try:
        info = data.one(INFO)
    except data.MissingCopy as exc:
        st.title("E-commerce analytics")
        st.warning(str(exc))
        return
    if info.get("last_delivery_day") is None:
        st.title("E-commerce analytics")
        st.warning("The published copy holds no delivery yet: run a delivery (bin/build).")
        return
    first, last = data.as_date(info["first_delivery_day"]), data.as_date(info["last_delivery_day"])
    params = st.query_params
    end = data.parse_day(params.get("to")) or last
    start = data.parse_day(params.get("from")) or max(first, end - timedelta(days=DEFAULT_DAYS - 1))
    with st.sidebar:
        picked = st.date_input(
            "Dates",
            value=(start, end),
            min_value=min(first, start),
            max_value=max(last, end),
            key="dates",
        )
        st.caption(f"Data through **{last}** (last delivery day)")
        st.caption(
            f"Published {info['published_at']:%Y-%m-%d %H:%M} UTC by run "
            f"`{str(info['run_id'])[:8]}` ({info['mode']})"
        )
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
    st.session_state[RANGE_KEY] = Range(start=start, end=end, first=first, last=last)
    st.query_params.update({"from": start.isoformat(), "to": end.isoformat()})
    page.run()


main()
