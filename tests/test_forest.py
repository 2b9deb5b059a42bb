"""The per-column random forests of the imputation blend (tabae/nn/forest.py)."""

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import RandomForestClassifier

import tabae
from tabae.nn.forest import MAX_LEAVES, MAX_VALUES, N_TREES, fit_column_forests, forest_probabilities, leaf_budget

FAST = dict(epochs=40, verbose=False)


def _table(rng, n=400):
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y0 = (x[:, 0] > 0.3).astype(np.int64) + (x[:, 1] > 0).astype(np.int64)  # three classes
    y1 = (x[:, 2] * x[:, 3] > 0).astype(np.int64)  # an interaction
    return torch.from_numpy(x), torch.from_numpy(np.stack([y0, y1], axis=1))


def _probabilities(features, packed, valid):
    return forest_probabilities(features, packed["feature"], packed["threshold"], packed["children"],
                                packed["leaf_start"], packed["value"], packed["roots"], packed["depth"], valid)


def test_packed_forests_predict_what_scikit_learn_predicts():
    rng = np.random.default_rng(0)
    x, y = _table(rng)
    observed = torch.ones_like(y, dtype=torch.bool)
    observed[:50, 1] = False  # column 1 unknown on some rows: they are left out of its forest
    keep = torch.tensor([[False, True, True, True], [True, True, False, True]])  # never its own feature
    valid = torch.tensor([[True, True, True], [True, True, False]])
    packed = fit_column_forests(x, y, observed, keep, valid, seed=5)
    probs = _probabilities(x, packed, valid)
    assert probs.shape == (len(x), 2, 3)
    for p, rows in ((0, np.arange(len(x))), (1, np.arange(50, len(x)))):
        columns = np.flatnonzero(keep[p].numpy())
        reference = RandomForestClassifier(n_estimators=N_TREES, max_features="sqrt", max_leaf_nodes=MAX_LEAVES,
                                           random_state=5 + p, n_jobs=1)
        reference.fit(x.numpy()[rows][:, columns], y.numpy()[rows, p])
        expected = reference.predict_proba(x.numpy()[:, columns])
        np.testing.assert_allclose(probs[:, p, : expected.shape[1]].numpy(), expected, atol=1e-6)
    assert torch.all(probs[:, 1, 2] == 0)  # a padding slot gets nothing


def test_a_rows_forest_probabilities_do_not_depend_on_the_other_rows():
    rng = np.random.default_rng(1)
    x, y = _table(rng, n=300)
    valid = torch.ones(2, 3, dtype=torch.bool)
    packed = fit_column_forests(x, y, torch.ones_like(y, dtype=torch.bool), torch.ones(2, 4, dtype=torch.bool),
                                valid, seed=0)
    whole = _probabilities(x, packed, valid)
    perm = torch.from_numpy(rng.permutation(len(x)))
    assert torch.equal(_probabilities(x[perm], packed, valid), whole[perm])
    assert torch.equal(_probabilities(x[:7], packed, valid), whole[:7])


def test_a_column_with_one_class_gets_its_frequencies():
    x = torch.randn(40, 3)
    y = torch.zeros(40, 1, dtype=torch.long)
    valid = torch.ones(1, 2, dtype=torch.bool)
    packed = fit_column_forests(x, y, torch.ones(40, 1, dtype=torch.bool), torch.ones(1, 3, dtype=torch.bool),
                                valid, seed=0)
    probs = _probabilities(x, packed, valid)
    assert torch.all(probs[:, 0, 0] > probs[:, 0, 1])
    assert torch.allclose(probs.sum(-1), torch.ones(40, 1))


def test_a_category_that_is_an_interaction_is_filled_by_the_forest(tmp_path):
    """``sex`` is "large for its species" (as hawks' is): no single column tells it, a
    threshold per species does. The blend's forest finds it; the saved model, read back,
    fills the same values."""
    rng = np.random.default_rng(0)
    n = 800
    species = rng.choice(["RT", "CH", "SS"], size=n)
    centre = pd.Series(species).map({"RT": 380.0, "CH": 240.0, "SS": 180.0}).to_numpy()
    female = rng.random(n) < 0.5
    wing = centre + np.where(female, 15.0, -15.0) + rng.normal(0, 5, size=n)
    df = pd.DataFrame({"species": species, "wing": wing.round(1),
                       "tail": (0.5 * wing + rng.normal(0, 8, size=n)).round(1),
                       "sex": np.where(female, "F", "M")})
    holes = df.copy()
    hidden = rng.random(n) < 0.25
    holes.loc[hidden, "sex"] = np.nan
    model = tabae.DenoisingAE(random_state=0, **FAST).fit(holes)
    assert model.blend_.config.forest and model.blend_.config.forest_trees == N_TREES
    filled = model.impute(holes)
    accuracy = (filled.loc[hidden, "sex"] == df.loc[hidden, "sex"]).mean()
    assert accuracy > 0.9, accuracy
    model.save(tmp_path / "m.tabae")
    loaded = tabae.load(tmp_path / "m.tabae")
    pd.testing.assert_frame_equal(loaded.impute(holes), filled, check_exact=True)


def test_many_levels_get_smaller_trees_not_a_huge_model_file():
    assert leaf_budget([3, 2, 9]) == MAX_LEAVES
    assert leaf_budget([40] * 20) == MAX_VALUES // (N_TREES * 800)  # 156 leaves a tree
    assert leaf_budget([200] * 50) == 16  # never fewer: a forest of stumps would be noise
