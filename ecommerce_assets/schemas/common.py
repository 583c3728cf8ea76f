"""What every layer's models share: Arrow column types, ``field`` and the model-to-Dagster helpers.

Each model types an asset's output (``pandera_schema_to_dagster_type``), so a violation fails the
step naming column and values, and its descriptions become the asset's ``dagster/column_schema``.
A column's warehouse type follows its Arrow dtype (``string`` is VARCHAR, ``decimal128(10, 2)``
is DECIMAL(10,2), ``date32`` is DATE, ...).
"""

from __future__ import annotations

from typing import Annotated, Any

import dagster as dg
import pandas as pd
import pandera.pandas as pa
import pyarrow
from dagster_pandera import pandera_schema_to_dagster_type

from ..slices import DailyFrames, KeyedFrame

# Every column is Arrow-backed (``pd.ArrowDtype``), exactly the warehouse's type: DuckDB hands
# tables to pandas as Arrow without a Python object per value, money stays an exact DECIMAL, and
# the I/O manager writes them back from Arrow. Pandera validates these dtypes as they are.
Text = Annotated[pd.ArrowDtype, pyarrow.string()]
BigInt = Annotated[pd.ArrowDtype, pyarrow.int64()]
Int = Annotated[pd.ArrowDtype, pyarrow.int32()]
Bool = Annotated[pd.ArrowDtype, pyarrow.bool_()]
Double = Annotated[pd.ArrowDtype, pyarrow.float64()]
Date = Annotated[pd.ArrowDtype, pyarrow.date32()]
Timestamp = Annotated[pd.ArrowDtype, pyarrow.timestamp("us")]
Decimal4_3 = Annotated[pd.ArrowDtype, pyarrow.decimal128(4, 3)]
Decimal10_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(10, 2)]
Decimal12_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(12, 2)]
Decimal14_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(14, 2)]
Decimal18_2 = Annotated[pd.ArrowDtype, pyarrow.decimal128(18, 2)]

# Descriptions of the keys that join the star schema, used by more than one layer.
DATE_KEY = "Calendar day as YYYYMMDD, joins dim_date."
PM_KEY = "Payment method key, joins dim_payment_method (0 = unknown)."


def field(description: str, sql_type: str | None = None, **checks: Any) -> Any:
    """A Pandera field with a description and, optionally, its warehouse column type."""
    return pa.Field(
        description=description, metadata={"sql_type": sql_type} if sql_type else None, **checks
    )


class StrictModel(pa.DataFrameModel):
    """Base of every model: strict, so a frame with a column the model lacks fails validation."""

    class Config:
        strict = True


# --------------------------------------------------------------------------------------------
# Helpers that turn a model into what Dagster and the I/O manager need.
# --------------------------------------------------------------------------------------------
_SQL_BY_ARROW = {
    pyarrow.string(): "VARCHAR",
    pyarrow.large_string(): "VARCHAR",
    pyarrow.int64(): "BIGINT",
    pyarrow.int32(): "INTEGER",
    pyarrow.bool_(): "BOOLEAN",
    pyarrow.float64(): "DOUBLE",
    pyarrow.date32(): "DATE",
    pyarrow.timestamp("us"): "TIMESTAMP",
}


def arrow_type(column: pa.Column) -> pyarrow.DataType:
    """The Arrow type a model column declares."""
    return column.dtype.type.pyarrow_dtype


def sql_type(column: pa.Column) -> str:
    """The warehouse type of a model column (``sql_type`` metadata wins, else its Arrow type)."""
    meta = column.metadata or {}
    if meta.get("sql_type"):
        return meta["sql_type"]
    arrow = arrow_type(column)
    if pyarrow.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision},{arrow.scale})"
    return _SQL_BY_ARROW[arrow]


def model_columns(model: type[pa.DataFrameModel]) -> dict[str, pa.Column]:
    """The model's columns in table order: a table's own columns first, lineage columns last.

    Lineage columns are those a model inherits from a base model (``RawLineage``,
    ``StagedLineage``).
    """
    columns = model.to_schema().columns
    lineage: set[str] = set()
    for base in model.__mro__[1:]:
        if issubclass(base, pa.DataFrameModel) and base is not pa.DataFrameModel:
            lineage |= set(base.to_schema().columns)
    own = {n: c for n, c in columns.items() if n not in lineage}
    return own | {n: c for n, c in columns.items() if n in lineage}


def table_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """The model as a ``dagster/column_schema``: warehouse types, descriptions, constraints."""
    columns = []
    for name, column in model_columns(model).items():
        columns.append(
            dg.TableColumn(
                name=name,
                type=sql_type(column),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=column.nullable,
                    unique=column.unique,
                    other=[str(check.error or check.name) for check in column.checks],
                ),
            )
        )
    return dg.TableSchema(columns=columns)


def dagster_type(model: type[pa.DataFrameModel]) -> dg.DagsterType:
    """The model as a Dagster type (dagster-pandera's: column descriptions in the UI).

    A frame is validated whole. ``DailyFrames`` is validated chunk by chunk as the I/O manager
    writes it: dagster-pandera can only validate a whole frame, which for a range would mean
    holding the range in memory. A failing chunk fails the write, and nothing is written.
    """
    frame_type = pandera_schema_to_dagster_type(model)

    def check(context: dg.TypeCheckContext, value: object) -> dg.TypeCheck:
        if isinstance(value, DailyFrames):
            value.validate = lambda frame: model.validate(frame, lazy=True)
            return dg.TypeCheck(success=True, description="Validated chunk by chunk as written.")
        if isinstance(value, KeyedFrame):  # the rows of some keys: validated as a frame
            return frame_type.type_check(context, value.frame)
        return frame_type.type_check(context, value)

    return dg.DagsterType(
        type_check_fn=check,
        name=frame_type.unique_name,
        description=frame_type.description,
        metadata=frame_type.metadata,
        typing_type=pd.DataFrame,
    )


def conform(df: pd.DataFrame, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """Columns in model order with the model's Arrow types.

    Cheap when the frame came from DuckDB as Arrow: a column already of its type is kept as is
    (Arrow arrays are immutable, nothing is copied); only a differing one is cast by Arrow (e.g.
    ``count(*)`` is BIGINT where the table column is INTEGER), which fails on overflow instead of
    wrapping. Frames built by hand (tests, the unknown members) are converted the same way.
    """
    columns = {}
    for name, column in model_columns(model).items():
        target = column.dtype.type
        if name not in df.columns:
            array = pyarrow.nulls(len(df), target.pyarrow_dtype)
        elif df[name].dtype == target:
            columns[name] = df[name].array
            continue
        else:
            series = df[name]
            if isinstance(series.dtype, pd.ArrowDtype):
                array = pyarrow.chunked_array(series.array._pa_array)
            else:
                array = pyarrow.Array.from_pandas(series.astype(object).where(series.notna(), None))
            array = array.cast(target.pyarrow_dtype)
        columns[name] = pd.arrays.ArrowExtensionArray(array)
    return pd.DataFrame(columns, copy=False)
