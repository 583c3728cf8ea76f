"""A bad delivery costs one day, never the year; what the contract allows never fails a run.

- A range run whose middle day has a broken file (a required column missing, a gzip file named
  ``.csv``): the other days load and their facts and aggregates are built; the broken day writes
  nothing and is named (file, line, column) by its ERROR check, in the run's log and in the alert
  the check-failure sensor sends; re-delivered fixed, a run of that day alone completes it.
- Rows the contract allows (rows re-sent by an at-least-once source, identical or changed; a late
  user version; a line sold below cost) end as the contract says and no blocking check fails.
- A delivery whose ``_SUCCESS`` changes while the run reads it writes nothing of the table.
"""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

import ecommerce_assets.assets.raw as raw_assets
from ecommerce_assets.automation import ALERT_SENSORS
from ecommerce_assets.automation.alerts import read_alerts
from ecommerce_assets.generate import generate_landing_zone
from ecommerce_assets.resources import WAREHOUSE, Warehouse
from ecommerce_assets.runner import materialize_days

from .conftest import START, Built, definitions, make_built

D1, D2, D3 = START, START + timedelta(days=1), START + timedelta(days=2)
SEED, SCALE = 17, 0.05


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> None:
    """The file rewritten whole (one kind of line end throughout, as the contract requires)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns or list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _drop_column(path: Path, column: str) -> None:
    rows = _rows(path)
    _write(path, rows, [c for c in rows[0] if c != column])


def _per_day(built: Built, table: str) -> dict:
    return dict(built.query(f"SELECT delivery_date, count(*) FROM {table} GROUP BY 1"))


def test_a_broken_day_costs_that_day_alone_and_a_fixed_redelivery_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = make_built(tmp_path, days=3, scale=SCALE, seed=SEED, clean=True)
    pristine = tmp_path / "pristine"
    shutil.copytree(built.landing / D2.isoformat(), pristine)
    _drop_column(built.landing / D2.isoformat() / "orders.csv", "order_ts")
    log = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("ECOMMERCE_ALERT_LOG", str(log))
    with dg.instance_for_test() as instance:
        result = materialize_days(built.defs, D1, D3, instance=instance, raise_on_error=False)
        assert result.success  # the run goes on: one day is refused, not the range

        # Days 1 and 3 are in every layer; day 2 in none (nothing of it was written).
        for table in ("raw.raw_orders", "staging.stg_orders", "marts.fact_orders"):
            assert sorted(_per_day(built, table)) == [D1, D3], table
        sales = built.query("SELECT business_date FROM marts.agg_daily_sales ORDER BY 1")
        assert (D1,) in sales and (D3,) in sales
        assert built.query("SELECT count(*) FROM raw.raw_users WHERE delivery_date = ?", [D2]) == [
            (0,)
        ]
        # Named: the day's ERROR check, the run's log, the alert.
        evaluations = {
            e.partition: e
            for e in result.get_asset_check_evaluations()
            if e.check_name == "delivery_accepted"
        }
        assert [p for p, e in sorted(evaluations.items()) if not e.passed] == [D2.isoformat()]
        refused = evaluations[D2.isoformat()]
        assert refused.severity == dg.AssetCheckSeverity.ERROR
        why = f"{D2}/orders.csv, line 1: required column 'order_ts' is missing"
        assert why in refused.metadata["delivery"].value
        logged = [r.user_message for r in instance.all_logs(result.run_id) if r.level >= 40]
        assert any(why in m for m in logged), logged
        _, check_failure = ALERT_SENSORS
        success = next(e for e in result.all_events if e.event_type_value == "PIPELINE_SUCCESS")
        with dg.build_run_status_sensor_context(
            sensor_name=check_failure.name,
            dagster_event=success,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={WAREHOUSE: Warehouse(database=str(built.warehouse))},
        ) as context:
            check_failure(context)
        (alert,) = read_alerts(log)
        assert alert["check_name"] == "delivery_accepted" and alert["partition"] == str(D2)
        assert why in alert["details"]["delivery"]

        # Re-delivered fixed: a run of day 2 alone completes it.
        shutil.rmtree(built.landing / D2.isoformat())
        shutil.copytree(pristine, built.landing / D2.isoformat())
        assert materialize_days(built.defs, D2, D2, instance=instance).success
        staged = built.manifest(D2)["tables"]["orders"]["staged"]
        assert _per_day(built, "staging.stg_orders")[D2] == staged
        assert _per_day(built, "marts.fact_orders")[D2] == staged


def test_a_compressed_file_named_csv_refuses_its_day_and_a_later_day_loads(
    tmp_path: Path,
) -> None:
    built = make_built(tmp_path, days=3, scale=SCALE, seed=SEED, clean=True)
    events = built.landing / D3.isoformat() / "events.csv"
    events.write_bytes(gzip.compress(events.read_bytes()))
    result = materialize_days(built.defs, D1, D3, selection="group:raw", raise_on_error=False)
    assert result.success
    (refused,) = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "delivery_accepted" and not e.passed
    ]  # fmt: skip
    assert refused.partition == D3.isoformat()
    assert f"{D3}/events.csv, line 1, column 1: the file is gzip-compressed" in (
        refused.metadata["delivery"].value
    )
    assert sorted(_per_day(built, "raw.raw_events")) == [D1, D2]


def test_rows_the_contract_allows_never_fail_a_run(tmp_path: Path) -> None:
    """Re-sent rows (identical and changed) in later deliveries, a late user version and a line
    sold below cost: staged, de-duplicated and quarantined exactly as the manifest and the
    contract say, and every blocking check passes."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    generate_landing_zone(
        landing, seed=SEED, scale=1.0, start=START, days=3,
        rates={"resent_identical": 0.03, "resent_changed": 0.03},
    )  # fmt: skip
    # A late change: user 1's new city, true since before its delivery day (and the first day).
    users = _rows(landing / D3.isoformat() / "users.csv")
    late = {**users[0], "user_id": "1", "city": "Late City", "updated_at": "2023-12-31 23:00:00"}
    _write(landing / D3.isoformat() / "users.csv", [*users, late])
    # A clearance sale: a line priced at one cent.
    lines = _rows(landing / D3.isoformat() / "order_items.csv")
    lines[0]["unit_price"] = "0.01"
    _write(landing / D3.isoformat() / "order_items.csv", lines)

    defs = definitions(landing, warehouse)
    result = materialize_days(defs, D1, D3, raise_on_error=False)
    assert result.success
    errors = [
        (e.asset_key.to_user_string(), e.check_name, e.partition)
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert errors == []
    built = Built(landing, warehouse, defs, D1, D3)
    resent = 0
    for day in (D2, D3):
        manifest = built.manifest(day)["tables"]
        for table in ("events", "reviews"):
            info = manifest[table]
            resent += len(info.get("resent", []))
            got = built.query(
                "SELECT staged_rows, exact_duplicates FROM staging.stg_load_audit "
                "WHERE table_name = ? AND delivery_date = ?",
                [table, day],
            )
            duplicates = info["rows"] - info["staged"] - len(info["quarantine"])
            assert got == [(info["staged"], duplicates)], (table, day)
            quarantined = built.query(
                "SELECT line_number, reason FROM staging.stg_quarantine "
                "WHERE table_name = ? AND delivery_date = ? ORDER BY 1",
                [table, day],
            )
            assert quarantined == sorted((q["line"], q["reason"]) for q in info["quarantine"]), (
                table,
                day,
            )
    assert resent > 0  # the zone holds re-sent rows: the assertions above are not vacuous
    assert built.query("SELECT count(*) FROM marts.dim_users WHERE city = 'Late City'") == [(1,)]
    below = [e for e in result.get_asset_check_evaluations() if e.check_name == "sold_below_cost"]
    assert [(e.partition, e.passed, e.severity) for e in below if not e.passed] == [
        (D3.isoformat(), False, dg.AssetCheckSeverity.WARN)
    ]


def test_a_delivery_rewritten_while_it_is_read_writes_nothing_of_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = make_built(tmp_path, days=2, scale=SCALE, seed=SEED, clean=True)
    assert materialize_days(built.defs, D1, D2, selection="group:raw").success
    before = _per_day(built, "raw.raw_orders")
    real = raw_assets.read_raw

    def racing(landing, spec, days, *args, **kwargs):  # type: ignore[no-untyped-def]
        frame = real(landing, spec, days, *args, **kwargs)
        if spec.name == "orders":  # the source starts re-delivering day 2 mid-read
            (landing / D2.isoformat() / "_SUCCESS").unlink()
        return frame

    monkeypatch.setattr(raw_assets, "read_raw", racing)
    result = materialize_days(built.defs, D1, D2, selection="group:raw", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    assert f"{D2}/_SUCCESS was removed while the run read the delivery of {D2}" in error.message
    assert _per_day(built, "raw.raw_orders") == before  # nothing of the table written
