"""Which events the project's event log (``instance_storage.py``) writes in batches, and how.

Pure helpers over Dagster's ``EventLogEntry``: what a batch may hold, and which of its events
must still write the asset-key row; plus the insert helper the batch paths share.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg
from sqlalchemy.engine import Connection

from .dagster_internals import ASSET_EVENTS


def inserted(conn: Connection, statement: Any) -> int | None:
    """The primary key ``statement`` (an insert) gave its row; the result closed at once (a
    SQLAlchemy 2 result is a context manager: what Dagster's ``db_result`` shim does for 1.x)."""
    with conn.execute(statement) as result:
        return result.inserted_primary_key[0]


def batchable(event: dg.EventLogEntry) -> bool:
    """Asset events: a run-shard row, an index-shard mirror, its tags and the asset-key row."""
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS


def held_check_evaluation(event: dg.EventLogEntry) -> bool:
    """A run's evaluation of one partition of a check (what a range run logs per check and day)."""
    if not (event.is_dagster_event and event.run_id):
        return False
    if event.dagster_event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        return False
    return event.get_dagster_event().event_specific_data.partition is not None  # type: ignore[union-attr]


def batch_size() -> int:
    return int(os.getenv("DAGSTER_EVENT_BATCH_SIZE", "0") or 0)


def asset_row_writers(events: Sequence[dg.EventLogEntry]) -> list[int]:
    """Indexes of the events whose ``asset_keys`` write shows in the row after all of them.

    The row of an asset key is inserted by its first event; each later write sets the columns
    its event type sets, so a write followed by one of the same key and type leaves no trace.
    Within one transaction the result is the per-event one, at ~1 write per asset instead of N.
    """
    first: dict[dg.AssetKey | None, int] = {}
    last: dict[tuple[dg.AssetKey | None, dg.DagsterEventType | None], int] = {}
    for i, event in enumerate(events):
        key = event.get_dagster_event().asset_key
        first.setdefault(key, i)
        last[(key, event.dagster_event_type)] = i
    return sorted({*first.values(), *last.values()})
