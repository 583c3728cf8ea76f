"""Whether an SCD2 dimension is updated from the days staged since its last build, or rebuilt.

A dimension's history is per business key, so a day that brings versions of some keys changes
those keys' rows only: the update recomputes them from all their staged rows and replaces them
(``slices.KeyedFrame``), and a day costs its keys, not the history (issue 26). Which days are new
comes from Dagster's own record: the staged asset's materializations after the newest one the
last build had seen, which the build notes on its materialization (``staged_through``, a storage
id read before the staged rows are, so a day staged while the build reads is picked up by the
next one, at worst twice, never missed).

Rebuilt from all history instead when the update could be wrong or there is nothing to update
from: no earlier build in this instance, the table missing from the warehouse, SCD2 rules other
than the last build's (``SCD2_VERSION``, bumped with any change to them), or a day staged
again (a re-delivery can remove a key's row, which an update by the keys it holds now would
not see). One window is left: on a PostgreSQL instance a storage id is taken at insert, so a
staging event inserted at the same moment as a newer one could commit after the build read the
newer; the dimension's staging runs finish before it starts (the asset graph's order), so only a
staging run of other days overlapping a dimension build could meet it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dagster as dg

STAGED_THROUGH = "staged_through"
# The SCD2 rules' version (``transforms/dimensions.py``), also the dimensions' Dagster code version:
# a build under other rules than the last one's rebuilds everything.
LOGIC_VERSION = "logic_version"
_PAGE = 1000


@dataclass(frozen=True)
class Update:
    """The plan: ``days`` staged since the last build (``None``: rebuild from all history)."""

    days: list[date] | None
    staged_through: int
    reason: str


def plan_update(
    instance: dg.DagsterInstance, dimension: str, staged: str, table_exists: bool, version: str
) -> Update:
    """How ``dimension`` is brought up to date with the asset ``staged`` it is built from, under
    the SCD2 rules of ``version``."""
    newest = _newest(instance, staged)
    if not table_exists:
        return Update(None, newest, "rebuilt: the table is not in the warehouse")
    last = instance.get_latest_materialization_event(dg.AssetKey(dimension))
    materialization = last.asset_materialization if last else None
    noted = materialization.metadata.get(STAGED_THROUGH) if materialization else None
    if noted is None:
        return Update(None, newest, "rebuilt: no earlier build recorded in this instance")
    built_with = materialization.metadata.get(LOGIC_VERSION)
    if built_with is None or built_with.value != version:
        was = built_with.value if built_with is not None else "unknown"
        return Update(None, newest, f"rebuilt: the SCD2 rules changed (version {was} -> {version})")
    through = int(noted.value)
    days, seen = _staged_since(instance, staged, through)
    if not days:
        return Update([], max(through, seen), "unchanged: no day staged since the last build")
    restaged = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            dg.AssetKey(staged),
            asset_partitions=sorted(days),
            before_storage_id=through + 1,
        ),
        limit=1,
    ).records
    if restaged:
        return Update(
            None, max(through, seen), f"rebuilt: {restaged[0].partition_key} was staged again"
        )
    return Update(
        sorted(date.fromisoformat(d) for d in days),
        max(through, seen),
        f"updated: the keys of {len(days)} day(s) staged since the last build",
    )


def _newest(instance: dg.DagsterInstance, staged: str) -> int:
    records = instance.fetch_materializations(dg.AssetKey(staged), limit=1).records
    return records[0].storage_id if records else 0


def _staged_since(instance: dg.DagsterInstance, staged: str, through: int) -> tuple[set[str], int]:
    """Partitions of ``staged`` materialized after storage id ``through``, and the newest id."""
    days: set[str] = set()
    newest, cursor = through, None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(staged), after_storage_id=through),
            limit=_PAGE,
            cursor=cursor,
            ascending=True,
        )
        for record in result.records:
            newest = max(newest, record.storage_id)
            if record.partition_key:
                days.add(record.partition_key)
        if not result.has_more:
            return days, newest
        cursor = result.cursor
