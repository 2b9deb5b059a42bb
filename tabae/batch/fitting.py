"""Fitting a model on a table larger than memory.

:func:`fit_stream` reads a Parquet or CSV input twice over at most: once for a seeded
reservoir sample (:func:`~tabae.batch.sources.sample_with_positions`), which gives the
schema, the column encoders, the validation rows, the imputation blend and the score
offsets; then, pass after pass, for the network's training batches
(:class:`~tabae.batch.training_stream.RowStream`). Memory holds the sample, one record
batch and the shuffle buffer, whatever the input's size. An input no larger than the
sample is fitted in memory as :meth:`fit` would.
"""

from __future__ import annotations

from tabae.batch.sources import Source, open_source, sample_with_positions
from tabae.batch.training_stream import RowStream
from tabae.exceptions import TabaeError
from tabae.params import COUNT
from tabae.seeding import seed_from
from tabae.warnings_once import warnings_once

__all__ = ["fit_stream", "fit_and_count", "DEFAULT_SAMPLE_ROWS"]

#: Rows kept in memory by default: enough for the encoders' quantiles and categories, the
#: validation rows and the blend, at a few hundred MB for a table of a hundred columns.
DEFAULT_SAMPLE_ROWS = 200_000


def fit_stream(model, path, *, sample_rows: int = DEFAULT_SAMPLE_ROWS, batch_size: int = 65_536,
               buffer_rows: int = 262_144):
    """Fit ``model`` (a tabae model) on every row of a table read in bounded memory.

    Parameters
    ----------
    model : Autoencoder, DenoisingAE or TabularVAE
        Unfitted or fitted (a refit); its ``random_state`` seeds the sample, the order
        of the input's pieces and the shuffles, so the same input gives the same model.
    path : str, Path or Source
        A Parquet or CSV file, a folder (hive partitions become columns) or a glob.
    sample_rows : int, default=200_000
        Rows kept in memory (see the module docstring). An input with no more rows is
        fitted in memory, in one piece.
    batch_size : int, default=65_536
        Rows per record batch read.
    buffer_rows : int, default=262_144
        Rows shuffled together before training batches leave the buffer.

    Returns
    -------
    model
        Fitted; ``model.history_`` counts epochs of the sample's size (``epochs="auto"``
        plans the model's usual number of optimiser steps, drawn from the whole input).

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd, tabae
    >>> path = tempfile.mkdtemp() + "/big.parquet"
    >>> rng = np.random.default_rng(0)
    >>> pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)}).to_parquet(path)
    >>> model = fit_stream(tabae.DenoisingAE(epochs=2, verbose=False, random_state=0), path,
    ...                    sample_rows=500, batch_size=1000)
    >>> model.n_features_in_
    2
    """
    return fit_and_count(model, path, sample_rows=sample_rows, batch_size=batch_size, buffer_rows=buffer_rows)[0]


def fit_and_count(model, path, *, sample_rows: int = DEFAULT_SAMPLE_ROWS, batch_size: int = 65_536,
                  buffer_rows: int = 262_144):
    """:func:`fit_stream`, returning ``(model, rows in memory, rows in the input)``."""
    for name, value in (("sample_rows", sample_rows), ("batch_size", batch_size), ("buffer_rows", buffer_rows)):
        if not COUNT.accepts(value):
            raise TabaeError(f"{name}={value!r}; pass a positive number of rows")
    source = path if isinstance(path, Source) else open_source(path)
    seed = seed_from(model.random_state)
    sample, positions, n_rows = sample_with_positions(source, sample_rows, random_state=seed, batch_size=batch_size)
    if n_rows <= len(sample):
        return model.fit(sample), len(sample), n_rows

    def make_stream(encoder):
        return RowStream(source, encoder, positions, seed, read_rows=batch_size, buffer_rows=buffer_rows)

    with warnings_once():  # a warning about the data would come once per batch read
        return model._fit_guarded(sample, None, make_stream), len(sample), n_rows
