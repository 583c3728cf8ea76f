"""Reliability against odd deliveries, end to end through Dagster: a folder still being written,
a day that never arrives, a re-delivery with fewer rows, and a broken quote (issue 24) whose
quarantine names the physical lines an editor shows."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.contract import TABLES
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.runner import materialize_days

from .conftest import Built, definitions, make_built
from .landing_files import DAY, ORDER, VALID, D, csv_text, deliver

# Raw and staged assets; their asset checks are tested on their own elsewhere.
LAYERS = dg.AssetSelection.groups("raw", "staging").without_checks()


# ------------------------------------------------------------------------------------------------
# Deliveries, end to end through Dagster: incomplete folders, gaps, re-deliveries.
# ------------------------------------------------------------------------------------------------
def _counts(built: Built, schema: str, prefix: str) -> dict[tuple[str, str], int]:
    out = {}
    for table in TABLES:
        rows = built.query(
            f"SELECT strftime(delivery_date, '%Y-%m-%d'), count(*) "
            f"FROM {schema}.{prefix}{table} GROUP BY ALL"
        )
        out |= {(table, d): n for d, n in rows}
    return out


def _expected(built: Built, days: list[date]) -> tuple[dict, dict]:
    raw, staged = {}, {}
    for day in days:
        for table, info in built.manifest(day)["tables"].items():
            if info["rows"]:
                raw[(table, day.isoformat())] = info["rows"]
            if info["staged"]:
                staged[(table, day.isoformat())] = info["staged"]
    return raw, staged


@dataclass
class GapRun:
    built: Built
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def gap_run(tmp_path_factory: pytest.TempPathFactory) -> GapRun:
    """Four days: day 2 still being written (no _SUCCESS), day 3 never delivered; one run 1..4."""
    built = make_built(tmp_path_factory.mktemp("gap"), days=4, scale=0.05, seed=21)
    d1, d2, d3, d4 = built.days()
    (built.landing / d2.isoformat() / "_SUCCESS").unlink()
    shutil.rmtree(built.landing / d3.isoformat())
    # Partitions still span 1..4 (the gap is inside the window); rebuild for the new landing zone.
    built.defs = definitions(built.landing, built.warehouse)
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_days(built.defs, d1, d4, instance=instance, selection=LAYERS)
    return GapRun(built, instance, result)


def test_a_missing_day_is_reported_in_materialization_metadata(gap_run: GapRun) -> None:
    """Each day's page says what the run did with that day (not the range's list): loaded, or
    not delivered (being written, or no folder) and kept as it was."""
    d1, d2, d3, d4 = gap_run.built.days()
    expected = {
        d1.isoformat(): "loaded",
        d2.isoformat(): f"not delivered: {d2}/ has no _SUCCESS (being written or re-delivered)",
        d3.isoformat(): f"not delivered: no folder {d3}/ in the landing zone",
        d4.isoformat(): "loaded",
    }
    seen = 0
    for event in gap_run.result.get_asset_materialization_events():
        if event.asset_key.to_user_string().startswith("raw_"):
            metadata = event.materialization.metadata
            assert metadata["delivery"].value.startswith(expected[event.partition]), event.partition
            if expected[event.partition] != "loaded":
                assert metadata["dagster/partition_row_count"].value == 0
            seen += 1
    assert seen == 7 * 4  # the six raw tables and the delivery ledger, four days each


def test_incomplete_folder_and_missing_day_are_skipped_and_later_days_load(
    gap_run: GapRun,
) -> None:
    """Days 1 and 4 load exactly, the gap is logged and audited as zero rows; when day 2
    completes, a run of day 2 alone adds exactly its rows; a re-delivery of day 4 with fewer
    rows replaces day 4 exactly in raw, staged, quarantine and audit."""
    built, result = gap_run.built, gap_run.result
    d1, d2, d3, d4 = built.days()
    assert result.success
    raw, staged = _expected(built, [d1, d4])
    assert _counts(built, "raw", "raw_") == raw
    assert _counts(built, "staging", "stg_") == staged
    logs = gap_run.instance.all_logs(result.run_id)
    messages = [r.user_message for r in logs if r.level >= 30]
    gaps = [m for m in messages if "no complete delivery for 2 day(s), kept as they were" in m]
    assert len(gaps) == 1 and f"{d2}, {d3}" in gaps[0], messages
    audit = dict(
        built.query(
            "SELECT strftime(delivery_date, '%Y-%m-%d'), sum(raw_rows) "
            "FROM staging.stg_load_audit GROUP BY ALL"
        )
    )
    assert sorted(audit) == [d.isoformat() for d in (d1, d2, d3, d4)]
    assert audit[d2.isoformat()] == 0 and audit[d3.isoformat()] == 0

    # Day 2 completes: only day 2 changes, by exactly its manifest.
    (built.landing / d2.isoformat() / "_SUCCESS").touch()
    assert materialize_days(built.defs, d2, d2, selection=LAYERS).success
    raw, staged = _expected(built, [d1, d2, d4])
    assert _counts(built, "raw", "raw_") == raw
    assert _counts(built, "staging", "stg_") == staged

    # Day 4 re-delivered with fewer rows: replaced exactly, quarantine and audit included.
    other = built.landing.parent / "redelivery"
    # The same source (its keys, which other days never reuse) sent with fewer defects.
    generate_landing_zone(other, seed=21, scale=0.05, start=d1, days=4, rates={})
    shutil.rmtree(built.landing / d4.isoformat())
    shutil.copytree(other / d4.isoformat(), built.landing / d4.isoformat())
    assert materialize_days(built.defs, d4, d4, selection=LAYERS).success
    raw, staged = _expected(built, [d1, d2, d4])
    assert _counts(built, "raw", "raw_") == raw
    assert _counts(built, "staging", "stg_") == staged
    manifest = built.manifest(d4)["tables"]
    quarantined = dict(
        built.query(
            "SELECT table_name, count(*) FROM staging.stg_quarantine "
            "WHERE delivery_date = ? GROUP BY ALL",
            [d4],
        )
    )
    assert quarantined == {t: len(i["quarantine"]) for t, i in manifest.items() if i["quarantine"]}
    audit_d4 = dict(
        built.query(
            "SELECT table_name, raw_rows FROM staging.stg_load_audit WHERE delivery_date = ?", [d4]
        )
    )
    assert audit_d4 == {t: i["rows"] for t, i in manifest.items()}


# ------------------------------------------------------------------------------------------------
# Broken quoting and physical line numbers, end to end through Dagster (issue 24).
# ------------------------------------------------------------------------------------------------
def test_a_broken_quote_loses_no_order_and_quarantine_names_physical_lines(
    tmp_path: Path,
) -> None:
    """The tester's delivery: an unterminated quote in line 4 of orders.csv made lines 4-13 one
    malformed record, ten orders vanished into it, their 21 order lines were quarantined as
    orphans, and rows_conserved balanced (one raw record, one quarantined). Now line 4 alone is
    quarantined, the nine orders after it are staged with their lines, conservation balances, and
    the quarantine names the lines an editor shows (order_items.csv has a blank line before
    order 3's lines). On the next day a quote that never closes over lines that are no records
    stays one malformed record of 7 lines: malformed_record_lines fails on that day alone."""
    d2 = "2024-01-02"
    orders = [{**VALID["orders"], "order_id": str(i)} for i in range(1, 13)]
    order_lines = csv_text(ORDER, orders).splitlines()
    order_lines[3] = f'3,1,"{D} 10:00:00,placed,paypal,0,20.00'  # line 4, the quote never closes
    items_spec = TABLES["order_items"]
    # Orders 1 and 2 one line each; order 3 three (ids 3-5); orders 4-12 two each: 21 for 3-12.
    owners = [1, 2, 3, 3, 3, *(o for o in range(4, 13) for _ in range(2))]
    items = [
        {**VALID["order_items"], "order_item_id": str(i + 1), "order_id": str(o)}
        for i, o in enumerate(owners)
    ]
    item_lines = csv_text(items_spec, items).splitlines()
    item_lines.insert(3, "")  # a blank line 4: order 3's lines are on lines 5-7
    reviews = TABLES["reviews"]
    review = {**VALID["reviews"], "review_date": d2}
    review_text = csv_text(reviews, [review]) + '2,1,1,4,"a quote that never closes,\n'
    review_text += "".join(f"just text, line {n}\n" for n in range(4, 10))  # lines 4-9
    landing = tmp_path / "landing"
    deliver(
        landing,
        D,
        {
            ORDER.file_name: "\n".join(order_lines) + "\n",
            items_spec.file_name: "\n".join(item_lines) + "\n",
        },
    )
    deliver(landing, d2, {reviews.file_name: review_text})
    warehouse = tmp_path / "warehouse.duckdb"
    defs = definitions(landing, warehouse)
    result = materialize_days(defs, DAY, date(2024, 1, 2), selection=["group:raw", "group:staging"])
    assert result.success

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    # Ten orders were on lines 4-13: order 3 (line 4) is quarantined, the nine after it staged.
    assert query("SELECT order_id, line_number FROM staging.stg_orders ORDER BY 1") == [
        (i, i + 1) for i in (1, 2, *range(4, 13))
    ]
    staged_items = query("SELECT order_id, count(*) FROM staging.stg_order_items GROUP BY 1")
    assert dict(staged_items) == {1: 1, 2: 1, **{o: 2 for o in range(4, 13)}}
    assert query(
        "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), line_number, reason "
        "FROM staging.stg_quarantine ORDER BY ALL"
    ) == [
        ("order_items", D, 5, "orphan_line"),
        ("order_items", D, 6, "orphan_line"),
        ("order_items", D, 7, "orphan_line"),
        ("orders", D, 4, "malformed_line"),
        ("reviews", d2, 3, "malformed_line"),
    ]
    (broken,) = query("SELECT raw_values FROM staging.stg_quarantine WHERE table_name = 'orders'")[
        0
    ]
    assert order_lines[3] in broken.replace('\\"', '"')
    # One raw record per source line, and every one accounted for.
    assert query(
        "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), raw_rows, staged_rows, "
        "quarantined_rows, exact_duplicates FROM staging.stg_load_audit WHERE raw_rows > 0 "
        "ORDER BY ALL"
    ) == [
        ("order_items", D, 23, 20, 3, 0),
        ("orders", D, 12, 11, 1, 0),
        ("reviews", d2, 2, 1, 1, 0),
    ]
    checks = {
        (e.check_name, e.partition): e
        for e in result.get_asset_check_evaluations()
        if e.check_name in ("rows_conserved", "malformed_record_lines")
    }
    assert {k: e.passed for k, e in checks.items()} == {
        ("rows_conserved", D): True,
        ("rows_conserved", d2): True,
        ("malformed_record_lines", D): True,
        ("malformed_record_lines", d2): False,
    }
    failing = checks[("malformed_record_lines", d2)].metadata
    assert failing["rows_failing"].value == 1
    assert "[record spans lines 3-9]" in failing["failing_sample"].value
