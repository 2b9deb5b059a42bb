"""Synthesis benchmark on adult: CTGAN's TVAE and tabae side by side.

Protocol (``BENCHMARKS.md``, "Synthesis — adult"): shuffle ``tabae/data/adult.csv`` with
``numpy.random.default_rng(0).permutation``, train on the first 26,000 rows, keep the
other 6,561 as the real test rows, generate 26,000 rows and score them with

- SDMetrics' ``QualityReport`` over all column pairs (both thresholds 0), when
  sdmetrics is installed, next to ``tabae.metrics``' own shapes and trends;
- C2ST, logistic detection (SDMetrics' ``LogisticDetection``), ML efficacy (target
  ``income``), DCR share and exact copies from ``tabae.metrics``.

Reference rows: every column shuffled independently (``shuffle``) and the real test
rows themselves (``real``, the ceiling). Each method's result is cached in
``results/synthesis.json``; ``--refresh`` measures again.

Run from the repository root, through the shared CPU lock::

    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. \\
        .venv-bench/bin/python benchmarks/synthesis.py --methods tvae,tabae,shuffle,real
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tabae" / "data" / "adult.csv"  # the package's copy
RESULTS = HERE / "results" / "synthesis.json"
N_TRAIN = 26_000
N_SYNTHETIC = 26_000
TARGET = "income"
LABELS = {
    "tvae": "CTGAN's TVAE {ctgan}, defaults ({epochs} epochs)",
    "tabae": "tabae TabularVAE, defaults",
    "shuffle": "every column shuffled independently",
    "real": "real test rows (the ceiling)",
}


# ----------------------------------------------------------------------------- data


def load_adult():
    """Train and test frames of the protocol; '?' is read as missing."""
    df = pd.read_csv(DATA, skipinitialspace=True, na_values="?")
    order = np.random.default_rng(0).permutation(len(df))
    train = df.iloc[order[:N_TRAIN]].reset_index(drop=True)
    test = df.iloc[order[N_TRAIN:]].reset_index(drop=True)
    return train, test


def categorical_columns(df):
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


# ----------------------------------------------------------------------- generators
# Each returns (synthetic frame, fit seconds or None, sample seconds or None).


def generate_tvae(train, test, seed, args):
    from ctgan import TVAE

    model = TVAE(epochs=args.tvae_epochs)
    model.set_random_state(seed)
    start = time.perf_counter()
    model.fit(train, discrete_columns=categorical_columns(train))
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(N_SYNTHETIC)
    return synthetic, fit_s, time.perf_counter() - start


def generate_tabae(train, test, seed, args):
    import tabae

    start = time.perf_counter()
    model = tabae.TabularVAE(random_state=seed, verbose=False).fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = model.sample(N_SYNTHETIC, random_state=seed)
    return synthetic, fit_s, time.perf_counter() - start


def generate_shuffle(train, test, seed, args):
    # Keeps every marginal exactly and breaks every dependence between columns.
    rng = np.random.default_rng(seed)
    synthetic = pd.DataFrame({c: train[c].to_numpy()[rng.permutation(len(train))] for c in train})
    return synthetic, None, None


def generate_real(train, test, seed, args):
    return test, None, None


GENERATORS = {
    "tvae": generate_tvae,
    "tabae": generate_tabae,
    "shuffle": generate_shuffle,
    "real": generate_real,
}


# -------------------------------------------------------------------------- scoring


def sdmetrics_quality(train, synthetic):
    """SDMetrics QualityReport over all pairs, or None without sdmetrics."""
    try:
        with warnings.catch_warnings():  # 0.32 deprecates the import path; it still works
            warnings.simplefilter("ignore", FutureWarning)
            from sdmetrics.reports.single_table import QualityReport
    except ImportError:
        return None
    categorical = set(categorical_columns(train))
    metadata = {
        "columns": {
            c: {"sdtype": "categorical" if c in categorical else "numerical"} for c in train
        }
    }
    report = QualityReport()
    # The defaults score only strongly related pairs; the protocol scores all.
    report.real_correlation_threshold = 0
    report.real_association_threshold = 0
    report.generate(train, synthetic[list(train.columns)], metadata, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return {"shapes": float(scores["Column Shapes"]), "trends": float(scores["Column Pair Trends"])}


def score(method, train, test, synthetic, seed):
    from tabae.metrics import evaluate, ml_efficacy

    kinds = {c: "categorical" for c in categorical_columns(train)}
    # The real test rows cannot be their own holdout: score them without one and
    # take the real-train model's AUC as their ML efficacy.
    holdout = None if method == "real" else test
    report = evaluate(
        train,
        synthetic,
        holdout=holdout,
        target=None if holdout is None else TARGET,
        kinds=kinds,
        random_state=seed,
    )
    ml_auc = ml_efficacy(train, test, TARGET, random_state=seed) if holdout is None else report.ml_auc
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


def run_method(method, train, test, args):
    synthetic, fit_s, sample_s = GENERATORS[method](train, test, args.seed, args)
    start = time.perf_counter()
    # One thread for the evaluators: on a shared 2-core machine OpenMP spin-waits
    # make HistGradientBoosting many times slower than a single thread.
    with threadpool_limits(1):
        metrics = score(method, train, test, synthetic, args.seed)
        sdmetrics = sdmetrics_quality(train, synthetic)
    return {
        "label": LABELS[method].format(ctgan=versions().get("ctgan", "?"), epochs=args.tvae_epochs),
        "seed": args.seed,
        "params": params(method, args),
        "fit_s": fit_s,
        "sample_s": sample_s,
        "metrics": metrics,
        "sdmetrics": sdmetrics,
        "score_s": time.perf_counter() - start,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "versions": versions(),
    }


def params(method, args):
    return {"epochs": args.tvae_epochs} if method == "tvae" else {}


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
    if isinstance(obj, float) and np.isnan(obj):
        return None
    return obj


def usable(entry, method, args):
    return entry is not None and entry["seed"] == args.seed and entry["params"] == params(method, args)


# ---------------------------------------------------------------------------- table


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def markdown_table(rows):
    have_sdm = any(entry["sdmetrics"] for entry, _ in rows.values())
    head = ["generator"]
    if have_sdm:
        head += ["shapes (SDMetrics)", "trends (SDMetrics)"]
    head += ["shapes (tabae)", "trends (tabae)", "C2ST", "logistic det.", "ML AUC", "DCR share", "exact copies",
             "fit s", "sample s", "measured"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for method, (entry, cached) in rows.items():
        m, sdm = entry["metrics"], entry["sdmetrics"] or {}
        cells = [entry["label"]]
        if have_sdm:
            cells += [fmt(sdm.get("shapes")), fmt(sdm.get("trends"))]
        ml = fmt(m["ml_auc"]) if method != "real" else f"real train: {fmt(m['ml_auc'])}"
        copies = "—" if method == "real" else f"{100 * m['exact_copies']:.2f}%"
        when = f"cached {entry['measured_at']}" if cached else "this run"
        # Entries cached before logistic detection existed lack it: "—" until --refresh.
        cells += [fmt(m["shapes"]), fmt(m["trends"]), fmt(m["c2st"]), fmt(m.get("logistic_detection")),
                  ml, fmt(m["dcr_share"]),
                  copies, fmt(entry["fit_s"], 1), fmt(entry["sample_s"], 1), when]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def footer(rows):
    notes = []
    fits = {m: e for m, (e, _) in rows.items() if e["fit_s"]}
    if "tvae" in fits and "tabae" in fits:
        ratio = fits["tvae"]["fit_s"] / fits["tabae"]["fit_s"]
        same_run = not rows["tvae"][1] and not rows["tabae"][1]
        notes.append(
            f"Fit-time ratio TVAE / tabae: {ratio:.2f}x"
            + ("" if same_run else " (measured in different runs; --refresh both for a side-by-side ratio)")
        )
    refs = [e["metrics"]["exact_copies_holdout"] for e, _ in rows.values()]
    refs = [r for r in refs if r is not None and not np.isnan(r)]
    if refs:
        notes.append(f"Exact-copy reference: {100 * refs[0]:.2f}% of the real test rows equal a train row.")
    notes.append("C2ST = 1 - |2 AUC - 1| of gradient-boosted trees, logistic det. = SDMetrics' LogisticDetection "
                 "(1 = indistinguishable); DCR share ideal 0.5 (higher = memorising).")
    return "\n".join(notes)


# ------------------------------------------------------------------------------ main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="tvae,tabae,shuffle,real",
                        help=f"comma-separated, from {','.join(GENERATORS)}")
    parser.add_argument("--refresh", action="store_true",
                        help="measure again even when a cached result exists")
    parser.add_argument("--seed", type=int, default=0, help="seed of generators and evaluators")
    parser.add_argument("--tvae-epochs", type=int, default=300, help="TVAE epochs (its default: 300)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="cache file (JSON)")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(GENERATORS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {sorted(GENERATORS)}")

    train, test = load_adult()
    cache = load_cache(args.results)
    rows = {}
    for method in methods:
        entry = cache.get(method)
        if not args.refresh and usable(entry, method, args):
            rows[method] = (entry, True)
            continue
        print(f"running {method} ...", flush=True)
        entry = run_method(method, train, test, args)
        cache[method] = entry
        save_cache(args.results, cache)
        rows[method] = (entry, False)
        print(f"  done: fit {fmt(entry['fit_s'], 1)} s, scoring {entry['score_s']:.1f} s", flush=True)

    print(f"\nadult: {len(train)} train rows, {len(test)} test rows, {N_SYNTHETIC} generated; "
          f"seed {args.seed}\n")
    print(markdown_table(rows))
    print()
    print(footer(rows))


if __name__ == "__main__":
    main()
