"""The asset checks against the generator's manifests: exact counts per defect class and day, all
pass on a clean landing zone, a blocking failure stops downstream assets; plus the pure anomaly
rules. Checks of partitioned assets report one evaluation per delivery day."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ecommerce_assets.assets import staging as staging_assets
from ecommerce_assets.checks.anomalies import row_count_anomalies, score_drops
from ecommerce_assets.checks.days import CheckedDays, checked_days
from ecommerce_assets.checks.gates import Gate
from ecommerce_assets.contract import TABLE_NAMES
from ecommerce_assets.runner import materialize_days, range_tags

from .conftest import Built, make_built


@dataclass
class Summary:
    """A check's evaluations in one run: one per delivery day, or one for the run."""

    evaluations: list[dg.AssetCheckEvaluation]

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.evaluations)

    @property
    def severity(self) -> dg.AssetCheckSeverity | None:
        return self.evaluations[0].severity

    @property
    def metadata(self) -> dict:
        """The run's one result's metadata (checks that do not report per day)."""
        (only,) = self.evaluations
        return only.metadata

    def per_day(self, name: str = "rows_failing") -> dict[str, object]:
        return {e.partition: e.metadata[name].value for e in self.evaluations if name in e.metadata}


Results = dict[tuple[str, str], Summary]


def _evaluations(result: dg.ExecuteInProcessResult) -> Results:
    out: Results = {}
    for e in result.get_asset_check_evaluations():
        key = (e.asset_key.to_user_string(), e.check_name)
        out.setdefault(key, Summary([])).evaluations.append(e)
    return out


def _failing(summary: Summary) -> int:
    return sum(e.metadata["rows_failing"].value for e in summary.evaluations)


def _defects_by_day(built: Built, table: str, label: str) -> dict[str, int]:
    """A manifest defect count per day (a ``prefix:`` label sums every column)."""
    out = {}
    for day in built.days():
        defects = built.manifest(day)["tables"][table]["defects"]
        n = sum(n for k, n in defects.items() if k == label or k.startswith(label + ":"))
        out[day.isoformat()] = n
    return out


def _defects(built: Built, table: str, label: str) -> int:
    """Σ over days of a manifest defect count (a ``prefix:`` label sums every column)."""
    return sum(_defects_by_day(built, table, label).values())


@pytest.fixture(scope="module")
def full_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Results]:
    """Five days at scale 0.3 with every defect class, every asset and check in one run."""
    built = make_built(tmp_path_factory.mktemp("checks"), days=5, scale=0.3, seed=7)
    result = materialize_days(built.defs, built.first, built.last)
    assert result.success
    return built, _evaluations(result)


def test_every_check_ran_with_its_metadata(full_zone: tuple[Built, Results]) -> None:
    """Checks of partitioned assets: one evaluation per day of the run, naming its day, with its
    counts; the others: one result with the threshold and a sample."""
    built, results = full_zone
    graph = built.defs.resolve_asset_graph()
    declared = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert set(results) == declared
    days = sorted(d.isoformat() for d in built.days())
    per_day = 0
    for key in graph.asset_check_keys:
        summary = results[(key.asset_key.to_user_string(), key.name)]
        if key.name == "column_schema_change":
            continue
        if graph.get_check_spec(key).partitions_def is not None:
            per_day += 1
            assert sorted(e.partition for e in summary.evaluations) == days, key
            for e in summary.evaluations:
                assert {"rows_checked", "rows_failing", "failing_share"} <= set(e.metadata), key
                assert ("failing_sample" in e.metadata) == (e.metadata["rows_failing"].value > 0)
        else:
            (e,) = summary.evaluations
            assert e.partition is None
            for name in ("rows_checked", "rows_failing", "threshold", "failing_sample"):
                assert name in e.metadata, (key, name)
    assert per_day > 60


def test_blocking_checks_pass_on_defective_data(full_zone: tuple[Built, Results]) -> None:
    built, results = full_zone
    graph = built.defs.resolve_asset_graph()
    blocking = [k for k in graph.asset_check_keys if graph.get_check_spec(k).blocking]
    assert len(blocking) > 30
    for key in blocking:
        ev = results[(key.asset_key.to_user_string(), key.name)]
        assert ev.passed, (key, ev.metadata.get("failing_sample"))


def test_checks_count_exactly_what_the_manifest_injected(full_zone: tuple[Built, Results]) -> None:
    """Each day's evaluation counts that day's defects, and fails exactly when the count crosses
    the check's gate (its share of the day's rows and its minimum)."""
    built, results = full_zone
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for t in TABLE_NAMES:
        expected[(f"raw_{t}", "malformed_lines")] = {
            d.isoformat(): Counter(
                e["reason"] for e in built.manifest(d)["tables"][t]["quarantine"]
            )["malformed_line"]
            for d in built.days()
        }
        expected[(f"raw_{t}", "unexpected_columns")] = _defects_by_day(built, t, "extra_column")
    for t in ("products", "orders", "events"):
        expected[(f"stg_{t}", "unknown_values")] = _defects_by_day(built, t, "unknown_value")
    for t in ("users", "products", "orders", "events"):
        expected[(f"stg_{t}", "whitespace_case_repaired")] = _defects_by_day(
            built, t, "whitespace_case"
        )
    expected[("stg_users", "invalid_emails")] = _defects_by_day(built, "users", "invalid_email")
    expected[("stg_load_audit", "exact_duplicates_removed")] = {
        d.isoformat(): sum(
            _defects_by_day(built, t, "exact_duplicate")[d.isoformat()] for t in TABLE_NAMES
        )
        for d in built.days()
    }
    for fact, table in [("fact_orders", "orders"), ("fact_order_items", "order_items")]:
        expected[(fact, "orphan_references")] = _defects_by_day(built, table, "orphan_reference")
    for fact, table in [("fact_events", "events"), ("fact_reviews", "reviews")]:
        expected[(fact, "orphan_references")] = _defects_by_day(built, table, "orphan_reference")
    expected[("fact_orders", "order_amount_matches_lines")] = _defects_by_day(
        built, "orders", "inconsistent_total"
    )
    quarantine: dict[str, Counter] = {}
    for d in built.days():
        reasons = quarantine.setdefault(d.isoformat(), Counter())
        for info in built.manifest(d)["tables"].values():
            reasons.update(e["reason"] for e in info["quarantine"])
    expected[("stg_quarantine", "quarantined_rows")] = {
        d: sum(c.values()) for d, c in quarantine.items()
    }

    got = {key: results[key].per_day() for key in expected}
    assert got == expected
    # Every defect class occurred somewhere, so each check above was really tested.
    per_check: Counter = Counter()
    for (_, name), days in expected.items():
        per_check[name] += sum(days.values())
    assert all(per_check.values()), per_check
    assert results[("stg_quarantine", "quarantined_rows")].per_day("by_reason") == {
        d: dict(c) for d, c in quarantine.items() if c
    }
    events = results[("fact_events", "orphan_references")]
    assert events.per_day("orphan_user_id") == _defects_by_day(
        built, "events", "orphan_reference:user_id"
    )
    late = results[("stg_events", "late_arrivals_flagged")]
    late_days = {d: n for d, n in _defects_by_day(built, "events", "late_event").items() if n}
    assert late.passed and late.per_day("late_arrivals") == late_days
    graph = built.defs.resolve_asset_graph()
    failed_somewhere = 0
    for key in expected:
        spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(key[0]), key[1]))
        gate = Gate(spec.metadata["gate_share"], spec.metadata["gate_min_rows"])
        for e in results[key].evaluations:
            checked, failing = e.metadata["rows_checked"].value, e.metadata["rows_failing"].value
            assert e.passed == gate.passed(checked, failing), (key, e.partition)
            assert e.severity == dg.AssetCheckSeverity.WARN
            if failing:
                assert "|" in e.metadata["failing_sample"].value, key  # a markdown table
            failed_somewhere += not e.passed
    assert failed_somewhere, "some day crosses a gate (unexpected columns: any file fails)"


def test_gates_pass_handled_defects_below_their_share() -> None:
    gate = Gate(share=0.02, min_rows=5)
    assert gate.passed(100, 0) and gate.passed(100, 2) and gate.passed(1000, 20)
    assert gate.passed(10, 4)  # 40 %, but fewer than 5 rows: a quiet day's noise
    assert not gate.passed(1000, 21) and not gate.passed(100, 5)
    assert not Gate().passed(1_000_000, 1) and Gate().passed(10, 0)


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

    def buggy(spec, raw, *context):  # type: ignore[no-untyped-def]
        out = real(spec, raw, *context)
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
    assert checked_days(range_tags(first, last)) == CheckedDays(first, last)
    assert checked_days({"dagster/partition": "2024-01-05"}) == CheckedDays(
        date(2024, 1, 5), date(2024, 1, 5)
    )
    assert checked_days({}).is_all and checked_days({}).where() == "TRUE"
    assert CheckedDays(first, last).where("d") == (
        "CAST(d AS DATE) BETWEEN DATE '2024-01-03' AND DATE '2024-01-09'"
    )


def test_row_count_anomaly_compares_a_day_with_its_weekday() -> None:
    """Weekends at 1,300 rows and weekdays at 1,000 are both normal; the expected count is the
    median of the same weekday's last six weeks, the margin the larger of 4 Poisson spreads
    (4 × sqrt(1000) ≈ 126.5) and 20 % (200)."""
    start = date(2024, 1, 1)  # a Monday
    counts = {
        start + timedelta(days=i): 1300 if (start + timedelta(days=i)).weekday() >= 5 else 1000
        for i in range(70)
    }
    days = sorted(counts)
    judged, found = row_count_anomalies(counts, days)
    assert found == []
    # Judged from the day with 3 same-weekday weeks and 14 judged days before it.
    assert min(judged) == start + timedelta(days=35)
    monday = start + timedelta(days=63)
    assert judged[monday] == (1000.0, 800.0, 1200.0)
    counts[monday] = 700  # a 30 % drop
    _, found = row_count_anomalies(counts, days)
    assert [(a.day, a.rows, a.expected) for a in found] == [(monday, 700, 1000.0)]
    counts[monday] = 1299  # a weekend's volume on a Monday
    _, found = row_count_anomalies(counts, days)
    assert [a.day for a in found] == [monday]
    counts[monday] = 850  # -15 %: inside the 20 % floor
    assert row_count_anomalies(counts, days)[1] == []
    assert row_count_anomalies({start: 1, start + timedelta(1): 999}, [start + timedelta(1)]) == (
        {},
        [],
    )


def test_row_count_anomaly_widens_for_a_dispersed_table() -> None:
    """A table whose days vary ±30 % (sessions of events) does not raise on a 30 % swing."""
    start = date(2024, 1, 1)
    swing = [1.0, 1.3, 0.75, 1.1, 0.8, 1.25, 0.9]
    counts = {start + timedelta(days=i): int(2000 * swing[i % 5]) for i in range(84)}
    judged, found = row_count_anomalies(counts, sorted(counts))
    assert judged and found == []


def test_quality_score_drop_of_ten_percent_warns() -> None:
    d = [date(2024, 1, i) for i in range(1, 5)]
    scores = [(d[0], 99.0), (d[1], 90.0), (d[2], 80.0), (d[3], 72.0)]
    assert score_drops(scores, d) == [(d[2], 90.0, 80.0), (d[3], 80.0, 72.0)]
    assert score_drops(scores, d[:2]) == []
