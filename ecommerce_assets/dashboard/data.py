"""The published copy, read-only, from the dashboard's pages.

Each file version is attached once to an in-memory DuckDB (``ATTACH … (READ_ONLY)``) and queried
through cursors. Not ``duckdb.connect(path, read_only=True)``: DuckDB caches a database instance
per path in a process, so while any connection held the previous copy, a new connect of the same
path returned that old instance and the dashboard never saw a publish. The version is the file's
inode, size and mtime, checked on every query: a publish (a new file renamed over the path) is
picked up by the next page view, and the previous version stays open for the queries already
running on it. Results are cached per version and query.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from ..lake import is_lake

# Versions of the copy kept open: the current one and the one before (queries still running).
_KEEP = 2


@dataclass(frozen=True)
class Version:
    path: str
    inode: int
    size: int
    mtime_ns: int


class MissingCopy(RuntimeError):
    """No published copy at the configured path (nothing published yet)."""


def copy_path(environ: Mapping[str, str] | None = None) -> Path:
    """``ECOMMERCE_ANALYTICS``, else ``analytics.duckdb`` beside ``ECOMMERCE_WAREHOUSE``'s file.

    ``settings.analytics_target`` says the same (a test holds them equal); it is not imported
    here because ``settings`` imports Dagster, 0.6 s of the dashboard's first page view.
    """
    env = os.environ if environ is None else environ
    named = (env.get("ECOMMERCE_ANALYTICS") or "").strip()
    if named:
        return Path(named)
    warehouse = (env.get("ECOMMERCE_WAREHOUSE") or "").strip() or "data/warehouse.duckdb"
    if is_lake(warehouse):
        raise MissingCopy(
            "The warehouse is a lake and ECOMMERCE_ANALYTICS is not set: set it to publish a copy "
            "for the dashboard (docs/analytics.md)."
        )
    return Path(warehouse).parent / "analytics.duckdb"


def current_version(path: Path | None = None) -> Version:
    path = path or copy_path()
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise MissingCopy(
            f"No published copy at {path} yet: run bin/build (or any run of the platform), which "
            "publishes it (docs/analytics.md)."
        ) from None
    return Version(str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _Readers:
    """One read-only attachment per file version, the newest ``_KEEP`` kept open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Version, duckdb.DuckDBPyConnection] = {}

    def cursor(self, version: Version) -> duckdb.DuckDBPyConnection:
        with self._lock:
            con = self._open.get(version)
            if con is None:
                con = duckdb.connect(":memory:")
                con.execute(f"ATTACH '{version.path.replace(chr(39), chr(39) * 2)}' AS copy "
                            "(READ_ONLY)")  # fmt: skip
                con.execute("USE copy")
                self._open[version] = con
                for old in list(self._open)[:-_KEEP]:
                    self._open.pop(old).close()
            cursor = con.cursor()
        cursor.execute("USE copy")  # a cursor starts in the in-memory catalog
        return cursor


@st.cache_resource
def _readers() -> _Readers:
    return _Readers()


@st.cache_data(max_entries=1024, show_spinner=False)
def _query(version: Version, sql: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    cursor = _readers().cursor(version)
    try:
        return cursor.execute(sql, dict(params)).df()
    finally:
        cursor.close()


def query(sql: str, **params: Any) -> pd.DataFrame:
    """Rows of ``sql`` on the current version of the published copy (``$name`` parameters)."""
    wanted = {k: v for k, v in params.items() if f"${k}" in sql}
    return _query(current_version(), sql, tuple(sorted(wanted.items())))


def one(sql: str, **params: Any) -> Mapping[str, Any]:
    """The single row of ``sql`` as a mapping (NULL as None)."""
    frame = query(sql, **params)
    row = frame.iloc[0].to_dict() if len(frame) else {}
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def as_date(value: Any) -> date:
    """A DATE column's value (pandas gives a Timestamp) as a date."""
    return pd.Timestamp(value).date()


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
