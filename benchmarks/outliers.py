"""Outlier-score benchmark: tabae's AEOutlierDetector against PyOD baselines.

Every detector is fitted without labels and scored on the same rows it was
fitted on; labels are only used for ROC-AUC and average precision (AP).
Protocol: ``/work/shared/BENCHMARKS.md``, section "Outlier scores".

Datasets
    - the ten ADBench tables in ``benchmarks/data/outliers/*.npz``;
    - ``breast``: sklearn's breast-cancer table, all benign rows plus malignant
      rows subsampled (with the seed) to 10% of the table as outliers;
    - ``adult-planted``: 10,000 adult rows sampled with the seed, 5% of them
      altered: half get one categorical cell replaced by a uniformly random other
      category of its column, half get one numeric cell shifted by +-4 standard
      deviations (no clipping; integer columns stay integer). The altered column
      is recorded, so tabae's per-column explanations can be checked.

Baselines (PyOD defaults, ``random_state=seed``): ``IForest``, ``ECOD`` and
``AutoEncoder`` on features standardised with ``StandardScaler``. On adult they
get one-hot categoricals (a missing category = all zeros) plus standardised
numerics with NaN filled by the column median; tabae gets the raw DataFrame.

Results are cached per (dataset, method, seed) in ``benchmarks/results/outliers.json``.
An entry is reused while its fingerprint matches: PyOD/sklearn versions for the
baselines, a hash of ``tabae/*.py`` and of :func:`score_tabae` for tabae, and the
dataset protocol version for all. ``--refresh`` re-runs regardless.

Usage (from the repository root)::

    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --seeds 0 1 2
    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --methods tabae --datasets cardio breast
    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --table-only
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import inspect
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------- tabae
def score_tabae(df: pd.DataFrame, seed: int):
    """Fit tabae's detector on ``df`` without labels; return (scores, detector).

    Scores: higher = more abnormal. Edit the parameters here; the cache notices
    (this function's source is part of tabae's fingerprint).
    """
    import tabae

    det = tabae.AEOutlierDetector(random_state=seed, verbose=False).fit(df)
    return np.asarray(det.decision_function(df), dtype=float), det


def explain_masked(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per-column contributions from a DenoisingAE scored with each column hidden in turn."""
    import tabae

    model = tabae.DenoisingAE(random_state=seed, verbose=False).fit(df)
    return model.decision_function(df, per_column=True, method="masked")


# --------------------------------------------------------------------------- paths
ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data"
# adult ships with the package (tabae/data/adult.csv); the benchmarks read that one copy.
ADULT = ROOT.parent / "tabae" / "data" / "adult.csv"
RESULTS = ROOT / "results" / "outliers.json"

ADBENCH = {  # display name -> file, in the order of BENCHMARKS.md
    "cardio": "6_cardio.npz",
    "thyroid": "38_thyroid.npz",
    "mammography": "23_mammography.npz",
    "satellite": "30_satellite.npz",
    "annthyroid": "2_annthyroid.npz",
    "PageBlocks": "27_PageBlocks.npz",
    "Wilt": "44_Wilt.npz",
    "satimage-2": "31_satimage-2.npz",
    "shuttle": "32_shuttle.npz",
    "campaign": "5_campaign.npz",
}
# Bump a dataset's protocol version when the way it is built changes: cached
# results of the old version are then ignored.
PROTOCOL = {**{name: 1 for name in ADBENCH}, "breast": 1, "adult-planted": 1}
DATASETS = list(PROTOCOL)
METHODS = ["tabae", "iforest", "ecod", "autoencoder"]
LABELS = {"tabae": "tabae", "iforest": "IForest", "ecod": "ECOD", "autoencoder": "PyOD AutoEncoder"}

BREAST_OUTLIER_SHARE = 0.10
ADULT_ROWS = 10_000
ADULT_PLANT_SHARE = 0.05
ADULT_SHIFT_SD = 4.0


# --------------------------------------------------------------------------- data
@dataclass
class Dataset:
    name: str
    df: pd.DataFrame  # what tabae sees
    X: np.ndarray  # what the baselines see (standardised numbers)
    y: np.ndarray  # 1 = outlier
    seeded: bool  # does the table itself depend on the seed?
    planted: pd.Series | None = None  # adult: planted column per anomalous row (index = df index)
    notes: list[str] = field(default_factory=list)


def _standardise(X: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(np.asarray(X, dtype=float))


def load_adbench(name: str) -> Dataset:
    with np.load(DATA / "outliers" / ADBENCH[name]) as f:  # allow_pickle is False by default
        X, y = np.asarray(f["X"], dtype=float), np.asarray(f["y"]).astype(int)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    return Dataset(name, df, _standardise(X), y, seeded=False)


def load_breast(seed: int) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    X, target = bunch.data, bunch.target  # target 0 = malignant, 1 = benign
    rng = np.random.default_rng(seed)
    benign = np.flatnonzero(target == 1)
    malignant = np.flatnonzero(target == 0)
    n_out = round(BREAST_OUTLIER_SHARE * len(benign) / (1 - BREAST_OUTLIER_SHARE))  # 40 of 397
    rows = np.concatenate([benign, rng.choice(malignant, n_out, replace=False)])
    rows = rng.permutation(rows)  # outliers not bunched at the end
    X, y = X[rows], (target[rows] == 0).astype(int)
    df = pd.DataFrame(X, columns=list(bunch.feature_names))
    return Dataset("breast", df, _standardise(X), y, seeded=True)


def read_adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, skipinitialspace=True, na_values="?")


def plant_adult(full: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Sample rows and plant anomalies; return (df, y, planted column per anomalous row)."""
    rng = np.random.default_rng(seed)
    df = full.iloc[rng.choice(len(full), ADULT_ROWS, replace=False)].reset_index(drop=True)
    cat_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    num_cols = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    categories = {c: np.sort(df[c].dropna().unique()) for c in cat_cols}
    sds = df[num_cols].std()

    n_plant = round(ADULT_PLANT_SHARE * ADULT_ROWS)
    rows = rng.choice(ADULT_ROWS, n_plant, replace=False)
    planted = {}
    for i, row in enumerate(rows):
        if i < n_plant // 2:  # categorical: a uniformly random *other* category
            observed = [c for c in cat_cols if pd.notna(df.at[row, c])]
            col = observed[rng.integers(len(observed))]
            others = categories[col][categories[col] != df.at[row, col]]
            df.at[row, col] = others[rng.integers(len(others))]
        else:  # numeric: shift by +-4 sd, no clipping
            col = num_cols[rng.integers(len(num_cols))]
            shift = rng.choice([-1.0, 1.0]) * ADULT_SHIFT_SD * sds[col]
            if pd.api.types.is_integer_dtype(df[col]):
                shift = round(shift)
            df.at[row, col] = df.at[row, col] + shift
        planted[row] = col
    y = np.zeros(ADULT_ROWS, dtype=int)
    y[rows] = 1
    return df, y, pd.Series(planted, name="planted_column").sort_index()


def baseline_matrix(df: pd.DataFrame) -> np.ndarray:
    """One-hot categoricals (NaN -> all zeros) + standardised numerics (NaN -> median)."""
    num = df.select_dtypes("number")
    num = num.fillna(num.median())
    cat = pd.get_dummies(df.drop(columns=num.columns), dummy_na=False, dtype=float)
    return np.hstack([_standardise(num.to_numpy()), cat.to_numpy()])


_ADULT_CACHE: list[pd.DataFrame] = []


def load_adult(seed: int) -> Dataset:
    if not _ADULT_CACHE:
        _ADULT_CACHE.append(read_adult())
    df, y, planted = plant_adult(_ADULT_CACHE[0], seed)
    return Dataset("adult-planted", df, baseline_matrix(df), y, seeded=True, planted=planted)


def load(name: str, seed: int) -> Dataset:
    if name in ADBENCH:
        return load_adbench(name)
    if name == "breast":
        return load_breast(seed)
    if name == "adult-planted":
        return load_adult(seed)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


UNLABELLED_NOTE = (
    "Note: spam.csv (4601 x 57, columns 'Cont 1'..'Cont 57') and letter.csv (20000 x 16, "
    "columns 'Cat 1'..'Cat 16') in benchmarks/data/ carry no class column (UCI's spam flag and "
    "letter label were dropped), so the 'spam rows at 5%' and 'three letters as outliers' sets "
    "cannot be built without inventing labels; they are left out."
)


# --------------------------------------------------------------------------- methods
def score_baseline(method: str, X: np.ndarray, seed: int) -> np.ndarray:
    if method == "iforest":
        from pyod.models.iforest import IForest

        det = IForest(random_state=seed)
    elif method == "ecod":
        from pyod.models.ecod import ECOD

        det = ECOD()
    elif method == "autoencoder":
        from pyod.models.auto_encoder import AutoEncoder

        det = AutoEncoder(random_state=seed, verbose=0)
    else:
        raise ValueError(f"unknown method {method!r}")
    det.fit(X)
    return np.asarray(det.decision_function(X), dtype=float)


def explanation_hits(contrib: pd.DataFrame, planted: pd.Series) -> dict:
    """Share of planted rows whose planted column is the top (top-3) contributor."""
    rows = planted.index
    values = contrib.loc[rows].to_numpy(dtype=float)
    values = np.where(np.isfinite(values), values, -np.inf)
    order = np.argsort(-values, axis=1, kind="stable")
    cols = np.asarray(contrib.columns)
    target = planted.to_numpy()
    top1 = cols[order[:, 0]] == target
    top3 = (cols[order[:, :3]] == target[:, None]).any(axis=1)
    return {"top1": float(top1.mean()), "top3": float(top3.mean()),
            "top1_hits": top1.tolist(), "top3_hits": top3.tolist()}


def marginal_rarity(df: pd.DataFrame) -> pd.DataFrame:
    """Reference explainer without context: per cell, -log of its marginal tail probability.

    Numeric: two-sided empirical tail 2*min(F(x), 1-F(x-)); categorical: the share of
    rows whose category is at most as frequent. Missing cells score 0.
    """
    out = {}
    n = len(df)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s):
            v = s.to_numpy(dtype=float)
            srt = np.sort(v[~np.isnan(v)])
            le = np.searchsorted(srt, v, side="right") / len(srt)
            lt = np.searchsorted(srt, v, side="left") / len(srt)
            p = np.minimum(1.0, 2 * np.minimum(le, 1 - lt))
        else:
            counts = s.value_counts(normalize=True)
            tail = {k: counts[counts <= f].sum() for k, f in counts.items()}
            p = s.map(tail).to_numpy(dtype=float)
        p = np.where(np.isnan(p), 1.0, p)
        out[c] = -np.log(np.maximum(p, 0.5 / n))
    return pd.DataFrame(out, index=df.index)


# --------------------------------------------------------------------------- cache
def _hash_text(*texts: str) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode())
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def fingerprint(method: str, dataset: str) -> str | None:
    """What a cached entry must match to be reused; None if the method is unavailable."""
    proto = f"protocol {dataset} v{PROTOCOL[dataset]}"
    if method == "tabae":
        try:
            import tabae
        except Exception:
            return None
        if not hasattr(tabae, "AEOutlierDetector"):
            return None
        pkg = Path(list(tabae.__path__)[0]).resolve()
        files = sorted(pkg.rglob("*.py"))
        code = _hash_text(*(f"{p.relative_to(pkg)}\n{p.read_text()}" for p in files),
                          inspect.getsource(score_tabae))
        return f"tabae {getattr(tabae, '__version__', '?')} code {code}; {proto}"
    import pyod
    import sklearn

    return f"pyod {pyod.__version__}, sklearn {sklearn.__version__}; {proto}"


def seed_key(method: str, dataset: str, seed: int) -> str:
    """ECOD on a fixed table is deterministic: one run stands for every seed."""
    if method == "ecod" and dataset in ADBENCH:
        return "any"
    return str(seed)


def load_cache() -> dict:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text())
    return {}


def save_entry(dataset: str, method: str, key: str, entry: dict) -> None:
    """Merge one entry into the results file (re-read first; atomic rename)."""
    cache = load_cache()
    cache.setdefault(dataset, {}).setdefault(method, {})[key] = entry
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_name(f"{RESULTS.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, RESULTS)


# --------------------------------------------------------------------------- run
def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def run_one(ds: Dataset, method: str, seed: int) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    t0 = time.perf_counter()
    extra = {}
    if method == "tabae":
        scores, det = score_tabae(ds.df, seed)
        seconds = time.perf_counter() - t0
        if ds.planted is not None:
            # the detector's own scoring method, so contributions sum to its scores
            method = getattr(det, "method", "auto")
            contrib = det.model_.decision_function(ds.df, per_column=True, method=method)
            sum_gap = float(np.max(np.abs(contrib.sum(axis=1).to_numpy() - scores)))
            if sum_gap > 1e-3 * max(1.0, float(np.max(np.abs(scores)))):
                print(f"(warning: per-column contributions miss the scores by up to {sum_gap:.3g})",
                      end=" ", file=sys.stderr)
            hits = explanation_hits(contrib, ds.planted)
            kinds = ["numeric" if pd.api.types.is_numeric_dtype(ds.df[c]) else "categorical"
                     for c in ds.planted]
            extra = {"explain_method": method, "explain_sum_gap": sum_gap,
                     "explain_top1": hits["top1"], "explain_top3": hits["top3"],
                     "explain_kinds": kinds, "explain_top1_hits": hits["top1_hits"],
                     "explain_top3_hits": hits["top3_hits"]}
            # The explainer tabae's docs recommend for single broken cells: a DenoisingAE
            # predicting each column with itself hidden (method="masked").
            masked = explain_masked(ds.df, seed)
            hits = explanation_hits(masked, ds.planted)
            extra.update({"masked_top1": hits["top1"], "masked_top3": hits["top3"],
                          "masked_top1_hits": hits["top1_hits"]})
    else:
        scores = score_baseline(method, ds.X, seed)
        seconds = time.perf_counter() - t0
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(f"{method} returned {bad} non-finite scores on {ds.name}")
    return {
        "roc_auc": float(roc_auc_score(ds.y, scores)),
        "ap": float(average_precision_score(ds.y, scores)),
        "seconds": round(seconds, 2),
        "torch_threads": _torch_threads(),
        "seed": seed,
        "rows": int(len(ds.y)),
        "outlier_share": round(float(ds.y.mean()), 4),
        "measured": dt.datetime.now().isoformat(timespec="seconds"),
        **extra,
    }


def run(datasets, methods, seeds, refresh) -> set[tuple[str, str]]:
    """Measure what the cache lacks; return the (dataset, method) pairs measured now."""
    fresh, done = set(), set()
    for m in methods:
        if fingerprint(m, datasets[0]) is None:
            print(f"skip {m}: cannot import it (tabae.AEOutlierDetector missing?)", file=sys.stderr)
    for name in datasets:
        for seed in seeds:
            ds = None
            for method in methods:
                fp = fingerprint(method, name)
                if fp is None:
                    continue
                key = seed_key(method, name, seed)
                cached = load_cache().get(name, {}).get(method, {}).get(key)
                if (cached and cached.get("fingerprint") == fp and not refresh) or (
                        (name, method, key) in done):  # e.g. ECOD's one run, under --refresh
                    continue
                if ds is None:
                    ds = load(name, seed)
                print(f"[{dt.datetime.now():%H:%M:%S}] {name} {method} seed {key} ...",
                      end=" ", flush=True, file=sys.stderr)
                try:
                    entry = run_one(ds, method, seed)
                except Exception:
                    print("FAILED", file=sys.stderr)
                    traceback.print_exc()
                    continue
                entry["fingerprint"] = fp
                save_entry(name, method, key, entry)
                done.add((name, method, key))
                fresh.add((name, method))
                print(f"ROC-AUC {entry['roc_auc']:.3f} AP {entry['ap']:.3f} "
                      f"({entry['seconds']:.1f} s)", file=sys.stderr)
    return fresh


# --------------------------------------------------------------------------- report
def collect(cache, datasets, methods, seeds):
    """mean ROC-AUC, AP, seconds and measurement dates per (dataset, method)."""
    stats = {}
    for name in datasets:
        for method in methods:
            fp = fingerprint(method, name)
            runs = cache.get(name, {}).get(method, {})
            keys = {seed_key(method, name, s) for s in seeds}
            got = [runs[k] for k in sorted(keys) if k in runs and runs[k].get("fingerprint") == fp]
            stale = not got  # nothing from the current code/versions: show older runs, flagged
            if stale:
                got = [runs[k] for k in sorted(keys) if k in runs]
            if not got:
                continue
            stats[name, method] = {
                "roc_auc": float(np.mean([g["roc_auc"] for g in got])),
                "ap": float(np.mean([g["ap"] for g in got])),
                "seconds": float(np.mean([g["seconds"] for g in got])),
                "n": len(got), "want": len(keys), "stale": stale,
                "dates": sorted(g["measured"] for g in got),
                "runs": got,
            }
    return stats


def _f(x: float) -> str:
    """.123 style, as in BENCHMARKS.md."""
    return f"{x:.3f}".replace("0.", ".", 1) if x < 1 else f"{x:.3f}"


def _marks(s: dict) -> str:
    """* = fewer seeds than asked; † = measured with other code/versions."""
    return ("*" if s["n"] < s["want"] else "") + ("†" if s["stale"] else "")


def markdown_table(stats, datasets, methods, fresh) -> str:
    cols = [m for m in methods if any((d, m) in stats for d in datasets)]
    head = "| set | " + " | ".join(LABELS[m] for m in cols) + " | measured |"
    lines = [head, "|" + " --- |" * (len(cols) + 2)]

    def row(cells):
        best = max((round(v[0], 3) for v in cells.values()), default=None)
        out = []
        for m in cols:
            if m not in cells:
                out.append("—")
                continue
            auc, ap, partial = cells[m]
            txt = _f(auc)
            txt = f"**{txt}**" if round(auc, 3) == best else txt
            out.append(f"{txt} ({_f(ap)}){partial}")
        return out

    for name in datasets:
        cells = {m: (s["roc_auc"], s["ap"], _marks(s)) for m in cols if (s := stats.get((name, m)))}
        if not cells:
            continue
        dates = [d for m in cols if (name, m) in stats for d in stats[name, m]["dates"]]
        now = [m for m in cols if (name, m) in fresh]
        lo, hi = min(dates), max(dates)
        when = (f"{lo[:10]} {lo[11:16]}–{hi[11:16]}" if lo[:10] == hi[:10]
                else f"{lo[:10]}–{hi[:10]}")
        src = ("run now: " + ", ".join(LABELS[m] for m in now) + "; " if now else "cached; ") + when
        lines.append(f"| {name} | " + " | ".join(row(cells)) + f" | {src} |")

    def mean_row(label, names):
        names = [d for d in names if all((d, m) in stats for m in cols)]
        if not names:
            return None, names
        cells = {m: (np.mean([stats[d, m]["roc_auc"] for d in names]),
                     np.mean([stats[d, m]["ap"] for d in names]), "") for m in cols}
        cells_txt = " | ".join(row(cells))
        return f"| **{label}** ({len(names)} sets) | {cells_txt} | |", names

    for label, names in [("mean, ADBench", [d for d in datasets if d in ADBENCH]),
                         ("mean, all", datasets)]:
        line, used = mean_row(label, names)
        if line and len(used) > 1:
            lines.append(line)
    return "\n".join(lines)


def footnotes(stats, datasets, methods, seeds) -> str:
    out = []
    partial = sorted({(d, m) for (d, m), s in stats.items() if s["n"] < s["want"]})
    if partial:
        out.append("\\* fewer seeds than asked: " + ", ".join(
            f"{d}/{LABELS[m]} {stats[d, m]['n']}/{stats[d, m]['want']}" for d, m in partial))
    stale = sorted({(d, m) for (d, m), s in stats.items() if s["stale"]})
    if stale:
        out.append("† measured with other code or package versions than now (fingerprint differs; "
                   "re-run to refresh): " + ", ".join(f"{d}/{LABELS[m]}" for d, m in stale))
    base = [m for m in ("iforest", "ecod", "autoencoder") if m in methods]
    adb = [d for d in datasets if d in ADBENCH and all((d, m) in stats for m in base)]
    if base and adb:
        best = np.mean([max(stats[d, m]["roc_auc"] for m in base) for d in adb])
        out.append(f"Best baseline per set, averaged over {len(adb)} ADBench sets: ROC-AUC "
                   f"{_f(best)} (the bar from BENCHMARKS.md: .851 over all ten).")
    out.append(f"Seeds {', '.join(map(str, seeds))}; ECOD on the fixed ADBench tables ran once "
               "(deterministic); breast and adult-planted are rebuilt per seed.")
    return "\n".join(out)


def time_table(stats, datasets, methods) -> str:
    cols = [m for m in methods if any((d, m) in stats for d in datasets)]
    lines = ["| set | " + " | ".join(LABELS[m] for m in cols) + " |",
             "|" + " --- |" * (len(cols) + 1)]
    for name in datasets:
        if not any((name, m) in stats for m in cols):
            continue
        cells = [f"{stats[name, m]['seconds']:.1f}" if (name, m) in stats else "—" for m in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def explanation_report(stats, seeds) -> str | None:
    s = stats.get(("adult-planted", "tabae"))
    if s is None or "explain_top1" not in s["runs"][0]:
        return None
    lines = ["| explainer | top-1 all | top-3 all | top-1 categorical | top-1 numeric |",
             "| --- | --- | --- | --- | --- |"]

    def split(hits, kinds, kind):
        sel = [h for h, k in zip(hits, kinds, strict=False) if k == kind]
        return float(np.mean(sel)) if sel else float("nan")

    runs = s["runs"]
    t1 = np.mean([r["explain_top1"] for r in runs])
    t3 = np.mean([r["explain_top3"] for r in runs])
    c1 = np.mean([split(r["explain_top1_hits"], r["explain_kinds"], "categorical") for r in runs])
    n1 = np.mean([split(r["explain_top1_hits"], r["explain_kinds"], "numeric") for r in runs])
    how = f"method={runs[0].get('explain_method', '?')!r}"
    lines.append(f"| tabae detector `score(per_column=True, {how})` | {_f(t1)} | {_f(t3)} | {_f(c1)} | {_f(n1)} |")
    if "masked_top1" in runs[0]:
        m1 = np.mean([r["masked_top1"] for r in runs])
        m3 = np.mean([r["masked_top3"] for r in runs])
        mc = np.mean([split(r["masked_top1_hits"], r["explain_kinds"], "categorical") for r in runs])
        mn = np.mean([split(r["masked_top1_hits"], r["explain_kinds"], "numeric") for r in runs])
        lines.append(f"| tabae `DenoisingAE` `score(per_column=True, method='masked')` | {_f(m1)} | {_f(m3)} "
                     f"| {_f(mc)} | {_f(mn)} |")

    # reference without context: marginal rarity of each cell (same seeds as tabae's runs)
    used = [int(r.get("seed", -1)) for r in runs]
    ref = []
    for seed in (u for u in used if u >= 0):
        ds = load_adult(seed)
        hits = explanation_hits(marginal_rarity(ds.df), ds.planted)
        kinds = ["numeric" if pd.api.types.is_numeric_dtype(ds.df[c]) else "categorical"
                 for c in ds.planted]
        ref.append((hits["top1"], hits["top3"], split(hits["top1_hits"], kinds, "categorical"),
                    split(hits["top1_hits"], kinds, "numeric")))
    if ref:
        r = np.mean(ref, axis=0)
        lines.append("| marginal rarity (no context) | " + " | ".join(map(_f, r)) + " |")
    ncol = len(read_adult().columns) if not _ADULT_CACHE else len(_ADULT_CACHE[0].columns)
    lines.append(f"| chance | {_f(1 / ncol)} | {_f(3 / ncol)} | | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    global RESULTS
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    p.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS, metavar="SET",
                   help=f"any of: {' '.join(DATASETS)}")
    p.add_argument("--refresh", action="store_true", help="re-run even if cached")
    p.add_argument("--table-only", action="store_true", help="print the cached results, run nothing")
    p.add_argument("--results", type=Path, default=RESULTS, help=f"cache file (default {RESULTS})")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch threads for tabae and PyOD's AutoEncoder (default 1: on 2 shared "
                        "cores a second OpenMP thread that gets descheduled stalls every step)")
    args = p.parse_args(argv)
    RESULTS = args.results
    if not args.table_only:
        import torch

        torch.set_num_threads(args.torch_threads)

    fresh = set() if args.table_only else run(args.datasets, args.methods, args.seeds, args.refresh)
    stats = collect(load_cache(), args.datasets, args.methods, args.seeds)
    print("\nROC-AUC (average precision), mean over seeds; best ROC-AUC per row in bold.\n")
    print(markdown_table(stats, args.datasets, args.methods, fresh))
    print()
    print(footnotes(stats, args.datasets, args.methods, args.seeds))
    print("\nFit + score seconds (mean per run; 2 shared cores, nice'd: compare within a row only)\n")
    print(time_table(stats, args.datasets, args.methods))
    expl = explanation_report(stats, args.seeds) if "adult-planted" in args.datasets else None
    if expl:
        print("\nadult-planted: share of planted rows whose planted column is tabae's top "
              "contributor (per_column=True)\n")
        print(expl)
    print()
    print(UNLABELLED_NOTE)


if __name__ == "__main__":
    main()
