"""``tune``: search a model's parameters for one task with Optuna, then refit the best."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import optuna
import pandas as pd

from tabae.exceptions import TabaeError
from tabae.nn.training import steps_per_epoch
from tabae.seeding import seed_from
from tabae.tuning.objectives import DEFAULT_MODEL, TASKS, check_labels, make_objective, make_split
from tabae.tuning.result import TuningResult
from tabae.tuning.spaces import (
    MODELS,
    SearchSpaceError,
    build_model,
    check_params,
    default_point,
    resolve_search_space,
    suggest,
    to_json,
)
from tabae.tuning.storage import open_storage, open_study
from tabae.warnings_once import warnings_once

__all__ = ["tune", "default_pruner", "default_sampler", "trial_seed"]


def default_pruner() -> optuna.pruners.BasePruner:
    """``MedianPruner(n_startup_trials=4, n_warmup_steps=3)``: see :func:`tune` for why."""
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=3, interval_steps=1)


def default_sampler(seed: int, n_done: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    """A seeded multivariate TPE sampler; ``n_done`` (trials already in the study) moves
    its seed, so a continued study does not replay its first session's random draws."""
    startup = 10 if n_trials is None else int(min(10, max(4, n_trials // 3)))
    mixed = int(np.random.SeedSequence([seed, n_done]).generate_state(1)[0])
    return optuna.samplers.TPESampler(seed=mixed, n_startup_trials=startup, multivariate=True)


def refit_epochs(model, epochs: int, n_trial_rows: int, n_rows: int) -> int:
    """Epochs on ``n_rows`` rows that take as many optimiser steps as ``epochs`` took on
    ``n_trial_rows`` (each fit keeps its own validation split and batch size)."""
    def per_epoch(n):
        return steps_per_epoch(n, model.batch_size, model.validation_fraction)

    return max(1, round(epochs * per_epoch(n_trial_rows) / per_epoch(n_rows)))


def trial_seed(seed: int, number: int) -> int:
    """The model seed of trial ``number`` in a study seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, number, 7]).generate_state(1)[0])


class _EpochReporter:
    """``on_epoch`` of a trial's fit: report the per-epoch value, prune when told."""

    def __init__(self, trial, objective, model):
        self.trial, self.objective, self.model = trial, objective, model
        self.state: dict = {}
        self.epochs = 0

    def __call__(self, record: dict) -> None:
        epoch = int(record["epoch"])
        self.epochs = epoch
        value = float(self.objective.intermediate(self.model, self.state))
        if not math.isfinite(value):
            self.trial.set_user_attr("reason", f"the validation score is {value} at epoch {epoch} (training diverged)")
            raise optuna.TrialPruned(f"non-finite validation score at epoch {epoch}")
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.trial.set_user_attr("reason", f"pruned at epoch {epoch}: per-epoch value {value:.4g} was worse "
                                               "than the pruner's bar")
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")


@contextlib.contextmanager
def _optuna_quiet(verbose: bool):
    if verbose:
        yield
        return
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def _check_budget(n_trials, timeout, n_jobs) -> int | None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise TabaeError(f"timeout={timeout!r}; pass seconds > 0, or None for no time limit")
    if n_trials is not None and (isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer))):
        raise TabaeError(f"n_trials={n_trials!r}; pass an int >= 1 (or None with a timeout)")
    if n_trials is None or n_trials <= 0:
        if timeout is None:
            raise TabaeError(f"n_trials={n_trials!r} with no timeout would never stop; pass n_trials >= 1 "
                             "or timeout=seconds")
        n_trials = None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or not (n_jobs >= 1 or n_jobs == -1):
        raise TabaeError(f"n_jobs={n_jobs!r}; pass an int >= 1 (threads), or -1 for one per CPU")
    return None if n_trials is None else int(n_trials)


def tune(
    df: pd.DataFrame,
    *,
    task: str,
    model: str | None = None,
    n_trials: int | None = 20,
    timeout: float | None = None,
    storage=None,
    study_name: str | None = None,
    n_jobs: int = 1,
    search_space: Mapping[str, Any] | Callable | None = None,
    random_state=None,
    target: str | None = None,
    y=None,
    validation_fraction: float = 0.2,
    hide_fraction: float = 0.2,
    pruner: optuna.pruners.BasePruner | None = None,
    sampler: optuna.samplers.BaseSampler | None = None,
    refit: bool = True,
    callbacks: Iterable[Callable] | None = None,
    verbose: bool = False,
) -> TuningResult:
    """Search a model's parameters for one task, then refit the best on every row.

    A new study's first trial is the model's own defaults (``user_attrs["defaults"]``),
    so the best trial is never worse than the defaults on the validation objective.
    Each trial draws parameters, fits the model on the training rows (a random
    ``1 - validation_fraction`` of them) and scores it on the validation rows, which
    it never trained on (:mod:`tabae.tuning.objectives` defines each task's score).
    After the search, the best trial's parameters and seed are refitted on all rows
    (a searched ``epochs`` rescaled to the same number of optimiser steps).

    Parameters
    ----------
    df : pandas.DataFrame
        The table, holes and all.
    task : {"impute", "synthesize", "outliers", "encode"}
        ``"impute"``: lowest error on observed validation cells hidden from the model
        (min-max RMSE on numbers, error rate on categories, averaged by cell count);
        ``"synthesize"``: highest fidelity of a sample to the validation rows (mean of
        column shapes, pair trends and C2ST from :mod:`tabae.metrics`, and ML
        efficacy when ``target`` is named); ``"outliers"``: highest validation
        log-likelihood, or the ROC-AUC of ``decision_function`` when labels are given;
        ``"encode"``: highest validation log-likelihood (``model.score``).
    model : {"vae", "dae", "ae", "imputer"}, optional
        TabularVAE, DenoisingAE, Autoencoder, or the imputer's DenoisingAE
        (:func:`tabae.impute.imputation_model`). Default: "imputer" for impute, "vae"
        for synthesize and encode, "ae" for outliers. Synthesis needs "vae".
    n_trials : int or None, default=20
        Trials to run in this call (added to those a continued study has). ``None``
        (or <= 0) runs until ``timeout``.
    timeout : float, optional
        Stop starting trials after this many seconds.
    storage : None, str, path or optuna storage
        Where the study lives (see :mod:`tabae.tuning.storage`): ``None`` (memory), a
        journal file (``"tune.log"``), an SQLite file (``"tune.db"``) or an SQLAlchemy
        URL (``"sqlite:///tune.db"``, ``"postgresql://user:password@host/db"``).
        ``optuna-dashboard <storage>`` shows it live.
    study_name : str, optional
        Default ``"tabae-<task>-<model>"``. The same storage and name continue a study
        (after an interrupt, or from several processes or machines at once).
    n_jobs : int, default=1
        Trials run side by side in threads of this process (-1: one per CPU).
        Results are reproducible only with ``n_jobs=1``. To use several processes or
        machines, run ``tune`` in each with one storage and study name.
    search_space : dict or callable, optional
        A dict merged into the default ranges (:func:`~tabae.tuning.spaces.default_search_space`):
        an ``optuna.distributions`` object searches that parameter (narrowing,
        widening or adding it), a plain value fixes it; ``width`` and ``depth`` make
        ``hidden_dims`` (or fix ``hidden_dims`` to a tuple). Ranges and values are
        checked against the model's ``parameter_constraints`` before any trial. Or a
        callable ``f(trial) -> dict`` of model parameters, which replaces the default
        ranges (use ``trial.suggest_*`` in it).
    random_state : int, optional
        Seeds the validation split, the sampler and each trial's model. The same
        seed (with ``n_jobs=1`` and a fresh study) gives the same trials and the
        same best model.
    target : str, optional
        A binary column: with ``"synthesize"``, ML efficacy on it joins the score;
        with ``"outliers"``, it holds the labels (1 = outlier) and is left out of the
        model's columns.
    y : array-like, optional
        Outlier labels for ``"outliers"``, one per row (1 = outlier): the score becomes
        the ROC-AUC. The model never sees them.
    validation_fraction : float, default=0.2
        Share of rows kept out of training to score trials (stratified on ``y``).
    hide_fraction : float, default=0.2
        ``"impute"``: share of the validation rows' observed cells hidden and scored.
    pruner : optuna pruner, optional
        Default :func:`default_pruner`; ``optuna.pruners.NopPruner()`` turns pruning off.
    sampler : optuna sampler, optional
        Default: a multivariate TPE sampler seeded from ``random_state``.
    refit : bool, default=True
        Refit the best parameters on every row (False: ``result.model`` is None; for
        extra worker processes that only add trials).
    callbacks : list of callables, optional
        Optuna callbacks ``f(study, trial)`` called after each trial.
    verbose : bool, default=False
        Let Optuna log every trial.

    Returns
    -------
    TuningResult

    Raises
    ------
    TabaeError
        For an unknown task or model; a search-space entry for a parameter the model
        lacks or outside its constraints; ``n_trials <= 0`` with no timeout; a storage
        that cannot be opened; a study name recorded for another task, model or table;
        a ``target`` or ``y`` that does not fit the table; or when no trial completes.

    Notes
    -----
    **Pruning.** After every epoch the trial reports a per-epoch value comparable across
    parameters (the validation log-likelihood, or for imputation the NLL of the
    hidden validation cells) and stops when the pruner says so. The default is
    ``MedianPruner(n_startup_trials=4, n_warmup_steps=3)``, chosen over successive
    halving and Hyperband because tabae studies are small (tens of trials, each a
    full network fit): the median rule starts pruning after 4 complete trials and
    compares a trial with all earlier ones at the same epoch, so it works when
    trials have different epoch budgets (``epochs`` is searched) and stop early at
    different epochs; successive halving prunes at fixed rungs by rank among the
    few trials that reached them, and Hyperband splits a small study into brackets
    whose samplers each see only their own bracket's trials, which starves TPE.
    The 3 warm-up epochs keep the first, noisy epochs (and the VAE's KL warm-up)
    from deciding. ``benchmarks/tuning.py`` measures the compute it saves.

    **Failures.** A parameter combination a model refuses ends as a pruned trial; an
    error while training or scoring, or a non-finite score, as a failed one. Either
    way the reason is the trial's ``reason`` user attribute and the study goes on.
    A ``KeyboardInterrupt`` marks the running trial failed and propagates; the
    completed trials stay in ``storage`` and the same call continues the study.

    **Several machines.** Give every machine the same RDB URL (e.g.
    ``postgresql://user:password@host/db``) and ``study_name``, and run ``tune``
    (``refit=False`` on all but one) or ``tabae tune`` on each; trials are shared
    through the database. A journal file (``"tune.log"``) does the same for processes
    on one machine, with no server. Give each process its own ``random_state`` (or
    None), or they draw the same parameters.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tabae
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300)
    >>> df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=300), "c": np.where(x > 0, "a", "b")})
    >>> result = tabae.tuning.tune(
    ...     df, task="encode", model="ae", n_trials=2, random_state=0,
    ...     search_space={"epochs": 2, "width": 16, "depth": 1, "latent_dim": 2},
    ... )
    >>> len(result.study.trials), sorted(result.best_params)
    (2, ['epochs', 'hidden_dims', 'latent_dim', 'learning_rate'])
    >>> result.model.encode(df).shape
    (300, 2)
    """
    # ---- check everything before any storage is touched
    if task not in TASKS:
        raise TabaeError(f"task={task!r} is not known; choose one of {sorted(TASKS)}")
    model_name = DEFAULT_MODEL[task] if model is None else model
    if model_name not in MODELS:
        raise TabaeError(f"model={model_name!r} is not known; choose one of {sorted(MODELS)}")
    if task == "synthesize" and model_name != "vae":
        raise TabaeError(f"task='synthesize' needs model='vae' (only TabularVAE samples rows), not {model_name!r}")
    n_trials = _check_budget(n_trials, timeout, n_jobs)
    if not isinstance(df, pd.DataFrame):
        raise TabaeError(f"tune needs a DataFrame, got {type(df).__name__}; wrap an array with pandas.DataFrame(X)")
    features, labels = check_labels(df, task, target, y)
    sizes = make_split(len(features), validation_fraction, 0, labels)
    n_train = len(sizes.train)
    if callable(search_space) and not isinstance(search_space, Mapping):
        ranges, fixed = {}, {}
    elif search_space is None or isinstance(search_space, Mapping):
        ranges, fixed = resolve_search_space(model_name, n_train, search_space)
    else:
        raise TabaeError(f"search_space is a {type(search_space).__name__}; pass a dict or a callable f(trial) -> dict")
    seed = seed_from(random_state)

    # ---- the study
    study_name = study_name or f"tabae-{task}-{model_name}"
    with _optuna_quiet(verbose):
        study = open_study(
            open_storage(storage), study_name, task=task, model=model_name, direction=TASKS[task],
            columns=list(features.columns), split_seed=seed, sampler=optuna.samplers.RandomSampler(seed=seed),
            pruner=pruner if pruner is not None else default_pruner(),
            # A new study's first trial is the model's defaults: the best trial is then never
            # worse than the defaults on the validation objective (a random search of 20-30
            # trials around hand-tuned defaults often is).
            on_create=(lambda st: st.enqueue_trial(default_point(model_name, n_train, ranges),
                                                   user_attrs={"defaults": True})) if ranges else None,
        )
    study.sampler = sampler if sampler is not None else default_sampler(seed, len(study.trials), n_trials)
    split_seed = int(study.user_attrs["tabae_split_seed"])
    objective = make_objective(task, df, seed=split_seed, validation_fraction=validation_fraction,
                               hide_fraction=hide_fraction, target=target, y=y)

    def run(trial: optuna.Trial) -> float:
        try:
            drawn = search_space(trial) if callable(search_space) and not isinstance(search_space, Mapping) \
                else suggest(trial, ranges)
        except ValueError as err:
            if "Cannot set different" not in str(err) and "incompatible" not in str(err).lower():
                raise
            raise SearchSpaceError(
                f"the search space conflicts with the ranges this study searched before ({err}); continue a "
                "study with the same kind of range per parameter (int/float, log, step), or pass a new study_name"
            ) from None
        try:
            params = check_params(model_name, n_train, {**fixed, **dict(drawn)} if isinstance(drawn, Mapping)
                                  else drawn)
        except SearchSpaceError:
            raise
        except TabaeError as err:
            trial.set_user_attr("reason", f"refused parameters: {err}")
            raise optuna.TrialPruned(str(err)) from None
        model_seed = trial_seed(seed, trial.number)
        trial.set_user_attr("params", to_json(params))
        trial.set_user_attr("model_seed", model_seed)
        estimator = build_model(model_name, n_train, {**params, "random_state": model_seed})
        reporter = _EpochReporter(trial, objective, estimator)
        start = time.perf_counter()
        try:
            try:
                estimator.fit(objective.train_frame(), on_epoch=reporter)
            finally:
                trial.set_user_attr("epochs_run", reporter.epochs)
                trial.set_user_attr("fit_seconds", round(time.perf_counter() - start, 3))
            value, parts = objective.final(estimator, model_seed)
        except optuna.TrialPruned:
            raise
        except TabaeError as err:  # a combination the model refuses, found at fit
            trial.set_user_attr("reason", f"refused parameters: {err}")
            raise optuna.TrialPruned(str(err)) from None
        except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as err:
            trial.set_user_attr("reason", f"{type(err).__name__}: {err}")
            return float("nan")  # Optuna records a failed trial and goes on
        for key, part in parts.items():
            trial.set_user_attr(key, part)
        if not math.isfinite(value):
            trial.set_user_attr("reason", f"the objective is {value}")
            return float("nan")
        return float(value)

    with _optuna_quiet(verbose), warnings_once():  # a data warning once, not once per trial
        study.optimize(run, n_trials=n_trials, timeout=timeout, n_jobs=int(n_jobs),
                       callbacks=list(callbacks or []), catch=())
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        reasons = sorted({str(t.user_attrs.get("reason")) for t in study.trials if "reason" in t.user_attrs})
        states = {}
        for t in study.trials:
            states[t.state.name] = states.get(t.state.name, 0) + 1
        raise TabaeError(f"no trial of study {study_name!r} completed ({states}); reasons: {reasons[:3]}; "
                         "widen the search space or give more epochs")
    fitted = None
    if refit:
        best = study.best_trial
        params = check_params(model_name, len(features), dict(best.user_attrs["params"]))
        fitted = build_model(model_name, len(features), {**params, "random_state": int(best.user_attrs["model_seed"])})
        if "epochs" in ranges and isinstance(params.get("epochs"), (int, np.integer)):
            # A searched budget was so many optimiser steps on the training rows: keep the
            # steps, not the epochs, on the larger table (a value the user fixed stays).
            fitted.set_params(epochs=refit_epochs(fitted, int(params["epochs"]), n_train, len(features)))
        fitted.fit(features)
    return TuningResult.from_study(study, fitted, task, model_name)
