"""TableEncoder: a whole DataFrame <-> a float32 matrix in a span layout plus an observed mask.

Layout: each column owns a contiguous block of the matrix made of one or more *spans*;
a span is a Gaussian unit (``"gauss"``), a softmax group (``"cat"``) or a Bernoulli unit
(``"bin"``). The models build one output head per span kind and vectorise their losses
over the spans, so this layout is computed once, here, at fit.

The table encoder picks a :class:`~tabae.encoding.base.ColumnEncoder` per column from
its kind and otherwise only loops over them: what a column means (its bounds, values,
point estimate, Jacobian) is the column encoder's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from tabae.encoding.base import ColumnEncoder
from tabae.encoding.categorical import BooleanEncoder, OneHotEncoder
from tabae.encoding.dates import DatetimeEncoder
from tabae.encoding.keys import KeyEncoder
from tabae.encoding.numeric import NUMERIC_ENCODERS, ModeSpecificEncoder, QuantileNormalEncoder, claimed_decimals
from tabae.exceptions import NotFittedError, SchemaError
from tabae.schema import ColumnSpec, TableSchema

__all__ = ["Span", "TableEncoder"]


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
        self.decimals_ = {}
        for spec in self.schema_:
            series = df[spec.name]
            observed = series[series.notna()]
            encoder = self._new_encoder(spec)
            try:
                encoder.fit(observed)
            except SchemaError as err:
                raise SchemaError(f"column {spec.name!r}: {err}") from None
            if spec.kind in ("numeric", "integer"):
                self.decimals_[spec.name] = 0 if spec.kind == "integer" else claimed_decimals(encoder, observed)
            self.encoders_.append(encoder)
        self.missing_rates_ = df.isna().mean().to_numpy().tolist()
        self._build_layout()
        return self

    def _new_encoder(self, spec: ColumnSpec) -> ColumnEncoder:
        if spec.kind == "id":
            return KeyEncoder(column=spec.name)
        if spec.kind == "categorical":
            return OneHotEncoder(self.min_frequency, self.max_categories, column=spec.name)
        if spec.kind == "boolean":
            return BooleanEncoder()
        if self.numeric == "mode":
            numeric = ModeSpecificEncoder(self.max_modes, random_state=self.random_state)
        elif self.numeric == "quantile":
            numeric = QuantileNormalEncoder(self.n_quantiles)
        else:
            numeric = NUMERIC_ENCODERS[self.numeric]()
        return DatetimeEncoder(numeric) if spec.kind == "datetime" else numeric

    def _build_layout(self) -> None:
        spans, slices, gauss, start, n_gauss = [], [], [], 0, 0
        for j, encoder in enumerate(self.encoders_):
            first, first_gauss = start, n_gauss
            for kind, width in encoder.parts:
                spans.append(Span(j, kind, start, width))
                start += width
                n_gauss += kind == "gauss"
            slices.append((first, start))
            gauss.append((first_gauss, n_gauss))
        self.spans_ = spans
        self.column_slices_ = slices
        self.column_gauss_ = gauss  # per column: its Gaussian units' range in span order
        self.n_features_ = start

    # ------------------------------------------------------------------ encode
    def transform(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Encode ``df`` into ``(X, M)``: float32 ``[n, n_features_]`` and bool ``[n, n_columns]``.

        Missing cells are zeros in ``X`` and ``False`` in ``M``.
        """
        self._check_fitted()
        df = self.schema_.validate(df)
        X = np.zeros((len(df), self.n_features_), np.float32)
        M = df.notna().to_numpy(copy=True)
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_, strict=True)):
            observed = M[:, j]
            if not observed.any():
                continue
            start, end = self.column_slices_[j]
            X[observed, start:end] = encoder.transform(df[spec.name][observed])
        return X, M

    def log_jacobian(self, df: pd.DataFrame) -> np.ndarray:
        """Per-cell ``log |d encoded / d value|`` ``(n, n_columns)`` (0 in missing cells and
        where the column encoder has no density to convert): the term that turns a
        likelihood of encoded values into one of the values themselves."""
        self._check_fitted()
        df = self.schema_.validate(df)
        out = np.zeros((len(df), self.n_columns_))
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_, strict=True)):
            observed = df[spec.name].notna().to_numpy()
            if observed.any():
                out[observed, j] = encoder.log_jacobian(df[spec.name][observed])
        return out

    # ------------------------------------------------------------------ decode
    def inverse_transform(
        self,
        X: np.ndarray,
        M: np.ndarray | None = None,
        *,
        random_state: int | np.random.Generator | None = None,
        row_uniforms: np.ndarray | None = None,
        index: pd.Index | None = None,
    ) -> pd.DataFrame:
        """Decode ``X`` into a frame with the fitted columns and dtypes.

        Cells where ``M`` is False come back missing. With ``row_uniforms`` (``(n, C)``
        numbers in (0, 1), one per cell) or a ``random_state`` (which draws them), the
        shared rare-category slot is spread over the rare categories by their frequency
        (for sampling); without either, it decodes to the most frequent rare category.
        """
        X = self._check_block(X)
        if row_uniforms is None and random_state is not None:
            row_uniforms = np.random.default_rng(random_state).random((len(X), self.n_columns_))
        columns = {}
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_, strict=True)):
            start, end = self.column_slices_[j]
            u = None if row_uniforms is None else row_uniforms[:, j]
            values = encoder.inverse(X[:, start:end], u)
            missing = np.zeros(len(X), bool) if M is None else ~np.asarray(M[:, j], bool)
            columns[spec.name] = self._restore(spec, values, missing)
        out = pd.DataFrame(columns)
        if index is not None:
            out.index = index
        return out

    def decode_point(self, X_mean: np.ndarray, scales: np.ndarray | None = None) -> pd.DataFrame:
        """Best guesses of every cell from the heads' predictions, as a frame.

        Parameters
        ----------
        X_mean : array (n, n_features_)
            The heads' point outputs in the encoded layout: Gaussian means, category
            logits, Bernoulli probabilities (already squashed).
        scales : array (n, G), optional
            Predicted scales of the G Gaussian units, in span order; None when the
            model predicts none.

        Returns
        -------
        DataFrame
            Each column's :meth:`~tabae.encoding.base.ColumnEncoder.point`: numeric
            columns get their predictive mean in data space, unrounded (rounding to the
            column's decimals suits samples, not expectations; integer columns are
            still rounded, their dtype demands it); other columns their most likely value.
        """
        X = self._check_block(X_mean).astype(np.float64, copy=False)
        n_gauss = self.column_gauss_[-1][1]
        S = None if scales is None else np.asarray(scales, np.float64)
        if S is not None and S.shape != (len(X), n_gauss):
            raise SchemaError(f"scales must have shape ({len(X)}, {n_gauss}), got {S.shape}")
        no_missing = np.zeros(len(X), bool)
        columns = {}
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_, strict=True)):
            start, end = self.column_slices_[j]
            g0, g1 = self.column_gauss_[j]
            scale = None if S is None or g1 == g0 else (S[:, g0] if g1 - g0 == 1 else S[:, g0:g1])
            values = encoder.point(X[:, start:end], scale)
            columns[spec.name] = self._restore(spec, values, no_missing, mean=encoder.point_is_mean)
        return pd.DataFrame(columns)

    def _check_block(self, X) -> np.ndarray:
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise SchemaError(f"X must have shape (n, {self.n_features_}), got {X.shape}")
        return X

    def _restore(self, spec: ColumnSpec, values, missing: np.ndarray, mean: bool = False) -> pd.Series:
        """Decoded values as a Series of the column's fitted dtype, missing where ``missing``.

        ``mean``: the values are predictive means, not rounded to the column's decimals.
        """
        dtype = spec.pandas_dtype()
        has_missing = missing.any()
        if spec.kind == "id" and ptypes.is_numeric_dtype(dtype):
            # An integer key: None (no key) is missing, as NaN.
            values = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            missing = missing | np.isnan(values)
            has_missing = missing.any()
            if has_missing and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return pd.Series(values)
            return pd.Series(values).astype(dtype)
        if spec.kind == "id":
            missing = missing | pd.isna(values)
            has_missing = missing.any()
        if spec.kind in ("numeric", "integer"):
            values = values.astype(np.float64)
            decimals = None if mean and spec.kind == "numeric" else self.decimals_.get(spec.name)
            if decimals is not None:
                # Values seen at fit had at most this many decimals (CSV data, money,
                # counts stored as float): rounding undoes the float32 model space exactly.
                values = np.round(values, decimals)
            values[missing] = np.nan
            if has_missing and ptypes.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return pd.Series(values)  # NumPy ints cannot hold NaN: pandas' own float64 fallback
            return pd.Series(values).astype(dtype)
        if spec.kind == "datetime":
            result = pd.Series(values)
            result[missing] = pd.NaT
            return result.astype(dtype)
        values = values.astype(object)
        if has_missing:
            values[missing] = None if spec.kind == "boolean" else np.nan
            if spec.kind == "boolean" and dtype == np.dtype(bool):
                return pd.Series(values, dtype=object)
        return pd.Series(values, dtype=dtype)

    def fill_keys(self, frame: pd.DataFrame, rows: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
        """``frame`` (decoded generated rows) with fresh keys in its ID-like columns: row
        ``rows[i]`` of a sample gets the key of that number, where ``observed`` says so."""
        for j, (spec, encoder) in enumerate(zip(self.schema_, self.encoders_, strict=True)):
            if spec.kind == "id":
                keys = encoder.fresh(rows).astype(object)
                frame[spec.name] = self._restore(spec, keys, ~np.asarray(observed[:, j], bool)).to_numpy()
        return frame

    # ------------------------------------------------------------------ introspection
    @property
    def n_columns_(self) -> int:
        return len(self.schema_)

    def column_encoder(self, name: str) -> ColumnEncoder:
        """The fitted encoder of column ``name``, to ask for its ``bounds()``,
        ``known_values()`` and the rest of the :class:`~tabae.encoding.base.ColumnEncoder` interface."""
        self._check_fitted()
        names = self.schema_.names
        if name not in names:
            raise SchemaError(f"no column {name!r} in the schema; columns are {names}")
        return self.encoders_[names.index(name)]

    def get_feature_names_out(self) -> list[str]:
        """Names of the encoded features, e.g. ``age``, ``pet=cat``, ``pet=<other>``."""
        self._check_fitted()
        pairs = zip(self.schema_, self.encoders_, strict=True)
        return [name for spec, encoder in pairs for name in encoder.feature_names(spec.name)]

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
            "encoders": [e.to_dict() for e in self.encoders_],
            "decimals": self.decimals_,
            "missing_rates": self.missing_rates_,
        }

    @classmethod
    def from_state(cls, state: dict) -> "TableEncoder":
        if "datetime" in state:  # before the ColumnEncoder interface, datetimes lived here
            raise SchemaError("this encoder state is from an older tabae; refit the model")
        enc = cls(**state["params"])
        enc.schema_ = TableSchema.from_dict(state["schema"])
        enc.encoders_ = [ColumnEncoder.from_dict(item) for item in state["encoders"]]
        enc.decimals_ = state["decimals"]
        enc.missing_rates_ = state["missing_rates"]
        enc._build_layout()
        return enc
