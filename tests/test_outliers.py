import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import tabae
from tests.conftest import FAST, make_mixed


@pytest.fixture(scope="module")
def planted():
    """Clean rows plus rows where one column breaks the table's structure."""
    df = make_mixed(1000, seed=3)
    rng = np.random.default_rng(0)
    bad = rng.choice(len(df), 40, replace=False)
    planted_col = np.where(np.arange(40) % 2 == 0, "y", "group")
    for i, col in zip(bad, planted_col):
        if col == "y":
            df.loc[i, "y"] = df.loc[i, "y"] + 6.0  # off the x-y line
        else:  # a group that contradicts x
            df.loc[i, "group"] = "c" if df.loc[i, "group"] == "a" else "a"
    labels = np.zeros(len(df), int)
    labels[bad] = 1
    return df, labels, bad, planted_col


@pytest.fixture(scope="module")
def detector(planted):
    df, *_ = planted
    model = tabae.DenoisingAE(random_state=0, **FAST)
    return tabae.AEOutlierDetector(model, contamination=0.04).fit(df)


def test_finds_planted_rows_and_columns(detector, planted):
    df, labels, bad, planted_col = planted
    scores = detector.decision_function(df)
    assert roc_auc_score(labels, scores) > 0.9
    top = detector.explain(df.iloc[bad]).idxmax(axis=1).to_numpy()
    assert (top == planted_col).mean() > 0.7


def test_pyod_conventions(detector, planted):
    df, labels, *_ = planted
    assert detector.decision_scores_.shape == (len(df),)
    assert detector.labels_.mean() == pytest.approx(0.04, abs=0.01)
    np.testing.assert_array_equal(detector.predict(df), detector.labels_)
    np.testing.assert_allclose(detector.score_samples(df), -detector.decision_function(df))
    proba = detector.predict_proba(df)
    assert proba.shape == (len(df), 2) and np.allclose(proba.sum(1), 1)
    assert proba[labels == 1, 1].mean() > proba[labels == 0, 1].mean()


def test_auto_threshold_and_errors(planted):
    df, *_ = planted
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **{**FAST, "epochs": 5}), contamination="auto").fit(df)
    assert 0 < det.labels_.mean() < 0.2
    with pytest.raises(tabae.TabaeError, match="contamination=0.7"):
        tabae.AEOutlierDetector(contamination=0.7).fit(df)
    with pytest.raises(tabae.NotFittedError):
        tabae.AEOutlierDetector().predict(df)
    with pytest.raises(tabae.TabaeError, match="method='best'"):
        det.model_.score(df, method="best")


def test_missing_cells_do_not_count(detector, planted):
    df, *_ = planted
    row = df.iloc[[5]].copy()
    full = detector.explain(row)
    row.loc[row.index[0], "y"] = np.nan
    assert detector.explain(row).loc[row.index[0], "y"] == 0.0
    assert full.loc[row.index[0], "y"] != 0.0
