"""The one ``Definitions`` of the project: every layer, check, resource and automation wired."""

from __future__ import annotations

import warnings

import dagster as dg

from .assets.aggregates import build_aggregate_assets
from .assets.analytics import ANALYTICS, build_analytics_assets
from .assets.dimensions import build_dimension_assets
from .assets.facts import build_fact_assets
from .assets.quality import build_quality_assets
from .assets.raw import build_raw_assets
from .assets.staging import build_staging_assets
from .automation import apply_automation, build_automation
from .catalog_client import CatalogSettings, load_catalog_settings
from .checks import build_checks
from .io_manager import DuckDBWarehouseIOManager
from .partitions import calendar_partitions, default_first_day
from .publish import AnalyticsCopy
from .resources import CATALOG, LANDING, WAREHOUSE, WAREHOUSE_IO, CatalogApi, LandingZone, Warehouse
from .settings import Settings, analytics_target, days_per_run_policy, load_settings


def build_definitions(settings: Settings, catalog: CatalogSettings | None = None) -> dg.Definitions:
    """Everything, for one landing zone and warehouse (tests pass temporary ones); products from
    ``catalog`` (default: ``ECOMMERCE_PRODUCTS_SOURCE`` and friends, read now).

    Dagster's beta/preview notices (backfill policies, partitioned check specs, dagster-pandera
    types, ...) are silenced while the definitions are built: they came once per decorated
    definition, ~70 lines on every code load, and buried what the load had to say.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return _build(settings, catalog or load_catalog_settings())


def _build(settings: Settings, catalog: CatalogSettings) -> dg.Definitions:
    partitions = calendar_partitions(settings.first_day or default_first_day(settings.landing_dir))
    assets = [
        build_raw_assets(partitions, catalog.source),
        build_staging_assets(partitions),
        *build_dimension_assets(),
        *build_fact_assets(partitions),
        *build_aggregate_assets(partitions),
        *build_quality_assets(partitions),
    ]
    policy = days_per_run_policy(settings)
    if policy is not None:  # the lake: a backfill is several runs of bounded ranges, in parallel
        assets = [
            a.with_attributes(backfill_policy=policy) if _splittable(a) else a for a in assets
        ]
    checks = build_checks(partitions, _partitioned(assets))
    # The analysts' published copy, after everything it publishes (docs/analytics.md).
    assets += build_analytics_assets([k for c in checks for k in c.check_keys])
    automation = build_automation(partitions)
    warehouse = Warehouse.from_settings(settings)
    defs = dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=automation["jobs"],
        sensors=automation["sensors"],
        schedules=automation["schedules"],
        resources={
            LANDING: LandingZone(path=str(settings.landing_dir)),
            CATALOG: CatalogApi.from_settings(catalog),
            WAREHOUSE: warehouse,
            ANALYTICS: AnalyticsCopy(
                path=str(analytics_target(settings) or ""),
                parquet=str(settings.analytics_parquet or ""),
                warehouse=warehouse,
            ),
            # The I/O manager reads and writes through the ``warehouse`` resource itself.
            WAREHOUSE_IO: DuckDBWarehouseIOManager(
                warehouse=warehouse, blocking_checks=_blocking_checks(checks)
            ),
        },
        # One process per run: DuckDB allows a single writer process, and in-process steps avoid
        # paying Dagster's process start-up per step.
        executor=dg.in_process_executor,
    )
    # Declarative automation for what is not partitioned by delivery (automation.py).
    return apply_automation(defs)


def _splittable(definition: dg.AssetsDefinition) -> bool:
    """Partitioned, and no day of it reads every day of an input (``AllPartitionMapping``).

    ``agg_daily_sales`` reads all of ``fact_orders`` for each day: split into runs it gains
    nothing, and Dagster's backfill of some days re-requested it without end (63 runs for an
    8-day backfill of a 366-day landing zone, measured), so it keeps its one-run policy.
    """
    if definition.partitions_def is None:
        return False
    return not any(
        isinstance(definition.get_partition_mapping(dep), dg.AllPartitionMapping)
        for dep in definition.dependency_keys
    )


def _blocking_checks(checks: list[dg.AssetChecksDefinition]) -> dict[str, list[str]]:
    """Each asset's blocking checks, by name (what its readers wait for across runs)."""
    out: dict[str, list[str]] = {}
    for definition in checks:
        for spec in definition.check_specs:
            if spec.blocking:
                out.setdefault(spec.asset_key.to_user_string(), []).append(spec.name)
    return {asset: sorted(names) for asset, names in out.items()}


def _partitioned(assets: list[dg.AssetsDefinition]) -> set[str]:
    return {
        key.path[-1]
        for definition in assets
        for key in definition.keys
        if definition.specs_by_key[key].partitions_def is not None
    }


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded lazily by Dagster tools, so the environment is read at load time, not import."""
    return build_definitions(load_settings())
