"""The ``tabae tune`` command: tune a model on a CSV/Parquet table, save the best.

Wire it into ``tabae/cli.py``::

    p = sub.add_parser("tune", help="search a model's parameters for one task (Optuna)")
    add_tune_arguments(p)
    p.set_defaults(func=run_tune_command)

Example::

    tabae tune adult.csv --task synthesize --target income --n-trials 20 \\
        --storage tune.db -o best.tabae
    optuna-dashboard tune.db            # watch it (pip install optuna-dashboard)

Run the same command (with ``--no-refit`` and another ``--seed``) in more shells, or on
more machines with ``--storage postgresql://user:password@host/db``, to add trials to
the same study; Ctrl-C stops a run and the same command continues it.

``--search-space`` takes JSON (inline or a file name): a plain value fixes a parameter,
``{"low": 1e-4, "high": 1e-2, "log": true}`` searches a range (ints when both ends
are ints; ``"step"`` as in Optuna), ``{"choices": [...]}`` picks among values, and a
list fixes ``hidden_dims``: ``'{"epochs": 50, "mask_rate": {"low": 0.1, "high": 0.5}}'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabae.exceptions import TabaeError

__all__ = ["add_tune_arguments", "run_tune_command", "parse_search_space"]

_TASKS = ("impute", "synthesize", "outliers", "encode")
_MODELS = ("vae", "dae", "ae", "imputer")


def add_tune_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``tabae tune`` arguments to ``parser`` (a subcommand's parser)."""
    parser.add_argument("table", help="CSV or Parquet table to tune on")
    parser.add_argument("--task", required=True, choices=_TASKS)
    parser.add_argument("--model", choices=_MODELS, default=None,
                        help="default: imputer (impute), vae (synthesize, encode), ae (outliers)")
    parser.add_argument("--n-trials", "--trials", dest="n_trials", type=int, default=20,
                        help="trials to run now (default 20)")
    parser.add_argument("--timeout", type=float, default=None, help="stop starting trials after SECONDS")
    parser.add_argument("--storage", default=None,
                        help="study file or URL: tune.db, tune.log, sqlite:///tune.db, postgresql://...")
    parser.add_argument("--study-name", default=None, help="default: tabae-<task>-<model>")
    parser.add_argument("--n-jobs", type=int, default=1, help="trials side by side in threads")
    parser.add_argument("--target", default=None,
                        help="synthesize: binary column for ML efficacy; outliers: the label column (1 = outlier)")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--search-space", default=None, help="JSON (inline or a file): see `tabae tune --help`")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=5, help="best trials to print (default 5)")
    parser.add_argument("-o", "--output", default=None, help="model file for the refitted best model")
    parser.add_argument("--no-refit", action="store_true", help="only add trials (extra workers)")
    return parser


def parse_search_space(text: str | None) -> dict | None:
    """``--search-space`` JSON (inline or a file name) as a dict for ``tune``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if text is None:
        return None
    source = Path(text).read_text() if not text.lstrip().startswith("{") and Path(text).is_file() else text
    try:
        raw = json.loads(source)
    except json.JSONDecodeError as err:
        raise TabaeError(f"--search-space is not JSON ({err}); e.g. '{{\"epochs\": 50}}'") from None
    if not isinstance(raw, dict):
        raise TabaeError("--search-space must be a JSON object of parameter -> value or range")
    space = {}
    for name, value in raw.items():
        if isinstance(value, dict) and "choices" in value:
            space[name] = CategoricalDistribution(value["choices"])
        elif isinstance(value, dict):
            try:
                low, high = value["low"], value["high"]
            except KeyError:
                raise TabaeError(f"--search-space {name!r}: give low and high, or choices") from None
            log, step = bool(value.get("log", False)), value.get("step")
            if isinstance(low, int) and isinstance(high, int) and not isinstance(step, float):
                space[name] = IntDistribution(low, high, log=log, step=step or 1)
            else:
                space[name] = FloatDistribution(float(low), float(high), log=log, step=step)
        elif isinstance(value, list):
            space[name] = tuple(value)
        else:
            space[name] = value
    return space


def _progress_callback(bar):
    def callback(study, trial):
        counts: dict = {}
        for t in study.trials:
            counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
        try:
            best = f"{study.best_value:.4g}"
        except ValueError:  # nothing complete yet
            best = "-"
        bar.set_postfix({"best": best, **counts}, refresh=False)
        bar.update()

    return callback


def run_tune_command(args: argparse.Namespace) -> int:
    """Run ``tabae tune`` with parsed ``args``; returns the exit status (0, 2 on a
    :class:`~tabae.TabaeError`, 130 when interrupted)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from tabae.cli import read_table
    from tabae.tuning.result import best_trials_table
    from tabae.tuning.study import tune

    try:
        df = read_table(args.table)
        space = parse_search_space(args.search_space)
        bar = tqdm(total=args.n_trials if args.n_trials and args.n_trials > 0 else None, unit="trial",
                   desc=f"tune {args.task}", file=sys.stderr)
        try:
            result = tune(
                df, task=args.task, model=args.model, n_trials=args.n_trials, timeout=args.timeout,
                storage=args.storage, study_name=args.study_name, n_jobs=args.n_jobs, search_space=space,
                random_state=args.seed, target=args.target, validation_fraction=args.validation_fraction,
                refit=not args.no_refit and args.output is not None, callbacks=[_progress_callback(bar)],
            )
        finally:
            bar.close()
    except TabaeError as err:
        print(f"tabae: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; the finished trials are kept"
              + (f" in {args.storage}: run the same command to continue" if args.storage else
                 " only in memory (pass --storage tune.db to keep them)"), file=sys.stderr)
        return 130
    counts = result.counts()
    print(f"{result.task} with {result.model_name}: {sum(counts.values())} trials "
          f"({', '.join(f'{v} {k.lower()}' for k, v in sorted(counts.items()))}); "
          f"best value {result.best_value:.4f} ({result.direction})")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(best_trials_table(result.study, args.top).to_string())
    print(f"best parameters: {result.best_params}")
    if result.model is not None and args.output:
        result.model.save(args.output)
        print(f"refitted on all {len(df):,} rows -> {args.output}")
    if args.storage:
        print(f"study {result.study.study_name!r} in {args.storage}; view it with: optuna-dashboard {args.storage}")
    return 0
