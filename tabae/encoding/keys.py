"""ID-like columns: keys that pass through, never modelled.

A column whose values are all or nearly all distinct (a customer id, an email) carries
no pattern a model can learn, and modelling it as a category does harm: samples copy real
training ids (a privacy leak) and every imputed id is the same value. Such a column gets
a block of width 0: the network never sees its values (only whether it is missing), its
holes stay holes when imputing, it adds nothing to outlier scores, and synthesis makes
fresh keys that no training row has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabae.encoding.base import ColumnEncoder

__all__ = ["KeyEncoder"]


class KeyEncoder(ColumnEncoder):
    """A pass-through key: width 0, and fresh values for generated rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tabae.encoding import KeyEncoder
    >>> enc = KeyEncoder(column="id").fit(pd.Series([101, 102, 103]))
    >>> enc.width, enc.fresh(np.array([0, 1])).tolist()
    (0, [104, 105])
    >>> KeyEncoder(column="email").fit(pd.Series(["a@x.org", "b@y.org"])).fresh(np.array([7])).tolist()
    ['email-synthetic-7']
    """

    parts = ()
    name = "key"

    def __init__(self, column: str = ""):
        self.column = column

    def _fit(self, values) -> None:
        values = pd.Series(values)
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        # Whole numbers (an integer id read as float because of holes) get integer keys.
        self.integer_ = bool(numeric and np.all(np.mod(values.to_numpy(dtype=np.float64), 1) == 0))
        self.after_ = int(values.max()) + 1 if self.integer_ and len(values) else 0

    def _transform(self, values) -> np.ndarray:
        return np.zeros((len(values), 0), np.float32)

    def _inverse(self, block: np.ndarray, uniforms=None) -> np.ndarray:
        return np.full(len(block), None, dtype=object)  # a key cannot be predicted

    def fresh(self, rows: np.ndarray) -> np.ndarray:
        """New keys for generated rows number ``rows``: past the largest training integer
        key, or ``"<column>-synthetic-<row>"`` strings; never a training row's key."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.integer_:
            return self.after_ + rows
        return np.array([f"{self.column}-synthetic-{r}" for r in rows], dtype=object)

    def feature_names(self, column: str) -> list[str]:
        return []

    def get_state(self) -> dict:
        return {"column": self.column, "integer": self.integer_, "after": self.after_}

    def set_state(self, state: dict) -> "KeyEncoder":
        self.column, self.integer_, self.after_ = state["column"], state["integer"], state["after"]
        return self
