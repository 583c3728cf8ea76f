"""A warehouse table's columns, and the only changes a write may make to them.

A write creates its table, or adds the columns a newer schema declares; a changed type is refused
(``SchemaEvolutionError``) before anything is written, so data never meets a column it does not
fit. Used by every write (``writes.py``) and by what asks whether a table exists.
"""

from __future__ import annotations

import re

import duckdb

from .warehouse import quote_ident

Columns = list[tuple[str, str, bool]]


class SchemaEvolutionError(ValueError):
    """An output is incompatible with the table already in the warehouse."""


def _normalize_type(sql_type: str) -> str:
    return re.sub(r"\s+", "", sql_type).upper()


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> SQL type of ``schema.table`` in the warehouse (empty if it does not exist)."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return {name: dtype for name, dtype in rows}


def needs_ddl(con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: Columns) -> bool:
    existing = table_columns(con, schema, table)
    return not existing or any(name not in existing for name, _, _ in columns)


def create_or_evolve(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, columns: Columns
) -> None:
    """Create the table, or add the columns it lacks (a type change is refused)."""
    fq = f"{quote_ident(schema)}.{quote_ident(table)}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    existing = table_columns(con, schema, table)
    if not existing:
        ddl = ", ".join(f"{quote_ident(n)} {t}" for n, t, _ in columns)
        con.execute(f"CREATE TABLE {fq} ({ddl})")
    else:
        for name, sql_type, _ in columns:
            if name not in existing:
                con.execute(f"ALTER TABLE {fq} ADD COLUMN {quote_ident(name)} {sql_type}")
            elif _normalize_type(existing[name]) != _normalize_type(sql_type):
                raise SchemaEvolutionError(
                    f"{schema}.{table}: column {name!r} is {existing[name]} in the "
                    f"warehouse but the asset now produces {sql_type}. This is not a "
                    "compatible change: migrate the table (or drop it to rebuild) first. "
                    "Nothing was written."
                )
