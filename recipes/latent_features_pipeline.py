"""Latent features in a scikit-learn pipeline: a tabae model as the first step of a classifier.

A tabae model's ``transform`` returns its latent code (``encode``), so it goes into a
``Pipeline`` like any transformer: it takes the raw DataFrame (mixed types, holes) and
hands the next step ``latent_dim`` numbers per row. The recipe predicts ``income`` from
the other adult columns with cross-validation (the autoencoder is refitted inside each
fold, never on the test rows) and compares three pipelines:

* one-hot + imputation + logistic regression (the classic baseline);
* ``DenoisingAE(latent_dim=8)`` + logistic regression (the latent code alone);
* ``DenoisingAE(latent_dim=8)`` + gradient-boosted trees.

An autoencoder learns the table, not the label: its code keeps what it needs to rebuild
every column, so expect it to trail a supervised model on the raw columns and to shine
where labels are few or rows must be compared (neighbours, clusters, drift).

Run: python recipes/latent_features_pipeline.py [--fast] [--out DIR]
Figures: latent_pca.png (the latent code in 2-D, coloured by income),
latent_pipeline_auc.png (cross-validated ROC-AUC of the three pipelines).
"""

import sys
import warnings

from _common import options, pyplot, save
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import tabae


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    rows, epochs, folds = (600, 3, 2) if args.fast else (3000, 20, 3)

    # Rare categories (a country seen in 3 rows) can be absent from a fold's training
    # rows; tabae then maps them to the shared "other" slot and warns. Expected here.
    warnings.filterwarnings("ignore", message=".*categories not seen at fit", category=tabae.TabaeWarning)
    df = tabae.datasets.load_adult().sample(rows, random_state=0)
    X, y = df.drop(columns="income"), (df["income"] == ">50K").astype(int)

    encoder = tabae.DenoisingAE(latent_dim=8, epochs=epochs, random_state=0, verbose=False)
    one_hot = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), make_column_selector(dtype_include="number")),
        (OneHotEncoder(handle_unknown="ignore", min_frequency=10), make_column_selector(dtype_exclude="number")),
    )
    pipelines = {
        "one-hot + logistic": make_pipeline(one_hot, LogisticRegression(max_iter=2000)),
        "DenoisingAE + logistic": make_pipeline(encoder, StandardScaler(), LogisticRegression(max_iter=2000)),
        "DenoisingAE + boosted trees": make_pipeline(encoder, HistGradientBoostingClassifier(random_state=0)),
    }
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    results = {}
    for name, pipe in pipelines.items():
        auc = cross_val_score(pipe, X, y, cv=cv, scoring="roc_auc")
        results[name] = auc
        print(f"{name:30s} ROC-AUC {auc.mean():.3f} +/- {auc.std():.3f}")

    # ---- the latent code as a DataFrame: set_output gives named columns and X's index
    latent = tabae.DenoisingAE(latent_dim=8, epochs=epochs, random_state=0, verbose=False)
    features = latent.set_output(transform="pandas").fit_transform(X)
    print(features.head(3).round(2))
    assert list(features.columns) == [f"denoisingae{i}" for i in range(8)] and features.index.equals(X.index)

    # ---- figures
    xy = PCA(2, random_state=0).fit_transform(features)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for label, colour in [(0, "tab:blue"), (1, "tab:orange")]:
        keep = y.to_numpy() == label
        ax.scatter(xy[keep, 0], xy[keep, 1], s=4, alpha=0.4, color=colour,
                   label="income >50K" if label else "income <=50K")
    ax.set_xlabel("PC 1 of the latent code")
    ax.set_ylabel("PC 2")
    ax.set_title("DenoisingAE(latent_dim=8) code of adult rows")
    ax.legend(markerscale=4)
    save(fig, args.out, "latent_pca.png")

    fig, ax = plt.subplots(figsize=(6, 2.8))
    names = list(results)
    ax.barh(names, [results[n].mean() for n in names], xerr=[results[n].std() for n in names], color="tab:green")
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel(f"ROC-AUC ({folds}-fold cross-validation)")
    save(fig, args.out, "latent_pipeline_auc.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
