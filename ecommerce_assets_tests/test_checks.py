"""The asset checks against the generator's manifests: exact counts per defect class, all pass on
a clean landing zone, a blocking failure stops downstream assets; plus the pure anomaly rules."""

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ecommerce_assets.assets import staging as staging_assets
from ecommerce_assets.checks.anomalies import row_count_anomalies, score_drops
from ecommerce_assets.checks.common import Window, run_window
from ecommerce_assets.contract import TABLE_NAMES
from ecommerce_assets.runner import materialize_days, range_tags

from .conftest import Built, make_built

Results = dict[tuple[str, str], dg.AssetCheckEvaluation]


def _evaluations(result: dg.ExecuteInProcessResult) -> Results:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def _failing(ev: dg.AssetCheckEvaluation) -> int:
    return ev.metadata["rows_failing"].value


def _defects(built: Built, table: str, label: str) -> int:
    """Σ over days of a manifest defect count (a ``prefix:`` label sums every column)."""
    total = 0
    for day in built.days():
        defects = built.manifest(day)["tables"][table]["defects"]
        total += sum(n for k, n in defects.items() if k == label or k.startswith(label + ":"))
    return total


@pytest.fixture(scope="module")
def full_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Results]:
    """Five days at scale 0.3 with every defect class, every asset and check in one run."""
    built = make_built(tmp_path_factory.mktemp("checks"), days=5, scale=0.3, seed=7)
    result = materialize_days(built.defs, built.first, built.last)
    assert result.success
    return built, _evaluations(result)


def test_every_check_ran_with_its_metadata(full_zone: tuple[Built, Results]) -> None:
    built, results = full_zone
    graph = built.defs.resolve_asset_graph()
    declared = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert set(results) == declared
    for key, ev in results.items():
        if key[1] == "column_schema_change":
            continue
        for name in ("rows_checked", "rows_failing", "threshold", "failing_sample"):
            assert name in ev.metadata, (key, name)


def test_blocking_checks_pass_on_defective_data(full_zone: tuple[Built, Results]) -> None:
    built, results = full_zone
    graph = built.defs.resolve_asset_graph()
    blocking = [k for k in graph.asset_check_keys if graph.get_check_spec(k).blocking]
    assert len(blocking) > 30
    for key in blocking:
        ev = results[(key.asset_key.to_user_string(), key.name)]
        assert ev.passed, (key, ev.metadata.get("failing_sample"))


def test_checks_count_exactly_what_the_manifest_injected(full_zone: tuple[Built, Results]) -> None:
    built, results = full_zone
    expected: dict[tuple[str, str], int] = {}
    for t in TABLE_NAMES:
        malformed = sum(
            e["reason"] == "malformed_line"
            for d in built.days()
            for e in built.manifest(d)["tables"][t]["quarantine"]
        )
        expected[(f"raw_{t}", "malformed_lines")] = malformed
        expected[(f"raw_{t}", "unexpected_columns")] = _defects(built, t, "extra_column")
    for t in ("products", "orders", "events"):
        expected[(f"stg_{t}", "unknown_values")] = _defects(built, t, "unknown_value")
    for t in ("users", "products", "orders", "events"):
        expected[(f"stg_{t}", "whitespace_case_repaired")] = _defects(built, t, "whitespace_case")
    expected[("stg_users", "invalid_emails")] = _defects(built, "users", "invalid_email")
    expected[("stg_load_audit", "exact_duplicates_removed")] = sum(
        _defects(built, t, "exact_duplicate") for t in TABLE_NAMES
    )
    expected[("fact_orders", "orphan_references")] = _defects(built, "orders", "orphan_reference")
    expected[("fact_order_items", "orphan_references")] = _defects(
        built, "order_items", "orphan_reference"
    )
    expected[("fact_events", "orphan_references")] = _defects(built, "events", "orphan_reference")
    expected[("fact_reviews", "orphan_references")] = _defects(built, "reviews", "orphan_reference")
    expected[("fact_orders", "order_amount_matches_lines")] = _defects(
        built, "orders", "inconsistent_total"
    )
    quarantine: Counter = Counter()
    for d in built.days():
        for info in built.manifest(d)["tables"].values():
            quarantine.update(e["reason"] for e in info["quarantine"])
    expected[("stg_quarantine", "quarantined_rows")] = sum(quarantine.values())

    got = {key: _failing(results[key]) for key in expected}
    assert got == expected
    # Every defect class occurred somewhere, so each check above was really tested.
    per_check: Counter = Counter()
    for (_, name), n in expected.items():
        per_check[name] += n
    assert all(per_check.values()), per_check
    assert results[("stg_quarantine", "quarantined_rows")].metadata["by_reason"].value == dict(
        quarantine
    )
    events = results[("fact_events", "orphan_references")].metadata
    assert events["orphan_user_id"].value == _defects(built, "events", "orphan_reference:user_id")
    late = results[("stg_events", "late_arrivals_flagged")]
    assert late.passed and late.metadata["late_arrivals"].value == _defects(
        built, "events", "late_event"
    )
    for key, n in expected.items():
        if not n:
            assert results[key].passed
            continue
        assert not results[key].passed and results[key].severity == dg.AssetCheckSeverity.WARN
        assert "|" in results[key].metadata["failing_sample"].value, key  # a markdown table


def test_quality_report_counts_match_the_manifest(full_zone: tuple[Built, Results]) -> None:
    built, _ = full_zone
    rows = built.query(
        "SELECT table_name, strftime(delivery_date, '%Y-%m-%d'), raw_rows, incomplete_rows, "
        "duplicate_rows, invalid_rows, inaccurate_rows, inconsistent_rows, quality_score "
        "FROM marts.data_quality_report"
    )
    assert len(rows) == 5 * len(TABLE_NAMES)
    for table, day, raw, incomplete, dup, invalid, inaccurate, inconsistent, score in rows:
        info = built.manifest(date.fromisoformat(day))["tables"][table]
        d, reasons = info["defects"], Counter(e["reason"].split(":")[0] for e in info["quarantine"])
        assert raw == info["rows"]
        assert incomplete == reasons["malformed_line"] + reasons["null_key"] + reasons["bad_value"]
        assert dup == d.get("exact_duplicate", 0) + reasons["duplicate_key"]
        assert invalid == (
            reasons["bad_key"]
            + reasons["out_of_range"]
            + reasons["future_timestamp"]
            + sum(n for k, n in d.items() if k.startswith("unknown_value:"))
            + d.get("invalid_email", 0)
        )
        assert inaccurate == d.get("inconsistent_total", 0)
        orphans = sum(n for k, n in d.items() if k.startswith("orphan_reference:"))
        assert inconsistent == reasons["orphan_line"] + orphans
        assert 0 <= score <= 100


def test_every_check_passes_on_a_clean_landing_zone(tmp_path: Path) -> None:
    built = make_built(tmp_path, days=3, scale=0.1, seed=5, clean=True)
    result = materialize_days(built.defs, built.first, built.last)
    assert result.success
    failed = {k: _failing(e) for k, e in _evaluations(result).items() if not e.passed}
    assert failed == {}
    scores = built.query("SELECT min(quality_score), count(*) FROM marts.data_quality_report")
    assert scores == [(100.0, 3 * len(TABLE_NAMES))]
    meta = result.asset_materializations_for_node("data_quality_report")[0].metadata
    assert meta["quality_score"].value == 100.0


def test_a_blocking_failure_stops_downstream_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A staged order duplicated (as a buggy transform would) fails the blocking key check."""
    real = staging_assets.stage_table

    def buggy(spec, raw, staged_orders=None):  # type: ignore[no-untyped-def]
        out = real(spec, raw, staged_orders)
        if spec.name == "orders":
            staged = pd.concat([out.staged, out.staged.head(1)], ignore_index=True)
            out = type(out)(staged, out.quarantine, out.audit)
        return out

    monkeypatch.setattr(staging_assets, "stage_table", buggy)
    built = make_built(tmp_path, days=2, scale=0.05, seed=3, clean=True)
    result = materialize_days(built.defs, built.first, built.last, raise_on_error=False)
    assert not result.success
    key = _evaluations(result)[("stg_orders", "key_not_null_unique")]
    assert not key.passed and key.severity == dg.AssetCheckSeverity.ERROR
    assert _failing(key) == 2
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "stg_orders" in materialized
    downstream = {"dim_users", "dim_products", "fact_orders", "fact_order_items", "fact_events"}
    downstream |= {"fact_reviews", "agg_daily_sales", "data_quality_report"}
    assert materialized & downstream == set()


def test_run_window_comes_from_the_run_tags() -> None:
    first, last = date(2024, 1, 3), date(2024, 1, 9)
    assert run_window(range_tags(first, last)) == Window(first, last)
    assert run_window({"dagster/partition": "2024-01-05"}) == Window(
        date(2024, 1, 5), date(2024, 1, 5)
    )
    assert run_window({}).is_all and run_window({}).where() == "TRUE"
    assert Window(first, last).where("d") == (
        "CAST(d AS DATE) BETWEEN DATE '2024-01-03' AND DATE '2024-01-09'"
    )


def test_row_count_anomaly_uses_mean_and_three_sigma_of_the_last_14() -> None:
    start = date(2024, 1, 1)
    counts = {start + timedelta(days=i): 100 + (i % 2) * 10 for i in range(20)}  # 100/110
    days = [start + timedelta(days=i) for i in range(20)]
    judged, found = row_count_anomalies(counts, days)
    assert judged == 13 and found == []  # days 8..20 have >= 7 earlier deliveries
    counts[start + timedelta(days=19)] = 140  # mean 105, sigma 5: range 90..120
    _, found = row_count_anomalies(counts, days)
    assert [(a.day, a.rows, a.low, a.high) for a in found] == [
        (start + timedelta(days=19), 140, 90.0, 120.0)
    ]
    assert row_count_anomalies({start: 1, start + timedelta(1): 999}, [start + timedelta(1)]) == (
        0,
        [],
    )


def test_quality_score_drop_of_ten_percent_warns() -> None:
    d = [date(2024, 1, i) for i in range(1, 5)]
    scores = [(d[0], 99.0), (d[1], 90.0), (d[2], 80.0), (d[3], 72.0)]
    assert score_drops(scores, d) == [(d[2], 90.0, 80.0), (d[3], 80.0, 72.0)]
    assert score_drops(scores, d[:2]) == []
