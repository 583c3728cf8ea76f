"""Checks on the star schema: one step for the dimensions, one for the facts.

Dimensions are unpartitioned and checked whole; facts are checked for the delivery days of the
run only. Blocking (ERROR): keys, SCD2 validity, foreign keys that must resolve, numeric ranges,
dates and exact money -- what the aggregates would otherwise silently sum wrongly. Warnings: links
to a dimension's unknown member (orphan references) and order totals that disagree with their
lines (the source's number is kept; ours is exact).
"""

from ..contract import CATEGORIES, PAYMENT_METHODS, UNKNOWN
from ..transforms.facts import FACT_KEYS, ORPHANS
from .framework import Check, CheckInputs, Outcome
from .gates import HANDLED
from .sql import count_failing, counts_by_day, key_check, rule_check, sql_string_list

MARTS = "marts"


# --------------------------------------------------------------------------------------------
# Dimensions
# --------------------------------------------------------------------------------------------
def _scd2_check(asset: str, sk: str, key: str) -> Check:
    """One current version per business key, valid_from < valid_to, no overlapping windows."""
    table = f"""(SELECT *,
            count(*) FILTER (WHERE is_current) OVER (PARTITION BY {key}) AS _current_versions,
            lead(valid_from) OVER (PARTITION BY {key} ORDER BY valid_from) AS _next_from
        FROM {MARTS}.{asset})"""
    failing = (
        "_current_versions <> 1 OR valid_from >= valid_to OR valid_to > _next_from "
        "OR is_current <> (_next_from IS NULL)"
    )

    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(inputs, table, failing, window_column=None)

    return Check(
        asset,
        "scd2_versions_valid",
        f"Per {key}: exactly one current version, valid_from < valid_to, no overlapping validity "
        "windows (valid_to <= the next version's valid_from), is_current only on the last.",
        evaluate,
        blocking=True,
    )


def _unknown_member(asset: str, sk: str) -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        n = inputs.scalar(f"SELECT count(*) FROM {MARTS}.{asset} WHERE {sk} = 0")
        return Outcome(1, 0 if n == 1 else 1, passed=n == 1, metadata={"unknown_members": n})

    return Check(
        asset,
        "unknown_member_present",
        f"Exactly one unknown member ({sk} = 0), the target of orphan references.",
        evaluate,
        blocking=True,
        threshold="exactly 1 row",
    )


def _whole(asset: str, name: str, rule: str, description: str, blocking: bool = True) -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(inputs, f"{MARTS}.{asset}", rule, window_column=None)

    return Check(asset, name, description, evaluate, blocking=blocking)


def dimension_checks() -> list[Check]:
    cats = sql_string_list((*CATEGORIES, UNKNOWN))
    methods = sql_string_list((*PAYMENT_METHODS, UNKNOWN))
    whole = {"per_delivery": False, "partitioned": False}
    checks = [
        key_check(MARTS, "dim_date", ["date_key"], **whole),
        key_check(MARTS, "dim_payment_method", ["payment_method_key"], **whole),
        key_check(MARTS, "dim_users", ["user_sk"], **whole),
        key_check(MARTS, "dim_products", ["product_sk"], **whole),
        _scd2_check("dim_users", "user_sk", "user_id"),
        _scd2_check("dim_products", "product_sk", "product_id"),
        _unknown_member("dim_users", "user_sk"),
        _unknown_member("dim_products", "product_sk"),
        _unknown_member("dim_payment_method", "payment_method_key"),
        _whole(
            "dim_payment_method",
            "accepted_values",
            f"payment_method NOT IN ({methods})",
            "payment_method holds only the contract's methods or 'unknown'.",
        ),
        _whole(
            "dim_products",
            "accepted_values",
            f"category NOT IN ({cats})",
            "category holds only the contract's categories or 'unknown'.",
        ),
        _whole(
            "dim_products",
            "numbers_in_range",
            "product_sk <> 0 AND (price IS NULL OR cost IS NULL OR price <= 0 OR cost < 0 "
            "OR cost >= price)",
            "Every real version has price > 0 and 0 <= cost < price.",
        ),
    ]
    return checks


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------
def _missing(column: str, dim: str, dim_key: str) -> str:
    return f"{column} NOT IN (SELECT {dim_key} FROM {MARTS}.{dim})"


# Foreign keys of each fact: (column, dimension, its key).
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "fact_orders": [
        ("user_sk", "dim_users", "user_sk"),
        ("date_key", "dim_date", "date_key"),
        ("payment_method_key", "dim_payment_method", "payment_method_key"),
    ],
    "fact_order_items": [
        ("product_sk", "dim_products", "product_sk"),
        ("user_sk", "dim_users", "user_sk"),
        ("date_key", "dim_date", "date_key"),
        ("payment_method_key", "dim_payment_method", "payment_method_key"),
    ],
    "fact_events": [
        ("user_sk", "dim_users", "user_sk"),
        ("product_sk", "dim_products", "product_sk"),
        ("date_key", "dim_date", "date_key"),
    ],
    "fact_reviews": [
        ("user_sk", "dim_users", "user_sk"),
        ("product_sk", "dim_products", "product_sk"),
        ("date_key", "dim_date", "date_key"),
    ],
}

FACT_NUMBERS = {
    "fact_orders": "gross < 0 OR discount < 0 OR shipping < 0 OR net < 0 OR item_count < 0 "
    "OR units < 0 OR order_amount < 0",
    # A line priced at or below its product's cost is a business fact (a clearance sale):
    # counted by ``sold_below_cost``, a warning, not a range error.
    "fact_order_items": "quantity < 1 OR unit_price <= 0 OR discount < 0 OR discount >= 1 "
    "OR line_net < 0 OR line_gross < line_net OR unit_cost < 0",
    "fact_events": "event_value < 0 OR event_hour NOT BETWEEN 0 AND 23",
    "fact_reviews": "rating < 1 OR rating > 5 OR helpful_votes < 0 OR text_length < 0",
}


def fact_dates(first: str) -> dict[str, str]:
    d0, nxt = f"DATE '{first}'", "delivery_date + INTERVAL 1 DAY"
    return {
        "fact_orders": f"order_ts >= {nxt} OR order_ts < {d0}",
        "fact_order_items": f"order_ts >= {nxt} OR order_ts < {d0}",
        "fact_events": f"event_ts >= {nxt} OR event_ts < {d0} - INTERVAL 1 DAY "
        "OR event_date <> CAST(event_ts AS DATE)",
        "fact_reviews": f"review_date >= {nxt} OR review_date < {d0}",
    }


def _fk_check(asset: str) -> Check:
    fks = FOREIGN_KEYS[asset]
    rule = " OR ".join(f"{c} IS NULL OR " + _missing(c, d, k) for c, d, k in fks)
    if asset == "fact_order_items":
        rule += (
            " OR NOT EXISTS (SELECT 1 FROM marts.fact_orders o WHERE o.order_id = f.order_id "
            "AND o.delivery_date = f.delivery_date)"
        )

    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(inputs, f"{MARTS}.{asset} AS f", rule, window_column="f.delivery_date")

    cols = ", ".join(f"{c} → {d}" for c, d, _ in fks)
    return Check(
        asset,
        "foreign_keys_resolve",
        f"Every foreign key resolves ({cols}"
        + (", order_id → fact_orders of the same delivery" if asset == "fact_order_items" else "")
        + "); links to the unknown member count as resolved here.",
        evaluate,
        blocking=True,
    )


def _orphans_check(asset: str) -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        where = inputs.window.where()
        by_day = counts_by_day(
            inputs,
            f"SELECT CAST(delivery_date AS DATE), count(*), 0 FROM {MARTS}.{asset} "
            f"WHERE {where} GROUP BY 1",
        )
        per_column, samples, per_day = {}, {}, {}
        for column, (source, rule) in ORPHANS[asset].items():
            table = source if source.startswith("(") else f"{MARTS}.{source}"
            out = count_failing(inputs, table, rule)
            per_column[column] = out.rows_failing
            for day, (_, failing) in (out.by_day or {}).items():
                checked, before = by_day.get(day, (0, 0))
                by_day[day] = (checked, before + failing)
                per_day.setdefault(day, {})[f"orphan_{column}"] = failing
            for day, sample in out.day_samples.items():
                samples.setdefault(day, sample)
        meta = {f"orphan_{c}": int(n) for c, n in per_column.items()}
        first = next(iter(samples.values()), None)
        return Outcome(
            sum(n for n, _ in by_day.values()),
            sum(per_column.values()),
            first,
            meta,
            by_day=by_day,
            day_samples=samples,
            day_metadata=per_day,
        )

    cols = ", ".join(ORPHANS[asset])
    return Check(
        asset,
        "orphan_references",
        f"Counts references ({cols}) to ids no dimension knows, linked to the unknown member "
        "(sk 0); the fact is kept.",
        evaluate,
        gate=HANDLED,
    )


def _amounts_check() -> Check:
    """Recomputed from the lines, not from the fact's own flag."""
    table = """(SELECT o.*, coalesce(l.lines_net, 0) + o.shipping AS expected_amount
        FROM marts.fact_orders o LEFT JOIN (
            SELECT order_id, delivery_date, sum(line_net) AS lines_net FROM marts.fact_order_items
            GROUP BY ALL) l USING (order_id, delivery_date))"""

    def evaluate(inputs: CheckInputs) -> Outcome:
        out = count_failing(
            inputs,
            table,
            "abs(order_amount - expected_amount) > 0.01",
            select="order_id, delivery_date, order_amount, expected_amount, net",
        )
        flagged = dict(
            inputs.con.execute(
                f"SELECT CAST(delivery_date AS DATE), count(*) FROM {MARTS}.fact_orders "
                f"WHERE {inputs.window.where()} AND is_amount_mismatch GROUP BY 1"
            ).fetchall()
        )
        out.metadata["flagged_is_amount_mismatch"] = int(sum(flagged.values()))
        out.day_metadata = {
            d: {"flagged_is_amount_mismatch": int(flagged.get(d, 0))} for d in out.by_day or {}
        }
        return out

    return Check(
        "fact_orders",
        "order_amount_matches_lines",
        "order_amount (as sent) equals Σ line net + shipping within 0.01 (kept as sent and "
        "flagged is_amount_mismatch).",
        evaluate,
        gate=HANDLED,
    )


def _net_check() -> Check:
    table = """(SELECT o.order_id, o.delivery_date, o.net, o.gross, o.discount, o.shipping,
            coalesce(l.lines_net, 0) AS lines_net, coalesce(l.lines_gross, 0) AS lines_gross
        FROM marts.fact_orders o LEFT JOIN (
            SELECT order_id, delivery_date, sum(line_net) AS lines_net,
                sum(line_gross) AS lines_gross FROM marts.fact_order_items GROUP BY ALL) l
        USING (order_id, delivery_date))"""
    rule = "net <> lines_net + shipping OR gross <> lines_gross OR discount <> gross - lines_net"
    return Check(
        "fact_orders",
        "net_equals_lines",
        "net = Σ line_net + shipping, gross = Σ line_gross and discount = gross − Σ line_net, "
        "to the cent.",
        lambda inputs: count_failing(inputs, table, rule),
        blocking=True,
    )


def _line_net_check() -> Check:
    exact = (
        "CAST(round(quantity * CAST(unit_price AS DECIMAL(10,2)) "
        "* (1 - CAST(discount AS DECIMAL(4,3))), 2) AS DECIMAL(14,2))"
    )
    rule = (
        f"line_net <> {exact} OR line_gross <> CAST(quantity * unit_price AS DECIMAL(14,2)) "
        "OR line_discount <> line_gross - line_net"
    )
    return Check(
        "fact_order_items",
        "line_net_exact",
        "line_net = round(quantity × unit_price × (1 − discount), 2) in DECIMAL (half away from "
        "zero); line_gross and line_discount consistent.",
        lambda inputs: count_failing(inputs, f"{MARTS}.fact_order_items", rule),
        blocking=True,
    )


def fact_checks(first_delivery: str) -> list[Check]:
    dates = fact_dates(first_delivery)
    checks: list[Check] = []
    for asset, key in FACT_KEYS.items():
        checks += [
            key_check(MARTS, asset, [key], per_delivery=False),
            _fk_check(asset),
            _orphans_check(asset),
            rule_check(
                MARTS,
                asset,
                "numbers_in_range",
                FACT_NUMBERS[asset],
                f"Amounts, counts and ratings in range: NOT ({FACT_NUMBERS[asset]}).",
            ),
            rule_check(
                MARTS,
                asset,
                "dates_in_range",
                dates[asset],
                "No future timestamp (after the delivery day) and none before the first delivery.",
            ),
        ]
    checks += [_amounts_check(), _net_check(), _line_net_check(), _below_cost_check()]
    return checks


def _below_cost_check() -> Check:
    rule = "unit_price < unit_cost"
    return Check(
        "fact_order_items",
        "sold_below_cost",
        "Counts order lines priced below the product version's cost (a clearance sale: kept, "
        "its negative margin counted).",
        lambda inputs: count_failing(
            inputs,
            f"{MARTS}.fact_order_items",
            rule,
            select="delivery_date, order_id, order_item_id, product_id, unit_price, unit_cost",
        ),
        threshold="0 lines below cost (a warning: a business fact, not a defect)",
    )
