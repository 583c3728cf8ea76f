"""Every kind of asset check caught failing on exactly the defect it exists for.

A clean three-day landing zone is built once; each case copies that warehouse and landing zone,
plants one defect, re-runs the check's asset with its checks and the assets one step downstream
for the last two days, and asserts: the check fails on the planted day only (per-day checks),
with its severity, the planted count as ``rows_failing`` and the planted row in
``failing_sample``; a blocking check stops every downstream asset of the run, a warning stops
none. Defects go where they arise: in a delivery file (what the source sends wrong, which the
platform handles and counts) or in the table right after its asset wrote it (what a buggy
transform would write, which only a check can stop: ``_plant_after_writes``). The cases
(``CASES``) are in ``check_cases``, the helpers planting their defects in ``check_plants``.

``test_every_check_kind_has_a_case`` fails when a check kind of the Definitions (a check name
in one layer's step) has no row below. Kinds, their case and the defect planted:

| layer | check | case (test id) | defect planted on the last day |
|---|---|---|---|
| raw | delivery_accepted | raw_deliveries.delivery_accepted | orders.csv without order_ts |
| raw | arrived_by_deadline | test_a_late_delivery_fails_arrived_by_deadline | a day missing |
| raw | malformed_lines | raw_events.malformed_lines | 10 lines with a missing field |
| raw | unexpected_columns | raw_orders.unexpected_columns | a column the contract lacks |
| raw | row_count_anomaly | raw_orders.row_count_anomaly | 14 weeks of 200 orders/day, then ~50 |
| raw | delivery_freshness | raw_orders.delivery_freshness | a newer delivery not loaded |
| raw | column_schema_change | test_column_schema_change_warns | a column dropped between loads |
| staging | key_not_null_unique | stg_orders.key_not_null_unique | an order staged twice |
| staging | numbers_in_range | stg_orders.numbers_in_range | a negative shipping amount |
| staging | dates_in_range | stg_orders.dates_in_range | an order dated two days later |
| staging | accepted_values | stg_orders.accepted_values | a status the contract lacks |
| staging | unknown_values | stg_orders.unknown_values | 5 payment methods unknown |
| staging | whitespace_case_repaired | stg_events.whitespace_case_repaired | 20 types padded |
| staging | invalid_emails | stg_users.invalid_emails | 5 e-mails without an @ |
| staging | order_in_same_delivery | stg_order_items.order_in_same_delivery | a line's order gone |
| staging | late_arrivals_flagged | stg_events.late_arrivals_flagged | a same-day event as late |
| staging | quarantined_rows | stg_quarantine.quarantined_rows | 40 events without an id |
| staging | malformed_record_lines | stg_quarantine.malformed_record_lines | a quote open 7 lines |
| staging | rows_conserved | stg_load_audit.rows_conserved | a staged order lost |
| staging | rows_conserved | stg_load_audit.rows_conserved[audit] | the audit's raw count off |
| staging | exact_duplicates_removed | stg_load_audit.exact_duplicates_removed | 20 lines twice |
| dimensions | key_not_null_unique | dim_users.key_not_null_unique | a version written twice |
| dimensions | scd2_versions_valid | dim_users.scd2_versions_valid | a version valid for no time |
| dimensions | unknown_member_present | dim_users.unknown_member_present | the unknown member lost |
| dimensions | accepted_values | dim_products.accepted_values | a category the contract lacks |
| dimensions | numbers_in_range | dim_products.numbers_in_range | cost equal to price |
| facts | key_not_null_unique | fact_orders.key_not_null_unique | an order written twice |
| facts | foreign_keys_resolve | fact_orders.foreign_keys_resolve | a user key no dimension has |
| facts | orphan_references | fact_orders.orphan_references | 5 orders of unknown users |
| facts | numbers_in_range | fact_reviews.numbers_in_range | a rating of 6 |
| facts | dates_in_range | fact_events.dates_in_range | event_date a day off its timestamp |
| facts | order_amount_matches_lines | fact_orders.order_amount_matches_lines | 5 totals +10.00 |
| facts | net_equals_lines | fact_orders.net_equals_lines | a net one cent off its lines |
| facts | line_net_exact | fact_order_items.line_net_exact | a line net one cent off |
| facts | foreign_keys_resolve | fact_order_items.foreign_keys_resolve | a line's order gone |
| facts | sold_below_cost | fact_order_items.sold_below_cost | a line sold for 0.01 |
| aggregates | quality_thresholds | data_quality_report.quality_thresholds | completeness 0.5 |
| aggregates | quality_score_drop | data_quality_report.quality_score_drop | a score 20 % down |
"""

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ecommerce_assets.arrival import DeliveryCalendar
from ecommerce_assets.automation import build_deadline_sensor
from ecommerce_assets.io_manager import DuckDBWarehouseIOManager
from ecommerce_assets.partitions import calendar_partitions
from ecommerce_assets.resources import LANDING, WAREHOUSE, LandingZone, Warehouse
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.warehouse import connect

from .check_cases import CASES, Case
from .check_plants import D1, D2, D3, Plant, run_sql, twice
from .conftest import Built, definitions, make_built, project_instance


# --------------------------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Three clean days at scale 1 (~50 orders, ~200 events a day), every asset built."""
    built = make_built(tmp_path_factory.mktemp("kinds"), days=3, scale=1, seed=11, clean=True)
    assert materialize_days(built.defs, D1, D3).success
    return built


def _copy(base: Built, root: Path) -> tuple[Path, Path]:
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    shutil.copytree(base.landing, landing)
    shutil.copy(base.warehouse, warehouse)
    return landing, warehouse


def _plant_after_writes(monkeypatch: pytest.MonkeyPatch, plants: dict[str, Plant]) -> None:
    """Run ``plants[asset]`` on the warehouse right after the I/O manager wrote ``asset``, as a
    buggy transform's output would arrive: the checks and downstream steps see it."""
    real = DuckDBWarehouseIOManager.handle_output

    def handle_output(self: DuckDBWarehouseIOManager, context: dg.OutputContext, obj: object):
        real(self, context, obj)  # type: ignore[arg-type]
        plant = plants.get(context.asset_key.to_user_string())
        if plant is not None:
            with connect(self.database) as con:
                plant(con)

    monkeypatch.setattr(DuckDBWarehouseIOManager, "handle_output", handle_output)


def _evaluations(result: dg.ExecuteInProcessResult, key: dg.AssetCheckKey) -> list:
    return [e for e in result.get_asset_check_evaluations() if e.asset_check_key == key]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_check_fails_on_its_planted_defect(
    case: Case, base: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing, warehouse = _copy(base, tmp_path)
    if case.landing is not None:
        case.landing(landing)
    _plant_after_writes(monkeypatch, case.after)
    defs = definitions(landing, warehouse)
    graph = defs.resolve_asset_graph()
    key = dg.AssetCheckKey(dg.AssetKey(case.asset), case.check)
    spec = graph.get_check_spec(key)
    selection = [f"key:{case.asset}+", *(f"key:{asset}" for asset in case.after)]
    if case.landing is not None:  # the delivery re-read and re-staged
        selection += ["group:raw", "group:staging"]
    result = materialize_days(defs, *case.days, selection=selection, raise_on_error=False)

    evaluations = _evaluations(result, key)
    if spec.partitions_def is not None:  # one result per day: the planted day's fails alone
        by_day = {e.partition: e for e in evaluations}
        first, last = case.days
        days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        assert sorted(by_day) == days
        planted = by_day.pop(last.isoformat())
        for other in by_day.values():
            assert other.passed and other.metadata["rows_failing"].value == 0, other.partition
    else:
        (planted,) = evaluations
    assert not planted.passed
    assert planted.severity == (
        dg.AssetCheckSeverity.ERROR if spec.blocking or case.error else dg.AssetCheckSeverity.WARN
    )
    assert planted.metadata["rows_failing"].value == case.failing
    assert case.sample in planted.metadata["failing_sample"].value
    for name, value in case.metadata.items():
        assert planted.metadata[name].value == value, name

    children = {c.to_user_string() for c in graph.get(key.asset_key).child_keys}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    if spec.blocking:  # a blocking failure stops everything downstream in the run
        assert not result.success
        assert case.asset in materialized or case.after
        assert materialized & children == set()
    else:  # a warning stops nothing
        assert result.success
        assert children <= materialized


def test_column_schema_change_warns(base: Built, tmp_path: Path) -> None:
    """Dagster's schema-change check compares the table's two latest materializations: a load
    whose table lost a column (as a changed contract would write) warns, naming the column."""
    landing, warehouse = _copy(base, tmp_path)
    defs = definitions(landing, warehouse)
    key = dg.AssetCheckKey(dg.AssetKey("raw_orders"), "column_schema_change")
    with dg.DagsterInstance.ephemeral() as instance:
        first = materialize_days(defs, D3, D3, instance=instance, selection="key:raw_orders")
        (unchanged,) = _evaluations(first, key)
        assert unchanged.passed
        (written,) = [
            e.materialization
            for e in first.get_asset_materialization_events()
            if e.asset_key == key.asset_key
        ]
        schema = written.metadata["dagster/column_schema"].value
        dropped = schema.columns[1]
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "raw_orders",
                partition=D3.isoformat(),
                metadata={
                    "dagster/column_schema": dg.TableSchema(
                        [c for c in schema.columns if c.name != dropped.name]
                    )
                },
            )
        )
        again = materialize_days(
            defs, D3, D3, instance=instance, selection=dg.AssetSelection.checks(key)
        )
    (changed,) = _evaluations(again, key)
    assert not changed.passed and changed.severity == dg.AssetCheckSeverity.WARN
    assert f"Removed columns: {dropped.name}" in (changed.description or "")


def test_a_late_delivery_fails_arrived_by_deadline(
    base: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day after the zone's last is due by 06:00 UTC the day after it. At 07:00 it has not
    arrived: the deadline sensor records a failed evaluation on that day's partition and one
    alert (ticking again adds neither). The delivery lands: the next tick says so, and the run
    that loads the day evaluates the check again, passing (the flag clears)."""
    landing, warehouse = _copy(base, tmp_path)
    late = D3 + timedelta(days=1)
    clock = datetime(late.year, late.month, late.day, 7, tzinfo=UTC) + timedelta(days=1)
    log = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("ECOMMERCE_ALERT_LOG", str(log))
    resources = {
        LANDING: LandingZone(path=str(landing)),
        WAREHOUSE: Warehouse(database=str(warehouse)),
    }
    sensor = build_deadline_sensor(calendar_partitions(D1), DeliveryCalendar(), now=lambda: clock)
    key = dg.AssetCheckKey(dg.AssetKey("raw_deliveries"), "arrived_by_deadline")
    with project_instance(tmp_path, monkeypatch, batch_size=100) as instance:

        def tick(cursor: str | None) -> tuple[str | None, str]:
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=resources
            ) as context:
                message = sensor(context).skip_message
                return context.cursor, message

        def status() -> list[tuple[str | None, str]]:
            infos = instance.event_log_storage.get_asset_check_partition_info([key])
            return [(i.partition_key, i.latest_execution_status.value) for i in infos]

        cursor, message = tick(None)
        assert f"1 late delivery: {late}" in message and "newly late, alerted" in message
        assert status() == [(late.isoformat(), "FAILED")]
        cursor, message = tick(cursor)
        assert "newly late" not in message
        assert tick(None)[1].startswith("1 late delivery")  # a lost cursor: no second result
        (alert,) = [json.loads(line) for line in log.read_text().splitlines()[:1]]
        assert alert["kind"] == "late_delivery" and alert["details"]["days"] == [str(late)]
        assert alert["check_name"] == "arrived_by_deadline" and alert["partition"] == str(late)

        shutil.copytree(landing / D3.isoformat(), landing / late.isoformat())
        _, message = tick(cursor)
        assert f"arrived (its run clears the flag): {late}" in message
        defs = definitions(landing, warehouse)
        assert materialize_days(defs, late, late, instance=instance, selection="group:raw").success
        assert status() == [(late.isoformat(), "SUCCEEDED")]


def test_every_check_kind_has_a_case(base: Built) -> None:
    """Each (layer, check name) of the Definitions has a row in the module docstring's table,
    and each row names a case or test of this module that exists."""
    rows = re.findall(r"^\| (\w+) \| (\w+) \| ([\w.\[\]]+) \|", __doc__ or "", re.M)
    graph = base.defs.resolve_asset_graph()
    kinds = {(graph.get(k.asset_key).group_name, k.name) for k in graph.asset_check_keys}
    assert {(layer, name) for layer, name, _ in rows} == kinds
    tests = {c.id for c in CASES} | {n for n in globals() if n.startswith("test_")}
    assert {test for _, _, test in rows} <= tests
    for layer, name, test in rows:  # a case is the check it names
        if "." in test:
            assert (
                test.split(".")[1].split("[")[0] == name
                and graph.get(dg.AssetKey(test.split(".")[0])).group_name == layer
            ), test


def test_a_failed_blocking_check_holds_its_readers_back_in_later_runs(
    base: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A UI backfill of every layer runs staging, then the facts, in separate runs: a staged day
    that failed a blocking check in the first is refused by the second (named in the failure),
    and served again once the day is re-staged and passes."""
    landing, warehouse = _copy(base, tmp_path)
    defs = definitions(landing, warehouse)
    with project_instance(tmp_path, monkeypatch, batch_size=100) as instance:
        with monkeypatch.context() as planted:
            _plant_after_writes(planted, {"stg_orders": run_sql(twice("staging.stg_orders"))})
            staged = materialize_days(
                defs, D2, D3, instance=instance, selection="key:stg_orders", raise_on_error=False
            )
        assert not staged.success  # the blocking check failed on D3, in its own run
        facts = materialize_days(
            defs, D2, D3, instance=instance, selection="key:fact_orders", raise_on_error=False
        )
        assert not facts.success
        assert facts.get_asset_materialization_events() == []
        (failure,) = [e for e in facts.all_events if e.is_step_failure]
        message = failure.step_failure_data.user_failure_data.description
        assert f"stg_orders failed blocking checks (key_not_null_unique on {D3})" in message
        # A run that checks stg_orders itself is Dagster's to judge: here it passes again.
        assert materialize_days(defs, D3, D3, instance=instance, selection="key:stg_orders").success
        again = materialize_days(defs, D2, D3, instance=instance, selection="key:fact_orders")
        assert again.success
