"""Checks on what staging counted: the load audit, the quarantine and row conservation.

Part of the staged layer's step (``staging.py``): each reads ``stg_load_audit`` or
``stg_quarantine`` per delivery day. Warnings count what staging handled (repairs, invalid
e-mails, quarantined rows, exact duplicates) until their share crosses the gate; a row lost
between raw and staged is blocking; a malformed record spanning more physical lines than
``ECOMMERCE_MAX_RECORD_LINES`` (lines broken quoting may have swallowed) is an error.
"""

import dagster as dg

from ..contract import MALFORMED_LINE, TABLES
from ..record_lines import (
    DEFAULT_MAX_RECORD_LINES,
    MAX_RECORD_LINES_ENV,
    RECORD_SPAN_PATTERN,
    max_record_lines,
)
from ..transforms.staging_rules import EMAIL_PATTERN
from .framework import Check, CheckInputs, Outcome
from .gates import HANDLED, QUARANTINE, Gate
from .sql import count_failing, counts_by_day, day_outcome

STG = "staging"


def audit_sum_check(
    column: str, table: str | None, name: str, description: str, gate: Gate = HANDLED
) -> Check:
    """A warning that counts what stg_load_audit recorded for a table (or all tables)."""
    asset = f"stg_{table}" if table else "stg_load_audit"
    table_filter = f"AND table_name = '{table}'" if table else ""

    def evaluate(inputs: CheckInputs) -> Outcome:
        where = f"{inputs.window.where()} {table_filter}"
        day = "CAST(delivery_date AS DATE)"
        by_day = counts_by_day(
            inputs,
            f"SELECT {day}, sum(raw_rows), sum({column}) FROM {STG}.stg_load_audit "
            f"WHERE {where} GROUP BY 1",
        )
        return day_outcome(
            inputs,
            by_day,
            f"{STG}.stg_load_audit",
            where,
            f"{column} > 0",
            day,
            select=f"table_name, delivery_date, raw_rows, {column}",
        )

    return Check(asset, name, description, evaluate, gate=gate)


def invalid_emails_check() -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        where = f"{inputs.window.where()} AND table_name = 'users'"
        day = "CAST(delivery_date AS DATE)"
        nulled = counts_by_day(
            inputs,
            f"SELECT {day}, sum(raw_rows), sum(invalid_emails) FROM {STG}.stg_load_audit "
            f"WHERE {where} GROUP BY 1",
        )
        kept_bad = count_failing(
            inputs,
            f"{STG}.stg_users",
            f"email IS NOT NULL AND NOT regexp_full_match(email, '{EMAIL_PATTERN}')",
        )
        by_day = {
            d: (n, b + kept_bad.by_day.get(d, (0, 0))[1])  # type: ignore[union-attr]
            for d, (n, b) in nulled.items()
        }
        out = day_outcome(
            inputs,
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


def quarantine_check() -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        where = inputs.window.where()
        day = "CAST(delivery_date AS DATE)"
        raw = counts_by_day(
            inputs,
            f"SELECT {day}, sum(raw_rows), 0 FROM {STG}.stg_load_audit WHERE {where} GROUP BY 1",
        )
        quarantined = counts_by_day(
            inputs, f"SELECT {day}, 0, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1"
        )
        by_day = {d: (raw.get(d, (0, 0))[0], quarantined.get(d, (0, 0))[1]) for d in raw}
        by_day.update({d: (0, q) for d, (_, q) in quarantined.items() if d not in by_day})
        by_reason = inputs.con.execute(
            f"SELECT reason, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        by_table = inputs.con.execute(
            f"SELECT table_name, count(*) FROM {STG}.stg_quarantine WHERE {where} GROUP BY 1 "
            "ORDER BY 1"
        ).fetchall()
        meta = {
            "by_reason": dg.MetadataValue.json({r: int(n) for r, n in by_reason}),
            "by_table": dg.MetadataValue.json({t: int(n) for t, n in by_table}),
        }
        reasons: dict = {}
        for d, reason, n in inputs.con.execute(
            f"SELECT {day}, reason, count(*) FROM {STG}.stg_quarantine WHERE {where} "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall():
            reasons.setdefault(d, {})[reason] = int(n)
        out = day_outcome(
            inputs,
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


def record_lines_check() -> Check:
    """Quarantined malformed records whose span of physical lines is over the limit.

    The raw reader sets apart a line whose quote swallowed lines that are records of their own
    (they load); a malformed record of several lines it keeps whole carries its span in
    ``parse_error`` (``[record spans lines 4-13]``): the lines inside it are no records of their
    own, but a long span is more likely text a stray quote swallowed than one record.
    """
    parse_error = "json_extract_string(raw_values, '$.parse_error')"
    last = f"TRY_CAST(regexp_extract({parse_error}, '{RECORD_SPAN_PATTERN}', 2) AS BIGINT)"
    records = (
        f"(SELECT *, coalesce({last} - line_number + 1, 1) AS physical_lines "
        f"FROM {STG}.stg_quarantine WHERE reason = '{MALFORMED_LINE}')"
    )

    def evaluate(inputs: CheckInputs) -> Outcome:
        limit = max_record_lines()  # the environment's, when the check runs
        return count_failing(
            inputs,
            records,
            f"physical_lines > {limit}",
            select="table_name, delivery_date, source_file, line_number, physical_lines, "
            "raw_values",
            extra={"max_record_lines": limit},
        )

    return Check(
        "stg_quarantine",
        "malformed_record_lines",
        "Malformed records (quarantined malformed_line) span at most "
        f"{MAX_RECORD_LINES_ENV} physical lines (default {DEFAULT_MAX_RECORD_LINES}): a longer "
        "one is a stray quote that swallowed lines the reader could not read on their own (lines "
        "that start a record of their own it reads as records). Its first and last line are in "
        "raw_values' parse_error ([record spans lines 4-13]); open the file there.",
        evaluate,
        error=True,
        threshold=f"no malformed record over {MAX_RECORD_LINES_ENV} physical lines",
    )


def conservation_check() -> Check:
    """raw = staged + quarantined + exact duplicates, each counted from its own table."""

    def evaluate(inputs: CheckInputs) -> Outcome:
        where = inputs.window.where()
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
        df = inputs.frame(sql)
        balance = df["staged_rows"] + df["quarantined_rows"] + df["exact_duplicates"]
        bad = (df["raw_rows"] != balance) | (df["audit_raw_rows"].fillna(-1) != df["raw_rows"])
        days = df["delivery_date"].astype(object)
        by_day = dict.fromkeys(inputs.window.days(), (0, 0))
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
