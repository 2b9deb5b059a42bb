"""Categorical and boolean column encoders.

Categories become one-hot spans of bounded width: frequent categories get a slot each,
rare ones share one "other" slot (so an ID-like column cannot blow the layout up), and
categories never seen at fit are mapped to that slot with a warning at transform time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tabae.exceptions import TabaeWarning
from tabae.schema import as_list

__all__ = ["OneHotEncoder", "BooleanEncoder"]


class OneHotEncoder:
    """One slot per kept category plus one shared slot for rare and unseen ones.

    Parameters
    ----------
    min_frequency : float
        Categories rarer than this share of observed rows are grouped into the shared slot.
    max_categories : int
        At most this many categories get a slot of their own (the most frequent ones).
    """

    name = "onehot"

    def __init__(self, min_frequency: float = 0.001, max_categories: int = 200):
        self.min_frequency = min_frequency
        self.max_categories = max_categories

    @property
    def parts(self):
        return (("cat", len(self.kept_) + 1),)

    def fit(self, values: pd.Series, column: str = "") -> "OneHotEncoder":
        counts = values.value_counts(sort=True)
        n = counts.sum()
        frequent = counts[(counts / n >= self.min_frequency)].iloc[: self.max_categories]
        rare = counts.drop(frequent.index)
        # Always keep at least one category so that the span can say something.
        if frequent.empty:
            frequent, rare = counts.iloc[:1], counts.iloc[1:]
        self.kept_ = as_list(frequent.index)
        self.rare_ = as_list(rare.index)
        self.rare_p_ = (rare / rare.sum()).to_numpy().tolist() if len(rare) else []
        self.column_ = column
        self._build_lookup()
        return self

    def _build_lookup(self) -> None:
        self._kept_index = pd.Index(self.kept_, dtype=object)
        self._known = set(self.kept_) | set(self.rare_)

    def codes(self, values: pd.Series) -> np.ndarray:
        """Slot of each (observed) value; rare and unseen values get the shared last slot."""
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
                    stacklevel=4,
                )
            codes[unseen] = len(self.kept_)
        return codes

    def transform(self, values: pd.Series) -> np.ndarray:
        codes = self.codes(values)
        out = np.zeros((len(codes), len(self.kept_) + 1), np.float32)
        out[np.arange(len(codes)), codes] = 1.0
        return out

    def inverse(self, block: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        codes = block.argmax(axis=1)
        slots = np.empty(len(self.kept_) + 1, dtype=object)
        slots[: len(self.kept_)] = self.kept_
        pool = self.rare_ or self.kept_[:1]
        slots[-1] = pool[0]
        values = slots[codes]
        other = codes == len(self.kept_)
        if rng is not None and other.any() and self.rare_:
            # When sampling, spread the shared slot over the rare categories by frequency.
            picks = rng.choice(len(self.rare_), size=int(other.sum()), p=self.rare_p_)
            values[other] = np.asarray(self.rare_, dtype=object)[picks]
        return values

    def get_state(self) -> dict:
        return {"kept": self.kept_, "rare": self.rare_, "rare_p": self.rare_p_, "column": self.column_}

    def set_state(self, state: dict) -> "OneHotEncoder":
        self.kept_, self.rare_, self.rare_p_ = state["kept"], state["rare"], state["rare_p"]
        self.column_ = state["column"]
        self._build_lookup()
        return self


class BooleanEncoder:
    """A single 0/1 unit modelled as a Bernoulli."""

    parts = (("bin", 1),)
    name = "boolean"

    def fit(self, values: pd.Series, column: str = "") -> "BooleanEncoder":
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        return values.to_numpy(dtype=np.float32)[:, None]

    def inverse(self, block: np.ndarray, rng=None) -> np.ndarray:
        return block[:, 0] >= 0.5

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> "BooleanEncoder":
        return self
