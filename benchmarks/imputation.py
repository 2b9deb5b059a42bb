"""Imputation benchmark: the GAIN protocol (Yoon et al., ICML 2018), plus mixed-type adult.

Protocol (see ``benchmarks/README.md`` § Imputation):

* numeric sets ``breast`` (569 x 30, ``sklearn.datasets.load_breast_cancer``),
  ``spam`` (4601 x 57) and ``letter`` (20000 x 16, integers 0-15);
* remove each cell independently with probability 0.2 (MCAR), drawn with
  ``numpy.random.default_rng(seed)``;
* min-max normalise every column with the *complete* data's min and max,
  ``(x - min) / (max - min + 1e-6)``, and take the RMSE over the removed cells only;
* seeds 0-4; mean +- std (population std, ddof=0) over seeds, and the wall time of
  fit + impute.

Every method goes through the same evaluator (``evaluate_numeric`` /
``evaluate_mixed``). Imputations are NOT rounded for any method, unless
``--round-discrete`` is given, which applies GAIN's own rule (round columns with fewer
than 20 distinct observed values) to every method equally.

``adult`` (32561 x 15, 6 numeric + 9 categorical columns; its 4262 native '?' cells are
kept as NaN): 20% of all cells removed MCAR; only cells that were observed before our
removal are scored. Reports accuracy on removed categorical cells and min-max RMSE on
removed numeric cells.

Results are cached per (dataset, method, seed, protocol) in
``benchmarks/results/imputation.json``; cached entries are reused unless ``--refresh``.

Usage::

    PYTHONPATH=. .venv-bench/bin/python benchmarks/imputation.py \
        [--datasets breast,spam,letter,adult] [--methods mean,knn,mice,missforest,tabae] \
        [--seeds 0,1,2,3,4] [--refresh] [--cached-only] [--round-discrete]

Runs longer than ~30 s on the shared machine:
``flock /tmp/tabae-bench.lock nice -n 10 <command>``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import fcntl
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------------------
# tabae: the one call the lead may tune.
# --------------------------------------------------------------------------------------
def impute_tabae(df_missing: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Fit tabae on the table with holes and return the completed table."""
    import tabae

    imp = tabae.AEImputer(random_state=seed, verbose=False)
    return imp.fit(df_missing).transform(df_missing)


# --------------------------------------------------------------------------------------
# Constants and paths
# --------------------------------------------------------------------------------------
HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
# adult ships with the package (tabae/data/adult.csv); the benchmarks read that one copy.
ADULT = HERE.parent / "tabae" / "data" / "adult.csv"
DEFAULT_CACHE = HERE / "results" / "imputation.json"

NUMERIC_DATASETS = ("breast", "spam", "letter")
MIXED_DATASETS = ("adult",)
ALL_DATASETS = NUMERIC_DATASETS + MIXED_DATASETS
NUMERIC_METHODS = ("mean", "knn", "mice", "missforest", "tabae")
MIXED_METHODS = ("mean", "missforest", "tabae")
ALL_METHODS = NUMERIC_METHODS

GAIN_PAPER = {"breast": 0.0546, "spam": 0.0513, "letter": 0.1198}
MIN_MAX_EPS = 1e-6
ROUND_MAX_DISTINCT = 20  # GAIN's rounding rule: columns with < 20 distinct values

METHOD_LABELS = {
    "mean": "mean",
    "knn": "KNN (k=5)",
    "mice": "MICE",
    "missforest": "MissForest",
    "tabae": "tabae",
}
MIXED_METHOD_LABELS = {
    "mean": "mean / most-frequent",
    "missforest": "MissForest (ExtraTrees approx.)",
    "tabae": "tabae",
}


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
def load_dataset(name: str) -> pd.DataFrame:
    """The complete table (adult keeps its native NaNs)."""
    if name == "breast":
        from sklearn.datasets import load_breast_cancer

        b = load_breast_cancer()
        return pd.DataFrame(b.data, columns=list(b.feature_names)).astype("float64")
    if name == "spam":
        return pd.read_csv(DATA / "spam.csv")
    if name == "letter":
        return pd.read_csv(DATA / "letter.csv")  # int64 columns 0-15
    if name == "adult":
        return pd.read_csv(ADULT, skipinitialspace=True, na_values="?")
    raise ValueError(f"unknown dataset {name!r}")


def mcar_mask(shape: tuple[int, int], seed: int, miss_rate: float) -> np.ndarray:
    """True where a cell is removed; each cell independently with prob ``miss_rate``."""
    rng = np.random.default_rng(seed)
    return rng.random(shape) < miss_rate


def categorical_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


# --------------------------------------------------------------------------------------
# The one evaluator (numeric and mixed flavours share normalisation and rounding)
# --------------------------------------------------------------------------------------
def _minmax(full: np.ndarray, x: np.ndarray) -> np.ndarray:
    lo = np.nanmin(full, axis=0)
    hi = np.nanmax(full, axis=0)
    return (x - lo) / (hi - lo + MIN_MAX_EPS)


def _gain_round(imputed: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """GAIN's ``rounding``: round columns with < 20 distinct observed values."""
    out = imputed.copy()
    for j in range(observed.shape[1]):
        col = observed[:, j]
        if len(np.unique(col[~np.isnan(col)])) < ROUND_MAX_DISTINCT:
            out[:, j] = np.round(out[:, j])
    return out


def _check_numeric(name: str, full, missing, imputed, removed) -> None:
    if imputed.shape != full.shape:
        raise ValueError(f"{name}: imputed shape {imputed.shape} != {full.shape}")
    if np.isnan(imputed[removed]).any():
        raise ValueError(f"{name}: {np.isnan(imputed[removed]).sum()} removed cells left NaN")
    obs = ~np.isnan(missing)
    if not np.allclose(imputed[obs], missing[obs], rtol=1e-6, atol=1e-9):
        n = int((~np.isclose(imputed[obs], missing[obs], rtol=1e-6, atol=1e-9)).sum())
        warnings.warn(f"{name}: imputer changed {n} observed cells", stacklevel=2)


def evaluate_numeric(
    full: np.ndarray,
    missing: np.ndarray,
    imputed: np.ndarray,
    removed: np.ndarray,
    round_discrete: bool,
    name: str = "",
) -> dict:
    """RMSE over removed cells, min-max normalised with the complete data's min/max."""
    imputed = np.asarray(imputed, dtype="float64")
    _check_numeric(name, full, missing, imputed, removed)
    if round_discrete:
        imputed = _gain_round(imputed, missing)
    diff = _minmax(full, imputed)[removed] - _minmax(full, full)[removed]
    return {"rmse": float(np.sqrt(np.mean(diff**2))), "n_removed": int(removed.sum())}


def evaluate_mixed(
    full: pd.DataFrame,
    missing: pd.DataFrame,
    imputed: pd.DataFrame,
    removed: np.ndarray,
    round_discrete: bool,
    name: str = "",
) -> dict:
    """Accuracy on removed categorical cells + min-max RMSE on removed numeric cells.

    ``removed`` must already exclude cells that were NaN in ``full``.
    """
    if list(imputed.columns) != list(full.columns) or len(imputed) != len(full):
        raise ValueError(f"{name}: imputed frame has different columns/rows")
    cat = categorical_columns(full)
    num = [c for c in full.columns if c not in cat]
    ci = [full.columns.get_loc(c) for c in cat]
    ni = [full.columns.get_loc(c) for c in num]

    res = evaluate_numeric(
        full[num].to_numpy("float64"),
        missing[num].to_numpy("float64"),
        imputed[num].to_numpy("float64"),
        removed[:, ni],
        round_discrete,
        name,
    )
    truth = full[cat].astype(object).to_numpy()
    guess = imputed[cat].astype(object).to_numpy()
    rc = removed[:, ci]
    t, g = truth[rc], guess[rc]
    if pd.isna(g).any():
        raise ValueError(f"{name}: {int(pd.isna(g).sum())} removed categorical cells left NaN")
    correct = np.array([str(a) == str(b) for a, b in zip(t, g, strict=False)], dtype=bool)
    obs = ~removed[:, ci] & ~pd.isna(missing[cat].to_numpy())
    changed = sum(
        str(a) != str(b) for a, b in zip(missing[cat].astype(object).to_numpy()[obs], guess[obs], strict=False)
    )
    if changed:
        warnings.warn(f"{name}: imputer changed {changed} observed categorical cells", stacklevel=2)
    col_of_cell = np.broadcast_to(np.arange(len(cat)), rc.shape)[rc]
    by_col = {c: float(correct[col_of_cell == j].mean())
              for j, c in enumerate(cat) if (col_of_cell == j).any()}
    return {
        "cat_acc_by_column": by_col,
        "num_rmse": res["rmse"],
        "n_num_removed": res["n_removed"],
        "cat_acc": float(correct.mean()),
        "n_cat_removed": int(rc.sum()),
    }


# --------------------------------------------------------------------------------------
# Classical baselines (numeric arrays in, numeric arrays out)
# --------------------------------------------------------------------------------------
def _iterative(seed: int, estimator=None, max_iter: int = 10):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    return IterativeImputer(estimator=estimator, max_iter=max_iter, random_state=seed)


def _extra_trees(seed: int):
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=50, random_state=seed, n_jobs=2)


def impute_numeric(method: str, df_missing: pd.DataFrame, seed: int) -> np.ndarray:
    if method == "tabae":
        return impute_tabae(df_missing, seed).to_numpy("float64")
    from sklearn.impute import KNNImputer, SimpleImputer

    x = df_missing.to_numpy("float64")
    if method == "mean":
        imp = SimpleImputer(strategy="mean")
    elif method == "knn":
        imp = KNNImputer(n_neighbors=5)
    elif method == "mice":
        imp = _iterative(seed, estimator=None, max_iter=10)  # BayesianRidge
    elif method == "missforest":
        imp = _iterative(seed, estimator=_extra_trees(seed), max_iter=5)
    else:
        raise ValueError(f"unknown method {method!r}")
    return imp.fit_transform(x)


def impute_mixed(method: str, df_missing: pd.DataFrame, seed: int) -> pd.DataFrame:
    if method == "tabae":
        return impute_tabae(df_missing, seed)
    from sklearn.impute import SimpleImputer

    cat = categorical_columns(df_missing)
    num = [c for c in df_missing.columns if c not in cat]
    out = df_missing.copy()
    for c in num:
        out[c] = out[c].astype("float64")
    if method == "mean":
        out[num] = SimpleImputer(strategy="mean").fit_transform(df_missing[num].to_numpy("float64"))
        cats = SimpleImputer(strategy="most_frequent").fit_transform(df_missing[cat].astype(object))
        out[cat] = pd.DataFrame(cats, columns=cat, index=out.index)
        return out
    if method == "missforest":
        # Ordinal-encode categories seen in the observed cells, run IterativeImputer with
        # ExtraTreesRegressor on every column, round and clip the codes back to categories.
        codes = {}
        enc = df_missing[num].astype("float64").copy()
        for c in cat:
            cats = pd.Index(sorted(df_missing[c].dropna().unique()))
            codes[c] = cats
            enc[c] = pd.Categorical(df_missing[c], categories=cats).codes.astype("float64")
            enc.loc[df_missing[c].isna(), c] = np.nan
        enc = enc[list(df_missing.columns)]
        filled = _iterative(seed, estimator=_extra_trees(seed), max_iter=5).fit_transform(
            enc.to_numpy("float64")
        )
        filled = pd.DataFrame(filled, columns=enc.columns, index=enc.index)
        for c in num:
            out[c] = filled[c]
        for c in cat:
            k = np.clip(np.round(filled[c].to_numpy()), 0, len(codes[c]) - 1).astype(int)
            out[c] = np.asarray(codes[c], dtype=object)[k]
        return out
    raise ValueError(f"method {method!r} not run on mixed data")


# --------------------------------------------------------------------------------------
# One run = one (dataset, method, seed)
# --------------------------------------------------------------------------------------
def run_one(dataset: str, method: str, seed: int, miss_rate: float, round_discrete: bool) -> dict:
    full = load_dataset(dataset)
    removed = mcar_mask(full.shape, seed, miss_rate)
    if dataset in MIXED_DATASETS:
        removed &= ~full.isna().to_numpy()  # only score cells observed before our removal
    df_missing = full.mask(removed)  # int columns become float64 where holes appear
    name = f"{dataset}/{method}/seed{seed}"
    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        if dataset in MIXED_DATASETS:
            imputed = impute_mixed(method, df_missing, seed)
        else:
            imputed = impute_numeric(method, df_missing, seed)
        elapsed = time.perf_counter() - t0
    if dataset in MIXED_DATASETS:
        metrics = evaluate_mixed(full, df_missing, imputed, removed, round_discrete, name)
    else:
        metrics = evaluate_numeric(
            full.to_numpy("float64"), df_missing.to_numpy("float64"),
            imputed, removed, round_discrete, name,
        )
    return {"time_s": round(elapsed, 3), **metrics}


# --------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------
def cache_key(dataset, method, seed, miss_rate, round_discrete) -> str:
    return f"{dataset}|{method}|seed={seed}|miss={miss_rate:g}|round={int(round_discrete)}"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock.tmp", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_cache(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path) as fh:
        return json.load(fh).get("results", {})


ABOUT = ("benchmarks/imputation.py results; one record per (dataset, method, seed, miss rate, rounding). "
         "RMSE is min-max normalised with the complete data's min/max, over removed cells.")


def save_record(path: Path, key: str, record: dict, about: str = ABOUT) -> None:
    """Merge one record into the cache file (re-read under a lock: runs may overlap).
    Other benchmarks (realtables.py) share this cache format with their own ``about``."""
    with _locked(path):
        results = load_cache(path)
        results[key] = record
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(
                {
                    "about": about,
                    "results": dict(sorted(results.items())),
                },
                fh,
                indent=1,
            )
            fh.write("\n")
        os.replace(tmp, path)


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "tabae"], cwd=HERE.parent,
            capture_output=True, text=True,
        ).stdout.strip()
        return (head or "no-commit") + ("+dirty" if dirty else "")
    except Exception:
        return None


def tabae_fingerprint() -> str | None:
    """Hash of tabae's source files + ``impute_tabae``'s source: a cached tabae result
    is reused only while this matches (tabae is still changing)."""
    import hashlib
    import inspect

    src = HERE.parent / "tabae"
    if not src.is_dir():
        return None
    h = hashlib.sha256(inspect.getsource(impute_tabae).encode())
    for f in sorted(src.rglob("*.py")):
        h.update(str(f.relative_to(src)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def is_current(record: dict) -> bool:
    """False for a tabae record measured with other tabae code than now."""
    if record.get("method") != "tabae":
        return True
    return record.get("env", {}).get("tabae_fingerprint") == tabae_fingerprint()


def environment(method: str) -> dict:
    import sklearn

    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "sklearn": sklearn.__version__,
        "cpus": os.cpu_count(),
    }
    if method == "tabae":
        try:
            import torch

            import tabae

            env["tabae"] = getattr(tabae, "__version__", "?")
            env["torch"] = torch.__version__
            env["torch_threads"] = torch.get_num_threads()
            env["git"] = _git_commit()
            env["tabae_fingerprint"] = tabae_fingerprint()
        except Exception:
            pass
    return env


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------
def _fmt(v: float, digits: int = 4) -> str:
    s = f"{v:.{digits}f}"
    return s[1:] if s.startswith("0.") else s


def _fmt_time(t: float) -> str:
    return f"{t:.2f} s" if t < 1 else (f"{t:.1f} s" if t < 100 else f"{t:.0f} s")


def _summary(records: list[dict], field: str):
    vals = np.array([r[field] for r in records], dtype=float)
    times = np.array([r["time_s"] for r in records], dtype=float)
    return vals.mean(), vals.std(), times.mean()


def _dates(records: list[dict]) -> set[str]:
    return {r["measured"][:10] for r in records}


def _date_range(dates: set[str]) -> str:
    if not dates:
        return ""
    lo, hi = min(dates), max(dates)
    return lo if lo == hi else f"{lo} – {hi}"


def numeric_table(cache, datasets, methods, seeds, miss_rate, round_discrete, fresh) -> str:
    methods = [m for m in methods if m in NUMERIC_METHODS]
    head = ["dataset (rows × cols)", "GAIN paper"] + [METHOD_LABELS[m] for m in methods]
    head.append("measured")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for d in datasets:
        shape = load_dataset(d).shape
        cells, means, dates = {}, {}, set()
        for m in methods:
            keys = [cache_key(d, m, s, miss_rate, round_discrete) for s in seeds]
            recs = [cache[k] for k in keys if k in cache]
            if not recs:
                cells[m] = "—"
                continue
            mu, sd, t = _summary(recs, "rmse")
            means[m] = mu
            dates |= _dates(recs)
            extra = "" if len(recs) == len(seeds) else f", {len(recs)} seeds"
            mark = "" if all(k in fresh for k in keys if k in cache) else "†"
            mark += "" if all(is_current(r) for r in recs) else "‡"
            cells[m] = f"{_fmt(mu)} ± {_fmt(sd)} ({_fmt_time(t)}{extra}){mark}"
        best = _fmt(min(means.values())) if means else None  # ties (as printed) all bold
        row = [f"{d} ({shape[0]} × {shape[1]})", _fmt(GAIN_PAPER[d])]
        for m in methods:
            row.append(f"**{cells[m]}**" if m in means and _fmt(means[m]) == best else cells[m])
        row.append(_date_range(dates))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def mixed_table(cache, methods, seeds, miss_rate, round_discrete, fresh) -> str:
    methods = [m for m in methods if m in MIXED_METHODS]
    head = ["adult (32561 × 15)"] + [MIXED_METHOD_LABELS[m] for m in methods]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    stats, dates = {}, set()
    for m in methods:
        keys = [cache_key("adult", m, s, miss_rate, round_discrete) for s in seeds]
        recs = [cache[k] for k in keys if k in cache]
        if recs:
            mark = "" if all(k in fresh for k in keys if k in cache) else "†"
            mark += "" if all(is_current(r) for r in recs) else "‡"
            extra = "" if len(recs) == len(seeds) else f", {len(recs)} seeds"
            stats[m] = (_summary(recs, "cat_acc"), _summary(recs, "num_rmse"), mark, extra)
            dates |= _dates(recs)
    for label, idx, better in (
        ("categorical accuracy ↑", 0, max),
        ("numeric RMSE (min-max) ↓", 1, min),
    ):
        best = _fmt(better(stats[m][idx][0] for m in stats)) if stats else None
        row = [label]
        for m in methods:
            if m not in stats:
                row.append("—")
                continue
            (mu, sd, t), mark, extra = stats[m][idx], stats[m][2], stats[m][3]
            cell = f"{_fmt(mu)} ± {_fmt(sd)} ({_fmt_time(t)}{extra}){mark}"
            row.append(f"**{cell}**" if _fmt(mu) == best else cell)
        lines.append("| " + " | ".join(row) + " |")
    if dates:
        lines.append(f"\nadult measured {_date_range(dates)}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default=",".join(ALL_DATASETS))
    p.add_argument("--methods", default=",".join(ALL_METHODS))
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma list or range like 0-4")
    p.add_argument("--miss-rate", type=float, default=0.2)
    p.add_argument("--round-discrete", action="store_true",
                   help="GAIN's rule: round imputations of columns with < 20 distinct "
                        "observed values, for every method")
    p.add_argument("--refresh", action="store_true",
                   help="re-run the selected (dataset, method, seed) even if cached")
    p.add_argument("--cached-only", action="store_true",
                   help="run nothing; print the table from the cache")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    a = p.parse_args(argv)

    if "-" in a.seeds and "," not in a.seeds:
        lo, hi = map(int, a.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(s) for s in _csv(a.seeds)]
    datasets = _csv(a.datasets)
    methods = _csv(a.methods)
    for d in datasets:
        if d not in ALL_DATASETS:
            p.error(f"unknown dataset {d!r}; choose from {ALL_DATASETS}")
    for m in methods:
        if m not in ALL_METHODS:
            p.error(f"unknown method {m!r}; choose from {ALL_METHODS}")

    cache = load_cache(a.cache)
    fresh: set[str] = set()
    if not a.cached_only:
        for d in datasets:
            allowed = MIXED_METHODS if d in MIXED_DATASETS else NUMERIC_METHODS
            for m in methods:
                if m not in allowed:
                    continue
                for s in seeds:
                    key = cache_key(d, m, s, a.miss_rate, a.round_discrete)
                    if key in cache and is_current(cache[key]) and not a.refresh:
                        continue
                    print(f"[imputation] {d} {m} seed={s} ...", file=sys.stderr, flush=True)
                    rec = run_one(d, m, s, a.miss_rate, a.round_discrete)
                    rec.update(
                        dataset=d, method=m, seed=s, miss_rate=a.miss_rate,
                        round_discrete=a.round_discrete,
                        measured=_dt.datetime.now().isoformat(timespec="seconds"),
                        env=environment(m),
                    )
                    summary = {k: v for k, v in rec.items()
                               if k in ("rmse", "cat_acc", "num_rmse", "time_s")}
                    print(f"[imputation]   -> {summary}", file=sys.stderr, flush=True)
                    save_record(a.cache, key, rec)
                    cache = load_cache(a.cache)
                    fresh.add(key)

    rounding = (
        "GAIN's rounding rule (columns with < 20 distinct observed values are rounded) "
        "is applied to every method's imputations"
        if a.round_discrete
        else "No rounding is applied to any method's imputations"
    )
    print(f"\n### Imputation, {a.miss_rate:.0%} MCAR, seeds {','.join(map(str, seeds))}\n")
    print(
        f"RMSE over removed cells, min-max normalised with the complete data's min/max; "
        f"mean ± std (ddof=0) over seeds; (mean wall time per seed, fit + impute). "
        f"{rounding}. Bold = best measured; † = read from the cache "
        f"({a.cache.name}), not measured in this run; ‡ = tabae measured with older tabae "
        f"code than now (stale; a run without --cached-only re-measures it). GAIN paper column: Yoon et al. 2018, "
        f"their normalisation and rounding.\n"
    )
    num_ds = [d for d in datasets if d in NUMERIC_DATASETS]
    if num_ds:
        print(numeric_table(cache, num_ds, methods, seeds, a.miss_rate, a.round_discrete, fresh))
    if "adult" in datasets:
        print(
            "\nMixed types (adult; native '?' kept as NaN and never scored; MissForest = "
            "IterativeImputer + ExtraTreesRegressor (50 trees, 5 iters) over ordinal-encoded "
            "categories, codes rounded and clipped back to categories — the usual sklearn "
            "approximation of MissForest, which would use a classifier for categories):\n"
        )
        print(mixed_table(cache, methods, seeds, a.miss_rate, a.round_discrete, fresh))
    return 0


if __name__ == "__main__":
    sys.exit(main())
