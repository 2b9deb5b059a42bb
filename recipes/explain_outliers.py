"""Find the strangest rows of a table, set a threshold without labels, and explain each flag.

Anomalies are planted in adult as in ``benchmarks/outliers.py``: 2% of the rows get one
cell broken (a categorical cell set to another category of its column, or a numeric
cell shifted by 4 standard deviations), and which column was broken is recorded. The
detector never sees that; the recipe checks afterwards how many planted rows it flags
and whether the column it blames is the broken one.

Two thresholds need no labels: ``contamination=0.02`` flags the 2% highest training
scores (you guess the share), ``contamination="auto"`` flags scores above the training
median plus 3 robust standard deviations (1.4826 x MAD).

Run: python recipes/explain_outliers.py [--fast] [--out DIR]
Figures: outlier_scores.png (scores and both thresholds), outlier_explanations.png
(per-column contributions of the top flagged rows).
"""

import sys

import numpy as np
import pandas as pd
from _common import options, pyplot, save

import tabae


def plant(df: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Break one cell in ``share`` of the rows; return the table and the broken column per row."""
    rng = np.random.default_rng(seed)
    df = df.copy()
    categorical = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    rows = rng.choice(len(df), round(share * len(df)), replace=False)
    broken = {}
    for k, i in enumerate(rows):
        label = df.index[i]
        if k % 2 == 0:  # a categorical cell set to another category of its column
            col = categorical[rng.integers(len(categorical))]
            others = df[col].dropna().unique()
            others = others[others != df.at[label, col]]
            df.at[label, col] = others[rng.integers(len(others))]
        else:  # a numeric cell shifted by +-4 standard deviations
            col = numeric[rng.integers(len(numeric))]
            df.at[label, col] = df.at[label, col] + round(rng.choice([-4, 4]) * df[col].std())
        broken[label] = col
    return df, pd.Series(broken, name="broken_column")


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    rows, epochs = (600, 3) if args.fast else (8_000, 40)

    clean = tabae.datasets.load_adult().sample(rows, random_state=0)
    df, broken = plant(clean, share=0.02, seed=0)

    # A denoising model scores each cell with its column hidden ("masked"): the sharpest
    # explanations of single broken cells (docs/benchmarks.md, explanations table).
    model = tabae.DenoisingAE(epochs=epochs, random_state=0, verbose=False)
    detector = tabae.AEOutlierDetector(model, contamination=0.02, method="masked").fit(df)
    scores = pd.Series(detector.decision_scores_, index=df.index)  # the training rows' scores

    # contamination="auto" would set this threshold (same model, no refit needed here):
    median = scores.median()
    auto_threshold = median + 3 * 1.4826 * (scores - median).abs().median()

    planted = df.index.isin(broken.index)
    for name, threshold in [("contamination=0.02", detector.threshold_), ('contamination="auto"', auto_threshold)]:
        flagged = scores.to_numpy() > threshold
        print(f"{name}: threshold {threshold:.1f}, {flagged.sum()} rows flagged, "
              f"{(flagged & planted).sum()} of {planted.sum()} planted rows among them")

    # ---- explanations: which column makes each flagged row strange
    flagged = df[detector.labels_ == 1]
    why = detector.explain(flagged)  # per-column contributions; each row sums to its score
    report = flagged.assign(score=why.sum(axis=1), because_of=why.idxmax(axis=1)).sort_values("score", ascending=False)
    report["broken_column"] = broken.reindex(report.index)
    print(report[["score", "because_of", "broken_column", "age", "education", "occupation", "hours-per-week"]]
          .head(10).round(1).to_string())
    hits = report["broken_column"].notna()
    print(f"flagged planted rows whose top column is the broken one: "
          f"{(report['because_of'] == report['broken_column'])[hits].mean():.2f}")

    # ---- figures
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bins = np.linspace(scores.min(), np.quantile(scores, 0.999), 60)
    ax.hist(scores[~planted], bins=bins, alpha=0.6, label="normal rows")
    ax.hist(scores[planted], bins=bins, alpha=0.8, label="planted anomalies")
    ax.axvline(detector.threshold_, color="black", linestyle="--", label="contamination=0.02")
    ax.axvline(auto_threshold, color="tab:red", linestyle=":", label='contamination="auto"')
    ax.set_yscale("log")
    ax.set_xlabel("decision_function (higher = stranger)")
    ax.set_ylabel("rows")
    ax.legend(fontsize=8)
    save(fig, args.out, "outlier_scores.png")

    top = report.head(6)
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.5))
    for ax, (label, row) in zip(axes.ravel(), why.loc[top.index].iterrows(), strict=False):
        parts = row.sort_values(ascending=False).head(5)[::-1]
        ax.barh([f"{c} = {df.at[label, c]}"[:28] for c in parts.index], parts.to_numpy(), color="tab:red")
        truth = broken.get(label, "none")
        ax.set_title(f"row {label}: score {top.at[label, 'score']:.0f} (broken: {truth})", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("per-column contributions to the outlier score (top flagged rows)")
    fig.tight_layout()
    save(fig, args.out, "outlier_explanations.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
