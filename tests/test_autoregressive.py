import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.nn.autoregressive import ColumnMADE
from tests.conftest import FAST


@pytest.fixture
def made():
    # inputs: 3 columns (widths 2, 1, 3); outputs: 3 columns (widths 1, 2, 2)
    torch.manual_seed(0)
    in_col = torch.tensor([0, 0, 1, 2, 2, 2])
    out_col = torch.tensor([0, 1, 1, 2, 2])
    net = ColumnMADE(6, 5, hidden=16)
    net.set_columns(in_col, out_col, n_columns=3)
    with torch.no_grad():  # the output layers start at zero; give them weight to test
        for p in net.parameters():
            p.normal_()
    return net, in_col, out_col


def test_made_outputs_only_see_earlier_columns(made):
    net, in_col, out_col = made
    x = torch.randn(4, 6)
    for j in range(3):
        later = x.clone()
        later[:, in_col >= j] = torch.randn(4, int((in_col >= j).sum()))
        assert torch.allclose(net(x)[:, out_col == j], net(later)[:, out_col == j])
        if j > 0:  # ... but do see the earlier ones
            earlier = x.clone()
            earlier[:, in_col < j] += 1.0
            assert not torch.allclose(net(x)[:, out_col == j], net(earlier)[:, out_col == j])


def test_made_starts_as_no_correction():
    net = ColumnMADE(6, 5, hidden=16)
    net.set_columns(torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 2, 2]), 3)
    assert torch.equal(net(torch.randn(3, 6)), torch.zeros(3, 5))


def _linked_table(n=1500, seed=0):
    """``name`` is a function of ``code``; a decoder that draws them independently given
    the latent code pairs them up wrongly now and then."""
    rng = np.random.default_rng(seed)
    code = rng.integers(0, 12, n)
    names = np.array([f"n{k}" for k in range(12)])
    return pd.DataFrame({
        "x": rng.normal(size=n) + code * 0.1,
        "code": pd.Series(code).map(lambda k: f"c{k}"),
        "name": names[code],
    })


def test_autoregressive_vae_keeps_linked_columns_consistent():
    df = _linked_table()
    vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 60}).fit(df)
    syn = vae.sample(2000, random_state=0)
    consistent = (syn["code"].str[1:] == syn["name"].str[1:]).mean()
    assert consistent > 0.97, consistent


def test_autoregressive_vae_save_load_same_samples(tmp_path):
    df = _linked_table(400)
    vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 5}).fit(df)
    assert vae.net_.autoregressive
    vae.save(tmp_path / "m.tabae")
    loaded = tabae.load(tmp_path / "m.tabae")
    pd.testing.assert_frame_equal(vae.sample(50, random_state=1), loaded.sample(50, random_state=1))
    plain = tabae.TabularVAE(random_state=0, autoregressive=False, **{**FAST, "epochs": 5}).fit(df)
    assert not plain.net_.autoregressive and not hasattr(plain.net_, "made")


def test_autoregressive_draws_fill_linked_holes_consistently():
    df = _linked_table()
    vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 60}).fit(df)
    holes = df.copy()
    both = np.arange(len(df)) % 3 == 0  # a third of the rows lose code and name together
    holes.loc[both, ["code", "name"]] = np.nan
    for draw in vae.impute_draws(holes, n_draws=2, random_state=0):
        pd.testing.assert_frame_equal(draw[~both], df[~both])
        consistent = (draw["code"].str[1:] == draw["name"].str[1:])[both].mean()
        assert consistent > 0.95, consistent


def test_vae_decoder_context_only_reaches_later_columns(mixed_holes):
    """The whole decoder: changing column j's context cells moves
    no output of columns <= j."""
    vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 3}).fit(mixed_holes)
    net, index = vae.net_, vae.span_index_
    with torch.no_grad():
        for p in net.made.parameters():  # trained for 3 epochs only: make every path live
            p.normal_()
    x, m = vae._encode_frame(mixed_holes.head(64))
    z = torch.randn(64, vae.latent_dim)
    base = net.decode_base(z)
    out_col = torch.cat([index.feature_column, index.gauss_col, torch.arange(net.config.n_columns)])
    reference = torch.cat(net.split(base, vae.context(x, m)), dim=1)
    for j in range(net.config.n_columns):
        moved = x.clone()
        moved[:, index.feature_column == j] += 1.5
        out = torch.cat(net.split(base, vae.context(moved, m)), dim=1)
        assert torch.allclose(out[:, out_col <= j], reference[:, out_col <= j])
        if j < net.config.n_columns - 1:
            assert not torch.allclose(out[:, out_col > j], reference[:, out_col > j])
