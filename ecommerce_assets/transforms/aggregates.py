"""Aggregates over the facts: daily sales, product performance, customer lifetime, funnel.

Conventions (docs/star-schema.md, "Aggregates", has the full list):
- Revenue-bearing orders are orders whose status is not ``cancelled`` (returned orders count;
  their return shows in the return rates). Money sums are exact DECIMAL sums of cents.
- A customer's first order is their first non-cancelled order ever; ``new_customers`` on day D
  are customers whose first order is on D.
- "As of" is the last delivery day in the data (max ``delivery_date`` of fact_orders), never the
  wall clock, so rebuilds are reproducible.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date

import duckdb
import pandas as pd

from ..schemas import (
    AggConversionFunnel,
    AggCustomerLifetime,
    AggDailySales,
    AggProductPerformance,
    conform,
)
from ..slices import Relation, sql_inputs
from ..warehouse import fetch_frame

ACTIVE_DAYS = 90
# The "annual order rate" of an active customer is measured over at least a year, so a new
# one-order customer is projected to one more order, not to a burst of them.
MIN_TENURE_DAYS = 365
# RFM thresholds: a score is 1 + the number of thresholds the value reaches.
RECENCY_DAYS = (240, 120, 60, 30)  # days since last order <= t (smaller is better)
FREQUENCY_ORDERS = (2, 3, 4, 6)  # orders >= t
MONETARY_REVENUE = (50, 150, 300, 600)  # revenue >= t


def _con(inputs: dict[str, Relation]) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the inputs (frames or warehouse slices) as ``<name>_df``."""
    return sql_inputs({f"{name}_df": value for name, value in inputs.items()})


def _days_frame(days: list[date]) -> pd.DataFrame:
    return pd.DataFrame({"d": pd.to_datetime(days)})


def cents_div(cents: str, divisor: str) -> str:
    """Exact ``cents / divisor`` in money, rounded half away from zero (both non-negative).

    DuckDB divides DECIMALs in DOUBLE, which can round 50.025 down; integer cents cannot.
    """
    rounded = f"(2 * ({cents}) + ({divisor})) // (2 * ({divisor}))"
    return f"CAST(CAST({rounded} AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2))"


def _cents(money: str) -> str:
    return f"CAST(({money}) * 100 AS BIGINT)"


def _money(column: str) -> str:
    return f"CAST({column} AS DECIMAL(14,2))"


def _orders_view(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""
        CREATE TEMP TABLE orders AS
        SELECT order_id, user_id, user_sk, status, units, {_money("gross")} AS gross,
            {_money("discount")} AS discount, {_money("shipping")} AS shipping,
            {_money("net")} AS net, CAST(order_ts AS TIMESTAMP) AS order_ts,
            CAST(order_ts AS DATE) AS business_date, CAST(delivery_date AS DATE) AS delivery_date,
            status <> 'cancelled' AS is_revenue
        FROM fact_orders_df
        """
    )


def build_agg_daily_sales(fact_orders: Relation, days: list[date]) -> pd.DataFrame:
    """One row per business date in ``days`` that has orders. ``fact_orders`` must hold every
    order up to the last of ``days`` (new vs returning customers look at the whole history).

    A day without orders has no row, not a row of zeros: such a day is one not delivered (yet),
    refused, or outside the deliveries, and zeros would tell analysts it sold nothing. (A backfill
    targets every calendar day of this asset, since each reads all of fact_orders.)"""
    with _con({"fact_orders": fact_orders, "days": _days_frame(days)}) as con:
        _orders_view(con)
        df = fetch_frame(
            con,
            f"""
            WITH first_orders AS (
                SELECT user_id, min(business_date) AS first_date
                FROM orders WHERE is_revenue GROUP BY user_id
            ), daily AS (
                SELECT business_date,
                    count(*) AS orders,
                    count(*) FILTER (status = 'cancelled') AS cancelled_orders,
                    count(*) FILTER (status = 'returned') AS returned_orders,
                    coalesce(sum(units) FILTER (is_revenue), 0) AS units,
                    coalesce(sum(gross) FILTER (is_revenue), 0) AS gross_sales,
                    coalesce(sum(discount) FILTER (is_revenue), 0) AS discounts,
                    coalesce(sum(shipping) FILTER (is_revenue), 0) AS shipping,
                    coalesce(sum(net) FILTER (is_revenue), 0) AS net_revenue,
                    count(*) FILTER (is_revenue) AS revenue_orders,
                    count(DISTINCT o.user_id) FILTER (is_revenue) AS unique_customers,
                    count(DISTINCT o.user_id) FILTER (is_revenue AND f.first_date = business_date)
                        AS new_customers
                FROM orders AS o LEFT JOIN first_orders AS f ON f.user_id = o.user_id
                GROUP BY business_date
            )
            SELECT CAST(d.d AS DATE) AS business_date,
                CAST(strftime(d.d, '%Y%m%d') AS INTEGER) AS date_key,
                coalesce(orders, 0) AS orders,
                coalesce(cancelled_orders, 0) AS cancelled_orders,
                coalesce(returned_orders, 0) AS returned_orders,
                coalesce(units, 0) AS units,
                CAST(coalesce(gross_sales, 0) AS DECIMAL(18,2)) AS gross_sales,
                CAST(coalesce(discounts, 0) AS DECIMAL(18,2)) AS discounts,
                CAST(coalesce(shipping, 0) AS DECIMAL(18,2)) AS shipping,
                CAST(coalesce(net_revenue, 0) AS DECIMAL(18,2)) AS net_revenue,
                CASE WHEN revenue_orders > 0
                    THEN {cents_div(_cents("net_revenue"), "revenue_orders")} END
                    AS average_order_value,
                coalesce(unique_customers, 0) AS unique_customers,
                coalesce(new_customers, 0) AS new_customers,
                coalesce(unique_customers - new_customers, 0) AS returning_customers,
                CASE WHEN orders > 0 THEN cancelled_orders / orders END AS cancellation_rate,
                CASE WHEN orders > 0 THEN returned_orders / orders END AS return_rate
            FROM days_df AS d JOIN daily AS s ON s.business_date = CAST(d.d AS DATE)
            ORDER BY 1
            """,
        )
    return conform(df, AggDailySales)


def build_agg_product_performance(
    fact_order_items: Relation, fact_reviews: Relation, dim_products: Relation
) -> pd.DataFrame:
    """One row per product (current version; the unknown member collects orphan lines)."""
    with _con(
        {
            "items": fact_order_items,
            "reviews": fact_reviews,
            "dim_products": dim_products,
        }
    ) as con:
        df = fetch_frame(
            con,
            """
            WITH versions AS (
                SELECT product_sk, product_id FROM dim_products_df
            ), current AS (
                SELECT product_id, product_sk, product_name, category
                FROM dim_products_df WHERE is_current
            ), lines AS (
                SELECT coalesce(v.product_id, -1) AS product_id, i.order_id, i.quantity,
                    CAST(i.line_net AS DECIMAL(14,2)) AS line_net,
                    CAST(i.margin AS DECIMAL(14,2)) AS margin, i.order_status
                FROM items_df AS i LEFT JOIN versions AS v ON v.product_sk = i.product_sk
                WHERE i.order_status <> 'cancelled'
            ), sales AS (
                SELECT product_id, sum(quantity) AS units, sum(line_net) AS revenue,
                    sum(coalesce(margin, 0)) AS margin,
                    count(DISTINCT order_id) AS orders,
                    count(DISTINCT order_id) FILTER (order_status = 'returned') AS returned
                FROM lines GROUP BY product_id
            ), rated AS (
                SELECT coalesce(v.product_id, -1) AS product_id, avg(r.rating) AS average_rating,
                    count(*) AS review_count
                FROM reviews_df AS r LEFT JOIN versions AS v ON v.product_sk = r.product_sk
                GROUP BY 1
            ), joined AS (
                SELECT c.product_id, c.product_sk, c.product_name, c.category,
                    coalesce(s.units, 0) AS units,
                    CAST(coalesce(s.revenue, 0) AS DECIMAL(18,2)) AS revenue,
                    CAST(coalesce(s.margin, 0) AS DECIMAL(18,2)) AS margin,
                    coalesce(s.orders, 0) AS orders,
                    r.average_rating, coalesce(r.review_count, 0) AS review_count,
                    CASE WHEN s.orders > 0 THEN s.returned / s.orders END AS return_rate
                FROM current AS c
                LEFT JOIN sales AS s USING (product_id)
                LEFT JOIN rated AS r USING (product_id)
            )
            SELECT *, rank() OVER (PARTITION BY category ORDER BY revenue DESC) AS category_rank
            FROM joined
            ORDER BY category, category_rank, product_id
            """,
        )
    return conform(df, AggProductPerformance)


def _score(expr: str, thresholds: tuple[int, ...], smaller_is_better: bool = False) -> str:
    op = "<=" if smaller_is_better else ">="
    return "(1 + " + " + ".join(f"CAST({expr} {op} {t} AS INTEGER)" for t in thresholds) + ")"


def build_agg_customer_lifetime(fact_orders: Relation, dim_users: Relation) -> pd.DataFrame:
    """One row per customer (user_id) with at least one non-cancelled order."""
    with _con({"fact_orders": fact_orders, "dim_users": dim_users}) as con:
        _orders_view(con)
        recency = _score("days_since_last_order", RECENCY_DAYS, smaller_is_better=True)
        frequency = _score("orders", FREQUENCY_ORDERS)
        monetary = _score("revenue", MONETARY_REVENUE)
        ltv_extra = cents_div(
            f"{_cents('average_order_value')} * orders * 365",
            f"greatest(tenure_days, {MIN_TENURE_DAYS})",
        )
        df = fetch_frame(
            con,
            f"""
            WITH as_of AS (SELECT max(delivery_date) AS as_of_date FROM orders),
            customers AS (
                SELECT user_id, min(order_ts) AS first_order_ts, max(order_ts) AS last_order_ts,
                    count(*) AS orders, CAST(sum(net) AS DECIMAL(18,2)) AS revenue
                FROM orders WHERE is_revenue GROUP BY user_id
            ), measured AS (
                SELECT c.*, {cents_div(_cents("revenue"), "orders")} AS average_order_value,
                    a.as_of_date,
                    datediff('day', CAST(last_order_ts AS DATE), a.as_of_date)
                        AS days_since_last_order,
                    datediff('day', CAST(first_order_ts AS DATE), a.as_of_date) + 1
                        AS tenure_days
                FROM customers AS c CROSS JOIN as_of AS a
            ), scored AS (
                SELECT *, days_since_last_order <= {ACTIVE_DAYS} AS is_active,
                    {recency} AS recency_score, {frequency} AS frequency_score,
                    {monetary} AS monetary_score
                FROM measured
            )
            SELECT s.user_id, coalesce(u.user_sk, 0) AS user_sk, first_order_ts, last_order_ts,
                orders, revenue, average_order_value, as_of_date, days_since_last_order,
                is_active,
                CAST(revenue + CASE WHEN is_active THEN {ltv_extra} ELSE 0 END
                    AS DECIMAL(18,2)) AS ltv_estimate,
                recency_score, frequency_score, monetary_score,
                CASE
                    WHEN recency_score >= 4 AND frequency_score >= 4 AND monetary_score >= 4
                        THEN 'champions'
                    WHEN recency_score >= 3 AND frequency_score >= 4 THEN 'loyal'
                    WHEN recency_score >= 4 AND frequency_score <= 2 THEN 'new'
                    WHEN recency_score <= 2 AND frequency_score >= 3 THEN 'at_risk'
                    WHEN recency_score <= 2 THEN 'hibernating'
                    ELSE 'potential'
                END AS rfm_segment
            FROM scored AS s
            LEFT JOIN (SELECT user_id, user_sk FROM dim_users_df WHERE is_current) AS u
                USING (user_id)
            ORDER BY s.user_id
            """,
        )
    return conform(df, AggCustomerLifetime)


FUNNEL_STEPS = ("product_view", "add_to_cart", "checkout", "purchase")


def build_agg_conversion_funnel(fact_events: Relation, days: list[date]) -> pd.DataFrame:
    """One row per business date in ``days``: sessions with an event on that day, and how many
    of them reach each step. ``fact_events`` must include the next day's delivery (late events).
    """
    steps = ",\n".join(
        f"count(DISTINCT session_id) FILTER (event_type = '{s}') AS {s}_sessions"
        for s in FUNNEL_STEPS
    )
    with _con({"fact_events": fact_events, "days": _days_frame(days)}) as con:
        df = fetch_frame(
            con,
            f"""
            WITH daily AS (
                SELECT CAST(event_date AS DATE) AS business_date,
                    count(DISTINCT session_id) AS sessions, {steps},
                    count(*) FILTER (is_late_arrival) AS late_events
                FROM fact_events_df GROUP BY 1
            ), filled AS (
                SELECT CAST(d.d AS DATE) AS business_date,
                    CAST(strftime(d.d, '%Y%m%d') AS INTEGER) AS date_key,
                    coalesce(sessions, 0) AS sessions,
                    coalesce(product_view_sessions, 0) AS product_view_sessions,
                    coalesce(add_to_cart_sessions, 0) AS add_to_cart_sessions,
                    coalesce(checkout_sessions, 0) AS checkout_sessions,
                    coalesce(purchase_sessions, 0) AS purchase_sessions,
                    coalesce(late_events, 0) AS late_events
                FROM days_df AS d JOIN daily AS s ON s.business_date = CAST(d.d AS DATE)
            )
            SELECT business_date, date_key, sessions, product_view_sessions,
                add_to_cart_sessions, checkout_sessions, purchase_sessions,
                product_view_sessions / nullif(sessions, 0) AS view_rate,
                add_to_cart_sessions / nullif(product_view_sessions, 0) AS cart_rate,
                checkout_sessions / nullif(add_to_cart_sessions, 0) AS checkout_rate,
                purchase_sessions / nullif(checkout_sessions, 0) AS purchase_rate,
                purchase_sessions / nullif(sessions, 0) AS overall_conversion_rate,
                late_events
            FROM filled ORDER BY business_date
            """,
        )
    return conform(df, AggConversionFunnel)
