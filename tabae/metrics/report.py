"""One call for every score: :func:`evaluate` and its :class:`SyntheticReport`.

No single number says whether a synthetic table is good: it should look like
the real table (fidelity), be as useful for training models (utility) and not
hand back the training rows (privacy). :func:`evaluate` computes them all
with one seed, on one subsample, and :meth:`SyntheticReport.summary` sets each
score next to the reference it should be read against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tabae.exceptions import TabaeError
from tabae.metrics.columns import binary_classes, check_frames, column_kinds, refuse_metadata, subsample
from tabae.metrics.detection import c2st_auc, logistic_detection
from tabae.metrics.fidelity import column_shapes, pair_trends
from tabae.metrics.plots import plot_report
from tabae.metrics.privacy import privacy
from tabae.metrics.utility import ml_efficacy

__all__ = ["SyntheticReport", "evaluate"]


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
        ``1 - |2 AUC - 1|`` of gradient-boosted trees telling real from synthetic; 1 is best.
    c2st_auc : float
        That classifier's ROC-AUC (0.5 is best).
    logistic_detection : float
        SDMetrics' ``LogisticDetection``: the same test with a logistic
        regression, which sees only linear differences; 1 is best.
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
        Per-column scores (see :func:`~tabae.metrics.column_shapes`).
    pair_trends : pandas.DataFrame
        Per-pair scores (see :func:`~tabae.metrics.pair_trends`).

    Examples
    --------
    >>> report = SyntheticReport(shapes=0.9, trends=0.8, c2st=0.5, c2st_auc=0.75)
    >>> round(report.quality, 2)
    0.85
    """

    shapes: float
    trends: float
    c2st: float
    c2st_auc: float
    logistic_detection: float = np.nan
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

        Examples
        --------
        >>> report = SyntheticReport(shapes=0.9, trends=0.8, c2st=0.5, c2st_auc=0.75)
        >>> list(report.summary().index)  # doctest: +NORMALIZE_WHITESPACE
        ['column shapes', 'column pair trends', 'quality', 'C2ST', 'logistic detection',
         'ML efficacy AUC', 'DCR share', 'exact copies']
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
            ("logistic detection", self.logistic_detection, 1.0,
             "1 - (2 max(AUC, 0.5) - 1) of a logistic regression (SDMetrics' LogisticDetection)"),
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

        Needs matplotlib (``pip install tabae[plots]``); see
        :func:`tabae.metrics.plots.plot_report` for what is drawn.

        Parameters
        ----------
        path : str or path-like, optional
            Save the figure there (format from the suffix) and close it.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        TabaeError
            If matplotlib is not installed.
        """
        return plot_report(self._real, self._synthetic, self._kinds, self.pair_trends, path)


def evaluate(
    real,
    synthetic,
    *,
    holdout=None,
    target=None,
    kinds=None,
    max_rows=50_000,
    random_state=0,
    metadata=None,
):
    """Score a synthetic table against the real one on fidelity, utility and privacy.

    Always computed: column shapes, column-pair trends (over all pairs) and
    the two detection scores (C2ST and SDMetrics' logistic detection) on up
    to 6,000 rows per table. With ``holdout`` (real rows the generator never
    saw): the DCR share and exact-copy rates, taking ``real`` as the
    generator's training rows. With ``target`` as well: ML efficacy, and the
    same model trained on ``real`` as the reference.

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
    kinds : dict, optional
        ``{"column": kind}`` overrides of the kinds inferred from the dtypes:
        tabae's kinds (``"numeric"``, ``"integer"``, ``"datetime"`` are
        compared as numbers, ``"categorical"``, ``"boolean"`` as labels),
        SDMetrics' sdtypes, or SDMetrics' ``{"columns": {...}}`` metadata.
    max_rows : int, default=50_000
        Each table is cut to a random ``max_rows`` rows first, which bounds the
        run time at a small sampling error on the shape and trend scores.
    random_state : int, numpy.random.Generator or None, default=0
        Seed for every random draw; the global random state is left alone.
    metadata : None
        Removed (now ``kinds``); giving it raises :class:`~tabae.TabaeError`.

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
    >>> bool(report.shapes > 0.9 and report.c2st > 0.7 and report.logistic_detection > 0.7)
    True
    >>> list(report.summary().index[:3])
    ['column shapes', 'column pair trends', 'quality']
    """
    refuse_metadata(metadata)
    check_frames(real, synthetic)
    if holdout is not None:
        check_frames(real, holdout, ("real", "holdout"))
    if target is not None:
        if holdout is None:
            raise TabaeError(
                f"target={target!r} needs holdout=: real rows the generator never saw, to test on."
            )
        binary_classes(holdout, target)
    kinds = column_kinds(real, kinds)
    # One generator for every draw, in a fixed order: each metric below
    # advances it, so adding a metric at the end leaves the others' values alone.
    rng = np.random.default_rng(random_state)
    real, synthetic, holdout = (subsample(df, max_rows, rng) for df in (real, synthetic, holdout))

    shapes = column_shapes(real, synthetic, kinds=kinds)
    trends = pair_trends(real, synthetic, kinds=kinds)
    auc = c2st_auc(real, synthetic, kinds=kinds, n_rows=6000, n_splits=5, random_state=rng)
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
        scores = privacy(synthetic, real, holdout, kinds=kinds, max_synthetic=5000, random_state=rng)
        report.dcr_share = scores["dcr_share"]
        report.exact_copies = scores["exact_copies"]
        report.exact_copies_holdout = scores["exact_copies_holdout"]
    if target is not None:
        report.ml_auc = ml_efficacy(synthetic, holdout, target, kinds=kinds, random_state=rng)
        report.ml_auc_real = ml_efficacy(real, holdout, target, kinds=kinds, random_state=rng)
    report.logistic_detection = logistic_detection(
        real, synthetic, kinds=kinds, n_rows=6000, n_splits=5, random_state=rng
    )
    return report
