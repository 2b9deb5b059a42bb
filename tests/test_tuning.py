"""tabae.tuning: every task runs, bad input is refused, studies resume, share and prune."""

from __future__ import annotations

import argparse
import multiprocessing
import re

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import make_mixed, with_holes
from optuna.distributions import FloatDistribution, IntDistribution

import tabae
from tabae.tuning import default_search_space, tune
from tabae.tuning.command import add_tune_arguments, parse_search_space, run_tune_command
from tabae.tuning.spaces import MODELS, build_model

TINY = {"epochs": 3, "width": 16, "depth": 1, "latent_dim": 4}


@pytest.fixture(scope="module")
def table():
    return with_holes(make_mixed(240, seed=3), 0.1)


def states(study):
    out = {}
    for t in study.trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


# ----------------------------------------------------------------------------- tasks
@pytest.mark.parametrize("task, model, extra", [
    ("impute", "dae", {}),
    ("synthesize", "vae", {"target": "label"}),
    ("outliers", "ae", {"y": "planted"}),
    ("encode", "ae", {}),
])
def test_each_task_runs_and_refits(table, task, model, extra):
    df = table
    if extra.get("y") == "planted":
        df = table.copy()
        y = np.zeros(len(df), int)
        y[:12] = 1
        df.loc[:11, "x"] = 40.0  # planted outliers, far off the x range
        extra = {"y": y}
    result = tune(df, task=task, model=model, n_trials=2, random_state=0, search_space=TINY, **extra)
    assert states(result.study) == {"COMPLETE": 2}
    assert np.isfinite(result.best_value)
    assert result.study.user_attrs["tabae_task"] == task
    assert set(result.trials["state"]) == {"COMPLETE"}
    # the refit model: the best parameters, the best trial's seed, every row
    fitted = result.model
    assert fitted.get_params()["hidden_dims"] == (16,)
    assert fitted.random_state == result.best_trial.user_attrs["model_seed"]
    assert fitted.encode(df).shape == (len(df), 4)
    if task == "impute":
        assert {"num_rmse", "cat_error"} <= set(result.best_trial.user_attrs)
        assert not fitted.impute(df).isna().any().any()
    if task == "synthesize":
        assert {"shapes", "trends", "c2st", "ml_auc"} <= set(result.best_trial.user_attrs)
        assert fitted.sample(5, random_state=0).shape == (5, df.shape[1])
    if task == "outliers":
        assert 0.5 < result.best_value <= 1.0  # ROC-AUC on the validation rows
    rebuilt = type(fitted)(**result.best_params)  # best_params fit the model class
    assert rebuilt.get_params()["latent_dim"] == 4


def test_imputer_model_and_summary(table):
    result = tune(table, task="impute", n_trials=1, random_state=0, search_space={**TINY, "epochs": 2})
    assert result.model_name == "imputer" and result.model.neighbour_blend == 20
    summary = result.summary()
    assert list(summary.index) == [0] and "value" in summary


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, words", [
    ({"task": "cluster"}, "task="),
    ({"task": "encode", "model": "gan"}, "model="),
    ({"task": "synthesize", "model": "ae"}, "needs model='vae'"),
    ({"task": "encode", "search_space": {"colour": 3}}, "does not have"),
    ({"task": "encode", "search_space": {"random_state": 3}}, "random_state"),
    ({"task": "encode", "model": "dae", "search_space": {"mask_rate": FloatDistribution(0.0, 1.0)}}, "narrow"),
    ({"task": "encode", "search_space": {"learning_rate": FloatDistribution(0.0, 0.1)}}, "learning_rate"),
    ({"task": "encode", "search_space": {"latent_dim": 0}}, "latent_dim"),
    ({"task": "encode", "search_space": {"hidden_dims": (8,), "width": 3}}, "hidden_dims"),
    ({"task": "encode", "n_trials": 0}, "timeout"),
    ({"task": "encode", "n_trials": None}, "timeout"),
    ({"task": "encode", "storage": "nosuchdb://host/x"}, "cannot open storage"),
    ({"task": "encode", "storage": "/no/such/folder/tune.log"}, "does not exist"),
    ({"task": "encode", "storage": "tune.txt"}, "neither a URL"),
    ({"task": "synthesize", "target": "nope"}, "not a column"),
    ({"task": "synthesize", "target": "x"}, "distinct values"),
    ({"task": "encode", "target": "label"}, "not used by"),
    ({"task": "outliers", "y": [0, 1, 1]}, "labels but the table has"),
    ({"task": "outliers", "y": "letters"}, "0/1"),
    ({"task": "impute", "y": "zeros"}, "not used by"),
    ({"task": "encode", "validation_fraction": 1.5}, "validation_fraction"),
])
def test_bad_input_raises_tabae_error(table, kwargs, words):
    kwargs = dict(kwargs)
    labels = {"letters": np.where(np.arange(len(table)) < 20, "odd", "fine"), "zeros": np.zeros(len(table))}
    if isinstance(kwargs.get("y"), str):
        kwargs["y"] = labels[kwargs["y"]]
    kwargs.setdefault("n_trials", 1)
    with pytest.raises(tabae.TabaeError, match=re.escape(words)):
        tune(table, random_state=0, **kwargs)


def test_default_spaces_lie_inside_the_constraints():
    for model in MODELS:
        estimator = build_model(model, 500)
        constraints = estimator.parameter_constraints
        for name, dist in default_search_space(model, 500).items():
            if name in ("width", "depth"):
                assert dist.low >= 1
                continue
            for end in (dist.low, dist.high):
                assert any(c.accepts(end) for c in constraints[name]), (model, name, end)


# ----------------------------------------------------------------------------- spaces
def test_search_space_dict_narrows_fixes_and_extends(table):
    space = {"learning_rate": FloatDistribution(1e-3, 2e-3), "dropout": FloatDistribution(0.0, 0.2),
             "hidden_dims": (8,), "epochs": 2, "latent_dim": IntDistribution(2, 3)}
    result = tune(table, task="encode", model="ae", n_trials=3, random_state=1, search_space=space)
    for t in result.study.trials:
        assert 1e-3 <= t.params["learning_rate"] <= 2e-3
        assert 0 <= t.params["dropout"] <= 0.2 and t.params["latent_dim"] in (2, 3)
        assert "width" not in t.params and t.user_attrs["params"]["hidden_dims"] == [8]
    assert result.model.hidden_dims == (8,) and result.best_params["epochs"] == 2


def test_search_space_callable(table):
    def space(trial):
        return {"latent_dim": trial.suggest_int("latent_dim", 2, 3), "epochs": 2, "hidden_dims": [8]}

    result = tune(table, task="encode", model="ae", n_trials=2, random_state=0, search_space=space)
    assert set(result.best_params) == {"latent_dim", "epochs", "hidden_dims"}
    assert result.model.hidden_dims == (8,)

    with pytest.raises(tabae.TabaeError, match="does not have"):
        tune(table, task="encode", model="ae", n_trials=2, search_space=lambda t: {"colour": 1})
    # a refused value prunes the trial with its reason; with none complete, tune says why
    with pytest.raises(tabae.TabaeError, match="no trial .* completed.*latent_dim"):
        tune(table, task="encode", model="ae", n_trials=2, search_space=lambda t: {"latent_dim": 0})


# ----------------------------------------------------------------------------- seeds, pruning
def test_same_seed_same_trials_and_model(table):
    runs = [tune(table, task="encode", model="ae", n_trials=3, random_state=7, search_space=TINY)
            for _ in range(2)]
    a, b = ([(t.params, t.value) for t in r.study.trials] for r in runs)
    assert [p for p, _ in a] == [p for p, _ in b]
    np.testing.assert_allclose([v for _, v in a], [v for _, v in b], rtol=1e-6)
    np.testing.assert_allclose(runs[0].model.encode(table), runs[1].model.encode(table), rtol=1e-5, atol=1e-6)
    other = tune(table, task="encode", model="ae", n_trials=2, random_state=8, search_space=TINY, refit=False)
    assert other.study.trials[1].params != runs[0].study.trials[1].params
    assert other.model is None
    # the first trial of a new study is the model's defaults, whatever the seed
    assert other.study.trials[0].params == runs[0].study.trials[0].params == {"learning_rate": 1e-3}
    assert other.study.trials[0].user_attrs["defaults"] is True


def test_default_pruner_prunes_a_bad_learning_rate_range(table):
    space = {"learning_rate": FloatDistribution(1e-7, 3e-2, log=True), "epochs": 8, "hidden_dims": (16,)}
    result = tune(table, task="encode", model="ae", n_trials=8, random_state=0, search_space=space, refit=False)
    pruned = [t for t in result.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, states(result.study)
    assert all("pruned at epoch" in t.user_attrs["reason"] for t in pruned)
    assert all(t.user_attrs["epochs_run"] < 8 for t in pruned)


# ----------------------------------------------------------------------------- storage
def test_interrupt_then_resume_from_sqlite(table, tmp_path):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    interrupt_at = [2]

    def space(trial):
        if trial.number in interrupt_at:
            raise KeyboardInterrupt
        return {"latent_dim": trial.suggest_int("latent_dim", 2, 6), "epochs": 2, "hidden_dims": (8,)}

    with pytest.raises(KeyboardInterrupt):
        tune(table, task="encode", model="ae", n_trials=5, random_state=0, storage=storage, search_space=space)
    loaded = optuna.load_study(study_name="tabae-encode-ae", storage=storage)
    assert states(loaded) == {"COMPLETE": 2, "FAIL": 1}
    interrupt_at.clear()
    resumed = tune(table, task="encode", model="ae", n_trials=1, random_state=0, storage=storage,
                   search_space=space)
    assert states(resumed.study) == {"COMPLETE": 3, "FAIL": 1}
    # the default latent_dim range is log-scaled: the study's earlier one was not
    with pytest.raises(tabae.TabaeError, match="conflicts with the ranges"):
        tune(table, task="encode", model="ae", n_trials=1, storage=storage, search_space={"epochs": 2})
    assert resumed.study.user_attrs["tabae_model"] == "ae"
    with pytest.raises(tabae.TabaeError, match="tunes task='encode'"):
        tune(table, task="impute", model="ae", n_trials=1, storage=storage, study_name="tabae-encode-ae")
    with pytest.raises(tabae.TabaeError, match="columns"):
        tune(table.drop(columns=["y"]), task="encode", model="ae", n_trials=1, storage=storage)


def _worker(data, journal, seed):
    frame = pd.read_pickle(data)
    tune(frame, task="encode", model="ae", n_trials=2, random_state=seed, refit=False, storage=journal,
         search_space={"epochs": 2, "hidden_dims": (8,)})


def test_two_processes_share_a_journal_study(table, tmp_path):
    data, journal = str(tmp_path / "table.pkl"), str(tmp_path / "tune.log")
    table.to_pickle(data)
    # fork: the children reuse the imported modules (spawning two interpreters costs ~10 s here)
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_worker, args=(data, journal, seed)) for seed in (1, 2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    result = tune(table, task="encode", model="ae", n_trials=1, random_state=3, storage=journal,
                  search_space={"epochs": 2, "hidden_dims": (8,)}, refit=False)
    assert states(result.study) == {"COMPLETE": 5}
    assert len({t.user_attrs["model_seed"] for t in result.study.trials}) == 5


# ----------------------------------------------------------------------------- command line
def test_tune_command(table, tmp_path, capsys):
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    parser = add_tune_arguments(argparse.ArgumentParser())
    args = parser.parse_args([str(csv), "--task", "encode", "--model", "ae", "--n-trials", "2",
                              "--storage", str(tmp_path / "t.log"), "-o", str(tmp_path / "m.tabae"),
                              "--search-space", '{"epochs": 2, "hidden_dims": [8], "learning_rate": '
                                                '{"low": 0.001, "high": 0.01, "log": true}}'])
    assert run_tune_command(args) == 0
    out = capsys.readouterr().out
    assert "best value" in out and "optuna-dashboard" in out and "learning_rate" in out
    assert tabae.load(tmp_path / "m.tabae").hidden_dims == (8,)
    bad = parser.parse_args([str(csv), "--task", "encode", "--search-space", '{"colour": 1}'])
    assert run_tune_command(bad) == 2
    assert parse_search_space('{"depth": {"choices": [1, 2]}}')["depth"].choices == (1, 2)


def test_default_point_is_the_models_defaults_inside_the_ranges():
    from tabae.tuning.spaces import default_point, default_search_space

    space = default_search_space("vae", n_rows=2000)
    point = default_point("vae", 2000, space)
    vae = tabae.TabularVAE()
    assert point["beta"] == vae.beta and point["latent_dim"] == vae.latent_dim
    assert (point["width"], point["depth"]) == (vae.hidden_dims[0], len(vae.hidden_dims))
    assert point["epochs"] == vae.planned_epochs(2000)
    narrowed = {**space, "beta": FloatDistribution(0.6, 1.0)}  # the default 0.5 is outside: the sampler picks
    assert "beta" not in default_point("vae", 2000, narrowed)


def test_default_point_stays_on_a_stepped_range():
    from optuna.distributions import IntDistribution

    from tabae.tuning.spaces import default_point, default_search_space

    space = {**default_search_space("vae", n_rows=2000), "width": IntDistribution(100, 484, step=64)}
    assert "width" not in default_point("vae", 2000, space)  # 179 is not 100 + 64k
    space["width"] = IntDistribution(115, 499, step=64)
    assert default_point("vae", 2000, space)["width"] == 179


def test_refit_keeps_the_best_trials_optimiser_steps():
    from tabae.tuning.study import refit_epochs

    vae = tabae.TabularVAE()  # batches of 512, 10% validation
    # 20,800 rows: 18,720 train, 37 steps an epoch; 26,000 rows: 23,400 train, 46 steps
    assert refit_epochs(vae, 41, 20_800, 26_000) == round(41 * 37 / 46)
    assert refit_epochs(vae, 1, 20_800, 26_000) == 1
