"""``analytics_copy`` (group ``analytics``): the marts published for analysts and the dashboard.

After the aggregates and the quality report, it publishes the dimensions, facts, aggregates and
``data_quality_report`` to ``ECOMMERCE_ANALYTICS`` (default ``analytics.duckdb`` beside the
warehouse) and swaps the file in atomically (``publish.py``), with a schema of its own:

- ``published.info``: one row: when, by which run, the data's first and last delivery day;
- ``published.quarantine_by_reason``: quarantined rows by delivery day, table and reason;
- ``published.check_results``: the asset checks whose latest evaluation (per check and delivery
  day) failed: ``warned`` (severity WARN) or ``failed`` (ERROR), read from the Dagster instance;
- ``published.tables``: what this publish did to each table (copied, days replaced, unchanged).

It runs last in its run (lowest ``dagster/priority``): the checks of the run's other steps, which
nothing orders before it, have been evaluated when it reads their results.

Its upstreams are inputs loaded through the project's I/O manager, so a day that failed a blocking
check in an earlier run is refused (``blocking.py``), and Dagster skips it within a run. It is not
partitioned: it reads every day of the partitioned marts, and ``apply_automation`` gives it the
after-upstream condition (upstream blocking checks passed). ``staging.stg_quarantine`` is read for
the summary but is not an upstream of its own: it changes only with the staged days, which feed
``data_quality_report``, an upstream; as one, a partial re-staging would request a publish before
the marts it feeds were rebuilt. A lake publishes no copy unless
``ECOMMERCE_ANALYTICS`` is set: readers attach the lake itself (docs/analytics.md).
"""

import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow
import sqlalchemy

from ..dagster_internals import AssetCheckExecutionRecordStatus, AssetCheckExecutionsTable
from ..publish import META, AnalyticsCopy, Publication, Source, publish
from ..resources import Warehouse
from ..slices import WarehouseSlice
from ..warehouse import describe_warehouse, is_lake

GROUP = "analytics"
ASSET = "analytics_copy"
ANALYTICS = "analytics"  # resource key
MARTS = (
    "dim_date",
    "dim_payment_method",
    "dim_users",
    "dim_products",
    "fact_orders",
    "fact_order_items",
    "fact_events",
    "fact_reviews",
    "agg_daily_sales",
    "agg_conversion_funnel",
    "agg_product_performance",
    "agg_customer_lifetime",
    "data_quality_report",
)
QUARANTINE_SQL = """
    SELECT CAST(delivery_date AS DATE) AS delivery_date, table_name, reason, count(*) AS rows
    FROM staging.stg_quarantine GROUP BY ALL ORDER BY ALL
"""
# Event-log look-ups per query (SQLite's limit on bound variables).
_BATCH = 500
CHECK_COLUMNS = pyarrow.schema(
    [
        ("asset", pyarrow.string()),
        ("check_name", pyarrow.string()),
        ("partition", pyarrow.string()),
        ("day", pyarrow.date32()),
        ("status", pyarrow.string()),
        ("severity", pyarrow.string()),
        ("rows_failing", pyarrow.int64()),
        ("description", pyarrow.string()),
        ("run_id", pyarrow.string()),
        ("evaluated_at", pyarrow.timestamp("us")),
    ]
)


def check_results(instance: dg.DagsterInstance, keys: Sequence[dg.AssetCheckKey]) -> pyarrow.Table:
    """The checks whose latest evaluation on a delivery day (or on the table) did not pass."""
    storage = instance.event_log_storage
    flush = getattr(storage, "flush_check_evaluations", None)
    if flush is not None:  # the project's storage holds a step's evaluations in a batch
        flush()
    if hasattr(storage, "index_connection"):
        evaluations = _latest_failures_sql(storage, keys)
    else:
        evaluations = _latest_failures(storage, keys)
    rows = []
    for entry in evaluations:
        evaluation = entry.get_dagster_event().event_specific_data
        error = evaluation.severity == dg.AssetCheckSeverity.ERROR
        failing = evaluation.metadata.get("rows_failing")
        rows.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check_name": evaluation.check_name,
                "partition": evaluation.partition,
                "day": _day(evaluation.partition),
                "status": "failed" if error else "warned",
                "severity": evaluation.severity.value,
                "rows_failing": _int(getattr(failing, "value", None)),
                "description": evaluation.description,
                "run_id": entry.run_id,
                "evaluated_at": datetime.fromtimestamp(entry.timestamp, UTC).replace(tzinfo=None),
            }
        )
    rows.sort(key=lambda r: (r["asset"], r["check_name"], r["partition"] or ""))
    return pyarrow.Table.from_pylist(rows, schema=CHECK_COLUMNS)


def _latest_failures_sql(storage: Any, keys: Sequence[dg.AssetCheckKey]) -> list[dg.EventLogEntry]:
    """One query on the check-execution index of a SQL event log (SQLite, PostgreSQL): each
    (check, partition)'s latest evaluation, only failed ones deserialized. Dagster's
    ``get_asset_check_partition_info`` asks once per check and joins each asset's
    materializations: 0.8 s for the 103 checks of a scale-10 year, against 0.05 s."""
    table = AssetCheckExecutionsTable
    failed = AssetCheckExecutionRecordStatus.FAILED.value
    ever_failed = (  # the (check, partition)s that failed once: the few whose latest can have
        sqlalchemy.select(table.c.asset_key, table.c.check_name, table.c.partition)
        .where(table.c.execution_status == failed)
        .distinct()
        .subquery()
    )
    latest = (
        sqlalchemy.select(sqlalchemy.func.max(table.c.id).label("id"))
        .join(
            ever_failed,
            sqlalchemy.and_(
                table.c.asset_key == ever_failed.c.asset_key,
                table.c.check_name == ever_failed.c.check_name,
                table.c.partition.is_not_distinct_from(ever_failed.c.partition),
            ),
        )
        .where(table.c.evaluation_event_storage_id.isnot(None))
        .group_by(table.c.asset_key, table.c.check_name, table.c.partition)
        .subquery()
    )
    query = (
        sqlalchemy.select(table.c.asset_key, table.c.check_name, table.c.evaluation_event)
        .join(latest, table.c.id == latest.c.id)
        .where(table.c.execution_status == failed)
    )
    wanted = {(k.asset_key.to_string(), k.name) for k in keys}
    with storage.index_connection() as conn:
        rows = conn.execute(query).fetchall()
    return [
        dg.deserialize_value(event, dg.EventLogEntry)
        for asset_key, check_name, event in rows
        if (asset_key, check_name) in wanted and event
    ]


def _latest_failures(storage: Any, keys: Sequence[dg.AssetCheckKey]) -> list[dg.EventLogEntry]:
    """The same through Dagster's public storage API (any event log storage)."""
    failed = AssetCheckExecutionRecordStatus.FAILED
    infos = storage.get_asset_check_partition_info(list(keys)) if keys else []
    ids = sorted(
        i.latest_check_event_storage_id for i in infos if i.latest_execution_status == failed
    )
    out = []
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        records = storage.get_event_records(
            dg.EventRecordsFilter(
                event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, storage_ids=batch
            ),
            limit=len(batch),
        )
        out += [record.event_log_entry for record in records]
    return out


def _day(partition: str | None) -> date | None:
    try:
        return date.fromisoformat(partition) if partition else None
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def publication_metadata(done: Publication, seconds: float) -> dict[str, dg.MetadataValue]:
    changed = {t.name: t.days or t.action for t in done.tables if t.action != "unchanged"}
    listing = "\n".join(
        ["| table | rows | this publish |", "|---|---:|---|"]
        + [
            f"| {t.name} | {t.rows:,} | {t.action}"
            + (f" ({', '.join(t.days[:5])}{' …' if len(t.days) > 5 else ''})" if t.days else "")
            + " |"
            for t in done.tables
        ]
    )
    meta = {
        "path": dg.MetadataValue.path(str(done.path.resolve())),
        "mode": dg.MetadataValue.text(done.mode),
        "base": dg.MetadataValue.text(done.reason),
        "tables": dg.MetadataValue.int(len(done.tables)),
        "rows": dg.MetadataValue.int(done.rows),
        "bytes": dg.MetadataValue.int(done.bytes),
        "publish_seconds": dg.MetadataValue.float(done.seconds),
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
        "changed": dg.MetadataValue.json(changed),
        "table_list": dg.MetadataValue.md(listing),
    }
    if done.parquet is not None:
        meta["parquet"] = dg.MetadataValue.path(str(done.parquet.absolute()))
    return meta


def build_analytics_assets(check_keys: Sequence[dg.AssetCheckKey]) -> list[dg.AssetsDefinition]:
    """The publishing asset; ``check_keys``: every check of the Definitions (their results)."""
    keys = list(check_keys)

    @dg.asset(
        name=ASSET,
        group_name=GROUP,
        ins={name: dg.AssetIn() for name in MARTS},
        kinds={"duckdb"},
        # Among the steps ready at once (the checks of its upstreams), it goes last.
        op_tags={"dagster/priority": "-100"},
        description="The marts, the quality report, a quarantine summary and the checks that "
        "warned or failed, published for analysts as a DuckDB file swapped in atomically "
        "(ECOMMERCE_ANALYTICS, default analytics.duckdb beside the warehouse): readers hold it "
        "open while runs write. Parquet too with ECOMMERCE_ANALYTICS_PARQUET. docs/analytics.md.",
    )
    def analytics_copy(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        analytics: AnalyticsCopy,
        **tables: WarehouseSlice,
    ) -> dg.MaterializeResult:
        started = time.perf_counter()
        if not analytics.path:
            # A lake: readers attach the lake (snapshots, no lock); nothing to copy.
            return dg.MaterializeResult(
                metadata={
                    "mode": "none",
                    "readers": describe_warehouse(warehouse.database)
                    + " — attach the lake read-only (docs/analytics.md); set "
                    "ECOMMERCE_ANALYTICS for a DuckDB copy.",
                }
            )
        sources = [
            Source(tables[name].schema, tables[name].table, tables[name].column) for name in MARTS
        ]
        checks = check_results(context.instance, keys)
        with warehouse.connect(context.log, context.run_id) as con:
            first, last = con.execute(
                "SELECT min(delivery_date), max(delivery_date) FROM marts.data_quality_report"
            ).fetchone()
            done = publish(
                con,
                sources,
                {
                    f"{META}.quarantine_by_reason": QUARANTINE_SQL,
                    f"{META}.check_results": checks,
                },
                Path(analytics.path),
                info={
                    "run_id": context.run_id,
                    "first_delivery_day": first,
                    "last_delivery_day": last,
                    "warehouse": describe_warehouse(warehouse.database),
                    "lake": is_lake(warehouse.database),
                },
                parquet=Path(analytics.parquet) if analytics.parquet else None,
                log=context.log,
            )
        context.log.info(
            f"Published {done.path} ({done.mode}, {done.rows:,} rows) in {done.seconds:.2f} s"
        )
        return dg.MaterializeResult(
            metadata=publication_metadata(done, time.perf_counter() - started)
        )

    return [analytics_copy]
