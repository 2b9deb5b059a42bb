"""Wide tables: fit, sample, draws and masked scores on 2,000 rows x 300 numeric columns.

The targets (issue "real tables"): every model fits in <= 20 s with ``epochs="auto"``;
``sample(1000)`` <= 1 s; ``impute_draws(X, 5)`` <= 5 s; masked scoring <= 2 s; and the
cost of drawing, sampling and masked scoring grows linearly with the column count (also
measured at 75 and 150 columns, so the growth can be read off).

The table is real-valued with low-rank structure (10 factors plus noise, 5% holes): a
stand-in for wide sensor or survey tables (there is no public wide table with holes in
the repository). Times are wall-clock on this machine with the models' default
``n_jobs`` (one thread); run it on a quiet machine, one benchmark at a time.

Run: PYTHONPATH=. .venv-bench/bin/python benchmarks/wide.py [--columns 75,150,300]
Writes benchmarks/results/wide.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import tabae

RESULTS = Path(__file__).resolve().parent / "results" / "wide.json"


def wide_table(n_rows: int, n_columns: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 10))
    values = factors @ rng.normal(size=(10, n_columns)) + 0.3 * rng.normal(size=(n_rows, n_columns))
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(n_columns)])
    return frame.mask(rng.random(frame.shape) < 0.05)


def timed(fn):
    start = time.perf_counter()
    fn()
    return round(time.perf_counter() - start, 2)


def measure(n_columns: int) -> list[dict]:
    df = wide_table(2000, n_columns)
    rows = []
    for cls in (tabae.Autoencoder, tabae.DenoisingAE, tabae.TabularVAE):
        model = cls(random_state=0, verbose=False)
        row = {"columns": n_columns, "model": cls.__name__, "fit_s": timed(lambda m=model: m.fit(df))}
        row["epochs"] = len(model.history_)
        row["impute_s"] = timed(lambda m=model: m.impute(df))
        row["impute_draws5_s"] = timed(lambda m=model: m.impute_draws(df, 5, random_state=0))
        row["score_s"] = timed(lambda m=model: m.decision_function(df))  # masked for the DAE ("auto")
        if isinstance(model, tabae.TabularVAE):
            row["sample1000_s"] = timed(lambda m=model: m.sample(1000, random_state=0))
        print(row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--columns", default="75,150,300")
    args = parser.parse_args()
    rows = [row for c in args.columns.split(",") for row in measure(int(c))]
    RESULTS.write_text(json.dumps({
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": 2000, "results": rows,
    }, indent=1))


if __name__ == "__main__":
    main()
