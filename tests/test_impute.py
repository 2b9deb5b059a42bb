import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tabae
from tests.conftest import FAST, make_mixed, with_holes

TINY = dict(hidden_dims=(16,), latent_dim=2, epochs=3, batch_size=64, verbose=False, random_state=0)


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
    draws = model.impute_draws(mixed_holes, n_draws=4, random_state=0)
    assert isinstance(draws, list) and len(draws) == 4
    miss = mixed_holes["y"].isna()
    assert draws[0]["y"][miss].ne(draws[1]["y"][miss]).mean() > 0.9  # real variability
    for d in draws:
        pd.testing.assert_series_equal(d["y"][~miss], mixed_holes["y"][~miss])
    again = model.impute_draws(mixed_holes, n_draws=4, random_state=0)
    pd.testing.assert_frame_equal(draws[2], again[2])  # seeded
    pooled = tabae.pool([d["y"].mean() for d in draws], [d["y"].var() / len(d) for d in draws])
    assert pooled.between > 0 and pooled.total > pooled.within
    with pytest.raises(tabae.TabaeError, match="at least 2"):
        tabae.pool([1.0])


@pytest.mark.parametrize("make", [
    lambda: tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 5}),
    lambda: tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 5}),
], ids=["dae", "vae-autoregressive"])
def test_chunking_never_changes_imputations(make, mixed_holes):
    """A row's point imputation, draws and scores depend on the row alone (and the seed):
    chunks of the table, in any order, give the same values bit for bit."""
    model = make().fit(mixed_holes)
    df = mixed_holes.iloc[:300]
    parts = [df.iloc[:7], df.iloc[7:150], df.iloc[150:]]
    pd.testing.assert_frame_equal(pd.concat([model.impute(p) for p in parts]), model.impute(df))
    pd.testing.assert_series_equal(pd.concat([model.decision_function(p) for p in parts]),
                                   model.decision_function(df))
    whole = model.impute_draws(df, n_draws=2, random_state=3)
    chunked = [model.impute_draws(p, n_draws=2, random_state=3) for p in reversed(parts)]
    for d in range(2):
        pd.testing.assert_frame_equal(pd.concat([c[d] for c in reversed(chunked)]), whole[d])
    # nor on the column order or how a hole is written
    shuffled = model.impute_draws(df[df.columns[::-1]].astype({"y": "Float64"}), n_draws=2, random_state=3)
    pd.testing.assert_frame_equal(shuffled[1][df.columns].astype({"y": "float64"}), whole[1])


def test_bad_input(model, mixed_holes):
    with pytest.raises(tabae.SchemaError, match=r"\['extra'\] were not seen at fit"):
        model.impute(mixed_holes.assign(extra=1.0))
    with pytest.raises(tabae.TabaeError, match="n_draws=0"):
        model.impute_draws(mixed_holes, n_draws=0)
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
    assert imputer.n_features_in_ == 2 and list(imputer.feature_names_in_) == ["x", "y"]
    arr = tabae.AEImputer(tabae.DenoisingAE(random_state=0, **FAST)).fit(num.to_numpy()).transform(num.to_numpy())
    assert isinstance(arr, np.ndarray) and not np.isnan(arr).any()
    with pytest.raises(tabae.NotFittedError):
        tabae.AEImputer().transform(num)


def test_aeimputer_transform_is_one_table_and_transform_draws_a_list(mixed_holes):
    imputer = tabae.AEImputer(tabae.DenoisingAE(**TINY), random_state=0).fit(mixed_holes)
    filled = imputer.transform(mixed_holes)
    assert isinstance(filled, pd.DataFrame) and filled.notna().all().all()
    draws = imputer.transform_draws(mixed_holes, n_draws=3)
    assert isinstance(draws, list) and len(draws) == 3
    assert all(isinstance(d, pd.DataFrame) and d.notna().all().all() for d in draws)
    miss = mixed_holes["y"].isna()
    assert draws[0]["y"][miss].ne(draws[1]["y"][miss]).any()  # draws, not copies of one guess
    # Seeded by the imputer's random_state unless given one.
    pd.testing.assert_frame_equal(imputer.transform_draws(mixed_holes, n_draws=3)[1], draws[1])
    num = mixed_holes[["x", "y"]].to_numpy()
    on_arrays = tabae.AEImputer(tabae.DenoisingAE(**TINY)).fit(num)
    arrays = on_arrays.transform_draws(num, n_draws=2, random_state=0)
    assert all(isinstance(a, np.ndarray) and a.shape == num.shape and not np.isnan(a).any() for a in arrays)
    with pytest.raises(tabae.TabaeError, match="n_draws=0"):
        imputer.transform_draws(mixed_holes, n_draws=0)
    with pytest.raises(tabae.NotFittedError, match="AEImputer is not fitted"):
        tabae.AEImputer().transform_draws(mixed_holes)


def test_set_output_pandas_after_refitting_on_an_array(mixed_holes):
    num = mixed_holes[["x", "y"]]
    imputer = tabae.AEImputer(tabae.DenoisingAE(**TINY)).set_output(transform="pandas")
    assert list(imputer.fit(num).transform(num).columns) == ["x", "y"]
    out = imputer.fit(num.to_numpy()).transform(num.to_numpy())  # names from the frame fit are stale now
    assert not hasattr(imputer, "feature_names_in_") and imputer.n_features_in_ == 2
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1"]
    assert list(imputer.get_feature_names_out()) == ["x0", "x1"]


def test_old_call_forms_raise_and_point_to_the_new_names(model, mixed_holes):
    with pytest.raises(tabae.TabaeError, match="impute_draws"):
        model.impute(mixed_holes, n_draws=3)
    with pytest.raises(tabae.TabaeError, match="transform_draws"):
        tabae.AEImputer(n_draws=3).fit(mixed_holes)  # refused before any training
    with pytest.raises(tabae.TabaeError, match="n_draws=3 was removed"):
        tabae.AEImputer(tabae.DenoisingAE(**TINY), n_draws=3).fit_transform(mixed_holes)


def test_aeimputer_parameters_checked_before_fit(mixed_holes):
    for params, match in [
        ({"estimator": "DenoisingAE"}, r"estimator='DenoisingAE' is not allowed; estimator must be None or an unfitted"),
        ({"estimator": tabae.DenoisingAE}, "estimator=<class"),
        ({"verbose": "yes"}, "verbose='yes' is not allowed; verbose must be True or False"),
        ({"random_state": -1}, r"random_state=-1 is not allowed; random_state must be None or an int in \[0, "),
    ]:
        with pytest.raises(tabae.TabaeError, match=match):
            tabae.AEImputer(**params).fit(mixed_holes)
    with pytest.raises(tabae.TabaeError, match="epochs=0 is not allowed"):  # the model's own table
        tabae.AEImputer(tabae.DenoisingAE(**{**TINY, "epochs": 0})).fit(mixed_holes)


def test_aeimputer_on_awkward_tables():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "x": rng.normal(size=40), "constant": 1.0, "group": rng.choice(["a", "b"], 40),
        "label": "same", "y": rng.normal(size=40),
    })
    holes = df.mask(rng.random(df.shape) < 0.2)
    with pytest.warns(tabae.TabaeWarning, match=r"constant column\(s\) \['constant', 'label'\]"):
        imputer = tabae.AEImputer(tabae.DenoisingAE(**TINY)).fit(holes)
    filled = imputer.transform(holes)
    assert filled.notna().all().all() and (filled["constant"] == 1.0).all() and (filled["label"] == "same").all()
    # Rows with unseen categories and rows with nothing observed are still completed.
    new = holes.head(3).copy()
    new["group"] = ["unseen", "a", None]
    new.iloc[2] = np.nan
    with pytest.warns(tabae.TabaeWarning, match="not seen at fit"):
        filled = imputer.transform(new)
    assert filled.notna().all().all() and filled.loc[0, "group"] == "unseen"
    # Fewer rows than columns: a warning, and a completed table.
    wide = pd.DataFrame(rng.normal(size=(12, 20)), columns=[f"c{i}" for i in range(20)])
    wide = wide.mask(rng.random(wide.shape) < 0.1)
    with pytest.warns(tabae.TabaeWarning, match=r"fewer rows than columns \(12 rows, 20 columns\)"):
        imputer = tabae.AEImputer(tabae.DenoisingAE(**TINY)).fit(wide)
    assert imputer.transform(wide).notna().all().all()
    with pytest.raises(tabae.SchemaError, match=r"X has 10 row\(s\) \(n_samples = 10"):
        tabae.AEImputer(tabae.DenoisingAE(**TINY)).fit(wide.head(10))
    with pytest.raises(tabae.SchemaError, match="X is a Series"):
        tabae.AEImputer(tabae.DenoisingAE(**TINY)).fit(wide["c0"])


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
    config = imputer.model_.blend_.config  # the blend sits beside the network
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
    draws = np.stack([d["y"].to_numpy() for d in model.impute_draws(holes, n_draws=40, random_state=1)])
    hidden = hide[:, 1]
    lo, hi = np.quantile(draws[:, hidden], [0.05, 0.95], axis=0)
    coverage = ((full["y"][hidden] >= lo) & (full["y"][hidden] <= hi)).mean()
    assert 0.75 < coverage <= 1.0
    # The draws' spread is the model's own residual (scale[1] ~ .6 of the column here), not the
    # whole column's (ratio 1, the old draws); the ratio sits near .6, so the bound leaves room.
    assert draws[:, hidden].std(0).mean() < 0.7 * full["y"].std()


def test_a_category_nothing_predicts_is_filled_with_its_mode():
    """A column independent of the rest (a biased coin): no blend beats its mode on
    held-out cells, so every hole gets the mode, for every model (a VAE too)."""
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.1, size=n),
                       "coin": np.where(rng.random(n) < 0.7, "heads", "tails")})
    holes = df.copy()
    holes.loc[rng.random(n) < 0.2, "coin"] = np.nan
    for cls in (tabae.DenoisingAE, tabae.TabularVAE):
        filled = cls(random_state=0, **FAST).fit(holes).impute(holes)
        assert (filled.loc[holes["coin"].isna(), "coin"] == "heads").all(), cls.__name__


def test_a_category_that_is_a_threshold_of_a_number_is_filled_sharply():
    """``mature`` is ``age >= 35`` (as in ncbirths): the blend's per-column classifier,
    with step features at the age's quantiles, finds the cut that a network and the
    neighbours blur; near the cut a blurred guess is a coin flip."""
    rng = np.random.default_rng(0)
    n = 600
    age = rng.uniform(15, 50, size=n).round()
    df = pd.DataFrame({
        "age": age,
        "weeks": rng.normal(39, 2, size=n).round(1),
        "mature": np.where(age >= 35, "mature mom", "younger mom"),
        "other": rng.choice(["a", "b", "c"], size=n),
    })
    holes = df.copy()
    hidden = rng.random(n) < 0.25
    holes.loc[hidden, "mature"] = np.nan
    for make in (lambda: tabae.DenoisingAE(random_state=0, **FAST),
                 lambda: tabae.TabularVAE(category_blend=True, random_state=0, **FAST)):
        model = make().fit(holes)
        filled = model.impute(holes)
        accuracy = (filled.loc[hidden, "mature"] == df.loc[hidden, "mature"]).mean()
        assert accuracy > 0.97, (type(model).__name__, accuracy)


def test_category_blend_switches_the_classifiers_and_forests(mixed_holes):
    """On by default for the imputing models, off for the VAE (sampling never uses them,
    and they cost more fit time than the network on many-level tables); either way the
    categories keep their guard against falling below the column's mode."""
    def config(model):
        return model.fit(mixed_holes).blend_.config

    dae = config(tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 2}))
    vae = config(tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 2}))
    vae_on = config(tabae.TabularVAE(category_blend=True, random_state=0, **{**FAST, "epochs": 2}))
    assert dae.classifier and dae.forest and vae_on.classifier and vae_on.forest
    assert not vae.classifier and not vae.forest and vae.cat_spans  # frequencies and neighbours still mixed
    with pytest.raises(tabae.TabaeError, match="category_blend"):
        tabae.TabularVAE(category_blend="yes", **FAST).fit(mixed_holes)


def test_held_out_rows_are_bounded():
    """The blend is weighed on validation rows repeated with fresh holes: at least 8
    repeats while that stays under 8,192 rows, then fewer (each row is searched against
    the neighbour bank)."""
    import torch

    from tabae.models.blending import MAX_HELD_OUT_ROWS, held_out_cells

    for n_val, rows in ((30, 64 * 30), (500, 8 * 500), (1024, 8 * 1024), (3000, 2 * 3000), (4096, 2 * 4096)):
        X, M = torch.zeros(n_val + 10, 3), torch.ones(n_val + 10, 2, dtype=torch.bool)
        x, _, _ = held_out_cells(X, M, torch.arange(n_val))
        assert len(x) == rows and (len(x) <= MAX_HELD_OUT_ROWS or n_val * 2 == len(x)), (n_val, len(x))


@pytest.mark.parametrize("make", [
    # the Gaussian blend's conditional mean on 10 numeric columns (a shape an AVX-512 MKL
    # summed position-dependently) and the quantile code's integral over nodes
    lambda: tabae.TabularVAE(numeric_encoding="standard", gaussian_blend=True, neighbour_blend=0, random_state=0, **FAST),
    lambda: tabae.Autoencoder(random_state=0, **FAST),
])
def test_a_rows_imputation_does_not_depend_on_the_other_rows(make):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(600, 3)) @ rng.normal(size=(3, 10)) + 0.3 * rng.normal(size=(600, 10))
    df = pd.DataFrame(values, columns=[f"c{i}" for i in range(10)])
    df = df.mask(rng.random(df.shape) < 0.15)
    model = make().fit(df)
    whole = model.impute(df)
    perm = rng.permutation(len(df))
    pd.testing.assert_frame_equal(model.impute(df.iloc[perm]), whole.iloc[perm], check_exact=True)
    chunks = pd.concat([model.impute(df.iloc[s : s + 37]) for s in range(0, len(df), 37)])
    pd.testing.assert_frame_equal(chunks, whole, check_exact=True)
