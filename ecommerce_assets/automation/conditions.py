"""Declarative automation: what is not partitioned by delivery is rebuilt after its upstreams."""

import warnings

import dagster as dg

from .jobs import WAREHOUSE_TAGS

AUTOMATION_SENSOR = "automation_sensor"
# Evaluating automation conditions costs CPU in the daemon; every 30 s is plenty for rebuilds.
AUTOMATION_INTERVAL_S = 30


def upstream_blocking_checks_passed() -> dg.AutomationCondition:
    """No materialized upstream partition has a blocking check that has not passed.

    Not Dagster's ``all_deps_blocking_checks_passed()``: it maps each dependency's *passing*
    partitions down to the asset, so a dimension reading every staged day (or the funnel reading
    two days) passed as soon as ANY of those days passed, and a day with a failed key check did
    not hold it back (``test_automation_evaluated.py``). Checks of partitions requested in the
    same tick count as passed, as in Dagster's condition.
    """
    ac = dg.AutomationCondition
    not_passed = ac.any_checks_match(
        ~(ac.check_passed() | ac.will_be_requested()), blocking_only=True
    ).with_label("a blocking check not passed")
    return (~ac.any_deps_match(~ac.missing() & not_passed)).with_label(
        "upstream blocking checks passed"
    )


def after_upstream_condition() -> dg.AutomationCondition:
    """Unpartitioned assets: after any upstream update, once upstream blocking checks passed.

    Like ``eager()`` without ``any_deps_missing``: a dimension built from the deliveries present
    is right even while later days of the partition window are still missing.
    """
    ac = dg.AutomationCondition
    return (
        (ac.newly_missing() | ac.any_deps_updated()).since_last_handled()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & upstream_blocking_checks_passed()
    ).with_label("after upstream updates, blocking checks passed")


def late_data_condition() -> dg.AutomationCondition:
    """Partitioned assets that read later deliveries (late events): every partition whose
    upstream partitions changed, not only the latest one as ``eager()`` would."""
    ac = dg.AutomationCondition
    return (
        ac.any_deps_updated().since_last_handled()
        & ~ac.any_deps_in_progress()
        & ~ac.in_progress()
        & upstream_blocking_checks_passed()
    ).with_label("late data arrived, blocking checks passed")


def _reads_later_partitions(spec: dg.AssetSpec) -> bool:
    for dep in spec.deps:
        mapping = dep.partition_mapping
        if isinstance(mapping, dg.TimeWindowPartitionMapping) and mapping.end_offset > 0:
            return True
    return False


def with_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    """The automation condition an asset gets unless it declares its own."""
    if spec.automation_condition is not None:
        return spec
    if spec.partitions_def is None:
        return spec.replace_attributes(automation_condition=after_upstream_condition())
    if _reads_later_partitions(spec):
        return spec.replace_attributes(automation_condition=late_data_condition())
    return spec


def apply_automation(defs: dg.Definitions) -> dg.Definitions:
    """``defs`` with automation conditions on the assets not partitioned by delivery.

    Applied here rather than in each asset module, so assets added later get it too.
    """
    with warnings.catch_warnings():  # map_asset_specs is marked preview in 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=with_automation)


def build_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the conditions above; on by default, its runs carry the warehouse tag."""
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        run_tags=WAREHOUSE_TAGS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=AUTOMATION_INTERVAL_S,
        description="Declarative automation: dimensions, lifetime aggregates and late-event "
        "aggregates after their upstreams change (only when blocking checks passed).",
    )
