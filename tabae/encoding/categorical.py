"""Categorical and boolean column encoders.

Categories become one-hot spans of bounded width: frequent categories get a slot each,
rare ones share one "other" slot (so an ID-like column cannot blow the layout up), and
categories never seen at fit are mapped to that slot with a warning at transform time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tabae.encoding.base import ColumnEncoder
from tabae.exceptions import TabaeWarning
from tabae.jsonvalues import from_json_value, to_json_value
from tabae.schema import as_list

__all__ = ["OneHotEncoder", "BooleanEncoder"]


class OneHotEncoder(ColumnEncoder):
    """One slot per kept category plus one shared slot for rare and unseen ones.

    Parameters
    ----------
    min_frequency : float
        Categories rarer than this share of observed rows are grouped into the shared slot.
    max_categories : int
        At most this many categories get a slot of their own (the most frequent ones).
    column : str
        The column's name, for the warning about unseen categories.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae.encoding import OneHotEncoder
    >>> enc = OneHotEncoder(min_frequency=0.2, column="pet").fit(pd.Series(["cat"] * 5 + ["dog"] * 4 + ["emu"]))
    >>> enc.feature_names("pet"), enc.known_values()
    (['pet=cat', 'pet=dog', 'pet=<other>'], ['cat', 'dog', 'emu'])
    >>> enc.inverse(enc.transform(pd.Series(["dog", "emu"]))).tolist()
    ['dog', 'emu']
    """

    name = "onehot"

    def __init__(self, min_frequency: float = 0.001, max_categories: int = 200, column: str = ""):
        self.min_frequency = min_frequency
        self.max_categories = max_categories
        self.column_ = column

    @property
    def parts(self):
        return (("cat", len(self.kept_) + 1),)

    def _fit(self, values) -> None:
        counts = pd.Series(values).value_counts(sort=True)
        n = counts.sum()
        frequent = counts[(counts / n >= self.min_frequency)].iloc[: self.max_categories]
        rare = counts.drop(frequent.index)
        # Always keep at least one category so that the span can say something.
        if frequent.empty:
            frequent, rare = counts.iloc[:1], counts.iloc[1:]
        self.kept_ = as_list(frequent.index)
        self.rare_ = as_list(rare.index)
        self.rare_p_ = (rare / rare.sum()).to_numpy().tolist() if len(rare) else []
        self._build_lookup()

    def _build_lookup(self) -> None:
        self._kept_index = pd.Index(self.kept_, dtype=object)
        self._known = set(self.kept_) | set(self.rare_)

    def codes(self, values) -> np.ndarray:
        """Slot of each (observed) value; rare and unseen values get the shared last slot."""
        values = pd.Series(values)
        codes = self._kept_index.get_indexer(pd.Index(values.astype(object), dtype=object))
        unseen = codes < 0
        if unseen.any():
            novel = [v for v in pd.unique(values[unseen]) if v not in self._known]
            if novel:
                warnings.warn(
                    f"column {self.column_!r}: {len(novel)} categories not seen at fit "
                    f"(e.g. {novel[:3]!r}) were mapped to the shared 'other' slot; "
                    "refit the model if they matter",
                    TabaeWarning,
                    stacklevel=5,
                )
            codes[unseen] = len(self.kept_)
        return codes

    def _transform(self, values) -> np.ndarray:
        codes = self.codes(values)
        out = np.zeros((len(codes), len(self.kept_) + 1), np.float32)
        out[np.arange(len(codes)), codes] = 1.0
        return out

    def _inverse(self, block: np.ndarray, uniforms: np.ndarray | None = None) -> np.ndarray:
        codes = block.argmax(axis=1)
        slots = np.empty(len(self.kept_) + 1, dtype=object)
        slots[: len(self.kept_)] = self.kept_
        pool = self.rare_ or self.kept_[:1]
        slots[-1] = pool[0]
        values = slots[codes]
        other = codes == len(self.kept_)
        if uniforms is not None and other.any() and self.rare_:
            # When sampling, spread the shared slot over the rare categories by frequency
            # (inverse CDF of each row's own uniform number).
            cdf = np.cumsum(self.rare_p_)
            picks = np.minimum(np.searchsorted(cdf, np.asarray(uniforms)[other] * cdf[-1]), len(self.rare_) - 1)
            values[other] = np.asarray(self.rare_, dtype=object)[picks]
        return values

    def known_values(self) -> list:
        return list(self.kept_) + list(self.rare_)

    def feature_names(self, column: str) -> list[str]:
        return [f"{column}={v}" for v in self.kept_] + [f"{column}=<other>"]

    def get_state(self) -> dict:
        # Categories JSON lacks (Timestamps, dates, Decimals...) are tagged, see tabae.jsonvalues.
        return {
            "kept": [to_json_value(v) for v in self.kept_], "rare": [to_json_value(v) for v in self.rare_],
            "rare_p": self.rare_p_, "column": self.column_,
        }

    def set_state(self, state: dict) -> "OneHotEncoder":
        self.kept_ = [from_json_value(v) for v in state["kept"]]
        self.rare_ = [from_json_value(v) for v in state["rare"]]
        self.rare_p_, self.column_ = state["rare_p"], state["column"]
        self._build_lookup()
        return self


class BooleanEncoder(ColumnEncoder):
    """A single 0/1 unit modelled as a Bernoulli.

    Examples
    --------
    >>> import numpy as np
    >>> from tabae.encoding import BooleanEncoder
    >>> enc = BooleanEncoder().fit(np.array([True, False]))
    >>> enc.point(np.array([[0.8], [0.3]])).tolist(), enc.known_values()
    ([True, False], [False, True])
    """

    parts = (("bin", 1),)
    name = "boolean"

    def _fit(self, values) -> None:
        pass

    def _transform(self, values) -> np.ndarray:
        return pd.Series(values).astype(bool).to_numpy(dtype=np.float32)[:, None]

    def _inverse(self, block: np.ndarray, uniforms=None) -> np.ndarray:
        return block[:, 0] >= 0.5

    def known_values(self) -> list:
        return [False, True]

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> "BooleanEncoder":
        return self
