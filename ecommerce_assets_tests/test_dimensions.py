"""Dimensions: calendar and payment methods, SCD2 versions, unknown members, stable keys."""

import hashlib
import shutil
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ecommerce_assets.assets import dimensions as dimension_assets
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.transforms.dimensions import (
    build_dim_date,
    build_dim_payment_method,
    build_dim_products,
    build_dim_users,
)

from .conftest import START, definitions

T = pd.Timestamp


def expected_sk(key: int, valid_from: datetime) -> int:
    """The documented key scheme, recomputed in Python."""
    text = f"{key}|{valid_from:%Y-%m-%d %H:%M:%S.%f}"
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def users_frame(rows: list[tuple]) -> pd.DataFrame:
    """Staged users: (user_id, name, email, city, updated_at, delivery_date)."""
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "user_name": [r[1] for r in rows],
            "email": [r[2] for r in rows],
            "country": ["DE"] * len(rows),
            "city": [r[3] for r in rows],
            "signup_date": [T("2024-01-01")] * len(rows),
            "updated_at": [T(r[4]) for r in rows],
            "delivery_date": [T(r[5]) for r in rows],
            "source_file": ["x"] * len(rows),
            "line_number": list(range(2, len(rows) + 2)),
        }
    )


USERS = [
    (1, "Ann", "ann@x.io", "Berlin", "2024-01-01 09:00:00", "2024-01-01"),
    (2, "Bob", None, "Paris", "2024-01-01 10:00:00", "2024-01-01"),
    # unchanged re-send of user 1: no new version
    (1, "Ann", "ann@x.io", "Berlin", "2024-01-02 08:00:00", "2024-01-02"),
    # user 1 moves
    (1, "Ann", "ann@x.io", "Hamburg", "2024-01-03 12:30:00", "2024-01-03"),
    # the same version delivered again a day later
    (1, "Ann", "ann@x.io", "Hamburg", "2024-01-03 12:30:00", "2024-01-04"),
]


def test_scd2_versions_collapse_unchanged_resends() -> None:
    dim = build_dim_users(users_frame(USERS))
    known = dim[dim["user_sk"] != 0].sort_values(["user_id", "valid_from"])
    assert list(known["user_id"]) == [1, 1, 2]
    ann = known[known["user_id"] == 1]
    assert list(ann["city"]) == ["Berlin", "Hamburg"]
    assert list(ann["valid_from"]) == [T("2024-01-01 09:00"), T("2024-01-03 12:30")]
    assert [str(v) for v in ann["valid_to"]] == ["2024-01-03 12:30:00", "9999-12-31 00:00:00"]
    assert list(ann["is_current"]) == [False, True]
    assert list(known["signup_year"]) == [2024] * 3 and list(known["signup_month"]) == [1] * 3
    for row in known.itertuples():
        assert row.user_sk == expected_sk(row.user_id, row.valid_from.to_pydatetime())


def test_unknown_members() -> None:
    users = build_dim_users(users_frame(USERS))
    unknown = users[users["user_sk"] == 0]
    assert len(unknown) == 1
    assert unknown.iloc[0]["user_id"] == -1 and unknown.iloc[0]["user_name"] == "unknown"
    assert bool(unknown.iloc[0]["is_current"])
    products = build_dim_products(products_frame())
    assert (products["product_sk"] == 0).sum() == 1
    assert products.loc[products["product_sk"] == 0, "price_bucket"].item() == "unknown"


def test_keys_stable_when_a_later_delivery_adds_versions() -> None:
    before = build_dim_users(users_frame(USERS[:3]))
    after = build_dim_users(users_frame(USERS))
    again = build_dim_users(users_frame(USERS))
    pd.testing.assert_frame_equal(after, again)
    old = before.set_index(["user_id", "valid_from"])["user_sk"]
    new = after.set_index(["user_id", "valid_from"])["user_sk"]
    assert set(old.index) <= set(new.index)
    assert all(new[k] == old[k] for k in old.index)


def test_a_build_for_some_keys_is_those_keys_rows_of_the_whole_build() -> None:
    """What a day's update writes (KeyedFrame): the versions of the keys it names, computed from
    all their staged rows (here a late row of user 1 between two versions), no unknown member."""
    late = (1, "Ann", "ann@x.io", "Bonn", "2024-01-02 09:00:00", "2024-01-05")
    rows = users_frame([*USERS, late])
    whole = build_dim_users(rows)
    some = build_dim_users(rows, keys=pd.DataFrame({"key": [1]}))
    expected = whole[whole["user_id"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(some.reset_index(drop=True), expected)
    assert list(some["city"]) == ["Berlin", "Bonn", "Hamburg"]
    products = build_dim_products(products_frame(), keys=pd.DataFrame({"key": [10, 12]}))
    full = build_dim_products(products_frame())
    pd.testing.assert_frame_equal(
        products.reset_index(drop=True),
        full[full["product_id"].isin([10, 12])].reset_index(drop=True),
    )


def products_frame() -> pd.DataFrame:
    rows = [
        # id, name, price, cost, supplier, updated_at
        (10, "Cheap", 19.99, 5.00, 1, "2024-01-01 00:00:00"),
        (11, "Mid", 20.00, 5.00, None, "2024-01-01 00:00:00"),
        (12, "Dear", 75.00, 30.00, 2, "2024-01-01 00:00:00"),
        (10, "Cheap", 19.99, 5.00, 1, "2024-01-05 00:00:00"),  # unchanged re-send
        (10, "Cheap", 74.99, 5.00, 1, "2024-01-06 00:00:00"),  # price change
        (12, "Dear", 75.00, 30.00, 3, "2024-01-07 00:00:00"),  # supplier change
    ]
    return pd.DataFrame(
        {
            "product_id": [r[0] for r in rows],
            "product_name": [r[1] for r in rows],
            "category": ["Books"] * len(rows),
            "subcategory": ["Novels"] * len(rows),
            "price": [r[2] for r in rows],
            "cost": [r[3] for r in rows],
            "supplier_id": pd.array([r[4] for r in rows], dtype="Int64"),
            "updated_at": [T(r[5]) for r in rows],
            "delivery_date": [T(r[5]).normalize() for r in rows],
            "source_file": ["x"] * len(rows),
            "line_number": [2] * len(rows),
        }
    )


def test_products_versions_and_price_buckets() -> None:
    dim = build_dim_products(products_frame())
    known = dim[dim["product_sk"] != 0].sort_values(["product_id", "valid_from"])
    got = [
        (r.product_id, r.price, r.price_bucket, r.is_current, r.supplier_id)
        for r in known.itertuples()
    ]
    assert got == [
        (10, Decimal("19.99"), "low", False, 1),
        (10, Decimal("74.99"), "medium", True, 1),
        (11, Decimal("20.00"), "medium", True, pd.NA),
        (12, Decimal("75.00"), "high", False, 2),
        (12, 75.00, "high", True, 3),
    ]


def test_dim_date_matches_python_calendar() -> None:
    dim = build_dim_date(date(2023, 12, 25), date(2025, 1, 5))
    assert len(dim) == (date(2025, 1, 5) - date(2023, 12, 25)).days + 1
    for row in dim.itertuples():
        d = row.date
        iso = d.isocalendar()
        nxt = d + timedelta(days=1)
        assert row.date_key == int(d.strftime("%Y%m%d"))
        assert (row.year, row.month, row.quarter) == (d.year, d.month, (d.month - 1) // 3 + 1)
        assert (row.iso_year, row.iso_week, row.day_of_week) == (iso[0], iso[1], iso[2])
        assert row.month_name == d.strftime("%B") and row.day_name == d.strftime("%A")
        assert row.is_weekend == (d.weekday() >= 5)
        assert row.is_month_end == (nxt.month != d.month)


def test_payment_methods() -> None:
    dim = build_dim_payment_method()
    assert dict(zip(dim["payment_method"], dim["payment_type"], strict=True)) == {
        "unknown": "unknown",
        "credit_card": "card",
        "debit_card": "card",
        "paypal": "wallet",
        "apple_pay": "wallet",
        "bank_transfer": "bank",
        "gift_card": "gift card",
    }
    assert dim.loc[dim["payment_method"] == "unknown", "payment_method_key"].item() == 0


# ------------------------------------------------------------------------------------------
# Through Dagster and the warehouse: a rebuild and an added delivery keep every key.
# ------------------------------------------------------------------------------------------
DIMS = ["dim_users", "dim_products"]
SELECTION = ["group:raw", "group:staging", "group:dimensions", "group:facts"]
# The version valid at ts; else the key's earliest version; else the unknown member (0).
ASOF = """coalesce(
    (SELECT d.{k}_sk FROM marts.dim_{k}s AS d WHERE d.{k}_id = s.{k}_id AND d.valid_from <= {ts}
     ORDER BY d.valid_from DESC LIMIT 1),
    (SELECT d.{k}_sk FROM marts.dim_{k}s AS d WHERE d.{k}_id = s.{k}_id
     ORDER BY d.valid_from LIMIT 1), 0)"""


def _versions(warehouse: Path, table: str) -> pd.DataFrame:
    key = "user" if table == "dim_users" else "product"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"SELECT {key}_sk AS sk, {key}_id AS id, valid_from, valid_to, is_current "
            f"FROM marts.{table} ORDER BY id, valid_from"
        ).df()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dims") / "all"
    # Seed 4: the sixth day delivers 13 user versions and 1 product version (checked below).
    generate_landing_zone(out, seed=4, scale=0.5, start=START, days=6)
    return out


def _build(landing: Path, days: int, warehouse: Path, first_day: int = 0) -> None:
    """Materialize deliveries ``first_day``..``days - 1`` of a landing zone holding ``days``."""
    partial = warehouse.parent / f"landing_{days}"
    partial.mkdir(exist_ok=True)
    for i in range(days):
        folder = (START + timedelta(days=i)).isoformat()
        if not (partial / folder).exists():
            (partial / folder).symlink_to(landing / folder, target_is_directory=True)
    defs = definitions(partial, warehouse)
    materialize_days(
        defs,
        START + timedelta(days=first_day),
        START + timedelta(days=days - 1),
        selection=SELECTION,
    )


def test_keys_stable_across_rebuild_and_added_delivery(landing: Path, tmp_path: Path) -> None:
    _build(landing, 5, tmp_path / "a.duckdb")
    _build(landing, 5, tmp_path / "b.duckdb")
    shutil.copy(tmp_path / "a.duckdb", tmp_path / "c.duckdb")
    _build(landing, 6, tmp_path / "c.duckdb", first_day=5)  # only the sixth delivery is loaded
    for table in DIMS:
        first = _versions(tmp_path / "a.duckdb", table)
        rebuilt = _versions(tmp_path / "b.duckdb", table)
        pd.testing.assert_frame_equal(first, rebuilt)
        later = _versions(tmp_path / "c.duckdb", table).set_index(["id", "valid_from"])
        assert len(later) > len(first), "the sixth delivery should add versions"
        old = first.set_index(["id", "valid_from"])
        assert (later.loc[old.index, "sk"] == old["sk"]).all()
        assert later["sk"].is_unique
        # every business key has exactly one current version
        assert (later.groupby("id")["is_current"].sum() == 1).all()
        # a closed version ends where the next one starts
        flat = later.reset_index()
        chained = flat.assign(nxt=flat.groupby("id")["valid_from"].shift(-1)).dropna(subset=["nxt"])
        assert (chained["valid_to"] == chained["nxt"]).all()
        assert (~flat["is_current"]).sum() == len(chained)
    # fact partitions loaded before the sixth delivery were not reloaded, yet still link to the
    # right versions of the rebuilt dimensions
    with duckdb.connect(str(tmp_path / "c.duckdb"), read_only=True) as con:
        stale = con.execute(
            f"""
            SELECT count(*), count(*) FILTER (s.delivery_date < DATE '{START + timedelta(days=5)}')
            FROM (
                SELECT f.delivery_date, f.product_sk, f.user_sk, i.product_id, o.user_id,
                    o.order_ts
                FROM marts.fact_order_items f
                JOIN staging.stg_order_items i
                    ON i.delivery_date = f.delivery_date AND i.order_item_id = f.order_item_id
                JOIN staging.stg_orders o
                    ON o.delivery_date = i.delivery_date AND o.order_id = i.order_id
            ) AS s
            WHERE s.product_sk <> {ASOF.format(k="product", ts="s.order_ts")}
               OR s.user_sk <> {ASOF.format(k="user", ts="s.order_ts")}
            """
        ).fetchone()
        loaded = con.execute(
            "SELECT count(DISTINCT delivery_date) FROM marts.fact_order_items"
        ).fetchone()
    assert stale == (0, 0) and loaded == (6,)


def _update(instance: dg.DagsterInstance, table: str) -> tuple[str, int]:
    event = instance.get_latest_materialization_event(dg.AssetKey(table))
    meta = event.asset_materialization.metadata
    return meta["update"].value, meta["updated_keys"].value


def _rows(warehouse: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT * FROM marts.{table} ORDER BY ALL").fetchall()


def test_a_new_day_updates_its_keys_and_a_restaged_day_rebuilds(
    landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: after the first build, a day's run recomputes only the keys the day staged
    (counted independently from stg_users) and the table equals a build from scratch; a day
    staged again makes the next build a rebuild, with the same result; so do changed SCD2 rules."""
    warehouse, reference = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    _build(landing, 6, reference)  # one run, its own instance: the table from scratch
    day6, day3 = START + timedelta(days=5), START + timedelta(days=2)
    defs = definitions(landing, warehouse)
    with dg.instance_for_test() as instance:
        assert materialize_days(defs, START, day6 - timedelta(days=1), instance=instance).success
        assert _update(instance, "dim_users") == ("rebuilt: the table is not in the warehouse", -1)
        assert materialize_days(defs, day6, day6, instance=instance).success
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (users,) = con.execute(
                "SELECT count(DISTINCT user_id) FROM staging.stg_users WHERE delivery_date = ?",
                [day6],
            ).fetchone()
        assert users == 13  # the seed's sixth day (see the fixture)
        assert _update(instance, "dim_users") == (
            "updated: the keys of 1 day(s) staged since the last build",
            users,
        )
        assert _update(instance, "dim_products")[1] == 1
        for table in DIMS:
            assert _rows(warehouse, table) == _rows(reference, table), table
        assert materialize_days(defs, day3, day3, instance=instance).success
        assert _update(instance, "dim_users") == (f"rebuilt: {day3} was staged again", -1)
        for table in DIMS:
            assert _rows(warehouse, table) == _rows(reference, table), table
        # Nothing staged since: nothing to do; other SCD2 rules than the last build's: rebuilt.
        alone = dict(selection="key:dim_users", instance=instance)
        assert materialize_days(defs, day6, day6, **alone).success
        assert _update(instance, "dim_users") == (
            "unchanged: no day staged since the last build",
            0,
        )
        monkeypatch.setattr(dimension_assets, "SCD2_VERSION", "2")
        assert materialize_days(defs, day6, day6, **alone).success
        assert _update(instance, "dim_users") == (
            "rebuilt: the SCD2 rules changed (version 1 -> 2)",
            -1,
        )
        assert _rows(warehouse, "dim_users") == _rows(reference, "dim_users")
