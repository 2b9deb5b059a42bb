import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.nn.neighbours import fit_stacking_weights, nearest_rows, neighbour_frequencies, neighbour_means
from tests.conftest import FAST


def test_stacking_weights_pick_the_better_predictor():
    rng = np.random.default_rng(0)
    target = torch.tensor(rng.normal(size=(500, 2)))
    noise = torch.tensor(rng.normal(size=(500, 2)))
    hidden = torch.ones(500, 2, dtype=torch.bool)
    good, bad = target, target + noise
    w = fit_stacking_weights(torch.stack([torch.stack([good[:, 0], bad[:, 1]], 1),
                                          torch.stack([bad[:, 0], good[:, 1]], 1)]), target, hidden)
    np.testing.assert_allclose(w.numpy(), [[1.0, 0.0], [0.0, 1.0]], atol=1e-9)
    # Two equally noisy, independent predictors: about half and half.
    w = fit_stacking_weights(torch.stack([target + noise, target + torch.tensor(rng.normal(size=(500, 2)))]),
                             target, hidden)
    assert ((w > 0.35) & (w < 0.65)).all()
    # Three predictors, one useless: convex weights, the useless one ~0.
    junk = torch.tensor(rng.normal(size=(500, 2))) * 5
    w = fit_stacking_weights(torch.stack([target + noise, junk, target + noise.flip(0)]), target, hidden)
    assert (w >= 0).all() and torch.allclose(w.sum(1), torch.ones(2, dtype=w.dtype))
    assert (w[:, 1] < 0.05).all()
    # A column with no hidden cell keeps the first predictor (the network).
    w = fit_stacking_weights(torch.stack([bad, good]), target, torch.zeros_like(hidden))
    assert w.tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_neighbour_means_use_only_observed_values_of_the_nearest_rows():
    bank = torch.tensor([[0.0], [0.1], [10.0]])
    values = torch.tensor([[1.0, 5.0], [3.0, 7.0], [100.0, 100.0]])
    observed = torch.tensor([[True, True], [True, False], [True, True]])
    query = torch.tensor([[0.05], [9.0]])
    visible = torch.ones_like(query)
    means, found = neighbour_means(nearest_rows(query, visible, bank, k=2), values, observed)
    np.testing.assert_allclose(means[0].numpy(), [2.0, 5.0], rtol=1e-5)  # equidistant; row 1 lacks col 2
    assert found.all()
    assert means[1, 0] > 50  # the near row dominates the inverse-distance weights
    _, found = neighbour_means(nearest_rows(query, visible, bank, k=2), values, torch.zeros_like(observed))
    assert not found.any()
    # A row with nothing visible has no neighbours (every bank row is equally far).
    _, found = neighbour_means(nearest_rows(query, torch.zeros_like(query), bank, k=2), values, observed)
    assert not found.any()
    # Only the query's visible cells count: the hidden second cell would pick row 2.
    bank2 = torch.tensor([[0.0, 50.0], [5.0, 0.0], [9.0, 0.0]])
    means, _ = neighbour_means(nearest_rows(torch.tensor([[0.2, 0.0]]), torch.tensor([[1.0, 0.0]]), bank2, k=1),
                               values, observed)
    assert means[0, 0] == 1.0


def test_neighbour_frequencies_vote_by_distance_among_observed_categories():
    bank = torch.tensor([[0.0], [0.1], [10.0]])
    onehot = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]]])  # row 2's category is missing
    freq = neighbour_frequencies(nearest_rows(torch.tensor([[0.0]]), torch.ones(1, 1), bank, k=3), onehot)
    assert freq.shape == (1, 1, 3) and abs(float(freq.sum()) - 1.0) < 1e-6
    assert freq[0, 0, 0] > freq[0, 0, 1] > 0 and freq[0, 0, 2] == 0  # nearer votes weigh more; missing never votes


def _clusters(n=1200, seed=0):
    """Rows from 12 tight clusters in 6 dimensions: a neighbour's value beats any
    smooth function of the visible cells."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 16, size=(12, 6)).astype(float)
    rows = centres[rng.integers(0, 12, n)] + rng.normal(0, 0.3, size=(n, 6))
    return pd.DataFrame(rows, columns=[f"f{j}" for j in range(6)])


def test_neighbour_blend_helps_on_clustered_rows():
    full = _clusters()
    hide = np.random.default_rng(1).random(full.shape) < 0.2
    holes = full.mask(hide)
    errors = {}
    for k in (0, 10):
        model = tabae.DenoisingAE(neighbour_blend=k, numeric_encoding="standard", numeric_loss="mse",
                                  random_state=0, **{**FAST, "epochs": 30}).fit(holes)
        filled = model.impute(holes)
        errors[k] = float(np.sqrt(((filled.to_numpy() - full.to_numpy())[hide] ** 2).mean()))
        pd.testing.assert_frame_equal(filled.mask(hide), holes)  # observed cells untouched
    assert model.blend_.config.n_bank == int(round(0.9 * len(full)))  # training rows, not validation
    assert (model.blend_.weights[:, -1] > 0.3).all()
    assert errors[10] < 0.8 * errors[0], errors


def test_neighbour_blend_saves_and_loads(tmp_path):
    holes = _clusters(300).mask(np.random.default_rng(2).random((300, 6)) < 0.2)
    model = tabae.DenoisingAE(neighbour_blend=5, random_state=0, **{**FAST, "epochs": 3}).fit(holes)
    model.save(tmp_path / "m.tabae")
    loaded = tabae.load(tmp_path / "m.tabae")
    pd.testing.assert_frame_equal(model.impute(holes), loaded.impute(holes))


@pytest.mark.parametrize("k", [-1, 2.5, True])
def test_neighbour_blend_rejects_bad_k(mixed_holes, k):
    with pytest.raises(tabae.TabaeError, match="neighbour_blend="):
        tabae.DenoisingAE(neighbour_blend=k, numeric_encoding="standard", **FAST).fit(mixed_holes)


def test_neighbour_blend_needs_a_one_value_numeric_code(mixed_holes):
    with pytest.raises(tabae.TabaeError, match="neighbour_blend"):
        tabae.DenoisingAE(neighbour_blend=5, numeric_encoding="mode", **FAST).fit(mixed_holes)


def test_rows_whose_holes_ignore_the_neighbours_skip_the_search_and_fill_the_same(mixed_holes, monkeypatch):
    from tabae.models.blending import ImputationBlend

    model = tabae.DenoisingAE(neighbour_blend=5, numeric_encoding="standard", random_state=0,
                              **{**FAST, "epochs": 3}).fit(mixed_holes)
    blend = model.blend_
    assert blend.config.n_bank and blend.config.n_blend and blend.config.cat_spans
    # Half the blended columns without the neighbours, as fitted blends often have.
    blend.weights[::2] = torch.tensor([1.0] + [0.0] * (blend.weights.shape[1] - 1))
    blend.cat_weights[::2] = torch.tensor([1.0] + [0.0] * (blend.cat_weights.shape[1] - 1))
    x, m = model._encode_frame(mixed_holes)
    needing = blend._rows_needing_neighbours(model, m)
    has_holes = (~m).any(1)
    assert 0 < int(needing.sum()) < int(has_holes.sum())  # some rows with holes skip the search
    skipped = model.impute(mixed_holes)
    monkeypatch.setattr(ImputationBlend, "_rows_needing_neighbours", lambda self, model, m_in: None)
    pd.testing.assert_frame_equal(skipped, model.impute(mixed_holes))


def test_columns_whose_forest_or_neighbour_votes_have_no_weight_skip_them_and_fill_the_same(mixed_holes,
                                                                                          monkeypatch):
    from tabae.models.blending import ImputationBlend
    from tabae.nn import forest, neighbours

    model = tabae.DenoisingAE(neighbour_blend=5, numeric_encoding="standard", random_state=0,
                              **{**FAST, "epochs": 3}).fit(mixed_holes)
    blend = model.blend_
    assert blend.config.forest and blend.config.forest_trees and len(blend.config.cat_spans) >= 2
    q = blend._forest_candidate()
    # The first column leans on its forest, the second on the neighbours' votes, any
    # others on neither.
    blend.cat_weights[:] = 0.0
    blend.cat_weights[:, 0] = 0.5
    blend.cat_weights[0, q] = 0.5
    blend.cat_weights[1, 2] = 0.5
    blend.cat_weights[2:, 1] = 0.5
    walked, counted = [], []
    real_walk, real_count = forest.forest_probabilities, neighbours.neighbour_frequencies
    monkeypatch.setattr("tabae.models.blending.forest_probabilities",
                        lambda *a, wanted=None, **k: walked.append(wanted.clone()) or real_walk(*a, wanted=wanted, **k))
    monkeypatch.setattr("tabae.models.blending.neighbour_frequencies",
                        lambda near, onehot: counted.append(onehot.shape[1]) or real_count(near, onehot))
    skipped = model.impute(mixed_holes)
    assert walked and not bool(torch.cat([w[:, 1:] for w in walked]).any())  # only the first column is walked
    assert counted and set(counted) == {1}  # only the second column's votes are counted
    monkeypatch.setattr(ImputationBlend, "_weighed_spans", lambda self: (None, None))  # every span's work done
    counted.clear()
    pd.testing.assert_frame_equal(skipped, model.impute(mixed_holes))
    assert set(counted) == {len(blend.config.cat_spans)}


def test_category_candidates_read_the_blended_numbers(mixed_holes):
    """The classifier and forest see a row's missing numbers as the imputation fills them
    (the numeric blend), not as the network alone guesses them."""
    model = tabae.DenoisingAE(neighbour_blend=5, gaussian_blend=True, numeric_encoding="standard", random_state=0,
                              **{**FAST, "epochs": 3}).fit(mixed_holes)
    blend, index = model.blend_, model.span_index_
    assert blend.config.n_blend and blend.config.forest
    x, m = model._encode_frame(mixed_holes)
    mean = model.heads(x, m)[0]
    blended = blend.blend(model, x, m, mean)[:, index.gauss_pos]
    completed = blend._completed_rows(model, x, m)[:, index.gauss_pos]
    hidden = ~m[:, index.gauss_col]
    assert bool(hidden.any())
    torch.testing.assert_close(completed[hidden], blended[hidden])
    torch.testing.assert_close(completed[~hidden], x[:, index.gauss_pos][~hidden])
    assert not torch.allclose(completed[hidden], mean[:, index.gauss_pos][hidden])  # not the network's own guess


def test_category_weights_follow_the_evidence():
    """Weak evidence keeps every plausible candidate; strong evidence narrows to the best;
    a validation cell repeated under several hiding patterns counts once."""
    from tabae.models.blending import _MIN_WEIGHT, _posterior_weights, _simplex_grid

    grid = _simplex_grid(3)
    # Candidate 0 gives the true level probability .8, candidate 1 .3, candidate 2 .5.
    probs = torch.tensor([0.8, 0.3, 0.5], dtype=torch.float64)

    def weights(n_cells, copies=1):
        right = probs[:, None].expand(3, n_cells * copies)
        source = torch.arange(n_cells).repeat(copies)
        return _posterior_weights(grid, right, source)

    few, many = weights(3), weights(2000)
    for w in (few, many):
        assert torch.all(w >= 0) and float(w.sum()) == pytest.approx(1.0)
        assert torch.all((w == 0) | (w >= _MIN_WEIGHT))
    assert float(many[0]) > 0.95  # narrowed to the best candidate
    assert float(few[0]) < 0.8 and float(few[1]) > 0  # a few cells rule nothing out
    assert float(few[0]) == max(few.tolist())
    torch.testing.assert_close(weights(3, copies=8), few)  # repeats are not evidence
