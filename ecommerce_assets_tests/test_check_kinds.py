"""Every kind of asset check caught failing on exactly the defect it exists for.

A clean three-day landing zone is built once; each case copies that warehouse and landing zone,
plants one defect, re-runs the check's asset with its checks and the assets one step downstream
for the last two days, and asserts: the check fails on the planted day only (per-day checks),
with its severity, the planted count as ``rows_failing`` and the planted row in
``failing_sample``; a blocking check stops every downstream asset of the run, a warning stops
none. Defects go where they arise: in a delivery file (what the source sends wrong, which the
platform handles and counts) or in the table right after its asset wrote it (what a buggy
transform would write, which only a check can stop: ``_plant_after_writes``).

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

import csv
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ecommerce_assets.arrival import DeliveryCalendar
from ecommerce_assets.automation import build_deadline_sensor
from ecommerce_assets.io_manager import DuckDBWarehouseIOManager
from ecommerce_assets.partitions import calendar_partitions
from ecommerce_assets.resources import LANDING, WAREHOUSE, LandingZone, Warehouse
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.warehouse import connect

from .conftest import START, Built, definitions, make_built, project_instance

D1, D2, D3 = START, START + timedelta(days=1), START + timedelta(days=2)
Plant = Callable[[duckdb.DuckDBPyConnection], object]


# --------------------------------------------------------------------------------------------
# Planting defects
# --------------------------------------------------------------------------------------------
def _edit_csv(landing: Path, file: str, edit: Callable[[list[dict[str, str]]], None]) -> Path:
    """Rewrite the last day's ``file`` after ``edit`` changed its rows (header order kept)."""
    path = landing / D3.isoformat() / file
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames or []), list(reader)
    edit(rows)
    for row in rows:
        header += [c for c in row if c not in header]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _each(n: int, **values: Callable[[str], str] | str) -> Callable[[list[dict[str, str]]], None]:
    """An edit setting ``values`` (a constant, or a function of the old value) on ``n`` rows."""

    def edit(rows: list[dict[str, str]]) -> None:
        assert len(rows) > n, "the day has too few rows for this plant"
        for row in rows[:n]:
            for column, value in values.items():
                row[column] = value(row[column]) if callable(value) else value

    return edit


def _append_lines(file: str, lines: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def plant(landing: Path) -> None:
        path = landing / D3.isoformat() / file
        text = path.read_text(encoding="utf-8-sig")
        body = text.splitlines()
        path.write_text(text + "".join(line + "\n" for line in lines(body[1:])), "utf-8")

    return plant


def _one(table: str, where: str = "TRUE", day: date = D3) -> str:
    """A predicate picking one row of ``table`` on ``day`` (by DuckDB's rowid)."""
    return (
        f"rowid = (SELECT min(rowid) FROM {table} "
        f"WHERE CAST(delivery_date AS DATE) = DATE '{day}' AND {where})"
    )


def _sql(*statements: str) -> Plant:
    def plant(con: duckdb.DuckDBPyConnection) -> None:
        for statement in statements:
            con.execute(statement)

    return plant


def _order_history(con: duckdb.DuckDBPyConnection) -> None:
    """Fourteen weeks of 200 orders a day before the first delivery, and the second day
    topped up to 200: the last day's ~50 orders are a 75 % drop against its weekday."""
    one = "(SELECT * FROM raw.raw_orders WHERE CAST(delivery_date AS DATE) = DATE '{d}' LIMIT 1)"
    con.execute(
        f"INSERT INTO raw.raw_orders SELECT o.* REPLACE (CAST(days.day AS DATE) AS delivery_date) "
        f"FROM {one.format(d=D1)} AS o, "
        f"range(DATE '{D1 - timedelta(weeks=14)}', DATE '{D1}', INTERVAL 1 DAY) AS days(day), "
        f"range(200) AS copies(i)"
    )
    (have,) = con.execute(
        f"SELECT count(*) FROM raw.raw_orders WHERE CAST(delivery_date AS DATE) = DATE '{D2}'"
    ).fetchone()
    con.execute(
        f"INSERT INTO raw.raw_orders SELECT o.* FROM {one.format(d=D2)} AS o, "
        f"range({200 - have}) AS copies(i)"
    )


@dataclass(frozen=True)
class Case:
    """One check kind, the defect planted for it, and what the check must report."""

    asset: str
    check: str
    failing: int  # rows_failing on the planted day (or of the run, for per-run checks)
    sample: str  # text the failing sample must contain (from the planted row)
    after: dict[str, Plant] = field(default_factory=dict)  # asset -> SQL after it is written
    landing: Callable[[Path], object] | None = None  # edits of the last day's delivery
    days: tuple[date, date] = (D2, D3)
    metadata: dict[str, object] = field(default_factory=dict)  # further exact metadata
    error: bool = False  # severity ERROR without blocking (a refused delivery)
    variant: str = ""  # a second case of the same check (another of its clauses)

    @property
    def id(self) -> str:
        return f"{self.asset}.{self.check}" + (f"[{self.variant}]" if self.variant else "")


def _update(table: str, assignment: str, where: str = "TRUE") -> str:
    """One row of ``table`` changed (on the last day, for a partitioned table)."""
    return f"UPDATE {table} SET {assignment} WHERE {_one(table, where)}"


def _twice(table: str) -> str:
    """One row of ``table`` on the last day written a second time."""
    return f"INSERT INTO {table} SELECT * FROM {table} WHERE {_one(table)}"


def _version(table: str, sk: str) -> str:
    """A predicate picking one real version of a dimension (not its unknown member)."""
    return f"{sk} = (SELECT min({sk}) FROM {table} WHERE {sk} <> 0)"


def _written(asset: str, check: str, failing: int, sample: str, plant: str | Plant, **kw) -> Case:
    """A defect written into ``asset``'s table right after the asset wrote it."""
    sql = _sql(plant) if isinstance(plant, str) else plant
    return Case(asset, check, failing, sample, after={asset: sql}, **kw)


def _delivered(
    asset: str, check: str, failing: int, sample: str, plant: Callable[[Path], object], **kw
) -> Case:
    """A defect in the last day's delivery."""
    return Case(asset, check, failing, sample, landing=plant, **kw)


def _csv(file: str, n: int, **values: Callable[[str], str] | str) -> Callable[[Path], object]:
    return lambda landing: _edit_csv(landing, file, _each(n, **values))


def _unknown_user(landing: Path) -> None:
    """Five orders of a well-formed user id that no delivery ever had."""
    known = [
        int(row["user_id"])
        for path in landing.glob("*/users.csv")
        for row in csv.DictReader(path.open(encoding="utf-8-sig"))
    ]
    _edit_csv(landing, "orders.csv", _each(5, user_id=str(max(known) + 100_000)))


LATER = D3 + timedelta(days=2)
DQR = "marts.data_quality_report"
EVENTS_D3 = f"table_name = 'events' AND CAST(delivery_date AS DATE) = DATE '{D3}'"


def _drop_column(file: str, column: str) -> Callable[[Path], None]:
    """The last day's ``file`` delivered without ``column`` (a broken header)."""

    def plant(landing: Path) -> None:
        path = landing / D3.isoformat() / file
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, [c for c in rows[0] if c != column], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return plant


ONE_LINE_ORDER = (
    "SELECT order_id FROM marts.fact_order_items "
    f"WHERE CAST(delivery_date AS DATE) = DATE '{D3}' GROUP BY order_id HAVING count(*) = 1 "
    "ORDER BY order_id LIMIT 1"
)
CASES = [
    # raw: what the delivery holds
    _delivered(
        "raw_deliveries",
        "delivery_accepted",
        1,
        "order_ts",
        _drop_column("orders.csv", "order_ts"),
        error=True,
    ),
    _delivered(
        "raw_events",
        "malformed_lines",
        10,
        "events.csv",
        _append_lines("events.csv", lambda rows: [r.rsplit(",", 1)[0] for r in rows[:10]]),
    ),
    _delivered(
        "raw_orders",
        "unexpected_columns",
        1,
        "loyalty_tier",
        _csv("orders.csv", 3, loyalty_tier="gold"),
    ),
    _written("raw_orders", "row_count_anomaly", 1, "200", _order_history),
    Case("raw_orders", "delivery_freshness", 1, str(D2), days=(D2, D2), metadata={"lag_days": 1}),
    # staging: a buggy transform's output ...
    _written("stg_orders", "key_not_null_unique", 2, "|", _twice("staging.stg_orders")),
    _written(
        "stg_orders",
        "numbers_in_range",
        1,
        "-1.00",
        _update("staging.stg_orders", "shipping_amount = -1"),
    ),
    _written(
        "stg_orders",
        "dates_in_range",
        1,
        str(LATER),
        _update("staging.stg_orders", f"order_ts = DATE '{LATER}' + INTERVAL 9 HOUR"),
    ),
    _written(
        "stg_orders",
        "accepted_values",
        1,
        "teleported",
        _update("staging.stg_orders", "status = 'teleported'"),
    ),
    _written(
        "stg_order_items",
        "order_in_same_delivery",
        1,
        "-7",
        _update("staging.stg_order_items", "order_id = -7"),
    ),
    _written(
        "stg_events",
        "late_arrivals_flagged",
        1,
        "True",
        _update("staging.stg_events", "is_late_arrival = TRUE", "NOT is_late_arrival"),
    ),
    _written(
        "stg_load_audit",
        "rows_conserved",
        1,
        "orders",
        f"DELETE FROM staging.stg_orders WHERE {_one('staging.stg_orders')}",
    ),
    _written(  # the audit balances in itself, but its raw count is not the raw table's
        "stg_load_audit",
        "rows_conserved",
        1,
        "orders",
        "UPDATE staging.stg_load_audit SET raw_rows = raw_rows + 1, "
        "exact_duplicates = exact_duplicates + 1 "
        f"WHERE table_name = 'orders' AND CAST(delivery_date AS DATE) = DATE '{D3}'",
        variant="audit",
    ),
    # ... and what the source sent, handled and counted
    _delivered(
        "stg_orders",
        "unknown_values",
        5,
        "unknown",
        _csv("orders.csv", 5, payment_method="crypto"),
        metadata={"unknown_payment_method": 5, "unknown_status": 0},
    ),
    _delivered(
        "stg_events",
        "whitespace_case_repaired",
        20,
        "20",
        _csv("events.csv", 20, event_type=lambda v: f"  {v.upper()} "),
    ),
    _delivered(
        "stg_users",
        "invalid_emails",
        5,
        "5",
        _csv("users.csv", 5, email="no-at-sign.example.com"),
        metadata={"emails_set_null": 5, "invalid_emails_kept": 0},
    ),
    _delivered(
        "stg_quarantine",
        "quarantined_rows",
        40,
        "null_key",
        _csv("events.csv", 40, event_id=""),
        metadata={"by_reason": {"null_key": 40}},
    ),
    _delivered(  # a quote never closed: seven lines of text that are no records of their own
        "stg_quarantine",
        "malformed_record_lines",
        1,
        "record spans lines",
        _append_lines(
            "events.csv",
            lambda rows: [
                '999999,s,1,page_view,,"a quote never closed',
                *(f"text {i}" for i in range(6)),
            ],
        ),
        error=True,
    ),
    _delivered(
        "stg_load_audit",
        "exact_duplicates_removed",
        20,
        "20",
        _append_lines("events.csv", lambda rows: rows[:20]),
    ),
    # dimensions (checked whole, one result per run)
    _written(
        "dim_users",
        "key_not_null_unique",
        2,
        "|",
        "INSERT INTO marts.dim_users SELECT * FROM marts.dim_users "
        f"WHERE {_version('marts.dim_users', 'user_sk')}",
    ),
    _written(
        "dim_users",
        "scd2_versions_valid",
        1,
        "|",
        "UPDATE marts.dim_users SET valid_to = valid_from "
        f"WHERE {_version('marts.dim_users', 'user_sk')}",
    ),
    _written(
        "dim_users",
        "unknown_member_present",
        1,
        "_no failing rows_",
        "DELETE FROM marts.dim_users WHERE user_sk = 0",
        metadata={"unknown_members": 0},
    ),
    _written(
        "dim_products",
        "accepted_values",
        1,
        "teleporters",
        "UPDATE marts.dim_products SET category = 'teleporters' "
        f"WHERE {_version('marts.dim_products', 'product_sk')}",
    ),
    _written(
        "dim_products",
        "numbers_in_range",
        1,
        "|",
        "UPDATE marts.dim_products SET cost = price "
        f"WHERE {_version('marts.dim_products', 'product_sk')}",
    ),
    # facts
    _written("fact_orders", "key_not_null_unique", 2, "|", _twice("marts.fact_orders")),
    _written(
        "fact_orders",
        "foreign_keys_resolve",
        1,
        "987654",
        _update("marts.fact_orders", "user_sk = 987654"),
    ),
    _delivered(
        "fact_orders", "orphan_references", 5, "|", _unknown_user, metadata={"orphan_user_id": 5}
    ),
    _written(
        "fact_reviews", "numbers_in_range", 1, "| 6 |", _update("marts.fact_reviews", "rating = 6")
    ),
    _written(
        "fact_events",
        "dates_in_range",
        1,
        "|",
        _update("marts.fact_events", "event_date = event_date + 1"),
    ),
    _delivered(
        "fact_orders",
        "order_amount_matches_lines",
        5,
        "|",
        _csv("orders.csv", 5, order_amount=lambda v: f"{float(v) + 10:.2f}"),
        metadata={"flagged_is_amount_mismatch": 5},
    ),
    _written(
        "fact_orders", "net_equals_lines", 1, "|", _update("marts.fact_orders", "net = net + 0.01")
    ),
    _written(
        "fact_order_items",
        "line_net_exact",
        1,
        "|",
        _update("marts.fact_order_items", "line_net = line_net + 0.01"),
    ),
    _written(  # an order line whose order is missing from fact_orders of its delivery
        "fact_order_items",
        "foreign_keys_resolve",
        1,
        "|",
        f"DELETE FROM marts.fact_orders WHERE order_id = ({ONE_LINE_ORDER})",
    ),
    _delivered(
        "fact_order_items",
        "sold_below_cost",
        1,
        "0.01",
        _csv("order_items.csv", 1, unit_price="0.01"),
    ),
    # the data-quality report
    _written(
        "data_quality_report",
        "quality_thresholds",
        1,
        "0.5",
        f"UPDATE {DQR} SET completeness = 0.5 WHERE {EVENTS_D3}",
        metadata={"below_completeness": 1, "below_validity": 0, "below_accuracy": 0},
    ),
    _written(
        "data_quality_report",
        "quality_score_drop",
        1,
        "80",
        f"UPDATE {DQR} SET quality_score = 80 WHERE {EVENTS_D3}",
    ),
]


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
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
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
            _plant_after_writes(planted, {"stg_orders": _sql(_twice("staging.stg_orders"))})
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
