"""Small parts of the networks: row-position-free linear maps, the epoch budget, the
optimiser, the loss's shortcuts, the mode guard, inference blocks on threads."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.encoding.table import TableEncoder
from tabae.models.blending import _beats_mode
from tabae.nn.blocks import INFER_BATCH, map_blocks
from tabae.nn.linear import Linear, linear, times_transposed
from tabae.nn.losses import CategoryGroups, SpanIndex, cell_nll
from tabae.nn.training import FusedAdamW, TorchAdamW, _rate_factor, adamw, auto_epochs, effective_batch_size
from tabae.threads import torch_threads
from tests.conftest import FAST


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


def _train_steps(make_optimizer, schedule_steps=30):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(7, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3))
    optimizer = make_optimizer(list(net.parameters()))
    x, y = torch.randn(64, 7), torch.randn(64, 3)
    for step in range(schedule_steps):
        optimizer.zero_grad(set_to_none=True)
        ((net(x) - y) ** 2).mean().backward()
        optimizer.step(4e-3 * _rate_factor("cosine", step, schedule_steps))
    return [p.detach().clone() for p in net.parameters()]


def test_the_fused_adamw_call_updates_exactly_as_torch_adamw():
    # The same kernel as torch.optim.AdamW(fused=True), called without its wrappers:
    # the weights must agree bit for bit, or refits would drift from earlier versions.
    class TorchFused(TorchAdamW):
        def __init__(self, params, learning_rate, weight_decay):
            self.optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay, fused=True)

    ours = _train_steps(lambda ps: adamw(ps, 4e-3, 1e-5))
    theirs = _train_steps(lambda ps: TorchFused(ps, 4e-3, 1e-5))
    assert isinstance(adamw([torch.zeros(2, requires_grad=True)], 1e-3, 0.0), FusedAdamW)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))
    # and the unfused fallback trains to nearly the same weights
    plain = _train_steps(lambda ps: TorchAdamW(ps, 4e-3, 1e-5))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(ours, plain, strict=True))


def test_the_all_numeric_shortcut_gives_the_general_loss_exactly():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, 4)), columns=list("abcd")).mask(rng.random((50, 4)) < 0.2)
    encoder = TableEncoder(numeric="standard").fit(df)
    index = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_)
    assert index.one_per_column and index.all_gauss
    general = SpanIndex(**{**index.__dict__, "one_per_column": False, "all_gauss": False})
    x, m = (torch.as_tensor(a) for a in encoder.transform(df))
    mean = torch.randn(x.shape, requires_grad=True)
    raw = torch.randn(x.shape, requires_grad=True)
    for loss in ("gaussian", "mse"):
        fast, slow = cell_nll(mean, raw, x, m, index, loss), cell_nll(mean, raw, x, m, general, loss)
        assert torch.equal(fast, slow)
        g_fast = torch.autograd.grad(fast.sum(), (mean, raw), allow_unused=True)
        g_slow = torch.autograd.grad(slow.sum(), (mean, raw), allow_unused=True)
        assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(g_fast, g_slow, strict=True))
    assert torch.equal(index.per_feature(m), m[:, index.feature_column])
    mixed = pd.DataFrame({"a": [1.0, 2.0, None] * 10, "b": ["x", "y", "x"] * 10})
    enc = TableEncoder(numeric="standard").fit(mixed)
    assert not SpanIndex.from_spans(enc.spans_, enc.n_features_, enc.n_columns_).all_gauss


def test_grouped_categories_score_as_the_padded_layout():
    # Spans of 2, 3, 5, 9 and 40 levels: the padded layout pads all to 40, the groups
    # to their own widest; a missing cell (all-zero span) scores 0 either way.
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"c{w}": pd.Series(rng.integers(0, w, 300).astype(str)).astype("category")
                       for w in (2, 3, 5, 9, 40)})
    df["num"] = rng.normal(size=300)
    df = df.mask(rng.random(df.shape) < 0.2)
    encoder = TableEncoder().fit(df)
    index = SpanIndex.from_spans(encoder.spans_, encoder.n_features_, encoder.n_columns_)
    groups = CategoryGroups.from_index(index)
    assert sum(len(columns) for columns, _, _ in groups.groups) == 5
    assert sum(positions.numel() for _, positions, _ in groups.groups) < index.cat_pos.numel() / 2  # far less padding
    x, m = (torch.as_tensor(a) for a in encoder.transform(df))
    noise = torch.Generator().manual_seed(0)
    mean, raw = 3 * torch.randn(x.shape, generator=noise), torch.randn(len(x), index.n_gauss, generator=noise)
    padded, grouped = cell_nll(mean, raw, x, m, index), cell_nll(mean, raw, x, m, index, groups=groups)
    torch.testing.assert_close(grouped, padded, rtol=1e-6, atol=1e-5)
    categorical = m[:, :5]  # a categorical cell's NLL is not negative (a Gaussian's can be)
    assert bool((grouped[~m] == 0).all()) and bool((grouped[:, :5][categorical] >= 0).all())


def test_blocks_on_threads_give_the_one_thread_values_in_order():
    x = torch.randn(5 * INFER_BATCH + 7, 30)
    weight = torch.randn(30, 20)

    def block(k, xb, position):  # a reduction whose order torch may split by thread
        return torch.stack([position[:k].float(), (xb @ weight).logsumexp(1)[:k]], 1)

    rows = torch.arange(len(x))
    with torch_threads(1):
        alone = torch.cat(map_blocks(block, x, rows))
    with torch_threads(2):
        shared = torch.cat(map_blocks(block, x, rows))
    assert torch.equal(alone, shared) and torch.equal(alone[:, 0], rows.float())
    with torch_threads(2):
        map_blocks(block, x, rows)
        assert torch.get_num_threads() == 2  # the caller's setting is back after the blocks


def test_models_give_the_same_values_with_one_thread_or_two(mixed_holes):
    model = tabae.TabularVAE(**{**FAST, "epochs": 4}, random_state=0).fit(mixed_holes)
    dae = tabae.DenoisingAE(**{**FAST, "epochs": 4}, random_state=0).fit(mixed_holes)
    big = pd.concat([mixed_holes] * 2, ignore_index=True)  # several blocks
    one, two = {}, {}
    for n_jobs, out in ((1, one), (2, two)):
        model.set_params(n_jobs=n_jobs)
        dae.set_params(n_jobs=n_jobs)
        out["score"] = model.decision_function(big, per_column=True)
        out["masked"] = dae.decision_function(big, method="masked")
        out["impute"] = model.impute(big)
        out["draws"] = model.impute_draws(big, n_draws=2, random_state=1)
        out["encode"] = model.encode(big)
        out["sample"] = model.sample(1200, random_state=2)
    for key in one:
        a, b = one[key], two[key]
        if isinstance(a, list):
            assert all(p.equals(q) for p, q in zip(a, b, strict=True)), key
        elif isinstance(a, (pd.DataFrame, pd.Series)):
            assert a.equals(b), key
        else:
            assert np.array_equal(a, b), key
