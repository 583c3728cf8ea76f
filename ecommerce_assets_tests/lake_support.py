"""Fresh DuckLake lakes for the lake group's tests, in the PostgreSQL ``bin/postgres`` started.

Each lake is its own PostgreSQL database (``lake_test_<id>``, dropped afterwards) and its own data
folder, so tests never see each other's tables. The comparison of a lake with a DuckDB warehouse
attaches the file to the lake's connection and compares every table row for row (EXCEPT ALL both
ways): equal row counts, equal values, money to the cent.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ecommerce_assets import lake
from ecommerce_assets.warehouse import connect

from .conftest import RUN_LINEAGE


def pg_settings() -> dict[str, str]:
    """Host, port and user of the profile's PostgreSQL (``bin/postgres env``)."""
    return {
        "host": os.environ["ECOMMERCE_PG_HOST"],
        "port": os.environ.get("ECOMMERCE_PG_PORT", "5432"),
        "user": os.environ.get("ECOMMERCE_PG_USER", "postgres"),
    }


def _admin(sql: str) -> None:
    import psycopg2  # the lake extra's driver (dagster-postgres)

    pg = pg_settings()
    con = psycopg2.connect(dbname="postgres", **pg)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def drop_database(name: str, attempts: int = 10) -> None:
    """``DROP DATABASE … WITH (FORCE)``, again after a second while it meets an autovacuum
    worker: FORCE may not end a worker's session for a role that is not a superuser
    ("must be a member of the role whose process is being terminated")."""
    import psycopg2

    for attempt in range(1, attempts + 1):
        try:
            _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except psycopg2.errors.InsufficientPrivilege:
            if attempt == attempts:
                raise
            time.sleep(1.0)


@contextmanager
def fresh_lake(data: Path) -> Iterator[str]:
    """A new, empty lake (its ``ducklake:`` warehouse setting) whose files go under ``data``."""
    name = f"lake_test_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE DATABASE {name}")
    pg = pg_settings()
    uri = f"ducklake:postgres:dbname={name} host={pg['host']} port={pg['port']} user={pg['user']}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(lake.DATA_PATH_ENV, str(data))
        try:
            yield uri
        finally:
            lake.close(uri)
            drop_database(name)


def tables(uri: str) -> dict[str, int]:
    """``schema.table`` -> rows, for every table of the lake."""
    with connect(uri) as con:
        names = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
            for s, t in names
        }


def differences(uri: str, warehouse: Path, only: set[str] | None = None) -> dict[str, tuple]:
    """Tables whose rows differ between the lake and the DuckDB file: name -> (file rows, lake
    rows, rows only in the file, rows only in the lake). Empty when they are identical (run
    lineage, ``conftest.RUN_LINEAGE``, aside)."""
    out: dict[str, tuple] = {}
    with connect(uri) as con:
        con.execute(f"ATTACH '{warehouse}' AS f (READ_ONLY)")
        try:
            file_tables = {
                f"{s}.{t}"
                for s, t in con.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_catalog = 'f'"
                ).fetchall()
            }
            lake_tables = set(tables_on(con))
            names = (file_tables | lake_tables) if only is None else only
            for name in sorted(names):
                if name not in file_tables or name not in lake_tables:
                    out[name] = ("missing in file" if name in lake_tables else "missing in lake",)
                    continue
                s, t = name.split(".")
                cols = con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_catalog = 'f' AND table_schema = ? AND table_name = ?",
                    [s, t],
                ).fetchall()
                # When and by which run each build loaded a row is not content (RUN_LINEAGE):
                # every other column must match.
                lineage = [c for c in RUN_LINEAGE if (c,) in cols]
                loaded = f" EXCLUDE ({', '.join(lineage)})" if lineage else ""
                here = f'(SELECT *{loaded} FROM f."{s}"."{t}")'
                there = f'(SELECT *{loaded} FROM lake."{s}"."{t}")'
                counts = [
                    con.execute(f"SELECT count(*) FROM {x}").fetchone()[0] for x in (here, there)
                ]
                only_file = con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {here} EXCEPT ALL SELECT * FROM {there})"
                ).fetchone()[0]
                only_lake = con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {there} EXCEPT ALL SELECT * FROM {here})"
                ).fetchone()[0]
                if counts[0] != counts[1] or only_file or only_lake:
                    out[name] = (*counts, only_file, only_lake)
        finally:
            con.execute("DETACH f")
    return out


def tables_on(con) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_catalog = '{lake.CATALOG}'"
        ).fetchall()
    ]
