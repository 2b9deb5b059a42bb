"""What tabae accepts as a table: DataFrames, and 2-D arrays wherever scikit-learn would pass one.

A frame keeps its column names (and is checked against the fitted schema by name, in
any order). An array gets the fitted column names by position, or ``x0, x1, ...`` at
fit, so that a model fitted on arrays inside a scikit-learn pipeline takes arrays back.
Results follow the input: pandas in, pandas out; arrays in, arrays out.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from tabae.exceptions import SchemaError

__all__ = ["to_frame", "array_names"]


def array_names(n_columns: int) -> list[str]:
    """Column names given to an array's columns at fit: ``x0, x1, ...``."""
    return [f"x{i}" for i in range(n_columns)]


def to_frame(X: Any, names: Sequence[str] | None = None, argument: str = "X") -> tuple[pd.DataFrame, bool]:
    """``(frame, was_frame)``: ``X`` as a DataFrame, and whether it was one.

    ``names``: the fitted column names an array's columns take by position (None at fit:
    ``x0, x1, ...``). Sparse matrices, 1-D or 3-D input, and arrays of the wrong width
    are refused with a :class:`SchemaError` that says what to pass instead.
    """
    if isinstance(X, pd.DataFrame):
        return X, True
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise SchemaError(
            f"{argument} is a sparse matrix, which tabae does not support (sparse input is not "
            f"supported: cells are modelled one by one); pass a dense array ({argument}.toarray()) "
            "or a DataFrame"
        )
    if isinstance(X, pd.Series):
        raise SchemaError(f"{argument} is a Series; pass a DataFrame (series.to_frame()) or a 2-D array")
    try:
        array = np.asarray(X)
    except Exception as err:  # ragged lists and other non-tables
        raise SchemaError(f"{argument} is not a table ({type(X).__name__}); pass a DataFrame or a 2-D array") from err
    if array.ndim != 2:
        raise SchemaError(
            f"{argument} must be 2-D (rows x columns), got shape {array.shape}; "
            "reshape a single column with X.reshape(-1, 1) or a single row with X.reshape(1, -1)"
        )
    if array.dtype.kind in "cmMV":
        raise SchemaError(f"{argument} has dtype {array.dtype}, which tabae cannot model; pass numbers or strings")
    if names is None:
        names = array_names(array.shape[1])
    elif array.shape[1] != len(names):
        raise SchemaError(
            f"{argument} has {array.shape[1]} columns, but the model was fitted on {len(names)} "
            f"({list(names)[:10]}); pass the same columns"
        )
    # An object array of numbers (scikit-learn's checks pass those) holds float columns.
    return pd.DataFrame(array, columns=list(names)).infer_objects(), False
