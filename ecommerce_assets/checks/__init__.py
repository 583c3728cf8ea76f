"""The validation suite as Dagster asset checks, one step per layer (docs/data-quality.md).

``build_checks(partitions_def, partitioned_assets)`` returns every check definition for
``Definitions``; checks of partitioned assets report per delivery day, and each check's gate can
be overridden from ``ECOMMERCE_QUALITY_GATES`` (``gates.py``).

Where things are: what a check is and its result (``framework.py``), the run's days
(``days.py``), checks written as SQL (``sql.py``), the failing sample's markdown (``markdown.py``),
one step per layer (``step.py``) and per-day results (``daily.py``); each layer's checks in
``raw.py``, ``staging.py``, ``marts.py``, ``quality.py`` (``audit.py``: the raw-to-staging audit).
"""

from collections.abc import Collection, Mapping
from dataclasses import replace

import dagster as dg

from ..assets.raw import raw_asset_name
from ..contract import TABLES
from ..resources import LANDING
from .gates import Gate, load_gates
from .marts import dimension_checks, fact_checks
from .quality import quality_checks
from .raw import raw_checks
from .staging import staging_checks
from .step import build_check_step


def build_checks(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    partitioned_assets: Collection[str] = (),
    gates: Mapping[str, Gate] | None = None,
) -> list[dg.AssetChecksDefinition]:
    """Every asset check, grouped in one ``multi_asset_check`` step per layer."""
    first_day = partitions_def.start.date()  # the first partition, even before it has ended
    first = first_day.isoformat()
    gates = load_gates() if gates is None else gates
    layers = {
        "raw_checks": raw_checks(),
        "staging_checks": staging_checks(first),
        "dimension_checks": dimension_checks(),
        "fact_checks": fact_checks(first),
        "quality_checks": quality_checks(),
    }
    known = {c.gate_key for checks in layers.values() for c in checks}
    unknown = sorted(set(gates) - known)
    if unknown:
        raise ValueError(f"quality gates name checks that do not exist: {', '.join(unknown)}")
    descriptions = {
        "raw_checks": "Raw layer: malformed lines, unknown columns, row-count anomalies, "
        "freshness.",
        "staging_checks": "Staged layer: keys, dates, ranges, same-delivery order lines, row "
        "conservation (raw = staged + quarantined + duplicates), quarantine reasons, repairs.",
        "dimension_checks": "Dimensions: keys, SCD2 versions (one current per key, intervals "
        "that chain), unknown members, accepted values and ranges.",
        "fact_checks": "Facts: keys, foreign keys into the dimensions, dates, numbers in range, "
        "amounts recomputed from the lines, orphan references, lines sold below cost.",
        "quality_checks": "Data-quality report: quality thresholds, score drops.",
    }
    steps = [
        build_check_step(
            name,
            [replace(c, gate=gates[c.gate_key]) if c.gate_key in gates else c for c in checks],
            first_day,
            partitions_def=partitions_def,
            partitioned_assets=partitioned_assets,
            required_resource_keys={LANDING} if name == "raw_checks" else None,
            description=descriptions[name],
        )
        for name, checks in layers.items()
    ]
    schema_changes = dg.build_column_schema_change_checks(
        assets=[raw_asset_name(t) for t in TABLES]
    )
    return [steps[0], *schema_changes, *steps[1:]]
