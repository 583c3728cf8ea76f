"""Which loaded fact days a new build of an SCD2 dimension re-links (issue 26).

A dimension is rebuilt from every staged version ordered by ``updated_at``, so a version that
arrives late takes its place in history whatever day delivered it: validity intervals re-split,
a late sign-up's first version appears. Facts are linked when their day is loaded (an as-of join,
``facts.asof_sk_sql``), so a fact loaded before such a version can point at the wrong version or
at the unknown member. This module finds those fact days: for the business keys whose versions
changed (a surrogate key is a hash of key and ``valid_from``, so a changed version set is a
changed key set), it links their loaded facts against the new versions and keeps the delivery
days where a stored link differs. The relink sensor and the build then re-run the facts (and
what reads them) for exactly those days.

Only facts at or after the earliest changed instant of a key can change, and a fact is delivered
on or after its own day, so the scan is bounded by ``delivery_date``: a day's ordinary changes
read the last days of the facts, not their history. Keys seen for the first time can only have
been linked to the unknown member, so for them only facts linked to it are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from ..warehouse import quote_ident
from .facts import asof_sk_sql

_REVIEW_TS = "CAST(f.review_date AS TIMESTAMP) + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND"


@dataclass(frozen=True)
class Link:
    """Where facts carry one dimension's link: ``source`` yields (delivery_date, id, ts, sk)."""

    fact: str
    source: str


@dataclass(frozen=True)
class Dimension:
    table: str  # marts table
    sk: str
    key: str
    links: tuple[Link, ...]


# As the facts link them (transforms/facts.py): orders and lines at order_ts, events at
# event_ts, reviews at the end of review_date. An order line's user is its order's (same day).
USERS = Dimension(
    "dim_users",
    "user_sk",
    "user_id",
    (
        Link(
            "fact_orders",
            "SELECT f.delivery_date, f.user_id AS id, f.order_ts AS ts, f.user_sk AS sk "
            "FROM marts.fact_orders AS f",
        ),
        Link(
            "fact_events",
            "SELECT f.delivery_date, f.user_id AS id, f.event_ts AS ts, f.user_sk AS sk "
            "FROM marts.fact_events AS f",
        ),
        Link(
            "fact_reviews",
            f"SELECT f.delivery_date, s.user_id AS id, {_REVIEW_TS} AS ts, f.user_sk AS sk "
            "FROM marts.fact_reviews AS f JOIN staging.stg_reviews AS s "
            "ON s.review_id = f.review_id AND CAST(s.delivery_date AS DATE) = f.delivery_date",
        ),
    ),
)
PRODUCTS = Dimension(
    "dim_products",
    "product_sk",
    "product_id",
    (
        Link(
            "fact_order_items",
            "SELECT f.delivery_date, f.product_id AS id, f.order_ts AS ts, f.product_sk AS sk "
            "FROM marts.fact_order_items AS f",
        ),
        Link(
            "fact_events",
            "SELECT f.delivery_date, s.product_id AS id, f.event_ts AS ts, f.product_sk AS sk "
            "FROM marts.fact_events AS f JOIN staging.stg_events AS s "
            "ON s.event_id = f.event_id AND CAST(s.delivery_date AS DATE) = f.delivery_date",
        ),
        Link(
            "fact_reviews",
            f"SELECT f.delivery_date, f.product_id AS id, {_REVIEW_TS} AS ts, "
            "f.product_sk AS sk FROM marts.fact_reviews AS f",
        ),
    ),
)
DIMENSIONS = {"dim_users": USERS, "dim_products": PRODUCTS}


def _reads(link: Link) -> set[str]:
    """The tables ``link.source`` reads."""
    names = {f"marts.{link.fact}"}
    for staged in ("stg_reviews", "stg_events"):
        if f"staging.{staged}" in link.source:
            names.add(f"staging.{staged}")
    return names


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(  # information_schema: what a DuckLake lake answers too (report.py)
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database()"
    ).fetchall()
    return {name for (name,) in rows}


def relink_days(
    con: duckdb.DuckDBPyConnection, dim: Dimension, versions: pd.DataFrame, some: bool = False
) -> list[date]:
    """Delivery days of loaded facts whose link to ``dim`` differs under ``versions`` (the new
    build: its ``sk``, ``key`` and ``valid_from`` columns), sorted. Empty before the first build.
    ``some``: ``versions`` are those of some keys only (a day's update); the others stay.

    Reads the old versions and the facts on ``con`` (the warehouse), nothing written.
    """
    tables = _tables(con)
    if f"marts.{dim.table}" not in tables:
        return []
    new = versions.loc[versions[dim.sk] != 0, [dim.sk, dim.key, "valid_from"]]
    con.register("relink_new_df", new)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE relink_new AS SELECT {dim.sk} AS sk, {dim.key} AS id, "
            "CAST(valid_from AS TIMESTAMP) AS valid_from FROM relink_new_df"
        )
    finally:
        con.unregister("relink_new_df")
    only = f" AND {dim.key} IN (SELECT id FROM relink_new)" if some else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE relink_old AS SELECT {dim.sk} AS sk, {dim.key} AS id, "
        f"CAST(valid_from AS TIMESTAMP) AS valid_from FROM marts.{quote_ident(dim.table)} "
        f"WHERE {dim.sk} <> 0{only}"
    )
    # Per changed key: since when its facts may link differently (the earliest version only one
    # side has; from -infinity when that is the key's first version on its side), and whether
    # the key is new (no old version: its facts could only link to the unknown member).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE relink_changed AS
        WITH ranked AS (
            SELECT 'old' AS side, sk, id, valid_from,
                row_number() OVER (PARTITION BY id ORDER BY valid_from, sk) = 1 AS first
            FROM relink_old
            UNION ALL
            SELECT 'new', sk, id, valid_from,
                row_number() OVER (PARTITION BY id ORDER BY valid_from, sk) = 1
            FROM relink_new
        ), only_one_side AS (
            SELECT id, CASE WHEN first THEN TIMESTAMP '-infinity' ELSE valid_from END AS since
            FROM ranked
            QUALIFY count(*) OVER (PARTITION BY sk) = 1
        )
        SELECT id, min(since) AS since, id NOT IN (SELECT id FROM relink_old) AS is_new
        FROM only_one_side GROUP BY id
        """
    )
    known, since_day = con.execute(
        "SELECT count(*), CASE WHEN bool_or(isinf(since)) THEN NULL "
        "ELSE CAST(min(since) AS DATE) END FROM relink_changed WHERE NOT is_new"
    ).fetchone()
    (new_keys,) = con.execute("SELECT count(*) FROM relink_changed WHERE is_new").fetchone()
    if not known and not new_keys:
        return []
    parts = []
    for link in dim.links:
        if not _reads(link) <= tables:
            continue
        if known:
            bound = f" AND f.delivery_date >= DATE '{since_day}'" if since_day else ""
            parts.append(
                f"SELECT l.* FROM ({link.source} WHERE TRUE{bound}) AS l "
                "JOIN relink_changed AS c ON c.id = l.id AND NOT c.is_new AND l.ts >= c.since"
            )
        if new_keys:
            parts.append(
                f"SELECT l.* FROM ({link.source} WHERE f.{dim.sk} = 0) AS l "
                "JOIN relink_changed AS c ON c.id = l.id AND c.is_new"
            )
    if not parts:
        return []
    con.execute(f"CREATE OR REPLACE TEMP TABLE relink_facts AS {' UNION ALL '.join(parts)}")
    linked = asof_sk_sql("relink_facts", "id", "ts", "relink_new", "new_sk")
    rows = con.execute(
        f"SELECT DISTINCT CAST(delivery_date AS DATE) FROM ({linked}) WHERE new_sk <> sk ORDER BY 1"
    ).fetchall()
    return [d for (d,) in rows]
