"""The lake profile's warehouse: a DuckLake lake, catalog in PostgreSQL, tables as Parquet files.

``ECOMMERCE_WAREHOUSE=ducklake:postgres:dbname=lake host=… port=… user=…`` selects it (anything
DuckLake's ``ATTACH 'ducklake:…'`` takes); ``ECOMMERCE_LAKE_DATA_PATH`` is the folder (or, in
production, object-store prefix) of its Parquet files, recorded in the catalog when the lake is
created. Unlike the DuckDB file, any number of processes (runs on several machines) read and write
the lake at once: each commit is a snapshot in the catalog, and DuckLake retries a commit that
raced another (``ducklake_max_retry_count``) before reporting a conflict.

The extensions come from PyPI (``duckdb-ext-ducklake``, ``duckdb-ext-postgres``: the ``lake``
extra), built for DuckDB 1.4.4 exactly, and load from their files: DuckDB's own extension download
is switched off, so a missing extension is a clear error, never a download at run time.
"""

from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb

LAKE_PREFIX = "ducklake:"
DATA_PATH_ENV = "ECOMMERCE_LAKE_DATA_PATH"
DEFAULT_DATA_PATH = "data/lake/"
# The name the lake is attached under; every connection makes it the default catalog, so the
# platform's ``schema.table`` names mean the lake's tables.
CATALOG = "lake"
# DuckLake's own commit retry when a commit races another process's (on top of the I/O manager's
# retry of a whole slice write, ``writes.py``).
COMMIT_RETRIES = 20
# Attempts to attach while another process is creating the same new lake.
CREATE_ATTEMPTS = 8


class LakeUnavailableError(RuntimeError):
    """The lake's extensions are not installed, or its catalog cannot be reached."""


def is_lake(database: str | Path) -> bool:
    """True when the warehouse setting names a DuckLake lake rather than a DuckDB file."""
    return str(database).startswith(LAKE_PREFIX)


def data_path(environ: Mapping[str, str] | None = None) -> str:
    """The lake's data folder (``ECOMMERCE_LAKE_DATA_PATH``), absolute, ending with a slash."""
    env = os.environ if environ is None else environ
    text = (env.get(DATA_PATH_ENV) or "").strip() or DEFAULT_DATA_PATH
    if "://" in text:  # an object-store prefix (s3://, gs://, …): as given
        return text if text.endswith("/") else text + "/"
    return str(Path(text).resolve()) + "/"


def extension_directory() -> Path:
    """Where the ``duckdb-ext-*`` packages put their extension files (DuckDB's directory layout)."""
    spec = importlib.util.find_spec("duckdb_ext")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "extensions"
        if folder.is_dir():
            return folder
    raise LakeUnavailableError(
        "The lake profile needs the DuckLake and Postgres extensions from PyPI: install the "
        "project with its lake extra (pip install -e '.[lake]', which pins duckdb==1.4.4), or "
        "run through bin/* with ECOMMERCE_PROFILE=lake."
    )


_instances: dict[tuple[int, str], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _instance(uri: str, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """This process's DuckDB instance with the lake attached (one per process and lake).

    Attaching (loading two extensions, opening the catalog's PostgreSQL connection) costs more
    than a query; each ``connect`` block gets a cursor of this instance instead. Keyed by PID: a
    forked process must not share its parent's instance.
    """
    key = (os.getpid(), uri)
    with _instances_lock:
        if key in _instances:
            return _instances[key]
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            con = duckdb.connect(":memory:")
            try:
                con.execute("SET autoinstall_known_extensions = false")
                con.execute(f"SET extension_directory = '{_literal(str(extension_directory()))}'")
                con.execute("LOAD ducklake")
                con.execute("LOAD postgres")
                con.execute(f"SET memory_limit = '{memory_limit}'")
                _attach(con, uri)
                con.execute(f"SET ducklake_max_retry_count = {COMMIT_RETRIES}")
                break
            except duckdb.Error as exc:
                con.close()
                # Two processes creating a new lake at once: one creates the catalog's tables,
                # the other fails on them ("duplicate key"); attached again, it finds them.
                if "Failed to initialize DuckLake" in str(exc) and attempt < CREATE_ATTEMPTS:
                    time.sleep(0.1 * attempt * (0.5 + random.random()))
                    continue
                raise LakeUnavailableError(f"Cannot open the lake {uri}: {exc}") from exc
        _instances[key] = con
        return con


def close(uri: str) -> None:
    """Close this process's instance of the lake ``uri`` (the next ``connect`` attaches anew)."""
    with _instances_lock:
        con = _instances.pop((os.getpid(), uri), None)
    if con is not None:
        con.close()


def _attach(con: duckdb.DuckDBPyConnection, uri: str) -> None:
    """Attach the lake; its data path is the catalog's, or the setting's for a new lake.

    Passed on every attach, DATA_PATH must equal what the catalog recorded, so a process whose
    setting differs fails (clearly, from DuckLake) instead of writing files elsewhere. Unset, an
    existing lake's recorded path is used and only a new lake gets the default.
    """
    explicit = bool((os.environ.get(DATA_PATH_ENV) or "").strip())
    if not explicit:
        try:
            con.execute(f"ATTACH '{_literal(uri)}' AS {CATALOG}")
            return
        except duckdb.InvalidInputException as exc:
            if "data_path is not set" not in str(exc):
                raise
    path = data_path()
    if "://" not in path:
        Path(path).mkdir(parents=True, exist_ok=True)
    con.execute(f"ATTACH '{_literal(uri)}' AS {CATALOG} (DATA_PATH '{_literal(path)}')")


# The advisory lock (in the catalog's PostgreSQL database) under which a table or schema is created
# or altered: a fixed key, the same in every process writing the lake.
DDL_LOCK_KEY = 0x65636F6D  # "ecom"
_PG_CATALOG = LAKE_PREFIX + "postgres:"


@contextmanager
def catalog_lock(uri: str) -> Iterator[None]:
    """Hold the lake's DDL lock: no other process creates or alters a table meanwhile.

    Why: the DuckLake built for DuckDB 1.4 checks a commit for conflicts inside a PostgreSQL
    transaction at REPEATABLE READ, which cannot see a commit that lands during it, so two
    processes creating the same schema or table at the same instant can both commit
    (duckdb/ducklake#1094, fixed upstream only after 1.4: #1341): two tables of one name, one
    of which no reader sees (its rows lost). Data writes of different days never conflict
    logically and are left concurrent; the DDL before them is serialized here. A session-level
    advisory lock in the catalog's database, released when its connection closes (a killed
    process releases it too). A catalog that is not in PostgreSQL has one writing process: no lock.
    """
    if not uri.startswith(_PG_CATALOG):
        yield
        return
    import psycopg2  # the lake extra's driver (dagster-postgres depends on it)

    # The catalog's libpq connection string, as DuckDB's postgres extension reads it (PG* variables
    # such as PGPASSWORD apply to both).
    con = psycopg2.connect(uri[len(_PG_CATALOG) :])
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [DDL_LOCK_KEY])
        yield
    finally:
        con.close()


@contextmanager
def lake_connection(uri: str, memory_limit: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the lake whose default catalog is the lake (closed at the end)."""
    con = _instance(uri, memory_limit).cursor()
    try:
        con.execute(f"USE {CATALOG}")
        yield con
    finally:
        con.close()


def _literal(text: str) -> str:
    return text.replace("'", "''")
