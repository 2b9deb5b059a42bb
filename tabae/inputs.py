"""What tabae accepts as a table: DataFrames, and 2-D arrays wherever scikit-learn would pass one.

A frame keeps its column names (and is checked against the fitted schema by name, in
any order). An array gets the fitted column names by position, or ``x0, x1, ...`` at
fit, so that a model fitted on arrays inside a scikit-learn pipeline takes arrays back.
Results follow the input: pandas in, pandas out; arrays in, arrays out.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tabae.exceptions import SchemaError, TabaeWarning

__all__ = ["to_frame", "array_names", "check_training_table", "set_feature_names", "MIN_ROWS"]

#: Fewer rows than this cannot inform a model of a table (nor a validation split).
MIN_ROWS = 11


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
            f"{argument} must be 2-D (rows x columns), got shape {array.shape}. Reshape your data: "
            "X.reshape(-1, 1) for a single column, X.reshape(1, -1) for a single row"
        )
    if array.dtype.kind == "c":
        raise SchemaError(f"{argument} has dtype {array.dtype}: Complex data not supported; pass real numbers or strings")
    if array.dtype.kind in "mMV":
        raise SchemaError(f"{argument} has dtype {array.dtype}, which tabae cannot model; pass numbers or strings")
    if array.shape[1] == 0:
        raise SchemaError(
            f"{argument} has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required; "
            "pass a table with at least one column"
        )
    if names is None:
        names = array_names(array.shape[1])
    elif array.shape[1] != len(names):
        raise SchemaError(
            f"{argument} has {array.shape[1]} features, but tabae is expecting {len(names)} features as input "
            f"({array.shape[1]} columns, but the model was fitted on {len(names)}: {list(names)[:10]}); "
            "pass the same columns"
        )
    # An object array of numbers (scikit-learn's checks pass those) holds float columns.
    return pd.DataFrame(array, columns=list(names)).infer_objects(), False


def check_training_table(df: pd.DataFrame, owner: str, stacklevel: int = 3) -> None:
    """Refuse tables too small to learn from; warn about ones a model learns little from.

    Too few rows raise a :class:`SchemaError` (a ``ValueError``) naming ``X`` and its shape;
    constant columns and fewer rows than columns give a :class:`TabaeWarning` (the model
    still fits, and its scores and imputations stay finite).
    """
    n, p = df.shape
    if n < MIN_ROWS:
        raise SchemaError(
            f"{owner}: X has {n} row(s) (n_samples = {n}, n_features = {p}); tabae needs at least "
            f"{MIN_ROWS} rows to learn a model of a table"
        )
    constant = [str(c) for c in df.columns if df[c].nunique(dropna=True) <= 1]
    if constant:
        warnings.warn(
            f"{owner}: X has {len(constant)} constant column(s) {constant[:10]} (at most one distinct "
            "observed value): the model learns nothing from them; their holes are filled with that "
            "value; they add about 0 to the outlier score of a row that has that value, and a great "
            "deal to one that has another. Drop them if they are not meant to be there.",
            TabaeWarning,
            stacklevel=stacklevel,
        )
    if n < p:
        warnings.warn(
            f"{owner}: X has fewer rows than columns ({n} rows, {p} columns): too few to learn how the "
            "columns relate, so imputations and scores will stay close to each column's own distribution",
            TabaeWarning,
            stacklevel=stacklevel,
        )


def set_feature_names(estimator, names: Sequence[str], was_frame: bool) -> None:
    """scikit-learn's fitted names: ``n_features_in_`` always; ``feature_names_in_`` only
    for frame input (deleted when refitted on an array, so that ``set_output`` and
    ``get_feature_names_out`` never use the names of an earlier fit)."""
    estimator.n_features_in_ = len(names)
    if was_frame:
        estimator.feature_names_in_ = np.asarray(list(names), dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
