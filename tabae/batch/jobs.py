"""The streamed jobs: impute, score and sample, batch by batch from a source to a sink.

Each job reads record batches (:mod:`tabae.batch.sources`), fits each to the model's
schema (:mod:`tabae.batch.coerce`), runs the model on it, and writes the result
(:mod:`tabae.batch.sinks`): memory holds a few batches whatever the input's size.
:func:`impute_frame` and :func:`score_frame` are the per-chunk steps, shared with
:mod:`tabae.dask`. Imputing and scoring are row-wise (a row's result depends only on
that row), so chunking never changes their values.
"""

from __future__ import annotations

import copy
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from tabae.batch.coerce import (
    INDEX_COLUMN_PREFIX,
    check_columns,
    coerce_frame,
    fitted_schema,
    sample_dtypes,
    to_batch,
    to_frame,
)
from tabae.batch.progress import Progress
from tabae.batch.sinks import AtomicSink
from tabae.batch.sources import Source
from tabae.exceptions import SchemaError, TabaeError
from tabae.threads import resolve_threads, torch_threads
from tabae.warnings_once import warnings_once

__all__ = ["impute_frame", "score_frame", "score_schema", "sample_schema", "run_impute", "run_score", "run_sample",
           "check_keep", "DEFAULT_BATCH_SIZE"]

#: Rows per batch by default: large enough for fast inference, small enough for bounded memory.
DEFAULT_BATCH_SIZE = 65_536


# ---------------------------------------------------------------------- one chunk
def impute_frame(model, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the fitted columns' holes filled; other columns kept in their place.

    Fitted columns come back in their fitted dtypes where that is lossless.

    Examples
    --------
    >>> import numpy as np, tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> chunk = df.head(5).assign(id=range(5))
    >>> filled = impute_frame(model, chunk)
    >>> list(filled.columns) == list(chunk.columns), bool(filled[df.columns].notna().all().all())
    (True, True)
    """
    schema = fitted_schema(model)
    names = schema.names
    filled = coerce_frame(model.impute(coerce_frame(frame[names], schema)), schema)
    out = frame.copy(deep=False)
    for name in names:
        out[name] = filled[name]
    return out


def score_frame(model, frame: pd.DataFrame, keep=(), method: str = "auto") -> pd.DataFrame:
    """The outlier score of each row (``decision_function``) and its largest contributor.

    ``model`` is a fitted tabae model (scored with ``method``) or a fitted
    :class:`~tabae.AEOutlierDetector` (scored as it scores: its ensemble by default;
    ``method`` is then not used).

    Returns a frame with the ``keep`` columns (as they are), ``score`` (float64,
    higher = stranger) and ``top_column`` (the column contributing most to the score;
    null where no column contributes anything).

    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> scored = score_frame(model, df.head(4).assign(id=range(4)), keep=["id"])
    >>> list(scored.columns), scored["score"].dtype.name
    (['id', 'score', 'top_column'], 'float64')
    """
    schema = fitted_schema(model)
    names = schema.names
    rows = coerce_frame(frame[names], schema)
    if hasattr(model, "score_and_explain"):  # a detector: its own score, and its explanation
        scores, contrib = model.score_and_explain(rows)
        values = np.ascontiguousarray(contrib.to_numpy(dtype=np.float64))
    else:
        contrib = model.decision_function(rows, per_column=True, method=method)
        values = np.ascontiguousarray(contrib.to_numpy(dtype=np.float64))
        # Summed as decision_function sums (a C-ordered row sum), so values match it exactly.
        scores = values.sum(axis=1)
    out = {name: frame[name] for name in keep}
    out["score"] = pd.Series(scores, index=frame.index, dtype=np.float64)
    top = np.asarray(names, dtype=object)[values.argmax(axis=1)] if len(values) else np.zeros(0, object)
    top[~values.any(axis=1)] = None  # nothing contributes (a row with no observed cell): no top column
    out["top_column"] = pd.Series(top, index=frame.index, dtype="str")
    return pd.DataFrame(out, index=frame.index)


def score_schema(arrow_schema: pa.Schema, keep=()) -> pa.Schema:
    """The Arrow schema of a score output: the kept columns, ``score`` and ``top_column``."""
    fields = [arrow_schema.field(name) for name in keep]
    return pa.schema(fields + [pa.field("score", pa.float64()), pa.field("top_column", pa.string())])


def sample_schema(model) -> pa.Schema:
    """The Arrow schema of generated rows (:func:`~tabae.batch.coerce.sample_dtypes`)."""
    dtypes = sample_dtypes(fitted_schema(model))
    empty = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})
    return pa.Schema.from_pandas(empty, preserve_index=False).remove_metadata()


def check_keep(arrow_schema: pa.Schema, model, keep) -> list[str]:
    """The ``keep`` columns checked against the input; every other extra column is refused."""
    names = set(arrow_schema.names)
    absent = [k for k in keep if k not in names]
    if absent:
        raise SchemaError(f"--keep names column(s) {absent} that the input does not have")
    extra = check_columns(arrow_schema, fitted_schema(model))
    refused = [c for c in extra if c not in keep and not c.startswith(INDEX_COLUMN_PREFIX)]
    if refused:
        raise SchemaError(
            f"the input has column(s) {refused[:8]} that the model was not fitted on; "
            "name id columns to carry into the output with --keep, or drop them"
        )
    if len(set(keep)) != len(keep) or {"score", "top_column"} & set(keep):
        raise SchemaError("--keep: name each column once, and not 'score' or 'top_column' (the output's own)")
    return list(keep)


# ---------------------------------------------------------------------- streamed jobs
def run_impute(model, source: Source, target, *, batch_size: int = DEFAULT_BATCH_SIZE, progress=None) -> int:
    """Impute ``source`` batch by batch into ``target``; returns the number of rows.

    The output has the input's Arrow schema (column order, types, partition columns);
    columns the model was not fitted on are carried through unchanged.
    """
    check_columns(source.schema, fitted_schema(model))
    schema = source.schema
    with AtomicSink(target, schema) as sink, Progress(source.count_rows(), progress, "impute") as bar, \
            warnings_once():
        rows = 0
        # One batch at a time, the model's threads sharing its blocks: imputing spends its
        # time there (the network, the neighbour search), and whole batches on threads ran
        # slower (200,000 adult rows on 2 cores: 34 s against 26 s).
        for n, out in _in_order(model, source.batches(batch_size),
                                lambda job, batch, offset: _to_batch(impute_frame(job, to_frame(batch, offset)), schema),
                                whole_batches=False):
            sink.write(out)
            rows += n
            bar.update(n)
    return rows


def run_score(model, source: Source, target, *, keep=(), batch_size: int = DEFAULT_BATCH_SIZE,
              method: str = "auto", progress=None) -> int:
    """Score ``source`` batch by batch into ``target`` (``keep`` columns, score, top_column)."""
    keep = check_keep(source.schema, model, list(keep))
    schema = score_schema(source.schema, keep)
    with AtomicSink(target, schema) as sink, Progress(source.count_rows(), progress, "score") as bar, warnings_once():
        rows = 0
        # Whole batches on threads: a third of scoring is outside the network's blocks
        # (conversions, encoding), and runs in parallel only this way (2,000,000 adult rows
        # on 2 cores: 18.6 s against 22.2 s with the blocks shared). Not for a detector:
        # its views set warning filters while they score, which threads would share.
        for n, out in _in_order(model, source.batches(batch_size), lambda job, batch, offset: _to_batch(
                score_frame(job, to_frame(batch, offset), keep, method), schema),
                whole_batches=not hasattr(model, "score_and_explain")):
            sink.write(out)
            rows += n
            bar.update(n)
    return rows


def run_sample(model, n: int, target, *, batch_size: int = DEFAULT_BATCH_SIZE, random_state=0, progress=None) -> int:
    """Generate ``n`` rows into ``target`` in chunks of ``batch_size`` (``model.iter_samples``)."""
    if not hasattr(model, "iter_samples"):
        raise TabaeError(f"a {type(model).__name__} cannot generate rows; fit a TabularVAE (tabae fit --model vae)")
    schema = sample_schema(model)
    dtypes = sample_dtypes(fitted_schema(model))
    with AtomicSink(target, schema) as sink, Progress(n, progress, "sample") as bar:
        for chunk in model.iter_samples(n, chunk_size=batch_size, random_state=random_state):
            sink.write(_to_batch(chunk.astype(dtypes), schema))
            bar.update(len(chunk))
    return int(n)


#: Batches ``tabae score`` works on at once, at most (memory holds these and the one being written).
MAX_BATCHES_AT_ONCE = 4


def _in_order(model, batches, work, whole_batches: bool):
    """``(rows, work(model, batch, offset))`` for each record batch, in input order.

    With ``whole_batches`` and a model on the CPU that may use several threads (its
    ``n_jobs``: the free cores for the CLI), up to :data:`MAX_BATCHES_AT_ONCE` batches are
    worked on at once, one per thread, each by a shallow copy of the model given the
    threads' share: everything a batch goes through (conversion to pandas, encoding, the
    network, the conversion back) runs in parallel, where the model's own threads share
    only the network's blocks. Otherwise batches go one at a time and the model uses its
    threads on each. A row's values do not depend on either
    (:func:`tabae.nn.blocks.map_blocks`).
    """
    threads = resolve_threads(getattr(model, "n_jobs", None))
    on_cpu = str(getattr(model, "device_", "cpu")).startswith("cpu")
    workers = min(threads, MAX_BATCHES_AT_ONCE) if whole_batches and on_cpu else 1
    batches = iter(batches)
    offset = 0
    if workers <= 1:
        for batch in batches:
            yield batch.num_rows, work(model, batch, offset)
            offset += batch.num_rows
        return
    share = max(1, threads // workers)
    job = copy.copy(model)  # the caller's model keeps its n_jobs; the copy shares its fitted state
    job.set_params(n_jobs=share)
    with torch_threads(share):  # as the copy's methods set it: none of them changes the process's setting
        first = next(batches, None)  # alone: state the model builds at its first use exists before threads share it
        if first is None:
            return
        yield first.num_rows, work(job, first, 0)
        offset = first.num_rows
        pool = ThreadPoolExecutor(workers, thread_name_prefix="tabae-batch", initializer=torch.set_num_threads,
                                  initargs=(share,))
        try:
            pending = deque()
            for batch in batches:
                pending.append((batch.num_rows, pool.submit(work, job, batch, offset)))
                offset += batch.num_rows
                if len(pending) >= workers:
                    n, done = pending.popleft()
                    yield n, done.result()
            while pending:
                n, done = pending.popleft()
                yield n, done.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _to_batch(frame: pd.DataFrame, schema: pa.Schema) -> pa.RecordBatch:
    try:
        return to_batch(frame, schema)
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise TabaeError(f"cannot write the result in the input's types: {' '.join(str(err).split())}") from err


