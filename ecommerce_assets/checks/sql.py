"""Checks written as SQL: counting failing rows per delivery day, with a sample of each failing
day, and the two shapes most checks take (a key, a row rule)."""

from datetime import date, datetime
from typing import Any

import dagster as dg

from .framework import Check, CheckInputs, Outcome
from .markdown import SAMPLE_ROWS


def count_failing(
    inputs: CheckInputs,
    table: str,
    failing: str,
    *,
    window_column: str | None = "delivery_date",
    select: str = "*",
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """Rows of ``table`` in the window for which the SQL condition ``failing`` is TRUE.

    With a ``window_column`` the counts are per delivery day (``Outcome.by_day``, with a few
    failing rows of each failing day), so each day gets its own result.
    """
    condition = f"coalesce(({failing}), FALSE)"
    if window_column is None:
        checked, bad = inputs.con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {condition}) FROM {table}"
        ).fetchone()
        sample = (
            inputs.frame(f"SELECT {select} FROM {table} WHERE {condition} LIMIT {SAMPLE_ROWS}")
            if bad
            else None
        )
        return Outcome(int(checked), int(bad), sample, dict(extra or {}))
    where = inputs.window.where(window_column)
    day = f"CAST({window_column} AS DATE)"
    rows = inputs.con.execute(
        f"SELECT {day}, count(*), count(*) FILTER (WHERE {condition}) "
        f"FROM {table} WHERE {where} GROUP BY 1"
    ).fetchall()
    by_day = dict.fromkeys(inputs.window.days(), (0, 0))
    by_day.update({d: (int(n), int(b)) for d, n, b in rows})
    return day_outcome(inputs, by_day, table, where, condition, day, select=select, extra=extra)


def counts_by_day(inputs: CheckInputs, sql: str) -> dict[date, tuple[int, int]]:
    """Every day of the window with (checked, failing) from ``sql``'s (day, checked, failing)."""
    by_day = dict.fromkeys(inputs.window.days(), (0, 0))
    for day, checked, failing in inputs.con.execute(sql).fetchall():
        key = day.date() if isinstance(day, datetime) else day
        by_day[key] = (int(checked or 0), int(failing or 0))
    return by_day


def day_outcome(
    inputs: CheckInputs,
    by_day: dict[date, tuple[int, int]],
    table: str,
    where: str,
    condition: str,
    day: str,
    *,
    select: str = "*",
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """The outcome of per-day counts, with up to five failing rows of each failing day."""
    checked = sum(n for n, _ in by_day.values())
    bad = sum(b for _, b in by_day.values())
    metadata = dict(extra or {})
    if not bad:
        return Outcome(checked, 0, None, metadata, by_day=by_day)
    rows = inputs.frame(
        f"SELECT {day} AS __day, {select} FROM {table} WHERE {where} AND {condition} "
        f"QUALIFY row_number() OVER (PARTITION BY {day}) <= {SAMPLE_ROWS} ORDER BY 1"
    )
    # Rows come ordered by day: slice them per day (a pandas groupby costs ~4 s a year here).
    keys = [d.date() if isinstance(d, datetime) else d for d in rows["__day"].tolist()]
    body = rows.drop(columns="__day")
    samples, start = {}, 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            samples[keys[start]] = body.iloc[start:i]
            start = i
    failing = sorted(d for d, (_, b) in by_day.items() if b)
    metadata.update(
        {
            "failing_day_count": dg.MetadataValue.int(len(failing)),
            "failing_days": dg.MetadataValue.json(
                {d.isoformat(): by_day[d][1] for d in failing[:60]}
            ),
        }
    )
    sample = rows.drop(columns="__day").head(SAMPLE_ROWS)
    return Outcome(checked, bad, sample, metadata, by_day=by_day, day_samples=samples)


def sql_string_list(values: tuple[str, ...]) -> str:
    """``'a', 'b'``: constants from the contract as the items of a SQL ``IN (...)``."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


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

    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(inputs, table, f"{nulls} OR _copies > 1", window_column=window_column)

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
    """Rows of ``schema.asset`` in the run's window for which the SQL ``rule`` is TRUE fail."""

    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(inputs, f"{schema}.{asset}", rule)

    return Check(asset, name, description, evaluate, blocking=blocking)
