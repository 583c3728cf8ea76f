"""``python -m ecommerce_assets.check_catalog``: every asset check as a markdown table, from the
project's ``Definitions`` (what the UI lists), written to ``docs/checks.md``.

Why generated: the catalogue is read to decide what a failing check means; hand-kept, it drifts
from the code. ``--check`` compares instead of writing and exits 1 when the committed file
differs (the test suite runs it), so a check added, removed or re-described without regenerating
the file fails CI.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import dagster as dg

CATALOG = Path(__file__).resolve().parents[1] / "docs" / "checks.md"

_HEADER = """# Every asset check

Generated from the project's `Definitions` by `python -m ecommerce_assets.check_catalog`; a test
fails when this file differs from what the code defines (regenerate it, never edit it by hand).
*Severity*: `ERROR, blocking` checks stop the assets downstream of a failing day (a failure
means a platform bug, never a delivery); `ERROR` checks fail loudly (an alert, the build's exit
status) and stop nothing (a refused delivery costs its own day); `WARN` checks never stop
anything. *Result*: `per day` checks report one result per delivery day, whatever range the run
covered; `per run` checks one result for the run. What each result's
metadata holds, and how gates are configured: [data-quality.md](data-quality.md).
"""


def catalog_rows(defs: dg.Definitions) -> list[tuple[str, ...]]:
    """(asset, check, severity, result, fails when, what it guards) per check, in definition
    order."""
    graph = defs.resolve_asset_graph()
    # Dagster's schema-change checks come out of a set: order every step's checks by their
    # asset's place in the definitions (stable, so each step keeps its own order per asset).
    order = {
        key: i
        for i, key in enumerate(
            k for a in defs.assets or () for k in a.keys_by_output_name.values()
        )
    }
    rows = []
    for checks_def in defs.asset_checks or ():
        specs = sorted(checks_def.check_specs, key=lambda s: order.get(s.asset_key, len(order)))
        for spec in specs:
            spec = graph.get_check_spec(spec.key)
            metadata = spec.metadata or {}
            threshold = metadata.get("threshold")
            text = getattr(threshold, "value", threshold)
            guards = (spec.description or "").split(" Threshold: ")[0]
            rows.append(
                (
                    f"`{spec.asset_key.to_user_string()}`",
                    f"`{spec.name}`",
                    _severity(spec),
                    "per day" if spec.partitions_def is not None else "per run",
                    str(text) if text else "columns or types changed",
                    guards.replace("|", "\\|").replace("\n", " "),
                )
            )
    return rows


def _severity(spec: dg.AssetCheckSpec) -> str:
    if spec.blocking:
        return "ERROR, blocking"
    severity = (spec.metadata or {}).get("severity")
    return str(getattr(severity, "value", severity) or "WARN")


def render(defs: dg.Definitions) -> str:
    rows = catalog_rows(defs)
    blocking = sum(row[2] == "ERROR, blocking" for row in rows)
    per_day = sum(row[3] == "per day" for row in rows)
    lines = [
        _HEADER,
        f"{len(rows)} checks ({blocking} blocking; {per_day} report per delivery day).",
        "",
        "| asset | check | severity | result | fails when | what it guards |",
        "|---|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/checks.md differs")
    parser.add_argument("--out", type=Path, default=CATALOG, help="where to write the table")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    from .definitions import build_definitions
    from .settings import load_settings

    text = render(build_definitions(load_settings()))
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: run python -m ecommerce_assets.check_catalog")
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
