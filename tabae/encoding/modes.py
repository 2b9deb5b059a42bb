"""TVAE's mode-specific normaliser: a value as (offset within its mode, one-hot mode)."""

from __future__ import annotations

import warnings

import numpy as np

from tabae.encoding.base import ColumnEncoder, as_float_array, large_exponent
from tabae.exceptions import SchemaError

__all__ = ["ModeSpecificEncoder"]



class ModeSpecificEncoder(ColumnEncoder):
    """TVAE's mode-specific normalisation: a Bayesian Gaussian mixture picks each value's
    mode; the value is stored as (offset within the mode, one-hot mode).

    The mixture is fitted on at most ``max_fit_rows`` values: its modes are stable long
    before that, and fitting on all rows is what makes CTGAN's transformer slow. Columns
    near the float64 limit are fitted and encoded in a space scaled by a power of two
    (exact), where the mixture's squares and differences cannot overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from tabae.encoding import ModeSpecificEncoder
    >>> values = np.r_[np.zeros(50), np.full(50, 100.0)] + np.arange(100) % 5
    >>> enc = ModeSpecificEncoder(max_modes=3).fit(values)
    >>> enc.parts[0], enc.feature_names("x")[:2]
    (('gauss', 1), ['x', 'x@mode0'])
    >>> np.allclose(enc.inverse(enc.transform(values)), values, atol=1e-4)
    True
    """

    name = "mode"

    def __init__(self, max_modes: int = 10, max_fit_rows: int = 5000, random_state: int = 0):
        self.max_modes = max_modes
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    @property
    def parts(self):
        return (("gauss", 1), ("cat", len(self.means_)))

    def _fit(self, values) -> None:
        values = as_float_array(values)
        rng = np.random.default_rng(self.random_state)
        sample = values if values.size <= self.max_fit_rows else rng.choice(values, self.max_fit_rows, replace=False)
        self.lo_, self.hi_ = float(values.min()), float(values.max())
        n_modes = int(min(self.max_modes, np.unique(sample).size))
        if n_modes < 2:
            self.means_, self.stds_, self.log_weights_ = np.array([self.lo_]), np.array([1.0]), np.zeros(1)
            return
        e = large_exponent(sample)
        means, stds, self.log_weights_ = self._fit_mixture(np.ldexp(sample, -e) if e else sample, n_modes)
        self.means_, self.stds_ = (np.ldexp(means, e), np.ldexp(stds, e)) if e else (means, stds)
        if not (np.isfinite(self.means_).all() and np.isfinite(self.stds_).all() and (self.stds_ > 0).all()):
            raise SchemaError(self._advice("the mixture fit gave non-finite modes"))

    def _fit_mixture(self, sample: np.ndarray, n_modes: int):
        from sklearn.mixture import BayesianGaussianMixture

        gmm = BayesianGaussianMixture(
            n_components=n_modes, weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3, max_iter=100, random_state=self.random_state,
        )
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # non-convergence on spiky columns is harmless here
                gmm.fit(sample[:, None])
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
            raise SchemaError(self._advice(f"the mixture fit failed ({err})")) from None
        keep = gmm.weights_ > 5e-3  # TVAE's rule: drop modes that explain almost nothing
        means = gmm.means_[keep, 0]
        stds = np.sqrt(gmm.covariances_[keep, 0, 0])
        log_weights = np.log(gmm.weights_[keep] / gmm.weights_[keep].sum())
        return means, stds, log_weights

    def _advice(self, what: str) -> str:
        return (
            f"numeric values in [{self.lo_:g}, {self.hi_:g}] cannot be mode-normalised: {what}; "
            'use numeric_encoding="quantile" for this table'
        )

    def _scaled(self):
        """Exponent e, and the modes scaled by 2 ** -e (e = 0, unscaled, for ordinary columns)."""
        e = large_exponent(np.array([self.lo_, self.hi_]))
        return (e, np.ldexp(self.means_, -e), np.ldexp(self.stds_, -e)) if e else (0, self.means_, self.stds_)

    def _mode_of(self, values: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
        z = (values[:, None] - means) / stds
        log_p = self.log_weights_ - np.log(stds) - 0.5 * z * z  # a scale shifts log(stds) alike
        return log_p.argmax(axis=1)

    def _transform(self, values) -> np.ndarray:
        e, means, stds = self._scaled()
        values = np.ldexp(as_float_array(values), -e) if e else as_float_array(values)
        mode = self._mode_of(values, means, stds)
        out = np.zeros((values.size, 1 + len(means)), np.float32)
        # Unlike TVAE, the offset is not clipped to [-1, 1]: clipping loses values far out
        # in a mode's tail, and the Gaussian head models any offset.
        out[:, 0] = (values - means[mode]) / (4 * stds[mode])
        out[np.arange(values.size), 1 + mode] = 1.0
        return out

    def _inverse(self, block: np.ndarray, uniforms=None) -> np.ndarray:
        e, means, stds = self._scaled()
        mode = block[:, 1:].argmax(axis=1)
        x = block[:, 0].astype(np.float64) * 4 * stds[mode] + means[mode]
        if e:
            with np.errstate(over="ignore"):  # beyond the float64 limit: the clip gives the bound
                x = np.ldexp(x, e)
        return np.clip(x, self.lo_, self.hi_)

    # log_jacobian stays zero (the default): the code is a pair (offset, mode) whose NLL
    # adds a Gaussian term and a categorical one; that is no density of the value that a
    # Jacobian could convert, so mode-encoded columns are scored in the encoded space.

    def bounds(self) -> tuple[float, float]:
        return self.lo_, self.hi_

    def feature_names(self, column: str) -> list[str]:
        return [column] + [f"{column}@mode{k}" for k in range(len(self.means_))]

    def get_state(self) -> dict:
        return {
            "means": self.means_.tolist(), "stds": self.stds_.tolist(),
            "log_weights": self.log_weights_.tolist(), "lo": self.lo_, "hi": self.hi_,
        }

    def set_state(self, state: dict) -> "ModeSpecificEncoder":
        self.means_ = np.asarray(state["means"])
        self.stds_ = np.asarray(state["stds"])
        self.log_weights_ = np.asarray(state["log_weights"])
        self.lo_, self.hi_ = state["lo"], state["hi"]
        return self
