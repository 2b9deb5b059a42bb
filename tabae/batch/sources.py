"""Reading tables in record batches: one Parquet or CSV file, a folder, a glob, a hive dataset.

:mod:`pyarrow.dataset` finds the files, their schema and their partitions. Rows are then
read one *piece* at a time (a Parquet row group; a CSV file, block by block), in file
and row order. A dataset scanner over the whole input would be simpler, but it decodes
ahead of a slow consumer without limit: scoring a 2M-row file, it held the whole
decoded file (330 MB) before the model had read a third of it. Piece by piece, memory
holds one row group and a batch whatever the file size. Hive-style folders
(``year=2024/part-0.parquet``) give their partition columns as ordinary columns.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from tabae.exceptions import TabaeError
from tabae.params import COUNT

__all__ = ["Source", "open_source", "sample_rows", "sample_with_positions", "FORMATS"]

#: File suffixes read, by format.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv", ".txt": "csv"}
_GLOB_CHARS = set("*?[")
_READAHEAD = dict(batch_readahead=1, fragment_readahead=1)  # within one piece


@dataclass
class Source:
    """An opened input: a :class:`pyarrow.dataset.Dataset` and what it was made from.

    Attributes
    ----------
    path : str
        What the user gave.
    format : {"parquet", "csv"}
    files : list of str
        The files read, in order.
    dataset : pyarrow.dataset.Dataset
    """

    path: str
    format: str
    files: list[str]
    dataset: ds.Dataset = field(repr=False)

    @property
    def schema(self) -> pa.Schema:
        """The input's Arrow schema (partition columns included); pandas metadata only for one file."""
        schema = self.dataset.schema
        if len(self.files) > 1 and schema.metadata:
            schema = schema.remove_metadata()
        return schema

    def count_rows(self) -> int | None:
        """Rows in the input when the files say so cheaply (Parquet footers), else None."""
        if self.format != "parquet":
            return None
        try:
            return int(self.dataset.count_rows())
        except (pa.ArrowException, OSError):
            return None

    def batches(self, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``batch_size`` rows, in file and row order (no metadata)."""
        try:
            for piece in self.pieces():
                for batch in self.piece_batches(piece, batch_size):
                    if batch.num_rows:
                        yield batch.replace_schema_metadata(None)
        except (pa.ArrowException, OSError) as err:
            raise TabaeError(f"cannot read {self.path!r}: {_one_line(err)}") from err

    def pieces(self) -> Iterator[ds.Fragment]:
        """The input's pieces in reading order: each Parquet row group, each CSV file."""
        for fragment in self.dataset.get_fragments():
            if self.format == "parquet":
                yield from fragment.split_by_row_group()
            else:
                yield fragment

    def piece_batches(self, piece: ds.Fragment, batch_size: int = 65_536,
                      columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows of one piece (from :meth:`pieces`) in batches of at most ``batch_size``,
        with the input's schema (partition columns included), or only ``columns``."""
        if self.format == "parquet":
            yield from piece.to_batches(schema=self.dataset.schema, columns=columns, batch_size=int(batch_size),
                                        use_threads=True, **_READAHEAD)
        else:
            yield from _csv_batches(piece, self.dataset.schema, self._partition_names(), int(batch_size), columns)

    def _partition_names(self) -> set[str]:
        partitioning = getattr(self.dataset, "partitioning", None)
        return set(partitioning.schema.names) if partitioning is not None else set()

    def read_all(self) -> pd.DataFrame:
        """The whole input as a DataFrame (for inputs that fit in memory)."""
        try:
            return self.dataset.to_table().to_pandas()
        except (pa.ArrowException, OSError) as err:
            raise TabaeError(f"cannot read {self.path!r}: {_one_line(err)}") from err


def open_source(path, *, column_types: dict[str, pa.DataType] | None = None) -> Source:
    """Open ``path`` (a file, a folder, a glob or a hive-partitioned folder) for batched reading.

    Parameters
    ----------
    path : str or Path
    column_types : dict, optional
        Arrow types of named CSV columns (ignored for Parquet, whose files carry
        their types), so that every CSV block is read the same way.

    Raises
    ------
    TabaeError
        When nothing is there, the files are of an unknown kind, or they are unreadable.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> for year in (2023, 2024):
    ...     os.makedirs(f"{folder}/year={year}")
    ...     pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(f"{folder}/year={year}/part.parquet")
    >>> source = open_source(folder)
    >>> source.format, source.schema.names, sum(b.num_rows for b in source.batches(3))
    ('parquet', ['x', 'year'], 4)
    """
    text = str(path)
    files, folder = _resolve(text)
    kinds = {FORMATS.get(_suffix(f)) for f in files}
    if None in kinds or len(kinds) != 1:
        odd = [f for f in files if FORMATS.get(_suffix(f)) is None][:3]
        raise TabaeError(
            f"cannot read {text!r}: use .parquet or .csv files"
            + (f" (found {odd})" if odd else " (a mix of Parquet and CSV files)")
        )
    fmt = kinds.pop()
    try:
        file_format = "parquet" if fmt == "parquet" else _csv_format(column_types)
        if folder is not None:
            dataset = ds.dataset(folder, format=file_format, partitioning="hive")
            files = list(dataset.files)
        else:
            dataset = ds.dataset(files, format=file_format)
        if fmt == "parquet" and len(files) > 1:
            # A file in which a column happened to be all null has type null there: widen.
            schema = pa.unify_schemas([f.physical_schema for f in dataset.get_fragments()]
                                      + [dataset.schema], promote_options="permissive")
            dataset = dataset.replace_schema(schema) if folder is None else ds.dataset(
                folder, format=file_format, partitioning="hive", schema=_with_partitions(schema, dataset.schema))
    except (pa.ArrowException, OSError) as err:
        raise TabaeError(f"cannot read {text!r}: {_one_line(err)}") from err
    if not files:
        raise TabaeError(f"cannot read {text!r}: no .parquet or .csv file in it")
    return Source(text, fmt, list(files), dataset)


def sample_rows(source: Source, n: int, random_state: int = 0, batch_size: int = 65_536) -> pd.DataFrame:
    """A uniform random sample of at most ``n`` rows of ``source``, read in bounded memory
    (:func:`sample_with_positions`, without the positions).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> path = tempfile.mkdtemp() + "/t.parquet"
    >>> pd.DataFrame({"x": range(1000)}).to_parquet(path)
    >>> rows = sample_rows(open_source(path), 10, random_state=0, batch_size=64)
    >>> len(rows), rows["x"].is_monotonic_increasing
    (10, True)
    """
    return sample_with_positions(source, n, random_state, batch_size)[0]


def sample_with_positions(source: Source, n: int, random_state: int = 0,
                          batch_size: int = 65_536) -> tuple[pd.DataFrame, np.ndarray, int]:
    """A uniform random sample of at most ``n`` rows of ``source``, the input position of
    each of its rows, and the number of rows in the input.

    One pass over the batches keeps the ``n`` rows with the smallest random keys (a
    reservoir sample: every subset of ``n`` rows is equally likely), so memory holds
    about ``n + batch_size`` rows whatever the input's size. Rows keep their input
    order; with fewer than ``n`` rows, all of them are returned.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> path = tempfile.mkdtemp() + "/t.parquet"
    >>> pd.DataFrame({"x": range(1000)}).to_parquet(path)
    >>> rows, positions, n_rows = sample_with_positions(open_source(path), 10, batch_size=64)
    >>> bool((rows["x"] == positions).all()), n_rows
    (True, 1000)
    """
    if not COUNT.accepts(n):
        raise TabaeError(f"sample size {n!r}; pass a positive number of rows")
    # Salted, so that the keys are not the very stream a user's own default_rng(seed) drew the data with.
    rng = np.random.default_rng(np.random.SeedSequence(random_state, spawn_key=(0x5A3D1E,)))
    kept, keys, positions, seen = None, np.zeros(0), np.zeros(0, np.int64), 0
    for batch in source.batches(batch_size):
        table = pa.Table.from_batches([batch])
        kept = table if kept is None else pa.concat_tables([kept, table], promote_options="permissive")
        keys = np.concatenate([keys, rng.random(batch.num_rows)])
        positions = np.concatenate([positions, np.arange(seen, seen + batch.num_rows)])
        seen += batch.num_rows
        if len(keys) > n:
            keep = np.argpartition(keys, n)[:n]
            kept, keys, positions = kept.take(keep), keys[keep], positions[keep]
    if kept is None:
        raise TabaeError(f"{source.path!r} has no rows")
    order = np.argsort(positions, kind="stable")
    metadata = source.dataset.schema.metadata
    table = kept.take(order).combine_chunks()
    if metadata:  # let pandas restore the dtypes it wrote (Int64, category...); the index is ours
        table = table.replace_schema_metadata(metadata)
    frame = table.to_pandas()
    frame.index = pd.RangeIndex(len(frame))
    return frame, positions[order], seen


# ---------------------------------------------------------------------- helpers
def _resolve(text: str) -> tuple[list[str], str | None]:
    """``(files, folder)``: the files a path names, and the folder when it is one."""
    if _GLOB_CHARS & set(text):
        files = sorted(f for f in glob.glob(text, recursive=True) if os.path.isfile(f))
        if not files:
            raise TabaeError(f"cannot read {text!r}: no file matches this pattern")
        return files, None
    if os.path.isdir(text):
        files = sorted(
            str(p) for p in Path(text).rglob("*")
            if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(text).parts)
        )
        if not files:
            raise TabaeError(f"cannot read {text!r}: the folder holds no .parquet or .csv file")
        return files, text
    if os.path.isfile(text):
        if not os.access(text, os.R_OK):
            raise TabaeError(f"cannot read {text!r}: permission denied")
        return [text], None
    raise TabaeError(f"cannot read {text!r}: no such file or folder")


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def _csv_format(column_types):
    import pyarrow.csv as pcsv

    convert = pcsv.ConvertOptions(column_types=dict(column_types or {}), strings_can_be_null=True)
    return ds.CsvFileFormat(convert_options=convert)


def _csv_batches(fragment: ds.Fragment, schema: pa.Schema, partition_names: set[str], batch_size: int,
                 columns: list[str] | None) -> Iterator[pa.RecordBatch]:
    """One CSV file streamed block by block (pyarrow's reader reads a block or two ahead),
    its columns typed as ``schema`` says and its partition values added, in batches of
    ``batch_size`` rows."""
    import pyarrow.csv as pcsv

    keys = ds.get_partition_keys(fragment.partition_expression)  # a null partition value has no key
    wanted = [f for f in schema if columns is None or f.name in columns]
    read = [f for f in wanted if f.name not in partition_names]
    convert = pcsv.ConvertOptions(column_types={f.name: f.type for f in read}, strings_can_be_null=True,
                                  include_columns=[f.name for f in read])
    out_schema = pa.schema(wanted)

    def typed(batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = [pa.array([keys.get(f.name)] * batch.num_rows, f.type) if f.name in partition_names
                  else batch.column(f.name) for f in wanted]
        return pa.RecordBatch.from_arrays(arrays, schema=out_schema)

    reader = pcsv.open_csv(fragment.path, convert_options=convert)
    yield from _rebatched((typed(b) for b in reader), batch_size, out_schema)


def _rebatched(batches: Iterator[pa.RecordBatch], size: int, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of exactly ``size`` (the last may be shorter): the CSV
    reader's blocks hold a megabyte each, too few rows for fast inference."""
    pending, rows = [], 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= size:
            table = pa.Table.from_batches(pending, schema=schema)
            full = rows - rows % size
            for start in range(0, full, size):
                yield from table.slice(start, size).combine_chunks().to_batches()
            rest = table.slice(full)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield from pa.Table.from_batches(pending, schema=schema).combine_chunks().to_batches()


def _with_partitions(files_schema: pa.Schema, dataset_schema: pa.Schema) -> pa.Schema:
    """The unified file schema with the dataset's partition fields appended."""
    extra = [f for f in dataset_schema if f.name not in files_schema.names]
    return pa.schema(list(files_schema) + extra, metadata=files_schema.metadata)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
