"""Every query the dashboard runs, on the published copy (``marts.*`` and ``published.*``).

A query takes the date range as ``$start`` and ``$end`` (inclusive) where it is filtered. Money
stays DECIMAL in DuckDB; the pages format it. Definitions (docs/analytics.md): revenue and orders
count non-cancelled orders, by the day the order was placed (``business_date``), as
``agg_daily_sales`` does; margin is the non-cancelled lines' margin (unknown costs as 0).
"""

INFO = "SELECT * FROM published.info"

# One row per business date of the range: the overview's trends and KPIs.
DAILY = """
    WITH sales AS (
        SELECT business_date AS day, net_revenue AS revenue, orders - cancelled_orders AS orders,
            cancelled_orders, new_customers
        FROM marts.agg_daily_sales WHERE business_date BETWEEN $start AND $end
    ), margin AS (
        SELECT CAST(order_ts AS DATE) AS day, sum(coalesce(margin, 0)) AS margin
        FROM marts.fact_order_items
        WHERE order_status <> 'cancelled' AND CAST(order_ts AS DATE) BETWEEN $start AND $end
        GROUP BY 1
    )
    SELECT day, coalesce(revenue, 0) AS revenue, coalesce(orders, 0) AS orders,
        coalesce(cancelled_orders, 0) AS cancelled_orders,
        coalesce(new_customers, 0) AS new_customers, coalesce(margin, 0) AS margin
    FROM sales FULL JOIN margin USING (day) ORDER BY day
"""

KPIS = f"""
    SELECT sum(revenue) AS revenue, sum(orders) AS orders, sum(cancelled_orders) AS cancelled,
        sum(margin) AS margin, sum(new_customers) AS new_customers,
        round(sum(revenue) / nullif(sum(orders), 0), 2) AS average_order_value
    FROM ({DAILY})
"""

TOP_PRODUCTS = """
    WITH lines AS (
        SELECT product_id, quantity, line_net, coalesce(margin, 0) AS margin, order_id
        FROM marts.fact_order_items
        WHERE order_status <> 'cancelled' AND CAST(order_ts AS DATE) BETWEEN $start AND $end
    )
    SELECT l.product_id, coalesce(p.product_name, 'unknown') AS product,
        coalesce(p.category, 'unknown') AS category, sum(l.quantity) AS units,
        sum(l.line_net) AS revenue, sum(l.margin) AS margin,
        count(DISTINCT l.order_id) AS orders
    FROM lines l LEFT JOIN marts.dim_products p ON p.product_id = l.product_id AND p.is_current
    GROUP BY ALL ORDER BY revenue DESC, l.product_id LIMIT $limit
"""

CATEGORIES = """
    WITH sales AS (
        SELECT coalesce(p.category, 'unknown') AS category, sum(f.quantity) AS units,
            sum(f.line_net) AS revenue, sum(coalesce(f.margin, 0)) AS margin
        FROM marts.fact_order_items f
        LEFT JOIN marts.dim_products p ON p.product_sk = f.product_sk
        WHERE f.order_status <> 'cancelled' AND CAST(f.order_ts AS DATE) BETWEEN $start AND $end
        GROUP BY 1
    ), ratings AS (
        SELECT coalesce(p.category, 'unknown') AS category, avg(r.rating) AS average_rating,
            count(*) AS reviews
        FROM marts.fact_reviews r LEFT JOIN marts.dim_products p ON p.product_sk = r.product_sk
        WHERE r.review_date BETWEEN $start AND $end GROUP BY 1
    )
    SELECT category, coalesce(units, 0) AS units, coalesce(revenue, 0) AS revenue,
        coalesce(margin, 0) AS margin, margin / nullif(revenue, 0) AS margin_share,
        average_rating, coalesce(reviews, 0) AS reviews
    FROM sales FULL JOIN ratings USING (category) ORDER BY revenue DESC NULLS LAST, category
"""

TOP_RATED = """
    SELECT coalesce(p.product_name, 'unknown') AS product, coalesce(p.category, 'unknown') AS
        category, avg(r.rating) AS average_rating, count(*) AS reviews
    FROM marts.fact_reviews r
    LEFT JOIN marts.dim_products p ON p.product_id = r.product_id AND p.is_current
    WHERE r.review_date BETWEEN $start AND $end
    GROUP BY ALL HAVING count(*) >= $min_reviews
    ORDER BY average_rating DESC, reviews DESC, product LIMIT $limit
"""

CUSTOMERS = """
    SELECT count(DISTINCT user_id) AS customers, count(*) AS orders, sum(net) AS revenue
    FROM marts.fact_orders
    WHERE status <> 'cancelled' AND CAST(order_ts AS DATE) BETWEEN $start AND $end
"""

LIFETIME = """
    SELECT count(*) AS customers, avg(ltv_estimate) AS average_ltv,
        count(*) FILTER (WHERE is_active) AS active, sum(revenue) AS revenue,
        max(as_of_date) AS as_of_date
    FROM marts.agg_customer_lifetime
"""

SEGMENTS = """
    SELECT rfm_segment AS segment, count(*) AS customers, avg(revenue) AS average_revenue,
        avg(ltv_estimate) AS average_ltv, avg(orders) AS average_orders,
        avg(days_since_last_order) AS average_days_since_last_order
    FROM marts.agg_customer_lifetime GROUP BY 1 ORDER BY customers DESC, segment
"""

TOP_CUSTOMERS = """
    SELECT user_id, rfm_segment AS segment, orders, revenue, ltv_estimate, days_since_last_order
    FROM marts.agg_customer_lifetime ORDER BY ltv_estimate DESC, user_id LIMIT $limit
"""

# Customers who ordered in the range, by the month they signed up and the month they ordered.
COHORTS = """
    WITH users AS (
        SELECT user_id, strftime(signup_date, '%Y-%m') AS cohort
        FROM marts.dim_users WHERE is_current AND user_sk <> 0 AND signup_date IS NOT NULL
    ), sizes AS (SELECT cohort, count(*) AS signed_up FROM users GROUP BY 1)
    SELECT u.cohort, strftime(CAST(o.order_ts AS DATE), '%Y-%m') AS order_month,
        any_value(s.signed_up) AS signed_up, count(DISTINCT o.user_id) AS customers,
        sum(o.net) AS revenue
    FROM marts.fact_orders o JOIN users u USING (user_id) JOIN sizes s USING (cohort)
    WHERE o.status <> 'cancelled' AND CAST(o.order_ts AS DATE) BETWEEN $start AND $end
    GROUP BY ALL ORDER BY ALL
"""

FUNNEL = """
    SELECT sum(sessions) AS sessions, sum(product_view_sessions) AS product_view,
        sum(add_to_cart_sessions) AS add_to_cart, sum(checkout_sessions) AS checkout,
        sum(purchase_sessions) AS purchase
    FROM marts.agg_conversion_funnel WHERE business_date BETWEEN $start AND $end
"""

FUNNEL_DAILY = """
    SELECT business_date AS day, sessions, purchase_sessions AS purchases,
        overall_conversion_rate AS conversion
    FROM marts.agg_conversion_funnel WHERE business_date BETWEEN $start AND $end ORDER BY 1
"""

# The quality score of a day (or the range) weights each table's score by its raw rows (at least 1),
# as the report's per-day metadata does (assets/quality.py).
QUALITY_DAILY = """
    SELECT delivery_date AS day,
        sum(quality_score * greatest(raw_rows, 1)) / sum(greatest(raw_rows, 1)) AS quality_score,
        min(quality_score) AS lowest_table_score, sum(raw_rows) AS raw_rows
    FROM marts.data_quality_report WHERE delivery_date BETWEEN $start AND $end
    GROUP BY 1 ORDER BY 1
"""

QUALITY = """
    SELECT sum(quality_score * greatest(raw_rows, 1)) / sum(greatest(raw_rows, 1)) AS score,
        min(quality_score) AS lowest, sum(raw_rows) AS raw_rows
    FROM marts.data_quality_report WHERE delivery_date BETWEEN $start AND $end
"""

QUALITY_TABLES = """
    SELECT table_name,
        sum(quality_score * greatest(raw_rows, 1)) / sum(greatest(raw_rows, 1)) AS quality_score,
        avg(completeness) AS completeness, avg(uniqueness) AS uniqueness,
        avg(validity) AS validity, avg(accuracy) AS accuracy, avg(consistency) AS consistency,
        sum(raw_rows) AS raw_rows
    FROM marts.data_quality_report WHERE delivery_date BETWEEN $start AND $end
    GROUP BY 1 ORDER BY quality_score, table_name
"""

QUARANTINE = """
    SELECT table_name, reason, sum(rows) AS rows
    FROM published.quarantine_by_reason WHERE delivery_date BETWEEN $start AND $end
    GROUP BY ALL ORDER BY rows DESC, table_name, reason
"""

# Checks whose latest evaluation warned or failed: on a day of the range, or on the whole table.
CHECKS = """
    SELECT status, asset, check_name, coalesce(CAST(day AS VARCHAR), 'whole table') AS day,
        rows_failing, description
    FROM published.check_results WHERE day IS NULL OR day BETWEEN $start AND $end
    ORDER BY status, asset, check_name, day
"""
