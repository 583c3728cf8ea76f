"""One planted defect per check kind, and what its check must catch.

Each ``Case`` names a check (asset and check name), the defect planted for it (in the last day's
delivery, or in a table right after its asset wrote it: ``check_plants``) and what the check must
report on the planted day: the ``rows_failing`` count, text of the failing sample, further exact
metadata and its severity. ``test_check_kinds`` runs every case in ``CASES``; its docstring maps
each check kind of the Definitions to its case.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from .check_plants import (
    D2,
    D3,
    Plant,
    append_lines,
    csv_rows,
    drop_column,
    one_row,
    order_history,
    run_sql,
    twice,
    unknown_user,
    update,
    version,
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


def _written(asset: str, check: str, failing: int, sample: str, plant: str | Plant, **kw) -> Case:
    """A defect written into ``asset``'s table right after the asset wrote it."""
    sql = run_sql(plant) if isinstance(plant, str) else plant
    return Case(asset, check, failing, sample, after={asset: sql}, **kw)


def _delivered(
    asset: str, check: str, failing: int, sample: str, plant: Callable[[Path], object], **kw
) -> Case:
    """A defect in the last day's delivery."""
    return Case(asset, check, failing, sample, landing=plant, **kw)


LATER = D3 + timedelta(days=2)
DQR = "marts.data_quality_report"
EVENTS_D3 = f"table_name = 'events' AND CAST(delivery_date AS DATE) = DATE '{D3}'"
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
        drop_column("orders.csv", "order_ts"),
        error=True,
    ),
    _delivered(
        "raw_events",
        "malformed_lines",
        10,
        "events.csv",
        append_lines("events.csv", lambda rows: [r.rsplit(",", 1)[0] for r in rows[:10]]),
    ),
    _delivered(
        "raw_orders",
        "unexpected_columns",
        1,
        "loyalty_tier",
        csv_rows("orders.csv", 3, loyalty_tier="gold"),
    ),
    _written("raw_orders", "row_count_anomaly", 1, "200", order_history),
    Case("raw_orders", "delivery_freshness", 1, str(D2), days=(D2, D2), metadata={"lag_days": 1}),
    # staging: a buggy transform's output ...
    _written("stg_orders", "key_not_null_unique", 2, "|", twice("staging.stg_orders")),
    _written(
        "stg_orders",
        "numbers_in_range",
        1,
        "-1.00",
        update("staging.stg_orders", "shipping_amount = -1"),
    ),
    _written(
        "stg_orders",
        "dates_in_range",
        1,
        str(LATER),
        update("staging.stg_orders", f"order_ts = DATE '{LATER}' + INTERVAL 9 HOUR"),
    ),
    _written(
        "stg_orders",
        "accepted_values",
        1,
        "teleported",
        update("staging.stg_orders", "status = 'teleported'"),
    ),
    _written(
        "stg_order_items",
        "order_in_same_delivery",
        1,
        "-7",
        update("staging.stg_order_items", "order_id = -7"),
    ),
    _written(
        "stg_events",
        "late_arrivals_flagged",
        1,
        "True",
        update("staging.stg_events", "is_late_arrival = TRUE", "NOT is_late_arrival"),
    ),
    _written(
        "stg_load_audit",
        "rows_conserved",
        1,
        "orders",
        f"DELETE FROM staging.stg_orders WHERE {one_row('staging.stg_orders')}",
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
        csv_rows("orders.csv", 5, payment_method="crypto"),
        metadata={"unknown_payment_method": 5, "unknown_status": 0},
    ),
    _delivered(
        "stg_events",
        "whitespace_case_repaired",
        20,
        "20",
        csv_rows("events.csv", 20, event_type=lambda v: f"  {v.upper()} "),
    ),
    _delivered(
        "stg_users",
        "invalid_emails",
        5,
        "5",
        csv_rows("users.csv", 5, email="no-at-sign.example.com"),
        metadata={"emails_set_null": 5, "invalid_emails_kept": 0},
    ),
    _delivered(
        "stg_quarantine",
        "quarantined_rows",
        40,
        "null_key",
        csv_rows("events.csv", 40, event_id=""),
        metadata={"by_reason": {"null_key": 40}},
    ),
    _delivered(  # a quote never closed: seven lines of text that are no records of their own
        "stg_quarantine",
        "malformed_record_lines",
        1,
        "record spans lines",
        append_lines(
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
        append_lines("events.csv", lambda rows: rows[:20]),
    ),
    # dimensions (checked whole, one result per run)
    _written(
        "dim_users",
        "key_not_null_unique",
        2,
        "|",
        "INSERT INTO marts.dim_users SELECT * FROM marts.dim_users "
        f"WHERE {version('marts.dim_users', 'user_sk')}",
    ),
    _written(
        "dim_users",
        "scd2_versions_valid",
        1,
        "|",
        "UPDATE marts.dim_users SET valid_to = valid_from "
        f"WHERE {version('marts.dim_users', 'user_sk')}",
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
        f"WHERE {version('marts.dim_products', 'product_sk')}",
    ),
    _written(
        "dim_products",
        "numbers_in_range",
        1,
        "|",
        "UPDATE marts.dim_products SET cost = price "
        f"WHERE {version('marts.dim_products', 'product_sk')}",
    ),
    # facts
    _written("fact_orders", "key_not_null_unique", 2, "|", twice("marts.fact_orders")),
    _written(
        "fact_orders",
        "foreign_keys_resolve",
        1,
        "987654",
        update("marts.fact_orders", "user_sk = 987654"),
    ),
    _delivered(
        "fact_orders", "orphan_references", 5, "|", unknown_user, metadata={"orphan_user_id": 5}
    ),
    _written(
        "fact_reviews", "numbers_in_range", 1, "| 6 |", update("marts.fact_reviews", "rating = 6")
    ),
    _written(
        "fact_events",
        "dates_in_range",
        1,
        "|",
        update("marts.fact_events", "event_date = event_date + 1"),
    ),
    _delivered(
        "fact_orders",
        "order_amount_matches_lines",
        5,
        "|",
        csv_rows("orders.csv", 5, order_amount=lambda v: f"{float(v) + 10:.2f}"),
        metadata={"flagged_is_amount_mismatch": 5},
    ),
    _written(
        "fact_orders", "net_equals_lines", 1, "|", update("marts.fact_orders", "net = net + 0.01")
    ),
    _written(
        "fact_order_items",
        "line_net_exact",
        1,
        "|",
        update("marts.fact_order_items", "line_net = line_net + 0.01"),
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
        csv_rows("order_items.csv", 1, unit_price="0.01"),
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
