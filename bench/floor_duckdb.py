"""The floor: the platform's transformations as one DuckDB SQL script, no Dagster, no pandas.

The script is generated (headers are read once to map columns by name, and the staging rules are
the platform's own ``stage_sql``), then executed by a bare ``duckdb`` process so that the
measurement contains nothing but DuckDB: read the CSVs with explicit options, stage with the same
rules, build the SCD2 dimensions, facts (as-of joins) and aggregates, and run the validations.

Run from the project root: ``python -m bench.floor_duckdb LANDING_DIR OUT.sql`` writes the script;
``python -c "import duckdb,sys; duckdb.connect(sys.argv[1]).execute(open(sys.argv[2]).read())"
DB OUT.sql`` runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ecommerce_assets.contract import PAYMENT_METHODS, TABLES, UNKNOWN
from ecommerce_assets.landing import ReadReport, _checked_header, complete_deliveries
from ecommerce_assets.transforms.staging import stage_sql


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw_sql(landing: Path, table: str) -> str:
    spec = TABLES[table]
    groups: dict[tuple[str, ...], list[tuple[str, Path]]] = {}
    for day, folder in complete_deliveries(landing).items():
        path = folder / spec.file_name
        if path.is_file():
            header = _checked_header(path, spec, ReadReport())
            if header:
                groups.setdefault(tuple(header), []).append((day.isoformat(), path))
    selects = []
    for header, files in groups.items():
        paths = ", ".join(_lit(str(p)) for _, p in files)
        columns = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header)
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        selects.append(
            f"SELECT {cols}, CAST(regexp_extract(filename, '([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})"
            f"[/\\\\][^/\\\\]+$', 1) AS DATE) AS delivery_date, filename AS source_file, "
            f"CAST(row_number() OVER () AS BIGINT) AS line_number, "
            f"CAST(NULL AS VARCHAR) AS raw_line, CAST(NULL AS VARCHAR) AS parse_error "
            f"FROM read_csv([{paths}], auto_detect=false, header=true, delim=',', quote='\"', "
            f"escape='\"', columns={{{columns}}}, store_rejects=true, filename=true)"
        )
    if not selects:
        cols = ", ".join(f'CAST(NULL AS VARCHAR) AS "{c}"' for c in spec.column_names)
        selects.append(
            f"SELECT {cols}, CAST(NULL AS DATE) AS delivery_date, NULL AS source_file, "
            "0 AS line_number, NULL AS raw_line, NULL AS parse_error WHERE false"
        )
    return f"CREATE TABLE raw_{table} AS " + " UNION ALL ".join(selects) + ";\n"


def _stage(table: str) -> str:
    spec = TABLES[table]
    classify = stage_sql(spec, with_order_keys=table == "order_items").replace(
        "FROM raw)", f"FROM raw_{table})"
    )
    cols = ", ".join(f'"{c.name}__o" AS "{c.name}"' for c in spec.columns)
    late = (
        ", CAST(event_ts__v AS DATE) < delivery_date AS is_late_arrival"
        if table == "events"
        else ""
    )
    pre = ""
    if table == "order_items":
        pre = "CREATE VIEW order_keys AS SELECT DISTINCT delivery_date, order_id FROM stg_orders;\n"
    return (
        pre
        + f"CREATE TABLE cls_{table} AS {classify};\n"
        + f"CREATE TABLE stg_{table} AS SELECT {cols}{late}, delivery_date, source_file, "
        f"line_number FROM cls_{table} WHERE _copy = 1 AND _reason IS NULL;\n"
    )


_STAR = """
CREATE TABLE stg_quarantine AS
    SELECT 'users' AS table_name, delivery_date, line_number, _reason AS reason FROM cls_users
        WHERE _copy = 1 AND _reason IS NOT NULL
    UNION ALL SELECT 'products', delivery_date, line_number, _reason FROM cls_products
        WHERE _copy = 1 AND _reason IS NOT NULL
    UNION ALL SELECT 'orders', delivery_date, line_number, _reason FROM cls_orders
        WHERE _copy = 1 AND _reason IS NOT NULL
    UNION ALL SELECT 'order_items', delivery_date, line_number, _reason FROM cls_order_items
        WHERE _copy = 1 AND _reason IS NOT NULL
    UNION ALL SELECT 'events', delivery_date, line_number, _reason FROM cls_events
        WHERE _copy = 1 AND _reason IS NOT NULL
    UNION ALL SELECT 'reviews', delivery_date, line_number, _reason FROM cls_reviews
        WHERE _copy = 1 AND _reason IS NOT NULL;

CREATE TABLE dim_users AS
WITH v AS (
    SELECT *, lag(concat_ws('|', user_name, email, country, city))
        OVER (PARTITION BY user_id ORDER BY updated_at) AS prev,
        concat_ws('|', user_name, email, country, city) AS cur
    FROM stg_users
), kept AS (SELECT * FROM v WHERE prev IS NULL OR prev <> cur)
SELECT CAST(('0x' || substr(md5(user_id || '|' || updated_at), 1, 15)) AS BIGINT) AS user_sk,
    user_id, user_name, email, country, city, signup_date, year(signup_date) AS signup_year,
    month(signup_date) AS signup_month, updated_at AS valid_from,
    coalesce(lead(updated_at) OVER (PARTITION BY user_id ORDER BY updated_at),
        TIMESTAMP '9999-12-31') AS valid_to,
    lead(updated_at) OVER (PARTITION BY user_id ORDER BY updated_at) IS NULL AS is_current
FROM kept;

CREATE TABLE dim_products AS
WITH v AS (
    SELECT *, lag(concat_ws('|', product_name, category, subcategory, price, cost, supplier_id))
        OVER (PARTITION BY product_id ORDER BY updated_at) AS prev,
        concat_ws('|', product_name, category, subcategory, price, cost, supplier_id) AS cur
    FROM stg_products
), kept AS (SELECT * FROM v WHERE prev IS NULL OR prev <> cur)
SELECT CAST(('0x' || substr(md5(product_id || '|' || updated_at), 1, 15)) AS BIGINT)
        AS product_sk,
    product_id, product_name, category, subcategory, price, cost,
    CASE WHEN price >= 75 THEN 'high' WHEN price >= 20 THEN 'medium' ELSE 'low' END
        AS price_bucket,
    supplier_id, updated_at AS valid_from,
    coalesce(lead(updated_at) OVER (PARTITION BY product_id ORDER BY updated_at),
        TIMESTAMP '9999-12-31') AS valid_to,
    lead(updated_at) OVER (PARTITION BY product_id ORDER BY updated_at) IS NULL AS is_current
FROM kept;

CREATE TABLE dim_date AS
SELECT CAST(strftime(d, '%Y%m%d') AS INTEGER) AS date_key, CAST(d AS DATE) AS date,
    year(d) AS year, quarter(d) AS quarter, month(d) AS month, monthname(d) AS month_name,
    weekofyear(d) AS iso_week, isodow(d) AS day_of_week, dayname(d) AS day_name,
    isodow(d) >= 6 AS is_weekend, last_day(d) = CAST(d AS DATE) AS is_month_end
FROM generate_series(
    (SELECT min(delivery_date) - INTERVAL 1 DAY FROM stg_orders),
    (SELECT max(delivery_date) FROM stg_orders), INTERVAL 1 DAY) AS t(d);

CREATE TABLE dim_payment_method AS
SELECT * FROM (VALUES @PAYMENT_METHODS@)
    AS t(payment_method_key, payment_method, payment_type);

CREATE TABLE lines AS
SELECT i.*, o.user_id, o.order_ts, o.status, o.payment_method,
    CAST(i.quantity * i.unit_price AS DECIMAL(14,2)) AS line_gross,
    CAST(round(i.quantity * i.unit_price * (1 - i.discount), 2) AS DECIMAL(14,2)) AS line_net
FROM stg_order_items i JOIN stg_orders o USING (delivery_date, order_id);

CREATE TABLE fact_order_items AS
SELECT l.order_item_id, l.order_id, coalesce(p.product_sk, 0) AS product_sk,
    coalesce(u.user_sk, 0) AS user_sk, CAST(strftime(l.order_ts, '%Y%m%d') AS INTEGER) AS date_key,
    coalesce(pm.payment_method_key, 0) AS payment_method_key, l.quantity, l.unit_price,
    l.discount, l.line_gross, l.line_gross - l.line_net AS line_discount, l.line_net,
    p.cost AS unit_cost, l.line_net - l.quantity * coalesce(p.cost, 0) AS margin, l.status,
    l.delivery_date
FROM lines l
LEFT JOIN dim_products p ON l.product_id = p.product_id
    AND l.order_ts >= p.valid_from AND l.order_ts < p.valid_to
LEFT JOIN dim_users u ON l.user_id = u.user_id
    AND l.order_ts >= u.valid_from AND l.order_ts < u.valid_to
LEFT JOIN dim_payment_method pm ON pm.payment_method = l.payment_method;

CREATE TABLE fact_orders AS
WITH per_order AS (
    SELECT order_id, count(*) AS item_count, sum(quantity) AS units, sum(line_gross) AS gross,
        sum(line_gross - line_net) AS discount, sum(line_net) AS net_lines
    FROM lines GROUP BY order_id
)
SELECT o.order_id, coalesce(u.user_sk, 0) AS user_sk,
    CAST(strftime(o.order_ts, '%Y%m%d') AS INTEGER) AS date_key,
    coalesce(pm.payment_method_key, 0) AS payment_method_key, o.status,
    coalesce(p.item_count, 0) AS item_count, coalesce(p.units, 0) AS units,
    coalesce(p.gross, 0) AS gross, coalesce(p.discount, 0) AS discount,
    o.shipping_amount AS shipping, coalesce(p.net_lines, 0) + o.shipping_amount AS net,
    o.order_amount, abs(o.order_amount - coalesce(p.net_lines, 0) - o.shipping_amount) > 0.01
        AS amount_mismatch,
    o.order_ts, o.user_id, o.delivery_date
FROM stg_orders o LEFT JOIN per_order p USING (order_id)
LEFT JOIN dim_users u ON o.user_id = u.user_id
    AND o.order_ts >= u.valid_from AND o.order_ts < u.valid_to
LEFT JOIN dim_payment_method pm ON pm.payment_method = o.payment_method;

CREATE TABLE fact_events AS
SELECT e.event_id, e.session_id, coalesce(u.user_sk, 0) AS user_sk,
    coalesce(p.product_sk, 0) AS product_sk, e.event_type, e.event_ts,
    CAST(e.event_ts AS DATE) AS event_date, hour(e.event_ts) AS event_hour,
    CAST(strftime(e.event_ts, '%Y%m%d') AS INTEGER) AS date_key, e.event_value,
    e.is_late_arrival, e.delivery_date
FROM stg_events e
LEFT JOIN dim_users u ON e.user_id = u.user_id
    AND e.event_ts >= u.valid_from AND e.event_ts < u.valid_to
LEFT JOIN dim_products p ON e.product_id = p.product_id
    AND e.event_ts >= p.valid_from AND e.event_ts < p.valid_to;

CREATE TABLE fact_reviews AS
SELECT r.review_id, coalesce(p.product_sk, 0) AS product_sk, coalesce(u.user_sk, 0) AS user_sk,
    CAST(strftime(r.review_date, '%Y%m%d') AS INTEGER) AS date_key, r.rating, r.review_text,
    length(r.review_text) AS text_length, r.helpful_votes, r.product_id, r.delivery_date
FROM stg_reviews r
LEFT JOIN dim_users u ON r.user_id = u.user_id
    AND CAST(r.review_date AS TIMESTAMP) + INTERVAL 1 DAY > u.valid_from
    AND CAST(r.review_date AS TIMESTAMP) + INTERVAL 1 DAY <= u.valid_to
LEFT JOIN dim_products p ON r.product_id = p.product_id
    AND CAST(r.review_date AS TIMESTAMP) + INTERVAL 1 DAY > p.valid_from
    AND CAST(r.review_date AS TIMESTAMP) + INTERVAL 1 DAY <= p.valid_to;

CREATE TABLE agg_daily_sales AS
WITH firsts AS (SELECT user_id, min(order_ts) AS first_ts FROM fact_orders GROUP BY user_id)
SELECT CAST(o.order_ts AS DATE) AS business_date, count(*) AS orders, sum(units) AS units,
    sum(gross) AS gross, sum(discount) AS discounts,
    sum(net) FILTER (status <> 'cancelled') AS net_revenue, sum(shipping) AS shipping,
    avg(net) AS average_order_value, count(DISTINCT o.user_id) AS unique_customers,
    count(DISTINCT o.user_id) FILTER (o.order_ts = f.first_ts) AS new_customers,
    avg(CAST(status = 'cancelled' AS INTEGER)) AS cancellation_rate,
    avg(CAST(status = 'returned' AS INTEGER)) AS return_rate
FROM fact_orders o JOIN firsts f USING (user_id) GROUP BY ALL;

CREATE TABLE agg_product_performance AS
WITH sales AS (
    SELECT p.product_id, any_value(p.category) AS category, sum(i.quantity) AS units,
        sum(i.line_net) AS revenue, sum(i.margin) AS margin,
        count(DISTINCT i.order_id) AS orders,
        avg(CAST(i.status = 'returned' AS INTEGER)) AS return_rate
    FROM fact_order_items i JOIN dim_products p USING (product_sk) GROUP BY p.product_id
), revs AS (SELECT product_id, avg(rating) AS avg_rating, count(*) AS review_count
    FROM fact_reviews GROUP BY product_id)
SELECT s.*, r.avg_rating, coalesce(r.review_count, 0) AS review_count,
    rank() OVER (PARTITION BY category ORDER BY revenue DESC) AS rank_in_category
FROM sales s LEFT JOIN revs r USING (product_id);

CREATE TABLE agg_customer_lifetime AS
SELECT user_id, min(order_ts) AS first_order, max(order_ts) AS last_order, count(*) AS orders,
    sum(net) FILTER (status <> 'cancelled') AS revenue, avg(net) AS average_order_value,
    date_diff('day', max(order_ts), (SELECT max(order_ts) FROM fact_orders)) AS days_since_last,
    ntile(5) OVER (ORDER BY max(order_ts)) AS r, ntile(5) OVER (ORDER BY count(*)) AS f,
    ntile(5) OVER (ORDER BY sum(net)) AS m
FROM fact_orders GROUP BY user_id;

CREATE TABLE agg_conversion_funnel AS
WITH s AS (
    SELECT event_date, session_id,
        bool_or(event_type = 'page_view') AS pv, bool_or(event_type = 'product_view') AS prv,
        bool_or(event_type = 'add_to_cart') AS atc, bool_or(event_type = 'checkout') AS co,
        bool_or(event_type = 'purchase') AS pu
    FROM fact_events GROUP BY ALL
)
SELECT event_date AS business_date, count(*) AS sessions, count(*) FILTER (pv) AS page_view,
    count(*) FILTER (prv) AS product_view, count(*) FILTER (atc) AS add_to_cart,
    count(*) FILTER (co) AS checkout, count(*) FILTER (pu) AS purchase,
    count(*) FILTER (pu) / count(*) AS overall_conversion
FROM s GROUP BY ALL;

-- Validation: keys, references, dates, numbers, conservation.
CREATE TABLE validation AS
SELECT 'fact_orders.order_id unique' AS check_name,
    count(*) - count(DISTINCT order_id) AS failing FROM fact_orders
UNION ALL SELECT 'fact_order_items.order_item_id unique',
    count(*) - count(DISTINCT order_item_id) FROM fact_order_items
UNION ALL SELECT 'order lines reference orders', count(*) FROM fact_order_items i
    ANTI JOIN fact_orders o USING (order_id)
UNION ALL SELECT 'orphan products', count(*) FROM fact_order_items WHERE product_sk = 0
UNION ALL SELECT 'future orders', count(*) FROM fact_orders
    WHERE order_ts >= delivery_date + INTERVAL 1 DAY
UNION ALL SELECT 'ratings', count(*) FROM fact_reviews WHERE rating NOT BETWEEN 1 AND 5
UNION ALL SELECT 'amounts', count(*) FROM fact_order_items WHERE quantity < 1 OR line_net < 0
UNION ALL SELECT 'accuracy', count(*) FROM fact_orders WHERE amount_mismatch
UNION ALL SELECT 'conservation', (SELECT count(*) FROM raw_orders)
    - (SELECT count(*) FROM stg_orders) - (SELECT count(*) FROM cls_orders WHERE _copy > 1)
    - (SELECT count(*) FROM stg_quarantine WHERE table_name = 'orders');
"""


def _payment_methods() -> str:
    """The rows of ``dim_payment_method``: the contract's methods (keys 1..n in contract order),
    typed as the platform types them, then ``unknown`` (key 0)."""
    # Imported here: the dimensions module loads Pandera, which the harness's start need not pay.
    from ecommerce_assets.transforms.dimensions import PAYMENT_TYPES

    rows = [(i + 1, m, PAYMENT_TYPES[m]) for i, m in enumerate(PAYMENT_METHODS)]
    rows.append((0, UNKNOWN, UNKNOWN))
    return ", ".join(f"({key}, {_lit(method)}, {_lit(kind)})" for key, method, kind in rows)


def floor_sql(landing: Path) -> str:
    """The whole floor as one SQL script for the deliveries in ``landing``."""
    parts = [_raw_sql(landing, t) for t in TABLES]
    parts += [
        _stage(t) for t in ("users", "products", "orders", "order_items", "events", "reviews")
    ]
    parts.append(_STAR.replace("@PAYMENT_METHODS@", _payment_methods()))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    Path(args[1]).write_text(floor_sql(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
