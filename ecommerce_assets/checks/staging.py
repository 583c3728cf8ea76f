"""Checks on the staged layer: one step for all eight outputs of ``staging_tables``.

Blocking (ERROR): keys, numeric ranges, dates, accepted values, order lines of the same delivery
and row conservation -- a violation there would corrupt the dimensions and facts built next.
Warnings: what staging repaired or kept and counts (unknown values, invalid e-mails, repairs,
quarantine, exact duplicates, late arrivals): the data is usable, the source should be told.
"""

import dagster as dg

from ..contract import ENUMERATIONS, TABLES, UNKNOWN
from ..transforms.staging import EMAIL_PATTERN
from .common import Check, Env, Outcome, count_failing

STG = "staging"

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
    """No future timestamps (after the delivery day) and nothing before the first delivery
    (events: its day before, for late arrivals). ``signup_date`` may predate the platform."""
    d0 = f"DATE '{first}'"
    return {
        "users": f"signup_date > delivery_date OR updated_at >= {_NEXT_DAY} OR updated_at < {d0}",
        "products": f"updated_at >= {_NEXT_DAY} OR updated_at < {d0}",
        "orders": f"order_ts >= {_NEXT_DAY} OR order_ts < {d0}",
        "events": f"event_ts >= {_NEXT_DAY} OR event_ts < {d0} - INTERVAL 1 DAY",
        "reviews": f"review_date >= {_NEXT_DAY} OR review_date < {d0}",
    }


def _in(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _key_columns(table: str) -> list[str]:
    spec = TABLES[table]
    return [spec.key] + ([spec.version_column] if spec.version_column else [])


def key_check(
    schema: str, asset: str, keys: list[str], per_delivery: bool, partitioned: bool = True
) -> Check:
    """Key not NULL and unique (within each delivery for staged tables, else in the window)."""
    part = ", ".join((["delivery_date"] if per_delivery else []) + keys)
    nulls = " OR ".join(f"{k} IS NULL" for k in keys)
    table = f"(SELECT *, count(*) OVER (PARTITION BY {part}) AS _copies FROM {schema}.{asset})"
    scope = "within each delivery" if per_delivery else "within the delivery days checked"
    if not partitioned:
        scope = "over the whole table"
    window_column = "delivery_date" if partitioned else None

    def evaluate(env: Env) -> Outcome:
        return count_failing(env, table, f"{nulls} OR _copies > 1", window_column=window_column)

    return Check(
        asset,
        "key_not_null_unique",
        f"Key ({', '.join(keys)}) is never NULL and unique {scope}.",
        evaluate,
        blocking=True,
    )


def rule_check(
    schema: str, asset: str, name: str, rule: str, description: str, *, blocking: bool = True
) -> Check:
    def evaluate(env: Env) -> Outcome:
        return count_failing(env, f"{schema}.{asset}", rule)

    return Check(asset, name, description, evaluate, blocking=blocking)


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
        f"{c} IS NULL OR {c} NOT IN ({_in((*ENUMERATIONS[(table, c)], UNKNOWN))})" for c in columns
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

    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        counts = env.con.execute(
            "SELECT count(*), "
            + ", ".join(f"count(*) FILTER (WHERE {c} = '{UNKNOWN}')" for c in columns)
            + f" FROM {schema}.{asset} WHERE {where}"
        ).fetchone()
        per_column = dict(zip(columns, counts[1:], strict=True))
        failing = sum(per_column.values())
        anyu = " OR ".join(f"{c} = '{UNKNOWN}'" for c in columns)
        sample = (
            env.frame(f"SELECT * FROM {schema}.{asset} WHERE {where} AND ({anyu}) LIMIT 5")
            if failing
            else None
        )
        meta = {f"unknown_{c}": int(n) for c, n in per_column.items()}
        return Outcome(int(counts[0]), int(failing), sample, meta)

    return Check(
        asset,
        "unknown_values",
        f"Counts enumeration values the contract does not know, kept as '{UNKNOWN}' "
        f"({', '.join(columns)}).",
        evaluate,
    )


def _audit_sum(column: str, table: str | None, name: str, description: str) -> Check:
    """A warning that counts what stg_load_audit recorded for a table (or all tables)."""
    asset = f"stg_{table}" if table else "stg_load_audit"
    table_filter = f"AND table_name = '{table}'" if table else ""

    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        checked, failing = env.con.execute(
            f"SELECT coalesce(sum(raw_rows), 0), coalesce(sum({column}), 0) "
            f"FROM {STG}.stg_load_audit WHERE {where} {table_filter}"
        ).fetchone()
        sample = env.frame(
            f"SELECT table_name, delivery_date, raw_rows, {column} FROM {STG}.stg_load_audit "
            f"WHERE {where} {table_filter} AND {column} > 0 ORDER BY {column} DESC LIMIT 5"
        )
        return Outcome(int(checked), int(failing), sample)

    return Check(asset, name, description, evaluate)


def _invalid_emails_check() -> Check:
    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        nulled = env.scalar(
            f"SELECT coalesce(sum(invalid_emails), 0) FROM {STG}.stg_load_audit "
            f"WHERE {where} AND table_name = 'users'"
        )
        kept_bad = count_failing(
            env,
            f"{STG}.stg_users",
            f"email IS NOT NULL AND NOT regexp_full_match(email, '{EMAIL_PATTERN}')",
        )
        sample = kept_bad.sample
        if sample is None and nulled:
            sample = env.frame(
                f"SELECT table_name, delivery_date, raw_rows, invalid_emails "
                f"FROM {STG}.stg_load_audit WHERE {where} AND table_name = 'users' "
                "AND invalid_emails > 0 LIMIT 5"
            )
        return Outcome(
            kept_bad.rows_checked,
            int(nulled) + kept_bad.rows_failing,
            sample,
            {"emails_set_null": int(nulled), "invalid_emails_kept": kept_bad.rows_failing},
        )

    return Check(
        "stg_users",
        "invalid_emails",
        "Counts users whose e-mail was invalid (kept with e-mail NULL), plus any non-NULL "
        "e-mail that is still not a valid address.",
        evaluate,
    )


def _order_lines_check() -> Check:
    failing = (
        "NOT EXISTS (SELECT 1 FROM staging.stg_orders o "
        "WHERE o.order_id = l.order_id AND o.delivery_date = l.delivery_date)"
    )

    def evaluate(env: Env) -> Outcome:
        return count_failing(
            env, f"{STG}.stg_order_items AS l", failing, window_column="l.delivery_date"
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

    def evaluate(env: Env) -> Outcome:
        out = count_failing(env, f"{STG}.stg_events", rule)
        late = env.scalar(
            f"SELECT count(*) FROM {STG}.stg_events WHERE {env.window.where()} AND is_late_arrival"
        )
        out.metadata["late_arrivals"] = int(late)
        return out

    return Check(
        "stg_events",
        "late_arrivals_flagged",
        "is_late_arrival is set exactly for events of the day before their delivery (allowed by "
        "the contract; their count is in late_arrivals).",
        evaluate,
    )


def _quarantine_check() -> Check:
    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        raw = env.scalar(
            f"SELECT coalesce(sum(raw_rows), 0) FROM {STG}.stg_load_audit WHERE {where}"
        )
        by_reason = env.con.execute(
            f"SELECT reason, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        by_table = env.con.execute(
            f"SELECT table_name, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
        total = sum(n for _, n in by_reason)
        sample = env.frame(
            f"SELECT table_name, delivery_date, source_file, line_number, reason "
            f"FROM {STG}.stg_quarantine WHERE {where} LIMIT 5"
        )
        meta = {
            "by_reason": dg.MetadataValue.json({r: int(n) for r, n in by_reason}),
            "by_table": dg.MetadataValue.json({t: int(n) for t, n in by_table}),
        }
        return Outcome(int(raw), int(total), sample, meta)

    return Check(
        "stg_quarantine",
        "quarantined_rows",
        "Counts raw rows quarantined (per reason and table in metadata); each names its file, "
        "line and reason in stg_quarantine.",
        evaluate,
    )


def _conservation_check() -> Check:
    """raw = staged + quarantined + exact duplicates, each counted from its own table."""

    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        counts = " UNION ALL ".join(
            f"SELECT '{t}' AS table_name, CAST(delivery_date AS DATE) AS d, "
            f"count(*) AS raw, 0 AS staged FROM raw.raw_{t} WHERE {where} GROUP BY ALL "
            f"UNION ALL SELECT '{t}', CAST(delivery_date AS DATE), 0, count(*) "
            f"FROM {STG}.stg_{t} WHERE {where} GROUP BY ALL"
            for t in TABLES
        )
        sql = f"""
            WITH c AS (SELECT table_name, d, sum(raw) AS raw, sum(staged) AS staged
                       FROM ({counts}) GROUP BY ALL),
            q AS (SELECT table_name, CAST(delivery_date AS DATE) AS d, count(*) AS quarantined
                  FROM {STG}.stg_quarantine WHERE {where} GROUP BY ALL),
            a AS (SELECT table_name, CAST(delivery_date AS DATE) AS d, exact_duplicates,
                         raw_rows, staged_rows, quarantined_rows
                  FROM {STG}.stg_load_audit WHERE {where})
            SELECT coalesce(a.table_name, c.table_name) AS table_name,
                   coalesce(a.d, c.d) AS delivery_date,
                   coalesce(c.raw, 0) AS raw_rows, coalesce(c.staged, 0) AS staged_rows,
                   coalesce(q.quarantined, 0) AS quarantined_rows,
                   coalesce(a.exact_duplicates, 0) AS exact_duplicates,
                   a.raw_rows AS audit_raw_rows
            FROM a FULL JOIN c USING (table_name, d)
            LEFT JOIN q ON q.table_name = coalesce(a.table_name, c.table_name)
                AND q.d = coalesce(a.d, c.d)
        """
        df = env.frame(sql)
        balance = df["staged_rows"] + df["quarantined_rows"] + df["exact_duplicates"]
        bad = (df["raw_rows"] != balance) | (df["audit_raw_rows"].fillna(-1) != df["raw_rows"])
        return Outcome(
            len(df),
            int(bad.sum()),
            df[bad],
            {
                "raw_rows": int(df["raw_rows"].sum()),
                "staged_rows": int(df["staged_rows"].sum()),
                "quarantined_rows": int(df["quarantined_rows"].sum()),
                "exact_duplicates": int(df["exact_duplicates"].sum()),
            },
        )

    return Check(
        "stg_load_audit",
        "rows_conserved",
        "Per table and delivery day: raw rows = staged + quarantined + exact duplicates, each "
        "counted from its own table, and the audit agrees (no row silently lost).",
        evaluate,
        blocking=True,
        threshold="0 unbalanced (table, day) pairs",
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
                _audit_sum(
                    "repaired_rows",
                    table,
                    "whitespace_case_repaired",
                    "Counts rows staging repaired (whitespace trimmed, case made canonical).",
                )
            )
    checks += [
        _invalid_emails_check(),
        _order_lines_check(),
        _late_arrivals_check(),
        _quarantine_check(),
        _conservation_check(),
        _audit_sum(
            "exact_duplicates",
            None,
            "exact_duplicates_removed",
            "Counts exact duplicate raw rows removed (sent twice in the same delivery).",
        ),
    ]
    return checks
