"""A day's delivery as one unit: its files and their digests, whether the platform accepts it,
and what the Dagster instance remembers of its last load.

The raw step records each day it looked at on ``raw_deliveries`` (a row per delivered file in the
warehouse, and on the day's materialization: the verdict, the ``_SUCCESS`` mtime and a digest of
the files). The landing-zone sensor, the daily schedule and the arrival deadline read that
record from the instance, never the warehouse (a run may hold its lock): a re-delivery whose
files hash the same as what was loaded is a proven no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from .contract import SUCCESS_MARKER, TABLES, TableSpec
from .landing import DeliveryError, ReadReport, check_delivery

DELIVERIES_ASSET = dg.AssetKey("raw_deliveries")
# Metadata keys of a day's raw_deliveries materialization.
VERDICT_KEY = "delivery"
DIGEST_KEY = "delivery_sha256"
STAMP_KEY = "success_mtime_ns"
LOADED, REFUSED, NOT_DELIVERED = "loaded", "refused", "not delivered"


@dataclass(frozen=True)
class DeliveredFile:
    """One contract file of a delivery: its size and SHA-256, or absent (zero rows that day)."""

    name: str
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class Delivery:
    """A complete delivery folder, its files' digests and its ``_SUCCESS`` mtime."""

    day: date
    folder: Path
    files: tuple[DeliveredFile, ...]
    success_mtime_ns: int

    @property
    def digest(self) -> str:
        """One SHA-256 over every file's name and digest: equal digests, identical files."""
        text = "\n".join(f"{f.name}:{f.sha256 or 'absent'}" for f in self.files)
        return hashlib.sha256(text.encode()).hexdigest()


def success_mtime_ns(folder: Path) -> int | None:
    """The ``_SUCCESS`` marker's mtime (ns), or None when it is gone (a re-delivery started)."""
    try:
        return (folder / SUCCESS_MARKER).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def inspect_delivery(day: date, folder: Path) -> Delivery | None:
    """The delivery's files and digests, or None when ``_SUCCESS`` is gone."""
    stamp = success_mtime_ns(folder)
    if stamp is None:
        return None
    files = []
    for spec in TABLES.values():
        path = folder / spec.file_name
        if path.is_file():
            files.append(DeliveredFile(spec.file_name, path.stat().st_size, _sha256(path)))
        else:
            files.append(DeliveredFile(spec.file_name, None, None))
    return Delivery(day, folder, tuple(files), stamp)


def refusal(folder: Path, specs: Iterable[TableSpec]) -> str | None:
    """Why the delivery in ``folder`` cannot be loaded (its file, line, column and reason), or
    None: a file breaks the header contract, is compressed, or cannot be read as CSV text."""
    try:
        check_delivery(folder, specs, ReadReport())
    except DeliveryError as exc:
        return str(exc)
    return None


def latest_records(
    instance: dg.DagsterInstance, days: Iterable[date]
) -> dict[date, Mapping[str, Any]]:
    """Each day's metadata on its latest ``raw_deliveries`` materialization (days never run by
    the raw step are absent): the verdict, the ``_SUCCESS`` mtime and the digest it saw."""
    keys = {d.isoformat() for d in days}
    if not keys:
        return {}
    storage = instance.event_log_storage
    ids = storage.get_latest_storage_id_by_partition(
        DELIVERIES_ASSET, dg.DagsterEventType.ASSET_MATERIALIZATION, keys
    )
    if not ids:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(DELIVERIES_ASSET, storage_ids=list(ids.values())), limit=len(ids)
    ).records
    out: dict[date, Mapping[str, Any]] = {}
    for record in records:
        materialization = record.asset_materialization
        if record.partition_key and materialization is not None:
            out[date.fromisoformat(record.partition_key)] = {
                k: getattr(v, "value", v) for k, v in materialization.metadata.items()
            }
    return out


def verdict_of(record: Mapping[str, Any] | None) -> str | None:
    """``loaded``, ``refused`` or ``not delivered`` from a day's record (None: never run)."""
    if record is None:
        return None
    text = str(record.get(VERDICT_KEY, ""))
    for verdict in (LOADED, REFUSED, NOT_DELIVERED):
        if text.startswith(verdict):
            return verdict
    return None


def stamp_matches(record: Mapping[str, Any] | None, stamp: int) -> bool:
    """The day's last raw run saw this very ``_SUCCESS`` (no file needs hashing)."""
    return (
        verdict_of(record) in (LOADED, REFUSED)
        and record is not None
        and (record.get(STAMP_KEY) == stamp)
    )


def is_unchanged(record: Mapping[str, Any] | None, delivery: Delivery) -> bool:
    """The delivery is the one the raw step last saw for its day (loaded or refused): the same
    ``_SUCCESS``, or the same files (an identical re-delivery)."""
    if stamp_matches(record, delivery.success_mtime_ns):
        return True
    return (
        verdict_of(record) in (LOADED, REFUSED)
        and record is not None
        and (record.get(DIGEST_KEY) == delivery.digest)
    )


# What the warehouse holds for a day after a run: carried over when the run did not load it.
HELD_DIGEST_KEY = "loaded_sha256"


class DeliveryChangedError(RuntimeError):
    """A delivery's ``_SUCCESS`` was removed or rewritten while the run read the day."""


@dataclass
class DayVerdicts:
    """What a raw step decided for each day of its range, before it wrote anything.

    ``loaded``: complete and acceptable, replaced in the warehouse; ``refused``: complete but a
    file breaks the contract (nothing of the day written, it keeps what it had); ``missing``: no
    ``_SUCCESS`` (not delivered, or being re-delivered: kept as it was, never deleted).
    """

    days: list[date]
    deliveries: dict[date, Delivery]
    refused: dict[date, str]
    missing: dict[date, str]
    previous: dict[date, Mapping[str, Any]]

    @property
    def loaded(self) -> list[date]:
        return [d for d in self.days if d in self.deliveries and d not in self.refused]

    @property
    def folders(self) -> dict[date, Path]:
        return {d: self.deliveries[d].folder for d in self.loaded}

    def verdict(self, day: date) -> str:
        if day in self.refused:
            return f"{REFUSED}: {self.refused[day]}; nothing of the day was written"
        if day in self.missing:
            return f"{NOT_DELIVERED}: {self.missing[day]}; the day keeps what it had"
        return LOADED

    def notes(self) -> dict[date, dict[str, Any]]:
        """Each day's ``delivery`` verdict, for every table's materialization of the day."""
        return {day: {VERDICT_KEY: self.verdict(day)} for day in self.days}

    def ledger_notes(self) -> dict[date, dict[str, Any]]:
        """Each day's record on ``raw_deliveries``: the verdict, the delivery seen (its
        ``_SUCCESS`` mtime and digest) and the one the warehouse holds after the run."""
        out = {}
        for day in self.days:
            meta: dict[str, Any] = {VERDICT_KEY: self.verdict(day)}
            seen = self.deliveries.get(day)
            if seen is not None:
                meta[STAMP_KEY] = dg.MetadataValue.int(seen.success_mtime_ns)
                meta[DIGEST_KEY] = seen.digest
            held = seen.digest if day in self.loaded and seen else None
            held = held or (self.previous.get(day) or {}).get(HELD_DIGEST_KEY)
            if held:
                meta[HELD_DIGEST_KEY] = held
            out[day] = meta
        return out

    def ledger(self, loaded_at: Any, run_id: str) -> Any:
        """``raw_deliveries`` rows of the loaded days: one per contract file."""
        import pandas as pd  # only the raw step builds the ledger

        from .schemas.common import conform
        from .schemas.raw import RawDeliveries

        rows = [
            {
                "delivery_date": day,
                "file_name": f.name,
                "bytes": f.size,
                "sha256": f.sha256,
                "success_at": pd.Timestamp(self.deliveries[day].success_mtime_ns, unit="ns"),
                "loaded_at": loaded_at,
                "run_id": run_id,
            }
            for day in self.loaded
            for f in self.deliveries[day].files
        ]
        return conform(
            pd.DataFrame(rows, columns=list(RawDeliveries.to_schema().columns)), RawDeliveries
        )

    def still_complete(self, days: Iterable[date]) -> None:
        """Fail (before the write commits) if a day's ``_SUCCESS`` changed while it was read: a
        re-delivery started; the sensor requests the day again when its new marker appears."""
        for day in days:
            delivery = self.deliveries[day]
            now = success_mtime_ns(delivery.folder)
            if now != delivery.success_mtime_ns:
                state = "was removed" if now is None else "was rewritten"
                raise DeliveryChangedError(
                    f"{delivery.folder / SUCCESS_MARKER} {state} while the run read the delivery "
                    f"of {day} (a re-delivery started): nothing of this table was written; the "
                    "day is loaded again once its new _SUCCESS is written"
                )


def sort_days(
    root: Path,
    days: list[date],
    specs: Iterable[TableSpec],
    instance: dg.DagsterInstance | None = None,
) -> DayVerdicts:
    """Each day of a raw step's range: loaded, refused (why) or missing (why)."""
    from .landing import complete_deliveries

    specs = list(specs)
    complete = complete_deliveries(root)
    deliveries: dict[date, Delivery] = {}
    refused: dict[date, str] = {}
    missing: dict[date, str] = {}
    for day in days:
        folder = complete.get(day)
        delivery = inspect_delivery(day, folder) if folder is not None else None
        if delivery is None:
            being_written = (root / day.isoformat()).is_dir()
            missing[day] = (
                f"{day.isoformat()}/ has no {SUCCESS_MARKER} (being written or re-delivered)"
                if being_written
                else f"no folder {day.isoformat()}/ in the landing zone"
            )
            continue
        deliveries[day] = delivery
        reason = refusal(delivery.folder, specs)
        if reason is not None:
            refused[day] = reason
    previous = latest_records(instance, [*refused, *missing]) if instance is not None else {}
    return DayVerdicts(days, deliveries, refused, missing, previous)
