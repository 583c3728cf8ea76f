"""The peer: a plain pandas + SQLite script of the reference design, for the benchmark.

What a competent engineer writes without a platform: read every delivery's CSVs with pandas
(explicit dtypes, no inference), stage (trim, type, de-duplicate, quarantine the rows that break
the contract), build the star schema (SCD2 dimensions, facts with as-of joins, aggregates), load
every table into SQLite and validate keys, references, dates and numbers there. Vectorized
throughout; no Dagster, no DuckDB.

Its only import from the platform is the landing contract's *data* (``ecommerce_assets.contract``:
column lists, types, enumerations, quarantine reason names), never a transform of the platform.

Run from the project root: ``python -m bench.peer_pandas_sqlite LANDING_DIR OUT.sqlite``
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ecommerce_assets import contract

# The landing contract's data only -- column lists, types, nullability, enumerations, reason
# names -- from its one definition; every rule that applies them is this script's own.
TABLES = {name: spec.column_names for name, spec in contract.TABLES.items()}
KEYS = {name: spec.key for name, spec in contract.TABLES.items()}
VERSIONS = {
    name: spec.version_column for name, spec in contract.TABLES.items() if spec.version_column
}
REQUIRED = {
    (name, c.name) for name, spec in contract.TABLES.items() for c in spec.columns if c.required
}
ENUMS = contract.ENUMERATIONS


def _of_kind(kind: str) -> dict[str, list[str]]:
    out = {
        name: [c.name for c in spec.columns if c.kind == kind]
        for name, spec in contract.TABLES.items()
    }
    return {name: cols for name, cols in out.items() if cols}


INTS = _of_kind("int")
MONEY = _of_kind("decimal")
TIMES = _of_kind("timestamp")
DATES = _of_kind("date")


def extract(landing: Path, table: str) -> pd.DataFrame:
    """Every complete delivery's file for ``table``, as text, with its delivery day."""
    frames = []
    for folder in sorted(p for p in landing.iterdir() if (p / contract.SUCCESS_MARKER).is_file()):
        path = folder / contract.TABLES[table].file_name
        if not path.is_file() or path.stat().st_size == 0:
            continue
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            quoting=csv.QUOTE_MINIMAL,
            on_bad_lines="skip",
            engine="c",
        )
        df = df.reindex(columns=TABLES[table])
        df["delivery_date"] = pd.Timestamp(folder.name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def stage(table: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed, repaired rows and quarantined rows (with reason) of one table."""
    df = raw.drop_duplicates(subset=[*TABLES[table], "delivery_date"]).copy()
    reason = pd.Series(None, index=df.index, dtype=object)
    key = KEYS[table]
    for col in TABLES[table]:
        if df[col].dtype == object:
            df[col] = df[col].str.strip()
    keyv = pd.to_numeric(df[key], errors="coerce")
    reason[df[key].isna()] = contract.NULL_KEY
    reason[reason.isna() & (keyv.isna() | (keyv <= 0) | (keyv % 1 != 0))] = contract.BAD_KEY
    dup_cols = ["delivery_date", key] + ([VERSIONS[table]] if table in VERSIONS else [])
    reason[reason.isna() & df.duplicated(subset=dup_cols)] = contract.DUPLICATE_KEY
    for col in INTS.get(table, []):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & (v.isna() | (v % 1 != 0))
        if (table, col) in REQUIRED:
            bad |= df[col].isna()
        reason[reason.isna() & bad] = contract.bad_value(col)
        df[col] = v.mask(v % 1 != 0).astype("Int64")
    for col in MONEY.get(table, []):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & v.isna()
        if (table, col) in REQUIRED:
            bad |= df[col].isna()
        reason[reason.isna() & bad] = contract.bad_value(col)
        df[col] = v
    for col in TIMES.get(table, []):
        v = pd.to_datetime(df[col], format=contract.TIMESTAMP_FORMAT, errors="coerce")
        reason[reason.isna() & v.isna()] = contract.bad_value(col)
        df[col] = v
        future = v >= df["delivery_date"] + pd.Timedelta(days=1)
        reason[reason.isna() & future] = contract.FUTURE_TIMESTAMP
    for col in DATES.get(table, []):
        v = pd.to_datetime(df[col], format=contract.DATE_FORMAT, errors="coerce")
        reason[reason.isna() & v.isna()] = contract.bad_value(col)
        df[col] = v
        reason[reason.isna() & (v > df["delivery_date"])] = contract.FUTURE_TIMESTAMP
    ranges = {
        "products": [
            ("price", lambda d: d.price <= 0),
            ("cost", lambda d: (d.cost < 0) | (d.cost >= d.price)),
        ],
        "orders": [("shipping_amount", lambda d: d.shipping_amount < 0)],
        "order_items": [
            ("quantity", lambda d: d.quantity < 1),
            ("unit_price", lambda d: d.unit_price <= 0),
            ("discount", lambda d: (d.discount < 0) | (d.discount >= 1)),
        ],
        "reviews": [("rating", lambda d: (d.rating < 1) | (d.rating > 5))],
    }
    for col, rule in ranges.get(table, []):
        reason[reason.isna() & rule(df).fillna(False).astype(bool)] = contract.out_of_range(col)
    for (t, col), values in ENUMS.items():
        if t == table:
            canon = {v.lower(): v for v in values}
            df[col] = df[col].str.lower().map(canon).fillna(contract.UNKNOWN)
    if table == "users":
        df["email"] = df["email"].str.lower()
        df.loc[~df["email"].str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", na=False), "email"] = None
        df["country"] = df["country"].str.upper()
    quarantine = raw.loc[reason.dropna().index].assign(reason=reason.dropna(), table_name=table)
    return df[reason.isna()].reset_index(drop=True), quarantine[
        ["table_name", "delivery_date", "reason"]
    ]


def scd2(df: pd.DataFrame, key: str, tracked: list[str], sk: str) -> pd.DataFrame:
    df = df.sort_values([key, "updated_at"], kind="stable")
    sig = df[tracked].astype(str).agg("|".join, axis=1)
    changed = (sig != sig.groupby(df[key]).shift()) | (df[key] != df[key].shift())
    dim = df[changed].copy()
    dim["valid_from"] = dim["updated_at"]
    dim["valid_to"] = dim.groupby(key)["valid_from"].shift(-1).fillna(pd.Timestamp("2262-01-01"))
    dim["is_current"] = dim["valid_to"] == pd.Timestamp("2262-01-01")
    dim[sk] = np.arange(1, len(dim) + 1)
    return dim.reset_index(drop=True)


def asof(facts: pd.DataFrame, dim: pd.DataFrame, key: str, ts: str, sk: str) -> pd.Series:
    left = facts[[key, ts]].reset_index().dropna(subset=[key]).sort_values(ts)
    right = dim[[key, "valid_from", sk]].sort_values("valid_from")
    left[key] = left[key].astype("int64")
    right = right.assign(**{key: right[key].astype("int64")})
    merged = pd.merge_asof(left, right, left_on=ts, right_on="valid_from", by=key)
    first = dim.sort_values("valid_from").drop_duplicates(key).set_index(key)[sk]
    merged[sk] = merged[sk].fillna(merged[key].map(first)).fillna(0)
    return merged.set_index("index")[sk].reindex(facts.index).fillna(0).astype("int64")


def build(landing: Path, out: Path) -> dict[str, int]:
    staged, quarantine = {}, []
    for table in TABLES:
        s, q = stage(table, extract(landing, table))
        staged[table] = s
        quarantine.append(q)
    orders, items = staged["orders"], staged["order_items"]
    keys = orders[["delivery_date", "order_id"]].assign(_ok=True)
    items = items.merge(keys, on=["delivery_date", "order_id"], how="left")
    staged["order_items"] = items[items["_ok"].notna()].drop(columns="_ok")

    dim_users = scd2(
        staged["users"], "user_id", ["user_name", "email", "country", "city"], "user_sk"
    )
    dim_products = scd2(
        staged["products"],
        "product_id",
        ["product_name", "category", "price", "cost"],
        "product_sk",
    )
    days = pd.date_range(
        staged["orders"]["delivery_date"].min(), staged["orders"]["delivery_date"].max()
    )
    dim_date = pd.DataFrame({"date": days})
    dim_date["date_key"] = dim_date["date"].dt.strftime("%Y%m%d").astype(int)
    dim_date["year"] = dim_date["date"].dt.year
    dim_date["month"] = dim_date["date"].dt.month
    dim_date["is_weekend"] = dim_date["date"].dt.dayofweek >= 5

    items = staged["order_items"].merge(
        orders[["order_id", "user_id", "order_ts", "status"]], on="order_id", how="left"
    )
    items["line_gross"] = (items["quantity"] * items["unit_price"]).round(2)
    cents = (
        items["quantity"].astype("float64") * items["unit_price"] * 100 * (1 - items["discount"])
    )
    items["line_net"] = np.floor(cents + 0.5 + 1e-9) / 100
    items["product_sk"] = asof(items, dim_products, "product_id", "order_ts", "product_sk")
    items["user_sk"] = asof(items, dim_users, "user_id", "order_ts", "user_sk")
    cost = dim_products.set_index("product_sk")["cost"]
    items["margin"] = items["line_net"] - items["quantity"] * items["product_sk"].map(cost).fillna(
        0
    )
    per_order = items.groupby("order_id").agg(
        item_count=("order_item_id", "size"),
        units=("quantity", "sum"),
        net_lines=("line_net", "sum"),
    )
    fact_orders = orders.merge(per_order, on="order_id", how="left")
    fact_orders["net"] = fact_orders["net_lines"].fillna(0) + fact_orders["shipping_amount"]
    fact_orders["amount_mismatch"] = (fact_orders["net"] - fact_orders["order_amount"]).abs() > 0.01
    fact_orders["user_sk"] = asof(fact_orders, dim_users, "user_id", "order_ts", "user_sk")
    fact_orders["date_key"] = fact_orders["order_ts"].dt.strftime("%Y%m%d").astype(int)
    events = staged["events"]
    events["user_sk"] = asof(events, dim_users, "user_id", "event_ts", "user_sk")
    events["product_sk"] = asof(events, dim_products, "product_id", "event_ts", "product_sk")
    events["event_date"] = events["event_ts"].dt.normalize()
    reviews = staged["reviews"]
    reviews["ts"] = reviews["review_date"]
    reviews["user_sk"] = asof(reviews, dim_users, "user_id", "ts", "user_sk")
    reviews["product_sk"] = asof(reviews, dim_products, "product_id", "ts", "product_sk")

    live = fact_orders[fact_orders["status"] != "cancelled"]
    agg_daily_sales = live.groupby(live["order_ts"].dt.normalize()).agg(
        orders=("order_id", "size"), net=("net", "sum"), customers=("user_id", "nunique")
    )
    agg_product = items.groupby("product_id").agg(
        units=("quantity", "sum"), revenue=("line_net", "sum"), margin=("margin", "sum")
    )
    agg_product["rank_in_category"] = agg_product["revenue"].rank(ascending=False)
    agg_customer = fact_orders.groupby("user_id").agg(
        first_order=("order_ts", "min"),
        last_order=("order_ts", "max"),
        orders=("order_id", "size"),
        revenue=("net", "sum"),
    )
    steps = events.pivot_table(
        index=["event_date", "session_id"], columns="event_type", values="event_id", aggfunc="size"
    )
    agg_funnel = steps.notna().groupby(level=0).sum()

    tables = {
        **{f"stg_{t}": df for t, df in staged.items()},
        "stg_quarantine": pd.concat(quarantine, ignore_index=True),
        "dim_users": dim_users,
        "dim_products": dim_products,
        "dim_date": dim_date,
        "fact_orders": fact_orders,
        "fact_order_items": items,
        "fact_events": events,
        "fact_reviews": reviews,
        "agg_daily_sales": agg_daily_sales.reset_index(),
        "agg_product_performance": agg_product.reset_index(),
        "agg_customer_lifetime": agg_customer.reset_index(),
        "agg_conversion_funnel": agg_funnel.reset_index(),
    }
    out.unlink(missing_ok=True)
    con = sqlite3.connect(out)
    counts = {}
    for name, df in tables.items():
        df.to_sql(name, con, index=False, chunksize=100_000)
        counts[name] = len(df)
    validations = [
        "SELECT count(*) - count(DISTINCT order_id) FROM fact_orders",
        "SELECT count(*) FROM fact_orders WHERE order_id IS NULL",
        "SELECT count(*) - count(DISTINCT order_item_id) FROM fact_order_items",
        "SELECT count(*) FROM fact_order_items i LEFT JOIN fact_orders o USING (order_id) "
        "WHERE o.order_id IS NULL",
        "SELECT count(*) FROM fact_order_items WHERE product_sk = 0",
        "SELECT count(*) FROM fact_reviews WHERE rating NOT BETWEEN 1 AND 5",
        "SELECT count(*) FROM fact_orders WHERE order_ts > '2100-01-01'",
        "SELECT count(*) FROM fact_order_items WHERE quantity < 1 OR unit_price <= 0",
    ]
    for sql in validations:
        con.execute(sql).fetchone()
    con.commit()
    con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    counts = build(Path(args[0]), Path(args[1]))
    print(sum(counts.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
