"""``python bench/compare_warehouses.py A.duckdb B.duckdb``: are two warehouses the same, table by
table? Row count and an order-independent checksum of every row (all columns but ``ingested_at``,
the wall clock of the read) per table; exits 1 when any table differs.

Used to show that a change to the platform's speed or memory changed no value
(``bench/results/warehouse-identity.md``).
"""

from __future__ import annotations

import sys

import duckdb


def compare(a: str, b: str) -> list[tuple[str, int, bool]]:
    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [a])
    con.execute("ATTACH ? AS b (READ_ONLY)", [b])
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'a' "
        "ORDER BY 1, 2"
    ).fetchall()
    out = []
    for schema, table in tables:
        columns = con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'a' "
            "AND schema_name = ? AND table_name = ? AND column_name <> 'ingested_at' "
            "ORDER BY column_index",
            [schema, table],
        ).fetchall()
        row = ", ".join(f'"{name}"' for (name,) in columns)

        def digest(db: str, schema: str = schema, table: str = table, row: str = row) -> tuple:
            return con.execute(
                f'SELECT count(*), sum(hash(({row}))::HUGEINT) FROM {db}."{schema}"."{table}"'
            ).fetchone()

        left, right = digest("a"), digest("b")
        out.append((f"{schema}.{table}", left[0], left == right))
    return out


def main() -> int:
    results = compare(sys.argv[1], sys.argv[2])
    for name, rows, same in results:
        print(f"{name:<36} {rows:>12,} {'identical' if same else 'DIFFERENT'}")
    identical = sum(same for _, _, same in results)
    print(f"{identical} of {len(results)} tables identical")
    return 0 if identical == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
