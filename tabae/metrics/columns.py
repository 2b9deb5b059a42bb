"""What every metric needs first: checked frames, column kinds and column codes.

The metrics compare columns, so each starts the same way: check that both
tables are non-empty DataFrames with the same columns, decide per column
whether it is *numeric* (compared as numbers) or *categorical* (compared as
labels), and turn the columns into aligned arrays: floats with NaN for the
numbers, shared integer codes for the categories. The helpers live here, as
public names, so that the metric modules share one definition of each step
instead of importing each other's private helpers.
"""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pandas as pd

from tabae.exceptions import TabaeError, TabaeWarning

__all__ = [
    "KIND_WORDS",
    "MAX_CATEGORIES",
    "binary_classes",
    "check_frames",
    "codes",
    "column_kinds",
    "draw_seed",
    "encode",
    "numbers",
    "refuse_metadata",
    "subsample",
    "tree_features",
    "warn",
]

#: The words ``kinds=`` accepts and how the metrics read them: tabae's own
#: kinds (see :data:`tabae.schema.KINDS`) and SDMetrics' sdtypes.
KIND_WORDS = {
    "numeric": "numeric",
    "integer": "numeric",
    "datetime": "numeric",
    "numerical": "numeric",  # SDMetrics
    "categorical": "categorical",
    "boolean": "categorical",
    "ordinal": "categorical",  # SDMetrics
}
#: HistGradientBoosting takes at most 255 categories per feature; rarer ones
#: share the last code ("other").
MAX_CATEGORIES = 255
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refuse_metadata(metadata):
    """Raise if the keyword ``metadata=`` (renamed ``kinds=``) was given.

    Raises
    ------
    TabaeError
        Whenever ``metadata`` is not None.

    Examples
    --------
    >>> refuse_metadata({"zip": "categorical"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tabae.exceptions.TabaeError: metadata= is now kinds=, as in the rest of tabae: ...
    """
    if metadata is not None:
        raise TabaeError(
            "metadata= is now kinds=, as in the rest of tabae: pass e.g. kinds={'zip': 'categorical'} "
            "(SDMetrics' {'columns': {'zip': {'sdtype': 'categorical'}}} is read as well)."
        )


def check_frames(first, second, names=("real", "synthetic")):
    """Raise unless both are non-empty DataFrames with the same columns.

    ``names`` are the arguments' names, for the error messages.

    Raises
    ------
    TabaeError
        Naming the argument that is not a DataFrame, is empty, or lacks or adds columns.

    Examples
    --------
    >>> import pandas as pd
    >>> check_frames(pd.DataFrame({"x": [1]}), pd.DataFrame({"y": [1]}))
    Traceback (most recent call last):
    ...
    tabae.exceptions.TabaeError: synthetic must have the columns of real: missing ['x'], unexpected ['y'].
    """
    for name, df in zip(names, (first, second), strict=True):
        if not isinstance(df, pd.DataFrame):
            raise TabaeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}.")
        if len(df) == 0 or df.shape[1] == 0:
            raise TabaeError(f"{name} is empty (shape {df.shape}); pass at least one row and column.")
    missing = [c for c in first.columns if c not in second.columns]
    extra = [c for c in second.columns if c not in first.columns]
    if missing or extra:
        raise TabaeError(
            f"{names[1]} must have the columns of {names[0]}: missing {missing}, unexpected {extra}."
        )


def column_kinds(real, kinds=None):
    """Map every column to ``"numeric"`` or ``"categorical"``: dtype first, then ``kinds``.

    Numbers and datetimes are numeric; strings, objects, categories and
    booleans (numbers to pandas, but two labels to a metric) are categorical.

    ``kinds`` overrides are ``{"column": kind}`` with any word of
    :data:`KIND_WORDS`, or SDMetrics' ``{"columns": {"column": {"sdtype": kind}}}``.
    The result is in the column order of ``real``; an unknown column or kind
    raises :class:`~tabae.TabaeError`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"zip": [1234, 5678], "when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    >>> column_kinds(df)
    {'zip': 'numeric', 'when': 'numeric'}
    >>> column_kinds(df, {"columns": {"zip": {"sdtype": "categorical"}}})
    {'zip': 'categorical', 'when': 'numeric'}
    """
    found = {}
    for col in real.columns:
        s = real[col]
        numeric = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)
        found[col] = "numeric" if numeric and not pd.api.types.is_bool_dtype(s) else "categorical"
    if kinds is None:
        return found
    if isinstance(kinds.get("columns"), dict):  # SDMetrics metadata
        kinds = {c: m.get("sdtype") for c, m in kinds["columns"].items()}
    for col, kind in kinds.items():
        if col not in found:
            raise TabaeError(f"kinds names column {col!r}, which real does not have.")
        if kind not in KIND_WORDS:
            raise TabaeError(f"kinds[{col!r}] = {kind!r}; use one of {sorted(KIND_WORDS)}.")
        found[col] = KIND_WORDS[kind]
    return found


def numbers(s):
    """A column as float64 with NaN for missing; datetimes become nanoseconds.

    Anything else is coerced, NaN where that fails.

    Examples
    --------
    >>> import pandas as pd
    >>> numbers(pd.Series([1, None, 3])).tolist()
    [1.0, nan, 3.0]
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert(None)
        out = s.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        out[s.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def codes(columns, return_categories=False):
    """Integer codes shared by several versions of one categorical column.

    Codes rank the values by their joint frequency (0 = most common), so a cap
    on the number of categories keeps the common ones; missing is -1.

    ``columns`` is the same column in several tables; the result holds one
    int64 code array per table (and, with ``return_categories``, the values
    indexed by code).

    Examples
    --------
    >>> import pandas as pd
    >>> (a, b), values = codes([pd.Series(["x", "y", None]), pd.Series(["y", "y"])], return_categories=True)
    >>> a.tolist(), b.tolist(), values.tolist()
    ([1, 0, -1], [0, 0], ['y', 'x'])
    """
    lengths = [len(c) for c in columns]
    joint = pd.concat([c.astype(object) for c in columns], ignore_index=True)
    found, categories = pd.factorize(joint)
    order = np.argsort(-np.bincount(found[found >= 0], minlength=len(categories)), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    found = np.where(found >= 0, rank[np.maximum(found, 0)] if len(rank) else 0, -1)
    split = np.split(found.astype(np.int64), np.cumsum(lengths)[:-1])
    return (split, np.asarray(categories, dtype=object)[order]) if return_categories else split


def encode(frames, kinds):
    """``{column: [array per frame]}``: :func:`numbers` or shared :func:`codes` by ``kinds``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.5, None], "c": ["a", "b"]})
    >>> encode([df, df.iloc[:1]], {"x": "numeric", "c": "categorical"})["c"]
    [array([0, 1]), array([0])]
    """
    return {
        col: [numbers(df[col]) for df in frames]
        if kind == "numeric"
        else codes([df[col] for df in frames])
        for col, kind in kinds.items()
    }


def subsample(df, n, rng):
    """At most ``n`` rows drawn without replacement, in their order (all rows when fewer).

    No draw is taken from ``rng`` when ``df`` (which may be None) has at most
    ``n`` rows, so small tables leave the later metrics' draws alone.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> len(subsample(pd.DataFrame({"x": range(10)}), 3, np.random.default_rng(0)))
    3
    """
    if df is None or len(df) <= n:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]


def draw_seed(rng):
    """An int seed for scikit-learn, drawn from our generator ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> draw_seed(np.random.default_rng(0)) == draw_seed(np.random.default_rng(0))
    True
    """
    return int(rng.integers(2**31 - 1))


def tree_features(encoded, kinds, columns, frame):
    """Feature matrix of one frame for HistGradientBoosting, and its categorical mask.

    Categories go in as their shared codes (NaN when missing), capped at
    :data:`MAX_CATEGORIES` levels, so the trees split on them natively
    instead of on one-hot columns.

    ``encoded`` comes from :func:`encode`; ``frame`` picks one of its frames
    and ``columns`` the features, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", None]})
    >>> kinds = {"x": "numeric", "c": "categorical"}
    >>> x, categorical = tree_features(encode([df], kinds), kinds, ["x", "c"], 0)
    >>> x.tolist(), categorical.tolist()
    ([[1.5, 0.0], [2.5, nan]], [False, True])
    """
    cols = []
    for col in columns:
        x = encoded[col][frame].astype("float64")
        if kinds[col] == "categorical":
            x = np.minimum(x, MAX_CATEGORIES - 1)
            x[x < 0] = np.nan
        cols.append(x)
    categorical = np.array([kinds[c] == "categorical" for c in columns])
    return np.column_stack(cols), categorical


def binary_classes(test, target):
    """The two classes of ``target`` in ``test``, sorted by their text.

    Returns ``[negative, positive]``; raises :class:`~tabae.TabaeError` if
    ``target`` is not a column or does not hold exactly two classes.

    Examples
    --------
    >>> import pandas as pd
    >>> binary_classes(pd.DataFrame({"y": ["yes", "no", None, "yes"]}), "y")
    ['no', 'yes']
    """
    if target not in test.columns:
        raise TabaeError(f"target={target!r} is not a column; columns are {list(test.columns)}.")
    classes = sorted(pd.unique(test[target].dropna()), key=str)
    if len(classes) != 2:
        raise TabaeError(
            f"target={target!r} must be binary in the test rows; found {len(classes)} "
            f"classes {classes[:10]}."
        )
    return classes


def warn(message):
    """Warn with :class:`~tabae.TabaeWarning`, pointing at the first caller outside tabae.

    The metrics call each other (``evaluate`` calls ``ml_efficacy``), so a fixed
    ``stacklevel`` would point into tabae on one path or the other.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("careful")
    >>> str(caught[0].message)
    'careful'
    """
    level, frame = 2, inspect.currentframe().f_back  # level 2: warn's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        level, frame = level + 1, frame.f_back
    del frame  # frames hold their locals; do not keep them alive
    warnings.warn(message, TabaeWarning, stacklevel=level)
