"""Facts: staged rows of one or more deliveries linked to the dimensions, money in DECIMAL.

Money arrives as DECIMAL (float64 in hand-made test frames) and is cast to its contract
DECIMAL; every amount is then exact: a line's net is ``round(quantity × unit_price ×
(1 − discount), 2)`` (DuckDB rounds DECIMAL half away from zero), and order totals are sums of
those rounded cents. Inputs are frames or warehouse slices (``slices.sql_inputs``).

Dimension links are as-of joins: the version with ``valid_from <= ts`` and the greatest
``valid_from`` (the version valid at ``ts``); if the key exists but ``ts`` precedes its first
version (a profile delivered after the fact), its earliest version; if the key is unknown (or
NULL: anonymous events, events without a product), the unknown member, surrogate key 0. Only
``(sk, business key, valid_from)`` is needed, so ``valid_to`` is never loaded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd

from ..schemas import FactEvents, FactOrderItems, FactOrders, FactReviews, conform
from ..slices import Relation, sql_inputs
from ..warehouse import fetch_frame

_DATE_KEY = "CAST(strftime({ts}, '%Y%m%d') AS INTEGER)"


def _date_key(ts: str) -> str:
    return _DATE_KEY.format(ts=ts)


@contextmanager
def _connect(inputs: dict[str, Relation]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the inputs as ``<name>_df`` and the dimension version views."""
    with sql_inputs({f"{name}_df": value for name, value in inputs.items()}) as con:
        if "dim_users" in inputs:
            con.execute(
                "CREATE TEMP TABLE user_versions AS SELECT user_sk AS sk, user_id AS id, "
                "CAST(valid_from AS TIMESTAMP) AS valid_from FROM dim_users_df WHERE user_sk <> 0"
            )
        if "dim_products" in inputs:
            con.execute(
                "CREATE TEMP TABLE product_versions AS SELECT product_sk AS sk, product_id AS id, "
                "CAST(valid_from AS TIMESTAMP) AS valid_from, CAST(cost AS DECIMAL(10,2)) AS cost "
                "FROM dim_products_df WHERE product_sk <> 0"
            )
        if "dim_payment_method" in inputs:
            con.execute(
                "CREATE TEMP TABLE payment_methods AS SELECT payment_method_key, payment_method "
                "FROM dim_payment_method_df"
            )
        yield con


def asof_sk_sql(source: str, key: str, ts: str, versions: str, out: str) -> str:
    """``SELECT source.*, <sk> AS out``: the as-of link described in the module docstring.

    Written as an equi-join on the key with each version's validity interval (its first version
    reaching back to -infinity, the fallback for a ``ts`` before it), not as DuckDB's ``ASOF
    JOIN``: same rows (compared on a year of scale-60 events), but a hash join instead of a sort
    of both sides, 2-3x faster on a million events.
    """
    return f"""
        SELECT s.*, coalesce(v.sk, 0) AS {out}
        FROM {source} AS s
        LEFT JOIN (
            SELECT sk, id,
                CASE WHEN row_number() OVER w = 1 THEN TIMESTAMP '-infinity' ELSE valid_from END
                    AS valid_from,
                coalesce(lead(valid_from) OVER w, TIMESTAMP 'infinity') AS valid_to
            FROM {versions}
            WINDOW w AS (PARTITION BY id ORDER BY valid_from, sk)
        ) AS v ON s.{key} = v.id AND s.{ts} >= v.valid_from AND s.{ts} < v.valid_to
    """


def _lines_sql() -> str:
    """Staged order lines with exact money (``lines`` CTE body)."""
    return """
        SELECT order_item_id, order_id, product_id, CAST(quantity AS INTEGER) AS quantity,
            CAST(unit_price AS DECIMAL(10,2)) AS unit_price,
            CAST(discount AS DECIMAL(4,3)) AS discount,
            CAST(quantity * CAST(unit_price AS DECIMAL(10,2)) AS DECIMAL(14,2)) AS line_gross,
            CAST(round(quantity * CAST(unit_price AS DECIMAL(10,2))
                * (1 - CAST(discount AS DECIMAL(4,3))), 2) AS DECIMAL(14,2)) AS line_net,
            CAST(delivery_date AS DATE) AS delivery_date
        FROM stg_order_items_df
    """


def _orders_sql() -> str:
    return """
        SELECT order_id, user_id, CAST(order_ts AS TIMESTAMP) AS order_ts, status,
            payment_method, CAST(shipping_amount AS DECIMAL(10,2)) AS shipping,
            CAST(order_amount AS DECIMAL(12,2)) AS order_amount,
            CAST(delivery_date AS DATE) AS delivery_date
        FROM stg_orders_df
    """


@contextmanager
def _orders_with_users(
    stg_orders: Relation, stg_order_items: Relation, dimensions: dict[str, Relation]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection holding ``orders`` (typed) and ``orders_u`` (with the user version at order
    time), what both order facts start from."""
    with _connect(
        {"stg_orders": stg_orders, "stg_order_items": stg_order_items, **dimensions}
    ) as con:
        con.execute(f"CREATE TEMP TABLE orders AS {_orders_sql()}")
        con.execute(
            "CREATE TEMP TABLE orders_u AS "
            + asof_sk_sql("orders", "user_id", "order_ts", "user_versions", "user_sk")
        )
        yield con


def build_fact_orders(
    stg_orders: Relation,
    stg_order_items: Relation,
    dim_users: Relation,
    dim_payment_method: Relation,
) -> pd.DataFrame:
    """One row per order: totals from its lines, user version at order time."""
    dimensions = {"dim_users": dim_users, "dim_payment_method": dim_payment_method}
    with _orders_with_users(stg_orders, stg_order_items, dimensions) as con:
        con.execute(f"CREATE TEMP TABLE lines AS {_lines_sql()}")
        df = fetch_frame(
            con,
            f"""
            WITH totals AS (
                SELECT delivery_date, order_id, count(*) AS item_count,
                    sum(quantity) AS units, sum(line_gross) AS gross, sum(line_net) AS lines_net
                FROM lines GROUP BY delivery_date, order_id
            )
            SELECT o.order_id, o.user_id, o.user_sk,
                {_date_key("o.order_ts")} AS date_key,
                coalesce(pm.payment_method_key, 0) AS payment_method_key,
                o.status,
                coalesce(t.item_count, 0) AS item_count,
                coalesce(t.units, 0) AS units,
                CAST(coalesce(t.gross, 0) AS DECIMAL(14,2)) AS gross,
                CAST(coalesce(t.gross, 0) - coalesce(t.lines_net, 0) AS DECIMAL(14,2))
                    AS discount,
                o.shipping,
                CAST(coalesce(t.lines_net, 0) + o.shipping AS DECIMAL(14,2)) AS net,
                o.order_amount,
                abs(o.order_amount - (coalesce(t.lines_net, 0) + o.shipping)) > 0.01
                    AS is_amount_mismatch,
                o.order_ts, o.delivery_date
            FROM orders_u AS o
            LEFT JOIN totals AS t ON t.delivery_date = o.delivery_date AND t.order_id = o.order_id
            LEFT JOIN payment_methods AS pm ON pm.payment_method = o.payment_method
            ORDER BY o.delivery_date, o.order_id
            """,
        )
    return conform(df, FactOrders)


def build_fact_order_items(
    stg_orders: Relation,
    stg_order_items: Relation,
    dim_users: Relation,
    dim_products: Relation,
    dim_payment_method: Relation,
) -> pd.DataFrame:
    """One row per order line: product and user versions at order time, exact money, margin."""
    dimensions = {
        "dim_users": dim_users,
        "dim_products": dim_products,
        "dim_payment_method": dim_payment_method,
    }
    with _orders_with_users(stg_orders, stg_order_items, dimensions) as con:
        con.execute(
            f"""
            CREATE TEMP TABLE lines AS
            SELECT l.*, o.order_ts, o.user_sk, o.status AS order_status, o.payment_method
            FROM ({_lines_sql()}) AS l
            JOIN orders_u AS o ON o.delivery_date = l.delivery_date AND o.order_id = l.order_id
            """
        )
        con.execute(
            "CREATE TEMP TABLE lines_p AS "
            + asof_sk_sql("lines", "product_id", "order_ts", "product_versions", "product_sk")
        )
        df = fetch_frame(
            con,
            f"""
            SELECT l.order_item_id, l.order_id, l.product_id, l.product_sk, l.user_sk,
                {_date_key("l.order_ts")} AS date_key,
                coalesce(pm.payment_method_key, 0) AS payment_method_key,
                l.quantity, l.unit_price, l.discount, l.line_gross,
                CAST(l.line_gross - l.line_net AS DECIMAL(14,2)) AS line_discount,
                l.line_net,
                p.cost AS unit_cost,
                CAST(l.line_net - l.quantity * p.cost AS DECIMAL(14,2)) AS margin,
                l.order_status, l.order_ts, l.delivery_date
            FROM lines_p AS l
            LEFT JOIN product_versions AS p ON p.sk = l.product_sk
            LEFT JOIN payment_methods AS pm ON pm.payment_method = l.payment_method
            ORDER BY l.delivery_date, l.order_item_id
            """,
        )
    return conform(df, FactOrderItems)


@contextmanager
def _linked(
    name: str,
    staged: Relation,
    dimensions: tuple[Relation, Relation],
    prepare: str,
    ts: str,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection holding ``<name>_p``: the staged rows (``prepare``, reading
    ``stg_<name>_df``) with the user and product versions valid at ``ts``."""
    users, products = dimensions
    inputs = {f"stg_{name}": staged, "dim_users": users, "dim_products": products}
    with _connect(inputs) as con:
        con.execute(f"CREATE TEMP TABLE {name} AS {prepare}")
        con.execute(
            f"CREATE TEMP TABLE {name}_u AS "
            + asof_sk_sql(name, "user_id", ts, "user_versions", "user_sk")
        )
        con.execute(
            f"CREATE TEMP TABLE {name}_p AS "
            + asof_sk_sql(f"{name}_u", "product_id", ts, "product_versions", "product_sk")
        )
        yield con


def build_fact_events(
    stg_events: Relation, dim_users: Relation, dim_products: Relation
) -> pd.DataFrame:
    """One row per event, with user and product versions at event time."""
    prepare = (
        "SELECT * REPLACE (CAST(event_ts AS TIMESTAMP) AS event_ts, "
        "CAST(delivery_date AS DATE) AS delivery_date) FROM stg_events_df"
    )
    dimensions = (dim_users, dim_products)
    with _linked("events", stg_events, dimensions, prepare, "event_ts") as con:
        df = fetch_frame(
            con,
            f"""
            SELECT event_id, session_id, user_id, user_sk, product_sk, event_type, event_ts,
                CAST(event_ts AS DATE) AS event_date, hour(event_ts) AS event_hour,
                {_date_key("event_ts")} AS date_key,
                CAST(event_value AS DECIMAL(12,2)) AS event_value,
                CAST(event_ts AS DATE) < delivery_date AS is_late_arrival,
                delivery_date
            FROM events_p
            ORDER BY delivery_date, event_id
            """,
        )
    return conform(df, FactEvents)


def build_fact_reviews(
    stg_reviews: Relation, dim_users: Relation, dim_products: Relation
) -> pd.DataFrame:
    """One row per review; versions valid at the end of the review day."""
    prepare = (
        "SELECT *, CAST(review_date AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND "
        "AS as_of_ts FROM (SELECT * REPLACE (CAST(review_date AS DATE) AS review_date, "
        "CAST(delivery_date AS DATE) AS delivery_date) FROM stg_reviews_df)"
    )
    with _linked("reviews", stg_reviews, (dim_users, dim_products), prepare, "as_of_ts") as con:
        df = fetch_frame(
            con,
            f"""
            SELECT review_id, product_id, product_sk, user_sk,
                {_date_key("review_date")} AS date_key,
                rating, review_text, coalesce(length(review_text), 0) AS text_length,
                helpful_votes, review_date, delivery_date
            FROM reviews_p
            ORDER BY delivery_date, review_id
            """,
        )
    return conform(df, FactReviews)


# --------------------------------------------------------------------------------------------
# Orphan references: what the facts' checks and the quality report count
# --------------------------------------------------------------------------------------------
# Links to the unknown member where the source named an id (orphan references), per fact. Order
# lines inherit the order's user_sk, so only their product is counted there.
ORPHANS: dict[str, dict[str, tuple[str, str]]] = {
    "fact_orders": {"user_id": ("fact_orders", "user_sk = 0")},
    "fact_order_items": {"product_id": ("fact_order_items", "product_sk = 0")},
    "fact_events": {
        "user_id": ("fact_events", "user_id IS NOT NULL AND user_sk = 0"),
        "product_id": (
            "(SELECT f.*, s.product_id FROM marts.fact_events f JOIN staging.stg_events s "
            "USING (delivery_date, event_id))",
            "product_id IS NOT NULL AND product_sk = 0",
        ),
    },
    "fact_reviews": {
        "user_id": ("fact_reviews", "user_sk = 0"),
        "product_id": ("fact_reviews", "product_sk = 0"),
    },
}

FACT_KEYS = {
    "fact_orders": "order_id",
    "fact_order_items": "order_item_id",
    "fact_events": "event_id",
    "fact_reviews": "review_id",
}


def orphan_rows_sql(where: str) -> str:
    """(table_name, d, orphans): per landing table and delivery day, the fact rows linked to an
    unknown member where the source named an id. A row with two such links (an event of an
    unknown user and an unknown product) is one inconsistent row, so rows are counted once."""
    per_fact = []
    for fact, columns in ORPHANS.items():
        links = " UNION ".join(
            f"SELECT {FACT_KEYS[fact]} AS fact_key, CAST(delivery_date AS DATE) AS d "
            f"FROM {source if source.startswith('(') else 'marts.' + source} "
            f"WHERE {where} AND ({rule})"
            for source, rule in columns.values()
        )
        table = fact.removeprefix("fact_")
        per_fact.append(
            f"SELECT '{table}' AS table_name, d, count(*) AS orphans FROM ({links}) GROUP BY d"
        )
    return " UNION ALL ".join(per_fact)
