"""Tune a model with Optuna, continue the study, and read it: best trials, pruning, curves.

``tabae.tune`` searches a model's parameters for one job (here imputation: the error on
validation cells hidden from the model) and refits the best parameters on every row.
The study lives in an SQLite file, so a second call with the same ``storage`` continues
it (after a crash, or from another process), and ``optuna-dashboard`` can open it. Each
trial reports a validation value after every epoch; the median pruner stops trials
that are worse than the earlier ones at the same epoch.

Run: python recipes/tune_with_optuna.py [--fast] [--out DIR]
Figures: tuning_history.png (objective per trial, best so far),
tuning_curves.png (per-epoch values; pruned trials stop early). Study: DIR/tune.db.
"""

import sys
import warnings

import optuna
from _common import options, pyplot, save
from optuna.distributions import FloatDistribution, IntDistribution

import tabae


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    rows, first, more = (800, 3, 2) if args.fast else (2500, 8, 3)
    storage = args.out / "tune.db"
    storage.unlink(missing_ok=True)  # a fresh study each run of the recipe

    # The validation rows hold rare categories (a country seen twice) that some trials'
    # training rows lack: tabae maps them to the shared "other" slot and warns. Expected.
    warnings.filterwarnings("ignore", message=".*categories not seen at fit", category=tabae.TabaeWarning)
    df = tabae.datasets.load_adult().sample(rows, random_state=0)
    space = {  # merged into the default ranges: narrowed to keep the recipe short
        "epochs": IntDistribution(3, 8) if args.fast else IntDistribution(10, 30, log=True),
        "width": IntDistribution(32, 256, log=True),
        "depth": 1,  # a plain value fixes a parameter
        "mask_rate": FloatDistribution(0.1, 0.6),
    }
    # refit=False: this call only adds trials (as extra worker processes would).
    tabae.tune(df, task="impute", model="dae", n_trials=first, storage=str(storage),
               search_space=space, random_state=0, refit=False)
    # The same storage and study name continue the study: trials are added, not replaced.
    result = tabae.tune(df, task="impute", model="dae", n_trials=more, storage=str(storage),
                        search_space=space, random_state=1)

    print(f"trials by state: {result.counts()}")
    print(f"best value {result.best_value:.4f} with {result.best_params}")
    print(result.summary().round(4).to_string())
    filled = result.model.impute(df)  # the best parameters, refitted on every row
    assert filled.notna().sum().sum() >= df.notna().sum().sum()

    # The study is an ordinary Optuna study: load it anywhere from its storage.
    study = optuna.load_study(study_name="tabae-impute-dae", storage=f"sqlite:///{storage}")
    trials = study.trials_dataframe()
    print(trials[["number", "state", "value", "user_attrs_epochs_run"]].to_string(index=False))

    # ---- figures
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter([t.number for t in done], [t.value for t in done], label="complete")
    best, best_so_far = float("inf"), []
    for t in done:
        best = min(best, t.value)
        best_so_far.append(best)
    ax.step([t.number for t in done], best_so_far, where="post", color="black", label="best so far")
    for t in pruned:
        ax.axvline(t.number, color="grey", alpha=0.3, label="pruned" if t is pruned[0] else None)
    ax.axvline(first - 0.5, color="tab:red", linestyle=":", label="study continued")
    ax.set_xlabel("trial")
    ax.set_ylabel("imputation error (lower is better)")
    ax.legend(fontsize=8)
    save(fig, args.out, "tuning_history.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for t in study.trials:
        steps = sorted(t.intermediate_values)
        style = {"color": "grey", "alpha": 0.6} if t.state == optuna.trial.TrialState.PRUNED else {}
        ax.plot(steps, [t.intermediate_values[s] for s in steps], **style)
    ax.set_xlabel("epoch")
    ax.set_ylabel("per-epoch value reported to the pruner")
    ax.set_title("trials' learning curves (grey: pruned)")
    save(fig, args.out, "tuning_curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
