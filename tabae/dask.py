"""Impute, score and sample on Dask: lazy DataFrames, one model shipped to every worker as its file.

Install with ``pip install 'tabae[dask]'``. Each function returns a lazy
``dask.dataframe.DataFrame`` with the right ``meta``; nothing runs until you
``.compute()``, ``.to_parquet(...)`` or ``.persist()`` it.

How the model travels: its saved file's bytes are read once (:class:`ModelBlob`),
put in the task graph once (as a single shared ``dask.delayed`` value), and each
worker process loads them through a temporary file on first use and keeps the loaded
model in a per-process cache (keyed by the bytes' SHA-256). No torch module is ever
pickled; a worker only ever parses a sealed tabae model file (JSON and raw arrays).
Each task runs torch with one thread (restored after), so worker processes that
share a machine do not fight over its cores; give workers ``threads_per_worker=1``
and one process per core.

Imputing and scoring are row-wise, so the results equal the single-process ones
(``model.impute(df)``, ``model.decision_function(df)``) whatever the partitioning.

Running on a real cluster::

    from dask.distributed import Client
    import dask.dataframe as dd
    import tabae.dask

    client = Client("tcp://scheduler-host:8786")      # the scheduler's address
    events = dd.read_parquet("s3://bucket/events/")   # a path every worker can read
    tabae.dask.score(events, "model.tabae", keep=["event_id"]).to_parquet("s3://bucket/scores/")

The model file is read on the client; workers need tabae (and torch) installed but
not the file itself.

How fitting scales: it does not distribute. Fit one model in one process on a
bounded sample of rows, e.g. ``tabae fit data/ -o model.tabae --sample-rows 500000``
(a one-pass reservoir sample in bounded memory), or
``tabae.TabularVAE().fit(ddf.sample(frac=0.01, random_state=0).compute())``; then
score, impute or sample the whole dataset on the cluster with the functions here.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import pyarrow as pa

from tabae.batch.coerce import check_columns, fitted_schema, sample_dtypes
from tabae.batch.jobs import check_keep, impute_frame, score_frame
from tabae.exceptions import TabaeError
from tabae.params import COUNT
from tabae.seeding import seed_from

__all__ = ["ModelBlob", "impute", "score", "sample"]

_INSTALL_HINT = "tabae.dask needs dask; install it with: pip install 'tabae[dask]'"
_CACHE: OrderedDict = OrderedDict()  # per process: digest -> loaded model
_CACHE_SIZE = 2
_CACHE_LOCK = threading.Lock()


def _dask():
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as err:
        raise TabaeError(_INSTALL_HINT) from err
    return dask, dd


class ModelBlob:
    """A fitted model as the bytes of its saved file: what the workers receive.

    Pickling a blob pickles its bytes only. :meth:`load` rebuilds the model once per
    process (through a temporary file, as :func:`tabae.load` reads files) and caches it.

    Parameters
    ----------
    data : bytes
        The contents of a file written by ``model.save(path)``.

    Examples
    --------
    >>> import tabae
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> blob = ModelBlob.from_model(model)
    >>> blob.load() is blob.load(), type(blob.load()).__name__
    (True, 'DenoisingAE')
    """

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.digest = hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_model(cls, model) -> "ModelBlob":
        """A blob from a fitted model, a model file's path, or a blob (returned as is)."""
        if isinstance(model, ModelBlob):
            return model
        if isinstance(model, (str, os.PathLike)):
            from tabae.persistence import read_model_file

            read_model_file(model)  # refuse a non-model with tabae's own message, here, not on a worker
            with open(model, "rb") as fh:
                return cls(fh.read())
        if not hasattr(model, "save"):
            raise TabaeError(f"model must be a fitted tabae model or a model file's path, got {type(model).__name__}")
        with tempfile.TemporaryDirectory(prefix="tabae-") as folder:
            path = os.path.join(folder, "model.tabae")
            model.save(path)
            with open(path, "rb") as fh:
                return cls(fh.read())

    def load(self):
        """The model, loaded once per process and cached (the two most recent models)."""
        with _CACHE_LOCK:
            model = _CACHE.get(self.digest)
            if model is not None:
                _CACHE.move_to_end(self.digest)
                return model
        import tabae

        fd, path = tempfile.mkstemp(prefix="tabae-", suffix=".tabae")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.data)
            model = tabae.load(path)
        finally:
            os.unlink(path)
        with _CACHE_LOCK:
            _CACHE[self.digest] = model
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return model

    def __repr__(self) -> str:
        return f"ModelBlob({len(self.data):,} bytes, sha256={self.digest[:12]})"


def impute(ddf, model):
    """Fill the missing cells of a Dask DataFrame, lazily; other columns are kept in their place.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        With every column the model was fitted on (extra columns pass through).
    model : fitted tabae model, model file path, or :class:`ModelBlob`

    Returns
    -------
    dask.dataframe.DataFrame
        The fitted columns in their fitted dtypes, others as they were.

    Examples
    --------
    >>> import dask.dataframe as dd, tabae, tabae.dask
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> filled = tabae.dask.impute(dd.from_pandas(df, npartitions=3), model)
    >>> filled.compute(scheduler="sync").equals(model.impute(df))
    True
    """
    dask, _ = _dask()
    blob = ModelBlob.from_model(model)
    schema = fitted_schema(blob.load())
    check_columns(_arrow_schema(ddf._meta), schema)
    meta = ddf._meta.copy()
    for spec in schema:
        meta[spec.name] = pd.Series([], dtype=spec.pandas_dtype(), index=meta.index)
    return ddf.map_partitions(_impute_partition, dask.delayed(blob, pure=True), meta=meta)


def score(ddf, model, keep=(), method: str = "auto"):
    """Outlier score of every row (higher = stranger) and its top column, lazily.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The fitted columns, plus the ``keep`` columns; other extra columns are refused.
    model : fitted tabae model, model file path, or :class:`ModelBlob`
    keep : sequence of str
        Id columns carried into the result.
    method : {"auto", "masked", "reconstruction"}
        As :meth:`decision_function`.

    Returns
    -------
    dask.dataframe.DataFrame
        ``keep`` columns, ``score`` (float64, equal to ``model.decision_function``)
        and ``top_column``, indexed like ``ddf``.

    Examples
    --------
    >>> import dask.dataframe as dd, tabae, tabae.dask
    >>> df = tabae.datasets.load_adult().head(300)
    >>> model = tabae.DenoisingAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> scores = tabae.dask.score(dd.from_pandas(df, npartitions=3), model).compute(scheduler="sync")
    >>> bool((scores["score"] == model.decision_function(df)).all())
    True
    """
    dask, _ = _dask()
    blob = ModelBlob.from_model(model)
    fitted = blob.load()
    keep = check_keep(_arrow_schema(ddf._meta), fitted, list(keep))
    meta = pd.DataFrame({name: ddf._meta[name] for name in keep}, index=ddf._meta.index)
    meta["score"] = pd.Series([], dtype=np.float64, index=meta.index)
    meta["top_column"] = pd.Series([], dtype="str", index=meta.index)
    return ddf.map_partitions(_score_partition, dask.delayed(blob, pure=True), tuple(keep), method, meta=meta)


def sample(model, n: int, npartitions: int = 8, random_state=0):
    """``n`` generated rows (a :class:`~tabae.TabularVAE`) as ``npartitions`` lazy partitions.

    Partition ``i`` holds rows ``start_i .. start_i + size_i - 1`` of the one stream that
    ``random_state`` generates (``TabularVAE.sample(..., start=...)``): the rows equal
    ``model.sample(n, random_state)`` however many partitions there are. Integer and flag
    columns are nullable (``Int64``, ``boolean``): generated rows have holes.

    Examples
    --------
    >>> import tabae, tabae.dask
    >>> df = tabae.datasets.load_adult().head(300)
    >>> vae = tabae.TabularVAE(epochs=2, random_state=0, verbose=False).fit(df)
    >>> rows = tabae.dask.sample(vae, 100, npartitions=4, random_state=0)
    >>> rows.npartitions, len(rows.compute(scheduler="sync"))
    (4, 100)
    """
    dask, dd = _dask()
    if not COUNT.accepts(n):
        raise TabaeError(f"n={n!r}; pass a positive number of rows")
    if not COUNT.accepts(npartitions):
        raise TabaeError(f"npartitions={npartitions!r}; pass a positive int")
    blob = ModelBlob.from_model(model)
    fitted = blob.load()
    if not hasattr(fitted, "sample"):
        raise TabaeError(f"a {type(fitted).__name__} cannot generate rows; fit a TabularVAE")
    npartitions = int(min(npartitions, n))
    bounds = np.linspace(0, n, npartitions + 1).astype(np.int64)
    seed = seed_from(random_state)
    seeds = [seed] * npartitions  # one stream; each partition starts at its own row
    dtypes = sample_dtypes(fitted_schema(fitted))
    meta = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()})
    shared = dask.delayed(blob, pure=True)
    parts = [dask.delayed(_sample_partition, pure=True)(shared, int(bounds[i]), int(bounds[i + 1] - bounds[i]),
                                                       seeds[i], dtypes)
             for i in range(npartitions)]
    divisions = [int(b) for b in bounds[:-1]] + [int(n) - 1]
    return dd.from_delayed(parts, meta=meta, divisions=divisions, verify_meta=False)


# ---------------------------------------------------------------------- on the workers
def _worker_model(blob: ModelBlob):
    """The worker's model, set to one torch thread: a Dask worker process shares the
    machine's cores with the others (tabae.threads)."""
    model = blob.load()
    model.n_jobs = 1
    return model


def _impute_partition(part: pd.DataFrame, blob: ModelBlob) -> pd.DataFrame:
    return impute_frame(_worker_model(blob), part)


def _score_partition(part: pd.DataFrame, blob: ModelBlob, keep: tuple, method: str) -> pd.DataFrame:
    return score_frame(_worker_model(blob), part, list(keep), method)


def _sample_partition(blob: ModelBlob, start: int, size: int, seed: int, dtypes: dict) -> pd.DataFrame:
    return _worker_model(blob).sample(size, random_state=seed, start=start).astype(dtypes)


def _arrow_schema(meta: pd.DataFrame) -> pa.Schema:
    return pa.Schema.from_pandas(meta, preserve_index=False)
