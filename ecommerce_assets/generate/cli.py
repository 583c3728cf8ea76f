"""The command line: ``python -m ecommerce_assets.generate --out DIR ...``.

Why a module of its own: argument parsing and the one-line summary are the only parts of the
generator that talk to a terminal; everything else is importable without side effects.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .landing_zone import generate_landing_zone
from .live import live_deliveries


def _parse_rate(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=R, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"rate must be a number: {text!r}") from exc


def _parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Generate a synthetic e-commerce landing zone."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("ECOMMERCE_LANDING_DIR", "data/landing")),
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help="first day (YYYY-MM-DD); default: the window ends yesterday (UTC)",
    )
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--clean", action="store_true", help="inject no defects")
    parser.add_argument("--rate", type=_parse_rate, action="append", default=[], metavar="NAME=R")
    parser.add_argument(
        "--live",
        action="store_true",
        help="live demo: deliver the days missing from --out one every --interval seconds, "
        "then each following day once it has ended (UTC)",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between deliveries")
    parser.add_argument("--max-days", type=int, default=None, help="--live: deliver at most N days")
    parser.add_argument("--initial", type=int, default=0, help="--live: deliver N days at once")
    parser.add_argument(
        "--lag",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="--live: deliver a day this long after it has ended (UTC)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """CLI entry point: ``python -m ecommerce_assets.generate --out DIR ...``."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    world_args = {
        "seed": args.seed,
        "scale": args.scale,
        "start": args.start,
        "days": args.days,
        "clean": args.clean,
        "rates": dict(args.rate),
    }
    if args.live:
        try:
            live_deliveries(
                args.out,
                interval_s=args.interval,
                max_days=args.max_days,
                initial=args.initial,
                lag_s=args.lag,
                log=lambda msg: print(msg, flush=True),
                **world_args,
            )
        except ValueError as exc:
            parser.error(str(exc))
        except KeyboardInterrupt:
            return 130
        return 0
    try:
        summary = generate_landing_zone(args.out, **world_args)
    except ValueError as exc:
        parser.error(str(exc))
    n_defects = sum(sum(v.values()) for v in summary["defects"].values())
    rows = ", ".join(f"{k}={v}" for k, v in summary["rows"].items())
    kept = f" ({summary['unchanged']} already there, untouched)" if summary["unchanged"] else ""
    print(
        f"wrote {summary['days']} days to {summary['out']} from {summary['start']}{kept}: "
        f"{rows}; defects={n_defects}"
    )
    return 0
