"""Pictures of a synthetic table against the real one, for :meth:`SyntheticReport.plot`.

A score says how far apart two tables are, not where; the marginals side by
side and the matrix of pair-trend gaps show which columns and pairs to look
at. matplotlib is an optional dependency (``pip install tabae[plots]``), so
it is imported only when a figure is drawn.
"""

from __future__ import annotations

import numpy as np

from tabae.exceptions import TabaeError
from tabae.metrics.columns import codes, numbers

__all__ = ["plot_report"]


def _pyplot():
    """matplotlib.pyplot, or a TabaeError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise TabaeError(
            "SyntheticReport.plot needs matplotlib; install it with `pip install tabae[plots]`."
        ) from err
    return plt


def plot_report(real, synthetic, kinds, pair_trends, path=None):
    """Draw real-vs-synthetic marginals and the pair-trend gap matrix.

    One panel per column (overlaid histograms of numbers, side-by-side bars
    of the ten most common categories), then one panel with ``1 - score``
    for every column pair: for two numeric columns that is half the
    difference of their correlations.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        The tables, with the columns of ``kinds``.
    kinds : dict
        ``{column: "numeric" | "categorical"}``.
    pair_trends : pandas.DataFrame
        From :func:`~tabae.metrics.pair_trends`.
    path : str or path-like, optional
        Save the figure there (format from the suffix) and close it.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TabaeError
        If matplotlib is not installed.

    Examples
    --------
    >>> import pandas as pd
    >>> from tabae.metrics import pair_trends
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    >>> kinds = {"x": "numeric", "c": "categorical"}
    >>> fig = plot_report(df, df, kinds, pair_trends(df, df))  # doctest: +SKIP
    """
    plt = _pyplot()
    columns = list(kinds)
    n_panels = len(columns) + 1
    n_cols = min(4, n_panels)
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4 * n_cols, 3 * n_rows), squeeze=False)
    axes = axes.ravel()
    for ax, col in zip(axes, columns, strict=False):  # spare axes are hidden below
        _plot_marginal(ax, col, kinds[col], real[col], synthetic[col])
    _plot_gaps(fig, axes[len(columns)], columns, pair_trends)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
        plt.close(fig)
    return fig


def _plot_marginal(ax, col, kind, real, synthetic, top=10):
    """Overlaid histograms (numbers) or side-by-side bars of the top categories."""
    if kind == "numeric":
        a, b = numbers(real), numbers(synthetic)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        edges = np.histogram_bin_edges(a, bins=30) if len(a) else 30
        ax.hist(a, bins=edges, density=True, alpha=0.5, label="real")
        ax.hist(b, bins=edges, density=True, alpha=0.5, label="synthetic")
    else:
        (a, b), categories = codes([real, synthetic], return_categories=True)
        k = min(top, len(categories))  # codes rank by frequency: 0..k-1 are the common ones
        pos = np.arange(k)
        for found, shift, label in ((a, -0.2, "real"), (b, 0.2, "synthetic")):
            share = np.bincount(found[(found >= 0) & (found < k)], minlength=k) / len(found)
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
