"""Fit time of every model on the full adult table (issue: "well under a minute on 2 cores").

Run: .venv/bin/python benchmarks/fit_times.py [--threads N]
Writes benchmarks/results/fit_times.json. Measure on a quiet machine: times on shared
cores say little.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

import tabae

RESULTS = Path(__file__).resolve().parent / "results" / "fit_times.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    df = tabae.datasets.load_adult()
    rows = []
    for cls in (tabae.Autoencoder, tabae.DenoisingAE, tabae.TabularVAE):
        start = time.perf_counter()
        model = cls(random_state=0, verbose=False).fit(df)
        seconds = time.perf_counter() - start
        rows.append({"model": cls.__name__, "fit_s": round(seconds, 1), "epochs": len(model.history_),
                     "max_epochs": model.epochs_})
        print(f"{cls.__name__:12s} fit {seconds:6.1f} s  ({len(model.history_)} of {model.epochs_} epochs)")
    RESULTS.write_text(json.dumps({
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "rows": len(df), "results": rows,
    }, indent=1))


if __name__ == "__main__":
    main()
