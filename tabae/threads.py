"""How many threads torch may use: the cores actually free, or what the user says.

torch starts as many threads as the machine has cores and spins them while it waits.
On a machine that other processes keep busy (a notebook beside a training job, several
CLI jobs, Dask workers) those threads fight for the same cores and a fit slows down
10-30x, where scikit-learn's forests slow about 2x. tabae therefore sets torch's thread
count for the duration of each call (and puts the caller's setting back after), with
scikit-learn's meaning of ``n_jobs``: ``None`` is one thread, an int ``k`` is ``k``
threads, ``-1`` is every core this process may use. ``"auto"`` takes the cores that
are free now (usable cores minus the threads running besides the caller, at least one).

Why one thread by default: it never fights other processes, and it keeps fits
reproducible. Training results depend on the thread count (the gradient sums over a
batch are split differently), so a default that followed the machine's load would give
a different model for the same ``random_state`` whenever the load changed, even
between two fits in one notebook. Pin ``n_jobs`` for bit-identical refits. Inference
gives the same values whatever the count: its blocks of rows are shared among the
``n_jobs`` threads, each block computed by torch on one thread
(:func:`tabae.nn.blocks.map_blocks`), which also means no thread waits at a barrier for
another that a busy machine has descheduled.

Examples
--------
>>> import torch
>>> from tabae.threads import torch_threads
>>> before = torch.get_num_threads()
>>> with torch_threads(1):
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time

import torch
from threadpoolctl import ThreadpoolController

__all__ = ["usable_cores", "free_cores", "resolve_threads", "torch_threads", "model_threads", "threaded_iter"]


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, where the platform tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """Usable cores minus the other work running now (rounded), at least one.

    "Now" is the kernel's count of runnable threads, read a few times over a few
    milliseconds (Linux), less the caller: other processes' threads, and this process's
    other busy threads (a reader, a job's other workers). Inside a container it counts
    the host's threads, as the load average does. The one-minute load average, used where there is
    no such count, lags by a minute both ways: it still counts a job that has just ended
    (so a job run right after another got one thread of two, half its speed) and not yet
    one that has just started. The answer is kept for a second, so that many small calls
    do not each pay for the readings.
    """
    now = time.monotonic()
    if now - _free_cores_cache[0] > 1.0:
        cores = usable_cores()
        busy = _runnable_elsewhere()
        if busy is None:
            try:
                busy = os.getloadavg()[0]
            except (AttributeError, OSError):  # no load average on this platform: assume a quiet machine
                busy = 0.0
        _free_cores_cache[:] = [now, int(max(1, min(cores, round(cores - busy))))]
    return _free_cores_cache[1]


_free_cores_cache: list = [-math.inf, 1]  # (when, free cores)


def _runnable_elsewhere(readings: int = 6) -> float | None:
    """Mean number of runnable threads other than the caller over ~5 ms (Linux), or None."""
    counts = []
    try:
        for i in range(readings):
            if i:
                time.sleep(0.001)
            with open("/proc/loadavg") as f:  # "0.52 0.58 0.59 2/345 6789": runnable/total is the 4th
                counts.append(int(f.read().split()[3].split("/")[0]))
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, sum(counts) / len(counts) - 1)


def resolve_threads(n_jobs: int | str | None) -> int:
    """Threads for ``n_jobs``: None -> 1; -1 -> every usable core; "auto" -> the free cores; k -> k."""
    if n_jobs is None:
        return 1
    if n_jobs == "auto":
        return free_cores()
    if n_jobs == -1:
        return usable_cores()
    return int(n_jobs)


@contextlib.contextmanager
def torch_threads(n_jobs: int | str | None):
    """Run the block with torch, BLAS and OpenMP limited to :func:`resolve_threads`
    threads, then restore."""
    before = torch.get_num_threads()
    wanted = resolve_threads(n_jobs)
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        # NumPy's BLAS and scikit-learn's (the latent prior's GaussianMixture) start a
        # thread per core too: on a loaded machine a VAE fit took 34 s with them and
        # 2.3 s without.
        with _blas_controller().limit(limits=wanted):
            yield wanted
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS and OpenMP libraries loaded in this process, found once: scanning them
    costs ~3 ms, which every model call would pay (limiting known ones costs ~0.06 ms).
    Made at the first call, after ``import tabae`` has loaded NumPy, scikit-learn and
    torch, whose libraries are the ones to limit."""
    return ThreadpoolController()


def model_threads(method):
    """Run a model method with torch limited to the model's ``n_jobs`` threads."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_threads(self.n_jobs):
            return method(self, *args, **kwargs)

    return wrapper


def threaded_iter(items, n_jobs):
    """Iterate a generator with torch limited to ``n_jobs`` threads while each item is made
    (and the caller's setting in between, so a consumer's own work is not limited)."""
    while True:
        with torch_threads(n_jobs):
            try:
                item = next(items)
            except StopIteration:
                return
        yield item
