"""Training batches streamed from a table larger than memory.

A streamed fit (:func:`tabae.batch.fit_stream`, ``tabae fit`` on a big input) keeps a
reservoir sample in memory for everything that needs the rows at hand: the schema and
the column encoders, the validation rows, the imputation blend and the score offsets.
The network's optimiser steps instead read the whole input, pass after pass, through
:class:`RowStream`:

* the input's pieces (a Parquet file's row groups; a CSV file) are read in a shuffled
  order, each in record batches of ``read_rows``, so memory holds one batch and the
  shuffle buffer whatever the input's size;
* each batch is cast to the fitted schema (:func:`~tabae.batch.coerce.coerce_frame`)
  and encoded with the sample's encoders;
* the sample's validation rows are dropped by their position in the input, so early
  stopping never scores rows the network trained on;
* rows wait in a buffer of ``buffer_rows`` that is shuffled before minibatches leave
  it, so a minibatch mixes rows of several pieces.

The order of pieces and the shuffles come from one seeded generator: the same seed and
the same input give the same batches, hence the same model.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import torch

from tabae.batch.coerce import coerce_frame
from tabae.batch.sources import Source, _one_line
from tabae.exceptions import TabaeError

__all__ = ["RowStream", "input_pieces"]


def input_pieces(source: Source) -> list[tuple[ds.Fragment, int]]:
    """``(piece, first row position)`` of every piece of ``source``, in the order
    :meth:`Source.batches` reads them (file order, then row-group order)."""
    pieces, offset = [], 0
    try:
        for part in source.pieces():
            # A row group's own count: count_rows() of a split fragment counts its whole file;
            # a CSV file is counted by streaming one column (a scanner would decode ahead).
            n = (sum(g.num_rows for g in part.row_groups) if source.format == "parquet"
                 else sum(b.num_rows for b in source.piece_batches(part, columns=source.schema.names[:1])))
            if n:
                pieces.append((part, offset))
            offset += n
    except (pa.ArrowException, OSError) as err:
        raise TabaeError(f"cannot read {source.path!r}: {_one_line(err)}") from err
    return pieces


class RowStream:
    """Encoded, shuffled training minibatches over every row of ``source``, cycling.

    Parameters
    ----------
    source : Source
    encoder : TableEncoder
        Fitted on the in-memory sample.
    sample_positions : array of int
        The input positions of the sample's rows (row ``i`` of the sample is input row
        ``sample_positions[i]``).
    seed : int
    read_rows, buffer_rows : int
        Rows per record batch read, and rows shuffled together before minibatches leave.
    """

    def __init__(self, source: Source, encoder, sample_positions: np.ndarray, seed: int,
                 read_rows: int = 65_536, buffer_rows: int = 262_144):
        self.source, self.encoder = source, encoder
        self.sample_positions = np.asarray(sample_positions, dtype=np.int64)
        self.seed, self.read_rows, self.buffer_rows = int(seed), int(read_rows), int(buffer_rows)
        self.pieces = input_pieces(source)

    def __call__(self, val_idx: torch.Tensor, batch_size: int, device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Minibatches ``(x, m)`` of ``batch_size`` rows, without the sample rows ``val_idx``."""
        held_out = np.sort(self.sample_positions[val_idx.cpu().numpy()])
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0x57EA,)))
        x_buf = np.zeros((0, self.encoder.n_features_), np.float32)
        m_buf = np.zeros((0, self.encoder.n_columns_), bool)
        while True:  # one pass over the input per turn
            yielded = False
            for k in rng.permutation(len(self.pieces)):
                for x, m in self._read(self.pieces[k], held_out):
                    x_buf, m_buf = np.concatenate([x_buf, x]), np.concatenate([m_buf, m])
                    if len(x_buf) < max(self.buffer_rows, 2 * batch_size):
                        continue
                    # Half the buffer stays behind, to mix with the rows that come next.
                    batches, x_buf, m_buf = _shuffled_batches(x_buf, m_buf, len(x_buf) // 2, batch_size, rng)
                    for xb, mb in batches:
                        yielded = True
                        yield torch.from_numpy(xb).to(device), torch.from_numpy(mb).to(device)
            # End of a pass: what is left goes out shuffled (a small input lives in the buffer).
            batches, x_buf, m_buf = _shuffled_batches(x_buf, m_buf, len(x_buf), batch_size, rng)
            for xb, mb in batches:
                yielded = True
                yield torch.from_numpy(xb).to(device), torch.from_numpy(mb).to(device)
            if not yielded and len(x_buf) == 0:
                raise TabaeError(f"{self.source.path!r} has no training rows left beside the validation rows")

    def _read(self, piece, held_out: np.ndarray):
        fragment, offset = piece
        try:
            start = offset
            for batch in self.source.piece_batches(fragment, self.read_rows, list(self.encoder.schema_.names)):
                n = batch.num_rows
                if not n:
                    continue
                positions = np.arange(start, start + n)
                start += n
                keep = ~np.isin(positions, held_out, assume_unique=True)
                frame = batch.to_pandas()
                frame = coerce_frame(frame.loc[keep].reset_index(drop=True), self.encoder.schema_)
                x, m = self.encoder.transform(frame)
                yield x, m
        except (pa.ArrowException, OSError) as err:
            raise TabaeError(f"cannot read {self.source.path!r}: {_one_line(err)}") from err


def _shuffled_batches(x: np.ndarray, m: np.ndarray, n_rows: int, batch_size: int, rng):
    """Shuffle the buffer; return as many whole batches as ``n_rows`` rows make, and the
    rows left over."""
    order = rng.permutation(len(x))
    x, m = x[order], m[order]
    n_out = (n_rows // batch_size) * batch_size
    batches = [(x[s : s + batch_size], m[s : s + batch_size]) for s in range(0, n_out, batch_size)]
    return batches, x[n_out:], m[n_out:]
