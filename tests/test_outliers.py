import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import tabae
from tests.conftest import FAST, make_mixed

TINY = dict(hidden_dims=(16,), latent_dim=2, epochs=3, batch_size=64, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def planted():
    """Clean rows plus rows where one column breaks the table's structure."""
    df = make_mixed(1000, seed=3)
    rng = np.random.default_rng(0)
    bad = rng.choice(len(df), 40, replace=False)
    planted_col = np.where(np.arange(40) % 2 == 0, "y", "group")
    for i, col in zip(bad, planted_col, strict=True):
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
    # (a model trained for 5 epochs found the planted rows mostly through its latent view,
    # which counts a quarter since: "auto" then flagged none of them)
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), contamination="auto").fit(df)
    assert 0 < det.labels_.mean() < 0.2
    with pytest.raises(tabae.TabaeError, match="contamination=0.7"):
        tabae.AEOutlierDetector(contamination=0.7).fit(df)
    with pytest.raises(tabae.NotFittedError):
        tabae.AEOutlierDetector().predict(df)
    with pytest.raises(tabae.TabaeError, match="method='best'"):
        det.model_.decision_function(df, method="best")


@pytest.mark.parametrize("contamination", [0, 0.0, -0.1, 0.51, 0.7, 1, "0.1", "high", None, True, float("nan")])
def test_contamination_outside_0_to_half_is_refused_before_fit(contamination):
    det = tabae.AEOutlierDetector(contamination=contamination)
    with pytest.raises(tabae.TabaeError, match=rf"contamination={contamination!r} is not allowed.*\(0, 0.5\]"):
        det.fit(make_mixed(50))
    assert not hasattr(det, "model_")  # refused before any work


def test_contamination_bounds_accepted():
    for contamination in (0.5, 0.01, "auto"):
        tabae.AEOutlierDetector(contamination=contamination).validate_params()
    with pytest.raises(tabae.TabaeError, match="method='best' is not allowed; method must be one of"):
        tabae.AEOutlierDetector(method="best").fit(make_mixed(50))
    with pytest.raises(tabae.TabaeError, match="estimator=.* is not allowed"):
        tabae.AEOutlierDetector(estimator="Autoencoder").fit(make_mixed(50))


def test_not_fitted_errors_are_sklearns_too(planted):
    from sklearn.exceptions import NotFittedError

    df, *_ = planted
    for method in ("predict_proba", "predict", "decision_function", "score_samples", "explain"):
        with pytest.raises(NotFittedError, match="AEOutlierDetector is not fitted yet"):
            getattr(tabae.AEOutlierDetector(), method)(df)
    with pytest.raises(tabae.NotFittedError):
        tabae.AEOutlierDetector().predict_proba(df)


def test_old_score_form_points_to_decision_function(detector, planted):
    df, *_ = planted
    with pytest.raises(tabae.TabaeError, match="decision_function"):
        detector.model_.score(df, per_column=True)
    with pytest.raises(tabae.TabaeError, match="decision_function"):
        detector.model_.score(df, method="masked")
    assert np.isfinite(detector.model_.score(df))  # the new form: one float


def test_arrays_in_arrays_out():
    X = make_mixed(200, seed=1)[["x", "y", "count"]].to_numpy(dtype=float)
    det = tabae.AEOutlierDetector(tabae.Autoencoder(**TINY)).fit(X)
    assert det.n_features_in_ == 3 and not hasattr(det, "feature_names_in_")
    explained = det.explain(X[:5])
    assert isinstance(explained, np.ndarray) and explained.shape == (5, 3)
    np.testing.assert_allclose(explained.sum(1), det.decision_function(X[:5]), rtol=1e-6, atol=1e-6)
    with pytest.raises(tabae.SchemaError, match="X has 2 features, but tabae is expecting 3"):
        det.predict(X[:, :2])


def test_awkward_tables_give_warnings_and_finite_scores():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "x": rng.normal(size=60), "constant": 2.0, "group": rng.choice(["a", "b", "c"], 60),
        "label": "same", "y": rng.normal(size=60),
    })
    with pytest.warns(tabae.TabaeWarning, match=r"constant column\(s\) \['constant', 'label'\]"):
        det = tabae.AEOutlierDetector(tabae.Autoencoder(**TINY), contamination="auto").fit(df)
    assert np.isfinite(det.decision_scores_).all() and np.isfinite(det.threshold_)
    # Unseen categories and rows with every cell missing still get finite scores.
    new = df.head(4).copy()
    new["group"] = ["never seen", "a", "b", None]
    new.iloc[3] = np.nan
    with pytest.warns(tabae.TabaeWarning, match="not seen at fit"):
        scores = det.decision_function(new)
    assert np.isfinite(scores).all() and scores[3] == 0.0  # nothing observed: nothing strange
    with pytest.warns(tabae.TabaeWarning, match=r"1 row\(s\) have no observed cell \(e.g. the row at position 3 of this call\)"):
        det.decision_function(new)
    with pytest.warns(tabae.TabaeWarning, match="not seen at fit"):
        proba = det.predict_proba(new)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(1), 1)
    with pytest.warns(tabae.TabaeWarning, match="not seen at fit"):
        assert np.isfinite(det.score_samples(new)).all()
    # Every column constant: scores are all about 0 and the threshold is finite.
    flat = pd.DataFrame({"a": np.ones(30), "b": ["k"] * 30})
    with pytest.warns(tabae.TabaeWarning, match="constant"):
        det = tabae.AEOutlierDetector(tabae.Autoencoder(**TINY)).fit(flat)
    assert np.isfinite(det.decision_scores_).all() and np.isfinite(det.predict_proba(flat)).all()
    # Fewer rows than columns: a warning, and finite scores.
    wide = pd.DataFrame(rng.normal(size=(15, 30)), columns=[f"c{i}" for i in range(30)])
    with pytest.warns(tabae.TabaeWarning, match=r"fewer rows than columns \(15 rows, 30 columns\)"):
        det = tabae.AEOutlierDetector(tabae.Autoencoder(**TINY)).fit(wide)
    assert np.isfinite(det.decision_function(wide)).all()
    with pytest.raises(tabae.SchemaError, match=r"n_samples = 10, n_features = 30"):
        tabae.AEOutlierDetector(tabae.Autoencoder(**TINY)).fit(wide.head(10))


def test_missing_cells_do_not_count(detector, planted):
    df, *_ = planted
    row = df.iloc[[5]].copy()
    full = detector.explain(row)
    row.loc[row.index[0], "y"] = np.nan
    assert detector.explain(row).loc[row.index[0], "y"] == 0.0
    assert full.loc[row.index[0], "y"] != 0.0


# ---------------------------------------------------------------- the ensemble's views
def test_marginal_tails_are_two_sided_empirical_tails():
    from tabae.outlier_parts import MarginalTails

    train = pd.DataFrame({"x": np.arange(1.0, 101.0), "g": ["a"] * 70 + ["b"] * 20 + ["c"] * 10})
    tails = MarginalTails().fit(train, ["numeric", "categorical"])
    new = pd.DataFrame({"x": [50.0, 1.0, 500.0, np.nan], "g": ["a", "c", "never", None]})
    scores = tails.cell_scores(new)
    # x=50: F=.50, 1-F(x-)=.51 -> p=1; x=1: 2*min(.01, 1)=.02; x=500: beyond every value -> floor 0.5/100
    np.testing.assert_allclose(scores[:, 0], [0.0, -np.log(0.02), -np.log(0.005), 0.0])
    # "a" is the commonest level (tail 1); "c" has 10% of rows at most as frequent; unseen -> floor
    np.testing.assert_allclose(scores[:, 1], [0.0, -np.log(0.10), -np.log(0.005), 0.0])


def test_tail_calibration_scores_a_cell_by_its_columns_tail():
    from tabae.outlier_parts import TailCalibration

    rng = np.random.default_rng(2)
    common = np.where(rng.random(4000) < 0.9, 0.1, rng.exponential(5.0, 4000))  # 10% of cells surprising
    scores = np.column_stack([common, rng.normal(size=4000)])
    cal = TailCalibration().fit(scores)
    out = cal.transform(np.array([[0.1, np.median(scores[:, 1])], [np.quantile(common, 0.99), np.quantile(scores[:, 1], 0.99)],
                                  [np.nan, 50.0]]))
    assert out[0].tolist() == [0.0, 0.0]  # the typical (tied) value and the median: nothing unusual
    np.testing.assert_allclose(out[1], -np.log(2 * 0.01), atol=0.05)  # the 99th percentile of each column
    assert out[2, 0] == 0.0 and out[2, 1] > -np.log(2 / 4000)  # missing: 0; beyond every training score: past the last step


def test_latent_gaussian_is_the_mahalanobis_distance_and_row_independent():
    from tabae.outlier_parts import LatentGaussian

    rng = np.random.default_rng(0)
    codes = rng.normal(size=(500, 3)) @ np.array([[2.0, 0, 0], [0.5, 1, 0], [0, 0, 0.1]])
    gauss = LatentGaussian().fit(codes)
    centred = codes - codes.mean(0)
    expected = np.einsum("ij,jk,ik->i", centred, np.linalg.inv(np.cov(codes.T)), centred)
    np.testing.assert_allclose(gauss.score(codes), expected, rtol=1e-3)  # up to the small ridge
    np.testing.assert_array_equal(gauss.score(codes[:7]), gauss.score(codes)[:7])
    # a constant latent unit does not divide by zero
    flat = np.column_stack([codes[:, 0], np.ones(len(codes))])
    assert np.isfinite(LatentGaussian().fit(flat).score(flat)).all()


def test_robust_scale_puts_the_typical_row_at_zero():
    from tabae.outlier_parts import RobustScale

    scores = np.random.default_rng(1).lognormal(size=1001)
    scaled = RobustScale().fit(scores).transform(scores)
    assert abs(np.median(scaled)) < 1e-9
    assert np.subtract(*np.percentile(scaled, [75, 25])) == pytest.approx(1.0)
    assert np.isfinite(RobustScale().fit(np.zeros(10)).transform(np.array([-1.0, 0.0, 5.0]))).all()


@pytest.fixture(scope="module")
def extremes():
    """Correlated numbers and a category, with 3% of rows pushed far out in one column."""
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": x + 0.3 * rng.normal(size=n), "z": rng.gamma(2.0, size=n),
                       "g": np.where(x > 0, "hi", "lo")})
    bad = rng.choice(n, 45, replace=False)
    cols = np.array(["x", "z", "y"])[np.arange(45) % 3]
    for i, col in zip(bad, cols, strict=True):
        df.loc[i, col] += 8.0 * df[col].std()
    labels = np.zeros(n, int)
    labels[bad] = 1
    return df, labels, bad, cols


def test_ensemble_ranks_extremes_and_names_their_column(extremes):
    df, labels, bad, cols = extremes
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), random_state=0).fit(df)
    assert det.method == "ensemble" and list(det.ensemble_.scales_) == ["reconstruction", "latent", "marginal", "isolation"]
    assert roc_auc_score(labels, det.decision_scores_) > 0.97
    why = det.explain(df.iloc[bad])
    np.testing.assert_allclose(why.sum(axis=1), det.decision_function(df.iloc[bad]), atol=1e-9)
    assert (why.idxmax(axis=1).to_numpy() == cols).mean() > 0.85


def test_ensemble_is_reproducible_and_row_independent(extremes):
    df, *_ = extremes
    fit = lambda: tabae.AEOutlierDetector(tabae.Autoencoder(random_state=3, **FAST), random_state=3).fit(df)  # noqa: E731
    one, two = fit(), fit()
    np.testing.assert_array_equal(one.decision_scores_, two.decision_scores_)
    np.testing.assert_array_equal(one.decision_function(df.iloc[100:110]), one.decision_scores_[100:110])


def test_ensemble_reads_columns_by_name_and_ignores_keys(extremes):
    df, labels, bad, cols = extremes
    keyed = df.assign(customer=[f"c{i}" for i in range(len(df))])
    with pytest.warns(tabae.TabaeWarning, match="customer"):
        det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), random_state=0).fit(keyed)
    shuffled = keyed[keyed.columns[::-1]]
    np.testing.assert_array_equal(det.decision_function(shuffled), det.decision_scores_)
    why = det.explain(shuffled.iloc[bad])
    assert list(why.columns) == list(keyed.columns) and (why["customer"] == 0).all()
    new_ids = keyed.iloc[:50].assign(customer=[f"new{i}" for i in range(50)])  # fresh ids are not strange
    np.testing.assert_allclose(det.decision_function(new_ids), det.decision_scores_[:50])
    assert det.decision_function(keyed.iloc[:0]).shape == (0,) and det.explain(keyed.iloc[:0]).shape == (0, 5)


def test_soft_floor_leaves_no_typical_row_at_exactly_zero_and_old_files_keep_the_hard_floor(extremes):
    from tabae.outlier_parts import OutlierEnsemble, soft_floor

    np.testing.assert_allclose(soft_floor(np.array([-5.0, 0.0, 5.0])), [0.1 * np.log1p(np.exp(-50.0)), 0.1 * np.log(2), 5.0])
    df, *_ = extremes
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), random_state=0).fit(df)
    scaled = det.ensemble_.views(df)[0].to_numpy()
    assert (scaled > 0).all() and (det.decision_scores_ > 0).all()  # every row has something to explain
    assert (det.explain(df.iloc[:50]).to_numpy().sum(1) > 0).all()
    # A file written before the soft floor has no "floor" entry: it scores with max(x, 0),
    # as its saved threshold and training scores were computed.
    meta, tensors = det.ensemble_.get_state()
    assert meta.pop("floor") == "soft"
    meta.pop("weights")  # such files predate the view weights too
    old = OutlierEnsemble.from_state(meta, tensors, det.model_)
    ens = det.ensemble_
    raw = ens._raw_views(df)
    hard = sum(np.maximum(ens.scales_[v].transform(values), 0.0) for v, (values, _) in raw.items())
    np.testing.assert_allclose(old.score(df), hard, rtol=1e-12)
    soft = sum(soft_floor(ens.scales_[v].transform(values)) for v, (values, _) in raw.items())
    assert (old.score(df) == 0).any() and (old.score(df) <= soft).all()


def test_views_are_weighed_by_their_agreement_and_old_files_count_every_view_once(extremes, tmp_path):
    from tabae.outlier_parts import VIEW_WEIGHTS, OutlierEnsemble, agreement_weights, soft_floor

    assert VIEW_WEIGHTS == {"reconstruction": 1.0, "latent": 0.25, "marginal": 1.0, "isolation": 1.0}
    df, *_ = extremes
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), random_state=0).fit(df)
    ens = det.ensemble_
    raw = ens._raw_views(df)
    unweighted = pd.DataFrame({v: soft_floor(ens.scales_[v].transform(values)) for v, (values, _) in raw.items()})
    # the weights: the priors times each view's agreement with the prior-weighted sum on the training rows
    expected = agreement_weights(unweighted * pd.Series(VIEW_WEIGHTS), VIEW_WEIGHTS)
    assert ens.view_weights_ == pytest.approx(expected)
    assert all(0 < ens.view_weights_[v] <= VIEW_WEIGHTS[v] for v in VIEW_WEIGHTS)
    views = ens.views(df)[0]
    for view in VIEW_WEIGHTS:
        np.testing.assert_allclose(views[view], ens.view_weights_[view] * unweighted[view], rtol=1e-12)
    np.testing.assert_allclose(det.decision_scores_, views.to_numpy().sum(1), rtol=1e-12)
    # the weights travel with the file
    det.save(tmp_path / "det.tabae")
    np.testing.assert_array_equal(tabae.load(tmp_path / "det.tabae").decision_function(df), det.decision_scores_)
    # a file written before the weights has none: every view counts once, as when it was fitted
    meta, tensors = ens.get_state()
    meta.pop("weights")
    old = OutlierEnsemble.from_state(meta, tensors, det.model_)
    np.testing.assert_allclose(old.score(df), unweighted.to_numpy().sum(1), rtol=1e-12)


def test_agreement_weights_follow_the_top_rows():
    from tabae.outlier_parts import agreement_weights

    rng = np.random.default_rng(0)
    strange = rng.normal(size=1000)
    views = pd.DataFrame({
        "a": strange + 0.1 * rng.normal(size=1000),  # finds the strange rows
        "b": strange + 0.1 * rng.normal(size=1000),  # so does this one
        "c": -strange,  # its strangest rows are the others' most ordinary
    })
    w = agreement_weights(views, {"a": 1.0, "b": 0.5, "c": 1.0})
    assert w["a"] > 0.8 and 0.4 < w["b"] <= 0.5 and w["c"] == 0.0
    assert agreement_weights(views * 0.0, {"a": 1.0, "b": 0.5, "c": 1.0}) == {"a": 1.0, "b": 0.5, "c": 1.0}


def test_isolation_trees_score_as_scikit_learns_forest_and_row_by_row():
    from sklearn.ensemble import IsolationForest

    from tabae.isolation import IsolationTrees

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5)).astype(np.float32)
    X[:10] += 5.0
    trees = IsolationTrees().fit(X, random_state=1)
    reference = -IsolationForest(random_state=1).fit(X).score_samples(X)
    np.testing.assert_allclose(trees.score(X), reference, rtol=1e-12)
    np.testing.assert_array_equal(trees.score(X[3:4]), trees.score(X)[3:4])
    meta, tensors = trees.get_state()
    np.testing.assert_array_equal(IsolationTrees.from_state(meta, tensors).score(X), trees.score(X))


@pytest.mark.parametrize("method", ["ensemble", "reconstruction"])
def test_detector_saves_and_loads_with_its_ensemble(extremes, tmp_path, method):
    df, labels, bad, cols = extremes
    keyed = df.assign(level=np.where(df["x"] > 1, 3, 7))  # an integer category: its levels round-trip as ints
    det = tabae.AEOutlierDetector(tabae.Autoencoder(random_state=0, **FAST), method=method,
                                  contamination="auto", random_state=0).fit(keyed)
    det.save(tmp_path / "det.tabae")
    loaded = tabae.load(tmp_path / "det.tabae")
    assert type(loaded) is tabae.AEOutlierDetector and loaded.get_params()["method"] == method
    rows = keyed.iloc[np.r_[bad[:20], 0:30]]
    np.testing.assert_array_equal(loaded.decision_function(rows), det.decision_function(rows))
    pd.testing.assert_frame_equal(loaded.explain(rows), det.explain(rows))
    np.testing.assert_array_equal(loaded.predict(rows), det.predict(rows))
    np.testing.assert_array_equal(loaded.labels_, det.labels_)
    assert loaded.threshold_ == det.threshold_ and list(loaded.feature_names_in_) == list(keyed.columns)
    scores, why = loaded.score_and_explain(rows)
    np.testing.assert_array_equal(scores, loaded.decision_function(rows))
    np.testing.assert_allclose(why.sum(axis=1), scores, atol=1e-9)


def test_detector_file_scores_from_the_command_line(extremes, tmp_path):
    from tabae.cli import main

    df, labels, bad, cols = extremes
    table, model, out = tmp_path / "t.parquet", tmp_path / "det.tabae", tmp_path / "scores.parquet"
    df.assign(row=np.arange(len(df))).to_parquet(table)
    df.to_parquet(tmp_path / "fit.parquet")
    assert main(["fit", str(tmp_path / "fit.parquet"), "-o", str(model), "--model", "detector", "--quiet"]) == 0
    assert main(["score", str(model), str(table), "-o", str(out), "--keep", "row", "--batch-size", "400"]) == 0
    scored = pd.read_parquet(out)
    det = tabae.load(model)
    np.testing.assert_array_equal(scored["score"].to_numpy(), det.decision_function(df))
    assert roc_auc_score(labels, scored["score"]) > 0.97
    assert (scored["top_column"].iloc[bad].to_numpy() == cols).mean() > 0.85
    assert scored["top_column"][scored["score"] == 0].isna().all()  # typical rows: nothing to blame
    assert main(["impute", str(model), str(table), "-o", str(tmp_path / "f.parquet")]) == 2
