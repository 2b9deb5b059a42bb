"""Bundled example tables."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_adult"]


def load_adult() -> pd.DataFrame:
    """The UCI Adult census table (32,561 rows, 15 mixed columns, '?' read as missing).

    Source: UCI Machine Learning Repository, Becker & Kohavi (1996), CC BY 4.0.
    """
    with resources.files("tabae").joinpath("data/adult.csv").open("rb") as fh:
        return pd.read_csv(fh, skipinitialspace=True, na_values="?")
