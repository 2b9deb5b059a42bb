"""Writing record batches atomically: a temporary file beside the target, renamed at the end.

An interrupted or failed job (Ctrl-C, an error in the 90th batch) removes its temporary
file and leaves the target untouched: there is never a partial output to mistake for
a finished one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa

from tabae.exceptions import TabaeError
from tabae.persistence import check_writable

__all__ = ["AtomicSink", "output_format"]

_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv"}


def output_format(path) -> str:
    """``"parquet"`` or ``"csv"`` from the target's suffix, after checking it can be written.

    Called before any work, so that a typo in the output folder fails at once, not
    after an hour of scoring.

    Examples
    --------
    >>> output_format("scores.parquet")
    'parquet'
    >>> output_format("/no/such/folder/out.csv")
    Traceback (most recent call last):
    ...
    tabae.exceptions.TabaeError: cannot write to '/no/such/folder/out.csv': the folder '/no/such/folder' does not exist; create it first
    """
    fmt = _SUFFIXES.get(Path(str(path)).suffix.lower())
    if fmt is None:
        raise TabaeError(f"cannot write {str(path)!r}: give a .parquet or .csv file name")
    check_writable(path)
    return fmt


class AtomicSink:
    """A Parquet or CSV writer of record batches that only exists once complete.

    Parameters
    ----------
    path : str or Path
        The target (``.parquet`` or ``.csv``); its folder must exist.
    schema : pyarrow.Schema
        Every batch written is cast to it (a Parquet file's schema, metadata included).

    Examples
    --------
    >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = tempfile.mkdtemp() + "/out.parquet"
    >>> schema = pa.schema([("x", pa.int64())])
    >>> with AtomicSink(path, schema) as sink:
    ...     sink.write(pa.record_batch([pa.array([1, 2])], schema=schema))
    >>> pq.read_table(path).num_rows
    2
    >>> try:
    ...     with AtomicSink(path + ".2.parquet", schema) as sink:
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> import os; os.path.exists(path + ".2.parquet")
    False
    """

    def __init__(self, path, schema: pa.Schema):
        self.path = Path(str(path))
        self.format = output_format(self.path)
        self.schema = schema
        self.rows = 0
        self._tmp = None
        self._writer = None

    def __enter__(self) -> "AtomicSink":
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self._tmp, self.schema)
            else:
                import pyarrow.csv as pcsv

                self.schema = _csv_schema(self.schema)
                self._writer = pcsv.CSVWriter(self._tmp, self.schema)
        except BaseException:
            self._discard()
            raise
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        """Append ``batch`` (cast to the sink's schema)."""
        if batch.schema != self.schema:  # a Table cast (RecordBatch.cast needs pyarrow 16)
            table = pa.Table.from_batches([batch]).select(self.schema.names).cast(self.schema)
            self._writer.write_table(table) if self.format == "parquet" else self._writer.write(table)
        else:
            self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self._writer.close()
            self._writer = None
            os.replace(self._tmp, self.path)
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # a broken writer: the file goes anyway
                pass
            self._writer = None
        if self._tmp is not None and os.path.exists(self._tmp):
            os.unlink(self._tmp)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """CSV holds text: dictionary columns are written as their values."""
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    return pa.schema(fields)
