import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tabae
from tabae import TabaeWarning, TableEncoder
from tabae.encoding import (
    BooleanEncoder,
    ColumnEncoder,
    DatetimeEncoder,
    ModeSpecificEncoder,
    OneHotEncoder,
    QuantileNormalEncoder,
    StandardEncoder,
)


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


# ---------------------------------------------------------------------- the ColumnEncoder interface
_RNG = np.random.default_rng(3)
_NUMBERS = np.round(_RNG.lognormal(1.0, 1.0, 300), 3)
_WHEN = pd.Series(pd.Timestamp("2023-02-01 08:00", tz="Europe/Oslo") + pd.to_timedelta(_RNG.integers(0, 10**6, 300), unit="s"))
_CASES = {
    "quantile": (QuantileNormalEncoder, _NUMBERS),
    "standard": (StandardEncoder, _NUMBERS),
    "mode": (lambda: ModeSpecificEncoder(max_modes=4), _NUMBERS),
    "onehot": (lambda: OneHotEncoder(min_frequency=0.05, column="pet"),
               pd.Series(_RNG.choice(["cat", "dog", "emu", "yak"], 300, p=[0.5, 0.4, 0.07, 0.03]))),
    "boolean": (BooleanEncoder, pd.Series(_RNG.random(300) < 0.3)),
    "datetime": (lambda: DatetimeEncoder(QuantileNormalEncoder()), _WHEN),
}


def _same(a, b) -> bool:
    return bool(np.all(np.asarray(a, dtype=object) == np.asarray(b, dtype=object)))


@pytest.mark.parametrize("case", sorted(_CASES))
def test_every_column_encoder_round_trips_through_the_interface(case):
    make, values = _CASES[case]
    enc = make().fit(values)
    assert isinstance(enc, ColumnEncoder)
    block = enc.transform(values)
    assert block.dtype == np.float32 and block.shape == (len(values), enc.width)
    assert enc.width == sum(w for _, w in enc.parts) and {k for k, _ in enc.parts} <= {"gauss", "cat", "bin"}
    assert len(enc.feature_names("col")) == enc.width
    back = enc.inverse(block)
    if case in ("quantile", "standard", "mode"):
        np.testing.assert_allclose(back, values, rtol=1e-5)
    elif case == "onehot":  # rare values share a slot: the most frequent rare one comes back
        kept = values.isin(enc.kept_).to_numpy()
        assert _same(back[kept], values[kept]) and set(back[~kept]) == {enc.rare_[0]}
    else:
        assert _same(back, values)
    # The state is plain JSON and rebuilds an encoder that encodes and decodes the same.
    state = json.loads(json.dumps(enc.to_dict(), allow_nan=False))
    again = ColumnEncoder.from_dict(state)
    assert type(again) is type(enc)
    np.testing.assert_array_equal(again.transform(values), block)
    assert _same(again.inverse(block), back)
    assert again.bounds() == enc.bounds() and again.known_values() == enc.known_values()


def test_bounds_and_known_values():
    df = pd.DataFrame({
        "x": [3.5, -1.0, 8.25, np.nan], "n": [4, 9, 2, 7], "c": ["a", "b", "a", None],
        "f": [True, False, True, True], "t": pd.to_datetime(["2024-01-03", "2024-01-01", None, "2024-02-01"]).tz_localize("UTC"),
    })
    for numeric in ("quantile", "standard", "mode"):
        enc = TableEncoder(numeric=numeric).fit(df)
        assert enc.column_encoder("x").bounds() == (-1.0, 8.25)
        assert enc.column_encoder("n").bounds() == (2.0, 9.0)
        lo, hi = enc.column_encoder("t").bounds()
        assert (lo, hi) == (pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC"))
        assert str(lo.tz) == "UTC"
        assert enc.column_encoder("c").bounds() is None and enc.column_encoder("f").bounds() is None
        assert enc.column_encoder("x").known_values() is None and enc.column_encoder("t").known_values() is None
    assert sorted(enc.column_encoder("c").known_values()) == ["a", "b"]
    assert enc.column_encoder("f").known_values() == [False, True]
    rare = TableEncoder(min_frequency=0.3).fit(pd.DataFrame({"c": ["a"] * 8 + ["b", "z"]}))
    assert rare.column_encoder("c").known_values() == ["a", "b", "z"]  # kept + rare
    with pytest.raises(tabae.SchemaError, match="no column 'zz'"):
        rare.column_encoder("zz")


def test_point_estimates():
    values = np.exp(np.random.default_rng(0).normal(0, 1, 2000))  # skewed: mean > median
    q = QuantileNormalEncoder().fit(values)
    z = np.zeros((3, 1))
    median = q.point(z, None)
    np.testing.assert_array_equal(median, q.point(z, np.zeros(3)))  # no scale == zero scale, bit for bit
    np.testing.assert_allclose(median, np.median(values), rtol=1e-2)
    mean = q.point(z, np.ones(3))  # the whole column's spread: about the column's mean
    np.testing.assert_allclose(mean, values.mean(), rtol=0.05)
    s = StandardEncoder().fit(values)
    block = np.array([[0.0], [1.0]])
    np.testing.assert_array_equal(s.point(block, np.ones(2)), s.inverse(block))  # linear: scale ignored
    for case in ("mode", "onehot", "boolean", "datetime"):
        make, data = _CASES[case]
        enc = make().fit(data)
        block = enc.transform(data)[:20] + 0.1
        assert _same(enc.point(block, np.ones(20)), enc.inverse(block))


def test_decode_point_means_and_rounding():
    df = pd.DataFrame({"x": np.round(np.exp(np.random.default_rng(1).normal(0, 1, 500)), 2),
                       "n": np.random.default_rng(2).integers(0, 100, 500), "c": ["a", "b"] * 250})
    enc = TableEncoder().fit(df)
    X, _ = enc.transform(df)
    X = X.astype(np.float64)[:5]
    S = np.full((5, 2), 0.8)
    point = enc.decode_point(X, S)
    decoded = enc.inverse_transform(X)
    assert list(point.dtypes) == list(decoded.dtypes)
    assert point["c"].equals(decoded["c"])
    expected = enc.column_encoder("x").point(X[:, :1], S[:, 0])
    np.testing.assert_array_equal(point["x"], expected)  # the predictive mean, unrounded
    assert not np.array_equal(point["x"], np.round(point["x"], 2))
    np.testing.assert_array_equal(point["n"], np.round(enc.column_encoder("n").point(X[:, 1:2], S[:, 1])))
    pd.testing.assert_frame_equal(enc.decode_point(X, None), enc.decode_point(X, np.zeros((5, 2))))
    with pytest.raises(tabae.SchemaError, match="scales must have shape"):
        enc.decode_point(X, np.zeros((5, 3)))


def test_log_jacobian_per_encoder():
    values = np.random.default_rng(4).normal(10.0, 3.0, 400)
    s = StandardEncoder().fit(values)
    np.testing.assert_allclose(s.log_jacobian(values[:4]), -np.log(values.std()))
    h = 1e-3  # the slope of the code in the value, measured
    slope = (s.transform(values[:4] + h).astype(float) - s.transform(values[:4] - h).astype(float)) / (2 * h)
    np.testing.assert_allclose(np.log(slope[:, 0]), s.log_jacobian(values[:4]), atol=1e-2)
    for case in ("mode", "onehot", "boolean", "datetime"):
        make, data = _CASES[case]
        assert not make().fit(data).log_jacobian(data).any()
    df = pd.DataFrame({"v": values, "c": ["a", "b"] * 200})
    df.loc[::3, "v"] = np.nan
    lj = TableEncoder(numeric="standard").fit(df).log_jacobian(df)
    assert (lj[::3, 0] == 0).all() and np.allclose(lj[1::3, 0], -np.log(df["v"].std(ddof=0)))
    assert not lj[:, 1].any()


def test_abstract_interface_and_unknown_state():
    with pytest.raises(TypeError):
        ColumnEncoder()

    class Incomplete(ColumnEncoder):
        parts = (("gauss", 1),)

    with pytest.raises(TypeError):
        Incomplete()
    with pytest.raises(tabae.SchemaError, match="unknown column encoder 'Nope'"):
        ColumnEncoder.from_dict({"type": "Nope", "state": {}})


# ---------------------------------------------------------------------- datetimes
@pytest.mark.parametrize("unit, step", [("s", "s"), ("ms", "ms"), ("us", "us"), ("ns", "ms"), ("us", "D")])
@pytest.mark.parametrize("tz", [None, "America/New_York"])
def test_datetimes_keep_unit_time_zone_and_resolution(unit, step, tz):
    rng = np.random.default_rng(5)
    # Multiples of 7 steps: no coarser step fits all. (A span the float32 codes resolve to the step.)
    ticks = pd.to_timedelta(rng.integers(0, 3000 if step == "D" else 10**4, 200) * 7, unit=step)
    series = pd.Series(pd.Timestamp("2001-03-04") + ticks).astype(f"datetime64[{unit}]")
    if tz:
        series = series.dt.tz_localize(tz)
    df = pd.DataFrame({"t": series})
    df.loc[::9, "t"] = pd.NaT
    enc = TableEncoder().fit(df)
    X, M = enc.transform(df)
    back = enc.inverse_transform(X, M)
    assert str(back["t"].dtype) == str(df["t"].dtype) == enc.schema_["t"].dtype
    assert back["t"].equals(df["t"])  # exact, to the nanosecond
    step_ns = pd.Timedelta(1, unit=step).value
    assert enc.column_encoder("t").step_ns == step_ns or tz  # local days are not UTC days
    # Decoded values that the model moved still sit on the column's step.
    noisy = enc.inverse_transform(X + np.random.default_rng(6).normal(0, 0.3, X.shape).astype(np.float32))
    ns = noisy["t"].dt.tz_localize(None) if tz else noisy["t"]
    assert (ns.astype("datetime64[ns]").astype("int64") % min(step_ns, 86_400 * 10**9 if tz else step_ns) == 0).all()
    again = TableEncoder.from_state(json.loads(json.dumps(enc.get_state())))
    assert again.inverse_transform(X, M)["t"].equals(back["t"])


def test_datetimes_outside_nanosecond_range_are_refused():
    df = pd.DataFrame({"t": pd.Series(pd.to_datetime(["2500-01-01", "2600-01-01"]).as_unit("s"))})
    with pytest.raises(tabae.SchemaError, match="'t'.*1677"):
        TableEncoder().fit(df)


# ---------------------------------------------------------------------- values JSON lacks
def test_category_of_timestamps_and_other_scalars_round_trip_through_json():
    import datetime
    import decimal

    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame({
        "day": pd.Categorical(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 4, n), unit="D")),
        "local": pd.Categorical(pd.Series(pd.Timestamp("2020-03-29 00:30", tz="Europe/Oslo")
                                          + pd.to_timedelta(rng.integers(0, 4, n), unit="h"))),
        "bin": pd.cut(rng.normal(size=n), 3),
        "small": pd.Categorical(np.array([1, 2, 3] * (n // 3), dtype=np.int8)),
        "money": pd.Series([decimal.Decimal("1.10"), decimal.Decimal("2.5")] * (n // 2), dtype=object),
        "date": pd.Series([datetime.date(2020, 1, 2), datetime.date(2021, 3, 4)] * (n // 2), dtype=object),
    })
    df.loc[::5, "day"] = np.nan
    kinds = {"money": "categorical", "date": "categorical"}
    for min_frequency in (0.0, 0.3):  # every category kept; rare ones (stored apart) grouped
        enc = TableEncoder(kinds=kinds, min_frequency=min_frequency).fit(df)
        state = json.loads(json.dumps(enc.get_state(), allow_nan=False))  # no TypeError: every value is tagged
        again = TableEncoder.from_state(state)
        assert again.schema_ == enc.schema_
        X, M = enc.transform(df)
        np.testing.assert_array_equal(again.transform(df)[0], X)
        back = again.inverse_transform(X, M, random_state=0)
        pd.testing.assert_frame_equal(back, enc.inverse_transform(X, M, random_state=0), check_exact=True)
        if min_frequency == 0:
            pd.testing.assert_frame_equal(back, df, check_exact=True)


# ---------------------------------------------------------------------- extreme magnitudes
@pytest.mark.parametrize("numeric", ["standard", "mode", "quantile"])
@pytest.mark.parametrize("scale", [1e300, 1.7e308])
def test_values_near_the_float64_limit(numeric, scale):
    rng = np.random.default_rng(8)
    values = scale * (rng.uniform(-1, 1, 300) if scale > 1e307 else 1 + rng.normal(0, 0.1, 300))
    df = pd.DataFrame({"v": values})
    df.loc[::4, "v"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        enc = TableEncoder(numeric=numeric).fit(df)
        X, M = enc.transform(df)
        assert np.isfinite(X).all() and np.unique(X[M[:, 0], 0]).size == M[:, 0].sum()
        back = enc.inverse_transform(X, M)["v"]
        np.testing.assert_allclose(back[M[:, 0]], df["v"][M[:, 0]], rtol=1e-5)
        G = sum(s.kind == "gauss" for s in enc.spans_)
        Xh = X.astype(np.float64) + rng.normal(0, 0.3, X.shape)
        point = enc.decode_point(Xh, np.full((len(X), G), 0.5))["v"]  # what fills the holes
        assert np.isfinite(point).all() and point.nunique() > len(df) // 2
        assert point.between(values.min(), values.max()).all()
        assert np.isfinite(enc.log_jacobian(df)).all()


def test_mode_encoder_failure_names_the_column(monkeypatch):
    from sklearn.mixture import BayesianGaussianMixture

    def broken(self, X, y=None):
        raise ValueError("array must not contain infs or NaNs")

    monkeypatch.setattr(BayesianGaussianMixture, "fit", broken)
    df = pd.DataFrame({"v": np.arange(50.0)})
    with pytest.raises(tabae.SchemaError, match=r"column 'v'.*numeric_encoding=\"quantile\""):
        TableEncoder(numeric="mode").fit(df)


def test_discrete_numeric_columns_decode_to_their_own_values():
    rng = np.random.default_rng(0)
    amounts = np.where(rng.random(5000) < 0.9, 0.0, rng.choice([114.0, 401.0, 2174.0, 7688.0, 99999.0], 5000))
    enc = QuantileNormalEncoder().fit(amounts)
    assert enc.support_.tolist() == [0.0, 114.0, 401.0, 2174.0, 7688.0, 99999.0]
    codes = rng.normal(size=(20000, 1)).astype(np.float32)
    decoded = enc.inverse(codes)
    assert set(np.unique(decoded)) <= set(enc.support_)  # never a value the column never had
    np.testing.assert_array_equal(enc.inverse(enc.transform(amounts)), amounts)
    drawn = enc.inverse(enc.transform(amounts)[rng.permutation(5000)])  # shares kept
    assert abs((drawn == 0).mean() - 0.9) < 0.02
    # a point estimate is a mean: it still interpolates
    assert not set(enc.point(codes[:50], np.ones(50)).tolist()) <= set(enc.support_)
    again = ColumnEncoder.from_dict(enc.to_dict())
    np.testing.assert_array_equal(again.inverse(codes), decoded)
    old = enc.to_dict()
    del old["state"]["support"]  # a file from before: interpolates as it did
    assert ColumnEncoder.from_dict(old).support_ is None


def test_continuous_numeric_columns_still_interpolate():
    values = np.random.default_rng(1).normal(size=3000).round(2)  # ~500 distinct values, ~6 repeats
    assert QuantileNormalEncoder().fit(values).support_ is not None
    continuous = np.random.default_rng(1).normal(size=3000)
    enc = QuantileNormalEncoder().fit(continuous)
    assert enc.support_ is None
    decoded = enc.inverse(np.random.default_rng(2).normal(size=(1000, 1)))
    assert len(np.setdiff1d(decoded, continuous)) > 900
