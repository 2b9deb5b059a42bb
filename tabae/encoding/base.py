"""The contract every column encoder keeps: one reversible map between a column and a block.

Following RDT's design (a base class owns the workflow, every transformer is
reversible), :class:`ColumnEncoder` fixes what a column encoder does and what the models
may ask of it, so that no code outside the encoders switches on encoder types: the
table encoder lays out ``parts``, the models ask ``point``, ``log_jacobian``, ``bounds``
and ``known_values``, and model files store ``get_state`` as plain JSON.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from tabae.exceptions import SchemaError

__all__ = ["ColumnEncoder", "LARGE", "as_float_array", "large_exponent"]

#: Beyond this magnitude, numeric encoders compute in a space scaled by a power of two:
#: squares (variances) overflow from about 1e154 and differences or slopes near 1e308.
LARGE = 1e100


class ColumnEncoder(abc.ABC):
    """Encode the observed values of one column into a float32 block, and back.

    The block of a column is made of *parts* (spans): a Gaussian unit (``"gauss"``,
    width 1), a softmax group (``"cat"``) or a Bernoulli unit (``"bin"``, width 1); the
    models put one output head on each. Subclasses implement :meth:`_fit`,
    :meth:`_transform`, :meth:`_inverse`, :meth:`get_state` and :meth:`set_state` and
    declare :attr:`parts`; the public methods here check the block shapes, so that a
    wrong layout fails where it is made rather than in a torch shape error.

    What the models ask of a column, with defaults for columns that have nothing to say:
    :meth:`bounds`, :meth:`known_values`, :meth:`log_jacobian`, :meth:`point` and
    :meth:`feature_names`.

    Values are the *observed* cells of the column (no missing values): a pandas Series
    as the table encoder passes them, or an array.

    Examples
    --------
    >>> import numpy as np
    >>> from tabae.encoding import ColumnEncoder, StandardEncoder
    >>> enc = StandardEncoder().fit(np.array([1.0, 2.0, 3.0]))
    >>> enc.parts, enc.width
    ((('gauss', 1),), 1)
    >>> enc.inverse(enc.transform(np.array([2.5]))).round(6).tolist()  # float32 codes
    [2.5]
    >>> again = ColumnEncoder.from_dict(enc.to_dict())
    >>> again.bounds()
    (1.0, 3.0)
    """

    #: Class name -> class of every encoder, so that saved states find their class.
    registry: ClassVar[dict[str, type]] = {}

    #: True when :meth:`point` is a predictive *mean* (an expectation, left unrounded by
    #: the table encoder: rounding suits values drawn, not averages); False when it is
    #: a decoded value, finished like any decoded value.
    point_is_mean: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        ColumnEncoder.registry[cls.__name__] = cls

    # ------------------------------------------------------------------ layout
    @property
    @abc.abstractmethod
    def parts(self) -> tuple[tuple[str, int], ...]:
        """The spans of the block, in order: ``(kind, width)`` with kind ``"gauss"|"cat"|"bin"``."""

    @property
    def width(self) -> int:
        """Number of encoded features of the column."""
        return sum(width for _, width in self.parts)

    # ------------------------------------------------------------------ workflow
    def fit(self, values) -> "ColumnEncoder":
        """Learn the map from the observed values; returns ``self``."""
        self._fit(values)
        return self

    def transform(self, values) -> np.ndarray:
        """Encode observed values into a float32 block ``(n, width)``."""
        block = np.asarray(self._transform(values), dtype=np.float32)
        if block.shape != (len(values), self.width):
            raise SchemaError(f"{type(self).__name__} made a block of shape {block.shape}, not ({len(values)}, {self.width})")
        return block

    def fit_transform(self, values) -> np.ndarray:
        return self.fit(values).transform(values)

    def inverse(self, block: np.ndarray, uniforms: np.ndarray | None = None):
        """Decode a block ``(n, width)`` (any float dtype) into ``n`` values.

        ``uniforms`` (one number in (0, 1) per row) lets encoders that merge values into
        one slot (rare categories) spread that slot over them when sampling, each row by
        its own number (so a row's value never depends on the other rows); without them
        decoding is deterministic.
        """
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.width:
            raise SchemaError(f"{type(self).__name__} decodes blocks of shape (n, {self.width}), got {block.shape}")
        return self._inverse(block, uniforms)

    @abc.abstractmethod
    def _fit(self, values) -> None: ...

    @abc.abstractmethod
    def _transform(self, values) -> np.ndarray: ...

    @abc.abstractmethod
    def _inverse(self, block: np.ndarray, uniforms: np.ndarray | None): ...

    # ------------------------------------------------------------------ what the models ask
    def bounds(self) -> tuple[Any, Any] | None:
        """The training range in data units (floats; Timestamps for datetimes), or None
        for columns without an order (categorical, boolean)."""
        return None

    def known_values(self) -> list | None:
        """The values seen at fit (categorical, boolean), or None for continuous columns."""
        return None

    def log_jacobian(self, values) -> np.ndarray:
        """``log |d code / d value|`` per value: added to a negative log-likelihood of the
        codes, it gives one of the values. Zeros here: discrete codes (a category, a
        flag) have no density to convert."""
        return np.zeros(len(values))

    def point(self, block_mean: np.ndarray, scale: np.ndarray | None = None):
        """The point estimate in data units, given the predicted block.

        ``block_mean`` is the head output in the encoded layout (Gaussian means,
        category logits, Bernoulli probabilities already squashed); ``scale`` the
        predicted Gaussian scale ``(n,)`` of the column's Gaussian unit, or None when
        the model predicts none. The default decodes the block: the most likely value.
        """
        return self.inverse(block_mean)

    def feature_names(self, column: str) -> list[str]:
        """Names of the block's features, for ``get_feature_names_out``."""
        return [column] if self.width == 1 else [f"{column}[{k}]" for k in range(self.width)]

    # ------------------------------------------------------------------ persistence
    @abc.abstractmethod
    def get_state(self) -> dict:
        """Everything the fitted encoder needs, as plain JSON types."""

    @abc.abstractmethod
    def set_state(self, state: dict) -> "ColumnEncoder":
        """Restore a state from :meth:`get_state`; returns ``self``."""

    def to_dict(self) -> dict:
        """``{"type": class name, "state": get_state()}``, for :meth:`from_dict`."""
        return {"type": type(self).__name__, "state": self.get_state()}

    @staticmethod
    def from_dict(data: dict) -> "ColumnEncoder":
        """Rebuild a fitted encoder from :meth:`to_dict` (no constructor arguments needed)."""
        cls = ColumnEncoder.registry.get(data.get("type"))
        if cls is None or getattr(cls, "__abstractmethods__", None):
            raise SchemaError(f"unknown column encoder {data.get('type')!r} in saved state")
        return cls.__new__(cls).set_state(data["state"])


def as_float_array(values) -> np.ndarray:
    """Observed numeric values as a float64 array (pandas nullable dtypes included)."""
    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return values.to_numpy(dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def large_exponent(values: np.ndarray) -> int:
    """``e`` with ``max |values| < 2 ** e`` when the values are beyond :data:`LARGE`, else 0.

    Scaling by ``2 ** -e`` is exact (it only changes the exponent), so code that works in
    the scaled space gives the same results as in the plain one, minus the overflows;
    with ``e == 0`` it is skipped and results stay bit-identical for ordinary columns.
    """
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return int(np.frexp(peak)[1]) if peak > LARGE else 0
