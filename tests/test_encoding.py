import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tabae
from tabae import TableEncoder, TabaeWarning


def assert_round_trip(df: pd.DataFrame, **params) -> None:
    enc = TableEncoder(**params).fit(df)
    X, M = enc.transform(df)
    assert X.dtype == np.float32 and M.dtype == bool and X.shape == (len(df), enc.n_features_)
    back = enc.inverse_transform(X, M, index=df.index)
    assert list(back.columns) == list(df.columns)
    assert back.index.equals(df.index)
    for col in df.columns:
        assert back[col].dtype == df[col].dtype, col
        assert back[col].isna().equals(df[col].isna()), col
        seen = df[col].notna()
        # Exact, except float columns whose decimals the float32 model space cannot
        # carry (checked at fit): those come back to float32 precision.
        exact = enc.decimals_.get(col, 0) is not None
        pd.testing.assert_series_equal(back[col][seen], df[col][seen], check_dtype=True, check_exact=exact, rtol=1e-5)


@st.composite
def mixed_frames(draw):
    n = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    decimals = draw(st.integers(0, 4))
    cols = {
        "float": np.round(rng.normal(draw(st.floats(-1e4, 1e4)), draw(st.floats(0.01, 1e3)), n), decimals),
        "int": rng.integers(-1000, 1000, n),
        "nint": pd.array(rng.integers(0, 50, n), dtype="Int64"),
        "text": pd.Series(rng.choice(["red", "green", "blue", "n/a", ""], n), dtype="string"),
        "cat": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"]),
        "flag": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "when": pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")),
    }
    df = pd.DataFrame(cols)
    rate = draw(st.floats(0, 0.5))
    for col in ["float", "nint", "text", "cat", "flag", "when"]:
        hide = rng.random(n) < rate
        hide[0] = False  # keep at least one observed value per column
        df.loc[hide, col] = None
    return df


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_frames(), st.sampled_from(["quantile", "standard"]))
def test_round_trip_property(df, numeric):
    assert_round_trip(df, numeric=numeric)


def test_round_trip_adult_with_holes_exact():
    df = tabae.datasets.load_adult()
    holes = df.mask(np.random.default_rng(0).random(df.shape) < 0.1)  # ints become floats
    enc = TableEncoder().fit(holes)
    assert all(d == 0 for d in enc.decimals_.values())  # every numeric column claims exactness
    assert_round_trip(holes)


def test_precision_beyond_float32_is_not_claimed():
    df = pd.DataFrame({"v": [400.3280, -713.7844, 601.7993, 1.0001, -1000.0]})
    assert TableEncoder(numeric="quantile").fit(df.iloc[:4]).decimals_["v"] == 4
    wide = pd.DataFrame({"v": np.linspace(-1e6, 1e6, 50).round(4) + 0.0001})
    assert TableEncoder().fit(wide).decimals_["v"] is None
    assert_round_trip(wide)


def test_mode_specific_encoder_round_trip_and_layout():
    df = tabae.datasets.load_adult().head(3000)
    enc = TableEncoder(numeric="mode").fit(df)
    X, M = enc.transform(df)
    kinds = [s.kind for s in enc.spans_ if s.column == 0]
    assert kinds[0] == "gauss" and kinds[1] == "cat"  # (offset, one-hot mode)
    assert_round_trip(df, numeric="mode")


def test_index_and_constant_and_single_category_columns():
    df = pd.DataFrame({"k": [5.0] * 4, "one": ["x"] * 4, "v": [1, 2, 3, 4]}, index=[10, 3, 7, 1])
    assert_round_trip(df)


def test_values_stay_in_training_range_and_integers_are_integers():
    df = pd.DataFrame({"n": [1, 5, 9, 3], "f": [0.5, 1.5, 2.5, 3.0]})
    enc = TableEncoder().fit(df)
    out = enc.inverse_transform(np.full((2, enc.n_features_), 50.0, np.float32))
    assert out["n"].tolist() == [9, 9] and out["n"].dtype == np.int64
    assert out["f"].max() <= 3.0


def test_unseen_category_goes_to_reserved_slot_with_warning():
    enc = TableEncoder().fit(pd.DataFrame({"c": ["a", "b", "a"]}))
    with pytest.warns(TabaeWarning, match="'c': 1 categories not seen at fit"):
        X, _ = enc.transform(pd.DataFrame({"c": ["a", "zzz"]}))
    assert X[1].tolist() == [0, 0, 1]


def test_rare_categories_are_grouped_and_width_capped():
    values = ["common"] * 990 + [f"id{i}" for i in range(10)]
    df = pd.DataFrame({"c": values})
    enc = TableEncoder(min_frequency=0.005).fit(df)
    assert enc.n_features_ == 2  # "common" + the shared slot
    enc = TableEncoder(max_categories=5).fit(df)
    assert enc.n_features_ == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rare-but-seen values are not "unseen"
        enc.transform(df)


def test_state_round_trip_gives_same_encoding():
    df = tabae.datasets.load_adult().head(500)
    enc = TableEncoder().fit(df)
    again = TableEncoder.from_state(enc.get_state())
    np.testing.assert_array_equal(enc.transform(df)[0], again.transform(df)[0])


def test_transform_errors_name_the_column():
    enc = TableEncoder().fit(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    with pytest.raises(tabae.SchemaError, match="'b'"):
        enc.transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(tabae.NotFittedError):
        TableEncoder().transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(tabae.SchemaError, match="numeric="):
        TableEncoder(numeric="fancy").fit(pd.DataFrame({"a": [1.0]}))
