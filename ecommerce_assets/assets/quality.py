"""``data_quality_report``: per landing table and delivery day, five quality dimensions and a score.

For a day's ``raw_rows`` records of a table (a share is 1 when the table had no rows that day):

- completeness = 1 − incomplete / raw (quarantined ``malformed_line``, ``null_key``,
  ``bad_value:*``)
- uniqueness   = 1 − duplicates / raw (exact duplicates removed + ``duplicate_key``)
- validity     = 1 − invalid / raw (``bad_key``, ``out_of_range:*``, ``future_timestamp``,
  staged rows with an ``unknown`` enumeration value or an invalid e-mail)
- accuracy     = 1 − inaccurate / raw (orders whose order_amount is off its lines by > 0.01)
- consistency  = 1 − inconsistent / raw (``orphan_line`` + facts linked to an unknown member)
- quality_score = 100 × the mean of the five, rounded to 0.01.

Partitioned by delivery day (the table is the score history); each day's materialization also
carries that day's scores as numeric metadata, so the asset's page plots the trend across days.
"""

from datetime import date

import dagster as dg
import pandas as pd

from ..contract import TABLES
from ..partitions import window_days
from ..resources import Warehouse
from ..schemas.aggregates import DataQualityReport
from ..schemas.common import conform
from ..slices import DailyFrames
from ..transforms.facts import orphan_rows_sql
from .common import table_asset_kwargs

GROUP = "aggregates"
DIMENSIONS = ("completeness", "uniqueness", "validity", "accuracy", "consistency")
_FACT_TABLE = {
    "fact_orders": "orders",
    "fact_order_items": "order_items",
    "fact_events": "events",
    "fact_reviews": "reviews",
}
DEPS = ["stg_load_audit", "stg_quarantine", *_FACT_TABLE]


def report_sql(where: str) -> str:
    """Defect counts per (table, day) for the days matching ``where`` (on delivery_date)."""
    return f"""
        WITH a AS (
            SELECT table_name, CAST(delivery_date AS DATE) AS d, raw_rows, staged_rows,
                exact_duplicates, unknown_values, invalid_emails
            FROM staging.stg_load_audit WHERE {where}
        ), q AS (
            SELECT table_name, CAST(delivery_date AS DATE) AS d,
                count(*) FILTER (WHERE reason IN ('malformed_line', 'null_key')
                    OR reason LIKE 'bad_value:%') AS incomplete,
                count(*) FILTER (WHERE reason = 'duplicate_key') AS duplicate_keys,
                count(*) FILTER (WHERE reason IN ('bad_key', 'future_timestamp')
                    OR reason LIKE 'out_of_range:%') AS invalid,
                count(*) FILTER (WHERE reason = 'orphan_line') AS orphan_lines
            FROM staging.stg_quarantine WHERE {where} GROUP BY ALL
        ), o AS (
            {orphan_rows_sql(where)}
        ), m AS (
            SELECT 'orders' AS table_name, CAST(delivery_date AS DATE) AS d,
                count(*) FILTER (WHERE is_amount_mismatch) AS mismatches
            FROM marts.fact_orders WHERE {where} GROUP BY ALL
        )
        SELECT a.table_name, a.d AS delivery_date, a.raw_rows, a.staged_rows,
            coalesce(q.incomplete, 0) AS incomplete_rows,
            a.exact_duplicates + coalesce(q.duplicate_keys, 0) AS duplicate_rows,
            coalesce(q.invalid, 0) + a.unknown_values + a.invalid_emails AS invalid_rows,
            coalesce(m.mismatches, 0) AS inaccurate_rows,
            coalesce(q.orphan_lines, 0) + coalesce(o.orphans, 0) AS inconsistent_rows
        FROM a
        LEFT JOIN q USING (table_name, d)
        LEFT JOIN o USING (table_name, d)
        LEFT JOIN m USING (table_name, d)
        ORDER BY a.d, a.table_name
    """


def score(counts: pd.DataFrame) -> pd.DataFrame:
    """Add the five shares and the 0-100 score to per-(table, day) defect counts."""
    out = counts.copy()
    raw = out["raw_rows"].astype(float)
    defects = {
        "completeness": "incomplete_rows",
        "uniqueness": "duplicate_rows",
        "validity": "invalid_rows",
        "accuracy": "inaccurate_rows",
        "consistency": "inconsistent_rows",
    }
    for dimension, column in defects.items():
        share = 1.0 - out[column].astype(float) / raw.where(raw > 0)
        out[dimension] = share.fillna(1.0).clip(0.0, 1.0).round(6)
    out["quality_score"] = (out[list(DIMENSIONS)].mean(axis=1) * 100).round(2)
    return out


def daily_trend_metadata(report: pd.DataFrame) -> dict[date, dict[str, dg.MetadataValue]]:
    """Per delivery day, the numeric metadata the UI plots across partitions: raw-row-weighted
    scores of the day, its lowest table score, its raw rows and each table's score."""
    if report.empty:
        return {}
    frame = report.assign(
        weight=report["raw_rows"].astype("int64").clip(lower=1),
        day=report["delivery_date"],
    )
    columns = ["quality_score", *DIMENSIONS]
    weighted = frame[columns].astype(float).mul(frame["weight"], axis=0)
    weighted["day"], weighted["weight"] = frame["day"], frame["weight"]
    sums = weighted.groupby("day").sum()
    scores = sums[columns].div(sums["weight"], axis=0).round(4)
    lowest = frame.groupby("day")["quality_score"].min()
    raw = frame.groupby("day")["weight"].sum()
    per_table = frame.pivot(index="day", columns="table_name", values="quality_score")
    out = {}
    for day in scores.index:
        meta = {c: dg.MetadataValue.float(float(scores.at[day, c])) for c in columns}
        meta["lowest_table_day_score"] = dg.MetadataValue.float(float(lowest[day]))
        meta["raw_rows"] = dg.MetadataValue.int(int(raw[day]))
        for table in per_table.columns:
            value = per_table.at[day, table]
            if pd.notna(value):
                meta[f"quality_score_{table}"] = dg.MetadataValue.float(round(float(value), 4))
        out[day] = meta
    return out


def build_quality_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name="data_quality_report",
        deps=DEPS,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        **table_asset_kwargs(
            DataQualityReport,
            group=GROUP,
            partition_expr="delivery_date",
            description="One row per landing table and delivery day: defect counts, completeness, "
            "uniqueness, validity, accuracy, consistency and a 0-100 quality score (the mean of "
            "the five). The history of data quality; the formula is in docs/data-quality.md.",
        ),
    )
    def data_quality_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> DailyFrames:
        days = window_days(context)
        where = f"CAST(delivery_date AS DATE) BETWEEN DATE '{days[0]}' AND DATE '{days[-1]}'"
        counts = warehouse.frame(report_sql(where), context.log, context.run_id)
        report = conform(score(counts), DataQualityReport)
        missing = {t for t in TABLES} - set(report["table_name"])
        if missing and len(report):
            context.log.warning(f"No audit rows for {sorted(missing)} in {days[0]}..{days[-1]}")
        # Each day's page plots that day's scores (the quality trend across partitions).
        return DailyFrames.single(days, report, daily_trend_metadata(report))

    return [data_quality_report]
