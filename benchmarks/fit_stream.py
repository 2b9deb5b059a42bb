"""Fitting on a table larger than memory: ``tabae fit`` streamed, against pandas and an in-memory fit.

Data: adult's training part (the first 26,048 rows of a seeded permutation) repeated to
``--rows`` rows (default 5,000,000) with 10% of the cells hidden, written as Parquet in
row groups of 65,536 rows (``benchmarks/batch.py``'s writer). The other 6,513 adult
rows are the test rows, never written.

Measured, each command in its own process (``benchmarks/batch.py``'s runner; peak RSS
from ``resource.getrusage``):

* ``pandas``: ``pd.read_parquet`` of the file (what fitting in memory needs first);
* ``streamed``: ``tabae fit data.parquet -o m.tabae --model MODEL`` (a sample of
  ``--sample-rows`` rows in memory, the whole file streamed through training);
* ``sample-only``: the same with ``--sample-only`` (an in-memory fit on the same
  sample: the quality reference of the same sample size).

Quality of both models on the test rows: the mean held-out log-likelihood per row
(``model.score``), and with 20% of their observed cells hidden, the imputation's
accuracy on categorical cells and NRMSE on numeric cells. "Within noise" is judged
against the spread of the in-memory fit over ``--seeds``.

Run: ``PYTHONPATH=. .venv-bench/bin/python benchmarks/fit_stream.py [--rows 5000000] [--seeds 0,1]``
Writes ``benchmarks/results/fit_stream.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from batch import run, write_data  # noqa: E402  (each command in its own process; the data writer)

RESULTS = HERE / "results" / "fit_stream.json"


def quality(model_path: Path, test, seed: int = 0) -> dict:
    import tabae

    model = tabae.load(model_path)
    rng = np.random.default_rng(seed)
    observed = test.notna().to_numpy()
    hidden = observed & (rng.random(test.shape) < 0.2)
    filled = model.impute(test.mask(hidden))
    kinds = {spec.name: spec.kind for spec in model.encoder_.schema_}
    acc, nrmse = [], []
    for j, name in enumerate(test.columns):
        h = hidden[:, j]
        if not h.any():
            continue
        if kinds[name] == "categorical":
            acc.append((filled[name][h].astype(str).to_numpy() == test[name][h].astype(str).to_numpy()))
        elif kinds[name] in ("numeric", "integer"):
            truth = test[name][h].astype(float).to_numpy()
            err = filled[name][h].astype(float).to_numpy() - truth
            nrmse.append(np.sqrt(np.mean(err**2)) / test[name].astype(float).std(ddof=0))
    return {"loglik_per_row": round(float(model.score(test)), 4),
            "cat_acc": round(float(np.concatenate(acc).mean()), 4), "nrmse": round(float(np.mean(nrmse)), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument("--model", default="dae", choices=["vae", "dae", "ae", "imputer"])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tabae-fitstream-"))
    work.mkdir(parents=True, exist_ok=True)

    import tabae

    adult = tabae.datasets.load_adult()
    order = np.random.default_rng(0).permutation(len(adult))
    train, test = adult.iloc[np.sort(order[:26_048])], adult.iloc[np.sort(order[26_048:])].reset_index(drop=True)
    data = work / "data.parquet"
    started = time.perf_counter()
    write_data(data, args.rows, table=train)
    print(f"wrote {args.rows:,} rows ({data.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - started:.0f} s")

    loaded = run(["pandas", str(data)])
    print(f"pandas.read_parquet: peak RSS {loaded['peak_rss_mb']:.0f} MB, {loaded['wall_s']:.1f} s")
    runs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for how, extra in (("streamed", []), ("sample-only", ["--sample-only"])):
            out = work / f"{how}_{seed}.tabae"
            report = run(["fit", str(data), "-o", str(out), "--model", args.model, "--seed", str(seed),
                          "--sample-rows", str(args.sample_rows), "--quiet", *extra])
            row = {"how": how, "seed": seed, "wall_s": round(report["wall_s"], 1),
                   "peak_rss_mb": round(report["peak_rss_mb"]), **quality(out, test, seed)}
            runs.append(row)
            print(json.dumps(row))
    result = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": args.rows, "sample_rows": args.sample_rows, "model": args.model, "cpus": os.cpu_count(),
        "pandas_load": {"peak_rss_mb": round(loaded["peak_rss_mb"]), "wall_s": round(loaded["wall_s"], 1)},
        "fits": runs,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
