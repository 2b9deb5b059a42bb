"""Privacy: does the generator hand back its training rows?

A generator that learned the distribution, and not the rows, places its
synthetic rows as near to real rows it never saw (a holdout) as to the rows
it was trained on. :func:`privacy` measures that with the distance to the
closest record, and counts exact copies next to the rate at which real
holdout rows repeat training rows anyway.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tabae.metrics.columns import check_frames, column_kinds, encode, refuse_metadata

__all__ = ["privacy"]


def _nearest_l1(query, reference, block=512):
    """L1 distance from each query row to its nearest reference row.

    ``query`` and ``reference`` are lists of (values, numeric) per column:
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
        for (q, numeric), (r, _) in zip(query, reference, strict=True):
            q = q[start:stop, None]
            if not numeric:
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
        if kinds[col] == "numeric":
            x = x + 0.0  # -0.0 and 0.0 must hash alike
        cols[col] = x
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


def privacy(synthetic, train, holdout, *, kinds=None, max_synthetic=5000, random_state=0, metadata=None):
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
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes
        of ``train`` (as in :func:`~tabae.metrics.column_shapes`).
    max_synthetic : int, default=5000
        Synthetic rows used for the DCR share (its cost grows with their
        number times the holdout size).
    random_state : int, numpy.random.Generator or None, default=0
        Seed for the row draws.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

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
    refuse_metadata(metadata)
    check_frames(train, synthetic, ("train", "synthetic"))
    check_frames(train, holdout, ("train", "holdout"))
    kinds = column_kinds(train, kinds)
    rng = np.random.default_rng(random_state)
    encoded = encode([synthetic, train, holdout], kinds)
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
        numeric = kind == "numeric"
        values = encoded[col]
        if numeric:
            # Scale by the real range so every number weighs like one category.
            ref = np.concatenate(values[1:])
            lo, hi = np.nanmin(ref, initial=np.inf), np.nanmax(ref, initial=-np.inf)
            span = hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0
            values = [(v - (lo if np.isfinite(lo) else 0.0)) / span for v in values]
        for i in range(3):
            columns[i].append((values[i][rows[i]], numeric))
    d_train = _nearest_l1(columns[0], columns[1])
    d_hold = _nearest_l1(columns[0], columns[2])
    return {
        "dcr_share": float(np.mean(d_train < d_hold) + 0.5 * np.mean(d_train == d_hold)),
        "exact_copies": float(np.isin(h_syn, h_train).mean()),
        "exact_copies_holdout": float(np.isin(h_hold, h_train).mean()),
    }
