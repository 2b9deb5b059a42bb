"""TableEncoder: a whole DataFrame <-> a float32 matrix in a span layout plus an observed mask.

Layout: each column owns a contiguous block of the matrix made of one or more *spans*;
a span is a Gaussian unit (``"gauss"``), a softmax group (``"cat"``) or a Bernoulli unit
(``"bin"``). The models build one output head per span kind and vectorise their losses
over the spans, so this layout is computed once, here, at fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from tabae.encoding.categorical import BooleanEncoder, OneHotEncoder
from tabae.encoding.numeric import NUMERIC_ENCODERS, ModeSpecificEncoder, QuantileNormalEncoder
from tabae.exceptions import NotFittedError, SchemaError
from tabae.schema import ColumnSpec, TableSchema

__all__ = ["Span", "TableEncoder"]

_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Span:
    """A run of encoded features that one output head models."""

    column: int  # index of the owning column in the schema
    kind: str  # "gauss" | "cat" | "bin"
    start: int
    width: int


class TableEncoder:
    """Encode mixed-type frames with holes into tensors, and decode them back.

    Parameters
    ----------
    numeric : {"quantile", "standard", "mode"}
        Numeric encoding: rank-Gauss quantile map (default; robust to skew and spikes),
        plain standardisation, or TVAE's mode-specific mixture normaliser.
    n_quantiles : int
        Reference quantiles per numeric column for ``numeric="quantile"``.
    max_modes : int
        Mixture components per numeric column for ``numeric="mode"``.
    min_frequency : float
        Categories rarer than this share of rows share one slot (0: only the width cap
        groups). Grouping trades exact round trips of rare values for a narrower layout.
    max_categories : int
        Width cap of a categorical span.
    kinds : dict, optional
        Override inferred column kinds, e.g. ``{"zip": "categorical"}``.
    random_state : int
        Seed for the mixture fits of ``numeric="mode"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tabae import TableEncoder
    >>> df = pd.DataFrame({"age": [23, 41, None, 35], "pet": ["cat", None, "dog", "cat"]})
    >>> enc = TableEncoder().fit(df)
    >>> X, M = enc.transform(df)
    >>> X.shape, M.shape
    ((4, 4), (4, 2))
    >>> enc.inverse_transform(X, M)["pet"].tolist()
    ['cat', nan, 'dog', 'cat']
    """

    def __init__(
        self,
        *,
        numeric: str = "quantile",
        n_quantiles: int = 1000,
        max_modes: int = 10,
        min_frequency: float = 0.0,
        max_categories: int = 200,
        kinds: dict | None = None,
        random_state: int = 0,
    ):
        self.numeric = numeric
        self.n_quantiles = n_quantiles
        self.max_modes = max_modes
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.kinds = kinds
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> "TableEncoder":
        if self.numeric not in NUMERIC_ENCODERS:
            raise SchemaError(
                f"numeric={self.numeric!r} is not a numeric encoder; choose one of {sorted(NUMERIC_ENCODERS)}"
            )
        self.schema_ = TableSchema.infer(df, self.kinds)
        self.encoders_ = []
        self.datetime_ = {}
        self.decimals_ = {}
        for spec in self.schema_:
            series = df[spec.name]
            observed = series[series.notna()]
            encoder = self._new_encoder(spec)
            if spec.kind == "datetime":
                ns = _datetime_ns(observed)
                origin = int(ns.min())
                step = _resolution_s(ns)
                self.datetime_[spec.name] = {"origin_ns": origin, "resolution_s": step}
                encoder.fit((ns - origin) / _NS_PER_S)
            elif spec.kind in ("numeric", "integer"):
                values = observed.to_numpy(dtype=np.float64)
                encoder.fit(values)
                decimals = 0 if spec.kind == "integer" else _decimals(values)
                if decimals is not None and spec.kind != "integer":
                    # Claim the precision only if the float32 model space really carries
                    # it for this column (a wide range with many decimals may not).
                    back = np.round(encoder.inverse(encoder.transform(values).astype(np.float32)), decimals)
                    if not np.array_equal(back, values):
                        decimals = None
                self.decimals_[spec.name] = decimals
            else:
                encoder.fit(observed, column=spec.name)
            self.encoders_.append(encoder)
        self.missing_rates_ = df.isna().mean().to_numpy().tolist()
        self._build_layout()
        return self

    def _new_encoder(self, spec: ColumnSpec):
        if spec.kind == "categorical":
            return OneHotEncoder(self.min_frequency, self.max_categories)
        if spec.kind == "boolean":
            return BooleanEncoder()
        if self.numeric == "mode":
            return ModeSpecificEncoder(self.max_modes, random_state=self.random_state)
        if self.numeric == "quantile":
            return QuantileNormalEncoder(self.n_quantiles)
        return NUMERIC_ENCODERS[self.numeric]()

    def _build_layout(self) -> None:
        spans, slices, start = [], [], 0
        for j, encoder in enumerate(self.encoders_):
            first = start
            for kind, width in encoder.parts:
                spans.append(Span(j, kind, start, width))
                start += width
            slices.append((first, start))
        self.spans_ = spans
        self.column_slices_ = slices
        self.n_features_ = start

    # ------------------------------------------------------------------ encode
    def transform(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Encode ``df`` into ``(X, M)``: float32 ``[n, n_features_]`` and bool ``[n, n_columns]``.

        Missing cells are zeros in ``X`` and ``False`` in ``M``.
        """
        self._check_fitted()
        df = self.schema_.validate(df)
        n = len(df)
        X = np.zeros((n, self.n_features_), np.float32)
        M = df.notna().to_numpy(copy=True)
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_)):
            observed = M[:, j]
            if not observed.any():
                continue
            values = df[spec.name][observed]
            start, end = self.column_slices_[j]
            X[observed, start:end] = encoder.transform(self._prepare(spec, values))
        return X, M

    def log_jacobian(self, df: pd.DataFrame) -> np.ndarray:
        """Per-cell ``log |d encoded / d value|`` ``(n, n_columns)`` of the quantile-mapped
        numeric columns (0 elsewhere and in missing cells): the term that turns a
        likelihood of encoded values into one of the values themselves."""
        self._check_fitted()
        df = self.schema_.validate(df)
        out = np.zeros((len(df), self.n_columns_))
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_)):
            if not hasattr(encoder, "log_jacobian") or spec.kind == "datetime":
                continue
            observed = df[spec.name].notna().to_numpy()
            out[observed, j] = encoder.log_jacobian(self._prepare(spec, df[spec.name][observed]))
        return out

    def _prepare(self, spec: ColumnSpec, values: pd.Series):
        if spec.kind in ("numeric", "integer"):
            return values.to_numpy(dtype=np.float64)
        if spec.kind == "datetime":
            info = self.datetime_[spec.name]
            return (_datetime_ns(values) - info["origin_ns"]) / _NS_PER_S
        if spec.kind == "boolean":
            return values.astype(bool)
        return values

    # ------------------------------------------------------------------ decode
    def inverse_transform(
        self,
        X: np.ndarray,
        M: np.ndarray | None = None,
        *,
        random_state: int | np.random.Generator | None = None,
        index: pd.Index | None = None,
    ) -> pd.DataFrame:
        """Decode ``X`` into a frame with the fitted columns and dtypes.

        Cells where ``M`` is False come back missing. With ``random_state`` given, the
        shared rare-category slot is spread over the rare categories by their frequency
        (for sampling); without it, it decodes to the most frequent rare category.
        """
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise SchemaError(f"X must have shape (n, {self.n_features_}), got {X.shape}")
        rng = None if random_state is None else np.random.default_rng(random_state)
        columns = {}
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_)):
            start, end = self.column_slices_[j]
            values = encoder.inverse(X[:, start:end], rng)
            missing = np.zeros(len(X), bool) if M is None else ~np.asarray(M[:, j], bool)
            columns[spec.name] = self._restore(spec, values, missing)
        out = pd.DataFrame(columns)
        if index is not None:
            out.index = index
        return out

    def _restore(self, spec: ColumnSpec, values: np.ndarray, missing: np.ndarray) -> pd.Series:
        dtype = spec.pandas_dtype()
        has_missing = missing.any()
        if spec.kind in ("numeric", "integer"):
            values = values.astype(np.float64)
            decimals = self.decimals_.get(spec.name)
            if decimals is not None:
                # Values seen at fit had at most this many decimals (CSV data, money,
                # counts stored as float): rounding undoes the float32 model space exactly.
                values = np.round(values, decimals)
            values[missing] = np.nan
            if has_missing and ptypes.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return pd.Series(values)  # NumPy ints cannot hold NaN: pandas' own float64 fallback
            return pd.Series(values).astype(dtype)
        if spec.kind == "datetime":
            info = self.datetime_[spec.name]
            step = info["resolution_s"]
            seconds = np.round(values / step) * step if step else values
            ns = np.round(seconds * _NS_PER_S).astype(np.int64) + info["origin_ns"]
            result = pd.Series(pd.to_datetime(ns, unit="ns"))
            result[missing] = pd.NaT
            if getattr(dtype, "tz", None) is not None:
                result = result.dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
            return result.astype(dtype)
        values = values.astype(object)
        if has_missing:
            values[missing] = None if spec.kind == "boolean" else np.nan
            if spec.kind == "boolean" and dtype == np.dtype(bool):
                return pd.Series(values, dtype=object)
        return pd.Series(values, dtype=dtype)

    # ------------------------------------------------------------------ introspection
    @property
    def n_columns_(self) -> int:
        return len(self.schema_)

    def get_feature_names_out(self) -> list[str]:
        """Names of the encoded features, e.g. ``age``, ``pet=cat``, ``pet=<other>``."""
        self._check_fitted()
        names = []
        for spec, encoder in zip(self.schema_, self.encoders_):
            if isinstance(encoder, OneHotEncoder):
                names += [f"{spec.name}={v}" for v in encoder.kept_] + [f"{spec.name}=<other>"]
            elif isinstance(encoder, ModeSpecificEncoder):
                names += [f"{spec.name}"] + [f"{spec.name}@mode{k}" for k in range(len(encoder.means_))]
            else:
                names.append(spec.name)
        return names

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise NotFittedError("this TableEncoder is not fitted yet; call fit(df) first")

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        """Everything needed to rebuild the fitted encoder, as plain JSON types."""
        self._check_fitted()
        return {
            "params": {
                "numeric": self.numeric, "n_quantiles": self.n_quantiles, "max_modes": self.max_modes,
                "min_frequency": self.min_frequency, "max_categories": self.max_categories,
                "kinds": self.kinds, "random_state": self.random_state,
            },
            "schema": self.schema_.to_dict(),
            "encoders": [{"type": type(e).__name__, "state": e.get_state()} for e in self.encoders_],
            "datetime": self.datetime_,
            "decimals": self.decimals_,
            "missing_rates": self.missing_rates_,
        }

    @classmethod
    def from_state(cls, state: dict) -> "TableEncoder":
        enc = cls(**state["params"])
        enc.schema_ = TableSchema.from_dict(state["schema"])
        types = {c.__name__: c for c in (QuantileNormalEncoder, ModeSpecificEncoder, OneHotEncoder, BooleanEncoder, *NUMERIC_ENCODERS.values())}
        enc.encoders_ = []
        for item in state["encoders"]:
            if item["type"] not in types:
                raise SchemaError(f"unknown column encoder {item['type']!r} in saved state")
            enc.encoders_.append(types[item["type"]].__new__(types[item["type"]]).set_state(item["state"]))
        enc.datetime_ = state["datetime"]
        enc.decimals_ = state["decimals"]
        enc.missing_rates_ = state["missing_rates"]
        enc._build_layout()
        return enc


# ---------------------------------------------------------------------- datetimes
def _datetime_ns(values: pd.Series) -> np.ndarray:
    if getattr(values.dtype, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]").to_numpy().astype(np.int64)


def _decimals(values: np.ndarray, most: int = 6) -> int | None:
    """Fewest decimals (up to ``most``) that represent every value, or None if none do."""
    finite = values[np.isfinite(values)]
    if finite.size > 100_000:  # a sample decides as well as all rows
        finite = finite[:: finite.size // 100_000]
    for k in range(most + 1):
        scaled = finite * 10.0**k
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
            return k
    return None


def _resolution_s(ns: np.ndarray) -> int:
    """The coarsest of day / second that every value sits on (0: finer than seconds)."""
    for step in (86_400, 1):
        if (ns % (step * _NS_PER_S) == 0).all():
            return step
    return 0
