"""Raw layer models: every delivered column as text plus lineage, one model per contract table."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from ..contract import TABLES, TableSpec
from .common import BigInt, Date, StrictModel, Text, Timestamp, field

_TEXT = "As delivered (text); NULL when empty or when the line was malformed."


class RawLineage(StrictModel):
    delivery_date: Series[Date] = field("Delivery day (the partition).")
    source_file: Series[Text] = field("File within the landing zone, e.g. 2024-03-17/orders.csv.")
    line_number: Series[BigInt] = field(
        "Physical line of the file the record starts on (header = 1; blank lines and line breaks "
        "inside quoted fields counted); for the catalog API, the record's seq + 1.",
        gt=1,
    )
    ingested_at: Series[Timestamp] = field("When the run read the file (UTC).")
    raw_line: Series[Text] = field("The raw text of a malformed line, else NULL.", nullable=True)
    parse_error: Series[Text] = field(
        "DuckDB's reason a line is malformed, else NULL.", nullable=True
    )


def _raw_model(table: TableSpec) -> type[pa.DataFrameModel]:
    """``Raw<Table>``: the contract's columns of ``table``, in its order, as nullable text."""
    namespace: dict[str, object] = {c.name: field(_TEXT, nullable=True) for c in table.columns}
    namespace["__annotations__"] = {c.name: Series[Text] for c in table.columns}
    namespace["__module__"] = __name__
    name = "Raw" + table.name.title().replace("_", "")
    return type(name, (RawLineage,), namespace)


# The raw columns are the contract's, so they are built from it rather than written again:
# RawUsers, RawProducts, RawOrders, RawOrderItems, RawEvents, RawReviews.
RAW_MODELS: dict[str, type[pa.DataFrameModel]] = {
    name: _raw_model(table) for name, table in TABLES.items()
}


class RawDeliveries(StrictModel):
    """The delivery ledger: one row per contract file of each day the raw layer loaded."""

    delivery_date: Series[Date] = field("Delivery day (the partition).")
    file_name: Series[Text] = field("Contract file, e.g. orders.csv.")
    bytes: Series[BigInt] = field("Size of the file as loaded; NULL when absent.", nullable=True)
    sha256: Series[Text] = field("SHA-256 of the file as loaded; NULL when absent.", nullable=True)
    success_at: Series[Timestamp] = field("When the source wrote _SUCCESS (its mtime, UTC).")
    loaded_at: Series[Timestamp] = field("When the run loaded the day (UTC).")
    run_id: Series[Text] = field("The Dagster run that loaded the day.")
