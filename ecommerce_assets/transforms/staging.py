"""Staging: type, repair, de-duplicate and quarantine raw rows exactly as the contract says.

One DuckDB statement per table decides every row's fate in file order, so the outcome is the
same whether a run stages one day or a year:

1. ``malformed_line`` (DuckDB rejected the record);
2. exact duplicate of an earlier record of the same delivery (removed, counted);
3. ``null_key`` / ``bad_key`` (key empty, not a positive integer);
4. ``duplicate_key``: a later row with an already-seen key (users/products: key + updated_at);
5. ``bad_value:<col>``: a typed column unparseable, or a required column empty;
6. ``out_of_range:<col>``; 7. ``future_timestamp``;
8. ``orphan_line`` (order lines whose order is not staged in the same delivery).
The first that applies wins. Rows that pass are typed and repaired: trimmed, enumerations in
canonical case (unknown values become ``unknown``), e-mails lower-cased (invalid ones NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..contract import (
    BAD_KEY,
    DUPLICATE_KEY,
    ENUMERATIONS,
    FUTURE_TIMESTAMP,
    MALFORMED_LINE,
    NULL_KEY,
    ORPHAN_LINE,
    PRODUCT_EVENT_TYPES,
    UNKNOWN,
    ColumnSpec,
    TableSpec,
    bad_value,
    out_of_range,
)
from ..schemas import STAGED_MODELS, StgLoadAudit, StgQuarantine, conform, model_columns
from ..slices import Relation, sql_inputs
from ..warehouse import fetch_frame, quote_ident

EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_INT_PATTERN = r"[+-]?[0-9]{1,18}"
_DECIMAL_PATTERN = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TS_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"


def _lit(value: str) -> str:
    """A SQL string literal for a constant that comes from the contract (never from data)."""
    return "'" + value.replace("'", "''") + "'"


def _text(col: str) -> str:
    return f"NULLIF(trim({quote_ident(col)}), '')"


def _typed(column: ColumnSpec) -> str:
    """SQL turning the trimmed text of ``column`` into its contract type, NULL if unparseable."""
    t = _trimmed(column.name)
    if column.kind == "int":
        return f"CASE WHEN regexp_full_match({t}, '{_INT_PATTERN}') THEN CAST({t} AS BIGINT) END"
    if column.kind == "decimal":
        return (
            f"CASE WHEN regexp_full_match({t}, '{_DECIMAL_PATTERN}') "
            f"THEN TRY_CAST({t} AS {column.sql_type}) END"
        )
    if column.kind == "date":
        return (
            f"CASE WHEN regexp_full_match({t}, '{_DATE_PATTERN}') "
            f"THEN CAST(TRY_STRPTIME({t}, '%Y-%m-%d') AS DATE) END"
        )
    if column.kind == "timestamp":
        return (
            f"CASE WHEN regexp_full_match({t}, '{_TS_PATTERN}') "
            f"THEN TRY_STRPTIME({t}, '%Y-%m-%d %H:%M:%S') END"
        )
    return t


# The staging statement derives three columns from each raw column ``c``: ``c__t`` its trimmed
# text, ``c__v`` that text parsed to the contract type (NULL if unparseable) and ``c__o`` the
# staged value (typed, or repaired text).
def _trimmed(col: str) -> str:
    return quote_ident(f"{col}__t")


def _typed_value(col: str) -> str:
    return quote_ident(f"{col}__v")


def _staged(col: str) -> str:
    return quote_ident(f"{col}__o")


# Out-of-range rules per table: (column, SQL condition that is TRUE when the value is out of range).
# Delivery day D is ``delivery_date``; its end is D + 1 day.
_RANGES: dict[str, list[tuple[str, str]]] = {
    "users": [],
    "products": [
        ("price", f"{_typed_value('price')} <= 0"),
        (
            "cost",
            f"{_typed_value('cost')} < 0 OR {_typed_value('cost')} >= {_typed_value('price')}",
        ),
        ("supplier_id", f"{_typed_value('supplier_id')} <= 0"),
    ],
    "orders": [
        ("user_id", f"{_typed_value('user_id')} <= 0"),
        ("order_ts", f"{_typed_value('order_ts')} < delivery_date"),
        ("shipping_amount", f"{_typed_value('shipping_amount')} < 0"),
        ("order_amount", f"{_typed_value('order_amount')} < 0"),
    ],
    "order_items": [
        ("order_id", f"{_typed_value('order_id')} <= 0"),
        ("product_id", f"{_typed_value('product_id')} <= 0"),
        ("quantity", f"{_typed_value('quantity')} < 1 OR {_typed_value('quantity')} > 2147483647"),
        ("unit_price", f"{_typed_value('unit_price')} <= 0"),
        ("discount", f"{_typed_value('discount')} < 0 OR {_typed_value('discount')} >= 1"),
    ],
    "events": [
        ("user_id", f"{_typed_value('user_id')} <= 0"),
        ("product_id", f"{_typed_value('product_id')} <= 0"),
        ("event_ts", f"{_typed_value('event_ts')} < delivery_date - INTERVAL 1 DAY"),
        ("event_value", f"{_typed_value('event_value')} < 0"),
    ],
    "reviews": [
        ("product_id", f"{_typed_value('product_id')} <= 0"),
        ("user_id", f"{_typed_value('user_id')} <= 0"),
        ("rating", f"{_typed_value('rating')} < 1 OR {_typed_value('rating')} > 5"),
        ("review_date", f"{_typed_value('review_date')} < delivery_date"),
        (
            "helpful_votes",
            f"{_typed_value('helpful_votes')} < 0 OR {_typed_value('helpful_votes')} > 2147483647",
        ),
    ],
}
# Columns whose value may not lie after the end of the delivery day.
_FUTURE: dict[str, list[str]] = {
    "users": ["signup_date", "updated_at"],
    "products": ["updated_at"],
    "orders": ["order_ts"],
    "order_items": [],
    "events": ["event_ts"],
    "reviews": ["review_date"],
}


def _output(spec: TableSpec, column: ColumnSpec) -> str:
    """SQL for a staged column: typed value, or repaired text (trim, canonical case)."""
    enum = ENUMERATIONS.get((spec.name, column.name))
    t = _trimmed(column.name)
    if enum is not None:
        cases = " ".join(f"WHEN {_lit(v.lower())} THEN {_lit(v)}" for v in enum)
        return f"CASE lower({t}) {cases} ELSE {_lit(UNKNOWN)} END"
    if column.name == "email":
        return f"CASE WHEN regexp_full_match(lower({t}), '{EMAIL_PATTERN}') THEN lower({t}) END"
    if column.name == "country":
        return f"upper({t})"
    return _typed_value(column.name)


def complete_audit(audit: pd.DataFrame, tables: list[str], days: list) -> pd.DataFrame:
    """One audit row per table and day of the window, zeros where a table had no rows that day."""
    grid = pd.DataFrame(
        {
            "table_name": [t for t in tables for _ in days],
            "position": [i for i, _ in enumerate(tables) for _ in days],
            "delivery_date": pd.to_datetime([d for _ in tables for d in days]),
        }
    )
    counts = [c for c in model_columns(StgLoadAudit) if c not in ("table_name", "delivery_date")]
    filled = ", ".join(f"coalesce(a.{quote_ident(c)}, 0) AS {quote_ident(c)}" for c in counts)
    with sql_inputs({"audit": audit, "grid": grid}) as con:
        out = fetch_frame(
            con,
            f"SELECT g.table_name, CAST(g.delivery_date AS DATE) AS delivery_date, {filled} "
            "FROM grid AS g LEFT JOIN audit AS a ON a.table_name = g.table_name "
            "AND CAST(a.delivery_date AS DATE) = CAST(g.delivery_date AS DATE) "
            "ORDER BY g.position, g.delivery_date",
        )
    return conform(out, StgLoadAudit)


@dataclass(frozen=True)
class StageResult:
    """Staged rows, quarantined rows and the per-day audit of one table."""

    staged: pd.DataFrame
    quarantine: pd.DataFrame
    audit: pd.DataFrame


def stage_sql(spec: TableSpec, with_order_keys: bool = False) -> str:
    """The statement that classifies every raw row of ``spec`` (see the module docstring)."""
    cols = spec.columns
    texts = ", ".join(f"{_text(c.name)} AS {_trimmed(c.name)}" for c in cols)
    typed = ", ".join(f"{_typed(c)} AS {_typed_value(c.name)}" for c in cols)
    content = ", ".join(quote_ident(c.name) for c in cols)
    # Raw columns are text by contract; a frame passed in (tests, the API source) may carry an
    # all-NULL column that DuckDB 1.4 reads as INTEGER, and comparing it with '' would fail.
    as_text = ", ".join(
        f"CAST({quote_ident(c.name)} AS VARCHAR) AS {quote_ident(c.name)}" for c in cols
    )
    key = _typed_value(spec.key)
    version = f", {_trimmed(spec.version_column)}" if spec.version_column else ""

    reasons = [
        f"WHEN parse_error IS NOT NULL THEN {_lit(MALFORMED_LINE)}",
        f"WHEN {_trimmed(spec.key)} IS NULL THEN {_lit(NULL_KEY)}",
        f"WHEN {key} IS NULL OR {key} <= 0 THEN {_lit(BAD_KEY)}",
        f"WHEN _key_rank > 1 THEN {_lit(DUPLICATE_KEY)}",
    ]
    for c in cols:
        if c.name == spec.key:
            continue
        t, v = _trimmed(c.name), _typed_value(c.name)
        bad = f"({t} IS NOT NULL AND {v} IS NULL)"
        if c.required:
            bad = f"{t} IS NULL OR {bad}"
        if spec.name == "events" and c.name == "product_id":
            types = ", ".join(_lit(e) for e in PRODUCT_EVENT_TYPES)
            bad = f"{bad} OR ({t} IS NULL AND lower(event_type__t) IN ({types}))"
        reasons.append(f"WHEN {bad} THEN {_lit(bad_value(c.name))}")
    for column, condition in _RANGES[spec.name]:
        reasons.append(f"WHEN {condition} THEN {_lit(out_of_range(column))}")
    for column in _FUTURE[spec.name]:
        future = f"{_typed_value(column)} >= delivery_date + INTERVAL 1 DAY"
        reasons.append(f"WHEN {future} THEN {_lit(FUTURE_TIMESTAMP)}")
    orphan_join = ""
    if with_order_keys:
        reasons.append(f"WHEN _order.order_id IS NULL THEN {_lit(ORPHAN_LINE)}")
        orphan_join = (
            "LEFT JOIN order_keys AS _order ON _order.delivery_date = k.delivery_date "
            "AND _order.order_id = k.order_id__v"
        )

    string_cols = [c for c in cols if c.kind == "str"]
    enum_cols = [c for c in cols if (spec.name, c.name) in ENUMERATIONS]
    repaired = " OR ".join(
        f"({quote_ident(c.name)} IS NOT NULL "
        f"AND {quote_ident(c.name)} <> coalesce({_staged(c.name)}, ''))"
        + (f" AND {_staged(c.name)} <> {_lit(UNKNOWN)}" if c in enum_cols else "")
        + (f" AND {_staged(c.name)} IS NOT NULL" if c.name == "email" else "")
        for c in string_cols
    )
    unknown = " OR ".join(f"{_staged(c.name)} = {_lit(UNKNOWN)}" for c in enum_cols)
    invalid_email = (
        f"email__t IS NOT NULL AND {_staged('email')} IS NULL"
        if any(c.name == "email" for c in cols)
        else "false"
    )
    outputs_o = ", ".join(f"{_output(spec, c)} AS {_staged(c.name)}" for c in cols)
    return f"""
        WITH t AS (
            SELECT *, {texts}
            FROM (SELECT * REPLACE (CAST(delivery_date AS DATE) AS delivery_date, {as_text})
                FROM raw)
        ), v AS (
            SELECT *, {typed},
                row_number() OVER (
                    PARTITION BY delivery_date, {content}, raw_line
                    ORDER BY source_file, line_number) AS _copy
            FROM t
        ), k AS (
            SELECT *, row_number() OVER (
                PARTITION BY delivery_date,
                    (parse_error IS NULL AND _copy = 1 AND {key} > 0), {key}{version}
                ORDER BY source_file, line_number) AS _key_rank
            FROM v
        ), r AS (
            SELECT k.*, CASE {" ".join(reasons)} END AS _reason
            FROM k {orphan_join}
        )
        SELECT *, {outputs_o},
            ({repaired or "false"}) AS _repaired,
            ({unknown or "false"}) AS _unknown,
            ({invalid_email}) AS _invalid_email
        FROM r
    """


def stage_table(
    spec: TableSpec, raw: Relation, staged_orders: Relation | None = None
) -> StageResult:
    """Classify and type every row of one raw table. ``staged_orders`` is needed for order lines
    (their orders staged in the same delivery); both are frames or warehouse slices."""
    with_orders = spec.name == "order_items"
    empty_keys = pd.DataFrame(
        {"delivery_date": pd.Series([], dtype="datetime64[ns]"), "order_id": []}
    )
    inputs = {"raw": raw}
    if with_orders:
        inputs["staged_orders"] = staged_orders if staged_orders is not None else empty_keys
    with sql_inputs(inputs) as con:
        if with_orders:
            con.execute(
                "CREATE TEMP TABLE order_keys AS SELECT DISTINCT CAST(delivery_date AS DATE) "
                "AS delivery_date, CAST(order_id AS BIGINT) AS order_id FROM staged_orders"
            )
        con.execute(f"CREATE TEMP TABLE classified AS {stage_sql(spec, with_orders)}")
        staged_cols = ", ".join(f"{_staged(c.name)} AS {quote_ident(c.name)}" for c in spec.columns)
        extra = ""
        if spec.name == "events":
            extra = ", CAST(event_ts__v AS DATE) < delivery_date AS is_late_arrival"
        staged = fetch_frame(
            con,
            f"SELECT {staged_cols}{extra}, delivery_date, source_file, line_number "
            "FROM classified WHERE _copy = 1 AND _reason IS NULL "
            "ORDER BY delivery_date, source_file, line_number",
        )
        raw_json = ", ".join(f"{_lit(c.name)}, {quote_ident(c.name)}" for c in spec.columns)
        quarantine = fetch_frame(
            con,
            f"SELECT {_lit(spec.name)} AS table_name, delivery_date, source_file, line_number, "
            "_reason AS reason, CASE WHEN parse_error IS NOT NULL "
            "THEN json_object('raw_line', raw_line, 'parse_error', parse_error)::VARCHAR "
            f"ELSE json_object({raw_json})::VARCHAR END AS raw_values "
            "FROM classified WHERE _copy = 1 AND _reason IS NOT NULL "
            "ORDER BY delivery_date, source_file, line_number",
        )
        audit = fetch_frame(
            con,
            f"SELECT {_lit(spec.name)} AS table_name, delivery_date, "
            "count(*) AS raw_rows, "
            "count(*) FILTER (_copy = 1 AND _reason IS NULL) AS staged_rows, "
            "count(*) FILTER (_copy = 1 AND _reason IS NOT NULL) AS quarantined_rows, "
            "count(*) FILTER (_copy > 1) AS exact_duplicates, "
            "count(*) FILTER (_copy = 1 AND _reason IS NULL AND _repaired) AS repaired_rows, "
            "count(*) FILTER (_copy = 1 AND _reason IS NULL AND _unknown) AS unknown_values, "
            "count(*) FILTER (_copy = 1 AND _reason IS NULL AND _invalid_email) AS invalid_emails "
            "FROM classified GROUP BY delivery_date ORDER BY delivery_date",
        )
    return StageResult(
        staged=conform(staged, STAGED_MODELS[spec.name]),
        quarantine=conform(quarantine, StgQuarantine),
        audit=conform(audit, StgLoadAudit),
    )
