import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tabae
from tests.conftest import FAST, make_mixed, with_holes


@pytest.fixture(scope="module")
def model(mixed_holes):
    return tabae.DenoisingAE(random_state=0, **FAST).fit(mixed_holes)


def test_observed_cells_untouched_dtypes_index_kept(model, mixed_holes):
    df = mixed_holes.set_axis(np.arange(len(mixed_holes))[::-1] * 3)  # an unusual index
    filled = model.impute(df)
    assert filled.index.equals(df.index) and list(filled.columns) == list(df.columns)
    assert (filled.dtypes == df.dtypes).all()
    assert filled.notna().all().all()
    observed = df.notna()
    for col in df.columns:
        pd.testing.assert_series_equal(filled[col][observed[col]], df[col][observed[col]])
    assert set(filled["group"].unique()) <= {"a", "b", "c"}
    assert set(filled["label"].unique()) <= {"high", "low"}
    assert (filled["count"] == filled["count"].round()).all()


def test_quality_floor_beats_mean_and_mode(model, mixed):
    """A broken model (or one that ignores the other columns) fails this."""
    holes = with_holes(mixed, 0.15, seed=5)
    filled = model.impute(holes)
    miss = holes["y"].isna()
    err_model = np.sqrt(((filled["y"][miss] - mixed["y"][miss]) ** 2).mean())
    err_mean = np.sqrt(((holes["y"].mean() - mixed["y"][miss]) ** 2).mean())
    assert err_model < 0.5 * err_mean
    miss = holes["group"].isna()
    acc = (filled["group"][miss].astype(str) == mixed["group"][miss].astype(str)).mean()
    assert acc > 0.85  # the mode alone gets ~0.5


def test_multiple_imputation_varies_and_pools(model, mixed_holes):
    draws = model.impute(mixed_holes, n_draws=4, random_state=0)
    assert len(draws) == 4
    miss = mixed_holes["y"].isna()
    assert draws[0]["y"][miss].ne(draws[1]["y"][miss]).mean() > 0.9  # real variability
    for d in draws:
        pd.testing.assert_series_equal(d["y"][~miss], mixed_holes["y"][~miss])
    again = model.impute(mixed_holes, n_draws=4, random_state=0)
    pd.testing.assert_frame_equal(draws[2], again[2])  # seeded
    pooled = tabae.pool([d["y"].mean() for d in draws], [d["y"].var() / len(d) for d in draws])
    assert pooled.between > 0 and pooled.total > pooled.within
    with pytest.raises(tabae.TabaeError, match="at least 2"):
        tabae.pool([1.0])


def test_bad_input(model, mixed_holes):
    with pytest.raises(tabae.SchemaError, match=r"\['extra'\] were not seen at fit"):
        model.impute(mixed_holes.assign(extra=1.0))
    with pytest.raises(tabae.TabaeError, match="n_draws=0"):
        model.impute(mixed_holes, n_draws=0)
    # An all-missing row and a column never missing at fit but missing now both work.
    df = mixed_holes.copy()
    df.iloc[0] = None
    complete_fit = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 5}).fit(make_mixed(200))
    filled = complete_fit.impute(df.astype({"count": "Int64"}))
    assert filled.notna().all().all()


def test_aeimputer_in_a_pipeline_and_with_arrays(mixed_holes):
    num = mixed_holes[["x", "y"]]
    imputer = tabae.AEImputer(tabae.DenoisingAE(random_state=0, **FAST), random_state=0)
    pipe = make_pipeline(imputer, StandardScaler()).set_output(transform="pandas")
    out = pipe.fit_transform(num)
    assert list(out.columns) == ["x", "y"] and out.notna().all().all()
    arr = tabae.AEImputer(tabae.DenoisingAE(random_state=0, **FAST)).fit(num.to_numpy()).transform(num.to_numpy())
    assert isinstance(arr, np.ndarray) and not np.isnan(arr).any()
    with pytest.raises(tabae.NotFittedError):
        tabae.AEImputer().transform(num)


def test_default_imputer_beats_the_linear_and_mean_baselines_on_a_small_table():
    """The shipped configuration (wide DAE + Gaussian blend), end to end on 300 rows."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    rng = np.random.default_rng(3)
    n = 300
    radius = rng.uniform(5, 25, n)
    full = pd.DataFrame({
        "radius": radius,
        "perimeter": 2 * np.pi * radius + rng.normal(0, 0.5, n),
        "area": np.pi * radius**2 + rng.normal(0, 5, n),
        "texture": rng.normal(20, 4, n),
    })
    hide = rng.random(full.shape) < 0.2
    holes = full.mask(hide)
    imputer = tabae.AEImputer(random_state=0, verbose=False).fit(holes)
    config = imputer.model_.net_.config
    assert config.gaussian and config.n_blend == 4 and config.neighbours == 20
    filled = imputer.transform(holes)
    scale = full.std()

    def rmse(frame):  # texture is independent noise: no imputer can do better than its mean
        cols = ["radius", "perimeter", "area"]
        err = ((frame[cols] - full[cols]) / scale[cols]).where(hide[:, :3])
        return float(np.sqrt(np.nanmean(err**2)))

    mice = pd.DataFrame(IterativeImputer(random_state=0).fit_transform(holes), columns=full.columns)
    assert rmse(filled) < 0.5 * rmse(holes.fillna(holes.mean()))
    # Within reach of the linear MICE on its home ground (seed 3: .315 vs .307; the
    # network alone .350). On such tiny tables the blend weights come from ~30
    # validation rows and are noisy, hence the slack; test_gaussian.py checks the blend.
    assert rmse(filled) < 1.2 * rmse(mice)


def test_draws_of_a_squared_error_model_carry_its_own_uncertainty():
    """MSE models predict no spread: draws use the RMSE measured on held-out hidden cells
    (per column), so they are far tighter than the column and roughly calibrated."""
    rng = np.random.default_rng(0)
    n = 1500
    x = rng.normal(0, 1, n)
    full = pd.DataFrame({"x": x, "y": 3 * x + rng.normal(0, 0.3, n), "z": rng.normal(0, 1, n)})
    hide = rng.random(full.shape) < 0.15
    holes = full.mask(hide)
    model = tabae.DenoisingAE(numeric_encoding="standard", numeric_loss="mse", swap_rate=0.0, random_state=0,
                              **{**FAST, "epochs": 60}).fit(holes)
    scale = model.net_.residual_scale.numpy()  # standardised units, one per column
    assert scale[2] > 0.8 and scale[1] < 0.7  # z is noise; y is mostly pinned down by x (the old draws: 1)
    draws = np.stack([d["y"].to_numpy() for d in model.impute(holes, n_draws=40, random_state=1)])
    hidden = hide[:, 1]
    lo, hi = np.quantile(draws[:, hidden], [0.05, 0.95], axis=0)
    coverage = ((full["y"][hidden] >= lo) & (full["y"][hidden] <= hi)).mean()
    assert 0.75 < coverage <= 1.0
    assert draws[:, hidden].std(0).mean() < 0.6 * full["y"].std()
