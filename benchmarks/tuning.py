"""Tuning benchmark: ``tabae.tune`` against the defaults, and what pruning saves.

Three parts, each side by side in one run (``BENCHMARKS.md`` protocols):

* **imputation** (letter, spam, adult; GAIN protocol, 20% MCAR, seeds as given):
  ``tune(df_missing, task="impute", n_trials=30)`` then ``result.model.impute``, against
  ``AEImputer()`` with its defaults and MissForest, all scored by
  ``benchmarks/imputation.py``'s evaluator. The tuner sees only ``df_missing``: the
  removed cells are never shown to it (it hides other cells of its own validation
  rows). The tuned column's time includes the search.
* **synthesis** (adult protocol: 26,000 train rows, 6,561 test rows, 26,000 generated):
  ``tune(train, task="synthesize", n_trials=20, target="income")`` against
  ``TabularVAE()`` defaults, both scored by ``tabae.metrics.evaluate`` on the test
  rows, which the tuner never sees (it validates on a share of the train rows).
* **pruning**: the same impute study (letter, seed 0) with the default pruner and with
  ``NopPruner``; training compute (epochs x training rows, summed over trials in
  order) until the running best comes within 1% of the better final best of the two.

Results go to ``results/tuning.json`` under ``runs.full`` (``runs.quick`` with
``--quick``, which runs a few tiny trials on a few hundred rows, only to check that
the script works). The full run takes hours on 2 cores::

    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. .venv/bin/python benchmarks/tuning.py
    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. .venv/bin/python benchmarks/tuning.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import imputation as gain  # noqa: E402  (benchmarks/imputation.py: data, masks, evaluator, baselines)

RESULTS = HERE / "results" / "tuning.json"
FULL = {"impute_trials": 30, "synth_trials": 20, "prune_trials": 30, "rows": None, "synth_train": 26_000,
        "synth_test": None, "epochs": None}
QUICK = {"impute_trials": 3, "synth_trials": 2, "prune_trials": 6, "rows": 400, "synth_train": 1500,
         "synth_test": 600, "epochs": 4}


def _space(cfg):
    return None if cfg["epochs"] is None else {"epochs": cfg["epochs"]}


# ------------------------------------------------------------------------ data
def load_table(dataset):
    """``benchmarks/imputation.py``'s tables; adult from the first copy found (the same UCI file)."""
    if dataset != "adult":
        return gain.load_dataset(dataset)
    for path in (HERE / "data" / "adult.csv", HERE.parent.parent / "shared" / "datasets" / "adult.csv"):
        if path.exists():
            return pd.read_csv(path, skipinitialspace=True, na_values="?")
    import tabae

    return tabae.datasets.load_adult()


# ------------------------------------------------------------------------ imputation
def impute_run(dataset, seed, cfg):
    import tabae
    from tabae.impute import imputation_model
    from tabae.tuning import tune

    full = load_table(dataset)
    if cfg["rows"]:
        full = full.sample(cfg["rows"], random_state=seed).reset_index(drop=True)
    removed = gain.mcar_mask(full.shape, seed, 0.2)
    mixed = dataset in gain.MIXED_DATASETS
    if mixed:
        removed &= ~full.isna().to_numpy()
    df_missing = full.mask(removed)

    def score(imputed):
        if mixed:
            return gain.evaluate_mixed(full, df_missing, imputed, removed, False, dataset)
        return gain.evaluate_numeric(full.to_numpy("float64"), df_missing.to_numpy("float64"),
                                     np.asarray(imputed, dtype="float64"), removed, False, dataset)

    out = {}
    start = time.perf_counter()
    result = tune(df_missing, task="impute", n_trials=cfg["impute_trials"], random_state=seed,
                        search_space=_space(cfg))
    imputed = result.model.impute(df_missing)
    out["tuned"] = {**score(imputed), "time_s": time.perf_counter() - start, "best_params": _jsonable(
        result.best_params), "best_validation": result.best_value, "trials": result.counts()}

    start = time.perf_counter()
    estimator = imputation_model(len(df_missing), random_state=seed, verbose=False, epochs=cfg["epochs"])
    imputed = tabae.AEImputer(estimator, random_state=seed, verbose=False).fit(df_missing).transform(df_missing)
    out["defaults"] = {**score(imputed), "time_s": time.perf_counter() - start}

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputed = gain.impute_mixed("missforest", df_missing, seed) if mixed else \
            gain.impute_numeric("missforest", df_missing, seed)
    out["missforest"] = {**score(imputed), "time_s": time.perf_counter() - start}
    return out


# ------------------------------------------------------------------------- synthesis
def load_adult_split(cfg):
    df = load_table("adult")
    order = np.random.default_rng(0).permutation(len(df))
    n_train = cfg["synth_train"]
    train = df.iloc[order[:n_train]].reset_index(drop=True)
    test = df.iloc[order[n_train:]].reset_index(drop=True)
    if cfg["synth_test"]:
        test = test.iloc[: cfg["synth_test"]]
    return train, test


def synthesis_scores(train, test, synthetic, seed):
    from tabae.metrics import evaluate

    kinds = {c: "categorical" for c in gain.categorical_columns(train)}
    with threadpool_limits(1):  # HistGradientBoosting spin-waits on a shared 2-core machine
        report = evaluate(train, synthetic, holdout=test, target="income", kinds=kinds, random_state=seed)
    return {k: float(getattr(report, k)) for k in ("shapes", "trends", "c2st", "ml_auc", "ml_auc_real",
                                                     "dcr_share", "exact_copies")}


def synthesis_run(seed, cfg):
    import tabae
    from tabae.tuning import tune

    train, test = load_adult_split(cfg)
    n = len(train)
    out = {}
    start = time.perf_counter()
    result = tune(train, task="synthesize", n_trials=cfg["synth_trials"], target="income",
                        random_state=seed, search_space=_space(cfg))
    synthetic = result.model.sample(n, random_state=seed)
    out["tuned"] = {**synthesis_scores(train, test, synthetic, seed), "time_s": time.perf_counter() - start,
                    "best_params": _jsonable(result.best_params), "best_validation": result.best_value,
                    "trials": result.counts()}
    start = time.perf_counter()
    epochs = "auto" if cfg["epochs"] is None else cfg["epochs"]
    model = tabae.TabularVAE(random_state=seed, verbose=False, epochs=epochs).fit(train)
    synthetic = model.sample(n, random_state=seed)
    out["defaults"] = {**synthesis_scores(train, test, synthetic, seed), "time_s": time.perf_counter() - start}
    return out


# --------------------------------------------------------------------------- pruning
def pruning_run(dataset, seed, cfg):
    import optuna

    from tabae.tuning import tune

    full = load_table(dataset)
    if cfg["rows"]:
        full = full.sample(cfg["rows"], random_state=seed).reset_index(drop=True)
    df_missing = full.mask(gain.mcar_mask(full.shape, seed, 0.2))
    space = _space(cfg)
    if space is not None:
        space["epochs"] = cfg["epochs"] * 3  # room to prune in
    runs = {}
    for name, pruner in (("median (default)", None), ("none (NopPruner)", optuna.pruners.NopPruner())):
        start = time.perf_counter()
        result = tune(df_missing, task="impute", n_trials=cfg["prune_trials"], random_state=seed,
                            pruner=pruner, search_space=space, refit=False)
        trials = sorted(result.study.trials, key=lambda t: t.number)
        n_train = int(round(len(df_missing) * 0.8))
        runs[name] = {
            "seconds": time.perf_counter() - start,
            "states": result.counts(),
            "best": result.best_value,
            "curve": [(t.number, t.user_attrs.get("epochs_run", 0) * n_train,
                       t.value if t.state == optuna.trial.TrialState.COMPLETE else None) for t in trials],
        }
    bar = min(r["best"] for r in runs.values()) * 1.01  # impute minimises
    for run in runs.values():
        spent, best, reached = 0, np.inf, None
        for _, compute, value in run["curve"]:
            spent += compute
            if value is not None:
                best = min(best, value)
            if reached is None and best <= bar:
                reached = spent
        run["compute_total"] = spent
        run["compute_to_within_1pct"] = reached
    return {"dataset": dataset, "seed": seed, "bar": bar, "runs": runs}


# ----------------------------------------------------------------------------- output
def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    return obj


def _f(v, d=4):
    return "—" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{d}f}"


def print_tables(record):
    if record.get("imputation"):
        print("\n### Imputation (GAIN protocol, 20% MCAR): tuned vs defaults vs MissForest\n")
        print("| dataset | seed | tuned | AEImputer defaults | MissForest | tuned time | defaults time |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for key, res in record["imputation"].items():
            dataset, seed = key.split("|")
            if "rmse" in res["tuned"]:
                cells = [_f(res[m]["rmse"]) for m in ("tuned", "defaults", "missforest")]
            else:
                cells = [f"acc {_f(res[m]['cat_acc'], 3)} / rmse {_f(res[m]['num_rmse'])}"
                         for m in ("tuned", "defaults", "missforest")]
            print(f"| {dataset} | {seed} | " + " | ".join(cells)
                  + f" | {res['tuned']['time_s']:.0f} s | {res['defaults']['time_s']:.0f} s |")
    if record.get("synthesis"):
        print("\n### Synthesis (adult): tuned vs TabularVAE defaults\n")
        cols = ("shapes", "trends", "c2st", "ml_auc", "dcr_share")
        print("| generator | seed | " + " | ".join(cols) + " | time |")
        print("|" + " --- |" * (len(cols) + 3))
        for seed, res in record["synthesis"].items():
            for m in ("tuned", "defaults"):
                print(f"| {m} | {seed} | " + " | ".join(_f(res[m][c], 3) for c in cols)
                      + f" | {res[m]['time_s']:.0f} s |")
    if record.get("pruning"):
        p = record["pruning"]
        print(f"\n### Pruning ({p['dataset']}, seed {p['seed']}): compute = epochs x training rows\n")
        print("| pruner | trials | best | compute to within 1% | total compute | seconds |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, run in p["runs"].items():
            states = ", ".join(f"{v} {k.lower()}" for k, v in sorted(run["states"].items()))
            reach = run["compute_to_within_1pct"]
            reach = "never" if reach is None else f"{reach:,}"
            print(f"| {name} | {states} | {_f(run['best'])} | {reach} | "
                  f"{run['compute_total']:,} | {run['seconds']:.0f} |")


def save(path, mode, record):
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("about", "benchmarks/tuning.py: tabae.tune vs defaults; runs.full and runs.quick "
                             "(quick = tiny settings, only to check the script runs)")
    data.setdefault("runs", {})[mode] = _jsonable(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny trials on a few hundred rows (a smoke test)")
    parser.add_argument("--parts", default="imputation,synthesis,pruning")
    parser.add_argument("--datasets", default="letter,spam,adult")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--pruning-dataset", default="letter")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    parts = set(args.parts.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    import optuna

    import tabae

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    record = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "settings": cfg,
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
              "tabae": tabae.__version__, "optuna": optuna.__version__}
    if "imputation" in parts:
        record["imputation"] = {}
        for dataset in args.datasets.split(","):
            for seed in seeds:
                print(f"[tuning] imputation {dataset} seed {seed} ...", file=sys.stderr, flush=True)
                record["imputation"][f"{dataset}|{seed}"] = impute_run(dataset, seed, cfg)
                save(args.results, mode, record)
    if "synthesis" in parts:
        record["synthesis"] = {}
        for seed in seeds:
            print(f"[tuning] synthesis seed {seed} ...", file=sys.stderr, flush=True)
            record["synthesis"][str(seed)] = synthesis_run(seed, cfg)
            save(args.results, mode, record)
    if "pruning" in parts:
        print(f"[tuning] pruning {args.pruning_dataset} ...", file=sys.stderr, flush=True)
        record["pruning"] = pruning_run(args.pruning_dataset, seeds[0], cfg)
        save(args.results, mode, record)
    print_tables(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
