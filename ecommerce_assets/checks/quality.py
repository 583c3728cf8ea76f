"""Checks on ``data_quality_report``: per-table thresholds and a drop of the quality score.

Both judge a table's day only when it delivered at least ``MIN_ROWS_JUDGED`` rows: on a day with
two product rows one defect is 50 %, which says nothing about the source.
"""

import pandas as pd

from .anomalies import SCORE_DROP, score_drops
from .framework import Check, CheckInputs, Outcome
from .sql import count_failing

REPORT = "marts.data_quality_report"
THRESHOLDS = {"completeness": 0.95, "validity": 0.90, "accuracy": 0.85}
MIN_ROWS_JUDGED = 100


def _thresholds() -> Check:
    below = " OR ".join(f"{k} < {v}" for k, v in THRESHOLDS.items())
    rule = f"raw_rows >= {MIN_ROWS_JUDGED} AND ({below})"

    def evaluate(inputs: CheckInputs) -> Outcome:
        out = count_failing(
            inputs,
            REPORT,
            rule,
            select="table_name, delivery_date, raw_rows, completeness, validity, accuracy, "
            "quality_score",
        )
        names = [f"below_{dimension}" for dimension in THRESHOLDS]
        counts = ", ".join(f"count(*) FILTER (WHERE {k} < {v})" for k, v in THRESHOLDS.items())
        per_day = {
            day: dict(zip(names, (int(n) for n in below), strict=True))
            for day, *below in inputs.con.execute(
                f"SELECT CAST(delivery_date AS DATE), {counts} FROM {REPORT} "
                f"WHERE {inputs.window.where()} AND raw_rows >= {MIN_ROWS_JUDGED} GROUP BY 1"
            ).fetchall()
        }
        for name in names:
            out.metadata[name] = sum(day[name] for day in per_day.values())
        out.day_metadata = {d: per_day.get(d, dict.fromkeys(names, 0)) for d in out.by_day or {}}
        return out

    limits = ", ".join(f"{k} ≥ {v:.0%}" for k, v in THRESHOLDS.items())
    return Check(
        "data_quality_report",
        "quality_thresholds",
        f"Per table and delivery day of at least {MIN_ROWS_JUDGED} rows: {limits}.",
        evaluate,
        threshold=f"0 (table, day) rows below {limits}",
    )


def _score_drop() -> Check:
    def evaluate(inputs: CheckInputs) -> Outcome:
        days = inputs.window.days()
        lookback = inputs.window.where(lookback_days=31) if days else "TRUE"
        history = inputs.frame(
            f"SELECT table_name, CAST(delivery_date AS DATE) AS day, quality_score "
            f"FROM {REPORT} WHERE {lookback} AND raw_rows >= {MIN_ROWS_JUDGED}"
        )
        history["day"] = history["day"].astype(object)
        wanted = days or sorted(set(history["day"]))
        by_day = {d: [0, 0] for d in wanted}
        rows = []
        for table, frame in history.groupby("table_name"):
            scores = list(zip(frame["day"], frame["quality_score"], strict=True))
            for d, _ in scores:
                if d in by_day:
                    by_day[d][0] += 1
            for day, previous, now in score_drops(scores, wanted):
                by_day[day][1] += 1
                rows.append(
                    {"table_name": table, "delivery_date": day, "previous": previous, "score": now}
                )
        sample = pd.DataFrame(rows)
        return Outcome(
            sum(n for n, _ in by_day.values()),
            len(rows),
            sample,
            by_day={d: (n, b) for d, (n, b) in by_day.items()},
            day_samples={d: g for d, g in sample.groupby("delivery_date")} if rows else {},
        )

    return Check(
        "data_quality_report",
        "quality_score_drop",
        f"Warns when a table's quality score falls {SCORE_DROP:.0%} or more below its previous "
        f"delivery's score (days of at least {MIN_ROWS_JUDGED} rows; history: the report).",
        evaluate,
        threshold=f"no drop of {SCORE_DROP:.0%} or more",
    )


def quality_checks() -> list[Check]:
    return [_thresholds(), _score_drop()]
