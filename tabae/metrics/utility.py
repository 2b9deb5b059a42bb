"""Utility: is a model trained on synthetic rows as good on real rows as one trained on real rows?

Fidelity scores compare distributions; this one asks what a user of the
synthetic table cares about, whether it can stand in for the real table to
train a classifier ("train on synthetic, test on real").
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from tabae.exceptions import TabaeError
from tabae.metrics.columns import (
    binary_classes,
    check_frames,
    column_kinds,
    draw_seed,
    encode,
    refuse_metadata,
    tree_features,
    warn,
)

__all__ = ["ml_efficacy"]


def ml_efficacy(synthetic, test, target, *, kinds=None, random_state=0, metadata=None):
    """Train on synthetic rows, test on real ones: ROC-AUC for a binary target.

    A ``HistGradientBoostingClassifier`` (categorical columns split natively)
    learns ``target`` from the other columns of ``synthetic`` and is scored on
    the real ``test`` rows. Compare with the same model trained on the real
    training rows (``ml_efficacy(train, test, target)``). Synthetic rows whose
    target is missing or not one of the test's two classes are left out.

    Parameters
    ----------
    synthetic : pandas.DataFrame
        Training rows (synthetic, or real ones for the reference score).
    test : pandas.DataFrame
        Real rows held out from the generator's training, same columns.
    target : str
        Name of a column with exactly two classes in ``test``.
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes
        of ``test`` (as in :func:`~tabae.metrics.column_shapes`).
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the classifier.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

    Returns
    -------
    float
        ROC-AUC on ``test`` (0.5 = chance; 0.5 with a warning when the
        training rows hold a single class).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "y": np.where(x > 0, "pos", "neg")})
    >>> ml_efficacy(df[:200], df[200:], "y") > 0.95
    True
    """
    refuse_metadata(metadata)
    check_frames(test, synthetic, ("test", "synthetic"))
    kinds = column_kinds(test, kinds)
    rng = np.random.default_rng(random_state)
    train = synthetic
    negative, positive = binary_classes(test, target)
    known = train[target].isin([negative, positive])
    if (~known & train[target].notna()).any():
        warn(
            f"{(~known & train[target].notna()).mean():.1%} of the training rows have a "
            f"target={target!r} value that is neither {negative!r} nor {positive!r}; "
            "they are left out of the ML efficacy fit."
        )
    train = train[known]
    test = test[test[target].notna()]
    y_train = (train[target] == positive).to_numpy()
    y_test = (test[target] == positive).to_numpy()
    if len(np.unique(y_train)) < 2:
        warn(
            f"The training rows hold fewer than two of the classes {[negative, positive]} "
            f"of target={target!r}; ML efficacy is set to the chance AUC 0.5."
        )
        return 0.5
    columns = [c for c in kinds if c != target]
    if not columns:
        raise TabaeError(f"target={target!r} is the only column; ML efficacy needs features.")
    encoded = encode([train, test], {c: kinds[c] for c in columns})
    x_train, categorical = tree_features(encoded, kinds, columns, 0)
    x_test, _ = tree_features(encoded, kinds, columns, 1)
    clf = HistGradientBoostingClassifier(categorical_features=categorical, random_state=draw_seed(rng))
    clf.fit(x_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))
