"""What a check is: a plain :class:`Check`, the :class:`CheckInputs` its ``evaluate`` gets (one
warehouse connection per step, the run's days), its :class:`Outcome`, and the result builder that
puts rows checked, rows failing, the gate and a sample into metadata.

A check here is a plain :class:`Check` (asset, name, SQL-backed ``evaluate``); a layer's checks
run together in one ``multi_asset_check`` step (one connection, ~0.1 s step overhead in total
instead of per check). A check fails when its :class:`~.gates.Gate` is crossed: blocking checks
with severity ERROR, which stops downstream assets in the same run; every other check warns.

Checks of partitioned assets are partitioned too: they report one result per delivery day of the
run (``daily.py``), so a day's check status is that day's truth whatever range the run covered.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ..warehouse import fetch_frame
from .days import CheckedDays
from .gates import EXACT, Gate
from .markdown import markdown_sample


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
