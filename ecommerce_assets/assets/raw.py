"""Raw layer: each delivered CSV as text, one partition per delivery day, plus lineage columns.

``raw_products`` may come from the catalog API instead (``ECOMMERCE_PRODUCTS_SOURCE=api``): the
same columns and lineage, read by ``catalog_client.py`` before anything of the run is written.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pandas as pd

from ..catalog_client import CatalogApiError, DayFetch, extra_fields, fetch_days, raw_frame
from ..contract import TABLES
from ..deliveries import LOADED, DayVerdicts, sort_days
from ..landing import ReadReport, read_raw
from ..partitions import format_days, window_days
from ..resources import CatalogApi, LandingZone
from ..schemas.raw import RAW_MODELS, RawDeliveries
from ..slices import DailyFrames, chunk_rows, plan_chunks
from .common import table_out

RAW_SCHEMA = "raw"
GROUP = "raw"
DELIVERIES = "raw_deliveries"


def raw_asset_name(table: str) -> str:
    return f"raw_{table}"


def build_raw_assets(
    partitions_def: dg.PartitionsDefinition, products_source: str = "csv"
) -> dg.AssetsDefinition:
    """All six raw tables as one multi-asset, so a day's headers are checked before any write
    (and, with ``products_source="api"``, the day's catalog fetched before any write)."""
    outs = {
        raw_asset_name(name): table_out(
            RAW_MODELS[name],
            schema=RAW_SCHEMA,
            group=GROUP,
            partition_expr="delivery_date",
            schema_on_every_day=True,  # its column-schema-change check compares partitions
            is_required=False,
            description=_API_DESCRIPTION
            if name == "products" and products_source == "api"
            else (
                f"One row per CSV record of {spec.file_name} as delivered (all text), malformed "
                "lines included with their raw text, plus lineage: delivery_date, source_file, "
                "line_number, ingested_at."
            ),
        )
        for name, spec in TABLES.items()
    }

    outs[DELIVERIES] = table_out(
        RawDeliveries,
        schema=RAW_SCHEMA,
        group=GROUP,
        partition_expr="delivery_date",
        is_required=False,
        description="The delivery ledger: one row per contract file of each day loaded (size, "
        "SHA-256, when _SUCCESS was written, when and by which run it was loaded). Each day's "
        "materialization says what the run did with the day: loaded, refused (the file, line, "
        "column and reason; nothing of the day written) or not delivered (kept as it was).",
    )

    @dg.multi_asset(
        name="raw_tables",
        outs=outs,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
    )
    def raw_tables(
        context: dg.AssetExecutionContext, landing: LandingZone, catalog: CatalogApi
    ) -> Iterator[dg.Output]:
        days = window_days(context)
        selected = [n for n in TABLES if raw_asset_name(n) in context.selected_output_names]
        api = catalog.source == "api"
        from_api = {"products"} & set(selected) if api else set()
        # The day is the unit: every file of a day is checked before anything is written, and a
        # day with a broken file is refused alone (the other days load), nothing of it written.
        csv_specs = [s for n, s in TABLES.items() if not (n == "products" and api)]
        days_seen = _sort_days(context, landing.root, days, csv_specs)
        loaded = days_seen.loaded
        # The catalog of every loaded day next: a failed fetch writes nothing.
        fetched = _fetch(context, catalog, loaded) if from_api else {}
        ingested_at = datetime.now(UTC).replace(tzinfo=None)
        for name in selected:
            spec = TABLES[name]
            # Chunks of days of about ``chunk_rows()`` rows, estimated from each file's size and
            # its own bytes per record (a fixed 100 bytes a row made chunks of order lines,
            # ~32 bytes a row, 3 M rows: memory grew with the range up to that size).
            if name in from_api:
                rows = {d: len(fetched[d].items) for d in loaded}
            else:
                rows = {d: _estimated_rows(days_seen.folders[d], spec.file_name) for d in loaded}
            plan = plan_chunks(loaded, rows, chunk_rows())
            notes: dict = days_seen.notes()

            def chunks(spec=spec, plan=plan, notes=notes, api=name in from_api) -> Iterator[tuple]:
                for chunk_days in plan:
                    report = ReadReport()
                    if api:
                        frame = _api_frame([fetched[d] for d in chunk_days], ingested_at, report)
                    else:
                        frame = read_raw(
                            landing.root, spec, chunk_days, ingested_at, report, days_seen.folders
                        )
                        days_seen.still_complete(chunk_days)
                    for warning in report.warnings:
                        context.log.warning(warning)
                    malformed = _malformed_by_day(frame)
                    for day in chunk_days:
                        notes[day] = {
                            **notes[day],
                            "delivery": "api" if api else LOADED,
                            "malformed_lines": malformed.get(day, 0),
                            "warnings": dg.MetadataValue.md(
                                "\n".join(f"- {w}" for w in report.warnings if day.isoformat() in w)
                                or "_none_"
                            ),
                        }
                    yield chunk_days, frame
                    del frame  # before the next chunk is read (see DailyFrames.__iter__)

            yield dg.Output(
                DailyFrames(chunks(), day_metadata=notes, days=set(loaded)),
                output_name=raw_asset_name(name),
            )
        if DELIVERIES in context.selected_output_names:
            ledger = days_seen.ledger(ingested_at, context.run_id)
            yield dg.Output(
                DailyFrames(
                    [(loaded, ledger)], day_metadata=days_seen.ledger_notes(), days=set(loaded)
                ),
                output_name=DELIVERIES,
            )

    return raw_tables


_API_DESCRIPTION = (
    "One row per record of the catalog API's /products feed for the day (docs/catalog-api.md), "
    "as served (all text), malformed and incomplete records included with their raw JSON, plus "
    "lineage: delivery_date, source_file (api:<day>/products), line_number (the record's seq + 1), "
    "ingested_at."
)


def _sort_days(
    context: dg.AssetExecutionContext, root: Path, days: list[date], specs: list
) -> DayVerdicts:
    """Each day's verdict, logged: a refused day is an error naming file, line and column."""
    verdicts = sort_days(root, days, specs, context.instance)
    for day, reason in verdicts.refused.items():
        context.log.error(f"{day}: delivery refused, nothing of the day written: {reason}")
    if verdicts.missing:
        context.log.warning(
            f"no complete delivery for {len(verdicts.missing)} day(s), kept as they were: "
            f"{format_days(sorted(verdicts.missing))}"
        )
    return verdicts


def _fetch(
    context: dg.AssetExecutionContext, catalog: CatalogApi, days: list[date]
) -> dict[date, DayFetch]:
    """Every day's feed, or a Failure naming the URL and page (nothing written yet)."""
    try:
        fetched = fetch_days(days, catalog.settings(), log=context.log.warning)
    except CatalogApiError as exc:
        raise dg.Failure(description=str(exc)) from exc
    context.log.info(
        f"catalog API {catalog.url}: {len(fetched)} day(s), "
        f"{sum(f.pages for f in fetched.values())} pages in "
        f"{sum(f.requests for f in fetched.values())} requests, "
        f"{sum(f.restarts for f in fetched.values())} walk(s) restarted, "
        f"{sum(len(f.items) for f in fetched.values())} records"
    )
    return fetched


def _api_frame(fetches: list[DayFetch], ingested_at: datetime, report: ReadReport) -> pd.DataFrame:
    for fetch in fetches:
        extra = extra_fields(fetch)
        if extra:
            report.warnings.append(f"catalog API, {fetch.day}: unknown field(s) {extra} ignored")
    return raw_frame(fetches, ingested_at)


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
