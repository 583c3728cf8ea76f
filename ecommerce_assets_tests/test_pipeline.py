"""Raw + staged layers materialized with Dagster on generated deliveries, against the manifests."""

import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from ecommerce_assets.contract import TABLE_NAMES
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .conftest import Built, make_built


def _per_day(built: Built, sql: str) -> dict[tuple[str, str], int]:
    return {(t, d): n for t, d, n in built.query(sql)}


def test_every_quarantined_row_matches_the_manifest_line_and_reason(staged_zone: Built) -> None:
    got = Counter(
        staged_zone.query(
            "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), line_number, reason "
            "FROM staging.stg_quarantine"
        )
    )
    expected: Counter = Counter()
    for day in staged_zone.days():
        for table, info in staged_zone.manifest(day)["tables"].items():
            for entry in info["quarantine"]:
                expected[(table, day.isoformat(), entry["line"], entry["reason"])] += 1
    assert got == expected
    reasons = {reason.split(":")[0] for (_, _, _, reason) in expected}
    # Every quarantine class of the contract occurred in this landing zone.
    assert reasons == {
        "malformed_line",
        "null_key",
        "bad_key",
        "duplicate_key",
        "bad_value",
        "out_of_range",
        "future_timestamp",
        "orphan_line",
    }


def test_staged_counts_and_kept_defects_match_the_manifest(staged_zone: Built) -> None:
    audit = {
        (t, d): row
        for t, d, *row in staged_zone.query(
            "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), raw_rows, staged_rows, "
            "exact_duplicates, repaired_rows, unknown_values, invalid_emails "
            "FROM staging.stg_load_audit"
        )
    }
    checked = 0
    for day in staged_zone.days():
        for table, info in staged_zone.manifest(day)["tables"].items():
            defects = info["defects"]
            unknown = sum(n for k, n in defects.items() if k.startswith("unknown_value:"))
            expected = [
                info["rows"],
                info["staged"],
                defects.get("exact_duplicate", 0),
                defects.get("whitespace_case", 0),
                unknown,
                defects.get("invalid_email", 0),
            ]
            assert audit[(table, day.isoformat())] == expected, (table, day)
            checked += 1
    assert checked == 5 * len(TABLE_NAMES)


def test_rows_are_conserved_per_table_and_day(staged_zone: Built) -> None:
    """raw = staged + quarantined + exact duplicates, each counted from its own table."""
    raw, staged = {}, {}
    for table in TABLE_NAMES:
        day = "strftime(delivery_date, '%Y-%m-%d')"
        raw |= _per_day(
            staged_zone, f"SELECT '{table}', {day}, count(*) FROM raw.raw_{table} GROUP BY ALL"
        )
        staged |= _per_day(
            staged_zone, f"SELECT '{table}', {day}, count(*) FROM staging.stg_{table} GROUP BY ALL"
        )
    quarantined = _per_day(
        staged_zone,
        "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), count(*) "
        "FROM staging.stg_quarantine GROUP BY ALL",
    )
    duplicates = _per_day(
        staged_zone,
        "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), exact_duplicates "
        "FROM staging.stg_load_audit",
    )
    # The audit has a row for every table and day, zero-row days included.
    assert set(duplicates) == {(t, d.isoformat()) for t in TABLE_NAMES for d in staged_zone.days()}
    for key in duplicates:
        expected = staged.get(key, 0) + quarantined.get(key, 0) + duplicates[key]
        assert raw.get(key, 0) == expected, key


def test_late_events_and_repairs_are_staged(staged_zone: Built) -> None:
    late = dict(
        staged_zone.query(
            "SELECT strftime(delivery_date, '%Y-%m-%d'), count(*) FILTER (is_late_arrival) "
            "FROM staging.stg_events GROUP BY ALL"
        )
    )
    for day in staged_zone.days():
        expected = staged_zone.manifest(day)["tables"]["events"]["defects"].get("late_event", 0)
        assert late[day.isoformat()] == expected
    assert sum(late.values()) > 0
    bad_case = staged_zone.query(
        "SELECT count(*) FROM staging.stg_orders "
        "WHERE status <> lower(trim(status)) OR payment_method <> lower(trim(payment_method))"
    )
    assert bad_case == [(0,)]
    emails = staged_zone.query(
        "SELECT count(*) FROM staging.stg_users WHERE email <> lower(trim(email))"
    )
    assert emails == [(0,)]


def test_raw_keeps_text_and_lineage(staged_zone: Built) -> None:
    lineage = staged_zone.query(
        "SELECT count(*), count(DISTINCT source_file), min(line_number), "
        "count(*) FILTER (parse_error IS NOT NULL) FROM raw.raw_orders"
    )[0]
    malformed = sum(
        e["reason"] == "malformed_line"
        for d in staged_zone.days()
        for e in staged_zone.manifest(d)["tables"]["orders"]["quarantine"]
    )
    rows = sum(staged_zone.manifest(d)["tables"]["orders"]["rows"] for d in staged_zone.days())
    assert lineage == (rows, 5, 2, malformed)
    types = dict(
        staged_zone.query("SELECT column_name, column_type FROM (DESCRIBE raw.raw_orders)")
    )
    assert types["order_amount"] == "VARCHAR" and types["delivery_date"] == "DATE"
    types = dict(
        staged_zone.query("SELECT column_name, column_type FROM (DESCRIBE staging.stg_orders)")
    )
    assert types["order_amount"] == "DECIMAL(12,2)" and types["order_ts"] == "TIMESTAMP"


def test_redelivery_replaces_the_day_and_missing_column_fails_it(tmp_path: Path) -> None:
    built = make_built(tmp_path, days=3, scale=0.2, seed=11)
    assert materialize_days(built.defs, built.first, built.last, selection="group:raw").success
    before = built.query("SELECT count(*) FROM raw.raw_orders WHERE delivery_date <> '2024-01-02'")

    # Re-delivery of 2024-01-02 with fewer rows: the day is replaced exactly, other days untouched.
    redelivered = tmp_path / "redelivery"
    # The same source (seed, scale, keys) sent with fewer defects: other days' keys untouched.
    generate_landing_zone(redelivered, seed=11, scale=0.2, start=built.first, days=3, rates={})
    shutil.rmtree(built.landing / "2024-01-02")
    shutil.copytree(redelivered / "2024-01-02", built.landing / "2024-01-02")
    day = date(2024, 1, 2)
    assert materialize_days(built.defs, day, day, selection="group:raw").success
    new_rows = built.manifest(day)["tables"]["orders"]["rows"]
    assert built.query(
        "SELECT count(*) FROM raw.raw_orders WHERE delivery_date = '2024-01-02'"
    ) == [(new_rows,)]
    assert (
        built.query("SELECT count(*) FROM raw.raw_orders WHERE delivery_date <> '2024-01-02'")
        == before
    )

    # The same day re-delivered without order_ts: the day is refused, naming file and column (an
    # ERROR check on the day), and nothing of it is written (the previous content stays).
    orders_csv = built.landing / "2024-01-02" / "orders.csv"
    lines = orders_csv.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    ts = header.index("order_ts")
    orders_csv.write_text(
        "\n".join(
            ",".join(c for i, c in enumerate(line.split(",")) if i != ts) for line in lines[:1]
        )
        + "\n"
    )
    snapshot = {
        t: built.query(f"SELECT count(*) FROM raw.raw_{t} WHERE delivery_date = '2024-01-02'")
        for t in TABLE_NAMES
    }
    result = materialize_days(built.defs, day, day, selection="group:raw", raise_on_error=False)
    assert result.success  # the day is refused, not the run
    (refused,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "delivery_accepted" and not e.passed
    ]
    assert refused.partition == "2024-01-02"
    message = refused.metadata["delivery"].value
    assert "2024-01-02/orders.csv, line 1: required column 'order_ts' is missing" in message
    for table, count in snapshot.items():
        got = built.query(
            f"SELECT count(*) FROM raw.raw_{table} WHERE delivery_date = '2024-01-02'"
        )
        assert got == count, table


@pytest.mark.parametrize("selection", ["raw_orders", "key:raw_orders"])
def test_one_raw_table_can_be_materialized_alone(tmp_path: Path, selection: str) -> None:
    built = make_built(tmp_path, days=2, scale=0.1, seed=3)
    result = materialize_days(built.defs, built.first, built.last, selection=selection)
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "raw_orders"
    }
