"""Small parts of the networks: row-position-free linear maps, the epoch budget, the mode guard."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.models.blending import _beats_mode
from tabae.nn.linear import Linear, linear, times_transposed
from tabae.nn.training import auto_epochs, effective_batch_size


# Shapes that an AVX-512 MKL build computed position-dependently with F.linear (10 -> 8,
# 8 -> 9: a narrow table's first layer, a small head), and a few ordinary ones.
@pytest.mark.parametrize("n_in, n_out", [(10, 8), (8, 9), (5, 4), (13, 3), (64, 16), (300, 256)])
def test_linear_rows_do_not_depend_on_their_position(n_in, n_out):
    torch.manual_seed(0)
    layer = Linear(n_in, n_out)
    x = torch.randn(512, n_in)
    perm = torch.randperm(512)
    with torch.no_grad():
        out = layer(x)
        assert torch.equal(out[perm], layer(x[perm]))
        torch.testing.assert_close(out, torch.nn.functional.linear(x, layer.weight, layer.bias))
        torch.testing.assert_close(times_transposed(x, layer.weight), x @ layer.weight.T)
        assert torch.equal(times_transposed(x, layer.weight)[perm], times_transposed(x[perm], layer.weight))


def test_linear_keeps_leading_dimensions_and_saved_names():
    layer = Linear(6, 3)
    assert set(layer.state_dict()) == {"weight", "bias"}
    x = torch.randn(4, 5, 6)
    torch.testing.assert_close(linear(x, layer.weight, layer.bias), torch.nn.functional.linear(x, layer.weight, layer.bias))
    assert linear(x, layer.weight).shape == (4, 5, 3)


def test_epochs_auto_counts_the_steps_training_takes():
    # 2,000 rows: 1,800 train after the 10% split, batches of 225 (8 steps an epoch)
    assert effective_batch_size(1800, 512) == 225
    assert auto_epochs(2000, 512, 1500, 0.1) == math.ceil(1500 / 8)
    assert auto_epochs(2000, 512, 1500) == math.ceil(1500 / 4)  # the old count, kept for the imputer
    assert auto_epochs(40, 512, 1500, 0.1) == 750  # no validation split under 50 rows; batches of 32
    assert auto_epochs(10, 512, 1500, 0.1) == 1000  # capped
    model = tabae.DenoisingAE()
    assert model.planned_epochs(2000) == 188
    assert tabae.DenoisingAE(epochs=7).planned_epochs(2000) == 7
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    fitted = tabae.Autoencoder(hidden_dims=(8,), latent_dim=2, random_state=0, verbose=False, patience=10**6).fit(df)
    assert len(fitted.history_) == fitted.planned_epochs(300) == fitted.epochs_


def test_the_blend_must_beat_the_mode_by_more_than_chance():
    truth = torch.tensor([0] * 90 + [1] * 10)
    mode = torch.tensor(0)
    lucky = truth.clone()
    lucky[90:94] = 0  # right on 6 of the 10 minority cells ...
    lucky[:5] = 1  # ... and wrong on 5 majority cells: 6 wins, 5 losses
    distinct = torch.arange(100)  # every held-out cell a different row
    assert not _beats_mode(lucky, mode, truth, distinct)
    better = truth.clone()
    better[:1] = 1  # 10 wins, 1 loss
    assert _beats_mode(better, mode, truth, distinct)
    assert not _beats_mode(torch.zeros(100, dtype=torch.long), mode, truth, distinct)  # the mode itself
    # Copies of one held-out cell (its row repeated with other holes) are one vote: the
    # lucky guesser's 6 wins and 5 losses, each seen 10 times, are no more convincing.
    repeated = torch.arange(100).repeat(10)
    assert not _beats_mode(lucky.repeat(10), mode, truth.repeat(10), repeated)
    assert _beats_mode(better.repeat(10), mode, truth.repeat(10), repeated)


def test_the_classifiers_fit_within_a_budget():
    from tabae.nn.classifier import MAX_ROWS, affordable_rows

    assert affordable_rows(110, 6, 101) == MAX_ROWS  # adult: every row it may take
    assert affordable_rows(5000, 0, 5000) < 100  # thousands of features and levels: the blend goes without
