"""Imputation: a scikit-learn imputer over any tabae model, and Rubin's rules for pooling.

The model itself does the work (:meth:`BaseAutoencoder.impute` and
:meth:`BaseAutoencoder.impute_draws`); this module adapts it to scikit-learn's
``TransformerMixin`` conventions (``fit`` on training data, ``transform`` new data,
``set_output``, pipelines, model selection) and pools estimates across multiple
imputations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone

from tabae.adapters import SEED, check_adapter_fitted, is_model
from tabae.estimator import TableEstimatorMixin
from tabae.exceptions import TabaeError
from tabae.inputs import set_feature_names, to_frame
from tabae.nn.training import auto_epochs
from tabae.params import Boolean, NoneValue, Predicate

__all__ = ["AEImputer", "PooledEstimate", "pool", "imputation_model"]



def imputation_model(n_rows: int, *, random_state=None, verbose=True, epochs=None):
    """The (unfitted) model :class:`AEImputer` uses by default, tuned on the GAIN benchmark.

    A wide :class:`tabae.DenoisingAE` with standardised numbers and a squared-error loss
    (its numeric guesses are conditional means, which is what RMSE rewards), half of the
    visible cells hidden at each step and no swap noise (the loss then has more hidden
    cells to learn from), a cosine learning-rate decay from 4e-3, and both blended
    predictors: the Gaussian blend (small and near-linear tables) and the neighbour
    predictor (cluster-like tables). It trains for as many epochs as 3,000 steps of 512
    rows take (small tables, whose batches are smaller, take more steps; its benchmarks
    were measured so); early stopping ends small tables sooner. ``tabae fit --model imputer`` uses it too. See
    ``docs/benchmarks.md`` for the measurements behind these choices.

    Parameters
    ----------
    n_rows : int
        Rows of the table it will be fitted on (sets the number of epochs).
    random_state : int, optional
        Seed of the model.
    verbose : bool, default=True
        Show a progress bar while fitting.
    epochs : int, optional
        Train for this many epochs instead of about 3,000 steps.

    Returns
    -------
    DenoisingAE
        An unfitted model.

    Examples
    --------
    >>> from tabae.impute import imputation_model
    >>> model = imputation_model(1000, random_state=0, verbose=False)
    >>> model.mask_rate, model.gaussian_blend, model.neighbour_blend
    (0.5, True, 20)
    """
    from tabae.models import DenoisingAE

    return DenoisingAE(
        numeric_encoding="standard", numeric_loss="mse", latent_dim=32, hidden_dims=(imputation_width(n_rows),) * 2,
        mask_rate=0.5, swap_rate=0.0, gaussian_blend=True, neighbour_blend=20,
        learning_rate=4e-3, lr_schedule="cosine",
        epochs=auto_epochs(n_rows, 512, target_steps=3000) if epochs is None else epochs,
        random_state=random_state, verbose=verbose,
    )


def imputation_width(n_rows: int) -> int:
    """Hidden width of the imputation model: 256 below 4,000 rows, 512 from there.

    On the real-table benchmark's eight tables of 83 to 2,700 rows, 256 units imputed
    as well as 512 or better (mean NRMSE .749 vs .756, categorical accuracy .724 vs .697,
    two seeds) in 70% of the time; the GAIN tables of 4,601 and 20,000 rows were tuned
    at 512.
    """
    return 256 if n_rows < 4000 else 512


class AEImputer(TableEstimatorMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Fill missing values with an autoencoder; a drop-in scikit-learn imputer.

    ``transform`` returns one completed table (the model's best guess for every missing
    cell; every observed cell is kept bit-for-bit), a DataFrame for a DataFrame and an
    array for an array, so it works in pipelines, with ``set_output`` and in model
    selection. :meth:`transform_draws` returns several completions drawn from the model,
    for multiple imputation (pool the analyses with :func:`tabae.pool`).

    Parameters
    ----------
    estimator : tabae model, optional
        The (unfitted) model to use; it is cloned at fit. Default
        (:func:`imputation_model`): a :class:`tabae.DenoisingAE` trained to restore
        artificially hidden cells (half of the visible ones at each step), with
        standardised numbers and a squared-error loss (``numeric_encoding="standard",
        numeric_loss="mse"``, ``hidden_dims=(512, 512)``, ``latent_dim=32``): its numeric
        guesses are conditional means, which is what RMSE rewards. Its numeric
        imputations are blended with a Gaussian fitted by EM (``gaussian_blend=True``),
        which carries small and near-linear tables, and with the mean of the 20 most
        similar training rows (``neighbour_blend=20``), which carries cluster-like
        tables; the fitted model therefore holds up to 20,000 training rows (pass an
        estimator with ``neighbour_blend=0`` for a model file you will share). It
        trains for up to about 3,000 optimiser steps, with a cosine learning-rate decay.
    n_draws : None
        Removed: it must stay ``None``. ``transform`` always returns one completion; for
        multiple imputation call ``transform_draws(X, n_draws=k)``. Any other value
        raises a :class:`tabae.TabaeError` at fit that says so.
    random_state : int, optional
        Seed of the default estimator, and of :meth:`transform_draws` when it is given
        none (a passed ``estimator`` keeps its own ``random_state``).
    verbose : bool, default=True
        Show a progress bar while the default estimator fits.

    Attributes
    ----------
    model_ : tabae model
        The fitted model.
    n_features_in_ : int
        Number of columns seen at fit.
    feature_names_in_ : ndarray of str
        Column names seen at fit; only defined when ``X`` was a DataFrame.

    See Also
    --------
    tabae.DenoisingAE.impute : The model's own imputation method.
    tabae.pool : Rubin's rules over the analyses of several completions.

    Examples
    --------
    >>> import numpy as np, tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> holes = df.mask(np.random.default_rng(0).random(df.shape) < 0.1)
    >>> model = tabae.DenoisingAE(hidden_dims=(32,), latent_dim=4, epochs=3, verbose=False, random_state=0)
    >>> imputer = tabae.AEImputer(model).fit(holes)
    >>> filled = imputer.transform(holes)
    >>> int(filled.isna().sum().sum())
    0
    >>> bool((filled.dtypes == holes.dtypes).all())
    True
    >>> draws = imputer.transform_draws(holes, n_draws=3, random_state=0)
    >>> len(draws)
    3
    """

    #: What each parameter accepts, checked at the top of :meth:`fit` (see :mod:`tabae.params`).
    parameter_constraints: dict = {
        "estimator": [
            NoneValue(),
            Predicate(lambda v: is_model(v, "impute_draws"), "an unfitted tabae model, e.g. tabae.DenoisingAE()"),
        ],
        "n_draws": [NoneValue()],
        "random_state": SEED,
        "verbose": [Boolean()],
    }

    def __init__(self, estimator=None, *, n_draws=None, random_state=None, verbose=True):
        self.estimator = estimator
        self.n_draws = n_draws
        self.random_state = random_state
        self.verbose = verbose

    def validate_params(self) -> None:
        """Check every parameter before any work (see :class:`~tabae.estimator.TableEstimatorMixin`)."""
        if self.n_draws is not None:
            raise TabaeError(
                f"AEImputer: n_draws={self.n_draws!r} was removed: transform(X) now returns one completed "
                "table (scikit-learn's contract); for multiple imputation call "
                f"imputer.transform_draws(X, n_draws={self.n_draws!r}, random_state=...)"
            )
        super().validate_params()

    def fit(self, X, y=None):
        """Fit the model on ``X``.

        Parameters
        ----------
        X : DataFrame or 2-D array
            The training table, with holes anywhere.
        y : None
            Ignored (there for pipelines).

        Returns
        -------
        AEImputer
            ``self``, fitted.
        """
        self.validate_params()
        df, was_frame = to_frame(X)
        if self.estimator is None:
            model = imputation_model(len(df), random_state=self.random_state, verbose=self.verbose)
        else:
            model = clone(self.estimator)
        self.model_ = model.fit(df)
        set_feature_names(self, list(df.columns), was_frame)
        return self

    def _frame(self, X) -> tuple[pd.DataFrame, bool]:
        check_adapter_fitted(self)
        return to_frame(X, list(self.model_.feature_names_in_))

    def transform(self, X):
        """Fill the missing cells of ``X`` with the model's best guesses.

        Parameters
        ----------
        X : DataFrame or 2-D array
            A table with the fitted columns (a frame's columns in any order).

        Returns
        -------
        DataFrame or ndarray
            One completed table: a frame (index, column order and dtypes kept) for a
            frame, an array for an array.
        """
        df, was_frame = self._frame(X)
        out = self.model_.impute(df)
        return out if was_frame else out.to_numpy()

    def transform_draws(self, X, n_draws: int = 5, random_state=None) -> list:
        """``n_draws`` completions of ``X`` drawn from the model, for multiple imputation.

        Parameters
        ----------
        X : DataFrame or 2-D array
            A table with the fitted columns.
        n_draws : int, default=5
            Number of completions.
        random_state : int, optional
            Seed of the draws; ``None`` uses the imputer's ``random_state``.

        Returns
        -------
        list of DataFrame or list of ndarray
            Observed cells are kept in every draw; missing cells are drawn from the
            model's distribution given the row's visible cells.
        """
        df, was_frame = self._frame(X)
        seed = self.random_state if random_state is None else random_state
        draws = self.model_.impute_draws(df, n_draws=n_draws, random_state=seed)
        return draws if was_frame else [d.to_numpy() for d in draws]


@dataclass(frozen=True)
class PooledEstimate:
    """Rubin's rules over ``m`` imputations: the estimate and its variance parts.

    Attributes
    ----------
    estimate : ndarray
        Mean of the per-imputation estimates.
    within : ndarray
        Mean of the per-imputation variances.
    between : ndarray
        Variance of the estimates across imputations.
    total : ndarray
        ``within + (1 + 1/m) * between``.
    m : int
        Number of imputations.
    """

    estimate: np.ndarray
    within: np.ndarray
    between: np.ndarray
    total: np.ndarray
    m: int

    @property
    def std_error(self) -> np.ndarray:
        """Standard error of the pooled estimate, ``sqrt(total)``."""
        return np.sqrt(self.total)


def pool(estimates, variances=None) -> PooledEstimate:
    """Pool per-imputation estimates (and their variances) with Rubin's rules.

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, k)
        One estimate (or vector of estimates) per completed table.
    variances : array-like of the same shape, optional
        The estimates' variances within each completed table; none counts as 0.

    Returns
    -------
    PooledEstimate

    Raises
    ------
    TabaeError
        With fewer than 2 estimates.

    Examples
    --------
    >>> import numpy as np, tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> holes = df.mask(np.random.default_rng(0).random(df.shape) < 0.2)
    >>> model = tabae.DenoisingAE(hidden_dims=(32,), latent_dim=4, epochs=3, random_state=0, verbose=False)
    >>> draws = model.fit(holes).impute_draws(holes, n_draws=5, random_state=0)
    >>> est = [d["age"].mean() for d in draws]
    >>> var = [d["age"].var() / len(d) for d in draws]
    >>> pooled = tabae.pool(est, var)
    >>> 20 < float(pooled.estimate) < 60
    True
    """
    q = np.asarray(estimates, dtype=np.float64)
    m = q.shape[0]
    if m < 2:
        raise TabaeError(f"pool needs estimates from at least 2 imputations, got {m}; use n_draws >= 2")
    u = np.zeros_like(q[0]) if variances is None else np.asarray(variances, np.float64).mean(axis=0)
    b = q.var(axis=0, ddof=1)
    return PooledEstimate(q.mean(axis=0), u, b, u + (1 + 1 / m) * b, m)
