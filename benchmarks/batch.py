"""Streamed batch jobs end to end: rows/s and peak memory of ``tabae score|impute|sample``, and Dask.

Data: the bundled adult table repeated to size, with 10% of the cells (every column)
hidden, written as Parquet in row groups of 65,536 rows. Models, fitted once through
the CLI on the first 26,000 rows (``--quick``: 5,000 rows, 2 epochs):

* ``tabae fit --model imputer`` (the DenoisingAE tuned for imputation) for ``impute``;
* the default ``tabae fit`` (a TabularVAE) for ``score`` and ``sample``: it is trained
  without masking, so its score is the one-pass reconstruction likelihood (the imputer,
  trained with masking, would score with one pass per column: ~15x slower on adult);
* the same imputer with its documented switches off (``neighbour_blend=0,
  category_blend=False``: no neighbour search, no per-column classifiers and forests),
  fitted from Python, for one more ``impute`` at the larger size: what the switches buy.

Every measured command runs in its own process (``python benchmarks/batch.py --child
...``), which reports its own peak RSS (``resource.getrusage``) and wall time from
start to exit: rows/s are end to end (start-up, model load, read, infer, write).
Dask: ``tabae.dask.score`` on a ``LocalCluster`` of 2 worker processes x 1 thread,
against the CLI's scores (must be identical), wall time without the cluster's start-up.

Targets (for information): score >= 200,000 rows/s, impute >= 100,000 rows/s end to
end; peak RSS at 2M rows <= 1.25 x at 200k.

Run (CPU-heavy; take the lock on a shared machine)::

    flock /tmp/tabae-bench.lock nice -n 10 .venv/bin/python benchmarks/batch.py [--quick]

Writes ``benchmarks/results/batch.json`` (``batch_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def child(argv: list[str]) -> None:
    """Run one CLI command in this process (or ``pandas PATH``: read a Parquet file into
    pandas, the memory an in-memory job needs first); print its wall time and peak RSS as
    JSON on the last line."""
    start = time.perf_counter()
    if argv[0] == "pandas":
        import pandas as pd

        pd.read_parquet(argv[1])
        code = 0
    else:
        from tabae.cli import main

        code = main(argv)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"rc": code, "wall_s": time.perf_counter() - start, "peak_rss_mb": peak_kb / 1024}))


def run(argv: list[str]) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"{argv[0]} failed: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise SystemExit(f"{argv[0]} exited {report['rc']}: {proc.stderr[-2000:]}")
    report["process_s"] = time.perf_counter() - started  # includes interpreter and imports
    return report


def write_data(path: Path, n_rows: int, seed: int = 0, table=None) -> None:
    """``table`` (default: adult) repeated to ``n_rows`` with 10% holes, written one row
    group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import tabae

    adult = tabae.datasets.load_adult() if table is None else table
    rng = np.random.default_rng(seed)
    writer, done = None, 0
    while done < n_rows:
        k = min(65_536, n_rows - done)
        block = adult.iloc[rng.integers(0, len(adult), k)].reset_index(drop=True)
        block = block.mask(rng.random(block.shape) < 0.1)
        table = pa.Table.from_pandas(block, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table.cast(writer.schema))
        done += k
    writer.close()


def dask_score(data: Path, model: Path, cli_scores: Path) -> dict:
    import dask.dataframe as dd
    import pyarrow.parquet as pq
    from distributed import Client, LocalCluster

    import tabae.dask

    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ready = time.perf_counter()
        scores = tabae.dask.score(dd.read_parquet(str(data)), str(model)).compute()
        wall = time.perf_counter() - ready
    reference = pq.read_table(cli_scores).column("score").to_numpy()
    identical = bool(np.array_equal(scores["score"].to_numpy(), reference))
    return {"rows": len(scores), "wall_s": round(wall, 2), "rows_per_s": round(len(scores) / wall),
            "cluster_start_s": round(ready - started, 2), "identical_to_cli": identical,
            "workers": "2 processes x 1 thread"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and a 2-epoch model (a smoke run)")
    parser.add_argument("--workdir", default=None, help="where data and outputs go (default: a temporary folder)")
    args = parser.parse_args()
    quick = args.quick
    sizes = (20_000, 200_000) if quick else (200_000, 2_000_000)
    n_sample = 200_000 if quick else 2_000_000
    fit_rows = 5_000 if quick else 26_000
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tabae-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    import pandas as pd

    import tabae

    adult = tabae.datasets.load_adult()
    order = np.random.default_rng(0).permutation(len(adult))[:fit_rows]
    adult.iloc[np.sort(order)].to_parquet(work / "fit.parquet")
    epochs = ["--epochs", "2"] if quick else []
    fits = {}
    for name, extra in (("imputer", ["--model", "imputer"]), ("vae", [])):
        report = run(["fit", str(work / "fit.parquet"), "-o", str(work / f"{name}.tabae"), "--quiet", *extra, *epochs])
        fits[name] = round(report["wall_s"], 1)
        print(f"fit {name:8s} on {fit_rows:,} rows: {report['wall_s']:.1f} s")

    # The imputer without its neighbour search and categorical blend (no CLI flag sets them).
    started = time.perf_counter()
    lean = tabae.impute.imputation_model(fit_rows, random_state=0, verbose=False,
                                         epochs=2 if quick else None)
    lean.set_params(neighbour_blend=0, category_blend=False)
    lean.fit(pd.read_parquet(work / "fit.parquet")).save(work / "imputer_lean.tabae")
    fits["imputer_lean"] = round(time.perf_counter() - started, 1)
    print(f"fit imputer (neighbour_blend=0, category_blend=False) on {fit_rows:,} rows: {fits['imputer_lean']} s")

    jobs = []
    for n in sizes:
        data = work / f"data_{n}.parquet"
        write_data(data, n)
        for command, model in (("score", "vae"), ("impute", "imputer"),
                               *((("impute", "imputer_lean"),) if n == sizes[-1] else ())):
            out = work / f"{command}_{model}_{n}.parquet"
            report = run([command, str(work / f"{model}.tabae"), str(data), "-o", str(out)])
            row = {"command": command, "model": model, "rows": n, "wall_s": round(report["wall_s"], 2),
                   "rows_per_s": round(n / report["wall_s"]), "peak_rss_mb": round(report["peak_rss_mb"], 1),
                   "process_s": round(report["process_s"], 2)}
            jobs.append(row)
            print(f"{command:7s} {model:12s} {n:>10,} rows: {row['rows_per_s']:>9,} rows/s end to end, "
                  f"peak RSS {row['peak_rss_mb']:.0f} MB")
    out = work / "sample.parquet"
    report = run(["sample", str(work / "vae.tabae"), "-n", str(n_sample), "-o", str(out)])
    jobs.append({"command": "sample", "model": "vae", "rows": n_sample, "wall_s": round(report["wall_s"], 2),
                 "rows_per_s": round(n_sample / report["wall_s"]), "peak_rss_mb": round(report["peak_rss_mb"], 1),
                 "process_s": round(report["process_s"], 2)})
    print(f"sample  {n_sample:>10,} rows: {jobs[-1]['rows_per_s']:>9,} rows/s, peak RSS {jobs[-1]['peak_rss_mb']:.0f} MB")

    rss = {(j["command"], j["model"], j["rows"]): j["peak_rss_mb"] for j in jobs}
    growth = {c: round(rss[(c, m, sizes[1])] / rss[(c, m, sizes[0])], 3) for c, m in (("score", "vae"), ("impute", "imputer"))}
    small = sizes[0]
    dask = dask_score(work / f"data_{small}.parquet", work / "vae.tabae", work / f"score_vae_{small}.parquet")
    cli = next(j for j in jobs if j["command"] == "score" and j["rows"] == small)
    dask["cli_wall_s"] = cli["wall_s"]
    print(f"dask    {small:>10,} rows: {dask['rows_per_s']:>9,} rows/s on 2x1 workers "
          f"(CLI {cli['rows_per_s']:,}); identical scores: {dask['identical_to_cli']}")
    print(f"peak RSS growth {sizes[0]:,} -> {sizes[1]:,} rows: {growth}")

    result = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": quick, "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "versions": {"tabae": tabae.__version__, "pandas": pd.__version__,
                     "pyarrow": __import__("pyarrow").__version__, "torch": __import__("torch").__version__},
        "fit": {"rows": fit_rows, "seconds": fits, "epochs": "2" if quick else "auto"},
        "jobs": jobs, "rss_growth": growth, "dask_score": dask,
        "targets": {"score_rows_per_s": 200_000, "impute_rows_per_s": 100_000, "rss_growth_max": 1.25},
    }
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / ("batch_quick.json" if quick else "batch.json")
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {target}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
