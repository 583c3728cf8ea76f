"""What every check shares: the run's delivery days, one warehouse connection per step, and a
result builder that puts rows checked, rows failing, the threshold and a sample into metadata.

A check here is a plain :class:`Check` (asset, name, SQL-backed ``evaluate``); a layer's checks
run together in one ``multi_asset_check`` step (one connection, ~0.1 s step overhead in total
instead of per check). Blocking checks fail with severity ERROR, which stops downstream assets in
the same run; every other check warns.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ..assets.common import WAREHOUSE_IO
from ..io_manager import connect, fetch_frame

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Window:
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
        if self.is_all:
            return []
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def label(self) -> str:
        return "all delivery days" if self.is_all else f"{self.first} .. {self.last}"


def run_window(tags: dict[str, str]) -> Window:
    """The run's partition range from its tags (single-run backfill or one partition).

    Checks of partitioned assets read only these days, so a daily run never rescans history. A
    run without partition tags (a check launched on its own from the UI) checks every day.
    """
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return Window(date.fromisoformat(start[:10]), date.fromisoformat(end[:10]))
    single = tags.get(PARTITION_NAME_TAG)
    if single:
        day = date.fromisoformat(single[:10])
        return Window(day, day)
    return Window()


@dataclass
class Outcome:
    """What a check found. ``passed`` defaults to "no failing rows"."""

    rows_checked: int
    rows_failing: int
    sample: pd.DataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    passed: bool | None = None
    description: str | None = None


@dataclass(frozen=True)
class Env:
    """What ``evaluate`` gets: a warehouse connection, the run's window, the Dagster context."""

    con: duckdb.DuckDBPyConnection
    window: Window
    first_delivery: date
    context: Any

    def frame(self, sql: str) -> pd.DataFrame:
        return fetch_frame(self.con, sql)

    def scalar(self, sql: str) -> Any:
        return self.con.execute(sql).fetchone()[0]


@dataclass(frozen=True)
class Check:
    """One asset check: which asset it guards, what it tests, and how it is evaluated."""

    asset: str
    name: str
    description: str
    evaluate: Callable[[Env], Outcome]
    blocking: bool = False
    threshold: str = "0 failing rows"

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN

    @property
    def key(self) -> dg.AssetCheckKey:
        return dg.AssetCheckKey(dg.AssetKey(self.asset), self.name)

    def spec(self) -> dg.AssetCheckSpec:
        severity = "ERROR, blocking" if self.blocking else "WARN"
        return dg.AssetCheckSpec(
            self.name,
            asset=self.asset,
            description=f"{self.description} Threshold: {self.threshold}. Severity: {severity}.",
            blocking=self.blocking,
            metadata={"threshold": self.threshold, "blocking": self.blocking},
        )


def markdown_sample(df: pd.DataFrame | None, rows: int = SAMPLE_ROWS) -> str:
    if df is None or df.empty:
        return "_no failing rows_"
    return df.head(rows).to_markdown(index=False)


def check_result(check: Check, outcome: Outcome, window: Window) -> dg.AssetCheckResult:
    """The result with the metadata every dashboard shows: checked, failing, threshold, sample."""
    passed = outcome.rows_failing == 0 if outcome.passed is None else outcome.passed
    share = outcome.rows_failing / outcome.rows_checked if outcome.rows_checked else 0.0
    metadata: dict[str, Any] = {
        "rows_checked": dg.MetadataValue.int(int(outcome.rows_checked)),
        "rows_failing": dg.MetadataValue.int(int(outcome.rows_failing)),
        "failing_share": dg.MetadataValue.float(round(float(share), 6)),
        "threshold": dg.MetadataValue.text(check.threshold),
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
    env: Env,
    table: str,
    failing: str,
    *,
    window_column: str | None = "delivery_date",
    select: str = "*",
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """Rows of ``table`` in the window for which the SQL condition ``failing`` is TRUE."""
    where = env.window.where(window_column) if window_column else "TRUE"
    checked, bad = env.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE coalesce(({failing}), FALSE)) "
        f"FROM {table} WHERE {where}"
    ).fetchone()
    sample = None
    metadata = dict(extra or {})
    if bad:
        sample = env.frame(
            f"SELECT {select} FROM {table} WHERE {where} AND coalesce(({failing}), FALSE) "
            f"LIMIT {SAMPLE_ROWS}"
        )
        if window_column:
            metadata.update(failing_days(env, table, where, failing, window_column))
    return Outcome(int(checked), int(bad), sample, metadata)


def failing_days(
    env: Env, table: str, where: str, failing: str, day_column: str
) -> dict[str, dg.MetadataValue]:
    """Which days hold the failing rows: a range run records one result for all its days, so
    its metadata names them (the first 60, with their counts)."""
    rows = env.con.execute(
        f"SELECT strftime(CAST({day_column} AS DATE), '%Y-%m-%d') AS day, count(*) "
        f"FROM {table} WHERE {where} AND coalesce(({failing}), FALSE) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {
        "failing_day_count": dg.MetadataValue.int(len(rows)),
        "failing_days": dg.MetadataValue.json({day: int(n) for day, n in rows[:60]}),
    }


def build_check_step(
    name: str,
    checks: Sequence[Check],
    first_delivery: date,
    *,
    required_resource_keys: set[str] | None = None,
    description: str = "",
) -> dg.AssetChecksDefinition:
    """One ``multi_asset_check`` step running ``checks`` on one warehouse connection.

    Subsettable: a run that materializes only some of the guarded assets runs only their checks.
    An error while evaluating a check (e.g. a missing table) is reported as that check failing.
    """
    by_key = {c.key: c for c in checks}

    @dg.multi_asset_check(
        name=name,
        specs=[c.spec() for c in checks],
        can_subset=True,
        required_resource_keys={WAREHOUSE_IO, *(required_resource_keys or set())},
        description=description or None,
    )
    def _step(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        io = getattr(context.resources, WAREHOUSE_IO)
        window = run_window(dict(context.run.tags))
        selected = [c for k, c in by_key.items() if k in context.selected_asset_check_keys]
        with connect(io.database, io.lock_timeout_s, context.log) as con:
            env = Env(con, window, first_delivery, context)
            for check in selected:
                try:
                    outcome = check.evaluate(env)
                except Exception as exc:  # reported on the dashboard, not a crashed step
                    context.log.error(f"{check.asset}.{check.name} could not run: {exc}")
                    outcome = Outcome(0, 0, passed=False, description=f"Could not run: {exc}")
                yield check_result(check, outcome, window)

    return _step
