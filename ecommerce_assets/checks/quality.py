"""Checks on ``data_quality_report``: per-table thresholds and a drop of the quality score."""

import pandas as pd

from .anomalies import SCORE_DROP, score_drops
from .common import Check, Env, Outcome, count_failing

REPORT = "marts.data_quality_report"
THRESHOLDS = {"completeness": 0.95, "validity": 0.90, "accuracy": 0.85}


def _thresholds() -> Check:
    rule = " OR ".join(f"{k} < {v}" for k, v in THRESHOLDS.items())

    def evaluate(env: Env) -> Outcome:
        out = count_failing(
            env,
            REPORT,
            rule,
            select="table_name, delivery_date, raw_rows, completeness, validity, accuracy, "
            "quality_score",
        )
        for dimension, minimum in THRESHOLDS.items():
            below = env.scalar(
                f"SELECT count(*) FROM {REPORT} WHERE {env.window.where()} "
                f"AND {dimension} < {minimum}"
            )
            out.metadata[f"below_{dimension}"] = int(below)
        return out

    limits = ", ".join(f"{k} ≥ {v:.0%}" for k, v in THRESHOLDS.items())
    return Check(
        "data_quality_report",
        "quality_thresholds",
        f"Per table and delivery day: {limits}.",
        evaluate,
        threshold=f"0 (table, day) rows below {limits}",
    )


def _score_drop() -> Check:
    def evaluate(env: Env) -> Outcome:
        days = env.window.days()
        lookback = "TRUE"
        if days:
            lookback = env.window.where(lookback_days=31)
        history = env.frame(
            f"SELECT table_name, CAST(delivery_date AS DATE) AS day, quality_score "
            f"FROM {REPORT} WHERE {lookback}"
        )
        rows = []
        judged = 0
        for table, frame in history.groupby("table_name"):
            scores = [
                (d.date() if hasattr(d, "date") else d, s)
                for d, s in zip(frame["day"], frame["quality_score"], strict=True)
            ]
            wanted = days or [d for d, _ in scores]
            judged += sum(1 for d, _ in scores if d in set(wanted))
            for day, previous, now in score_drops(scores, wanted):
                rows.append(
                    {"table_name": table, "delivery_date": day, "previous": previous, "score": now}
                )
        return Outcome(judged, len(rows), pd.DataFrame(rows))

    return Check(
        "data_quality_report",
        "quality_score_drop",
        f"Warns when a table's quality score falls {SCORE_DROP:.0%} or more below its previous "
        "delivery's score (history: the report itself).",
        evaluate,
        threshold=f"no drop of {SCORE_DROP:.0%} or more",
    )


def quality_checks() -> list[Check]:
    return [_thresholds(), _score_drop()]
