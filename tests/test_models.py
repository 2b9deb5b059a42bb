"""The shared contract every model meets: fit -> each method -> save/load gives identical outputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression

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


@pytest.fixture(scope="module", params=list(zip(MODELS, IDS)), ids=IDS)
def fitted(request, mixed_holes):
    make, _ = request.param
    return make(random_state=0, **FAST).fit(mixed_holes)


def test_contract(fitted, mixed_holes, tmp_path):
    df = mixed_holes
    scores = fitted.score(df)
    assert isinstance(scores, pd.Series) and scores.index.equals(df.index) and np.isfinite(scores).all()
    contrib = fitted.score(df, per_column=True)
    assert list(contrib.columns) == list(df.columns)
    np.testing.assert_allclose(contrib.sum(axis=1), scores, rtol=1e-6)
    assert (contrib.to_numpy()[df.isna().to_numpy()] == 0).all()  # missing cells do not count

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
    pd.testing.assert_series_equal(again.score(df), scores)
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
    tiny = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["x", None, "y"]})
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
        tabae.TabularVAE().score(mixed)
    with pytest.raises(tabae.TabaeError, match="latent_dim=0"):
        tabae.Autoencoder(latent_dim=0).fit(mixed)
    with pytest.raises(tabae.TabaeError, match="device='tpu'"):
        tabae.Autoencoder(device="tpu").fit(mixed)
    with pytest.raises(tabae.TabaeError, match="random_state=-1"):
        tabae.Autoencoder(random_state=-1, **FAST).fit(mixed)


def test_model_file_is_checked(mixed, tmp_path):
    import json
    import zipfile

    path = tmp_path / "m.tabae"
    tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 2}).fit(mixed).save(path)
    (tmp_path / "junk.tabae").write_bytes(b"not a model")
    with pytest.raises(tabae.ModelFileError, match="not a zip"):
        tabae.load(tmp_path / "junk.tabae")

    def rewrite(target, edit_meta=None, edit_array=None):
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
            for item in src.namelist():
                data = src.read(item)
                if item == "model.json" and edit_meta:
                    data = json.dumps(edit_meta(json.loads(data))).encode()
                if item.startswith("arrays/net/head.bias") and edit_array:
                    data = data[:-4] + b"\x00\x00\x80\x7f"
                dst.writestr(item, data)

    rewrite(tmp_path / "tampered.tabae", edit_array=True)
    with pytest.raises(tabae.ModelFileError, match="does not match its checksum"):
        tabae.load(tmp_path / "tampered.tabae")
    rewrite(tmp_path / "future.tabae", edit_meta=lambda m: {**m, "format_version": 99, "tabae_version": "9.0"})
    with pytest.raises(tabae.ModelFileError, match="format 99 by tabae 9.0"):
        tabae.load(tmp_path / "future.tabae")
    with pytest.raises(tabae.ModelFileError, match="no model file"):
        tabae.load(tmp_path / "absent.tabae")


@pytest.mark.parametrize("cls", [tabae.Autoencoder, tabae.DenoisingAE, tabae.TabularVAE])
def test_help_shows_every_parameter(cls):
    """Errors say "see help(Model)": the docstring must exist and document each parameter."""
    doc = cls.__doc__
    assert doc and "{common}" not in doc and "{blend}" not in doc
    for name in cls().get_params():
        assert f"    {name} :" in doc, name
