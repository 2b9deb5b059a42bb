"""Detection: can a classifier tell synthetic rows from real ones?

Both tests draw the same number of rows from each table, label them real or
synthetic, and measure the ROC-AUC of a classifier with stratified k-fold
cross-validation. An AUC of 0.5 means the tables cannot be told apart.

- :func:`c2st` uses gradient-boosted trees, which find almost any difference
  (a wrong interaction, a missing mode, rounding), so it is the strict test.
- :func:`logistic_detection` follows SDMetrics' ``LogisticDetection``: a
  linear model on standardised numbers and one-hot categories. It sees only
  differences a linear boundary can draw (shifted means, changed category
  shares), and is there to compare with published SDMetrics scores.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from tabae.exceptions import TabaeError
from tabae.metrics.columns import (
    MAX_CATEGORIES,
    check_frames,
    column_kinds,
    draw_seed,
    encode,
    refuse_metadata,
    subsample,
    tree_features,
)

__all__ = ["c2st", "c2st_auc", "logistic_detection"]


def _draw_rows(real, synthetic, n_rows, n_splits, rng, name):
    """Equal-size samples of both tables (the draws come from ``rng``)."""
    n = min(n_rows, len(real), len(synthetic))
    if n < n_splits:
        raise TabaeError(f"{name} needs at least n_splits={n_splits} rows per table, got {n}.")
    return subsample(real, n, rng), subsample(synthetic, n, rng), n


def c2st_auc(real, synthetic, *, kinds=None, n_rows=6000, n_splits=5, random_state=0, metadata=None):
    """The ROC-AUC behind :func:`c2st`.

    Parameters are those of :func:`c2st`; ``random_state`` may be a
    :class:`numpy.random.Generator`, whose draws it then advances (that is
    how :func:`~tabae.metrics.evaluate` chains its metrics).

    Returns
    -------
    float
        The cross-validated ROC-AUC: 0.5 when the classifier cannot tell the
        tables apart, 1 when it always can.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> real = pd.DataFrame({"x": np.random.default_rng(0).normal(size=300)})
    >>> c2st_auc(real, real + 5) > 0.95
    True
    """
    refuse_metadata(metadata)
    check_frames(real, synthetic)
    kinds = column_kinds(real, kinds)
    rng = np.random.default_rng(random_state)
    real, synthetic, n = _draw_rows(real, synthetic, n_rows, n_splits, rng, "c2st")
    encoded = encode([real, synthetic], kinds)
    xr, categorical = tree_features(encoded, kinds, list(kinds), 0)
    xs, _ = tree_features(encoded, kinds, list(kinds), 1)
    x, y = np.vstack([xr, xs]), np.repeat([0, 1], n)
    clf = HistGradientBoostingClassifier(categorical_features=categorical, random_state=draw_seed(rng))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=draw_seed(rng))
    return float(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc").mean())


def c2st(real, synthetic, *, kinds=None, n_rows=6000, n_splits=5, random_state=0, metadata=None):
    """Classifier two-sample test: can a model tell synthetic rows from real ones?

    Draws ``min(n_rows, len(real), len(synthetic))`` rows from each table,
    labels them real/synthetic and measures the ROC-AUC of a
    ``HistGradientBoostingClassifier`` (categorical columns split natively)
    with stratified ``n_splits``-fold cross-validation. Trees are used
    because they catch differences a linear model cannot (interactions,
    modes, thresholds); see :func:`logistic_detection` for SDMetrics' linear test.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes
        (as in :func:`~tabae.metrics.column_shapes`).
    n_rows : int, default=6000
        Rows drawn from each table (fewer if a table is smaller).
    n_splits : int, default=5
        Cross-validation folds.
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the row draws, the folds and the classifier.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

    Returns
    -------
    float
        ``1 - |2 * AUC - 1|``: 1 when the classifier cannot tell the tables
        apart (AUC 0.5), 0 when it separates them perfectly.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=300)})
    >>> c2st(real, real + 5) < 0.05
    True
    """
    auc = c2st_auc(
        real, synthetic, kinds=kinds, n_rows=n_rows, n_splits=n_splits,
        random_state=random_state, metadata=metadata,
    )
    return 1.0 - abs(2.0 * auc - 1.0)


def _linear_features(encoded, kinds):
    """Standardised numbers with missing indicators, and one-hot categories, of both frames.

    Numbers are centred and scaled by the real rows' mean and standard
    deviation (a constant column is only centred); infinities count as
    missing; a missing value becomes the mean (0 after scaling) and, for a
    column with any missing cell, a 0/1 indicator column says where. Each
    category, and missing, gets its own 0/1 column; categories beyond the
    :data:`~tabae.metrics.columns.MAX_CATEGORIES` most common share one.
    """
    blocks = ([], [])
    for col, kind in kinds.items():
        a, b = encoded[col]
        if kind == "numeric":
            a, b = (np.where(np.isfinite(v), v, np.nan) for v in (a, b))
            seen = a[~np.isnan(a)]
            mean = seen.mean() if len(seen) else 0.0
            std = seen.std() if len(seen) else 0.0
            std = std if std > 0 else 1.0
            missing = np.isnan(a).any() or np.isnan(b).any()
            for block, v in zip(blocks, (a, b), strict=True):
                block.append(np.nan_to_num((v - mean) / std, nan=0.0)[:, None])
                if missing:
                    block.append(np.isnan(v)[:, None].astype("float64"))
        else:
            # Codes rank by frequency, -1 is missing: shift so missing is column 0.
            a, b = (np.minimum(v, MAX_CATEGORIES - 1) + 1 for v in (a, b))
            levels = np.arange(max(a.max(), b.max()) + 1)
            for block, v in zip(blocks, (a, b), strict=True):
                block.append((v[:, None] == levels[None, :]).astype("float64"))
    return [np.hstack(block) for block in blocks]


def logistic_detection(real, synthetic, *, kinds=None, n_rows=6000, n_splits=5, random_state=0, metadata=None):
    """SDMetrics' ``LogisticDetection``: can a logistic regression tell the tables apart?

    Draws ``min(n_rows, len(real), len(synthetic))`` rows from each table,
    labels them real/synthetic and fits a scikit-learn ``LogisticRegression``
    (lbfgs, L2 with ``C=1``) with stratified ``n_splits``-fold
    cross-validation. Each fold's ROC-AUC is clamped at 0.5 and turned into
    ``max(AUC, 0.5) * 2 - 1`` and the score is one minus their mean, as
    SDMetrics computes it; with every fold at or above 0.5 that is
    ``1 - (2 * mean AUC - 1)``.

    The features roughly follow what SDMetrics' HyperTransformer feeds the
    model: numbers and datetimes are standardised on the real rows, a missing
    value is replaced by the mean and flagged in an extra 0/1 column (for
    columns with any missing cell), and infinities count as missing;
    categories and booleans are one-hot, missing as a category of its own
    (the 254 most common categories of a column keep their own column, the
    rest share one). SDMetrics' own transformer differs in details (recent
    RDT versions encode a category as one number and fill missing numbers
    at random), so expect scores close to SDMetrics', not equal.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes
        (as in :func:`~tabae.metrics.column_shapes`).
    n_rows : int, default=6000
        Rows drawn from each table (fewer if a table is smaller).
    n_splits : int, default=5
        Cross-validation folds (SDMetrics uses 3).
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the row draws and the folds (the fit itself is deterministic).
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

    Returns
    -------
    float
        1 when the model cannot tell the tables apart, 0 when it separates
        them perfectly.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    >>> logistic_detection(real, real.assign(x=real.x + 5)) < 0.05
    True
    """
    refuse_metadata(metadata)
    check_frames(real, synthetic)
    kinds = column_kinds(real, kinds)
    rng = np.random.default_rng(random_state)
    real, synthetic, n = _draw_rows(real, synthetic, n_rows, n_splits, rng, "logistic_detection")
    xr, xs = _linear_features(encode([real, synthetic], kinds), kinds)
    x, y = np.vstack([xr, xs]), np.repeat([0, 1], n)
    clf = LogisticRegression(max_iter=1000)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=draw_seed(rng))
    aucs = cross_val_score(clf, x, y, cv=cv, scoring="roc_auc")
    return float(1.0 - np.mean(np.maximum(aucs, 0.5) * 2.0 - 1.0))
