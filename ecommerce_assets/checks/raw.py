"""Checks on the raw layer (all warnings: raw keeps everything as delivered, staging decides).

- ``malformed_lines``: records DuckDB could not parse (they go to the quarantine).
- ``unexpected_columns``: files of the run's days with columns the contract does not know.
- ``row_count_anomaly``: a delivery's row count far from the same weekday's (``anomalies.py``).
- ``delivery_freshness``: the newest delivery in the landing zone is loaded (see below).
- ``column_schema_change`` (Dagster's ``build_column_schema_change_checks``): the table's columns
  or types changed between its two latest materializations.

Freshness is measured against the landing zone, not the wall clock: demo deliveries are dated
2024, so "older than a day" would always fail. The check warns when the landing zone holds a
complete delivery newer than the newest partition materialized for the table, i.e. data the
sources delivered that the warehouse does not have yet. The newest delivery's age in days
(wall clock) is reported as metadata.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from ..arrival import load_calendar
from ..contract import TABLES
from ..deliveries import (
    DELIVERIES_ASSET,
    LOADED,
    REFUSED,
    STAMP_KEY,
    VERDICT_KEY,
    latest_records,
    verdict_of,
)
from ..landing import complete_deliveries, read_header
from .anomalies import LOOKBACK_DAYS, MIN_CHANGE, SIGMAS, WEEKS, row_count_anomalies
from .framework import Check, CheckInputs, Outcome
from .gates import HANDLED
from .sql import count_failing

RAW = "raw"
MAX_LAG_DAYS = 0


def _malformed(table: str) -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        return count_failing(
            inputs,
            f"{RAW}.raw_{table}",
            "parse_error IS NOT NULL",
            select="delivery_date, source_file, line_number, parse_error, raw_line",
        )

    return Check(
        f"raw_{table}",
        "malformed_lines",
        "Counts records DuckDB could not parse (wrong field count, broken quoting); staging "
        "quarantines them as malformed_line.",
        evaluate,
        gate=HANDLED,
    )


def _unexpected_columns(table: str) -> Check:
    spec = TABLES[table]

    def evaluate(inputs: CheckInputs) -> Outcome:
        root = inputs.context.resources.landing.root
        deliveries = complete_deliveries(root)
        days = inputs.window.days() or list(deliveries)
        rows = []
        by_day: dict[date, tuple[int, int]] = {}
        for day in days:
            by_day[day] = (0, 0)
            path = deliveries.get(day, root / day.isoformat()) / spec.file_name
            if day not in deliveries or not path.is_file() or path.stat().st_size == 0:
                continue
            extra = [c for c in read_header(path) if c not in spec.column_names]
            by_day[day] = (1, int(bool(extra)))
            if extra:
                rows.append(
                    {"file": f"{day}/{spec.file_name}", "unknown_columns": ", ".join(extra)}
                )
        samples = {date.fromisoformat(r["file"][:10]): pd.DataFrame([r]) for r in rows}
        return Outcome(
            sum(n for n, _ in by_day.values()),
            len(rows),
            pd.DataFrame(rows),
            by_day=by_day,
            day_samples=samples,
        )

    return Check(
        f"raw_{table}",
        "unexpected_columns",
        "Counts delivered files whose header has columns the contract does not know (ignored "
        "when loading).",
        evaluate,
        threshold="0 files with unknown columns",
    )


def _row_count_anomaly(table: str) -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        where = inputs.window.where(lookback_days=LOOKBACK_DAYS)
        counts = {
            (d.date() if isinstance(d, datetime) else d): int(n)
            for d, n in inputs.con.execute(
                f"SELECT CAST(delivery_date AS DATE), count(*) FROM {RAW}.raw_{table} "
                f"WHERE {where} GROUP BY 1"
            ).fetchall()
        }
        deliveries = complete_deliveries(inputs.context.resources.landing.root)
        days = inputs.window.days() or sorted(deliveries)
        if not days:
            return Outcome(0, 0, by_day={})
        # A delivered day whose file was absent has zero rows: count it as a zero delivery.
        lo, hi = min(days) - timedelta(days=LOOKBACK_DAYS), max(days)
        for day in deliveries:
            if day not in counts and lo <= day <= hi:
                counts[day] = 0
        judged, found = row_count_anomalies(counts, days)
        anomalous = {a.day for a in found}
        by_day = {d: (1, int(d in anomalous)) if d in judged else (0, 0) for d in days}
        day_metadata = {
            d: {
                "rows": dg.MetadataValue.int(counts[d]),
                "expected_rows": dg.MetadataValue.float(float(round(expected, 1))),
                "normal_range": f"{max(low, 0):.0f} .. {high:.0f}",
            }
            for d, (expected, low, high) in judged.items()
        }
        rows = [
            {
                "delivery_date": a.day,
                "rows": a.rows,
                "expected": round(a.expected, 1),
                "low": round(a.low, 1),
                "high": round(a.high, 1),
            }
            for a in found
        ]
        return Outcome(
            len(judged),
            len(found),
            pd.DataFrame(rows),
            {"deliveries_judged": len(judged)},
            by_day=by_day,
            day_samples={r["delivery_date"]: pd.DataFrame([r]) for r in rows},
            day_metadata=day_metadata,
        )

    return Check(
        f"raw_{table}",
        "row_count_anomaly",
        f"Warns when a delivery's row count is more than {SIGMAS:g} spreads and "
        f"{MIN_CHANGE:.0%} away from the median of the same weekday's last {WEEKS} deliveries "
        "(spread: Poisson's, widened by the table's own day-to-day dispersion).",
        evaluate,
        threshold=f"count within the same weekday's normal range ({SIGMAS:g} spreads, "
        f"at least {MIN_CHANGE:.0%})",
    )


def _freshness(table: str) -> Check:
    asset = f"raw_{table}"

    def evaluate(inputs: CheckInputs) -> Outcome:
        deliveries = complete_deliveries(inputs.context.resources.landing.root)
        newest_landing = max(deliveries) if deliveries else None
        loaded = inputs.context.instance.get_materialized_partitions(dg.AssetKey(asset))
        newest_loaded = max((date.fromisoformat(k[:10]) for k in loaded), default=None)
        lag = (
            (newest_landing - newest_loaded).days
            if newest_landing and newest_loaded
            else (0 if newest_landing is None else None)
        )
        today = datetime.now(UTC).date()
        meta = {
            "newest_delivery_in_landing_zone": str(newest_landing),
            "newest_delivery_loaded": str(newest_loaded),
            "lag_days": dg.MetadataValue.int(-1 if lag is None else lag),
            "newest_delivery_age_days": dg.MetadataValue.int(
                (today - newest_landing).days if newest_landing else -1
            ),
        }
        passed = lag is not None and lag <= MAX_LAG_DAYS
        sample = (
            None
            if passed
            else pd.DataFrame(
                [{"landing_zone_newest": newest_landing, "warehouse_newest": newest_loaded}]
            )
        )
        return Outcome(1, 0 if passed else 1, sample, meta, passed=passed)

    return Check(
        asset,
        "delivery_freshness",
        "The newest complete delivery in the landing zone is loaded into this table.",
        evaluate,
        threshold=f"warehouse at most {MAX_LAG_DAYS} delivery days behind the landing zone",
        per_day=False,  # about the newest delivery, whichever days the run covered
    )


def _delivery_accepted() -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        instance = inputs.context.instance
        days = inputs.window.days()
        if not days:  # a run without partitions: every day the raw step recorded
            days = [
                date.fromisoformat(k)
                for k in instance.get_materialized_partitions(DELIVERIES_ASSET)
            ]
        by_day: dict[date, tuple[int, int]] = {}
        samples: dict[date, pd.DataFrame] = {}
        meta: dict[date, dict] = {}
        for day, record in sorted(latest_records(instance, days).items()):
            verdict = verdict_of(record)
            if verdict not in (LOADED, REFUSED):  # nothing delivered: nothing to accept
                continue
            refused = verdict == REFUSED
            by_day[day] = (1, int(refused))
            meta[day] = {"delivery": str(record[VERDICT_KEY])}
            if refused:
                samples[day] = pd.DataFrame([{"day": day, "delivery": record[VERDICT_KEY]}])
        failing = [s for s in samples.values()]
        return Outcome(
            len(by_day),
            len(failing),
            pd.concat(failing) if failing else None,
            by_day=by_day,
            day_samples=samples,
            day_metadata=meta,
        )

    return Check(
        "raw_deliveries",
        "delivery_accepted",
        "Fails for a day whose complete delivery was refused: a file breaks the header contract "
        "(a required column missing, a column twice), is compressed, or cannot be read as CSV "
        "text. Nothing of that day was written; the other days of the run were. Re-deliver the "
        "day (a new _SUCCESS) and the sensor loads it.",
        evaluate,
        error=True,
        threshold="0 refused deliveries",
    )


def _arrived_by_deadline() -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        calendar = load_calendar()  # the environment's, when the check runs
        days = inputs.window.days()
        by_day: dict[date, tuple[int, int]] = {}
        meta: dict[date, dict] = {}
        for day, record in sorted(latest_records(inputs.context.instance, days).items()):
            stamp = record.get(STAMP_KEY)
            if verdict_of(record) not in (LOADED, REFUSED) or stamp is None:
                continue
            arrived = datetime.fromtimestamp(int(stamp) / 1e9, UTC)
            due = calendar.due(day)
            by_day[day] = (1, 0)  # it arrived: a late day's flag is cleared
            meta[day] = {"arrived_at": arrived.isoformat(timespec="seconds")}
            if due is not None:
                late = max(0.0, (arrived - due).total_seconds() / 3600)
                meta[day] |= {
                    "deadline": due.isoformat(),
                    "hours_late": dg.MetadataValue.float(round(late, 2)),
                }
        return Outcome(len(by_day), 0, by_day=by_day, day_metadata=meta)

    return Check(
        "raw_deliveries",
        "arrived_by_deadline",
        "Fails for a day whose delivery has not arrived by its deadline "
        "(ECOMMERCE_DELIVERY_DEADLINE, UTC on the next day; judged by the "
        "delivery_deadline_sensor, which alerts); passes once the delivery has landed, with "
        "when it arrived and how late.",
        evaluate,
        threshold="the delivery arrived (late deliveries are flagged by the sensor until then)",
    )


def raw_checks() -> list[Check]:
    checks = [_delivery_accepted(), _arrived_by_deadline()]
    for table in TABLES:
        checks += [
            _malformed(table),
            _unexpected_columns(table),
            _row_count_anomaly(table),
            _freshness(table),
        ]
    return checks
