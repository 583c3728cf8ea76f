"""Checks on the staged layer: one step for all eight outputs of ``staging_tables``.

Blocking (ERROR): keys, numeric ranges, dates, accepted values, order lines of the same delivery
and row conservation -- a violation there would corrupt the dimensions and facts built next.
Gated warnings: what staging repaired or kept and counts (unknown values, invalid e-mails,
repairs, quarantine, exact duplicates): handled as the contract says, so a day passes with its
counts in the metadata until its share crosses the gate (``gates.py``) and the source should be
told. Every check reports per delivery day; those that read the load audit and the quarantine
are in ``audit.py``.
"""

from ..contract import ENUMERATIONS, TABLES, UNKNOWN
from .audit import (
    STG,
    audit_sum_check,
    conservation_check,
    invalid_emails_check,
    quarantine_check,
    record_lines_check,
)
from .framework import Check, CheckInputs, Outcome
from .gates import HANDLED, REPAIRED
from .sql import count_failing, day_outcome, key_check, rule_check, sql_string_list

# Numeric rules of the contract per staged table (SQL that is TRUE when a row breaks one).
NUMBER_RULES: dict[str, str] = {
    "products": "price <= 0 OR cost < 0 OR cost >= price",
    "orders": "shipping_amount < 0 OR order_amount < 0",
    "order_items": "quantity < 1 OR unit_price <= 0 OR discount < 0 OR discount >= 1",
    "events": "event_value < 0",
    "reviews": "rating < 1 OR rating > 5 OR helpful_votes < 0",
}
_NEXT_DAY = "delivery_date + INTERVAL 1 DAY"


def date_rules(first: str) -> dict[str, str]:
    """No future timestamps (after the delivery day) and no facts before the first delivery
    (events: its day before, for late arrivals). ``signup_date`` may predate the platform, and a
    user or product version may be delivered late: its ``updated_at`` before its delivery day,
    even before the first delivery, is a version like any other (the contract's late version)."""
    d0 = f"DATE '{first}'"
    return {
        "users": f"signup_date > delivery_date OR updated_at >= {_NEXT_DAY}",
        "products": f"updated_at >= {_NEXT_DAY}",
        "orders": f"order_ts >= {_NEXT_DAY} OR order_ts < {d0}",
        "events": f"event_ts >= {_NEXT_DAY} OR event_ts < {d0} - INTERVAL 1 DAY",
        "reviews": f"review_date >= {_NEXT_DAY} OR review_date < {d0}",
    }


def _key_columns(table: str) -> list[str]:
    spec = TABLES[table]
    return [spec.key] + ([spec.version_column] if spec.version_column else [])


def _dates_check(table: str, first: str) -> Check:
    rule = date_rules(first)[table]
    return rule_check(
        STG,
        f"stg_{table}",
        "dates_in_range",
        rule,
        f"No future timestamp (after the delivery day) and none before the first delivery: {rule}.",
    )


def accepted_values_check(schema: str, asset: str, table: str) -> Check:
    columns = [col for (t, col) in ENUMERATIONS if t == table]
    rule = " OR ".join(
        f"{c} IS NULL OR {c} NOT IN ({sql_string_list((*ENUMERATIONS[(table, c)], UNKNOWN))})"
        for c in columns
    )
    return rule_check(
        schema,
        asset,
        "accepted_values",
        rule,
        f"{', '.join(columns)} hold only the contract's values or '{UNKNOWN}'.",
    )


def unknown_values_check(schema: str, asset: str, table: str) -> Check:
    """Counts values (not rows) set to 'unknown', per column, as the manifest does."""
    columns = [col for (t, col) in ENUMERATIONS if t == table]

    def evaluate(inputs: CheckInputs) -> Outcome:
        where = inputs.window.where()
        table = f"{schema}.{asset}"
        per_column = ", ".join(f"count(*) FILTER (WHERE {c} = '{UNKNOWN}')" for c in columns)
        rows = inputs.con.execute(
            f"SELECT CAST(delivery_date AS DATE), count(*), {per_column} FROM {table} "
            f"WHERE {where} GROUP BY 1"
        ).fetchall()
        by_day = dict.fromkeys(inputs.window.days(), (0, 0))
        totals = dict.fromkeys(columns, 0)
        per_day = {}
        for day, checked, *unknown in rows:
            by_day[day] = (int(checked), int(sum(unknown)))
            per_day[day] = {f"unknown_{c}": int(n) for c, n in zip(columns, unknown, strict=True)}
            for column, n in zip(columns, unknown, strict=True):
                totals[column] += int(n)
        anyu = " OR ".join(f"{c} = '{UNKNOWN}'" for c in columns)
        meta = {f"unknown_{c}": n for c, n in totals.items()}
        out = day_outcome(
            inputs, by_day, table, where, f"({anyu})", "CAST(delivery_date AS DATE)", extra=meta
        )
        out.day_metadata = per_day
        return out

    return Check(
        asset,
        "unknown_values",
        f"Counts enumeration values the contract does not know, kept as '{UNKNOWN}' "
        f"({', '.join(columns)}).",
        evaluate,
        gate=HANDLED,
    )


def _order_lines_check() -> Check:
    failing = (
        "NOT EXISTS (SELECT 1 FROM staging.stg_orders o "
        "WHERE o.order_id = l.order_id AND o.delivery_date = l.delivery_date)"
    )

    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(
            inputs, f"{STG}.stg_order_items AS l", failing, window_column="l.delivery_date"
        )

    return Check(
        "stg_order_items",
        "order_in_same_delivery",
        "Every order line references an order staged from the same delivery.",
        evaluate,
        blocking=True,
    )


def _late_arrivals_check() -> Check:
    rule = "is_late_arrival <> (CAST(event_ts AS DATE) < delivery_date)"

    def evaluate(inputs: CheckInputs) -> Outcome:
        out = count_failing(inputs, f"{STG}.stg_events", rule)
        late = inputs.con.execute(
            f"SELECT CAST(delivery_date AS DATE), count(*) FROM {STG}.stg_events "
            f"WHERE {inputs.window.where()} AND is_late_arrival GROUP BY 1"
        ).fetchall()
        out.metadata["late_arrivals"] = sum(int(n) for _, n in late)
        out.day_metadata = {d: {"late_arrivals": int(n)} for d, n in late}
        return out

    return Check(
        "stg_events",
        "late_arrivals_flagged",
        "is_late_arrival is set exactly for events of the day before their delivery (allowed by "
        "the contract; their count is in late_arrivals).",
        evaluate,
    )


def staging_checks(first_delivery: str) -> list[Check]:
    """Every check of the staged layer (``first_delivery``: ISO day of the first delivery)."""
    checks: list[Check] = []
    for table in TABLES:
        asset = f"stg_{table}"
        checks.append(key_check(STG, asset, _key_columns(table), per_delivery=True))
        if table in NUMBER_RULES:
            checks.append(
                rule_check(
                    STG,
                    asset,
                    "numbers_in_range",
                    NUMBER_RULES[table],
                    f"Amounts and counts within the contract's ranges: "
                    f"NOT ({NUMBER_RULES[table]}).",
                )
            )
        if table in date_rules(first_delivery):
            checks.append(_dates_check(table, first_delivery))
        if any(t == table for (t, _) in ENUMERATIONS):
            checks.append(accepted_values_check(STG, asset, table))
            checks.append(unknown_values_check(STG, asset, table))
        if table != "reviews" and table != "order_items":
            checks.append(
                audit_sum_check(
                    "repaired_rows",
                    table,
                    "whitespace_case_repaired",
                    "Counts rows staging repaired (whitespace trimmed, case made canonical).",
                    REPAIRED,
                )
            )
    checks += [
        invalid_emails_check(),
        _order_lines_check(),
        _late_arrivals_check(),
        quarantine_check(),
        record_lines_check(),
        conservation_check(),
        audit_sum_check(
            "exact_duplicates",
            None,
            "exact_duplicates_removed",
            "Counts exact duplicate raw rows removed (sent twice in the same delivery).",
        ),
    ]
    return checks
