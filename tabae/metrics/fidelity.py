"""Fidelity: do the synthetic columns, and pairs of columns, look like the real ones?

:func:`column_shapes` compares each column's marginal distribution and
:func:`pair_trends` each pair's relationship. The definitions follow
SDMetrics (``KSComplement``, ``TVComplement``, ``CorrelationSimilarity``,
``ContingencySimilarity``, and ``QualityReport`` with both thresholds at 0)
so that the numbers compare with published ones.

Why ``pair_trends`` and SDMetrics disagree on columns with extreme values
------------------------------------------------------------------------
A pair with a categorical column is scored on a two-way frequency table, so a
numeric column is first cut into equal-width bins. SDMetrics cuts each
table's column on *that table's own* range; tabae cuts both tables' columns
on the *real* column's range, and gives values below or above it bins of
their own. The two agree while the synthetic column stays inside the real
range. They part when a numeric column has extreme values: if the synthetic
column leaves the real range (a shift, a stretch, a few huge values), SDMetrics
re-bins it on its own range, so bin 3 of the synthetic table covers other
values than bin 3 of the real one and the comparison can look good (a column
shifted as a whole lands in the same bin numbers) or bad (a single extreme
value squeezes all other rows into the first bins). tabae keeps one set of
edges for both tables, so every synthetic value outside the real range is
counted as such and the score is penalised instead of re-binned; likewise an
extreme value in the real column widens the bins for both tables alike.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from tabae.metrics.columns import check_frames, column_kinds, encode, refuse_metadata

__all__ = ["column_shapes", "pair_trends"]


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


def column_shapes(real, synthetic, *, kinds=None, metadata=None):
    """Per-column similarity of the marginal distributions.

    Numeric and datetime columns score ``1 - KS`` (the Kolmogorov-Smirnov
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
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes:
        tabae's kinds (``"numeric"``, ``"integer"``, ``"datetime"`` are
        compared as numbers, ``"categorical"``, ``"boolean"`` as labels),
        SDMetrics' sdtypes, or SDMetrics' ``{"columns": {...}}`` metadata.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

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
    refuse_metadata(metadata)
    check_frames(real, synthetic)
    kinds = column_kinds(real, kinds)
    encoded = encode([real, synthetic], kinds)
    rows = []
    for col, kind in kinds.items():
        a, b = encoded[col]
        numeric = kind == "numeric"
        rows.append({
            "column": col,
            "metric": "KSComplement" if numeric else "TVComplement",
            "score": _ks_complement(a, b) if numeric else _tv_complement(a, b),
            "real_missing": float(np.mean(np.isnan(a) if numeric else a < 0)),
            "synthetic_missing": float(np.mean(np.isnan(b) if numeric else b < 0)),
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


def pair_trends(real, synthetic, *, kinds=None, bins=10, metadata=None):
    """Per-pair similarity of the relationships between every two columns.

    Two numeric columns score ``1 - |r_real - r_syn| / 2`` with Pearson's
    correlation ``r`` over the rows where both are present (SDMetrics'
    ``CorrelationSimilarity``). Any pair with a categorical column scores
    ``1 - TVD`` of the two-way frequency table (``ContingencySimilarity``),
    missing counted as its own category and numeric columns cut into
    ``bins`` equal-width bins. Every pair is scored (SDMetrics'
    ``QualityReport`` with both thresholds set to 0).

    Unlike SDMetrics (0.32), which bins each table's column on that table's
    own range, the bin edges come from the real column for both tables, and
    synthetic values outside the real range get bins of their own. So a
    synthetic column that leaves the real range is penalised instead of
    re-binned, and the two scores disagree when a numeric column has extreme
    values (see :mod:`tabae.metrics.fidelity`).

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with the same columns.
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes
        (as in :func:`column_shapes`).
    bins : int, default=10
        Number of equal-width bins for numeric columns in mixed pairs.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

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

    A synthetic ``x`` shifted out of the real range keeps its correlation with
    ``y`` but loses its tie with ``c``: every shifted value lands in the bin
    above the real range.

    >>> pair_trends(real, real.assign(x=x + 1000))["score"].round(3).tolist()
    [1.0, 0.0, 1.0]
    """
    refuse_metadata(metadata)
    check_frames(real, synthetic)
    kinds = column_kinds(real, kinds)
    encoded = encode([real, synthetic], kinds)
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    # pandas' corr() is Pearson over pairwise-complete rows, as SDMetrics.
    corr_real = pd.DataFrame({c: encoded[c][0] for c in numeric}).corr()
    corr_syn = pd.DataFrame({c: encoded[c][1] for c in numeric}).corr()
    discrete = {}
    for col, kind in kinds.items():
        a, b = encoded[col]
        # Shift so that missing (-1) becomes a category of its own.
        a, b = _bin_codes(a, b, bins) if kind == "numeric" else (a + 1, b + 1)
        discrete[col] = ((a, b), int(max(a.max(), b.max())) + 1)
    rows = []
    for c1, c2 in combinations(kinds, 2):
        if kinds[c1] == kinds[c2] == "numeric":
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
