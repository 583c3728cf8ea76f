"""Checks on the staged layer: one step for all eight outputs of ``staging_tables``.

Blocking (ERROR): keys, numeric ranges, dates, accepted values, order lines of the same delivery
and row conservation -- a violation there would corrupt the dimensions and facts built next.
Gated warnings: what staging repaired or kept and counts (unknown values, invalid e-mails,
repairs, quarantine, exact duplicates): handled as the contract says, so a day passes with its
counts in the metadata until its share crosses the gate (``gates.py``) and the source should be
told. Every check reports per delivery day.
"""

import dagster as dg

from ..contract import ENUMERATIONS, TABLES, UNKNOWN
from ..transforms.staging import EMAIL_PATTERN
from .common import Check, Env, Outcome, count_failing, counts_by_day, day_outcome
from .gates import HANDLED, QUARANTINE, REPAIRED, Gate

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
        table = f"{schema}.{asset}"
        per_column = ", ".join(f"count(*) FILTER (WHERE {c} = '{UNKNOWN}')" for c in columns)
        rows = env.con.execute(
            f"SELECT CAST(delivery_date AS DATE), count(*), {per_column} FROM {table} "
            f"WHERE {where} GROUP BY 1"
        ).fetchall()
        by_day = dict.fromkeys(env.window.days(), (0, 0))
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
            env, by_day, table, where, f"({anyu})", "CAST(delivery_date AS DATE)", extra=meta
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


def _audit_sum(
    column: str, table: str | None, name: str, description: str, gate: Gate = HANDLED
) -> Check:
    """A warning that counts what stg_load_audit recorded for a table (or all tables)."""
    asset = f"stg_{table}" if table else "stg_load_audit"
    table_filter = f"AND table_name = '{table}'" if table else ""

    def evaluate(env: Env) -> Outcome:
        where = f"{env.window.where()} {table_filter}"
        day = "CAST(delivery_date AS DATE)"
        by_day = counts_by_day(
            env,
            f"SELECT {day}, sum(raw_rows), sum({column}) FROM {STG}.stg_load_audit "
            f"WHERE {where} GROUP BY 1",
        )
        return day_outcome(
            env,
            by_day,
            f"{STG}.stg_load_audit",
            where,
            f"{column} > 0",
            day,
            select=f"table_name, delivery_date, raw_rows, {column}",
        )

    return Check(asset, name, description, evaluate, gate=gate)


def _invalid_emails_check() -> Check:
    def evaluate(env: Env) -> Outcome:
        where = f"{env.window.where()} AND table_name = 'users'"
        day = "CAST(delivery_date AS DATE)"
        nulled = counts_by_day(
            env,
            f"SELECT {day}, sum(raw_rows), sum(invalid_emails) FROM {STG}.stg_load_audit "
            f"WHERE {where} GROUP BY 1",
        )
        kept_bad = count_failing(
            env,
            f"{STG}.stg_users",
            f"email IS NOT NULL AND NOT regexp_full_match(email, '{EMAIL_PATTERN}')",
        )
        by_day = {
            d: (n, b + kept_bad.by_day.get(d, (0, 0))[1])  # type: ignore[union-attr]
            for d, (n, b) in nulled.items()
        }
        out = day_outcome(
            env,
            by_day,
            f"{STG}.stg_load_audit",
            where,
            "invalid_emails > 0",
            day,
            select="table_name, delivery_date, raw_rows, invalid_emails",
            extra={
                "emails_set_null": sum(b for _, b in nulled.values()),
                "invalid_emails_kept": kept_bad.rows_failing,
            },
        )
        out.day_samples.update(kept_bad.day_samples)  # a bad address kept is the better sample
        out.day_metadata = {
            d: {
                "emails_set_null": b,
                "invalid_emails_kept": kept_bad.by_day.get(d, (0, 0))[1],  # type: ignore[union-attr]
            }
            for d, (_, b) in nulled.items()
        }
        return out

    return Check(
        "stg_users",
        "invalid_emails",
        "Counts users whose e-mail was invalid (kept with e-mail NULL), plus any non-NULL "
        "e-mail that is still not a valid address.",
        evaluate,
        gate=HANDLED,
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
        late = env.con.execute(
            f"SELECT CAST(delivery_date AS DATE), count(*) FROM {STG}.stg_events "
            f"WHERE {env.window.where()} AND is_late_arrival GROUP BY 1"
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


def _quarantine_check() -> Check:
    def evaluate(env: Env) -> Outcome:
        where = env.window.where()
        day = "CAST(delivery_date AS DATE)"
        raw = counts_by_day(
            env,
            f"SELECT {day}, sum(raw_rows), 0 FROM {STG}.stg_load_audit WHERE {where} GROUP BY 1",
        )
        quarantined = counts_by_day(
            env, f"SELECT {day}, 0, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1"
        )
        by_day = {d: (raw.get(d, (0, 0))[0], quarantined.get(d, (0, 0))[1]) for d in raw}
        by_day.update({d: (0, q) for d, (_, q) in quarantined.items() if d not in by_day})
        by_reason = env.con.execute(
            f"SELECT reason, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        by_table = env.con.execute(
            f"SELECT table_name, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
        meta = {
            "by_reason": dg.MetadataValue.json({r: int(n) for r, n in by_reason}),
            "by_table": dg.MetadataValue.json({t: int(n) for t, n in by_table}),
        }
        reasons: dict = {}
        for d, reason, n in env.con.execute(
            f"SELECT {day}, reason, count(*) FROM {STG}.stg_quarantine WHERE {where} "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall():
            reasons.setdefault(d, {})[reason] = int(n)
        out = day_outcome(
            env,
            by_day,
            f"{STG}.stg_quarantine",
            where,
            "TRUE",
            day,
            select="table_name, delivery_date, source_file, line_number, reason",
            extra=meta,
        )
        out.day_metadata = {d: {"by_reason": dg.MetadataValue.json(r)} for d, r in reasons.items()}
        return out

    return Check(
        "stg_quarantine",
        "quarantined_rows",
        "Counts raw rows quarantined (per reason and table in metadata); each names its file, "
        "line and reason in stg_quarantine.",
        evaluate,
        gate=QUARANTINE,
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
        days = df["delivery_date"].astype(object)
        by_day = dict.fromkeys(env.window.days(), (0, 0))
        for day, flags in bad.groupby(days):
            by_day[day] = (len(flags), int(flags.sum()))
        return Outcome(
            len(df),
            int(bad.sum()),
            df[bad],
            by_day=by_day,
            day_samples={d: g for d, g in df[bad].groupby(days[bad])},
            metadata={
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
                    REPAIRED,
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
