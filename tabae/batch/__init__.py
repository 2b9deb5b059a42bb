"""Streamed batch jobs: impute, score and sample tables larger than memory.

The pieces, one job each:

* :mod:`tabae.batch.sources`: files, folders, globs and hive datasets read in record batches;
* :mod:`tabae.batch.coerce`: each batch fitted to the model's schema (checked before any work);
* :mod:`tabae.batch.jobs`: the streamed impute / score / sample, and their per-chunk steps;
* :mod:`tabae.batch.sinks`: atomic Parquet/CSV writing (a temporary file renamed at the end);
* :mod:`tabae.batch.fitting` and :mod:`tabae.batch.training_stream`: fitting on an input
  larger than memory (a reservoir sample in memory, training batches streamed);
* :mod:`tabae.batch.progress`: rows and rows/s on stderr.

Threads: each job runs with the model's ``n_jobs`` (:mod:`tabae.threads`); the command
sets it to the free cores, Dask workers to one.

The ``tabae`` command (:mod:`tabae.cli`) and :mod:`tabae.dask` are built on these.
"""

from tabae.batch.fitting import DEFAULT_SAMPLE_ROWS, fit_stream
from tabae.batch.jobs import DEFAULT_BATCH_SIZE, impute_frame, run_impute, run_sample, run_score, score_frame
from tabae.batch.sinks import AtomicSink
from tabae.batch.sources import Source, open_source, sample_rows, sample_with_positions

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_SAMPLE_ROWS", "AtomicSink", "Source", "fit_stream", "impute_frame",
           "open_source", "run_impute", "run_sample", "run_score", "sample_rows", "sample_with_positions",
           "score_frame"]
