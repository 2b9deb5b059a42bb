"""What ``tune`` returns: the refitted best model, the study, and tables of its trials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd

from tabae.tuning.spaces import from_json

__all__ = ["TuningResult", "best_trials_table"]


def best_trials_table(study: optuna.Study, n: int = 5) -> pd.DataFrame:
    """The ``n`` best completed trials, best first: number, value, the parameters it
    tuned, epochs trained and seconds taken."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    reverse = study.direction == optuna.study.StudyDirection.MAXIMIZE
    done.sort(key=lambda t: t.value, reverse=reverse)
    rows = []
    for t in done[:n]:
        row = {"trial": t.number, "value": t.value}
        row.update(t.params)
        row["epochs_run"] = t.user_attrs.get("epochs_run")
        row["seconds"] = round(t.duration.total_seconds(), 1) if t.duration is not None else None
        rows.append(row)
    return pd.DataFrame(rows).set_index("trial") if rows else pd.DataFrame()


@dataclass
class TuningResult:
    """The outcome of :func:`tabae.tune`.

    Attributes
    ----------
    model : tabae model or None
        The best parameters' model, refitted on every row (None with ``refit=False``).
    study : optuna.Study
        Every trial, with its parameters, intermediate values and user attributes
        (``params``: the model parameters it used; ``model_seed``; ``epochs_run``;
        the objective's parts; ``reason`` for pruned and failed trials).
    best_params : dict
        The model parameters of the best trial that the search chose or the search
        space fixed (``hidden_dims`` as a tuple), ready for the model class:
        ``tabae.TabularVAE(**result.best_params)``.
    best_value : float
        The best trial's objective (see :mod:`tabae.tuning.objectives` for each task's).
    trials : pandas.DataFrame
        ``study.trials_dataframe()``: one row per trial.
    task, model_name, direction : str
    """

    model: Any
    study: optuna.Study
    best_params: dict
    best_value: float
    trials: pd.DataFrame = field(repr=False)
    task: str = ""
    model_name: str = ""
    direction: str = ""

    @property
    def best_trial(self) -> optuna.trial.FrozenTrial:
        return self.study.best_trial

    def summary(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` best completed trials (see :func:`best_trials_table`)."""
        return best_trials_table(self.study, n)

    def counts(self) -> dict:
        """How many trials ended in each state (``COMPLETE``, ``PRUNED``, ``FAIL``, ...)."""
        out: dict = {}
        for t in self.study.trials:
            out[t.state.name] = out.get(t.state.name, 0) + 1
        return out

    @classmethod
    def from_study(cls, study: optuna.Study, model, task: str, model_name: str) -> "TuningResult":
        best = study.best_trial
        return cls(
            model=model, study=study, best_params=from_json(best.user_attrs.get("params", {})),
            best_value=float(best.value), trials=study.trials_dataframe(), task=task, model_name=model_name,
            direction=study.direction.name.lower(),
        )
