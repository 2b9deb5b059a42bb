"""Numeric column encoders: quantile-normal, standard, and TVAE's mode-specific normaliser.

Each encoder sees the observed float64 values of one column, produces a float32 block of
``width`` columns, and inverts such a block back to float64 values. All work is
vectorised over rows. State is plain JSON (lists of floats), so model files need no pickle.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["QuantileNormalEncoder", "StandardEncoder", "ModeSpecificEncoder", "NUMERIC_ENCODERS"]

# Quantile levels are squeezed into [EPS, 1 - EPS] before the normal inverse so that the
# extreme values map to about +/-5.2 instead of infinity, and the squeeze is undone exactly.
_EPS = 1e-7


class QuantileNormalEncoder:
    """Map values through their empirical CDF onto a standard normal (rank-Gauss).

    Robust to skew and heavy tails; ties (a spike at zero, say) map to one point and come
    back exactly, and decoded values always stay inside the training range.
    """

    parts = (("gauss", 1),)
    name = "quantile"

    def __init__(self, n_quantiles: int = 1000):
        self.n_quantiles = n_quantiles

    def fit(self, values: np.ndarray) -> "QuantileNormalEncoder":
        n = min(self.n_quantiles, values.size)
        self.levels_ = np.linspace(0.0, 1.0, max(n, 2))
        self.refs_ = np.quantile(values, self.levels_)
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        refs, q = self.refs_, self.levels_
        if refs[0] == refs[-1]:  # constant column: nothing to say
            return np.zeros((values.size, 1), np.float32)
        # Average of the left and right interpolations handles runs of tied references
        # (as scikit-learn's QuantileTransformer does): a tied value lands mid-run.
        u = 0.5 * (np.interp(values, refs, q) - np.interp(-values, -refs[::-1], -q[::-1]))
        z = ndtri(_EPS + (1.0 - 2.0 * _EPS) * u)
        return z.astype(np.float32)[:, None]

    def inverse(self, block: np.ndarray, rng=None) -> np.ndarray:
        u = (ndtr(block[:, 0].astype(np.float64)) - _EPS) / (1.0 - 2.0 * _EPS)
        return np.interp(np.clip(u, 0.0, 1.0), self.levels_, self.refs_)

    def log_jacobian(self, values: np.ndarray) -> np.ndarray:
        """``log |dz/dx|`` of the map at ``values``: adding it to a NLL in z turns it into a
        NLL in data space, so values in the sparse tails of the column count as unlikely.

        The slope of the empirical CDF is measured over a window of 1/1000 of the range,
        so spikes (tied values) get a large but finite density.
        """
        refs, q = self.refs_, self.levels_
        span = refs[-1] - refs[0]
        if span <= 0:
            return np.zeros(values.size)
        h = 1e-3 * span
        cdf = lambda v: 0.5 * (np.interp(v, refs, q) - np.interp(-v, -refs[::-1], -q[::-1]))  # noqa: E731
        slope = (cdf(values + h) - cdf(values - h)) / (2 * h)
        slope = np.maximum(slope, 1.0 / (len(refs) * span * 1e3))  # beyond the data: very unlikely
        z = ndtri(_EPS + (1.0 - 2.0 * _EPS) * cdf(values))
        return np.log(slope) + 0.5 * z * z + 0.5 * np.log(2 * np.pi)

    def get_state(self) -> dict:
        return {"levels": self.levels_.tolist(), "refs": self.refs_.tolist()}

    def set_state(self, state: dict) -> "QuantileNormalEncoder":
        self.levels_ = np.asarray(state["levels"], np.float64)
        self.refs_ = np.asarray(state["refs"], np.float64)
        return self


class StandardEncoder:
    """Subtract the mean, divide by the standard deviation; decoded values clipped to the range."""

    parts = (("gauss", 1),)
    name = "standard"

    def fit(self, values: np.ndarray) -> "StandardEncoder":
        self.mean_ = float(values.mean())
        std = float(values.std())
        self.std_ = std if std > 0 else 1.0
        self.lo_, self.hi_ = float(values.min()), float(values.max())
        return self

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean_) / self.std_).astype(np.float32)[:, None]

    def inverse(self, block: np.ndarray, rng=None) -> np.ndarray:
        x = block[:, 0].astype(np.float64) * self.std_ + self.mean_
        return np.clip(x, self.lo_, self.hi_)

    def get_state(self) -> dict:
        return {"mean": self.mean_, "std": self.std_, "lo": self.lo_, "hi": self.hi_}

    def set_state(self, state: dict) -> "StandardEncoder":
        self.mean_, self.std_ = state["mean"], state["std"]
        self.lo_, self.hi_ = state["lo"], state["hi"]
        return self


class ModeSpecificEncoder:
    """TVAE's mode-specific normalisation: a Bayesian Gaussian mixture picks each value's
    mode; the value is stored as (offset within the mode, one-hot mode).

    The mixture is fitted on at most ``max_fit_rows`` values: its modes are stable long
    before that, and fitting on all rows is what makes CTGAN's transformer slow.
    """

    name = "mode"

    def __init__(self, max_modes: int = 10, max_fit_rows: int = 5000, random_state: int = 0):
        self.max_modes = max_modes
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    @property
    def parts(self):
        return (("gauss", 1), ("cat", len(self.means_)))

    def fit(self, values: np.ndarray) -> "ModeSpecificEncoder":
        from sklearn.mixture import BayesianGaussianMixture

        rng = np.random.default_rng(self.random_state)
        sample = values if values.size <= self.max_fit_rows else rng.choice(values, self.max_fit_rows, replace=False)
        self.lo_, self.hi_ = float(values.min()), float(values.max())
        n_modes = int(min(self.max_modes, np.unique(sample).size))
        if n_modes < 2:
            self.means_, self.stds_, self.log_weights_ = np.array([self.lo_]), np.array([1.0]), np.zeros(1)
            return self
        gmm = BayesianGaussianMixture(
            n_components=n_modes, weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3, max_iter=100, random_state=self.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # non-convergence on spiky columns is harmless here
            gmm.fit(sample[:, None])
        keep = gmm.weights_ > 5e-3  # TVAE's rule: drop modes that explain almost nothing
        self.means_ = gmm.means_[keep, 0]
        self.stds_ = np.sqrt(gmm.covariances_[keep, 0, 0])
        self.log_weights_ = np.log(gmm.weights_[keep] / gmm.weights_[keep].sum())
        return self

    def _mode_of(self, values: np.ndarray) -> np.ndarray:
        z = (values[:, None] - self.means_) / self.stds_
        log_p = self.log_weights_ - np.log(self.stds_) - 0.5 * z * z
        return log_p.argmax(axis=1)

    def transform(self, values: np.ndarray) -> np.ndarray:
        mode = self._mode_of(values)
        out = np.zeros((values.size, 1 + len(self.means_)), np.float32)
        # Unlike TVAE, the offset is not clipped to [-1, 1]: clipping loses values far out
        # in a mode's tail, and the Gaussian head models any offset.
        out[:, 0] = (values - self.means_[mode]) / (4 * self.stds_[mode])
        out[np.arange(values.size), 1 + mode] = 1.0
        return out

    def inverse(self, block: np.ndarray, rng=None) -> np.ndarray:
        mode = block[:, 1:].argmax(axis=1)
        x = block[:, 0].astype(np.float64) * 4 * self.stds_[mode] + self.means_[mode]
        return np.clip(x, self.lo_, self.hi_)

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


NUMERIC_ENCODERS = {
    "quantile": QuantileNormalEncoder,
    "standard": StandardEncoder,
    "mode": ModeSpecificEncoder,
}
