"""A layer's checks as one ``multi_asset_check`` step: one warehouse connection for all of them."""

from collections.abc import Collection, Iterator, Sequence
from datetime import date
from typing import Any

import dagster as dg

from ..resources import WAREHOUSE, Warehouse
from .daily import daily_evaluations
from .days import checked_days
from .framework import Check, CheckInputs, Outcome, check_result


def build_check_step(
    name: str,
    checks: Sequence[Check],
    first_delivery: date,
    *,
    partitions_def: dg.PartitionsDefinition | None = None,
    partitioned_assets: Collection[str] = (),
    required_resource_keys: set[str] | None = None,
    description: str = "",
) -> dg.AssetChecksDefinition:
    """One ``multi_asset_check`` step running ``checks`` on one warehouse connection.

    A check of an asset in ``partitioned_assets`` (unless it opts out with ``per_day=False``) is
    partitioned like it and reports one result per delivery day (``daily.py``). Subsettable: a
    run that materializes only some of the guarded assets runs only their checks. An error while
    evaluating a check (e.g. a missing table) is reported as that check failing.
    """
    by_key = {c.key: c for c in checks}
    specs = {
        c.key: c.spec(partitions_def if c.per_day and c.asset in partitioned_assets else None)
        for c in checks
    }

    @dg.multi_asset_check(
        name=name,
        specs=list(specs.values()),
        can_subset=True,
        required_resource_keys={WAREHOUSE, *(required_resource_keys or set())},
        description=description or None,
    )
    def _step(context: dg.AssetCheckExecutionContext) -> Iterator[Any]:
        warehouse: Warehouse = context.resources.warehouse
        window = checked_days(dict(context.run.tags))
        selected = [c for k, c in by_key.items() if k in context.selected_asset_check_keys]
        targets: dict = {}
        with warehouse.connect(context.log, context.run.run_id) as con:
            inputs = CheckInputs(con, window, first_delivery, context)
            for check in selected:
                try:
                    outcome = check.evaluate(inputs)
                except Exception as exc:  # reported on the dashboard, not a crashed step
                    context.log.error(f"{check.asset}.{check.name} could not run: {exc}")
                    outcome = Outcome(0, 0, passed=False, description=f"Could not run: {exc}")
                spec = specs[check.key]
                if spec.partitions_def is None:
                    yield check_result(check, outcome, window)
                    continue
                if outcome.by_day is None and outcome.passed is None:
                    raise dg.DagsterInvariantViolationError(
                        f"{check.asset}.{check.name} is checked per day but its outcome has no "
                        "per-day counts (give it by_day, or per_day=False)"
                    )
                yield from daily_evaluations(
                    context, check, outcome, window, spec.get_python_identifier(), targets
                )

    return _step
