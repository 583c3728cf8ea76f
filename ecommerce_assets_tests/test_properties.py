"""Invariants, property-tested: staging conserves rows and types them; builds are reproducible.

Hypothesis generates raw frames the raw layer's Pandera models allow (every column text or NULL,
with lineage): valid values, values broken in every way the contract lists, whitespace and case
variants, NULLs, malformed lines and exact copies of earlier rows.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecommerce_assets.contract import ENUMERATIONS, TABLES, ColumnSpec, TableSpec
from ecommerce_assets.runner import materialize_days
from ecommerce_assets.schemas import (
    RAW_MODELS,
    STAGED_MODELS,
    StgLoadAudit,
    StgQuarantine,
    conform,
)
from ecommerce_assets.transforms.staging import stage_table

from .conftest import make_built, table_digest

DAYS = ("2024-03-10", "2024-03-11")
_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=6,
)


def _int_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(1, 40).map(str),  # small, so keys repeat (duplicate_key, orphan lines)
        st.integers(-3, 3).map(str),
        st.sampled_from(["abc", "1.5", " 7 ", "+8", "12abc", "99999999999999999999", "2147483648"]),
    )


def _decimal_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-500, 50_000).map(lambda c: f"{c / 100:.2f}"),
        st.sampled_from(["0", "0.05", "0.999", "1", "1.5", ".5", "N/A", "1e5", " 3.10 "]),
        st.sampled_from(["12345678901.99", "-0.01", "10.005"]),
    )


def _date_values() -> st.SearchStrategy[str]:
    return st.sampled_from(
        ["2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12", "2024-13-45", "10/03/2024"]
    )


def _timestamp_values() -> st.SearchStrategy[str]:
    days = st.sampled_from(["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12"])
    times = st.sampled_from(["00:00:00", "10:30:00", "23:59:59", "25:00:00"])
    odd = st.sampled_from(["2024-03-10T10:00:00", "2024-03-10", "yesterday"])
    return st.one_of(st.builds(lambda d, t: f"{d} {t}", days, times), odd)


def _text_values(spec: TableSpec, column: ColumnSpec) -> st.SearchStrategy[str]:
    enum = ENUMERATIONS.get((spec.name, column.name))
    if enum is not None:
        variants = [*enum, *(v.upper() for v in enum), *(f" {v.title()} " for v in enum)]
        return st.one_of(st.sampled_from([*variants, "bitcoin"]), _TEXT)
    if column.name == "email":
        return st.sampled_from(["a@example.com", " B@Example.COM ", "alice@@example", "x"])
    return _TEXT


def broken(spec: TableSpec, column: ColumnSpec) -> st.SearchStrategy[str | None]:
    """Any text the raw layer can hold for ``column``: valid, broken, padded, empty or NULL."""
    typed = {
        "int": _int_values,
        "decimal": _decimal_values,
        "date": _date_values,
        "timestamp": _timestamp_values,
    }
    inner = typed[column.kind]() if column.kind in typed else _text_values(spec, column)
    return st.one_of(inner, st.just(""), st.none())


def valid(spec: TableSpec, column: ColumnSpec, day: str) -> st.SearchStrategy[str | None]:
    """A value the contract accepts for ``column`` in a delivery of ``day`` (possibly padded)."""
    if column.kind == "int":
        high = 5 if (spec.name, column.name) == ("reviews", "rating") else 40
        return st.integers(1, high).map(str)
    if column.kind == "decimal":
        if column.name == "price":
            return st.integers(1, 99_999).map(lambda c: f"{c}.00")
        high = 99 if column.name == "discount" else 99_999
        return st.integers(0, high).map(lambda c: f"{c / 100:.2f}")
    if column.kind == "date":
        return st.just(day)
    if column.kind == "timestamp":
        return st.sampled_from(["00:00:00", "12:34:56", "23:59:59"]).map(lambda t: f"{day} {t}")
    if column.name == "email":
        return st.sampled_from(["a@example.com", " B@Example.COM "])
    if column.name == "event_type":
        return st.just("page_view")  # product events also need a product_id
    enum = ENUMERATIONS.get((spec.name, column.name))
    if enum is not None:
        return st.sampled_from([*enum, *(f" {v.upper()} " for v in enum)])
    return st.text(alphabet='abc XYZ,"\n', min_size=1, max_size=6).filter(str.strip)


@st.composite
def raw_row(draw: st.DrawFn, spec: TableSpec, day: str) -> dict[str, str | None]:
    """Half the rows are valid with at most one broken column; the rest are noise."""
    if draw(st.booleans()):
        row = {c.name: draw(valid(spec, c, day)) for c in spec.columns}
        if draw(st.booleans()):
            column = draw(st.sampled_from(spec.columns))
            row[column.name] = draw(broken(spec, column))
        return row
    return {c.name: draw(broken(spec, c)) for c in spec.columns}


@st.composite
def raw_frames(draw: st.DrawFn) -> tuple[TableSpec, pd.DataFrame, pd.DataFrame | None]:
    """(table, raw frame, staged orders for order lines) with bounded size."""
    spec = draw(st.sampled_from(list(TABLES.values())))
    records = []
    for i in range(draw(st.integers(0, 12))):
        day = draw(st.sampled_from(DAYS))
        malformed = draw(st.integers(0, 9)) == 0
        values = draw(raw_row(spec, day))
        records.append({"values": values, "day": day, "malformed": malformed, "line": i + 2})
    # Exact copies of earlier records (same day, same content), as a re-sent line would be.
    for _ in range(draw(st.integers(0, 4)) if records else 0):
        copy = dict(draw(st.sampled_from(records)))
        copy["line"] = len(records) + 2
        records.append(copy)
    frame = pd.DataFrame(
        {
            **{
                c: pd.Series(
                    [None if r["malformed"] else r["values"][c] for r in records], dtype=object
                )
                for c in spec.column_names
            },
            "delivery_date": pd.to_datetime([r["day"] for r in records]).astype("datetime64[ns]"),
            "source_file": pd.Series(
                [f"{r['day']}/{spec.file_name}" for r in records], dtype=object
            ),
            "line_number": pd.Series([r["line"] for r in records], dtype="int64"),
            "ingested_at": pd.Series([pd.Timestamp("2024-03-12")] * len(records)).astype(
                "datetime64[ns]"
            ),
            "raw_line": pd.Series(
                ["1,2,too,many" if r["malformed"] else None for r in records], dtype=object
            ),
            "parse_error": pd.Series(
                ["TOO MANY COLUMNS: x" if r["malformed"] else None for r in records],
                dtype=object,
            ),
        }
    )
    orders = None
    if spec.name == "order_items":
        ids = draw(st.lists(st.integers(1, 40), max_size=30, unique=True))
        orders = pd.DataFrame(
            {
                "delivery_date": pd.to_datetime([DAYS[i % 2] for i in range(len(ids))]),
                "order_id": pd.Series(ids, dtype="int64"),
            }
        )
    # What the raw layer writes: the raw model's Arrow types.
    return spec, conform(frame, RAW_MODELS[spec.name]), orders


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw_frames())
def test_staging_conserves_rows_and_satisfies_the_staged_model(
    case: tuple[TableSpec, pd.DataFrame, pd.DataFrame | None],
) -> None:
    spec, raw, orders = case
    RAW_MODELS[spec.name].validate(raw)  # the input is one the raw layer could have written
    result = stage_table(spec, raw, orders)
    duplicates = int(result.audit["exact_duplicates"].sum())
    assert len(raw) == len(result.staged) + len(result.quarantine) + duplicates
    assert int(result.audit["raw_rows"].sum()) == len(raw)
    assert int(result.audit["staged_rows"].sum()) == len(result.staged)
    assert int(result.audit["quarantined_rows"].sum()) == len(result.quarantine)
    STAGED_MODELS[spec.name].validate(result.staged)
    StgQuarantine.validate(result.quarantine)
    StgLoadAudit.validate(result.audit)
    # No raw line is both staged and quarantined, and none appears twice in either.
    staged = set(zip(result.staged["source_file"], result.staged["line_number"], strict=True))
    quarantined = set(
        zip(result.quarantine["source_file"], result.quarantine["line_number"], strict=True)
    )
    assert len(staged) == len(result.staged) and len(quarantined) == len(result.quarantine)
    assert not staged & quarantined
    # Malformed lines are always quarantined as such.
    malformed = raw.loc[raw["parse_error"].notna(), ["source_file", "line_number"]]
    reasons = dict(
        zip(
            zip(result.quarantine["source_file"], result.quarantine["line_number"], strict=True),
            result.quarantine["reason"],
            strict=True,
        )
    )
    for key in zip(malformed["source_file"], malformed["line_number"], strict=True):
        assert key in reasons or key not in staged  # an exact copy is counted, not quarantined
        if key in reasons:
            assert reasons[key] == "malformed_line"


def test_building_twice_from_the_same_deliveries_gives_identical_tables(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every table of every layer (marts included), compared by content checksum, not counts."""
    digests = []
    for name in ("first", "second"):
        built = make_built(tmp_path_factory.mktemp(name), days=3, scale=0.04, seed=31)
        everything = dg.AssetSelection.all().without_checks()  # checks write no tables
        assert materialize_days(built.defs, built.first, built.last, selection=everything).success
        digests.append(table_digest(built.warehouse, ("raw", "staging", "marts")))
    first, second = digests
    assert any(name.startswith("marts.") for name in first)
    assert first == second
    # Repeating the backfill into the same warehouse changes nothing (no row added or altered).
    assert materialize_days(built.defs, built.first, built.last, selection=everything).success
    assert table_digest(built.warehouse, ("raw", "staging", "marts")) == second
