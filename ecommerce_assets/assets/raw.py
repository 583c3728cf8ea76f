"""Raw layer: each delivered CSV as text, one partition per delivery day, plus lineage columns."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from ..contract import TABLES
from ..landing import DeliveryError, ReadReport, check_delivery, complete_deliveries, read_raw
from ..partitions import window_days
from ..resources import LandingZone
from ..schemas import RAW_MODELS, conform
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
        # A day of the run without a complete delivery is a gap: reported on every output.
        missing = [day.isoformat() for day in days if day not in deliveries]
        if missing:
            context.log.warning(
                f"no complete delivery for {len(missing)} day(s): {', '.join(missing)}"
            )
        ingested_at = datetime.now(UTC).replace(tzinfo=None)
        for name in selected:
            table_report = ReadReport()
            frame = read_raw(landing.root, TABLES[name], days, ingested_at, table_report)
            for warning in table_report.warnings:
                context.log.warning(warning)
            malformed = int(frame["parse_error"].notna().sum())
            yield dg.Output(
                conform(frame, RAW_MODELS[name]),
                output_name=raw_asset_name(name),
                metadata={
                    "delivery_days": len(days),
                    "files_read": table_report.files_read,
                    "malformed_lines": malformed,
                    "missing_deliveries": dg.MetadataValue.json(missing),
                    "warning_count": len(table_report.warnings),
                    # Metadata is copied onto every partition of a range run: keep it small.
                    "warnings": dg.MetadataValue.md(
                        "\n".join(f"- {w}" for w in table_report.warnings[:20]) or "_none_"
                    ),
                },
            )

    return raw_tables
