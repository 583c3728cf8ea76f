"""Staging: type, repair, de-duplicate and quarantine raw rows exactly as the contract says.

One DuckDB statement per table decides every row's fate in file order, so the outcome is the
same whether a run stages one day or a year:

1. ``malformed_line`` (DuckDB rejected the record);
2. exact duplicate of an earlier record, of the same delivery or of an earlier one (a source
   that delivers at least once re-sends rows): removed, counted;
3. ``null_key`` / ``bad_key`` (key empty, not a positive integer);
4. ``duplicate_key``: a later row with an already-seen key, in the same delivery or an earlier
   one (the earlier delivery wins; users/products: key + updated_at);
5. ``bad_value:<col>``: a typed column unparseable (a decimal with more places than its type
   is unparseable: never rounded), or a required column empty;
6. ``out_of_range:<col>``; 7. ``future_timestamp``;
8. ``orphan_line`` (order lines whose order is not staged in the same delivery).
The first that applies wins. Rows that pass are typed and repaired: trimmed, enumerations in
canonical case (unknown values become ``unknown``), e-mails lower-cased (invalid ones NULL).

"Earlier" spans deliveries: the rows of earlier days that share a key with the staged days
(``history``, the raw table before them) take part in the ranking as context and are not output.
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
    TableSpec,
    bad_value,
    out_of_range,
)
from ..schemas import STAGED_MODELS, StgLoadAudit, StgQuarantine, conform, model_columns
from ..slices import Relation, sql_inputs
from ..warehouse import fetch_frame, quote_ident
from .staging_rules import (
    FUTURE,
    INT_PATTERN,
    RANGES,
    lit,
    output_sql,
    staged_value,
    text_sql,
    trimmed,
    typed_sql,
    typed_value,
)


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


def stage_sql(spec: TableSpec, with_order_keys: bool = False, with_prior: bool = False) -> str:
    """The statement that classifies every raw row of ``spec`` (see the module docstring);
    ``with_prior``: the relation ``prior`` holds earlier deliveries' rows as context."""
    cols = spec.columns
    texts = ", ".join(f"{text_sql(c.name)} AS {trimmed(c.name)}" for c in cols)
    typed = ", ".join(f"{typed_sql(c)} AS {typed_value(c.name)}" for c in cols)
    content = ", ".join(quote_ident(c.name) for c in cols)
    # Raw columns are text by contract; a frame passed in (tests, the API source) may carry an
    # all-NULL column that DuckDB 1.4 reads as INTEGER, and comparing it with '' would fail.
    as_text = ", ".join(
        f"CAST({quote_ident(c.name)} AS VARCHAR) AS {quote_ident(c.name)}" for c in cols
    )
    key = typed_value(spec.key)
    version = f", {trimmed(spec.version_column)}" if spec.version_column else ""

    reasons = [
        f"WHEN parse_error IS NOT NULL THEN {lit(MALFORMED_LINE)}",
        f"WHEN {trimmed(spec.key)} IS NULL THEN {lit(NULL_KEY)}",
        f"WHEN {key} IS NULL OR {key} <= 0 THEN {lit(BAD_KEY)}",
        f"WHEN _key_rank > 1 THEN {lit(DUPLICATE_KEY)}",
    ]
    for c in cols:
        if c.name == spec.key:
            continue
        t, v = trimmed(c.name), typed_value(c.name)
        bad = f"({t} IS NOT NULL AND {v} IS NULL)"
        if c.required:
            bad = f"{t} IS NULL OR {bad}"
        if spec.name == "events" and c.name == "product_id":
            types = ", ".join(lit(e) for e in PRODUCT_EVENT_TYPES)
            bad = f"{bad} OR ({t} IS NULL AND lower(event_type__t) IN ({types}))"
        reasons.append(f"WHEN {bad} THEN {lit(bad_value(c.name))}")
    for column, condition in RANGES[spec.name]:
        reasons.append(f"WHEN {condition} THEN {lit(out_of_range(column))}")
    for column in FUTURE[spec.name]:
        future = f"{typed_value(column)} >= delivery_date + INTERVAL 1 DAY"
        reasons.append(f"WHEN {future} THEN {lit(FUTURE_TIMESTAMP)}")
    orphan_join = ""
    if with_order_keys:
        reasons.append(f"WHEN _order.order_id IS NULL THEN {lit(ORPHAN_LINE)}")
        orphan_join = (
            "LEFT JOIN order_keys AS _order ON _order.delivery_date = k.delivery_date "
            "AND _order.order_id = k.order_id__v"
        )

    string_cols = [c for c in cols if c.kind == "str"]
    enum_cols = [c for c in cols if (spec.name, c.name) in ENUMERATIONS]
    repaired = " OR ".join(
        f"({quote_ident(c.name)} IS NOT NULL "
        f"AND {quote_ident(c.name)} <> coalesce({staged_value(c.name)}, ''))"
        + (f" AND {staged_value(c.name)} <> {lit(UNKNOWN)}" if c in enum_cols else "")
        + (f" AND {staged_value(c.name)} IS NOT NULL" if c.name == "email" else "")
        for c in string_cols
    )
    unknown = " OR ".join(f"{staged_value(c.name)} = {lit(UNKNOWN)}" for c in enum_cols)
    invalid_email = (
        f"email__t IS NOT NULL AND {staged_value('email')} IS NULL"
        if any(c.name == "email" for c in cols)
        else "false"
    )
    outputs_o = ", ".join(f"{output_sql(spec, c)} AS {staged_value(c.name)}" for c in cols)
    rows = "SELECT *, false AS _context FROM raw"
    if with_prior:
        rows += " UNION ALL BY NAME SELECT *, true AS _context FROM prior"
    content_struct = (
        "struct_pack("
        + ", ".join(f"{quote_ident(c.name)} := {quote_ident(c.name)}" for c in cols)
        + ")"
    )
    order = "delivery_date, source_file, line_number"
    won_version = same_version = ""
    if spec.version_column:
        won_version = f", {trimmed(spec.version_column)} AS _won_version"
        same_version = f"AND w._won_version = {trimmed(spec.version_column)}"
    # Within a delivery, rows are classified as the contract's table lists them (``_day_*``).
    # Across deliveries, each key (users/products: key + updated_at) belongs to the first row
    # that was staged in its own delivery (``winners``): a later delivery's row with that key is
    # an exact duplicate when its text is identical (a source re-sending at least once), else a
    # ``duplicate_key``. A row quarantined in its own day wins nothing: its corrected re-send is
    # staged. ``prior`` rows (earlier deliveries) take part as context and are not output.
    return f"""
        WITH t AS (
            SELECT *, {texts}
            FROM (SELECT * REPLACE (CAST(delivery_date AS DATE) AS delivery_date, {as_text})
                FROM ({rows}))
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
            SELECT k.*, CASE {" ".join(reasons)} END AS _day_reason
            FROM k {orphan_join}
        ), winners AS (
            SELECT {key} AS _won_key{won_version},
                min(delivery_date) AS _won_day,
                arg_min({content_struct}, ({order})) AS _won_content
            FROM r WHERE _copy = 1 AND _day_reason IS NULL
            GROUP BY ALL
        ), x AS (
            SELECT r.*,
                w._won_day IS NOT NULL AND w._won_day < r.delivery_date AS _later,
                {content_struct} IS NOT DISTINCT FROM w._won_content AS _same
            FROM r LEFT JOIN winners AS w ON r.parse_error IS NULL AND w._won_key = {key}
                {same_version}
        ), f AS (
            SELECT * REPLACE (
                CASE WHEN _copy = 1 AND _later AND _same THEN 2 ELSE _copy END AS _copy),
                CASE WHEN _copy = 1 AND _later AND NOT _same THEN {lit(DUPLICATE_KEY)}
                    ELSE _day_reason END AS _reason
            FROM x
        )
        SELECT *, {outputs_o},
            ({repaired or "false"}) AS _repaired,
            ({unknown or "false"}) AS _unknown,
            ({invalid_email}) AS _invalid_email
        FROM f WHERE NOT _context
    """


def _key_sql(spec: TableSpec, alias: str) -> str:
    """A raw row's key as the integer staging ranks it by (NULL when it is not one)."""
    t = f"trim({alias}.{quote_ident(spec.key)})"
    return f"CASE WHEN regexp_full_match({t}, '{INT_PATTERN}') THEN CAST({t} AS BIGINT) END"


def stage_table(
    spec: TableSpec,
    raw: Relation,
    staged_orders: Relation | None = None,
    history: Relation | None = None,
    prior_orders: Relation | None = None,
) -> StageResult:
    """Classify and type every row of one raw table. ``staged_orders`` is needed for order lines
    (their orders staged in the same delivery); ``history``: the raw rows of earlier deliveries,
    so that a row re-sent in a later delivery is recognised; ``prior_orders``: the staged orders
    of those earlier deliveries, so that an earlier order line is judged with its own day's
    orders (else it would count as an orphan and win nothing, and a changed re-send of it would
    be staged twice); all are frames or warehouse slices."""
    with_orders = spec.name == "order_items"
    empty_keys = pd.DataFrame(
        {"delivery_date": pd.Series([], dtype="datetime64[ns]"), "order_id": []}
    )
    inputs = {"raw": raw}
    if with_orders:
        inputs["staged_orders"] = staged_orders if staged_orders is not None else empty_keys
    if history is not None:
        inputs["history"] = history
    if with_orders and history is not None and prior_orders is not None:
        inputs["prior_orders"] = prior_orders
    with sql_inputs(inputs) as con:
        if history is not None:
            # Only the earlier rows sharing a key with these days: a semi-join on the key.
            con.execute(
                "CREATE TEMP TABLE prior AS SELECT h.* FROM history AS h WHERE h.parse_error IS "
                f"NULL AND {_key_sql(spec, 'h')} IN (SELECT {_key_sql(spec, 'r')} FROM raw AS r "
                "WHERE r.parse_error IS NULL)"
            )
        if with_orders:
            con.execute(
                "CREATE TEMP TABLE order_keys AS SELECT DISTINCT CAST(delivery_date AS DATE) "
                "AS delivery_date, CAST(order_id AS BIGINT) AS order_id FROM staged_orders"
            )
            if "prior_orders" in inputs:
                # The earlier lines' own days' orders: read only for the days and orders those
                # lines name (rare: re-sent lines), not the whole history of staged orders.
                con.execute(
                    "INSERT INTO order_keys SELECT DISTINCT CAST(o.delivery_date AS DATE), "
                    "CAST(o.order_id AS BIGINT) FROM prior_orders AS o "
                    "WHERE CAST(o.delivery_date AS DATE) IN "
                    "(SELECT DISTINCT CAST(delivery_date AS DATE) FROM prior) "
                    "AND CAST(o.order_id AS BIGINT) IN "
                    "(SELECT TRY_CAST(trim(p.order_id) AS BIGINT) FROM prior AS p)"
                )
        classify = stage_sql(spec, with_orders, with_prior=history is not None)
        con.execute(f"CREATE TEMP TABLE classified AS {classify}")
        staged_cols = ", ".join(
            f"{staged_value(c.name)} AS {quote_ident(c.name)}" for c in spec.columns
        )
        extra = ""
        if spec.name == "events":
            extra = ", CAST(event_ts__v AS DATE) < delivery_date AS is_late_arrival"
        staged = fetch_frame(
            con,
            f"SELECT {staged_cols}{extra}, delivery_date, source_file, line_number "
            "FROM classified WHERE _copy = 1 AND _reason IS NULL "
            "ORDER BY delivery_date, source_file, line_number",
        )
        raw_json = ", ".join(f"{lit(c.name)}, {quote_ident(c.name)}" for c in spec.columns)
        quarantine = fetch_frame(
            con,
            f"SELECT {lit(spec.name)} AS table_name, delivery_date, source_file, line_number, "
            "_reason AS reason, CASE WHEN parse_error IS NOT NULL "
            "THEN json_object('raw_line', raw_line, 'parse_error', parse_error)::VARCHAR "
            f"ELSE json_object({raw_json})::VARCHAR END AS raw_values "
            "FROM classified WHERE _copy = 1 AND _reason IS NOT NULL "
            "ORDER BY delivery_date, source_file, line_number",
        )
        audit = fetch_frame(
            con,
            f"SELECT {lit(spec.name)} AS table_name, delivery_date, "
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
