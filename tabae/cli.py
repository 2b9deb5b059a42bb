"""The ``tabae`` command: fit a model on a table, then impute, score or sample with it.

``impute``, ``score`` and ``sample`` stream: the input (one Parquet or CSV file, a
folder, a glob or a hive-partitioned folder) is read in record batches of
``--batch-size`` rows, each batch goes through the model and is appended to the output,
so memory stays bounded whatever the input's size. Outputs are written to a temporary
file beside the target and renamed at the end: an interrupted or failed run leaves no
output behind. Errors print one line on stderr and exit non-zero (130 on Ctrl-C).

Examples (shell)::

    tabae fit train.parquet -o model.tabae --model imputer --sample-rows 200000
    tabae impute model.tabae 'data/*.parquet' -o filled.parquet --progress
    tabae score model.tabae events/ -o scores.parquet --keep event_id
    tabae sample model.tabae -n 100000000 -o synthetic.parquet
    tabae evaluate real.parquet synthetic.parquet -o report.html
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from tabae.exceptions import TabaeError

__all__ = ["main", "build_parser", "read_table", "write_table"]

MODELS = {"vae": "TabularVAE", "dae": "DenoisingAE", "ae": "Autoencoder"}


def read_table(path: str) -> pd.DataFrame:
    """A whole table from a .csv or .parquet file, a folder or a glob (for inputs that fit in memory)."""
    from tabae.batch.sources import open_source

    if Path(str(path)).suffix.lower() in (".csv", ".txt") and os.path.isfile(path):
        try:
            return pd.read_csv(path)  # pandas' per-column inference sees the whole file
        except (OSError, ValueError) as err:
            raise TabaeError(f"cannot read {str(path)!r}: {' '.join(str(err).split())}") from err
    return open_source(path).read_all()


def write_table(df: pd.DataFrame, path: str) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    import pyarrow as pa

    from tabae.batch.sinks import AtomicSink

    table = pa.Table.from_pandas(df, preserve_index=False)
    with AtomicSink(path, table.schema) as sink:
        for batch in table.to_batches():
            sink.write(batch)


# ---------------------------------------------------------------------- commands
def _fit(args) -> None:
    import tabae
    from tabae.batch.fitting import fit_and_count
    from tabae.batch.sources import open_source
    from tabae.persistence import check_writable

    check_writable(args.output)  # before reading or training anything
    source = open_source(args.table)
    n_rows = source.count_rows()  # Parquet footers; None for CSV (the sample's pass counts them)
    if args.model == "imputer":
        # Its width follows the rows it trains on: the whole input when streamed.
        size = n_rows if n_rows is not None else args.sample_rows
        model = tabae.impute.imputation_model(size, random_state=args.seed, verbose=args.verbose,
                                              epochs=args.epochs)
    elif args.model == "detector":
        if args.epochs is not None:
            raise TabaeError("--epochs: the detector's model sets its own step budget; leave --epochs out")
        # Its views (tails, latent density, isolation forest) are fitted on rows in
        # memory: the reservoir sample of --sample-rows rows.
        args.sample_only = True
        model = tabae.AEOutlierDetector(random_state=args.seed, verbose=args.verbose)
    else:
        epochs = "auto" if args.epochs is None else args.epochs
        model = getattr(tabae, MODELS[args.model])(epochs=epochs, random_state=args.seed, verbose=args.verbose)
    # One thread unless told: a fit's result depends on its thread count (tabae.threads).
    model.set_params(n_jobs=args.threads)
    start = time.perf_counter()
    if args.sample_only:
        from tabae.batch.sources import sample_rows

        df = sample_rows(source, args.sample_rows, random_state=args.seed, batch_size=args.batch_size)
        model.fit(df)
        how = f"{len(df):,} sampled rows"
    else:
        _, n_sample, n_rows = fit_and_count(model, source, sample_rows=args.sample_rows, batch_size=args.batch_size)
        how = (f"{n_rows:,} rows (a sample of {n_sample:,} in memory; training streamed {n_rows:,} rows)"
               if n_rows > n_sample else f"{n_rows:,} rows")
    model.save(args.output)
    print(f"fitted {type(model).__name__} on {how} x {model.n_features_in_} columns "
          f"in {time.perf_counter() - start:.1f} s -> {args.output}")


def _open_job(args):
    """Output checked, input opened, model loaded and checked: everything before the first batch."""
    import tabae
    from tabae.batch.coerce import csv_column_types, fitted_schema
    from tabae.batch.sinks import output_format
    from tabae.batch.sources import open_source

    output_format(args.output)
    if not Path(args.model).is_file() and Path(args.model).suffix.lower() in (".parquet", ".csv"):
        raise TabaeError(f"{args.model!r} looks like a table, not a model; the order is: MODEL INPUT -o OUTPUT")
    model = tabae.load(args.model)
    if args.func is _impute and not hasattr(model, "impute"):
        raise TabaeError(f"{args.model!r} holds an outlier detector ({type(model).__name__}), which scores rows "
                         "but does not impute; "
                         "fit a model with tabae fit --model imputer (or vae, dae, ae)")
    # Inference gives the same values whatever the thread count: take the free cores.
    model.set_params(n_jobs=args.threads or "auto")
    source = open_source(args.table, column_types=csv_column_types(fitted_schema(model)))
    target = os.path.realpath(args.output)
    if any(os.path.realpath(f) == target for f in source.files):
        raise TabaeError(f"the output {args.output!r} is also an input; write to another file")
    return model, source


def _impute(args) -> None:
    from tabae.batch.jobs import run_impute

    model, source = _open_job(args)
    start = time.perf_counter()
    rows = run_impute(model, source, args.output, batch_size=args.batch_size, progress=args.progress)
    _done("imputed", rows, start, args.output)


def _score(args) -> None:
    from tabae.batch.jobs import run_score

    model, source = _open_job(args)
    start = time.perf_counter()
    rows = run_score(model, source, args.output, keep=args.keep, batch_size=args.batch_size,
                     method=args.method, progress=args.progress)
    _done("scored", rows, start, args.output)


def _sample(args) -> None:
    import tabae
    from tabae.batch.jobs import run_sample
    from tabae.batch.sinks import output_format

    output_format(args.output)
    if args.n < 1:
        raise TabaeError(f"-n {args.n}: pass a positive number of rows")
    model = tabae.load(args.model)
    model.set_params(n_jobs=args.threads or "auto")
    start = time.perf_counter()
    rows = run_sample(model, args.n, args.output, batch_size=args.batch_size, random_state=args.seed,
                      progress=args.progress)
    _done("generated", rows, start, args.output)


def _done(verb: str, rows: int, start: float, output: str) -> None:
    seconds = time.perf_counter() - start
    print(f"{verb} {rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) -> {output}")


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

    filled = model.impute(df)
    write_table(filled, str(out / "adult_imputed.csv"))
    print(f"imputed {int(df.isna().sum().sum()):,} cells; observed cells unchanged: "
          f"{bool(filled.where(df.notna()).equals(df.where(df.notna())))}")

    synthetic = model.sample(len(df), random_state=args.seed)
    write_table(synthetic, str(out / "adult_synthetic.csv"))
    women = model.sample(1000, random_state=args.seed, conditions={"sex": "Female"})
    print(f"sampled {len(synthetic):,} rows; conditional sample all Female: {bool((women['sex'] == 'Female').all())}")

    contrib = model.decision_function(df, per_column=True)
    scores = contrib.sum(axis=1)
    top = scores.nlargest(5).index
    print("five strangest rows and the column that makes each strange:")
    for i in top:
        column = contrib.loc[i].idxmax()
        print(f"  row {i}: score {scores[i]:.1f}, mostly {column!r} = {df.loc[i, column]}")
    latent = model.encode(df)
    print(f"latent features: {latent.shape}; finite: {bool(np.isfinite(latent).all())}")
    print(f"outputs in {out}/")


# ---------------------------------------------------------------------- parser
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _stream_options(p: argparse.ArgumentParser) -> None:
    from tabae.batch.jobs import DEFAULT_BATCH_SIZE

    p.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE,
                   help=f"rows per batch (default {DEFAULT_BATCH_SIZE:,}); memory grows with it, not with the input")
    p.add_argument("--progress", action="store_true", default=None,
                   help="show rows and rows/s on stderr (default: only when stderr is a terminal)")
    p.add_argument("--threads", type=_positive, default=None,
                   help="threads while the job runs (default: fit one, so a refit is identical; "
                        "impute/score/sample the cores not already busy); the output is the same whatever the count")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tabae", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inputs = "a .parquet or .csv file, a folder (hive partitions become columns) or a quoted glob"

    from tabae.batch.fitting import DEFAULT_SAMPLE_ROWS

    p = sub.add_parser("fit", help="fit a model on a table and save it")
    p.add_argument("table", help=inputs)
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.tabae); its folder must exist")
    p.add_argument("--model", choices=sorted([*MODELS, "imputer", "detector"]), default="vae",
                   help="vae (all jobs), dae, ae, imputer (a DenoisingAE tuned for imputation) or detector "
                        "(tabae.AEOutlierDetector's ensemble, for tabae score; fitted on the --sample-rows sample)")
    p.add_argument("--epochs", type=_positive, default=None, help="maximum epochs (default: auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-rows", type=_positive, default=DEFAULT_SAMPLE_ROWS, metavar="N",
                   help=f"rows kept in memory (default {DEFAULT_SAMPLE_ROWS:,}): a seeded uniform sample drawn in "
                        "one pass (a reservoir sample) gives the schema, the categories, the validation rows and "
                        "the imputation blend; an input with more rows is then streamed through training in "
                        "shuffled batches, in bounded memory whatever its size")
    p.add_argument("--sample-only", action="store_true",
                   help="train on the sample alone (no streaming): faster on a huge input, values the sample "
                        "misses are unseen by the model")
    _stream_options(p)
    p.add_argument("--quiet", dest="verbose", action="store_false", help="no training progress")
    p.set_defaults(func=_fit)

    p = sub.add_parser("impute", help="fill missing cells, streamed; the output keeps the input's types")
    p.add_argument("model")
    p.add_argument("table", help=inputs)
    p.add_argument("-o", "--output", required=True, help="a .parquet or .csv file; written atomically")
    p.add_argument("--seed", type=int, default=0, help="ignored: impute gives one best guess per cell")
    _stream_options(p)
    p.set_defaults(func=_impute)

    p = sub.add_parser("score", help="outlier score per row (higher = stranger) and its top column, streamed")
    p.add_argument("model")
    p.add_argument("table", help=inputs)
    p.add_argument("-o", "--output", required=True, help="a .parquet or .csv file; written atomically")
    p.add_argument("--keep", action="append", default=[], metavar="COL",
                   help="an id column to carry into the output (repeat for several); other extra columns are refused")
    p.add_argument("--method", choices=("auto", "masked", "reconstruction"), default="auto",
                   help="as model.decision_function (auto: masked for models trained with masking); "
                        "a detector file scores as its detector does")
    p.add_argument("--seed", type=int, default=0, help="ignored: scores are deterministic")
    _stream_options(p)
    p.set_defaults(func=_score)

    p = sub.add_parser("sample", help="generate synthetic rows (TabularVAE models), streamed in chunks")
    p.add_argument("model")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("-o", "--output", required=True, help="a .parquet or .csv file; written atomically")
    p.add_argument("--seed", type=int, default=0)
    _stream_options(p)
    p.set_defaults(func=_sample)

    p = sub.add_parser("demo", help="run the main job on the bundled adult table")
    p.add_argument("--output-dir", default="tabae-demo")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo, threads=None)

    from tabae.tuning.command import add_tune_arguments, run_tune_command

    p = sub.add_parser("tune", help="search a model's parameters for one task with Optuna and save the best model")
    add_tune_arguments(p)
    p.set_defaults(func=run_tune_command, threads=None)

    from tabae.metrics.html import add_evaluate_arguments, run_evaluate_command

    p = sub.add_parser("evaluate", help="score a synthetic table against the real one; write an HTML report")
    add_evaluate_arguments(p)
    p.set_defaults(func=run_evaluate_command, threads=None)
    return parser


# ---------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    """Run the command; return its exit status (0, 1 for an unexpected error, 2 for bad input, 130 on Ctrl-C)."""
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_exit():
            code = args.func(args)
    except KeyboardInterrupt:
        print("tabae: interrupted; no output was written", file=sys.stderr)
        return 130
    except TabaeError as err:
        print(f"tabae: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("tabae: error: out of memory; lower --batch-size (or --sample-rows for fit)", file=sys.stderr)
        return 1
    except Exception as err:  # one line, never a traceback; TABAE_DEBUG=1 shows it
        if os.environ.get("TABAE_DEBUG"):
            raise
        print(f"tabae: error: {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return 1
    return code or 0


@contextlib.contextmanager
def _sigterm_as_exit():
    """SIGTERM unwinds like Ctrl-C (temporary outputs removed), then exits 143."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
