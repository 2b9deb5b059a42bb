"""Fitting chunks to a model's schema: the checks before any work, and the casts of each chunk.

A chunk read on its own does not always look like the table the model was fitted on:
a string column that happens to be empty in this row group comes back as all-null
(``float64`` or ``object`` of None in pandas), an integer column with holes as
``float64``, a category as the chunk's own dictionary. :func:`coerce_frame` casts each
fitted column back to its fitted pandas dtype wherever that loses nothing, so that the
model sees the same values whether it gets the table in one piece or in chunks.
:func:`check_columns` compares an input's Arrow schema with the model's schema before
anything is read, so that a wrong file fails at once with one line naming the column.

Only the public schema is used (``model.encoder_.schema_``, a detector's model's for an
:class:`~tabae.AEOutlierDetector`: a :class:`~tabae.schema.TableSchema` of
:class:`~tabae.schema.ColumnSpec`; :func:`fitted_schema`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api import types as ptypes

from tabae.exceptions import SchemaError
from tabae.schema import ColumnSpec, TableSchema

__all__ = ["fitted_schema", "check_columns", "coerce_frame", "coerce_series", "csv_column_types", "sample_dtypes",
           "to_frame", "to_batch", "INDEX_COLUMN_PREFIX"]

#: Columns pandas writes for a non-default index: carried through, never modelled.
INDEX_COLUMN_PREFIX = "__index_level_"

_KIND_WORDS = {"numeric": "numbers", "integer": "integers", "categorical": "categories",
               "boolean": "true/false flags", "datetime": "timestamps"}


# ---------------------------------------------------------------------- before any work
def fitted_schema(model) -> TableSchema:
    """The table schema a fitted model, or a fitted detector's model, was fitted on."""
    return getattr(model, "model_", model).encoder_.schema_


def check_columns(arrow_schema: pa.Schema, schema: TableSchema) -> list[str]:
    """Check an input's columns and types against the fitted ones; return the extra columns.

    Raises
    ------
    SchemaError
        Naming the fitted columns that are missing, or the first column whose Arrow
        type cannot hold what the model was fitted on.

    Examples
    --------
    >>> import pandas as pd, pyarrow as pa
    >>> from tabae import TableSchema
    >>> schema = TableSchema.infer(pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Rome"]}))
    >>> check_columns(pa.schema([("id", pa.int64()), ("age", pa.int64()), ("city", pa.null())]), schema)
    ['id']
    >>> check_columns(pa.schema([("age", pa.string()), ("city", pa.string())]), schema)
    Traceback (most recent call last):
    ...
    tabae.exceptions.SchemaError: input column 'age' holds string values, but the model was fitted on integers (int64); convert the column or use the table the model was fitted on
    """
    names = set(arrow_schema.names)
    missing = [n for n in schema.names if n not in names]
    if missing:
        raise SchemaError(
            f"the input lacks column(s) {missing} that the model was fitted on "
            f"(the input has {arrow_schema.names[:12]}{' ...' if len(arrow_schema) > 12 else ''}); "
            "is this the table the model was fitted on?"
        )
    for spec in schema:
        arrow_type = arrow_schema.field(spec.name).type
        if not _fits(spec.kind, arrow_type):
            raise SchemaError(
                f"input column {spec.name!r} holds {arrow_type} values, but the model was fitted on "
                f"{_KIND_WORDS[spec.kind]} ({spec.dtype}); convert the column or use the table the model was fitted on"
            )
    fitted = set(schema.names)
    return [n for n in arrow_schema.names if n not in fitted]


def csv_column_types(schema: TableSchema) -> dict[str, pa.DataType]:
    """Arrow types to read the fitted columns of a CSV file with, the same in every block.

    Numbers are read as float64 (a CSV of integers with holes may write ``3.0``);
    strings and categories of strings as strings; flags as bools; timestamps with the
    fitted unit and time zone.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae import TableSchema
    >>> schema = TableSchema.infer(pd.DataFrame({"n": [1, 2], "c": ["a", "b"], "f": [True, False]}))
    >>> {k: str(v) for k, v in csv_column_types(schema).items()}
    {'n': 'double', 'c': 'string', 'f': 'bool'}
    """
    types = {}
    for spec in schema:
        if spec.kind in ("numeric", "integer"):
            types[spec.name] = pa.float64()
        elif spec.kind == "boolean":
            types[spec.name] = pa.bool_()
        elif spec.kind == "datetime":
            dtype = spec.pandas_dtype()
            unit = np.datetime_data(getattr(dtype, "base", dtype))[0] if not hasattr(dtype, "unit") else dtype.unit
            types[spec.name] = pa.timestamp(unit, tz=str(dtype.tz) if getattr(dtype, "tz", None) else None)
        else:
            dtype = spec.pandas_dtype()
            values = dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype
            types[spec.name] = (pa.int64() if ptypes.is_integer_dtype(values)
                                else pa.float64() if ptypes.is_float_dtype(values)
                                else pa.bool_() if ptypes.is_bool_dtype(values) else pa.string())
    return types


def sample_dtypes(schema: TableSchema) -> dict:
    """The pandas dtypes generated rows are given: the fitted ones, made nullable.

    Generated rows have holes, which NumPy ``int64`` and ``bool`` cannot hold; they
    become ``Int64`` and ``boolean`` so that every chunk has the same types.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae import TableSchema
    >>> schema = TableSchema.infer(pd.DataFrame({"n": [1, 2], "f": [True, False], "x": [0.5, 1.0]}))
    >>> {k: str(v) for k, v in sample_dtypes(schema).items()}
    {'n': 'Int64', 'f': 'boolean', 'x': 'float64'}
    """
    dtypes = {}
    for spec in schema:
        dtype = spec.pandas_dtype()
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            dtype = pd.Int64Dtype()
        elif isinstance(dtype, np.dtype) and dtype.kind == "b":
            dtype = pd.BooleanDtype()
        dtypes[spec.name] = dtype
    return dtypes


# ---------------------------------------------------------------------- each chunk
def to_frame(batch: pa.RecordBatch, offset: int = 0) -> pd.DataFrame:
    """A record batch as a DataFrame indexed by row position in the whole input."""
    frame = batch.to_pandas()
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


def to_batch(frame: pd.DataFrame, arrow_schema: pa.Schema) -> pa.RecordBatch:
    """``frame``'s columns as a record batch of exactly ``arrow_schema`` (order and types)."""
    plain = arrow_schema.remove_metadata()
    return pa.RecordBatch.from_pandas(frame[plain.names], schema=plain, preserve_index=False)


def coerce_frame(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """``frame`` with each fitted column cast to its fitted dtype where that loses nothing.

    Other columns are left as they are. A column that is entirely missing gets the
    fitted dtype (or its nullable float/object stand-in).

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae import TableSchema
    >>> schema = TableSchema.infer(pd.DataFrame({"n": pd.array([1, None], "Int64"), "c": ["a", "b"]}))
    >>> chunk = pd.DataFrame({"n": [3.0, None], "c": [None, None]})  # as pandas reads a chunk
    >>> coerce_frame(chunk, schema).dtypes.astype(str).tolist()
    ['Int64', 'str']
    """
    out = {}
    for spec in schema:
        if spec.name in frame.columns:
            series = frame[spec.name]
            cast = coerce_series(series, spec)
            if cast is not series:
                out[spec.name] = cast
    if not out:
        return frame
    frame = frame.copy(deep=False)
    for name, series in out.items():
        frame[name] = series
    return frame


def coerce_series(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    """``series`` in ``spec``'s fitted dtype if that is lossless, else ``series`` itself."""
    target = spec.pandas_dtype()
    if series.dtype == target:
        return series
    missing = series.isna()
    if missing.all():
        if isinstance(target, np.dtype) and target.kind in "iuf":
            return pd.Series(np.nan, index=series.index, dtype=np.float64, name=series.name)
        if isinstance(target, np.dtype) and target.kind == "b":
            return pd.Series(None, index=series.index, dtype=object, name=series.name)
        return pd.Series(None, index=series.index, dtype=target, name=series.name)
    if isinstance(target, np.dtype) and target.kind in "iub" and missing.any():
        return series  # NumPy ints and bools cannot hold holes: pandas' own fallback is fine
    if isinstance(target, pd.CategoricalDtype):
        used = series.dropna().unique()
        if not pd.Index(used).isin(target.categories).all():
            return series  # an unseen category: keep it (the model handles it), never drop it
    if spec.kind in ("numeric", "integer") and not ptypes.is_numeric_dtype(series.dtype):
        return series  # let the schema check name the column
    try:
        cast = series.astype(target)
    except (TypeError, ValueError, OverflowError):
        return series
    if spec.kind in ("numeric", "integer") and ptypes.is_float_dtype(series.dtype):
        before = series.to_numpy(dtype=np.float64, na_value=np.nan)
        after = cast.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.array_equal(before, after, equal_nan=True):
            return series
    return cast


def _fits(kind: str, arrow_type: pa.DataType) -> bool:
    t = arrow_type
    if pa.types.is_null(t):
        return True
    if pa.types.is_dictionary(t):
        t = t.value_type
    if kind in ("numeric", "integer"):
        return pa.types.is_integer(t) or pa.types.is_floating(t)
    if kind == "boolean":
        return pa.types.is_boolean(t)
    if kind == "datetime":
        return pa.types.is_timestamp(t) or pa.types.is_date(t)
    return not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t))
