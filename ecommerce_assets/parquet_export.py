"""The published copy's tables as Parquet files (``ECOMMERCE_ANALYTICS_PARQUET=dir``), for tools
that read Parquet rather than DuckDB.

One file per table (``marts.fact_orders.parquet``, ``published.info.parquet``, …) in a version
folder ``.<dir name>.d/<version>/`` beside ``dir``; ``dir`` is a symlink, swapped to the new
version with ``os.replace`` once every file is written, so a reader sees one publish's set or the
next's, never a mix. Files of tables that did not change are hard links to the previous version's.
The previous version is kept for readers still listing it; older ones are removed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .warehouse import quote_ident


def export_parquet(
    con: duckdb.DuckDBPyConnection, catalog: str, folder: Path, tables: Sequence[tuple[str, str]]
) -> Path:
    """A new version folder of ``tables`` ((``schema.table``, action) of ``catalog``); a table
    whose action is ``unchanged`` is a hard link to the previous version's file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_symlink():
        raise ValueError(
            f"ECOMMERCE_ANALYTICS_PARQUET={folder} is a folder the publisher did not make (it "
            "makes a symlink to a version folder): move it away or choose another path."
        )
    versions = folder.with_name(f".{folder.name}.d")
    versions.mkdir(parents=True, exist_ok=True)
    previous = folder.resolve() if folder.is_symlink() else None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    version = versions / f"{stamp}-{uuid.uuid4().hex[:8]}"
    version.mkdir()
    for name, action in tables:
        file = f"{name}.parquet"
        old = previous / file if previous is not None else None
        if action == "unchanged" and old is not None and old.exists():
            os.link(old, version / file)
            continue
        schema, table = (quote_ident(p) for p in name.split(".", 1))
        target = str(version / file).replace("'", "''")
        con.execute(
            f"COPY (FROM {catalog}.{schema}.{table}) TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    return version


def swap_parquet(folder: Path, version: Path) -> None:
    """Point ``folder`` (a symlink) at ``version``; keep the previous version, drop older ones."""
    folder = Path(folder)
    previous = folder.resolve() if folder.is_symlink() else None
    link = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(os.path.relpath(version, folder.parent), link)
    os.replace(link, folder)
    keep = {version.resolve(), previous}
    for old in version.parent.iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
