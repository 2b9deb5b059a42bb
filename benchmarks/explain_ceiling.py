"""How well can any explainer name the planted column of ``adult-planted``? An oracle check.

``benchmarks/outliers.py`` plants one anomaly per row in 5% of 10,000 adult rows: half
swap a categorical cell to a uniformly random *other* level, half shift a number by
4 standard deviations. Many swaps are nearly invisible (``sex`` or ``income`` flipped in
a row that says little about either; ``race`` set to its most common level), so no
explainer can name every planted column. This script gives a generous reference: per
categorical column a gradient-boosted classifier trained on the ~22,500 adult rows
*outside* the sample (clean data the detector never has), whose
``-log p(cell | rest of row)`` is put on each column's tail scale
(``TailCalibration``); numbers from a masked ``DenoisingAE`` fitted on the sample (as in
the outlier benchmark); and the detector's own per-cell measures (calibrated
reconstruction, marginal rarity), their shares averaged as the detector does.

Run: PYTHONPATH=. .venv-bench/bin/python benchmarks/explain_ceiling.py [--seeds 0 1 2]
Prints top-1 hits (all, categorical, numeric) per seed and their mean.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import outliers as bench  # noqa: E402


def oracle_categorical_nll(full: pd.DataFrame, sample_rows: np.ndarray, df: pd.DataFrame) -> np.ndarray:
    """``-log p(cell | rest)`` from classifiers trained outside the sample; NaN elsewhere."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    outside = full.drop(full.index[sample_rows]).reset_index(drop=True)
    categorical = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    levels = {c: sorted(full[c].dropna().unique()) for c in categorical}

    def features(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for c in categorical:
            if c in frame:
                frame[c] = pd.Categorical(frame[c], categories=levels[c])
        return frame

    nll = np.full(df.shape, np.nan)
    for j, c in enumerate(df.columns):
        if c not in categorical:
            continue
        train = outside[outside[c].notna()]
        clf = HistGradientBoostingClassifier(max_iter=150, early_stopping=False,
                                             categorical_features="from_dtype", random_state=0)
        clf.fit(features(train.drop(columns=[c])), train[c])
        proba = clf.predict_proba(features(df.drop(columns=[c])))
        position = df[c].map({v: i for i, v in enumerate(clf.classes_)})
        known = position.notna().to_numpy()
        rows = np.flatnonzero(known)
        nll[rows, j] = -np.log(np.maximum(proba[rows, position[known].astype(int)], 1e-9))
    return nll


def calibrated(cells: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Cell scores on each column's tail scale, fitted on the sample itself (as the detector does)."""
    from tabae.outlier_parts import TailCalibration

    cells = np.where(observed, cells, np.nan)
    return TailCalibration().fit(cells).transform(cells)


def main() -> None:
    from tabae.outlier_parts import _observed_only, _shares

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    full = bench.read_adult()
    results = []
    for seed in args.seeds:
        sample_rows, _ = bench.adult_sample(len(full), seed)  # the rows plant_adult samples
        ds = bench.load("adult-planted", seed)
        df = ds.df
        categorical = np.array([not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns])
        observed = df.notna().to_numpy()

        oracle = np.where(categorical[None], calibrated(oracle_categorical_nll(full, sample_rows, df), observed),
                          calibrated(bench.explain_masked(df, seed).to_numpy(), observed))
        _, det = bench.score_tabae(df, seed)
        ens = det.ensemble_
        _, reconstruction, marginal = ens.views(df)
        reconstruction = ens.calibration_.transform(_observed_only(reconstruction, df))
        candidates = {
            "detector explain() (default)": det.explain(df).to_numpy(),
            "oracle conditional alone": oracle,
            "oracle + marginal + reconstruction shares": (_shares(oracle, observed) + _shares(marginal, observed)
                                                          + _shares(reconstruction, observed)),
        }
        planted_categorical = np.array([not pd.api.types.is_numeric_dtype(df[c]) for c in ds.planted])
        for name, values in candidates.items():
            hit = np.array(bench.explanation_hits(pd.DataFrame(values, index=df.index, columns=df.columns),
                                                  ds.planted)["top1_hits"])
            results.append({"seed": seed, "explainer": name, "top1": hit.mean(),
                            "categorical": hit[planted_categorical].mean(), "numeric": hit[~planted_categorical].mean()})
            print(results[-1], flush=True)
    table = pd.DataFrame(results).groupby("explainer", sort=False)[["top1", "categorical", "numeric"]].mean()
    print(f"\nmean over seeds {args.seeds}:\n{table.round(3).to_string()}")


if __name__ == "__main__":
    main()
