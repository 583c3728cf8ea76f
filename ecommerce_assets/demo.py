"""The demo landing zone ``bin/build`` generates: only into the project's own empty
``data/landing``, never into another directory, never over a file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from .landing import complete_deliveries, parse_day
from .partitions import last_partition_day
from .settings import DEFAULT_LANDING


def demo_allowed(landing: Path) -> str | None:
    """Why a demo landing zone may NOT be generated into ``landing`` (None: it may).

    Only the project's own ``data/landing``, and only when it does not exist or holds nothing
    (dot-files aside): a mistyped ``ECOMMERCE_LANDING_DIR`` or a zone whose deliveries are still
    being written must never receive synthetic files.
    """
    if landing.resolve() != Path(DEFAULT_LANDING).resolve():
        return f"it is not the project's default landing zone ({DEFAULT_LANDING})"
    if landing.is_dir():
        entries = [p.name for p in landing.iterdir() if not p.name.startswith(".")]
        if entries:
            shown = ", ".join(sorted(entries)[:3])
            return f"it is not empty ({len(entries)} entries, e.g. {shown})"
    elif landing.exists():
        return "it is not a directory"
    return None


def why_no_delivery(landing: Path) -> str:
    """Why ``landing`` has no complete delivery, for the error message."""
    if not landing.exists():
        return f"{landing} does not exist"
    if not landing.is_dir():
        return f"{landing} is not a directory"
    folders = sorted(p.name for p in landing.iterdir() if parse_day(p.name) and p.is_dir())
    if folders:
        return (
            f"{landing} holds {len(folders)} day folder(s) ({folders[0]} … {folders[-1]}) but "
            "none has _SUCCESS yet (still being written)"
        )
    return f"{landing} holds no day folder (YYYY-MM-DD/ with _SUCCESS)"


def generate_demo(
    landing: Path, *, scale: float, days: int, start: date | None
) -> dict[date, Path]:
    """Generate ``days`` days of demo deliveries into ``landing`` (from ``start``, default: the
    window ending yesterday, UTC); the complete deliveries it then holds."""
    from .generate import generate_landing_zone  # the generator only when a demo is made

    start = start or last_partition_day() - timedelta(days=days - 1)
    last = start + timedelta(days=days - 1)
    print(
        f"No deliveries in {landing}: generating a demo landing zone ({days} days, {start} … "
        f"{last}) …"
    )
    generate_landing_zone(landing, scale=scale, start=start, days=days)
    return complete_deliveries(landing)
