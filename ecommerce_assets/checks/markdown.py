"""A check's failing rows as the markdown table the UI shows (``failing_sample``)."""

from typing import Any

import pandas as pd

SAMPLE_ROWS = 5


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
