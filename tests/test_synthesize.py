import numpy as np
import pandas as pd
import pytest
import torch

import tabae
from tabae.metrics import column_shapes
from tests.conftest import FAST


@pytest.fixture(scope="module")
def vae(mixed_holes):
    return tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 60}).fit(mixed_holes)


def test_schema_dtypes_missingness_and_ranges(vae, mixed_holes):
    syn = vae.sample(3000, random_state=1)
    assert list(syn.columns) == list(mixed_holes.columns)
    assert (syn.dtypes == mixed_holes.dtypes).all()
    assert syn.index.equals(pd.RangeIndex(3000))
    rates = syn.isna().mean()
    assert ((rates > 0.05) & (rates < 0.3)).all()  # trained with 15% holes everywhere
    assert syn["x"].min() >= mixed_holes["x"].min() and syn["x"].max() <= mixed_holes["x"].max()
    assert set(syn["group"].dropna().unique()) <= {"a", "b", "c"}


def test_quality_floor(vae, mixed_holes):
    syn = vae.sample(2000, random_state=2)
    shapes = column_shapes(mixed_holes, syn)["score"]
    assert shapes.mean() > 0.85, shapes
    # the x-y relation survives: a model that samples columns independently fails this
    assert syn[["x", "y"]].corr().iloc[0, 1] > 0.8


def test_reproducible_and_streams(vae):
    pd.testing.assert_frame_equal(vae.sample(100, random_state=5), vae.sample(100, random_state=5))
    chunks = list(vae.iter_samples(250, chunk_size=100, random_state=0))
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert pd.concat(chunks).index.equals(pd.RangeIndex(250))


def test_chunking_never_changes_the_rows(vae):
    """Row i of a sample depends on the seed and i alone: chunks, streams and prefixes agree."""
    whole = vae.sample(300, random_state=1)
    pd.testing.assert_frame_equal(pd.concat(vae.iter_samples(300, chunk_size=100, random_state=1)), whole)
    pd.testing.assert_frame_equal(vae.sample(100, random_state=1), whole.iloc[:100])
    conditions = {"group": "c"}
    whole = vae.sample(120, random_state=2, conditions=conditions)
    chunks = vae.iter_samples(120, chunk_size=50, random_state=2, conditions=conditions)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


def test_conditions(vae):
    syn = vae.sample(300, random_state=0, conditions={"group": "c", "x": (5.0, 8.0)})
    assert len(syn) == 300 and (syn["group"] == "c").all() and syn["x"].between(5.0, 8.0).all()
    syn = vae.sample(40, random_state=0, conditions={"x": [5.0, 8.0]})  # a list works as a range
    assert syn["x"].between(5.0, 8.0).all()
    syn = vae.sample(50, random_state=0, conditions={"label": ["high"], "y": None})
    assert (syn["label"] == "high").all() and syn["y"].isna().all()


def test_conditional_rows_follow_the_model_given_the_condition(vae):
    """A conditional sample is the model's own distribution given the condition: the same
    as its unconditional rows that happen to meet it (the decoder's restricted draws are
    corrected by rejection, not taken as they are)."""
    given = vae.sample(1500, random_state=3, conditions={"group": "c"})
    filtered = vae.sample(12000, random_state=4)
    filtered = filtered[filtered["group"] == "c"]
    for column in ("label", "flag"):
        a = given[column].value_counts(normalize=True, dropna=False)
        b = filtered[column].value_counts(normalize=True, dropna=False)
        tv = 0.5 * a.sub(b, fill_value=0).abs().sum()
        assert tv < 0.06, (column, a.to_dict(), b.to_dict())
    assert abs(given["x"].mean() - filtered["x"].mean()) < 0.25


def _count_draws(monkeypatch) -> list:
    """The sizes of the candidate batches the sampler draws from now on."""
    from tabae import synthesize

    drawn = []
    original = synthesize._Sampler.draw

    def counting(self, keys, *args, **kwargs):
        drawn.append(len(keys))
        return original(self, keys, *args, **kwargs)

    monkeypatch.setattr(synthesize._Sampler, "draw", counting)
    return drawn


def test_rare_level_needs_few_draws(monkeypatch):
    """A level of 1% that nothing predicts is drawn directly by the decoder: far fewer
    candidate rows than plain rejection's 100 per row kept."""
    import numpy as np

    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame({"a": rng.normal(size=n), "tag": np.where(rng.random(n) < 0.01, "rare", "common"),
                       "b": rng.normal(size=n)})
    model = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 20}).fit(df)
    drawn = _count_draws(monkeypatch)
    syn = model.sample(300, random_state=0, conditions={"tag": "rare"})
    assert (syn["tag"] == "rare").all() and len(syn) == 300
    assert sum(drawn) < 300 * 100 / 2, drawn  # plain rejection needs ~30,000


def test_levels_without_a_slot_are_drawn_directly(monkeypatch):
    """Beyond 200 levels the rarest share one slot and are told apart when decoding: a
    condition on one of them restricts that step too, instead of rejecting the others."""
    import numpy as np

    rng = np.random.default_rng(1)
    n = 6000
    tag = np.where(rng.random(n) < 0.3, "b", "a").astype(object)
    tag[:480] = [f"L{i % 240}" for i in range(480)]  # 240 levels of 2 rows: 40 get no slot
    df = pd.DataFrame({"x": rng.normal(size=n), "tag": tag})
    model = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 5}).fit(df)
    rare = model.encoder_.encoders_[1].rare_
    assert len(rare) >= 10
    drawn = _count_draws(monkeypatch)
    syn = model.sample(200, random_state=0, conditions={"tag": rare[3]})
    assert (syn["tag"] == rare[3]).all() and sum(drawn) < 20_000, drawn
    mixed = model.sample(300, random_state=0, conditions={"tag": ["b", rare[0], rare[5]]})
    assert set(mixed["tag"]) <= {"b", rare[0], rare[5]} and (mixed["tag"] == "b").mean() > 0.9


@pytest.mark.parametrize(
    "n, conditions, fragment",
    [
        (0, None, "n=0"),
        (2.5, None, "n=2.5"),
        (5, {"nope": 1}, "unknown column 'nope'"),
        (5, {"group": "z"}, r"\['z'\] never occurred at fit"),
        (5, {"x": (100.0, 200.0)}, "outside the training range"),
        (5, {"x": (3.0, 1.0)}, "is empty"),
        (5, "group=a", "must be a dict"),
        (5, {"x": "3"}, "not a number or a"),
        (5, {"x": [1.0, 2.0, 3.0]}, r"one value or a \(low, high\) range"),
    ],
)
def test_bad_requests(vae, n, conditions, fragment):
    with pytest.raises(tabae.TabaeError, match=fragment):
        vae.sample(n, conditions=conditions)


def test_unfitted():
    with pytest.raises(tabae.NotFittedError):
        tabae.TabularVAE().sample(5)


def test_dominant_ties_are_spread_over_their_share_of_the_code():

    rng = np.random.default_rng(0)
    n = 2000
    spike = np.where(rng.random(n) < 0.85, 0.0, rng.lognormal(3.0, 1.0, n))
    df = pd.DataFrame({"gain": spike, "age": rng.integers(18, 80, n).astype(float),
                       "kind": rng.choice(["a", "b"], n)})
    vae = tabae.TabularVAE(**{**FAST, "epochs": 1}, random_state=0).fit(df)
    ties = vae._dominant_ties
    assert ties is not None and ties.position.tolist() == [0]  # the spike only: age's ties hold < half
    assert 0.80 < float(ties.high - ties.low) < 0.90
    X, M = vae.encoder_.transform(df)
    x, m = torch.from_numpy(X), torch.from_numpy(M)
    spread = ties.spread(x, m)
    zero = df["gain"].to_numpy() == 0
    assert torch.equal(spread[~torch.from_numpy(zero)], x[~torch.from_numpy(zero)])  # other cells kept
    codes = spread[torch.from_numpy(zero), 0].numpy()
    back = vae.encoder_.encoders_[0].inverse(codes[:, None])
    assert np.all(back == 0.0) and codes.std() > 0.3  # spread, yet every code decodes to the tie
    assert tabae.TabularVAE(spread_ties=False, **{**FAST, "epochs": 1}).fit(df)._dominant_ties is None


def test_spread_ties_keep_the_spikes_share_in_samples():
    rng = np.random.default_rng(1)
    n = 3000
    x = rng.normal(size=n)
    gain = np.where(rng.random(n) < 0.9, 0.0, np.exp(2 + x))
    df = pd.DataFrame({"x": x, "gain": gain, "g": np.where(x > 0, "hi", "lo")})
    synthetic = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 30}).fit(df).sample(4000, random_state=0)
    assert abs((synthetic["gain"] > 0).mean() - 0.1) < 0.04
    assert (synthetic["gain"] >= 0).all()


def test_generated_categories_are_calibrated_to_the_training_shares():
    rng = np.random.default_rng(2)
    n = 3000
    x = rng.normal(size=n)
    level = rng.choice(["common", "middle", "rare", "rarer"], n, p=[0.7, 0.2, 0.07, 0.03])
    df = pd.DataFrame({"x": x + (level == "rare"), "level": level, "flag": rng.random(n) < 0.15,
                       "y": np.where(rng.random(n) < 0.3, np.nan, x * 2 + rng.normal(size=n))})
    vae = tabae.TabularVAE(random_state=0, **{**FAST, "epochs": 10}).fit(df)
    assert vae.sample_bias_.shape == (vae.encoder_.n_features_ + vae.encoder_.n_columns_,)

    def share_error(model):
        s = model.sample(6000, random_state=1)
        real = df["level"].value_counts(normalize=True)
        fake = s["level"].value_counts(normalize=True).reindex(real.index).fillna(0)
        holes = abs(float(s["y"].isna().mean()) - float(df["y"].isna().mean()))
        return float((real - fake).abs().sum()) + abs(float(s["flag"].mean()) - 0.15) + holes

    calibrated = share_error(vae)
    bias = vae.sample_bias_
    vae.sample_bias_ = None  # a file from before the calibration: samples without offsets
    uncalibrated = share_error(vae)
    vae.sample_bias_ = bias
    assert calibrated < 0.05 and calibrated <= uncalibrated + 0.01
    holed = df.mask(rng.random(df.shape) < 0.1)
    filled = vae.impute_draws(holed, n_draws=1, random_state=0)[0]  # imputation never uses the offsets
    vae.sample_bias_ = None
    pd.testing.assert_frame_equal(vae.impute_draws(holed, n_draws=1, random_state=0)[0], filled)
