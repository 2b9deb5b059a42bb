"""Tests for tabae.metrics: each score behaves as its definition says on known cases."""

import ast
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import tabae
from tabae.exceptions import TabaeError, TabaeWarning
from tabae.metrics import (
    SyntheticReport,
    c2st,
    column_shapes,
    evaluate,
    logistic_detection,
    ml_efficacy,
    pair_trends,
    privacy,
)


@pytest.fixture(autouse=True)
def one_thread():
    # HistGradientBoosting's OpenMP threads spin at barriers; on a shared,
    # busy machine that makes these small fits 100x slower than one thread.
    with threadpool_limits(1):
        yield


def make_table(n=1000, seed=0):
    """Mixed table: correlated numbers, a category tied to them, a boolean, holes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": x,
        "y": 2 * x + rng.normal(scale=0.3, size=n),
        "n": rng.integers(0, 5, size=n),
        "c": np.where(x + rng.normal(scale=0.3, size=n) > 0, "hi", "lo"),
        "b": rng.random(n) < 0.3,
        "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
    })
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df.loc[rng.random(n) < 0.1, "c"] = None
    return df


def shuffle_columns(df, seed=1):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df})


def test_identical_frames_score_one():
    df = make_table()
    shapes, trends = column_shapes(df, df), pair_trends(df, df)
    assert shapes["score"].tolist() == pytest.approx([1.0] * df.shape[1])
    assert len(trends) == df.shape[1] * (df.shape[1] - 1) // 2  # every pair
    assert trends["score"].tolist() == pytest.approx([1.0] * len(trends))


def test_metrics_follow_column_kinds():
    shapes = column_shapes(make_table(), make_table(seed=1)).set_index("column")["metric"]
    assert shapes.to_dict() == {
        "x": "KSComplement", "y": "KSComplement", "n": "KSComplement",
        "c": "TVComplement", "b": "TVComplement", "t": "KSComplement",
    }
    trends = pair_trends(make_table(), make_table(seed=1)).set_index(["column_1", "column_2"])
    assert trends.loc[("x", "y"), "metric"] == "CorrelationSimilarity"
    assert trends.loc[("x", "c"), "metric"] == "ContingencySimilarity"


def test_shuffled_columns_keep_shapes_but_lose_trends():
    df = make_table()
    shuffled = shuffle_columns(df)
    assert column_shapes(df, shuffled)["score"].tolist() == pytest.approx([1.0] * df.shape[1])
    trends = pair_trends(df, shuffled).set_index(["column_1", "column_2"])["score"]
    assert trends[("x", "y")] < 0.6  # |0.99 - 0| / 2 lost
    assert trends[("x", "c")] < 0.8
    assert trends[("n", "b")] > 0.95  # independent columns stay independent


def test_shifted_column_lowers_only_its_shape():
    df = make_table()
    shifted = df.assign(y=df["y"] + 4.0)  # two standard deviations
    scores = column_shapes(df, shifted).set_index("column")["score"]
    assert scores["y"] < 0.4
    assert scores.drop("y").tolist() == pytest.approx([1.0] * (df.shape[1] - 1))


def test_shapes_ignore_missing_but_report_its_share():
    df = make_table()
    scores = column_shapes(df, df.dropna()).set_index("column")
    assert scores.loc["x", "score"] > 0.95
    assert scores.loc["x", "real_missing"] == pytest.approx(df["x"].isna().mean())
    assert scores.loc["x", "synthetic_missing"] == 0.0


def test_pair_trends_bin_on_real_range():
    # Re-binning the synthetic column on its own range would hide this shift.
    df = make_table()
    shifted = df.assign(y=df["y"] + 10.0)
    trends = pair_trends(df, shifted).set_index(["column_1", "column_2"])["score"]
    assert trends[("y", "c")] < 0.2


def test_c2st_separates_only_different_tables():
    same = c2st(make_table(seed=0), make_table(seed=1), n_rows=800)
    different = c2st(make_table(seed=0), make_table(seed=1).assign(y=lambda d: d.y + 3), n_rows=800)
    assert same > 0.8
    assert different < 0.05


def test_ml_efficacy_learns_informative_target():
    assert ml_efficacy(make_table(seed=0), make_table(seed=1), "c") > 0.9
    # Shuffling breaks the tie between features and target: chance level.
    assert 0.4 < ml_efficacy(shuffle_columns(make_table(seed=0)), make_table(seed=1), "c") < 0.6


def test_ml_efficacy_single_class_warns_and_scores_chance():
    train = make_table(seed=0).assign(c="hi")
    with pytest.warns(TabaeWarning, match="fewer than two"):
        assert ml_efficacy(train, make_table(seed=1), "c") == 0.5


def test_privacy_of_copied_rows():
    df = make_table(2000)
    train, holdout = df.iloc[:1000], df.iloc[1000:]
    copied = privacy(train, train, holdout)
    assert copied["dcr_share"] == 1.0
    assert copied["exact_copies"] == 1.0
    assert copied["exact_copies_holdout"] == 0.0
    fresh = privacy(make_table(1000, seed=7), train, holdout)
    assert 0.4 < fresh["dcr_share"] < 0.6
    assert fresh["exact_copies"] == 0.0


def test_exact_copies_ignore_dtype_of_numbers():
    df = make_table(200)
    train, holdout = df.iloc[:100], df.iloc[100:]
    as_float = train.assign(n=train["n"].astype(float))
    assert privacy(as_float, train, holdout)["exact_copies"] == 1.0


def test_evaluate_report():
    df = make_table(3000)
    train, holdout = df.iloc[:2000], df.iloc[2000:]
    report = evaluate(train, shuffle_columns(train), holdout=holdout, target="c")
    assert isinstance(report, SyntheticReport)
    assert report.shapes == pytest.approx(1.0)
    assert report.trends < 0.95
    assert report.c2st < 0.5
    assert report.ml_auc < 0.65 < 0.9 < report.ml_auc_real
    assert report.quality == pytest.approx((report.shapes + report.trends) / 2)
    summary = report.summary()
    assert list(summary.columns) == ["score", "reference", "meaning"]
    assert summary.loc["DCR share", "reference"] == 0.5
    assert summary["score"].notna().all()


def test_evaluate_without_holdout_leaves_nan_and_keeps_global_rng():
    state = np.random.get_state()[1].copy()
    df = make_table(400)
    first = evaluate(df[:200], df[200:], random_state=3)
    assert np.isnan(first.dcr_share) and np.isnan(first.ml_auc)
    assert np.array_equal(np.random.get_state()[1], state)
    again = evaluate(df[:200], df[200:], random_state=3)
    assert (first.shapes, first.trends, first.c2st) == (again.shapes, again.trends, again.c2st)


def test_max_rows_subsamples():
    df = make_table(600)
    report = evaluate(df, df, max_rows=100)
    assert len(report._real) == len(report._synthetic) == 100


def test_kinds_override_dtypes():
    df = make_table()
    shapes = column_shapes(df, df, kinds={"n": "categorical", "b": "numeric"})
    assert shapes.set_index("column").loc[["n", "b"], "metric"].tolist() == [
        "TVComplement", "KSComplement",
    ]
    sdmetrics_style = {"columns": {"n": {"sdtype": "categorical"}}}
    assert column_shapes(df, df, kinds=sdmetrics_style).loc[2, "metric"] == "TVComplement"
    with pytest.raises(TabaeError, match="kinds"):
        column_shapes(df, df, kinds={"n": "text"})
    with pytest.raises(TabaeError, match="kinds"):
        column_shapes(df, df, kinds={"nope": "numeric"})


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda df: column_shapes(df, df.drop(columns="x")), "synthetic.*missing \\['x'\\]"),
        (lambda df: pair_trends(df, df.iloc[:0]), "synthetic is empty"),
        (lambda df: c2st(df, df.to_numpy()), "synthetic must be a pandas DataFrame"),
        (lambda df: evaluate(df, df, target="c"), "holdout"),
        (lambda df: evaluate(df, df, holdout=df, target="nope"), "target='nope'"),
        (lambda df: evaluate(df, df, holdout=df, target="n"), "target='n' must be binary"),
        (lambda df: privacy(df, df, df.assign(z=1)), "holdout.*unexpected \\['z'\\]"),
    ],
)
def test_errors_name_the_argument(call, match):
    with pytest.raises(TabaeError, match=match):
        call(make_table(200))


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    df = make_table(200)
    report = evaluate(df, df)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(TabaeError, match=r"pip install tabae\[plots\]"):
        report.plot()


def test_plot_draws_and_saves(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    df = make_table(200)
    path = tmp_path / "report.png"
    fig = evaluate(df, shuffle_columns(df)).plot(path)
    assert path.stat().st_size > 0
    assert len([ax for ax in fig.axes if ax.get_visible()]) >= df.shape[1] + 1


def test_ml_efficacy_warns_about_unknown_target_values():
    train = make_table(seed=0)
    train.loc[:9, "c"] = "mid"
    with pytest.warns(TabaeWarning, match="neither 'hi' nor 'lo'"):
        assert ml_efficacy(train, make_table(seed=1), "c") > 0.9


# ----------------------------------------------------------------- logistic detection


def test_logistic_detection_of_alike_tables_is_near_one():
    assert logistic_detection(make_table(seed=0), make_table(seed=0)) > 0.9
    assert logistic_detection(make_table(seed=0), make_table(seed=1)) > 0.85


def test_logistic_detection_of_shifted_table_is_near_zero():
    shifted = make_table(seed=1).assign(y=lambda d: d.y + 3)
    assert logistic_detection(make_table(seed=0), shifted) < 0.05


def test_logistic_detection_sees_missing_cells_and_category_shares():
    real = make_table(seed=0)
    more_holes = make_table(seed=1)
    more_holes.loc[np.random.default_rng(2).random(len(more_holes)) < 0.6, "x"] = np.nan
    assert logistic_detection(real, more_holes) < 0.6  # only the missing indicator tells
    # A category 10% "a" in one table and 90% in the other: the best AUC is
    # 0.5 + 0.8 / 2 = 0.9, a score of 0.2.
    other_shares = make_table(seed=1).assign(k=np.where(np.arange(1000) % 10 == 0, "a", "b"))
    real = real.assign(k=np.where(np.arange(1000) % 10 != 0, "a", "b"))
    assert 0.1 < logistic_detection(real, other_shares) < 0.3


def test_logistic_detection_handles_holes_everywhere_and_all_kinds():
    real, synthetic = make_table(300, seed=0), make_table(300, seed=1)
    for df in (real, synthetic):
        df["b"], df["n"] = df["b"].astype("boolean"), df["n"].astype("Int64")
        df.loc[::7, ["t", "b", "n"]] = None
    synthetic.loc[0, "y"] = np.inf  # counted as missing, as in SDMetrics
    score = logistic_detection(real, synthetic, n_rows=200, n_splits=3, random_state=1)
    assert 0.0 <= score <= 1.0
    assert score == logistic_detection(real, synthetic, n_rows=200, n_splits=3, random_state=1)


def test_logistic_detection_misses_what_only_trees_see():
    # Shuffling keeps every marginal: a linear model cannot tell, the trees can.
    df = make_table(2000)
    shuffled = shuffle_columns(df)
    assert logistic_detection(df, shuffled) > 0.8
    assert c2st(df, shuffled) < 0.5


def test_evaluate_draws_logistic_detection_after_the_other_scores():
    df = make_table(400)
    real, synthetic = df[:200], df[200:]
    report = evaluate(real, synthetic, random_state=3)
    # Tables this small are not subsampled: c2st takes the generator's first
    # draws, exactly as on its own, and logistic detection the ones after.
    assert report.c2st == c2st(real, synthetic, random_state=3)
    rng = np.random.default_rng(3)
    rng.integers(2**31 - 1), rng.integers(2**31 - 1)  # c2st's two seeds
    assert report.logistic_detection == logistic_detection(real, synthetic, random_state=rng)
    assert report.summary().loc["logistic detection", "reference"] == 1.0


# -------------------------------------------------------------------- vocabulary


def test_kinds_take_tabae_and_sdmetrics_words():
    df = make_table()
    words = {"x": "integer", "n": "ordinal", "b": "boolean", "t": "datetime", "c": "categorical", "y": "numerical"}
    metrics = column_shapes(df, df, kinds=words).set_index("column")["metric"].to_dict()
    assert metrics == {
        "x": "KSComplement", "y": "KSComplement", "n": "TVComplement",
        "c": "TVComplement", "b": "TVComplement", "t": "KSComplement",
    }
    trends = pair_trends(df, df, kinds={"columns": {"x": {"sdtype": "categorical"}}})
    assert trends.set_index(["column_1", "column_2"]).loc[("x", "y"), "metric"] == "ContingencySimilarity"


@pytest.mark.parametrize(
    "call",
    [
        lambda df: column_shapes(df, df, metadata={"n": "categorical"}),
        lambda df: pair_trends(df, df, metadata={"n": "categorical"}),
        lambda df: c2st(df, df, metadata={"n": "categorical"}),
        lambda df: logistic_detection(df, df, metadata={"n": "categorical"}),
        lambda df: ml_efficacy(df, df, "c", metadata={"n": "categorical"}),
        lambda df: privacy(df, df, df, metadata={"n": "categorical"}),
        lambda df: evaluate(df, df, metadata={"n": "categorical"}),
    ],
)
def test_old_metadata_keyword_says_to_use_kinds(call):
    with pytest.raises(TabaeError, match="kinds="):
        call(make_table(200))


def test_top_level_evaluate_is_the_function():
    assert tabae.evaluate is evaluate
    assert tabae.SyntheticReport is SyntheticReport
    assert tabae.metrics.logistic_detection is logistic_detection
    assert importlib.util.find_spec("tabae.evaluate") is None  # no module shadows it


def test_warnings_point_at_the_caller():
    train = make_table(seed=0).assign(c="hi")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ml_efficacy(train, make_table(seed=1), "c")
        evaluate(train, train, holdout=make_table(seed=1), target="c")
    # One from ml_efficacy, two from evaluate (its reference fit has one class too).
    assert [w.filename for w in caught if issubclass(w.category, TabaeWarning)] == [__file__] * 3


def test_metric_modules_import_no_private_names():
    package = Path(tabae.metrics.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
