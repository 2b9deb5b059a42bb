import numpy as np
import pandas as pd
import pytest
import torch

torch.set_num_threads(1)  # small models: threads only add overhead (and contention in CI)

FAST = dict(hidden_dims=(64, 64), latent_dim=8, epochs=40, batch_size=128, n_jobs=1, verbose=False)


def make_mixed(n: int = 800, seed: int = 0) -> pd.DataFrame:
    """A small table with real structure: numbers, an integer, categories, a flag, holes."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    base = np.select([group == "a", group == "b"], [0.0, 3.0], 6.0)
    x = base + rng.normal(0, 0.5, n)
    y = 2.0 * x + rng.normal(0, 0.5, n)
    count = np.clip(np.round(x + 5 + rng.normal(0, 0.5, n)), 0, None).astype(int)
    flag = (x + rng.normal(0, 0.5, n)) > 3
    df = pd.DataFrame({
        "x": x.round(3),
        "y": y.round(3),
        "count": count,
        "group": pd.Series(group, dtype="category"),
        "flag": flag,
        "label": np.where(y > 6, "high", "low"),
    })
    return df


def with_holes(df: pd.DataFrame, rate: float, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = df.copy()
    for col in out.columns:
        hide = rng.random(len(out)) < rate
        if col == "count":
            out[col] = out[col].astype("Int64")
        if col == "flag":
            out[col] = out[col].astype("boolean")
        out.loc[hide, col] = pd.NA if col in ("count", "flag") else np.nan
    return out


@pytest.fixture(scope="session")
def mixed():
    return make_mixed()


@pytest.fixture(scope="session")
def mixed_holes(mixed):
    return with_holes(mixed, 0.15)
