"""The EM Gaussian behind ``gaussian_blend``: estimates, conditional means, blend weights."""

import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.nn.gaussian import conditional_mean, fit_gaussian_em
from tests.conftest import FAST

COV = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 2.0]])
MEAN = np.array([1.0, -2.0, 0.5])


def _sample(n, seed, rate):
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(MEAN, COV, size=n)
    visible = rng.random(x.shape) >= rate
    return torch.tensor(x), torch.tensor(visible)


def test_em_recovers_mean_and_covariance_despite_holes():
    x, visible = _sample(20_000, 0, 0.3)
    mean, cov = fit_gaussian_em(x, visible, iterations=30, ridge=0.0)
    np.testing.assert_allclose(mean.numpy(), MEAN, atol=0.03)
    np.testing.assert_allclose(cov.numpy(), COV, atol=0.05)
    # Hidden cells must not leak in: garbage there changes nothing.
    garbage = torch.where(visible, x, torch.full_like(x, 1e6))
    mean2, cov2 = fit_gaussian_em(garbage, visible, iterations=30, ridge=0.0)
    np.testing.assert_allclose(mean2.numpy(), mean.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cov2.numpy(), cov.numpy(), rtol=1e-9, atol=1e-9)


def test_conditional_mean_matches_the_textbook_formula():
    mean, cov = torch.tensor(MEAN), torch.tensor(COV)
    x = torch.tensor([[2.0, 0.0, 1.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    visible = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    out = conditional_mean(x, visible, mean, cov).numpy()
    v, h = [0, 2], [1]  # row 0: mu_h + S_hv S_vv^-1 (x_v - mu_v)
    expected = MEAN[h] + COV[np.ix_(h, v)] @ np.linalg.solve(COV[np.ix_(v, v)], x[0, v].numpy() - MEAN[v])
    np.testing.assert_allclose(out[0, 1], expected[0], rtol=1e-10)
    np.testing.assert_allclose(out[0, [0, 2]], [2.0, 1.0])  # visible cells kept
    np.testing.assert_allclose(out[1, [0, 2]], MEAN[[0, 2]] + COV[[0, 2], 1] / COV[1, 1] * (-1.0 - MEAN[1]))
    np.testing.assert_allclose(out[2], MEAN)  # nothing visible: the mean


def test_gaussian_blend_imputes_linear_structure_from_few_rows():
    """Near-collinear columns, 200 rows: the fill must get close to the linear truth."""
    rng = np.random.default_rng(0)
    n = 200
    radius = rng.uniform(5, 25, n)
    df = pd.DataFrame({
        "radius": radius,
        "perimeter": 2 * np.pi * radius + rng.normal(0, 0.5, n),
        "texture": rng.normal(20, 4, n),
        "diameter": 2 * radius + rng.normal(0, 0.2, n),
    })
    hide = rng.random(df.shape) < 0.2
    holes = df.mask(hide)
    errors = {}
    for fill in (False, True):
        model = tabae.DenoisingAE(gaussian_blend=fill, numeric_encoding="standard", numeric_loss="mse",
                                  random_state=0, **FAST).fit(holes)
        filled = model.impute(holes)
        # Radius hidden but its perimeter or diameter seen: it is determined (to ~0.1).
        miss = hide[:, 0] & ~(hide[:, 1] & hide[:, 3])
        errors[fill] = float(np.sqrt(((filled["radius"][miss] - df["radius"][miss]) ** 2).mean()))
        assert (model.blend_.weights.numpy() >= 0).all() if fill else model.blend_ is None
    assert errors[True] < 0.5  # radius spans 20 units
    assert errors[True] < errors[False]


def test_gaussian_blend_needs_a_one_value_numeric_code(mixed_holes):
    with pytest.raises(tabae.TabaeError, match="gaussian_blend"):
        tabae.DenoisingAE(gaussian_blend=True, numeric_encoding="mode", **FAST).fit(mixed_holes)


def test_gaussian_blend_without_numeric_columns_is_a_no_op():
    df = pd.DataFrame({"a": list("xyzxyzxyz") * 10, "b": list("uvvuvvuvv") * 10})
    model = tabae.DenoisingAE(gaussian_blend=True, **FAST).fit(df.mask(np.eye(90, 2, dtype=bool)))
    assert model.blend_.config.n_blend == 0 and not model.blend_.config.gaussian  # categories only
    assert model.impute(df.mask(np.eye(90, 2, dtype=bool))).notna().all().all()


def test_gaussian_blend_steps_aside_on_very_wide_tables():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 130)), columns=[f"c{i}" for i in range(130)])
    with pytest.warns(tabae.TabaeWarning, match="gaussian_blend is off"):
        model = tabae.DenoisingAE(gaussian_blend=True, **{**FAST, "epochs": 2}).fit(df)
    assert model.blend_ is None
