"""Planting defects for the check-kind cases (``check_cases``): edits of the last day's delivery
in a copied landing zone, and SQL run on the warehouse right after an asset wrote its table."""

import csv
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from .conftest import START

D1, D2, D3 = START, START + timedelta(days=1), START + timedelta(days=2)
Plant = Callable[[duckdb.DuckDBPyConnection], object]


# --------------------------------------------------------------------------------------------
# In the last day's delivery
# --------------------------------------------------------------------------------------------
def _edit_csv(landing: Path, file: str, edit: Callable[[list[dict[str, str]]], None]) -> Path:
    """Rewrite the last day's ``file`` after ``edit`` changed its rows (header order kept)."""
    path = landing / D3.isoformat() / file
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames or []), list(reader)
    edit(rows)
    for row in rows:
        header += [c for c in row if c not in header]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _each(n: int, **values: Callable[[str], str] | str) -> Callable[[list[dict[str, str]]], None]:
    """An edit setting ``values`` (a constant, or a function of the old value) on ``n`` rows."""

    def edit(rows: list[dict[str, str]]) -> None:
        assert len(rows) > n, "the day has too few rows for this plant"
        for row in rows[:n]:
            for column, value in values.items():
                row[column] = value(row[column]) if callable(value) else value

    return edit


def append_lines(file: str, lines: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def plant(landing: Path) -> None:
        path = landing / D3.isoformat() / file
        text = path.read_text(encoding="utf-8-sig")
        body = text.splitlines()
        path.write_text(text + "".join(line + "\n" for line in lines(body[1:])), "utf-8")

    return plant


def csv_rows(file: str, n: int, **values: Callable[[str], str] | str) -> Callable[[Path], object]:
    return lambda landing: _edit_csv(landing, file, _each(n, **values))


def unknown_user(landing: Path) -> None:
    """Five orders of a well-formed user id that no delivery ever had."""
    known = [
        int(row["user_id"])
        for path in landing.glob("*/users.csv")
        for row in csv.DictReader(path.open(encoding="utf-8-sig"))
    ]
    _edit_csv(landing, "orders.csv", _each(5, user_id=str(max(known) + 100_000)))


def drop_column(file: str, column: str) -> Callable[[Path], None]:
    """The last day's ``file`` delivered without ``column`` (a broken header)."""

    def plant(landing: Path) -> None:
        path = landing / D3.isoformat() / file
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, [c for c in rows[0] if c != column], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return plant


# --------------------------------------------------------------------------------------------
# In the warehouse, after an asset wrote its table
# --------------------------------------------------------------------------------------------
def one_row(table: str, where: str = "TRUE", day: date = D3) -> str:
    """A predicate picking one row of ``table`` on ``day`` (by DuckDB's rowid)."""
    return (
        f"rowid = (SELECT min(rowid) FROM {table} "
        f"WHERE CAST(delivery_date AS DATE) = DATE '{day}' AND {where})"
    )


def run_sql(*statements: str) -> Plant:
    def plant(con: duckdb.DuckDBPyConnection) -> None:
        for statement in statements:
            con.execute(statement)

    return plant


def order_history(con: duckdb.DuckDBPyConnection) -> None:
    """Fourteen weeks of 200 orders a day before the first delivery, and the second day
    topped up to 200: the last day's ~50 orders are a 75 % drop against its weekday."""
    one = "(SELECT * FROM raw.raw_orders WHERE CAST(delivery_date AS DATE) = DATE '{d}' LIMIT 1)"
    con.execute(
        f"INSERT INTO raw.raw_orders SELECT o.* REPLACE (CAST(days.day AS DATE) AS delivery_date) "
        f"FROM {one.format(d=D1)} AS o, "
        f"range(DATE '{D1 - timedelta(weeks=14)}', DATE '{D1}', INTERVAL 1 DAY) AS days(day), "
        f"range(200) AS copies(i)"
    )
    (have,) = con.execute(
        f"SELECT count(*) FROM raw.raw_orders WHERE CAST(delivery_date AS DATE) = DATE '{D2}'"
    ).fetchone()
    con.execute(
        f"INSERT INTO raw.raw_orders SELECT o.* FROM {one.format(d=D2)} AS o, "
        f"range({200 - have}) AS copies(i)"
    )


def update(table: str, assignment: str, where: str = "TRUE") -> str:
    """One row of ``table`` changed (on the last day, for a partitioned table)."""
    return f"UPDATE {table} SET {assignment} WHERE {one_row(table, where)}"


def twice(table: str) -> str:
    """One row of ``table`` on the last day written a second time."""
    return f"INSERT INTO {table} SELECT * FROM {table} WHERE {one_row(table)}"


def version(table: str, sk: str) -> str:
    """A predicate picking one real version of a dimension (not its unknown member)."""
    return f"{sk} = (SELECT min({sk}) FROM {table} WHERE {sk} <> 0)"
