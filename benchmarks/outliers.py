"""Outlier-score benchmark: tabae's AEOutlierDetector against PyOD baselines.

Every detector is fitted without labels and scored on the same rows it was
fitted on; labels are only used for ROC-AUC and average precision (AP).
Protocol: ``/work/shared/BENCHMARKS.md``, section "Outlier scores" (GitHub issue #20).

Datasets
    - the thirty ADBench "Classical" tables in ``benchmarks/data/outliers/*.npz``
      (list and sources in its README): the first ten of BENCHMARKS.md, then the
      other twenty in file-number order. Used as shipped: celeba, cover, donors,
      http, skin and smtp are ADBench-style 10,000-row subsamples; campaign
      (41,188 rows), shuttle (49,097) and mammography (11,183) are whole;
    - ``breast``: sklearn's breast-cancer table, all benign rows plus malignant
      rows subsampled (with the seed) to 10% of the table as outliers;
    - ``adult-planted``: 10,000 adult rows sampled with the seed, 5% of them
      altered: half get one categorical cell replaced by a uniformly random other
      category of its column, half get one numeric cell shifted by +-4 standard
      deviations (no clipping; integer columns stay integer). The altered column
      is recorded, so tabae's per-column explanations can be checked.

Baselines ("peers"; PyOD defaults, ``random_state=seed``): ``IForest``, ``ECOD``,
``AutoEncoder`` (10 epochs, PyOD's default, also on the largest tables) and
``MCD`` on features standardised with ``StandardScaler``. On adult they get
one-hot categoricals (a missing category = all zeros) plus standardised numerics
with NaN filled by the column median; tabae gets the raw DataFrame. A peer that
raises, or returns non-finite or constant scores, is recorded as failed with the
reason (MCD on singular covariances); warnings of a peer that returns scores
(MCD: "not full rank") are recorded and the scores kept.

Report: ROC-AUC (AP) per set and method; means over the first ten, the thirty
ADBench sets and all sets, over the sets where every shown method has numbers and
again with a failed run counted at chance (ROC-AUC .5, AP = outlier share); mean
ranks per method and tabae's wins against each peer; ADBench's own published
per-table ROC-AUC (``benchmarks/data/outliers/published_adbench.csv``: IForest,
KNN and the best of 15 methods; other protocol, 10 of the 30 tables) and the DTE
paper's published means as a footnote.

Results are cached per (dataset, method, seed) in ``benchmarks/results/outliers.json``.
An entry is reused while its fingerprint matches: PyOD/sklearn versions for the
baselines, a hash of ``tabae/*.py`` and of :func:`score_tabae` for tabae, and the
dataset protocol version for all. A peer's failure is cached like a result.
``--refresh`` re-runs regardless.

Usage (from the repository root)::

    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --seeds 0 1 2
    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --methods tabae --datasets cardio breast
    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --methods iforest ecod mcd \\
        --datasets Lymphography WBC Stamps --seeds 0
    PYTHONPATH=. .venv-bench/bin/python benchmarks/outliers.py --table-only
"""

from __future__ import annotations

import argparse
import contextlib
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

ADBENCH = {  # display name -> file: BENCHMARKS.md's ten first, then the rest by file number
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
    "Cardiotocography": "7_Cardiotocography.npz",
    "celeba": "8_celeba.npz",
    "cover": "10_cover.npz",
    "donors": "11_donors.npz",
    "http": "16_http.npz",
    "InternetAds": "17_InternetAds.npz",
    "landsat": "19_landsat.npz",
    "letter": "20_letter.npz",  # ODDS's labelled 1,600 x 32 set, not data/letter.csv
    "Lymphography": "21_Lymphography.npz",
    "mnist": "24_mnist.npz",
    "musk": "25_musk.npz",
    "optdigits": "26_optdigits.npz",
    "pendigits": "28_pendigits.npz",
    "skin": "33_skin.npz",
    "smtp": "34_smtp.npz",
    "SpamBase": "35_SpamBase.npz",
    "Stamps": "37_Stamps.npz",
    "WBC": "42_WBC.npz",
    "WDBC": "43_WDBC.npz",
    "WPBC": "46_WPBC.npz",
}
# The ten measured before the other twenty arrived: their mean stays comparable with old numbers.
FIRST_TEN = list(ADBENCH)[:10]
# Bump a dataset's protocol version when the way it is built changes: cached
# results of the old version are then ignored.
PROTOCOL = {**{name: 1 for name in ADBENCH}, "breast": 1, "adult-planted": 1}
DATASETS = list(PROTOCOL)
PEERS = ["iforest", "ecod", "autoencoder", "mcd"]
METHODS = ["tabae", *PEERS]
LABELS = {"tabae": "tabae", "iforest": "IForest", "ecod": "ECOD", "autoencoder": "PyOD AutoEncoder",
          "mcd": "MCD"}

# ADBench's own per-table ROC-AUC (see data/outliers/README.md): shown beside ours, not ranked.
# Source: github.com/Minqi824/ADBench, result/AUCROC_DB_test_Tabular_None_None_unsupervise.csv at
# commit 6a9c8b0724c006cb9ea7c98c1acdf3ccebccd8da (Han et al., "ADBench: Anomaly Detection
# Benchmark", NeurIPS 2022); unsupervised setting, noise 0, mean of its seeds 1-3.
PUBLISHED = DATA / "outliers" / "published_adbench.csv"
PUBLISHED_SOURCE = ("github.com/Minqi824/ADBench, result/AUCROC_DB_test_Tabular_None_None_unsupervise.csv "
                    "@ 6a9c8b0 (Han et al., ADBench, NeurIPS 2022)")
# DTE paper (Livernoche et al., "On Diffusion Modeling for Anomaly Detection", ICLR 2024):
# mean ROC-AUC over ADBench's 47 classical tables; per table it only gives a figure.
DTE_MEANS = {"MCD": .771, "IForest": .760, "CBLOF": .748, "DTE-C": .747, "VAE": .746,
             "OCSVM": .742, "KNN": .741, "COPOD": .726, "ECOD": .724}

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


def adult_sample(n_full: int, seed: int) -> tuple[np.ndarray, np.random.Generator]:
    """The positions of the adult rows ``plant_adult`` samples, and the generator it goes on with."""
    rng = np.random.default_rng(seed)
    return rng.choice(n_full, ADULT_ROWS, replace=False), rng


def plant_adult(full: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Sample rows and plant anomalies; return (df, y, planted column per anomalous row)."""
    sample, rng = adult_sample(len(full), seed)
    df = full.iloc[sample].reset_index(drop=True)
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
    "cannot be built without inventing labels; they are left out. (The ADBench sets 'letter' "
    "and 'SpamBase' above are other, labelled tables: data/outliers/20_letter.npz, 1600 x 32, "
    "and 35_SpamBase.npz, 4207 x 57.)"
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
    elif method == "mcd":
        from pyod.models.mcd import MCD

        det = MCD(random_state=seed)
    else:
        raise ValueError(f"unknown method {method!r}")
    det.fit(X)
    return np.asarray(det.decision_function(X), dtype=float)


# A peer that has not scored a table in this long is recorded as failed: MCD on
# InternetAds (1,966 rows x 1,555 columns) ran for over ten minutes without finishing.
PEER_SECONDS = 300


class PeerTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int):
    """Raise PeerTimeout in the main thread after ``seconds`` (SIGALRM; POSIX only)."""
    import signal

    def stop(signum, frame):
        raise PeerTimeout(f"did not finish in {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def score_peer(method: str, X: np.ndarray, seed: int) -> tuple[np.ndarray, list[str]]:
    """A peer's scores and the distinct warnings it raised; raises if the scores are unusable.

    A warning alone (MCD: "covariance matrix ... not full rank") keeps the scores, as
    a benchmark user would; non-finite or constant scores rank nothing and count as a
    failure, like an exception.
    """
    import re
    import warnings

    with warnings.catch_warnings(record=True) as caught, _time_limit(PEER_SECONDS):
        warnings.simplefilter("always")
        scores = score_baseline(method, X, seed)
    # numbers masked, so MCD's "log(det) > log(previous_det) (-204.0 > -309.8)" is one warning, not dozens
    said = list(dict.fromkeys(
        f"{w.category.__name__}: {re.sub(r'-?[0-9]+(?:[.][0-9]+)?', '#', str(w.message))[:220]}"
        for w in caught))
    bad = int((~np.isfinite(scores)).sum())
    if bad:
        raise ValueError(f"{bad} non-finite scores")
    if np.ptp(scores) == 0:
        raise ValueError("all scores equal")
    return scores, said


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
            # the detector's own explanation, whose contributions sum to its scores
            method = getattr(det, "method", "auto")
            contrib = det.explain(ds.df)
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
        scores, said = score_peer(method, ds.X, seed)
        seconds = time.perf_counter() - t0
        if said:
            extra = {"warnings": said}
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


def failed_entry(ds: Dataset, seed: int, exc: Exception, seconds: float) -> dict:
    """A peer that cannot score a table is a result too (shown as "—", counted at chance)."""
    return {
        "failed": True,
        "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}",
        "seconds": round(seconds, 2),
        "seed": seed,
        "rows": int(len(ds.y)),
        "outlier_share": round(float(ds.y.mean()), 4),
        "measured": dt.datetime.now().isoformat(timespec="seconds"),
    }


def run(datasets, methods, seeds, refresh) -> set[tuple[str, str]]:
    """Measure what the cache lacks; return the (dataset, method) pairs measured now."""
    fresh, done, timed_out = set(), set(), {}
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
                t0 = time.perf_counter()
                try:
                    if (name, method) in timed_out:  # the table's size, not the seed, was the problem
                        raise PeerTimeout(timed_out[(name, method)])
                    entry = run_one(ds, method, seed)
                except Exception as exc:
                    if isinstance(exc, PeerTimeout):
                        timed_out[(name, method)] = f"{exc} on seed {seed} (later seeds not run)"
                    if method == "tabae":  # a bug to fix, not a result: nothing is cached
                        print("FAILED", file=sys.stderr)
                        traceback.print_exc()
                        continue
                    entry = failed_entry(ds, seed, exc, time.perf_counter() - t0)
                entry["fingerprint"] = fp
                save_entry(name, method, key, entry)
                done.add((name, method, key))
                fresh.add((name, method))
                if entry.get("failed"):
                    print(f"FAILED, recorded: {entry['reason']} ({entry['seconds']:.1f} s)", file=sys.stderr)
                    continue
                said = "".join(f"\n    warned: {w}" for w in entry.get("warnings", []))
                print(f"ROC-AUC {entry['roc_auc']:.3f} AP {entry['ap']:.3f} "
                      f"({entry['seconds']:.1f} s){said}", file=sys.stderr)
    return fresh


# --------------------------------------------------------------------------- report
def collect(cache, datasets, methods, seeds):
    """mean ROC-AUC, AP, seconds, dates and failures per (dataset, method).

    ``roc_auc``/``ap`` average the runs that gave scores (None if all failed);
    ``roc_auc_chance``/``ap_chance`` count a failed run at chance instead: ROC-AUC .5
    and AP = the outlier share, what random scores get on average.
    """
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
            ok = [g for g in got if not g.get("failed")]
            stats[name, method] = {
                "roc_auc": float(np.mean([g["roc_auc"] for g in ok])) if ok else None,
                "ap": float(np.mean([g["ap"] for g in ok])) if ok else None,
                "roc_auc_chance": float(np.mean([0.5 if g.get("failed") else g["roc_auc"] for g in got])),
                "ap_chance": float(np.mean([g["outlier_share"] if g.get("failed") else g["ap"]
                                            for g in got])),
                "seconds": float(np.mean([g["seconds"] for g in ok])) if ok else None,
                "n": len(ok), "n_failed": len(got) - len(ok), "want": len(keys), "stale": stale,
                "failed": sorted({g["reason"] for g in got if g.get("failed")}),
                "warnings": sorted({w for g in ok for w in g.get("warnings", [])}),
                "dates": sorted(g["measured"] for g in got),
                "runs": ok,
            }
    return stats


def _has(stats, name, method) -> bool:
    """Are there numbers (not only failures) for this set and method?"""
    s = stats.get((name, method))
    return s is not None and s["roc_auc"] is not None


def _f(x: float) -> str:
    """.123 style, as in BENCHMARKS.md."""
    return f"{x:.3f}".replace("0.", ".", 1) if x < 1 else f"{x:.3f}"


def _marks(s: dict) -> str:
    """* = fewer seeds than asked; † = measured with other code/versions; ‡ = a run failed."""
    return (("*" if s["n"] + s["n_failed"] < s["want"] else "") + ("†" if s["stale"] else "")
            + ("‡" if s["n_failed"] else ""))


@functools.lru_cache(maxsize=None)
def load_published() -> pd.DataFrame:
    """ADBench's published ROC-AUC per set (rows) and method (columns); NaN where it has none."""
    if not PUBLISHED.exists():
        return pd.DataFrame()
    return pd.read_csv(PUBLISHED, comment="#", index_col="set")


def published_cells(name: str) -> list[str]:
    """ADBench IForest, KNN and best method (ties: all names) for one set; blanks if none."""
    pub = load_published()
    if name not in pub.index or pub.loc[name].isna().all():
        return ["", "", ""]
    row = pub.loc[name].dropna()
    best = row.max()
    who = "/".join(row.index[row == best])
    return [_f(row[m]) if m in row else "" for m in ("IForest", "KNN")] + [f"{who} {_f(best)}"]


def _published_sets(datasets) -> list[str]:
    pub = load_published()
    return [d for d in datasets if d in pub.index and pub.loc[d].notna().any()]


def markdown_table(stats, datasets, methods, fresh) -> str:
    cols = [m for m in methods if any((d, m) in stats for d in datasets)]
    datasets = [d for d in datasets if any((d, m) in stats for m in cols)]  # the rows shown
    with_pub = bool(_published_sets(datasets))
    pub_head = " | ADBench IForest | ADBench KNN | ADBench best" if with_pub else ""
    head = "| set | " + " | ".join(LABELS[m] for m in cols) + pub_head + " | measured |"
    lines = [head, "|" + " --- |" * (len(cols) + 2 + 3 * with_pub)]

    def row(cells):
        best = max((round(v[0], 3) for v in cells.values() if v[0] is not None), default=None)
        out = []
        for m in cols:
            if m not in cells:
                out.append("—")
                continue
            auc, ap, marks = cells[m]
            if auc is None:  # every run failed: the footnote gives the reason
                out.append(f"—{marks}")
                continue
            txt = _f(auc)
            txt = f"**{txt}**" if round(auc, 3) == best else txt
            out.append(f"{txt} ({_f(ap)}){marks}")
        return out

    def pub_part(cells):
        return (" | " + " | ".join(cells)) if with_pub else ""

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
        lines.append(f"| {name} | " + " | ".join(row(cells)) + pub_part(published_cells(name))
                     + f" | {src} |")

    def mean_row(label, names, chance=False, pub=False):
        auc, ap = ("roc_auc_chance", "ap_chance") if chance else ("roc_auc", "ap")
        cells = {m: (np.mean([stats[d, m][auc] for d in names]),
                     np.mean([stats[d, m][ap] for d in names]), "") for m in cols}
        tail = ["", "", ""]
        if pub:  # ADBench's numbers averaged over the same sets; "best" = best method per set
            p = load_published().loc[names]
            tail = [_f(p["IForest"].mean()), _f(p["KNN"].mean()),
                    f"best per set {_f(p.max(axis=1).mean())}"]
        return (f"| **{label}** ({len(names)} sets) | " + " | ".join(row(cells)) + pub_part(tail)
                + " | |")

    for label, group in [("mean, first ten", [d for d in datasets if d in FIRST_TEN]),
                         ("mean, 30 ADBench", [d for d in datasets if d in ADBENCH]),
                         ("mean, all", datasets)]:
        strict = [d for d in group if all(_has(stats, d, m) for m in cols)]
        counted = [d for d in group if all((d, m) in stats for m in cols)]
        # "mean, all" only where breast or adult-planted add something to the ADBench mean
        again = label == "mean, all" and group == [d for d in datasets if d in ADBENCH]
        if len(strict) > 1 and not again:
            lines.append(mean_row(label, strict))
        failed = any(stats[d, m]["n_failed"] for d in counted for m in cols)
        if len(counted) > 1 and failed and not again:
            lines.append(mean_row(f"{label}, failed = chance", counted, chance=True))
    both = [d for d in _published_sets(datasets) if all(_has(stats, d, m) for m in cols)]
    if len(both) > 1:
        lines.append(mean_row("mean, sets with ADBench's numbers", both, pub=True))
    return "\n".join(lines)


def rank_table(stats, datasets, methods) -> str | None:
    """Mean rank per method over the ADBench sets (1 = best ROC-AUC) and tabae's wins per peer."""
    adb = [d for d in datasets if d in ADBENCH]
    cols = [m for m in METHODS if m in methods and any((d, m) in stats for d in adb)]
    if len(cols) < 2 or not adb:
        return None

    def frame(key):
        return pd.DataFrame({m: [stats[d, m][key] if (d, m) in stats and stats[d, m][key] is not None
                                 else np.nan for d in adb] for m in cols}, index=adb, dtype=float)

    # Ranked at the 3 decimals shown, so a tie in the table is a tie in the ranks (averaged).
    auc, chance = frame("roc_auc").round(3), frame("roc_auc_chance").round(3)
    title = ("Mean rank by ROC-AUC over the ADBench sets (1 = best)"
             + ("; last row: tabae's wins/ties/losses against each peer" if "tabae" in cols else ""))
    lines = [title, "", "| ADBench sets | " + " | ".join(LABELS[m] for m in cols) + " |",
             "|" + " --- |" * (len(cols) + 1)]

    def rank_row(label, df):
        df = df.dropna()
        if df.empty:
            return
        mean = df.rank(axis=1, ascending=False, method="average").mean()
        cells = [f"**{mean[m]:.2f}**" if mean[m] == mean.min() else f"{mean[m]:.2f}" for m in cols]
        lines.append(f"| {label} ({len(df)} sets) | " + " | ".join(cells) + " |")

    rank_row("mean rank, sets where all have numbers", auc)
    if len(chance.dropna()) != len(auc.dropna()):
        rank_row("mean rank, failed = .5", chance)
    if "tabae" in cols:
        cells = []
        for m in cols:
            if m == "tabae":
                cells.append("")
                continue
            both = auc[["tabae", m]].dropna()
            win = int((both["tabae"] > both[m]).sum())
            tie = int((both["tabae"] == both[m]).sum())
            failed = sum(1 for d in adb if _has(stats, d, "tabae") and (d, m) in stats
                         and not _has(stats, d, m))
            cells.append(f"{win}/{tie}/{len(both) - win - tie}" + (f" (+{failed} failed)" if failed else ""))
        lines.append("| tabae wins/ties/losses | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def footnotes(stats, datasets, methods, seeds) -> str:
    out = []
    partial = sorted({(d, m) for (d, m), s in stats.items() if s["n"] + s["n_failed"] < s["want"]})
    if partial:
        out.append("\\* fewer seeds than asked: " + ", ".join(
            f"{d}/{LABELS[m]} {stats[d, m]['n'] + stats[d, m]['n_failed']}/{stats[d, m]['want']}"
            for d, m in partial))
    stale = sorted({(d, m) for (d, m), s in stats.items() if s["stale"]})
    if stale:
        out.append("† measured with other code or package versions than now (fingerprint differs; "
                   "re-run to refresh): " + ", ".join(f"{d}/{LABELS[m]}" for d, m in stale))
    failed = [(d, m) for d in datasets for m in methods if (d, m) in stats and stats[d, m]["n_failed"]]
    if failed:
        out.append("‡ failed (— if every seed failed, else the mean of the seeds that scored): " + "; ".join(
            f"{d}/{LABELS[m]} {stats[d, m]['n_failed']}/{stats[d, m]['n'] + stats[d, m]['n_failed']} "
            f"({' | '.join(stats[d, m]['failed'])})" for d, m in failed))
    warned: dict[tuple[str, str], list[str]] = {}
    for d in datasets:
        for m in methods:
            for w in stats.get((d, m), {}).get("warnings", []):
                warned.setdefault((m, w), []).append(d)
    for (m, w), sets in warned.items():
        out.append(f"{LABELS[m]} warned but returned scores (kept) on {', '.join(sets)}: {w}")
    if sum(any((d, m) in stats for m in methods) for d in datasets) > 1:
        out.append("Means: over the sets where every shown method has numbers (the count is given); "
                   "'failed = chance' rows keep the sets with failed runs and count each failed run as "
                   "ROC-AUC .5 and AP = the set's outlier share (what random scores get). Ranks: 1 = best "
                   "mean ROC-AUC at 3 decimals, ties averaged; wins count sets where both have numbers.")
    old = [m for m in ("iforest", "ecod", "autoencoder") if m in methods]
    ten = [d for d in datasets if d in FIRST_TEN and all(_has(stats, d, m) for m in old)]
    if old and ten:
        best = np.mean([max(stats[d, m]["roc_auc"] for m in old) for d in ten])
        out.append(f"Best of {'/'.join(LABELS[m] for m in old)} per set, averaged over {len(ten)} of the "
                   f"first ten: ROC-AUC {_f(best)} (the bar from BENCHMARKS.md: .851 over all ten).")
    peers = [m for m in PEERS if m in methods]
    adb = [d for d in datasets if d in ADBENCH and all(_has(stats, d, m) for m in peers)]
    if len(peers) > len(old) and adb:
        best = np.mean([max(stats[d, m]["roc_auc"] for m in peers) for d in adb])
        out.append(f"Best of {'/'.join(LABELS[m] for m in peers)} per set, averaged over {len(adb)} "
                   f"ADBench sets: ROC-AUC {_f(best)}.")
    pub_sets = _published_sets([d for d in datasets if any((d, m) in stats for m in methods)])
    if pub_sets:
        p = load_published().loc[pub_sets]
        out.append(f"ADBench columns: ADBench's own published ROC-AUC ({PUBLISHED_SOURCE}), mean of its 3 "
                   "seeds, noise 0; another protocol: fitted on a random 70% of the table, scored on the "
                   "held-out 30%. 'best' = the best of its 15 unsupervised methods on that set (chosen "
                   "with the labels). Published means over the "
                   f"{len(pub_sets)} shown sets that have them: IForest {_f(p['IForest'].mean())}, "
                   f"KNN {_f(p['KNN'].mean())}, best per set {_f(p.max(axis=1).mean())}. "
                   "The file has numbers for 10 of the 30 tables only (see data/outliers/README.md).")
    if any(d in ADBENCH for d in datasets):
        out.append("DTE paper (Livernoche et al., \"On Diffusion Modeling for Anomaly Detection\", ICLR 2024), "
                   "published mean ROC-AUC over all 47 of ADBench's classical tables (these 30 and 17 "
                   "more; its own protocol): " + ", ".join(f"{k} {_f(v)}" for k, v in DTE_MEANS.items()) + ".")
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
        cells = [f"{stats[name, m]['seconds']:.1f}" if _has(stats, name, m) else "—" for m in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def explanation_report(stats, seeds) -> str | None:
    s = stats.get(("adult-planted", "tabae"))
    if s is None or not s["runs"] or "explain_top1" not in s["runs"][0]:
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
    lines.append(f"| tabae detector `explain()` ({how}) | {_f(t1)} | {_f(t3)} | {_f(c1)} | {_f(n1)} |")
    if "masked_top1" in runs[0]:
        m1 = np.mean([r["masked_top1"] for r in runs])
        m3 = np.mean([r["masked_top3"] for r in runs])
        mc = np.mean([split(r["masked_top1_hits"], r["explain_kinds"], "categorical") for r in runs])
        mn = np.mean([split(r["masked_top1_hits"], r["explain_kinds"], "numeric") for r in runs])
        lines.append(f"| tabae `DenoisingAE` `decision_function(per_column=True, method='masked')` | {_f(m1)} | {_f(m3)} "
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
    ranks = rank_table(stats, args.datasets, args.methods)
    if ranks:
        print()
        print(ranks)
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
