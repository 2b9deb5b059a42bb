"""Score a synthetic table against the real table it imitates.

One call, :func:`evaluate`, returns a :class:`SyntheticReport` with the usual
fidelity, utility and privacy scores; each score is also a public function.
The definitions follow SDMetrics (``KSComplement``, ``TVComplement``,
``ColumnPairTrends``) so the numbers can be compared with published ones, but
only numpy, pandas, scipy and scikit-learn are needed.

Column kinds are read from the dtypes: numbers and datetimes are *numerical*;
strings, objects, categories and booleans are *categorical*. ``metadata``
overrides them per column, e.g. ``{"zip": "categorical"}`` (SDMetrics-style
``{"columns": {"zip": {"sdtype": "categorical"}}}`` is read as well).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

from tabae.exceptions import TabaeError, TabaeWarning

__all__ = [
    "SyntheticReport",
    "c2st",
    "column_shapes",
    "evaluate",
    "ml_efficacy",
    "pair_trends",
    "privacy",
]

_KINDS = {
    "numerical": "numerical",
    "datetime": "numerical",
    "categorical": "categorical",
    "boolean": "categorical",
    "ordinal": "categorical",
}
# HistGradientBoosting takes at most 255 categories per feature; rarer ones
# share the last code ("other").
_MAX_CATEGORIES = 255


# --------------------------------------------------------------------------
# Input checks and column encoding shared by every metric
# --------------------------------------------------------------------------


def _check_frames(first, second, names=("real", "synthetic")):
    """Raise unless both are non-empty DataFrames with the same columns."""
    for name, df in zip(names, (first, second)):
        if not isinstance(df, pd.DataFrame):
            raise TabaeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}.")
        if len(df) == 0 or df.shape[1] == 0:
            raise TabaeError(f"{name} is empty (shape {df.shape}); pass at least one row and column.")
    missing = [c for c in first.columns if c not in second.columns]
    extra = [c for c in second.columns if c not in first.columns]
    if missing or extra:
        raise TabaeError(
            f"{names[1]} must have the columns of {names[0]}: missing {missing}, unexpected {extra}."
        )


def _column_kinds(real, metadata=None):
    """Map every column to 'numerical' or 'categorical' (dtype, then metadata)."""
    kinds = {}
    for col in real.columns:
        s = real[col]
        numeric = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)
        # Booleans are numeric to pandas but two-valued categories to us.
        kinds[col] = "numerical" if numeric and not pd.api.types.is_bool_dtype(s) else "categorical"
    if metadata is None:
        return kinds
    if isinstance(metadata.get("columns"), dict):  # SDMetrics metadata
        metadata = {c: m.get("sdtype") for c, m in metadata["columns"].items()}
    for col, kind in metadata.items():
        if col not in kinds:
            raise TabaeError(f"metadata names column {col!r}, which real does not have.")
        if kind not in _KINDS:
            raise TabaeError(
                f"metadata[{col!r}] = {kind!r}; use one of {sorted(_KINDS)}."
            )
        kinds[col] = _KINDS[kind]
    return kinds


def _numbers(s):
    """A column as float64 with NaN for missing; datetimes become nanoseconds."""
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert(None)
        out = s.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        out[s.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _codes(columns, return_categories=False):
    """Integer codes shared by several versions of one categorical column.

    Codes rank the values by their joint frequency (0 = most common), so a cap
    on the number of categories keeps the common ones; missing is -1.
    """
    lengths = [len(c) for c in columns]
    joint = pd.concat([c.astype(object) for c in columns], ignore_index=True)
    codes, categories = pd.factorize(joint)
    order = np.argsort(-np.bincount(codes[codes >= 0], minlength=len(categories)), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(rank) else 0, -1)
    split = np.split(codes.astype(np.int64), np.cumsum(lengths)[:-1])
    return (split, np.asarray(categories, dtype=object)[order]) if return_categories else split


def _encode(frames, kinds):
    """Per column, aligned arrays for every frame: floats or shared codes."""
    return {
        col: [_numbers(df[col]) for df in frames]
        if kind == "numerical"
        else _codes([df[col] for df in frames])
        for col, kind in kinds.items()
    }


def _subsample(df, n, rng):
    """At most ``n`` rows drawn without replacement (all rows when fewer)."""
    if df is None or len(df) <= n:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]


def _seed(rng):
    """An int seed for scikit-learn, drawn from our generator."""
    return int(rng.integers(2**31 - 1))


# --------------------------------------------------------------------------
# Fidelity: column shapes and column-pair trends
# --------------------------------------------------------------------------


def _tv_complement(a, b):
    """``1 - TVD`` of two code arrays; missing (-1) is left out as in SDMetrics."""
    a, b = a[a >= 0], b[b >= 0]
    if len(a) == 0 or len(b) == 0:
        return np.nan
    k = max(a.max(), b.max()) + 1
    p = np.bincount(a, minlength=k) / len(a)
    q = np.bincount(b, minlength=k) / len(b)
    return 1.0 - 0.5 * np.abs(p - q).sum()


def _ks_complement(a, b):
    """``1 - KS`` of two float arrays; missing values are left out."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return np.nan
    return 1.0 - ks_2samp(a, b, method="asymp").statistic


def column_shapes(real, synthetic, *, metadata=None):
    """Per-column similarity of the marginal distributions.

    Numerical and datetime columns score ``1 - KS`` (the Kolmogorov-Smirnov
    distance of the two empirical CDFs, missing values left out); categorical
    and boolean columns score ``1 - TVD`` (total variation distance of the
    category frequencies, missing left out). Both match SDMetrics'
    ``KSComplement`` and ``TVComplement``; 1 means identical marginals.
    Because both ignore missing values, the shares of missing cells are
    reported next to the score.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` overrides of the kinds
        inferred from the dtypes.

    Returns
    -------
    pandas.DataFrame
        One row per column: ``column``, ``metric``, ``score``,
        ``real_missing`` and ``synthetic_missing`` (shares of missing cells).

    Examples
    --------
    >>> import pandas as pd
    >>> real = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": list("aabb")})
    >>> column_shapes(real, real.assign(x=real.x + 10))["score"].tolist()
    [0.0, 1.0]
    """
    _check_frames(real, synthetic)
    kinds = _column_kinds(real, metadata)
    encoded = _encode([real, synthetic], kinds)
    rows = []
    for col, kind in kinds.items():
        a, b = encoded[col]
        numerical = kind == "numerical"
        rows.append({
            "column": col,
            "metric": "KSComplement" if numerical else "TVComplement",
            "score": _ks_complement(a, b) if numerical else _tv_complement(a, b),
            "real_missing": float(np.mean(np.isnan(a) if numerical else a < 0)),
            "synthetic_missing": float(np.mean(np.isnan(b) if numerical else b < 0)),
        })
    return pd.DataFrame(rows)


def _bin_codes(a, b, bins):
    """Equal-width bin codes of two float arrays, with edges from ``a``.

    Values outside the real range get their own low/high bin and missing its
    own code, so a synthetic column that leaves the real range is penalised.
    """
    finite = a[~np.isnan(a)]
    if len(finite) == 0:
        return np.zeros(len(a), np.int64), np.zeros(len(b), np.int64)
    edges = np.histogram_bin_edges(finite, bins=bins)
    out = []
    for x in (a, b):
        code = np.searchsorted(edges, x, side="right")  # 0 below, 1..bins inside
        code[x == edges[-1]] = bins  # the maximum closes the last bin
        code[np.isnan(x)] = bins + 2
        out.append(code.astype(np.int64))
    return out


def _contingency_similarity(a, b, ka, kb):
    """``1 - TVD`` of the joint frequency tables of two code pairs."""
    (ra, sa), (rb, sb) = a, b
    p = np.bincount(ra * kb + rb, minlength=ka * kb) / len(ra)
    q = np.bincount(sa * kb + sb, minlength=ka * kb) / len(sa)
    return 1.0 - 0.5 * np.abs(p - q).sum()


def pair_trends(real, synthetic, *, metadata=None, bins=10):
    """Per-pair similarity of the relationships between every two columns.

    Two numerical columns score ``1 - |r_real - r_syn| / 2`` with Pearson's
    correlation ``r`` over the rows where both are present (SDMetrics'
    ``CorrelationSimilarity``). Any pair with a categorical column scores
    ``1 - TVD`` of the two-way frequency table (``ContingencySimilarity``),
    missing counted as its own category and numerical columns cut into
    ``bins`` equal-width bins. Unlike SDMetrics 0.32, which bins each table on
    its own range, the bin edges come from the real column for both tables,
    so a shifted synthetic column is not hidden by re-binning. Every pair is
    scored (SDMetrics' ``QualityReport`` with both thresholds set to 0).

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` kind overrides.
    bins : int, default=10
        Number of equal-width bins for numerical columns in mixed pairs.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``column_1``, ``column_2``, ``metric``, ``score``,
        ``real_correlation`` and ``synthetic_correlation`` (NaN for
        contingency pairs). Scores are NaN where a correlation is undefined
        (a constant column).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> x = np.arange(100.0)
    >>> real = pd.DataFrame({"x": x, "y": 2 * x, "c": np.where(x < 50, "lo", "hi")})
    >>> pair_trends(real, real)["score"].round(3).tolist()
    [1.0, 1.0, 1.0]
    """
    _check_frames(real, synthetic)
    kinds = _column_kinds(real, metadata)
    encoded = _encode([real, synthetic], kinds)
    numerical = [c for c, k in kinds.items() if k == "numerical"]
    # pandas' corr() is Pearson over pairwise-complete rows, as SDMetrics.
    corr_real = pd.DataFrame({c: encoded[c][0] for c in numerical}).corr()
    corr_syn = pd.DataFrame({c: encoded[c][1] for c in numerical}).corr()
    discrete = {}
    for col, kind in kinds.items():
        a, b = encoded[col]
        # Shift so that missing (-1) becomes a category of its own.
        a, b = _bin_codes(a, b, bins) if kind == "numerical" else (a + 1, b + 1)
        discrete[col] = ((a, b), int(max(a.max(), b.max())) + 1)
    rows = []
    for c1, c2 in combinations(kinds, 2):
        if kinds[c1] == kinds[c2] == "numerical":
            r, s = corr_real.at[c1, c2], corr_syn.at[c1, c2]
            metric, score = "CorrelationSimilarity", 1.0 - abs(r - s) / 2
        else:
            (a, ka), (b, kb) = discrete[c1], discrete[c2]
            r = s = np.nan
            metric, score = "ContingencySimilarity", _contingency_similarity(a, b, ka, kb)
        rows.append({
            "column_1": c1, "column_2": c2, "metric": metric, "score": score,
            "real_correlation": r, "synthetic_correlation": s,
        })
    columns = ["column_1", "column_2", "metric", "score", "real_correlation", "synthetic_correlation"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------
# Detection and utility: classifier two-sample test, ML efficacy
# --------------------------------------------------------------------------


def _features(encoded, kinds, columns, frame):
    """Feature matrix of one frame for HistGradientBoosting, and its categorical mask.

    Categories go in as their shared codes (NaN when missing), capped at
    255 levels, so the trees split on them natively instead of on one-hots.
    """
    cols = []
    for col in columns:
        x = encoded[col][frame].astype("float64")
        if kinds[col] == "categorical":
            x = np.minimum(x, _MAX_CATEGORIES - 1)
            x[x < 0] = np.nan
        cols.append(x)
    categorical = np.array([kinds[c] == "categorical" for c in columns])
    return np.column_stack(cols), categorical


def _c2st_auc(real, synthetic, kinds, n_rows, n_splits, rng):
    n = min(n_rows, len(real), len(synthetic))
    if n < n_splits:
        raise TabaeError(f"c2st needs at least n_splits={n_splits} rows per table, got {n}.")
    real, synthetic = _subsample(real, n, rng), _subsample(synthetic, n, rng)
    encoded = _encode([real, synthetic], kinds)
    xr, categorical = _features(encoded, kinds, list(kinds), 0)
    xs, _ = _features(encoded, kinds, list(kinds), 1)
    x, y = np.vstack([xr, xs]), np.repeat([0, 1], n)
    clf = HistGradientBoostingClassifier(categorical_features=categorical, random_state=_seed(rng))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=_seed(rng))
    return float(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc").mean())


def c2st(real, synthetic, *, metadata=None, n_rows=6000, n_splits=5, random_state=0):
    """Classifier two-sample test: can a model tell synthetic rows from real ones?

    Draws ``min(n_rows, len(real), len(synthetic))`` rows from each table,
    labels them real/synthetic and measures the ROC-AUC of a
    ``HistGradientBoostingClassifier`` (categorical columns split natively)
    with stratified ``n_splits``-fold cross-validation.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` kind overrides.
    n_rows : int, default=6000
        Rows drawn from each table (fewer if a table is smaller).
    n_splits : int, default=5
        Cross-validation folds.
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the row draws, the folds and the classifier.

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
    _check_frames(real, synthetic)
    kinds = _column_kinds(real, metadata)
    auc = _c2st_auc(real, synthetic, kinds, n_rows, n_splits, np.random.default_rng(random_state))
    return 1.0 - abs(2.0 * auc - 1.0)


def _binary_classes(test, target):
    if target not in test.columns:
        raise TabaeError(f"target={target!r} is not a column; columns are {list(test.columns)}.")
    classes = sorted(pd.unique(test[target].dropna()), key=str)
    if len(classes) != 2:
        raise TabaeError(
            f"target={target!r} must be binary in the test rows; found {len(classes)} "
            f"classes {classes[:10]}."
        )
    return classes


def _ml_auc(train, test, target, kinds, rng):
    negative, positive = _binary_classes(test, target)
    known = train[target].isin([negative, positive])
    if (~known & train[target].notna()).any():
        warnings.warn(
            f"{(~known & train[target].notna()).mean():.1%} of the training rows have a "
            f"target={target!r} value that is neither {negative!r} nor {positive!r}; "
            "they are left out of the ML efficacy fit.",
            TabaeWarning,
            stacklevel=3,
        )
    train = train[known]
    test = test[test[target].notna()]
    y_train = (train[target] == positive).to_numpy()
    y_test = (test[target] == positive).to_numpy()
    if len(np.unique(y_train)) < 2:
        warnings.warn(
            f"The training rows hold fewer than two of the classes {[negative, positive]} "
            f"of target={target!r}; ML efficacy is set to the chance AUC 0.5.",
            TabaeWarning,
            stacklevel=3,
        )
        return 0.5
    columns = [c for c in kinds if c != target]
    if not columns:
        raise TabaeError(f"target={target!r} is the only column; ML efficacy needs features.")
    encoded = _encode([train, test], {c: kinds[c] for c in columns})
    x_train, categorical = _features(encoded, kinds, columns, 0)
    x_test, _ = _features(encoded, kinds, columns, 1)
    clf = HistGradientBoostingClassifier(categorical_features=categorical, random_state=_seed(rng))
    clf.fit(x_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))


def ml_efficacy(synthetic, test, target, *, metadata=None, random_state=0):
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
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` kind overrides.
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the classifier.

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
    _check_frames(test, synthetic, ("test", "synthetic"))
    kinds = _column_kinds(test, metadata)
    return _ml_auc(synthetic, test, target, kinds, np.random.default_rng(random_state))


# --------------------------------------------------------------------------
# Privacy: distance to closest record, exact copies
# --------------------------------------------------------------------------


def _nearest_l1(query, reference, block=512):
    """L1 distance from each query row to its nearest reference row.

    ``query`` and ``reference`` are lists of (values, numerical) per column:
    min-max scaled floats, where one missing side costs 1 and two cost 0, or
    category codes, where a mismatch costs 2 (the L1 distance of two
    one-hot vectors). Working per column on blocks of rows keeps memory at
    ``block * len(reference)`` floats without building the one-hot matrix.
    """
    n_query, n_ref = len(query[0][0]), len(reference[0][0])
    nearest = np.empty(n_query)
    for start in range(0, n_query, block):
        stop = min(start + block, n_query)
        dist = np.zeros((stop - start, n_ref))  # (B, R)
        for (q, numerical), (r, _) in zip(query, reference):
            q = q[start:stop, None]
            if not numerical:
                dist += 2.0 * (q != r[None, :])
                continue
            diff = np.abs(q - r[None, :])
            if np.isnan(diff).any():
                diff = np.where(np.isnan(diff), np.isnan(q) != np.isnan(r)[None, :], diff)
            dist += diff
        nearest[start:stop] = dist.min(axis=1)
    return nearest


def _row_hashes(encoded, kinds, frame):
    """One 64-bit hash per row of the encoded frame, for exact-match tests."""
    cols = {}
    for col in kinds:
        x = encoded[col][frame]
        if kinds[col] == "numerical":
            x = x + 0.0  # -0.0 and 0.0 must hash alike
        cols[col] = x
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


def _privacy(synthetic, train, holdout, kinds, max_synthetic, rng):
    encoded = _encode([synthetic, train, holdout], kinds)
    h_syn, h_train, h_hold = (_row_hashes(encoded, kinds, i) for i in range(3))
    # Equal-size train and holdout samples, so a generator that ignores its
    # training rows finds its nearest record in either with probability 1/2.
    n_ref = min(len(train), len(holdout))
    rows = [
        np.sort(rng.choice(n, size=min(n, m), replace=False))
        for n, m in ((len(synthetic), max_synthetic), (len(train), n_ref), (len(holdout), n_ref))
    ]
    columns = [[] for _ in range(3)]
    for col, kind in kinds.items():
        numerical = kind == "numerical"
        values = encoded[col]
        if numerical:
            # Scale by the real range so every number weighs like one category.
            ref = np.concatenate(values[1:])
            lo, hi = np.nanmin(ref, initial=np.inf), np.nanmax(ref, initial=-np.inf)
            span = hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0
            values = [(v - (lo if np.isfinite(lo) else 0.0)) / span for v in values]
        for i in range(3):
            columns[i].append((values[i][rows[i]], numerical))
    d_train = _nearest_l1(columns[0], columns[1])
    d_hold = _nearest_l1(columns[0], columns[2])
    return {
        "dcr_share": float(np.mean(d_train < d_hold) + 0.5 * np.mean(d_train == d_hold)),
        "exact_copies": float(np.isin(h_syn, h_train).mean()),
        "exact_copies_holdout": float(np.isin(h_hold, h_train).mean()),
    }


def privacy(synthetic, train, holdout, *, metadata=None, max_synthetic=5000, random_state=0):
    """How close synthetic rows sit to the generator's own training rows.

    **DCR share** (distance to closest record): for each synthetic row (at
    most ``max_synthetic``, drawn at random), find its nearest real row under
    L1 distance on min-max scaled numbers plus one-hot categories, searching
    an equal-size sample of ``train`` and the ``holdout`` rows. The share of
    synthetic rows whose nearest record is a training row (ties count half)
    is 0.5 for a generator that learned the distribution and not the rows;
    above 0.5 means it memorised. **Exact copies** is the share of synthetic
    rows equal to some training row in every column; the same rate for the
    holdout rows is the reference (real data holds duplicates too).

    Parameters
    ----------
    synthetic : pandas.DataFrame
        Generated rows.
    train : pandas.DataFrame
        The rows the generator was trained on, same columns.
    holdout : pandas.DataFrame
        Real rows the generator never saw, same columns.
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` kind overrides.
    max_synthetic : int, default=5000
        Synthetic rows used for the DCR share (its cost grows with their
        number times the holdout size).
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the row draws.

    Returns
    -------
    dict
        ``dcr_share``, ``exact_copies`` and ``exact_copies_holdout``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    >>> train, holdout = real[:200], real[200:]
    >>> privacy(train, train, holdout)
    {'dcr_share': 1.0, 'exact_copies': 1.0, 'exact_copies_holdout': 0.0}
    """
    _check_frames(train, synthetic, ("train", "synthetic"))
    _check_frames(train, holdout, ("train", "holdout"))
    kinds = _column_kinds(train, metadata)
    return _privacy(synthetic, train, holdout, kinds, max_synthetic, np.random.default_rng(random_state))


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------


@dataclass
class SyntheticReport:
    """Scores of a synthetic table against real data, from :func:`evaluate`.

    Scores that need ``holdout`` (or ``target``) are NaN when it was not given.

    Attributes
    ----------
    shapes : float
        Mean column-shape score (``1 - KS`` or ``1 - TVD``); 1 is best.
    trends : float
        Mean column-pair-trend score over all pairs; 1 is best.
    c2st : float
        ``1 - |2 AUC - 1|`` of a classifier telling real from synthetic; 1 is best.
    c2st_auc : float
        That classifier's ROC-AUC (0.5 is best).
    ml_auc : float
        ROC-AUC on ``holdout`` of a classifier of ``target`` trained on synthetic rows.
    ml_auc_real : float
        The same classifier trained on the real rows: the reference for ``ml_auc``.
    dcr_share : float
        Share of synthetic rows nearer to a training row than to a holdout row (0.5 is best).
    exact_copies : float
        Share of synthetic rows equal to a training row.
    exact_copies_holdout : float
        Share of holdout rows equal to a training row: the reference for ``exact_copies``.
    column_shapes : pandas.DataFrame
        Per-column scores (see :func:`column_shapes`).
    pair_trends : pandas.DataFrame
        Per-pair scores (see :func:`pair_trends`).
    """

    shapes: float
    trends: float
    c2st: float
    c2st_auc: float
    ml_auc: float = np.nan
    ml_auc_real: float = np.nan
    dcr_share: float = np.nan
    exact_copies: float = np.nan
    exact_copies_holdout: float = np.nan
    column_shapes: pd.DataFrame = field(default=None, repr=False)
    pair_trends: pd.DataFrame = field(default=None, repr=False)
    # The (subsampled) tables the scores came from, kept for plot().
    _real: pd.DataFrame = field(default=None, repr=False)
    _synthetic: pd.DataFrame = field(default=None, repr=False)
    _kinds: dict = field(default=None, repr=False)

    @property
    def quality(self):
        """Mean of ``shapes`` and ``trends``, as SDMetrics' overall quality score."""
        return (self.shapes + self.trends) / 2

    def summary(self):
        """One row per metric: its score, the reference to compare it with, and its meaning.

        Returns
        -------
        pandas.DataFrame
            Indexed by metric, with columns ``score``, ``reference`` and ``meaning``.
        """
        rows = [
            ("column shapes", self.shapes, 1.0,
             "mean 1-KS (numbers) / 1-TVD (categories) per column"),
            ("column pair trends", self.trends, 1.0,
             "mean correlation / contingency similarity per pair"),
            ("quality", self.quality, 1.0,
             "mean of shapes and trends (SDMetrics' overall score)"),
            ("C2ST", self.c2st, 1.0,
             "1 - |2 AUC - 1| of a classifier telling real from synthetic"),
            ("ML efficacy AUC", self.ml_auc, self.ml_auc_real,
             "train on synthetic, test on holdout; reference: trained on real"),
            ("DCR share", self.dcr_share, 0.5,
             "synthetic rows nearer to train than to holdout; above 0.5 memorises"),
            ("exact copies", self.exact_copies, self.exact_copies_holdout,
             "synthetic rows equal to a train row; reference: holdout rows"),
        ]
        table = pd.DataFrame(rows, columns=["metric", "score", "reference", "meaning"])
        return table.set_index("metric")

    def plot(self, path=None):
        """Draw real-vs-synthetic marginals and the pair-trend gap matrix.

        Needs matplotlib (``pip install tabae[plots]``). The last panel shows
        ``1 - score`` for every column pair: for two numerical columns that is
        half the difference of their correlations.

        Parameters
        ----------
        path : str or path-like, optional
            Save the figure there (format from the suffix) and close it.

        Returns
        -------
        matplotlib.figure.Figure
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise TabaeError(
                "SyntheticReport.plot needs matplotlib; install it with `pip install tabae[plots]`."
            ) from err
        columns = list(self._kinds)
        n_panels = len(columns) + 1
        n_cols = min(4, n_panels)
        n_rows = -(-n_panels // n_cols)
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(4 * n_cols, 3 * n_rows), squeeze=False)
        axes = axes.ravel()
        for ax, col in zip(axes, columns):
            _plot_marginal(ax, col, self._kinds[col], self._real[col], self._synthetic[col])
        _plot_gaps(fig, axes[len(columns)], columns, self.pair_trends)
        for ax in axes[n_panels:]:
            ax.set_visible(False)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
            plt.close(fig)
        return fig




def _plot_marginal(ax, col, kind, real, synthetic, top=10):
    """Overlaid histograms (numbers) or side-by-side bars of the top categories."""
    if kind == "numerical":
        a, b = _numbers(real), _numbers(synthetic)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        edges = np.histogram_bin_edges(a, bins=30) if len(a) else 30
        ax.hist(a, bins=edges, density=True, alpha=0.5, label="real")
        ax.hist(b, bins=edges, density=True, alpha=0.5, label="synthetic")
    else:
        (a, b), categories = _codes([real, synthetic], return_categories=True)
        k = min(top, len(categories))  # codes rank by frequency: 0..k-1 are the common ones
        pos = np.arange(k)
        for codes, shift, label in ((a, -0.2, "real"), (b, 0.2, "synthetic")):
            share = np.bincount(codes[(codes >= 0) & (codes < k)], minlength=k) / len(codes)
            ax.bar(pos + shift, share, width=0.4, label=label)
        ax.set_xticks(pos, [str(c)[:12] for c in categories[:k]], rotation=45, ha="right", fontsize=7)
    ax.set_title(str(col), fontsize=9)
    ax.legend(fontsize=7)


def _plot_gaps(fig, ax, columns, pairs):
    """Symmetric matrix of ``1 - score`` per column pair (0 = trend kept)."""
    index = {c: i for i, c in enumerate(columns)}
    gaps = np.zeros((len(columns), len(columns)))
    for c1, c2, score in pairs[["column_1", "column_2", "score"]].itertuples(index=False):
        gaps[index[c1], index[c2]] = gaps[index[c2], index[c1]] = 1.0 - score
    image = ax.imshow(gaps, cmap="Reds", vmin=0.0, vmax=max(0.2, float(np.nanmax(gaps))))
    ticks = [str(c)[:12] for c in columns]
    ax.set_xticks(range(len(columns)), ticks, rotation=90, fontsize=6)
    ax.set_yticks(range(len(columns)), ticks, fontsize=6)
    ax.set_title("pair trend gap (1 - score)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)


# --------------------------------------------------------------------------
# One call for everything
# --------------------------------------------------------------------------


def evaluate(
    real,
    synthetic,
    *,
    holdout=None,
    target=None,
    metadata=None,
    max_rows=50_000,
    random_state=0,
):
    """Score a synthetic table against the real one on fidelity, utility and privacy.

    Always computed: column shapes, column-pair trends (over all pairs) and
    the C2ST detection score on up to 6,000 rows per table. With
    ``holdout`` (real rows the generator never saw): the DCR share and
    exact-copy rates, taking ``real`` as the generator's training rows. With
    ``target`` as well: ML efficacy, and the same model trained on ``real``
    as the reference.

    Parameters
    ----------
    real : pandas.DataFrame
        The rows the generator was trained on.
    synthetic : pandas.DataFrame
        Generated rows with the same columns.
    holdout : pandas.DataFrame, optional
        Real rows kept out of training, same columns.
    target : str, optional
        A binary column to predict for ML efficacy; needs ``holdout``.
    metadata : dict, optional
        ``{"column": "numerical" | "categorical"}`` overrides of the kinds
        inferred from the dtypes.
    max_rows : int, default=50_000
        Each table is cut to a random ``max_rows`` rows first, which bounds the
        run time (a few seconds up to tens of seconds on two cores) at a
        sampling error of about 0.005 on the shape and trend scores.
    random_state : int, numpy.random.Generator or None, default=0
        Seed for every random draw; the global random state is left alone.

    Returns
    -------
    SyntheticReport

    Raises
    ------
    TabaeError
        If a table is empty or not a DataFrame, the columns differ, or
        ``target`` is missing, not binary, or given without ``holdout``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(["a", "b"], 600)})
    >>> report = evaluate(df[:300], df[300:])
    >>> bool(report.shapes > 0.9 and report.c2st > 0.7)
    True
    >>> list(report.summary().index[:3])
    ['column shapes', 'column pair trends', 'quality']
    """
    _check_frames(real, synthetic)
    if holdout is not None:
        _check_frames(real, holdout, ("real", "holdout"))
    if target is not None:
        if holdout is None:
            raise TabaeError(
                f"target={target!r} needs holdout=: real rows the generator never saw, to test on."
            )
        _binary_classes(holdout, target)
    kinds = _column_kinds(real, metadata)
    rng = np.random.default_rng(random_state)
    real, synthetic, holdout = (_subsample(df, max_rows, rng) for df in (real, synthetic, holdout))

    shapes = column_shapes(real, synthetic, metadata=kinds)
    trends = pair_trends(real, synthetic, metadata=kinds)
    auc = _c2st_auc(real, synthetic, kinds, n_rows=6000, n_splits=5, rng=rng)
    report = SyntheticReport(
        shapes=float(shapes["score"].mean()),
        trends=float(trends["score"].mean()) if len(trends) else np.nan,
        c2st=1.0 - abs(2.0 * auc - 1.0),
        c2st_auc=auc,
        column_shapes=shapes,
        pair_trends=trends,
        _real=real,
        _synthetic=synthetic,
        _kinds=kinds,
    )
    if holdout is not None:
        scores = _privacy(synthetic, real, holdout, kinds, max_synthetic=5000, rng=rng)
        report.dcr_share = scores["dcr_share"]
        report.exact_copies = scores["exact_copies"]
        report.exact_copies_holdout = scores["exact_copies_holdout"]
    if target is not None:
        report.ml_auc = _ml_auc(synthetic, holdout, target, kinds, rng)
        report.ml_auc_real = _ml_auc(real, holdout, target, kinds, rng)
    return report
