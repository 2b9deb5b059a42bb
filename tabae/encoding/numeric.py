"""Numeric column encoders: quantile-normal and standard (the mode-specific one is in ``modes``).

Each encoder sees the observed values of one column (as float64), produces a float32
block, and inverts such a block back to float64 values. All work is vectorised over
rows. State is plain JSON (lists of floats), so model files need no pickle.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from tabae.encoding.base import ColumnEncoder, as_float_array, large_exponent
from tabae.encoding.modes import ModeSpecificEncoder

__all__ = ["QuantileNormalEncoder", "StandardEncoder", "ModeSpecificEncoder", "NUMERIC_ENCODERS", "claimed_decimals",
           "count_decimals"]

# Quantile levels are squeezed into [EPS, 1 - EPS] before the normal inverse so that the
# extreme values map to about +/-5.2 instead of infinity, and the squeeze is undone exactly.
_EPS = 1e-7
#: A column decodes to its own values when each is seen this many times on average
#: (and there are at most ``n_quantiles`` of them): below that the values are a sample
#: of a continuous quantity, and new values between them are what a sample should have.
DISCRETE_REPEATS = 5
# Gauss-Hermite nodes turn a Gaussian in the encoded space into a mean in data space.
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


class QuantileNormalEncoder(ColumnEncoder):
    """Map values through their empirical CDF onto a standard normal (rank-Gauss).

    Robust to skew and heavy tails; ties (a spike at zero, say) map to one point and come
    back exactly, and decoded values always stay inside the training range.

    A column whose values come from a small set (at most ``n_quantiles`` distinct values,
    each seen :data:`DISCRETE_REPEATS` times on average: counts, ratings, amounts such as
    adult's ``capital-gain``) decodes to those values only: the interpolated value goes to
    the nearest of them. A sample then never holds a value the column never had (adult's synthetic ``capital-gain`` had 932 distinct amounts against
    115 real ones, and a classifier used them). Point estimates (:meth:`point`, a mean)
    still interpolate. Columns
    near the float64 limit are interpolated in a space scaled by a power of two (exact),
    where the slopes between references cannot overflow.

    Examples
    --------
    >>> import numpy as np
    >>> from tabae.encoding import QuantileNormalEncoder
    >>> enc = QuantileNormalEncoder().fit(np.array([0.0, 0.0, 1.0, 10.0, 100.0]))
    >>> enc.bounds()
    (0.0, 100.0)
    >>> enc.inverse(enc.transform(np.array([0.0, 10.0]))).round(4).tolist()  # float32 codes
    [0.0, 10.0]
    """

    parts = (("gauss", 1),)
    name = "quantile"
    point_is_mean = True

    def __init__(self, n_quantiles: int = 1000):
        self.n_quantiles = n_quantiles

    def _fit(self, values) -> None:
        values = as_float_array(values)
        n = min(self.n_quantiles, values.size)
        self.levels_ = np.linspace(0.0, 1.0, max(n, 2))
        self.refs_ = np.quantile(values, self.levels_)
        distinct = np.unique(values)
        discrete = 2 <= len(distinct) <= self.n_quantiles and values.size >= DISCRETE_REPEATS * len(distinct)
        self.support_ = distinct if discrete else None

    def _cdf(self, values: np.ndarray, refs: np.ndarray | None = None) -> np.ndarray:
        # Average of the left and right interpolations handles runs of tied references
        # (as scikit-learn's QuantileTransformer does): a tied value lands mid-run.
        refs, q = self.refs_ if refs is None else refs, self.levels_
        return 0.5 * (np.interp(values, refs, q) - np.interp(-values, -refs[::-1], -q[::-1]))

    def _transform(self, values) -> np.ndarray:
        values = as_float_array(values)
        if self.refs_[0] == self.refs_[-1]:  # constant column: nothing to say
            return np.zeros((values.size, 1), np.float32)
        z = ndtri(_EPS + (1.0 - 2.0 * _EPS) * self._cdf(values))
        return z.astype(np.float32)[:, None]

    def _inverse(self, block: np.ndarray, uniforms=None) -> np.ndarray:
        x = self._interpolate(block)
        if self.support_ is None:
            return x
        # The nearest value of the column's own (the lower one at equal distance): the
        # quantile references sit on those values wherever they carry mass, so the
        # interpolated distribution is moved only between neighbouring values, and every
        # value seen at fit comes back exactly.
        support = self.support_
        upper = np.clip(np.searchsorted(support, x, side="left"), 1, len(support) - 1)
        below, above = support[upper - 1], support[upper]
        return np.where(above - x < x - below, above, below)

    def _interpolate(self, block: np.ndarray) -> np.ndarray:
        """The continuous inverse: ``u`` interpolated between the reference quantiles."""
        u = (ndtr(block[:, 0].astype(np.float64)) - _EPS) / (1.0 - 2.0 * _EPS)
        e = large_exponent(self.refs_[[0, -1]])
        if e:  # the slope between huge references overflows np.interp: interpolate scaled
            return np.ldexp(np.interp(np.clip(u, 0.0, 1.0), self.levels_, np.ldexp(self.refs_, -e)), e)
        return np.interp(np.clip(u, 0.0, 1.0), self.levels_, self.refs_)

    def log_jacobian(self, values) -> np.ndarray:
        """``log |dz/dx|`` of the map at ``values``: adding it to a NLL in z turns it into a
        NLL in data space, so values in the sparse tails of the column count as unlikely.

        The slope of the empirical CDF is measured over a window of 1/1000 of the range,
        so spikes (tied values) get a large but finite density.
        """
        values, refs = as_float_array(values), self.refs_
        e = large_exponent(refs[[0, -1]])
        if e:  # the range overflows near the float64 limit: measure slopes in a scaled space
            values, refs = np.ldexp(values, -e), np.ldexp(refs, -e)
        span = refs[-1] - refs[0]
        if span <= 0:
            return np.zeros(values.size)
        h = 1e-3 * span
        slope = (self._cdf(values + h, refs) - self._cdf(values - h, refs)) / (2 * h)
        slope = np.maximum(slope, 1.0 / (len(refs) * span * 1e3))  # beyond the data: very unlikely
        z = ndtri(_EPS + (1.0 - 2.0 * _EPS) * self._cdf(values, refs))
        log_slope = np.log(slope) - e * np.log(2.0) if e else np.log(slope)
        return log_slope + 0.5 * z * z + 0.5 * np.log(2 * np.pi)

    def bounds(self) -> tuple[float, float]:
        return float(self.refs_[0]), float(self.refs_[-1])

    def point(self, block_mean: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """The predictive mean in data space: the mean of a Gaussian pushed through the
        quantile map is not the map of the mean (that is the median), so it is integrated
        with 16 Gauss-Hermite nodes.

        Without a scale the integral collapses to the map of the mean; it is computed the
        same way (a zero scale), so both give bit-identical results.
        """
        mean = np.asarray(block_mean)[:, 0, None]  # (n, 1)
        scale = np.zeros(len(mean)) if scale is None else np.asarray(scale)
        nodes = mean + scale[:, None] * _GH_NODES  # (n, K)
        values = self._interpolate(nodes.reshape(-1, 1)).reshape(nodes.shape)
        # Summed node by node, in one fixed order: a matrix-vector product may sum a row
        # in an order that depends on where the row sits in the array. A row whose nodes
        # all map to one value (a zero scale, a constant column) gets that value exactly.
        total = np.zeros(len(values))
        for k, weight in enumerate(_GH_WEIGHTS):
            total += values[:, k] * weight
        first = values[:, 0]
        return np.where((values == first[:, None]).all(axis=1), first, total)

    def get_state(self) -> dict:
        state = {"levels": self.levels_.tolist(), "refs": self.refs_.tolist()}
        if self.support_ is not None:
            state["support"] = self.support_.tolist()
        return state

    def set_state(self, state: dict) -> "QuantileNormalEncoder":
        self.levels_ = np.asarray(state["levels"], np.float64)
        self.refs_ = np.asarray(state["refs"], np.float64)
        self.n_quantiles = len(self.levels_)
        # files written before discrete columns decoded to their values have no support
        self.support_ = np.asarray(state["support"], np.float64) if "support" in state else None
        return self


class StandardEncoder(ColumnEncoder):
    """Subtract the mean, divide by the standard deviation; decoded values clipped to the range.

    Columns near the float64 limit (values about 1e300) overflow the plain mean and
    standard deviation; those are then computed in a space scaled by a power of two
    (an exact scaling), so such columns encode as well as any other.

    Examples
    --------
    >>> import numpy as np
    >>> from tabae.encoding import StandardEncoder
    >>> enc = StandardEncoder().fit(np.array([1e300, 2e300, 3e300]))
    >>> enc.transform(np.array([1e300, 3e300])).ravel().astype(float).round(3).tolist()
    [-1.225, 1.225]
    >>> enc.log_jacobian(np.array([2e300])).round(1).tolist()  # -log(std)
    [-690.6]
    """

    parts = (("gauss", 1),)
    name = "standard"
    point_is_mean = True

    def _fit(self, values) -> None:
        values = as_float_array(values)
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = float(values.mean()), float(values.std())
        if not (np.isfinite(mean) and np.isfinite(std)):
            exponent = int(np.frexp(np.abs(values).max())[1])  # max |value| < 2 ** exponent
            scaled = np.ldexp(values, -exponent)
            mean = float(np.ldexp(scaled.mean(), exponent))
            std = float(np.ldexp(scaled.std(), exponent))
        self.mean_ = mean
        self.std_ = std if std > 0 else 1.0
        self.lo_, self.hi_ = float(values.min()), float(values.max())

    def _transform(self, values) -> np.ndarray:
        values = as_float_array(values)
        with np.errstate(over="ignore", invalid="ignore"):
            z = (values - self.mean_) / self.std_
        wild = ~np.isfinite(z)
        if wild.any():  # the difference overflowed: a range wider than the float64 limit
            z[wild] = values[wild] / self.std_ - self.mean_ / self.std_
        return z.astype(np.float32)[:, None]

    def _inverse(self, block: np.ndarray, uniforms=None) -> np.ndarray:
        with np.errstate(over="ignore"):  # an overflow lands on the bound by the clip
            x = block[:, 0].astype(np.float64) * self.std_ + self.mean_
        return np.clip(x, self.lo_, self.hi_)

    def log_jacobian(self, values) -> np.ndarray:
        """The constant ``-log(std)``: the code is linear in the value."""
        return np.full(len(values), -np.log(self.std_))

    def bounds(self) -> tuple[float, float]:
        return self.lo_, self.hi_

    def point(self, block_mean: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """The mean maps to the mean (the map is linear), so ``scale`` is not needed."""
        return self.inverse(np.asarray(block_mean))

    def get_state(self) -> dict:
        return {"mean": self.mean_, "std": self.std_, "lo": self.lo_, "hi": self.hi_}

    def set_state(self, state: dict) -> "StandardEncoder":
        self.mean_, self.std_ = state["mean"], state["std"]
        self.lo_, self.hi_ = state["lo"], state["hi"]
        return self


NUMERIC_ENCODERS = {
    "quantile": QuantileNormalEncoder,
    "standard": StandardEncoder,
    "mode": ModeSpecificEncoder,
}


def claimed_decimals(encoder: ColumnEncoder, values) -> int | None:
    """Decimals that decoded values of a float column are rounded to (None: no rounding).

    Values seen at fit with at most ``k`` decimals (CSV data, money, counts stored as
    float) come back exactly when decoded values are rounded to ``k`` decimals; the
    precision is claimed only if the float32 model space really carries it for this
    column (a wide range with many decimals may not).
    """
    values = as_float_array(values)
    decimals = count_decimals(values)
    if decimals is not None:
        back = np.round(encoder.inverse(encoder.transform(values).astype(np.float32)), decimals)
        if not np.array_equal(back, values):
            decimals = None
    return decimals


def count_decimals(values: np.ndarray, most: int = 6) -> int | None:
    """Fewest decimals (up to ``most``) that represent every value, or None if none do."""
    finite = values[np.isfinite(values)]
    if finite.size > 100_000:  # a sample decides as well as all rows
        finite = finite[:: finite.size // 100_000]
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float64 limit
        for k in range(most + 1):
            scaled = finite * 10.0**k
            if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, np.abs(scaled))):
                return k
    return None
