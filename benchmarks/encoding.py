"""Encoding benchmark on adult with 10% of cells removed: round trip and speed.

1. tabae's ``TableEncoder`` on ``tabae/data/adult.csv`` with 10% of the cells removed at
   random (MCAR, seed 0): ``fit`` + ``transform`` + ``inverse_transform`` must give
   back every observed cell exactly, and the observed mask ``M`` exactly.
2. Wall time of ``fit`` + ``transform``: tabae's ``TableEncoder`` against CTGAN's
   ``DataTransformer`` (``fit(df, discrete_columns)`` + ``transform(df)``) on the same
   rows, median of ``--repeats`` runs for tabae and ``--ctgan-repeats`` for CTGAN.
   CTGAN's transformer cannot take missing values, so it gets the frame with missing
   numbers filled with the column median and missing categories as the string 'nan'.

Results are cached in ``results/encoding.json`` per method; ``--refresh`` measures
again (do it for both methods when the speed ratio matters, so they share a run).
Run from the repository root, through the shared CPU lock::

    flock /tmp/tabae-bench.lock nice -n 10 env PYTHONPATH=. \\
        .venv-bench/bin/python benchmarks/encoding.py --methods tabae,ctgan
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tabae" / "data" / "adult.csv"  # the package's copy
RESULTS = HERE / "results" / "encoding.json"
MISSING_RATE = 0.10


def load_with_holes(seed=0):
    """adult.csv ('?' read as missing) with each cell removed with probability 0.1."""
    df = pd.read_csv(DATA, skipinitialspace=True, na_values="?")
    holes = np.random.default_rng(seed).random(df.shape) < MISSING_RATE
    return df.mask(holes)


def ctgan_frame(df):
    """The same rows without holes, as CTGAN's transformer needs them."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].fillna(out[col].median())
        else:
            out[col] = out[col].astype(object).where(out[col].notna(), "nan")
    return out


def categorical_columns(df):
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


# ------------------------------------------------------------------------ round trip


def mismatches(original, restored, M):
    """Per column: observed cells, value mismatches on them, mask and hole mismatches."""
    rows = []
    for j, col in enumerate(original.columns):
        observed = original[col].notna().to_numpy()
        a, b = original[col][observed], restored[col][observed]
        if pd.api.types.is_numeric_dtype(original[col]):
            a = a.to_numpy(dtype="float64")
            b = pd.to_numeric(b, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        else:
            a, b = a.astype(object).to_numpy(), b.astype(object).to_numpy()
        rows.append({
            "column": col,
            "observed": int(observed.sum()),
            "value_mismatches": int((a != b).sum()),
            "mask_mismatches": int((np.asarray(M[:, j], bool) != observed).sum()),
            # With M passed to inverse_transform the holes should come back missing.
            "holes_filled": int(restored[col][~observed].notna().sum()),
        })
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------- timings


def time_tabae(df, repeats):
    import tabae

    times, encoder = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        encoder = tabae.TableEncoder().fit(df)
        X, M = encoder.transform(df)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    restored = encoder.inverse_transform(X, M)
    inverse_s = time.perf_counter() - start
    table = mismatches(df, restored, M)
    return {
        "fit_transform_s": times,
        "median_s": statistics.median(times),
        "inverse_s": inverse_s,
        "width": int(X.shape[1]),
        "round_trip": table.to_dict(orient="records"),
    }


def time_ctgan(df, repeats):
    from ctgan.data_transformer import DataTransformer

    frame, discrete = ctgan_frame(df), categorical_columns(df)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        transformer = DataTransformer()
        transformer.fit(frame, discrete)
        X = transformer.transform(frame)
        times.append(time.perf_counter() - start)
    return {
        "fit_transform_s": times,
        "median_s": statistics.median(times),
        "width": int(X.shape[1]),
        "input": "missing numbers filled with the median, missing categories as the string 'nan'",
    }


def versions():
    out = {}
    for name in ("tabae", "ctgan", "rdt", "numpy", "pandas", "scikit-learn"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return out


# ------------------------------------------------------------------------------ main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="tabae,ctgan", help="comma-separated: tabae, ctgan")
    parser.add_argument("--refresh", action="store_true", help="measure again even when cached")
    parser.add_argument("--repeats", type=int, default=3, help="tabae timing repeats (median)")
    parser.add_argument("--ctgan-repeats", type=int, default=1, help="CTGAN timing repeats (median)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="cache file (JSON)")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    runners = {"tabae": lambda df: time_tabae(df, args.repeats),
               "ctgan": lambda df: time_ctgan(df, args.ctgan_repeats)}
    unknown = sorted(set(methods) - set(runners))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {sorted(runners)}")

    df = load_with_holes()
    print(f"adult: {df.shape[0]} rows x {df.shape[1]} columns, {df.isna().to_numpy().mean():.1%} "
          f"cells missing ({MISSING_RATE:.0%} removed at random, seed 0, plus adult's own '?')")
    cache = json.loads(args.results.read_text()) if args.results.exists() else {}
    fresh = set()
    for method in methods:
        if method in cache and not args.refresh:
            continue
        print(f"running {method} ...", flush=True)
        cache[method] = runners[method](df) | {
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "versions": versions(),
        }
        fresh.add(method)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.results.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(cache, indent=2, sort_keys=True) + "\n")
        tmp.replace(args.results)

    print("\n| encoder | fit + transform s (median) | runs | encoded width | measured |")
    print("| --- | --- | --- | --- | --- |")
    names = {"tabae": "tabae TableEncoder (with holes)",
             "ctgan": "CTGAN DataTransformer (holes filled: median / 'nan')"}
    for method in methods:
        entry = cache[method]
        when = "this run" if method in fresh else f"cached {entry['measured_at']}"
        runs = ", ".join(f"{t:.2f}" for t in entry["fit_transform_s"])
        print(f"| {names[method]} | {entry['median_s']:.2f} | {runs} | {entry['width']} | {when} |")
    if {"tabae", "ctgan"} <= set(methods):
        ratio = cache["ctgan"]["median_s"] / cache["tabae"]["median_s"]
        note = "" if {"tabae", "ctgan"} <= fresh else " (different runs; --refresh for a side-by-side ratio)"
        print(f"\nSpeed ratio CTGAN / tabae (fit + transform): {ratio:.1f}x{note}")

    if "tabae" in methods:
        table = pd.DataFrame(cache["tabae"]["round_trip"])
        print(f"\ntabae inverse_transform: {cache['tabae']['inverse_s']:.2f} s")
        print("Round trip on observed cells (mismatch counts must all be 0):\n")
        print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
        bad = table[["value_mismatches", "mask_mismatches"]].to_numpy().sum()
        if bad:
            print(f"\nFAILED: {bad} mismatching observed cells or mask entries", file=sys.stderr)
        assert bad == 0, "TableEncoder round trip is not exact on observed cells"
        print("\nRound trip exact on every observed cell.")


def _has_tabulate():
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
