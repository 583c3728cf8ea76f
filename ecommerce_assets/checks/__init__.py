"""The validation suite as Dagster asset checks, one step per layer (README: "Data quality").

``build_checks(partitions_def)`` returns every check definition for ``Definitions``.
"""

from datetime import date

import dagster as dg

from ..assets.raw import raw_asset_name
from ..contract import TABLES
from .common import build_check_step
from .marts import dimension_checks, fact_checks
from .quality import quality_checks
from .raw import raw_checks
from .staging import staging_checks


def build_checks(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """Every asset check, grouped in one ``multi_asset_check`` step per layer."""
    first = partitions_def.get_first_partition_key()
    first_day = date.fromisoformat(first[:10])
    return [
        build_check_step(
            "raw_checks",
            raw_checks(),
            first_day,
            required_resource_keys={"landing"},
            description="Raw layer: malformed lines, unknown columns, row-count anomalies, "
            "freshness.",
        ),
        *dg.build_column_schema_change_checks(assets=[raw_asset_name(t) for t in TABLES]),
        build_check_step(
            "staging_checks", staging_checks(first[:10]), first_day, description="Staged layer."
        ),
        build_check_step("dimension_checks", dimension_checks(), first_day, description="Dims."),
        build_check_step("fact_checks", fact_checks(first[:10]), first_day, description="Facts."),
        build_check_step(
            "quality_checks", quality_checks(), first_day, description="Data-quality report."
        ),
    ]
