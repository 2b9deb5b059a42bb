"""Column specs and table schemas: what each column is, inferred once and frozen at fit.

A :class:`TableSchema` is inferred from a DataFrame's dtypes, may be overridden by the
user (``kinds={"zip": "categorical"}``), and is checked against every frame a fitted
model later sees, so that mismatches fail with a message naming the column instead of
surfacing as a torch shape error three layers down.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from tabae.exceptions import SchemaError, TabaeWarning
from tabae.jsonvalues import PLAIN_TYPES, from_json_value, round_trips, to_builtin, to_json_value

__all__ = ["KINDS", "ColumnSpec", "TableSchema", "as_list", "check_frame", "looks_like_id"]

#: The column kinds tabae models. Each maps to an encoder and an output head.
KINDS = ("numeric", "integer", "categorical", "boolean", "datetime", "id")


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is modelled.

    Parameters
    ----------
    name : str
        Column name.
    kind : {"numeric", "integer", "categorical", "boolean", "datetime"}
        What the column holds; picks the encoder and the loss.
    dtype : str
        The pandas dtype seen at fit, used to give values back in the same dtype.
    categories : tuple or None
        For a pandas ``category`` dtype, its categories (to rebuild the dtype exactly).
    ordered : bool
        For a pandas ``category`` dtype, whether it is ordered.
    categories_dtype : str or None
        For a pandas ``category`` dtype, the dtype of its categories: a categorical dtype
        equals another only if its categories have the same dtype (``int8``, or
        ``datetime64[s]`` rather than ``[ns]``), which the values alone do not say.
    """

    name: str
    kind: str
    dtype: str
    categories: tuple | None = None
    ordered: bool = False
    categories_dtype: str | None = None

    def pandas_dtype(self):
        """The pandas dtype to give this column's values back in (built once: every
        decoded block asks, and parsing a dtype string costs more than the decoding)."""
        cached = self.__dict__.get("_pandas_dtype")
        if cached is None:
            if self.dtype == "category":
                cats = list(self.categories or ())
                if self.categories_dtype is not None:
                    cats = pd.Index(cats, dtype=ptypes.pandas_dtype(self.categories_dtype))
                cached = pd.CategoricalDtype(cats, ordered=self.ordered)
            else:
                cached = ptypes.pandas_dtype(self.dtype)
            self.__dict__["_pandas_dtype"] = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON; categories that JSON lacks (Timestamps, dates...) are tagged."""
        cats = None if self.categories is None else [to_json_value(c) for c in self.categories]
        return {"name": self.name, "kind": self.kind, "dtype": self.dtype, "categories": cats,
                "ordered": self.ordered, "categories_dtype": self.categories_dtype}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ColumnSpec":
        cats = data.get("categories")
        return cls(
            data["name"], data["kind"], data["dtype"],
            None if cats is None else tuple(from_json_value(c) for c in cats),
            bool(data.get("ordered", False)), data.get("categories_dtype"),
        )


@dataclass(frozen=True)
class TableSchema:
    """An ordered tuple of :class:`ColumnSpec`, one per column.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae import TableSchema
    >>> df = pd.DataFrame({"age": [31, 45], "city": ["Oslo", "Rome"], "score": [0.5, None]})
    >>> schema = TableSchema.infer(df)
    >>> [(c.name, c.kind) for c in schema.columns]
    [('age', 'integer'), ('city', 'categorical'), ('score', 'numeric')]
    """

    columns: tuple[ColumnSpec, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ building
    @classmethod
    def infer(cls, df: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> "TableSchema":
        """Infer a schema from ``df``'s dtypes; ``kinds`` overrides the kind of named columns."""
        check_frame(df, "df")
        if df.shape[1] == 0:
            raise SchemaError("the frame has no columns; tabae needs at least one column to model")
        if len(df) == 0:
            raise SchemaError("the frame has no rows; tabae needs at least one row to fit")
        kinds = dict(kinds or {})
        unknown = set(kinds) - set(df.columns)
        if unknown:
            raise SchemaError(
                f"kinds names columns not in the frame: {sorted(unknown)}; "
                f"the frame has {list(df.columns)}"
            )
        specs, keys = [], []
        for name in df.columns:
            series = df[name]
            if series.isna().all():
                raise SchemaError(
                    f"column {name!r} is entirely missing; drop it (df.drop(columns=[{name!r}])) "
                    "since there is nothing to learn from it"
                )
            kind = kinds.get(name) or _infer_kind(series)
            if name not in kinds and looks_like_id(series, kind):
                keys.append(name)
                kind = "id"
            if kind not in KINDS:
                raise SchemaError(f"column {name!r}: unknown kind {kind!r}; choose one of {KINDS}")
            _check_kind_fits(series, kind)
            dtype = series.dtype
            cats, ordered, cats_dtype = None, False, None
            if isinstance(dtype, pd.CategoricalDtype):
                cats, ordered = tuple(to_builtin(c) for c in dtype.categories), bool(dtype.ordered)
                cats_dtype = str(dtype.categories.dtype)
            specs.append(ColumnSpec(str(name), kind, str(dtype), cats, ordered, cats_dtype))
        schema = cls(tuple(specs))
        schema.check_serialisable(df)
        if keys:
            warnings.warn(
                f"columns {keys} look like identifiers (all or nearly all values distinct): they pass "
                "through as keys (imputation leaves their holes, scores ignore them, samples get fresh "
                "keys) instead of being modelled; pass kinds={" + ", ".join(f"{k!r}: 'categorical'" for k in keys)
                + "} to model them as categories",
                TabaeWarning, stacklevel=5,  # the caller of a model's fit
            )
        return schema

    # ------------------------------------------------------------------ access
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __len__(self) -> int:
        return len(self.columns)

    def __iter__(self):
        return iter(self.columns)

    def __getitem__(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise SchemaError(f"no column {name!r} in the schema; columns are {self.names}")

    # ------------------------------------------------------------------ checking
    def validate(self, df: pd.DataFrame, *, allow_extra: bool = False) -> pd.DataFrame:
        """Check ``df`` against the schema and return its columns in schema order.

        Raises :class:`SchemaError` naming the first column that is missing, unexpected,
        or of an incompatible type.
        """
        check_frame(df, "df")
        missing = [n for n in self.names if n not in df.columns]
        if missing:
            raise SchemaError(
                f"columns {missing} were seen at fit but are missing from this frame; "
                "pass a frame with every fitted column"
            )
        extra = [n for n in df.columns if n not in set(self.names)]
        if extra and not allow_extra:
            raise SchemaError(
                f"columns {extra} were not seen at fit; drop them or refit the model on them"
            )
        for spec in self.columns:
            series = df[spec.name]
            if not series.isna().all():
                _check_kind_fits(series, spec.kind, fitted=True)
        return df[self.names]

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (see :func:`to_json_value` for categories that JSON lacks)."""
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TableSchema":
        return cls(tuple(ColumnSpec.from_dict(c) for c in data["columns"]))

    def check_serialisable(self, df: pd.DataFrame | None = None) -> None:
        """Refuse, before any training, what a model file could not hold.

        A model file stores the schema and the categories seen at fit as JSON; a value
        that :func:`tabae.jsonvalues.to_json_value` cannot write would otherwise fail in
        ``save()`` after all the training. :meth:`infer` calls this with its frame, so
        that the values of categorical columns (which the encoders keep) are checked too.

        Raises
        ------
        SchemaError
            Naming the column and the value that cannot be saved.

        Examples
        --------
        >>> import pandas as pd
        >>> from tabae import SchemaError, TableSchema
        >>> df = pd.DataFrame({"when": pd.Categorical(pd.to_datetime(["2024-01-01", "2024-02-01"]))})
        >>> TableSchema.infer(df).check_serialisable(df)  # Timestamps are tagged: fine
        >>> try:
        ...     TableSchema.infer(pd.DataFrame({"raw": [b"a", b"b"]}), kinds={"raw": "categorical"})
        ... except SchemaError as err:
        ...     print(str(err)[:60])
        column 'raw': the value b'a' (bytes) cannot be stored in a m
        """
        for spec in self.columns:
            try:
                spec.pandas_dtype()
                ok = ColumnSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
                ok = ok and all(round_trips(c) for c in spec.categories or ())
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise SchemaError(
                    f"column {spec.name!r}: its dtype {spec.dtype} cannot be stored in a model file "
                    f"(categories {list(spec.categories or ())[:3]!r}); convert it, e.g. df[{spec.name!r}].astype(str)"
                )
            if df is None or spec.kind != "categorical" or spec.categories is not None:
                continue
            series = df[spec.name]
            if ptypes.is_numeric_dtype(series.dtype) or ptypes.is_string_dtype(series.dtype) and series.dtype != object:
                continue  # numbers and strings are JSON as they are
            for value in pd.unique(series.dropna()):
                if type(value) not in PLAIN_TYPES and not round_trips(value):
                    raise SchemaError(
                        f"column {spec.name!r}: the value {value!r} ({type(value).__name__}) cannot be stored "
                        f"in a model file; convert the column, e.g. df[{spec.name!r}].astype(str)"
                    )


# ---------------------------------------------------------------------- helpers
def check_frame(df: Any, argument: str) -> None:
    """Reject what cannot be a table: non-frames, duplicate or non-string column names."""
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(
            f"{argument} must be a pandas DataFrame, got {type(df).__name__}; "
            "wrap arrays with pd.DataFrame(X, columns=[...])"
        )
    if df.columns.has_duplicates:
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise SchemaError(f"duplicate column names {dup}; give every column a unique name")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise SchemaError(
            f"column names must be strings, got {bad[:5]!r}; "
            "rename them, e.g. df.columns = df.columns.astype(str)"
        )


def looks_like_id(series: pd.Series, kind: str, min_rows: int = 20, distinct: float = 0.95) -> bool:
    """Whether a column is an identifier rather than data: strings (not a pandas
    ``category``) of which at least ``distinct`` of the observed values are distinct, or
    integers that are all distinct and nearly consecutive (row numbers). Small tables
    (under ``min_rows`` observed values) are not judged."""
    observed = series.dropna()
    n = len(observed)
    if n < min_rows:
        return False
    if kind == "categorical" and not isinstance(series.dtype, pd.CategoricalDtype):
        return observed.nunique() >= distinct * n
    if kind == "integer":
        span = float(observed.max()) - float(observed.min()) + 1
        return observed.nunique() == n and span <= n / distinct
    return False


def _infer_kind(series: pd.Series) -> str:
    dtype = series.dtype
    name = series.name
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if ptypes.is_timedelta64_dtype(dtype) or ptypes.is_complex_dtype(dtype):
        raise SchemaError(
            f"column {name!r} has dtype {dtype}, which tabae does not model; "
            "convert it to numbers first (e.g. series.dt.total_seconds())"
        )
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_float_dtype(dtype):
        return "numeric"
    # object / string: look at the values themselves.
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("string", "categorical"):
        return "categorical"
    if inferred == "boolean":
        return "boolean"
    types = sorted({type(v).__name__ for v in series.dropna().iloc[:1000]})
    raise SchemaError(
        f"column {name!r} is an object column of mixed or unsupported values ({', '.join(types)}); "
        f"convert it with df[{name!r}].astype(str) for a categorical column "
        f"or pd.to_numeric(df[{name!r}]) for a numeric one"
    )


_KIND_CHECKS = {
    "numeric": lambda s: ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype),
    "integer": lambda s: ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype),
    "datetime": lambda s: ptypes.is_datetime64_any_dtype(s.dtype),
    "boolean": lambda s: ptypes.is_bool_dtype(s.dtype)
    or pd.api.types.infer_dtype(s, skipna=True) == "boolean",
    # Anything can be treated as a category (numbers included, when the user says so).
    "categorical": lambda s: not ptypes.is_complex_dtype(s.dtype),
    "id": lambda s: True,  # a key is passed through, whatever it holds
}


def _check_kind_fits(series: pd.Series, kind: str, fitted: bool = False) -> None:
    name = series.name
    if not _KIND_CHECKS[kind](series):
        when = "at fit" if fitted else "for this kind"
        raise SchemaError(
            f"column {name!r} has dtype {series.dtype}, but it was {kind} {when}; "
            f"convert it back to a {kind} column or refit the model"
        )
    if kind in ("numeric", "integer"):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(values).any():
            raise SchemaError(
                f"column {name!r} contains infinite values; replace them with NaN "
                f"(df[{name!r}].replace([np.inf, -np.inf], np.nan)) or finite bounds"
            )
    if kind == "categorical" and series.dtype == object:
        kinds = pd.api.types.infer_dtype(series, skipna=True)
        if kinds.startswith("mixed"):
            raise SchemaError(
                f"column {name!r} mixes value types ({kinds}); "
                f"make them one type, e.g. df[{name!r}].astype(str)"
            )


def as_list(values: Iterable[Any]) -> list[Any]:
    """The values as a list of Python scalars (numpy scalars unwrapped)."""
    return [to_builtin(v) for v in values]
