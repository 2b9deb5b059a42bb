import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tabae
from tests.conftest import FAST, make_mixed, with_holes


@pytest.fixture(scope="module")
def model(mixed_holes):
    return tabae.DenoisingAE(random_state=0, **FAST).fit(mixed_holes)


def test_observed_cells_untouched_dtypes_index_kept(model, mixed_holes):
    df = mixed_holes.set_axis(np.arange(len(mixed_holes))[::-1] * 3)  # an unusual index
    filled = model.impute(df)
    assert filled.index.equals(df.index) and list(filled.columns) == list(df.columns)
    assert (filled.dtypes == df.dtypes).all()
    assert filled.notna().all().all()
    observed = df.notna()
    for col in df.columns:
        pd.testing.assert_series_equal(filled[col][observed[col]], df[col][observed[col]])
    assert set(filled["group"].unique()) <= {"a", "b", "c"}
    assert set(filled["label"].unique()) <= {"high", "low"}
    assert (filled["count"] == filled["count"].round()).all()


def test_quality_floor_beats_mean_and_mode(model, mixed):
    """A broken model (or one that ignores the other columns) fails this."""
    holes = with_holes(mixed, 0.15, seed=5)
    filled = model.impute(holes)
    miss = holes["y"].isna()
    err_model = np.sqrt(((filled["y"][miss] - mixed["y"][miss]) ** 2).mean())
    err_mean = np.sqrt(((holes["y"].mean() - mixed["y"][miss]) ** 2).mean())
    assert err_model < 0.5 * err_mean
    miss = holes["group"].isna()
    acc = (filled["group"][miss].astype(str) == mixed["group"][miss].astype(str)).mean()
    assert acc > 0.85  # the mode alone gets ~0.5


def test_multiple_imputation_varies_and_pools(model, mixed_holes):
    draws = model.impute(mixed_holes, n_draws=4, random_state=0)
    assert len(draws) == 4
    miss = mixed_holes["y"].isna()
    assert draws[0]["y"][miss].ne(draws[1]["y"][miss]).mean() > 0.9  # real variability
    for d in draws:
        pd.testing.assert_series_equal(d["y"][~miss], mixed_holes["y"][~miss])
    again = model.impute(mixed_holes, n_draws=4, random_state=0)
    pd.testing.assert_frame_equal(draws[2], again[2])  # seeded
    pooled = tabae.pool([d["y"].mean() for d in draws], [d["y"].var() / len(d) for d in draws])
    assert pooled.between > 0 and pooled.total > pooled.within
    with pytest.raises(tabae.TabaeError, match="at least 2"):
        tabae.pool([1.0])


def test_bad_input(model, mixed_holes):
    with pytest.raises(tabae.SchemaError, match=r"\['extra'\] were not seen at fit"):
        model.impute(mixed_holes.assign(extra=1.0))
    with pytest.raises(tabae.TabaeError, match="n_draws=0"):
        model.impute(mixed_holes, n_draws=0)
    # An all-missing row and a column never missing at fit but missing now both work.
    df = mixed_holes.copy()
    df.iloc[0] = None
    complete_fit = tabae.DenoisingAE(random_state=0, **{**FAST, "epochs": 5}).fit(make_mixed(200))
    filled = complete_fit.impute(df.astype({"count": "Int64"}))
    assert filled.notna().all().all()


def test_aeimputer_in_a_pipeline_and_with_arrays(mixed_holes):
    num = mixed_holes[["x", "y"]]
    imputer = tabae.AEImputer(tabae.DenoisingAE(random_state=0, **FAST), random_state=0)
    pipe = make_pipeline(imputer, StandardScaler()).set_output(transform="pandas")
    out = pipe.fit_transform(num)
    assert list(out.columns) == ["x", "y"] and out.notna().all().all()
    arr = tabae.AEImputer(tabae.DenoisingAE(random_state=0, **FAST)).fit(num.to_numpy()).transform(num.to_numpy())
    assert isinstance(arr, np.ndarray) and not np.isnan(arr).any()
    with pytest.raises(tabae.NotFittedError):
        tabae.AEImputer().transform(num)
