"""A Parquet batch job, streamed in bounded memory, and the same job on Dask.

A folder of Parquet files (adult with 10% of its cells removed, four parts, an ``id``
column) stands for a table too big for memory. The recipe

1. fits a ``DenoisingAE`` on a reservoir sample of the rows (one pass, bounded memory),
   and saves it;
2. runs the streamed jobs (``tabae.batch.run_impute`` / ``run_score``: record batches in,
   an atomic output file out), which is what ``tabae impute`` and ``tabae score`` do;
3. runs the same jobs on Dask (``tabae.dask.impute`` / ``score``), the model shipped to
   the workers as its sealed file, and checks that both give the same values.

Run: python recipes/batch_and_dask.py [--fast] [--out DIR]   (Dask: pip install "tabae[dask]")
Figure: batch_scores.png (score distribution; which column tops the strangest rows).
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd
from _common import options, pyplot, require, save

import tabae
import tabae.dask  # dask itself is imported when a job is built
from tabae.batch import open_source, run_impute, run_score, sample_rows


def main(argv=None) -> int:
    args = options(__doc__, argv)
    plt = pyplot()
    dd = require("dask.dataframe", "dask")
    rows, fit_rows, epochs, batch = (4000, 1000, 3, 1000) if args.fast else (32_561, 6_000, 25, 8192)

    # ---- a folder of Parquet parts with holes
    df = tabae.datasets.load_adult().head(rows)
    df = df.mask(np.random.default_rng(0).random(df.shape) < 0.1)
    df.insert(0, "id", np.arange(len(df)))
    folder = args.out / "adult_parts"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for k, rows_k in enumerate(np.array_split(np.arange(len(df)), 4)):
        df.iloc[rows_k].to_parquet(folder / f"part-{k}.parquet", index=False)

    # ---- fit on a sample read in one pass, save the model
    source = open_source(folder)
    train = sample_rows(source, fit_rows, random_state=0).drop(columns="id")
    model = tabae.DenoisingAE(epochs=epochs, random_state=0, verbose=False).fit(train)
    model.save(args.out / "adult.tabae")
    # Categories too rare to be in the sample (a country seen in 3 rows) are mapped to the
    # shared "other" slot when the whole table is scored, with a TabaeWarning: the price
    # of fitting on a sample. Silenced for the Dask part; the streamed jobs set their own
    # filter and show each distinct warning.
    warnings.filterwarnings("ignore", message=".*categories not seen at fit", category=tabae.TabaeWarning)

    # ---- streamed jobs: what `tabae impute` / `tabae score` run
    #   tabae impute adult.tabae adult_parts/ -o filled.parquet
    #   tabae score adult.tabae adult_parts/ -o scores.parquet --keep id
    start = time.perf_counter()
    n = run_impute(model, open_source(folder), args.out / "filled.parquet", batch_size=batch)
    run_score(model, open_source(folder), args.out / "scores.parquet", keep=["id"], batch_size=batch)
    print(f"streamed: imputed and scored {n:,} rows in {time.perf_counter() - start:.1f} s "
          f"(batches of {batch:,} rows)")
    filled = pd.read_parquet(args.out / "filled.parquet")
    scores = pd.read_parquet(args.out / "scores.parquet")
    assert filled.drop(columns="id").notna().all().all() and len(scores) == len(df)

    # ---- the same on Dask: lazy frames, the model travels as its file's bytes
    start = time.perf_counter()
    ddf = dd.read_parquet(str(folder))
    tabae.dask.impute(ddf, args.out / "adult.tabae").to_parquet(str(args.out / "filled_dask"))
    scored = tabae.dask.score(ddf, args.out / "adult.tabae", keep=["id"]).compute()
    print(f"dask: imputed and scored {len(scored):,} rows in {time.perf_counter() - start:.1f} s "
          f"({ddf.npartitions} partitions)")
    filled_dask = dd.read_parquet(str(args.out / "filled_dask")).compute()
    same_scores = np.array_equal(scored.sort_values("id")["score"].to_numpy(), scores.sort_values("id")["score"].to_numpy())
    # Same values; Dask reads strings as pandas' NA-backed string dtype, so compare values.
    same_cells = filled_dask.sort_values("id").reset_index(drop=True).astype(object).equals(
        filled.sort_values("id").reset_index(drop=True).astype(object))
    print(f"Dask equals the streamed job: scores {same_scores}, imputed cells {same_cells}")
    assert same_scores and same_cells

    # ---- figure
    top = scores.nlargest(max(10, len(scores) // 100), "score")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.hist(scores["score"], bins=80)
    a.set_yscale("log")
    a.set_xlabel("score (higher = stranger)")
    a.set_ylabel("rows")
    a.set_title(f"{len(scores):,} rows scored in batches")
    top["top_column"].value_counts().plot.barh(ax=b, color="tab:red")
    b.set_xlabel("rows")
    b.set_title(f"top column of the {len(top)} strangest rows")
    save(fig, args.out, "batch_scores.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
