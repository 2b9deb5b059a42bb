"""Outlier detection with PyOD's conventions over any tabae model.

Label convention (as in PyOD): ``decision_function`` and ``decision_scores_`` are
*higher for more abnormal* rows, and ``predict`` returns 1 for outliers, 0 for inliers.
Note that scikit-learn's ``IsolationForest.decision_function`` and ``score_samples`` use
the opposite sign (higher = more normal); :meth:`AEOutlierDetector.score_samples`
follows scikit-learn's sign so it can stand in for those.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone

from tabae.adapters import SEED, check_adapter_fitted, is_model
from tabae.estimator import TableEstimatorMixin
from tabae.exceptions import TabaeError
from tabae.inputs import set_feature_names, to_frame
from tabae.nn.training import auto_epochs
from tabae.outlier_parts import OutlierEnsemble
from tabae.params import Boolean, Interval, NoneValue, Options, Predicate

__all__ = ["AEOutlierDetector"]

#: "ensemble" (the default), or one of the scoring methods of :meth:`tabae.Autoencoder.decision_function`.
_METHODS = ("ensemble", "reconstruction", "masked", "auto")

# The default model's step budget: a quarter of the Autoencoder's own. On the 30 ADBench
# tables the ensemble ranked outliers as well after 750 steps as after 3,000 (mean
# ROC-AUC .820 and .820, seed 0), in a third of the time.
_DEFAULT_STEPS = 750


class AEOutlierDetector(TableEstimatorMixin, BaseEstimator):
    """Rows the model finds unlikely are outliers; per-column contributions say why.

    By default (``method="ensemble"``) the score of a row adds up four views of it, each
    on a robust scale where a typical training row scores about 0 (see
    :mod:`tabae.outlier_parts`): the model's negative log-likelihood of the row's
    observed cells (the relations between columns), the distance of its latent code
    from the training codes (at a quarter weight), the rarity of each value in its own
    column, and how easily an isolation forest separates it in the encoded table. Each
    view's weight is then scaled, without labels, by how many of its strangest training
    rows the weighted sum also finds strangest (``ensemble_.view_weights_``; see
    :func:`tabae.outlier_parts.agreement_weights`). On the 30 ADBench tables of
    ``benchmarks/outliers.py`` the sum ranks outliers better than any single view and
    than IForest, ECOD, MCD and PyOD's AutoEncoder (docs/benchmarks.md). The other
    methods score with the model's :meth:`~tabae.Autoencoder.decision_function` alone.
    The names follow PyOD: ``decision_scores_``,
    ``threshold_``, ``labels_``, :meth:`predict` (1 = outlier), :meth:`predict_proba`,
    and :meth:`explain` for the per-column contributions.

    Parameters
    ----------
    estimator : tabae model, optional
        Unfitted model, cloned at fit. Default: :class:`tabae.Autoencoder` with
        standardised numbers (``numeric_encoding="standard"``) and a quarter of its
        usual step budget. On the ADBench tables this ranked outliers better than a
        denoising model or a rank-Gauss encoding, which flatten extreme values.
    contamination : float in (0, 0.5] or "auto", default=0.1
        Expected share of outliers, which sets ``threshold_`` as that quantile of the
        training scores. ``"auto"`` needs no guess: the threshold is the training
        median plus 3 robust standard deviations (1.4826 * MAD); 3.5 for the ensemble,
        whose score is a sum of four views floored softly at 0 (most rows score a
        little on some view, so its MAD is small): on the 30 ADBench tables 3.5 flagged
        9.9% of the rows on average, as many as they hold outliers (9.5%; 3 flagged
        12.5%).
    method : {"ensemble", "reconstruction", "masked", "auto"}, default="ensemble"
        ``"ensemble"``: the four views above. The others score with the model alone,
        see :meth:`tabae.DenoisingAE.decision_function`: ``"reconstruction"`` is the
        first view by itself (in nats, not rescaled); ``"masked"`` predicts each column
        with itself hidden (a :class:`~tabae.DenoisingAE`'s sharpest per-column
        explanations of single broken cells, one pass per column).
    random_state : int, optional
        Seed of the default estimator (a passed ``estimator`` keeps its own).
    n_jobs : int, "auto" or None, default=None
        Threads the model may use (its ``n_jobs``, set at fit and after loading); None
        keeps the model's own setting, one thread for the default model.
    verbose : bool, default=True
        Show a progress bar while the default estimator fits.

    Attributes
    ----------
    model_ : tabae model
        The fitted model.
    ensemble_ : OutlierEnsemble or None
        The fitted views and their scales (``method="ensemble"`` only).
    decision_scores_ : ndarray of shape (n_samples,)
        Outlier scores of the training rows (higher = more abnormal).
    threshold_ : float
        Scores above it are outliers.
    labels_ : ndarray of shape (n_samples,)
        Labels of the training rows (1 = outlier, 0 = inlier).
    n_features_in_ : int
        Number of columns seen at fit.
    feature_names_in_ : ndarray of str
        Column names seen at fit; only defined when ``X`` was a DataFrame.

    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().head(500)
    >>> model = tabae.Autoencoder(hidden_dims=(32,), latent_dim=4, epochs=3, verbose=False, random_state=0)
    >>> det = tabae.AEOutlierDetector(model, contamination=0.05).fit(df)
    >>> float(det.labels_.mean().round(2))
    0.05
    >>> det.explain(df.head(2)).shape
    (2, 15)
    >>> det.predict_proba(df.head(2)).shape
    (2, 2)
    """

    #: What each parameter accepts, checked at the top of :meth:`fit` (see :mod:`tabae.params`).
    parameter_constraints: dict = {
        "estimator": [
            NoneValue(),
            Predicate(lambda v: is_model(v, "decision_function"), "an unfitted tabae model, e.g. tabae.Autoencoder()"),
        ],
        "contamination": [Options("auto"), Interval(float, 0, 0.5, closed="right")],
        "method": [Options(*_METHODS)],
        "random_state": SEED,
        "n_jobs": [NoneValue(), Options("auto", -1), Interval(int, 1, None)],
        "verbose": [Boolean()],
    }

    def __init__(self, estimator=None, *, contamination=0.1, method="ensemble", random_state=None, n_jobs=None,
                 verbose=True):
        self.estimator = estimator
        self.contamination = contamination
        self.method = method
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y=None):
        """Fit the model on ``X`` and set the threshold from its scores.

        Parameters
        ----------
        X : DataFrame or 2-D array
            The training table (holes allowed).
        y : None
            Ignored: the detector is unsupervised.

        Returns
        -------
        AEOutlierDetector
            ``self``, fitted.
        """
        self.validate_params()
        df, was_frame = to_frame(X)
        if self.estimator is None:
            from tabae.models import Autoencoder

            epochs = auto_epochs(len(df), 512, _DEFAULT_STEPS)  # counted as ceil(rows / 512) steps an epoch
            # category_blend=False: the per-column classifiers and forests serve imputation only.
            model = Autoencoder(numeric_encoding="standard", epochs=epochs, category_blend=False,
                                random_state=self.random_state, verbose=self.verbose)
        else:
            model = clone(self.estimator)
        if self.n_jobs is not None:
            model.set_params(n_jobs=self.n_jobs)
        self.model_ = model.fit(df)
        set_feature_names(self, list(df.columns), was_frame)
        self.ensemble_ = None
        if self.method == "ensemble":
            seed = self.random_state if self.estimator is None else getattr(self.model_, "random_state", None)
            self.ensemble_ = OutlierEnsemble().fit(self.model_, df, _forest_seed(seed))
        scores = self.ensemble_.training_scores_ if self.ensemble_ is not None else self._scores(df)
        self.decision_scores_ = scores
        if self.contamination == "auto":
            median = np.median(scores)
            mad = np.median(np.abs(scores - median)) * 1.4826
            if not mad > 0 and (scores > median).any():
                # Half the rows or more tie (a constant score): the spread of the
                # others, not a zero threshold.
                above = scores[scores > median]
                mad = np.median(np.abs(above - np.median(above))) * 1.4826 or float(np.std(above))
            self.threshold_ = float(median + (3.5 if self.ensemble_ is not None else 3) * mad)
        else:
            self.threshold_ = float(np.quantile(scores, 1 - self.contamination))
        self.labels_ = (scores > self.threshold_).astype(int)
        return self

    def _frame(self, X) -> tuple[pd.DataFrame, bool]:
        check_adapter_fitted(self)
        if self.n_jobs is not None and self.model_.n_jobs != self.n_jobs:  # set_params after fit or load
            self.model_.set_params(n_jobs=self.n_jobs)
        return to_frame(X, list(self.model_.feature_names_in_))

    def _scores(self, df: pd.DataFrame) -> np.ndarray:
        if self.ensemble_ is not None:
            return self.ensemble_.score(df)
        return np.asarray(self.model_.decision_function(df, method=self.method), dtype=np.float64)

    def decision_function(self, X) -> np.ndarray:
        """Outlier score of each row; higher = more abnormal (PyOD's sign).

        Parameters
        ----------
        X : DataFrame or 2-D array
            Rows with the fitted columns; missing cells add 0, unseen categories are
            scored as the model's shared "other" category (with a warning).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        df, _ = self._frame(X)
        return self._scores(df)

    def score_samples(self, X) -> np.ndarray:
        """scikit-learn's sign: higher = more normal (the negated :meth:`decision_function`).

        Parameters
        ----------
        X : DataFrame or 2-D array

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return -self.decision_function(X)

    def predict(self, X) -> np.ndarray:
        """1 for outliers (score above ``threshold_``), 0 for inliers (PyOD's labels).

        Parameters
        ----------
        X : DataFrame or 2-D array

        Returns
        -------
        ndarray of int of shape (n_samples,)
        """
        return (self.decision_function(X) > self.threshold_).astype(int)

    def predict_proba(self, X) -> np.ndarray:
        """[inlier, outlier] probabilities, by min-max scaling of the training scores (PyOD's "linear").

        Parameters
        ----------
        X : DataFrame or 2-D array

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Rows sum to 1; scores beyond the training range are clipped to 0 or 1.
        """
        scores = self.decision_function(X)
        lo, hi = float(self.decision_scores_.min()), float(self.decision_scores_.max())
        p = np.clip((scores - lo) / max(hi - lo, 1e-12), 0, 1)
        return np.column_stack([1 - p, p])

    def explain(self, X):
        """Per-column contributions to each row's score (they sum to it).

        Parameters
        ----------
        X : DataFrame or 2-D array

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_features)
            A frame indexed like ``X`` (columns = the fitted columns) for a frame, an
            array for an array. Missing cells contribute exactly 0.
        """
        return self.score_and_explain(X)[1]

    def score_and_explain(self, X):
        """:meth:`decision_function` and :meth:`explain` in one pass over ``X``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        contributions : DataFrame or ndarray of shape (n_samples, n_features)
            As :meth:`explain` returns them.
        """
        df, was_frame = self._frame(X)
        if self.ensemble_ is not None:
            scores, values = self.ensemble_.score_and_explain(df)
            return scores, (pd.DataFrame(values, index=df.index, columns=self.ensemble_.columns_) if was_frame else values)
        contributions = self.model_.decision_function(df, per_column=True, method=self.method)
        return self._scores(df), (contributions if was_frame else np.asarray(contributions))

    # ================================================================== model files
    def save(self, path) -> None:
        """Write the fitted detector (its model, its ensemble, its threshold) to ``path``.

        The file is a tabae model file (JSON and raw arrays, sealed with a SHA-256; no
        pickle): :func:`tabae.load` reads it back as a detector whose scores, labels and
        explanations equal this one's, and ``tabae score`` scores tables with it.
        """
        from tabae.persistence import write_model_file

        check_adapter_fitted(self)
        if not hasattr(self.model_, "_fitted_state"):
            raise TabaeError(f"cannot save a detector over a {type(self.model_).__name__}: only tabae models save")
        model_meta, model_tensors = self.model_._fitted_state()
        params = self.get_params(deep=False)
        params["estimator"] = None if self.estimator is None else model_meta["params"]
        if isinstance(params["random_state"], np.random.Generator):
            params["random_state"] = None  # a generator is not data
        meta = {
            "class": type(self).__name__,
            "params": params,
            "model": model_meta,
            "ensemble": None,
            "fitted": {"threshold": self.threshold_, "frame_input": hasattr(self, "feature_names_in_")},
        }
        tensors = {f"model/{k}": v for k, v in model_tensors.items()}
        tensors["decision_scores"] = torch.tensor(np.asarray(self.decision_scores_, dtype=np.float64))
        if self.ensemble_ is not None:
            meta["ensemble"], ensemble_tensors = self.ensemble_.get_state()
            tensors.update({f"ensemble/{k}": v for k, v in ensemble_tensors.items()})
        write_model_file(path, meta, tensors)

    @classmethod
    def _from_fitted_state(cls, meta: dict, tensors: dict, device: str = "auto") -> AEOutlierDetector:
        """Rebuild a fitted detector from what :meth:`save` wrote (used by :func:`tabae.load`)."""
        from tabae.models.loading import model_from_state

        def section(prefix):
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        model = model_from_state(meta["model"], section("model/"), device)
        params = dict(meta["params"])
        if params["estimator"] is not None:
            params["estimator"] = clone(model)  # the unfitted model it was fitted from
        detector = cls(**params)
        detector.model_ = model
        names = list(model.feature_names_in_) if hasattr(model, "feature_names_in_") else model.encoder_.schema_.names
        set_feature_names(detector, names, meta["fitted"]["frame_input"])
        detector.ensemble_ = None
        if meta["ensemble"] is not None:
            detector.ensemble_ = OutlierEnsemble.from_state(meta["ensemble"], section("ensemble/"), model)
        detector.decision_scores_ = tensors["decision_scores"].numpy()
        detector.threshold_ = float(meta["fitted"]["threshold"])
        detector.labels_ = (detector.decision_scores_ > detector.threshold_).astype(int)
        return detector


def _forest_seed(random_state):
    """The isolation forest's seed from the detector's ``random_state`` (an int, None or a Generator)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    return random_state
