"""What every check shares: the run's delivery days, one warehouse connection per step, and a
result builder that puts rows checked, rows failing, the gate and a sample into metadata.

A check here is a plain :class:`Check` (asset, name, SQL-backed ``evaluate``); a layer's checks
run together in one ``multi_asset_check`` step (one connection, ~0.1 s step overhead in total
instead of per check). A check fails when its :class:`~.gates.Gate` is crossed: blocking checks
with severity ERROR, which stops downstream assets in the same run; every other check warns.

Checks of partitioned assets are partitioned too: they report one result per delivery day of the
run (``daily.py``), so a day's check status is that day's truth whatever range the run covered.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ..dagster_internals import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from ..slices import days_in
from ..warehouse import fetch_frame
from .gates import EXACT, Gate

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class CheckedDays:
    """The delivery days a run covers (both ends inclusive); ``None``: every day in the table."""

    first: date | None = None
    last: date | None = None

    @property
    def is_all(self) -> bool:
        return self.first is None or self.last is None

    def where(self, column: str = "delivery_date", *, lookback_days: int = 0) -> str:
        """A SQL predicate keeping ``column`` inside the window (optionally widened back)."""
        if self.is_all:
            return "TRUE"
        start = self.first - timedelta(days=lookback_days)
        return f"CAST({column} AS DATE) BETWEEN DATE '{start}' AND DATE '{self.last}'"

    def days(self) -> list[date]:
        """Every day of the window, in order (none for the whole table)."""
        if self.is_all:
            return []
        return days_in(self.first, self.last + timedelta(days=1))

    def label(self) -> str:
        return "all delivery days" if self.is_all else f"{self.first} .. {self.last}"


def checked_days(tags: dict[str, str]) -> CheckedDays:
    """The run's partition range from its tags (single-run backfill or one partition).

    Checks of partitioned assets read only these days, so a daily run never rescans history. A
    run without partition tags (a check launched on its own from the UI) checks every day.
    """
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return CheckedDays(date.fromisoformat(start[:10]), date.fromisoformat(end[:10]))
    single = tags.get(PARTITION_NAME_TAG)
    if single:
        day = date.fromisoformat(single[:10])
        return CheckedDays(day, day)
    return CheckedDays()


@dataclass
class Outcome:
    """What a check found. ``passed`` defaults to the check's gate on the counts.

    ``by_day`` (checks of partitioned assets): each delivery day's (rows checked, rows failing),
    every day of the window included; ``day_samples`` a few failing rows of the days that have any.
    """

    rows_checked: int
    rows_failing: int
    sample: pd.DataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    passed: bool | None = None
    description: str | None = None
    by_day: dict[date, tuple[int, int]] | None = None
    day_samples: dict[date, pd.DataFrame] = field(default_factory=dict)
    day_metadata: dict[date, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckInputs:
    """What a check's ``evaluate`` gets: the step's warehouse connection (shared by every check
    of the step), the run's delivery days, the first delivery and the Dagster context."""

    con: duckdb.DuckDBPyConnection
    window: CheckedDays
    first_delivery: date
    context: dg.AssetCheckExecutionContext

    def frame(self, sql: str) -> pd.DataFrame:
        """The rows of ``sql`` as an Arrow-backed frame."""
        return fetch_frame(self.con, sql)

    def scalar(self, sql: str) -> Any:
        """The first value of the first row of ``sql``."""
        return self.con.execute(sql).fetchone()[0]


@dataclass(frozen=True)
class Check:
    """One asset check: which asset it guards, what it tests, and how it is evaluated."""

    asset: str
    name: str
    description: str
    evaluate: Callable[[CheckInputs], Outcome]
    blocking: bool = False
    threshold: str | None = None
    gate: Gate = EXACT
    # False: one result for the run even on a partitioned asset (e.g. freshness of the newest day).
    per_day: bool = True
    # ERROR without blocking: a day's failure alerts and fails the build's exit status, and
    # holds back nobody (the other days of the run go on).
    error: bool = False

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        error = self.blocking or self.error
        return dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    @property
    def gate_key(self) -> str:
        """How ``ECOMMERCE_QUALITY_GATES`` names this check."""
        return f"{self.asset}.{self.name}"

    @property
    def threshold_text(self) -> str:
        return self.threshold or self.gate.describe()

    def passed(self, outcome: Outcome) -> bool:
        if outcome.passed is not None:
            return outcome.passed
        return self.gate.passed(outcome.rows_checked, outcome.rows_failing)

    def spec(self, partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetCheckSpec:
        severity = "ERROR, blocking" if self.blocking else ("ERROR" if self.error else "WARN")
        return dg.AssetCheckSpec(
            self.name,
            asset=self.asset,
            description=f"{self.description} Threshold: {self.threshold_text}. "
            f"Severity: {severity}.",
            blocking=self.blocking,
            metadata={
                "threshold": self.threshold_text,
                "severity": self.severity.value,
                "blocking": self.blocking,
                "gate_share": self.gate.share,
                "gate_min_rows": self.gate.min_rows,
            },
            partitions_def=partitions_def,
        )


def markdown_sample(df: pd.DataFrame | None, rows: int = SAMPLE_ROWS) -> str:
    """A markdown table of the first ``rows`` rows.

    Written out here because ``DataFrame.to_markdown`` (tabulate) takes ~3 ms a call, and a
    year's per-day results render thousands of samples (15 s of a scale-10 build, profiled).
    """
    if df is None or df.empty:
        return "_no failing rows_"
    head = df.head(rows)

    def cell(value: Any) -> str:
        text = (
            ""
            if value is None or (not isinstance(value, list | dict) and pd.isna(value))
            else str(value)
        )
        return text.replace("|", "\\|").replace("\n", " ").replace("\r", " ")

    lines = [
        "| " + " | ".join(str(c) for c in head.columns) + " |",
        "|" + "|".join("---" for _ in head.columns) + "|",
    ]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False)
    ]
    return "\n".join(lines)


def check_result(check: Check, outcome: Outcome, window: CheckedDays) -> dg.AssetCheckResult:
    """The result with the metadata every dashboard shows: checked, failing, threshold, sample."""
    passed = check.passed(outcome)
    share = outcome.rows_failing / outcome.rows_checked if outcome.rows_checked else 0.0
    metadata: dict[str, Any] = {
        "rows_checked": dg.MetadataValue.int(int(outcome.rows_checked)),
        "rows_failing": dg.MetadataValue.int(int(outcome.rows_failing)),
        "failing_share": dg.MetadataValue.float(round(float(share), 6)),
        "threshold": dg.MetadataValue.text(check.threshold_text),
        "delivery_days": dg.MetadataValue.text(window.label()),
        "failing_sample": dg.MetadataValue.md(markdown_sample(outcome.sample)),
        **outcome.metadata,
    }
    return dg.AssetCheckResult(
        asset_key=check.asset,
        check_name=check.name,
        passed=bool(passed),
        severity=check.severity,
        metadata=metadata,
        description=outcome.description,
    )


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
