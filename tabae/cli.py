"""The ``tabae`` command: fit a model on a table, then impute, sample or score with it.

Outputs are written to a temporary file beside the target and renamed at the end, so an
interrupted run never leaves a partial file behind. (Streaming Parquet jobs in bounded
memory and Dask come with the batch module; this command reads whole files.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from tabae.exceptions import TabaeError

MODELS = {"vae": "TabularVAE", "dae": "DenoisingAE", "ae": "Autoencoder"}


def read_table(path: str) -> pd.DataFrame:
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".txt"):
        return pd.read_csv(path)
    raise TabaeError(f"cannot read {path!r}: use a .csv or .parquet file")


def write_table(df: pd.DataFrame, path: str) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise TabaeError(f"cannot write {path!r}: use a .csv or .parquet file")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    try:
        if suffix == ".parquet":
            df.to_parquet(tmp)
        else:
            df.to_csv(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fit(args) -> None:
    import tabae

    df = read_table(args.table)
    if args.model == "imputer":
        model = tabae.impute.imputation_model(len(df), random_state=args.seed, verbose=True, epochs=args.epochs)
    else:
        epochs = "auto" if args.epochs is None else args.epochs
        model = getattr(tabae, MODELS[args.model])(epochs=epochs, random_state=args.seed, verbose=True)
    start = time.perf_counter()
    model.fit(df)
    model.save(args.output)
    print(f"fitted {type(model).__name__} on {len(df):,} rows x {df.shape[1]} columns "
          f"in {time.perf_counter() - start:.1f} s -> {args.output}")


def _impute(args) -> None:
    import tabae

    model = tabae.load(args.model)
    df = read_table(args.table)
    out = model.impute(df, random_state=args.seed)
    write_table(out, args.output)
    print(f"filled {int(df.isna().sum().sum()):,} missing cells -> {args.output}")


def _sample(args) -> None:
    import tabae

    model = tabae.load(args.model)
    write_table(model.sample(args.n, random_state=args.seed), args.output)
    print(f"generated {args.n:,} rows -> {args.output}")


def _score(args) -> None:
    import tabae

    model = tabae.load(args.model)
    df = read_table(args.table)
    contrib = model.score(df, per_column=True)
    out = pd.DataFrame({"score": contrib.sum(axis=1), "top_column": contrib.idxmax(axis=1)}, index=df.index)
    write_table(out, args.output)
    print(f"scored {len(df):,} rows -> {args.output}")


def _demo(args) -> None:
    """The main job on the bundled adult table: fit one VAE, then use it four ways."""
    import numpy as np

    import tabae

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = tabae.datasets.load_adult()
    print(f"adult: {len(df):,} rows x {df.shape[1]} columns, {int(df.isna().sum().sum()):,} missing cells")
    start = time.perf_counter()
    model = tabae.TabularVAE(random_state=args.seed, verbose=True).fit(df)
    print(f"fit TabularVAE in {time.perf_counter() - start:.1f} s ({len(model.history_)} epochs)")
    model.save(out / "adult.tabae")

    filled = model.impute(df, random_state=args.seed)
    write_table(filled, str(out / "adult_imputed.csv"))
    print(f"imputed {int(df.isna().sum().sum()):,} cells; observed cells unchanged: "
          f"{bool(filled.where(df.notna()).equals(df.where(df.notna())))}")

    synthetic = model.sample(len(df), random_state=args.seed)
    write_table(synthetic, str(out / "adult_synthetic.csv"))
    women = model.sample(1000, random_state=args.seed, conditions={"sex": "Female"})
    print(f"sampled {len(synthetic):,} rows; conditional sample all Female: {bool((women['sex'] == 'Female').all())}")

    contrib = model.score(df, per_column=True)
    scores = contrib.sum(axis=1)
    top = scores.nlargest(5).index
    print("five strangest rows and the column that makes each strange:")
    for i in top:
        column = contrib.loc[i].idxmax()
        print(f"  row {i}: score {scores[i]:.1f}, mostly {column!r} = {df.loc[i, column]}")
    latent = model.encode(df)
    print(f"latent features: {latent.shape}; finite: {bool(np.isfinite(latent).all())}")
    print(f"outputs in {out}/")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tabae", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a model on a CSV/Parquet table and save it")
    p.add_argument("table")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.tabae)")
    p.add_argument("--model", choices=sorted([*MODELS, "imputer"]), default="vae",
                   help="vae (all jobs), dae, ae, or imputer (a DenoisingAE tuned for imputation)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: auto)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_fit)

    for name, func, help_ in (("impute", _impute, "fill missing cells"), ("score", _score, "outlier score per row")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("model")
        p.add_argument("table")
        p.add_argument("-o", "--output", required=True)
        p.add_argument("--seed", type=int, default=0)
        p.set_defaults(func=func)

    p = sub.add_parser("sample", help="generate synthetic rows (TabularVAE models)")
    p.add_argument("model")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_sample)

    p = sub.add_parser("demo", help="run the main job on the bundled adult table")
    p.add_argument("--output-dir", default="tabae-demo")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TabaeError as err:
        print(f"tabae: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
