"""The shared contract every model meets: fit -> each method -> save/load gives identical outputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import tabae
from tests.conftest import FAST

MODELS = [
    tabae.Autoencoder,
    tabae.DenoisingAE,
    tabae.TabularVAE,
    lambda **kw: tabae.Autoencoder(sparsity=1e-3, **kw),
    lambda **kw: tabae.Autoencoder(contractive=1e-3, **kw),
    lambda **kw: tabae.TabularVAE(beta=0.5, free_bits=0.1, numeric_encoding="mode", **kw),
    lambda **kw: tabae.DenoisingAE(gaussian_blend=True, numeric_encoding="standard", **kw),
]
IDS = ["ae", "dae", "vae", "sparse", "contractive", "vae-mode-freebits", "dae-gaussian-fill"]


@pytest.fixture(scope="module", params=list(zip(MODELS, IDS, strict=False)), ids=IDS)
def fitted(request, mixed_holes):
    make, _ = request.param
    return make(random_state=0, **FAST).fit(mixed_holes)


def test_contract(fitted, mixed_holes, tmp_path):
    df = mixed_holes
    scores = fitted.decision_function(df)
    assert isinstance(scores, pd.Series) and scores.index.equals(df.index) and np.isfinite(scores).all()
    contrib = fitted.decision_function(df, per_column=True)
    assert list(contrib.columns) == list(df.columns)
    np.testing.assert_allclose(contrib.sum(axis=1), scores, rtol=1e-6)
    assert (contrib.to_numpy()[df.isna().to_numpy()] == 0).all()  # missing cells do not count
    loglik = fitted.score_samples(df)
    assert loglik.shape == (len(df),) and np.isfinite(loglik).all()
    assert fitted.score(df) == pytest.approx(loglik.mean())

    latent = fitted.encode(df)
    assert latent.shape == (len(df), fitted.latent_dim)
    names = fitted.get_feature_names_out()
    assert len(names) == fitted.latent_dim and names[0].startswith(type(fitted).__name__.lower())

    filled = fitted.impute(df)
    assert filled.isna().sum().sum() == 0
    assert (filled.dtypes == df.dtypes).all()

    path = tmp_path / "model.tabae"
    fitted.save(path)
    again = tabae.load(path)
    assert type(again) is type(fitted) and again.get_params() == {**fitted.get_params(), "device": "auto"}
    pd.testing.assert_series_equal(again.decision_function(df), scores)
    assert again.score(df) == fitted.score(df)
    np.testing.assert_array_equal(again.encode(df), latent)
    pd.testing.assert_frame_equal(again.impute(df), filled)
    if isinstance(fitted, tabae.TabularVAE):
        pd.testing.assert_frame_equal(again.sample(50, random_state=3), fitted.sample(50, random_state=3))
    else:
        with pytest.raises(tabae.TabaeError, match="not a generative model"):
            fitted.sample(10)


def test_same_seed_same_model(mixed_holes):
    a = tabae.DenoisingAE(random_state=7, **FAST).fit(mixed_holes)
    b = tabae.DenoisingAE(random_state=7, **FAST).fit(mixed_holes)
    np.testing.assert_array_equal(a.encode(mixed_holes), b.encode(mixed_holes))
    c = tabae.DenoisingAE(random_state=8, **FAST).fit(mixed_holes)
    assert not np.array_equal(a.encode(mixed_holes), c.encode(mixed_holes))


def test_fit_does_not_touch_global_rng(mixed):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 2}).fit(mixed)
    assert torch.equal(torch.rand(3), expected)


def test_tiny_and_nan_heavy_tables():
    tiny = pd.DataFrame({"a": [1.0, 2.0, np.nan] * 4, "b": ["x", None, "y"] * 4})
    model = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 5}).fit(tiny)
    assert model.impute(tiny).notna().all().all()
    assert len(model.sample(4, random_state=0)) == 4

    rng = np.random.default_rng(0)
    heavy = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd")).mask(rng.random((200, 4)) < 0.7)
    heavy.iloc[0] = np.nan  # a row with nothing observed
    model = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 5}).fit(heavy)
    assert model.impute(heavy).notna().all().all()


def test_sklearn_conventions(mixed):
    model = tabae.DenoisingAE(latent_dim=4, random_state=0, **{k: v for k, v in FAST.items() if k != "latent_dim"})
    assert clone(model).get_params() == model.get_params()
    model.set_params(latent_dim=3)
    assert model.latent_dim == 3
    X = mixed.drop(columns="label")
    pipe = make_pipeline(model, LogisticRegression()).fit(X, mixed["label"])
    assert pipe.score(X, mixed["label"]) > 0.8  # latent features carry the signal
    features = model.set_output(transform="pandas").transform(X)
    assert list(features.columns) == ["denoisingae0", "denoisingae1", "denoisingae2"]
    assert features.index.equals(X.index)


def test_unfitted_and_bad_params(mixed):
    with pytest.raises(tabae.NotFittedError, match="not fitted yet"):
        tabae.TabularVAE().decision_function(mixed)
    with pytest.raises(tabae.TabaeError, match="latent_dim=0"):
        tabae.Autoencoder(latent_dim=0).fit(mixed)
    with pytest.raises(tabae.TabaeError, match="device='tpu'"):
        tabae.Autoencoder(device="tpu").fit(mixed)
    with pytest.raises(tabae.TabaeError, match="random_state=-1"):
        tabae.Autoencoder(random_state=-1, **FAST).fit(mixed)


# One out-of-range value per parameter of every model: each must fail before training,
# with a message naming the parameter and what it accepts.
BAD_VALUES = {
    "latent_dim": 0, "hidden_dims": (64, 0), "epochs": 0, "batch_size": 0, "learning_rate": 0.0,
    "lr_schedule": "linear", "weight_decay": -1.0, "dropout": 1.0, "validation_fraction": 1.0,
    "patience": -1, "numeric_encoding": "minmax", "numeric_loss": "l1", "kinds": {"x": "text"},
    "n_jobs": 0, "device": "tpu", "random_state": -1, "verbose": "yes", "mask_rate": 1.0, "sparsity": -0.1,
    "contractive": -0.1, "gaussian_blend": "yes", "neighbour_blend": -1, "swap_rate": 1.5,
    "beta": -1.0, "kl_warmup": -1, "free_bits": -0.5, "prior": "flow", "prior_components": 0,
    "autoregressive": "yes", "category_blend": "yes", "spread_ties": "yes",
}


@pytest.mark.parametrize("cls", [tabae.Autoencoder, tabae.DenoisingAE, tabae.TabularVAE])
def test_every_bad_parameter_fails_before_training(cls, mixed, monkeypatch):
    import tabae.models.base as base

    def no_training(*args, **kwargs):
        raise AssertionError("training started with a bad parameter")

    monkeypatch.setattr(base, "train_network", no_training)
    params = cls().get_params()
    assert set(params) <= set(BAD_VALUES), set(params) - set(BAD_VALUES)
    for name in params:
        with pytest.raises(tabae.TabaeError, match=f"{name}=") as info:
            cls(**{name: BAD_VALUES[name]}).fit(mixed)
        assert "must be" in str(info.value) or name == "device", str(info.value)


def test_blend_needs_one_value_per_column(mixed):
    with pytest.raises(tabae.TabaeError, match="numeric_encoding='standard' or 'quantile'"):
        tabae.DenoisingAE(gaussian_blend=True, numeric_encoding="mode").fit(mixed)


def test_old_call_forms_point_to_the_new_names(mixed):
    model = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 2}).fit(mixed)
    with pytest.raises(tabae.TabaeError, match="decision_function"):
        model.score(mixed, per_column=True)
    with pytest.raises(tabae.TabaeError, match="decision_function"):
        model.score(mixed, True)
    with pytest.raises(tabae.TabaeError, match="impute_draws"):
        model.impute(mixed, n_draws=3)


def test_arrays_in_arrays_out():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    model = tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 3}).fit(X)
    assert not hasattr(model, "feature_names_in_") and model.n_features_in_ == 3
    filled = model.impute(X)
    assert isinstance(filled, np.ndarray) and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~np.isnan(X)], X[~np.isnan(X)])
    assert isinstance(model.decision_function(X), np.ndarray)
    with pytest.raises(tabae.SchemaError, match="2 columns, but the model was fitted on 3"):
        model.decision_function(X[:, :2])


def test_tiny_tables_are_refused_clearly():
    for n in (1, 5, 10):
        df = pd.DataFrame({"a": np.arange(n, dtype=float), "b": ["x", "y"] * (n // 2) + ["x"] * (n % 2)})
        with pytest.raises(tabae.SchemaError, match=f"n_samples = {n}"):
            tabae.TabularVAE(**FAST).fit(df)


def test_model_file_is_checked(mixed, tmp_path):
    import hashlib
    import io
    import json
    import zipfile

    path = tmp_path / "m.tabae"
    tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 2}).fit(mixed).save(path)
    (tmp_path / "junk.tabae").write_bytes(b"not a model")
    with pytest.raises(tabae.ModelFileError, match="not a zip"):
        tabae.load(tmp_path / "junk.tabae")
    with pytest.raises(tabae.ModelFileError, match="no model file"):
        tabae.load(tmp_path / "absent.tabae")

    def reseal(target, edit_meta):
        """A file of another tabae version: edited metadata, sealed again."""
        buf = io.BytesIO()
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
            for item in src.namelist():
                data = src.read(item)
                if item == "model.json":
                    data = json.dumps(edit_meta(json.loads(data))).encode()
                dst.writestr(item, data)
            dst.comment = b"tabae-sha256:" + b"0" * 64
        body = buf.getvalue()[:-64]
        target.write_bytes(body + hashlib.sha256(body).hexdigest().encode())

    reseal(tmp_path / "future.tabae", lambda m: {**m, "format_version": 99, "tabae_version": "9.0"})
    with pytest.raises(tabae.ModelFileError, match="format 99 by tabae 9.0"):
        tabae.load(tmp_path / "future.tabae")
    reseal(tmp_path / "foreign.tabae", lambda m: {**m, "class": "Pickled"})
    with pytest.raises(tabae.ModelFileError, match="unknown model class"):
        tabae.load(tmp_path / "foreign.tabae")


def test_every_byte_flip_is_refused(tmp_path):
    """Any corruption or edit of a model file, anywhere in it, gives ModelFileError."""
    df = pd.DataFrame({"a": np.arange(30.0), "b": ["x", "y", "z"] * 10})
    path = tmp_path / "small.tabae"
    tabae.Autoencoder(hidden_dims=(2,), latent_dim=1, epochs=1, verbose=False, random_state=0).fit(df).save(path)
    data = path.read_bytes()
    flipped = tmp_path / "flipped.tabae"
    for i in range(len(data)):
        flipped.write_bytes(data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :])
        with pytest.raises(tabae.ModelFileError):
            tabae.load(flipped)
    tabae.load(path)  # the original still loads


def test_save_checks_the_folder(mixed, tmp_path):
    model = tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 1}).fit(mixed)
    with pytest.raises(tabae.TabaeError, match="does not exist"):
        model.save(tmp_path / "missing" / "m.tabae")


@pytest.mark.parametrize("cls", [tabae.Autoencoder, tabae.DenoisingAE, tabae.TabularVAE])
def test_help_shows_every_parameter(cls):
    """Errors say "see help(Model)": the docstring must exist and document each parameter."""
    doc = cls.__doc__
    assert doc and "{common}" not in doc and "{blend}" not in doc
    for name in cls().get_params():
        assert f"    {name} :" in doc, name


def test_masked_scores_need_a_model_trained_with_hidden_cells(mixed_holes):
    plain = tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 2}).fit(mixed_holes)
    with pytest.raises(tabae.TabaeError, match="mask_rate > 0"):
        plain.decision_function(mixed_holes, method="masked")
    assert set(plain.score_offsets_) == {"reconstruction"}
    dae = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 5}).fit(mixed_holes)
    masked = dae.decision_function(mixed_holes, per_column=True, method="masked")
    np.testing.assert_allclose(masked.sum(axis=1), dae.decision_function(mixed_holes), rtol=1e-6)  # auto = masked
    assert np.isfinite(masked.to_numpy()).all()


def test_id_like_columns_pass_through(mixed_holes, tmp_path):
    """An id or an email is a key, not data: never copied into samples, never guessed."""
    df = mixed_holes.iloc[:300].copy()
    df.insert(0, "customer", np.arange(5000, 5300))
    df["email"] = [f"user{i}@mail.org" for i in range(300)]
    df.loc[df.index[7], "email"] = None
    with pytest.warns(tabae.TabaeWarning, match=r"\['customer', 'email'\] look like identifiers"):
        vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 5}).fit(df)
    assert {c.name: c.kind for c in vae.encoder_.schema_}["email"] == "id"
    syn = vae.sample(200, random_state=0)
    assert not set(syn["customer"]) & set(df["customer"]) and syn["customer"].is_unique
    assert not set(syn["email"].dropna()) & set(df["email"].dropna())
    filled = vae.impute(df)
    assert pd.isna(filled.loc[df.index[7], "email"])  # a key's hole stays a hole
    pd.testing.assert_series_equal(filled["customer"], df["customer"])
    vae.save(tmp_path / "m.tabae")
    pd.testing.assert_frame_equal(tabae.load(tmp_path / "m.tabae").sample(20, random_state=1),
                                  vae.sample(20, random_state=1))
    modelled = tabae.TabularVAE(random_state=0, kinds={"email": "categorical"}, **{**FAST, "epochs": 2})
    with pytest.warns(tabae.TabaeWarning, match=r"\['customer'\]"):
        assert modelled.fit(df).encoder_.schema_["email"].kind == "categorical"


def test_a_fit_that_stops_leaves_no_half_fitted_model(mixed_holes):
    model = tabae.DenoisingAE(random_state=0, neighbour_blend=3, **{**FAST, "epochs": 2}).fit(mixed_holes)

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(mixed_holes[["x", "y", "group"]], on_epoch=stop)
    with pytest.raises(tabae.NotFittedError):
        model.impute(mixed_holes)
    with pytest.raises(tabae.TabaeError, match="random_state"):
        tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 1}).fit(mixed_holes).impute_draws(
            mixed_holes, 2, random_state=2**64)


@pytest.mark.parametrize("n_columns", [6, 70])
def test_masked_nll_equals_hiding_the_columns_of_its_pass(n_columns):
    """The first-layer shortcut gives what a full pass with the pass's columns hidden
    gives; tables wider than MASKED_PASSES hide every MASKED_PASSES-th column together."""
    import torch

    from tabae.models.base import MASKED_PASSES
    from tabae.nn.losses import cell_nll

    rng = np.random.default_rng(0)
    values = rng.normal(size=(120, 3)) @ rng.normal(size=(3, n_columns))
    df = pd.DataFrame(values, columns=[f"c{i}" for i in range(n_columns)])
    model = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 2}).fit(df)
    X, M = (torch.from_numpy(a) for a in model.encoder_.transform(df.iloc[:20]))
    fast = model.masked_cell_nll(X, M)
    n_passes = min(n_columns, MASKED_PASSES)
    for j in (0, n_columns - 1):
        hidden = M.clone()
        hidden[:, j % n_passes :: n_passes] = False
        with torch.no_grad():
            mean, raw, _ = model.heads(X, hidden)
            full = cell_nll(mean, raw, X, M, model.span_index_, model.numeric_loss)
        torch.testing.assert_close(fast[:, j], full[:, j], rtol=1e-4, atol=1e-4)
