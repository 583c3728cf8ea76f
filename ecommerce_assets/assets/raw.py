"""Raw layer: each delivered CSV as text, one partition per delivery day, plus lineage columns."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from ..contract import TABLES
from ..landing import DeliveryError, ReadReport, check_delivery, complete_deliveries, read_raw
from ..partitions import window_days
from ..resources import LandingZone
from ..schemas.raw import RAW_MODELS
from ..slices import DailyFrames, chunk_rows, plan_chunks
from .common import table_out

RAW_SCHEMA = "raw"
GROUP = "raw"


def raw_asset_name(table: str) -> str:
    return f"raw_{table}"


def build_raw_assets(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """All six raw tables as one multi-asset, so a day's headers are checked before any write."""
    outs = {
        raw_asset_name(name): table_out(
            RAW_MODELS[name],
            schema=RAW_SCHEMA,
            group=GROUP,
            partition_expr="delivery_date",
            schema_on_every_day=True,  # its column-schema-change check compares partitions
            is_required=False,
            description=(
                f"One row per CSV record of {spec.file_name} as delivered (all text), malformed "
                "lines included with their raw text, plus lineage: delivery_date, source_file, "
                "line_number, ingested_at."
            ),
        )
        for name, spec in TABLES.items()
    }

    @dg.multi_asset(
        name="raw_tables",
        outs=outs,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def raw_tables(context: dg.AssetExecutionContext, landing: LandingZone) -> Iterator[dg.Output]:
        days = window_days(context)
        selected = [n for n in TABLES if raw_asset_name(n) in context.selected_output_names]
        specs = [TABLES[n] for n in selected]
        report = ReadReport()
        deliveries = complete_deliveries(landing.root)
        try:
            # Every header of every day first: a missing column fails the run before any write.
            for day in days:
                if day in deliveries:
                    check_delivery(deliveries[day], specs, report)
        except DeliveryError as exc:
            raise dg.Failure(description=str(exc)) from exc
        # A day of the run without a complete delivery is a gap: logged, and shown on its page.
        missing = [day.isoformat() for day in days if day not in deliveries]
        if missing:
            context.log.warning(
                f"no complete delivery for {len(missing)} day(s): {', '.join(missing)}"
            )
        ingested_at = datetime.now(UTC).replace(tzinfo=None)
        for name in selected:
            spec = TABLES[name]
            # Chunks of days of about ``chunk_rows()`` rows, estimated from each file's size and
            # its own bytes per record (a fixed 100 bytes a row made chunks of order lines,
            # ~32 bytes a row, 3 M rows: memory grew with the range up to that size).
            rows = {d: _estimated_rows(deliveries.get(d), spec.file_name) for d in days}
            plan = plan_chunks(days, rows, chunk_rows())

            notes: dict = {}

            def chunks(spec=spec, plan=plan, notes=notes) -> Iterator[tuple]:
                for chunk_days in plan:
                    report = ReadReport()
                    frame = read_raw(landing.root, spec, chunk_days, ingested_at, report)
                    for warning in report.warnings:
                        context.log.warning(warning)
                    malformed = _malformed_by_day(frame)
                    for day in chunk_days:
                        notes[day] = {
                            "delivery": "complete" if day in deliveries else "missing",
                            "malformed_lines": malformed.get(day, 0),
                            "warnings": dg.MetadataValue.md(
                                "\n".join(f"- {w}" for w in report.warnings if day.isoformat() in w)
                                or "_none_"
                            ),
                        }
                    yield chunk_days, frame
                    del frame  # before the next chunk is read (see DailyFrames.__iter__)

            yield dg.Output(
                DailyFrames(chunks(), day_metadata=notes), output_name=raw_asset_name(name)
            )

    return raw_tables


def _estimated_rows(folder: Path | None, file_name: str, sample: int = 1 << 16) -> int:
    """A file's records, estimated from its size and the line ends in its first ``sample`` bytes
    (exact for a file smaller than that, but for quoted line breaks)."""
    path = folder / file_name if folder is not None else None
    if path is None or not path.is_file():
        return 0
    with path.open("rb") as fh:
        head = fh.read(sample)
    if not head:
        return 0
    lines = head.count(b"\n") or head.count(b"\r") or 1
    return max(1, round(path.stat().st_size * lines / len(head)))


def _malformed_by_day(frame: pd.DataFrame) -> dict:
    bad = frame.loc[frame["parse_error"].notna(), "delivery_date"]
    return {day: int(n) for day, n in bad.value_counts().items()}
