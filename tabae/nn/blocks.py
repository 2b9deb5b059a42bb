"""Inference in blocks of one fixed size, so a row's result never depends on its neighbours.

Matrix kernels sum in different orders for different row counts (a single row takes
another code path than a thousand), so the same row scored alone and in a batch can
differ in the last bits. Every inference pass therefore runs on exactly
:data:`INFER_BATCH` rows, the last block padded with zeros: chunked, streamed and
Dask runs then give the same values, bit for bit, as one call.

The blocks of one call are shared among the threads the model may use
(:func:`map_blocks`), each thread running torch on one core: a block's values then do
not depend on the thread count (some kernels, the reductions of masked scoring, sum in
another order with more threads per operation), and no thread waits at a barrier for
another that a busy machine has descheduled. On 2 cores, scoring adult rows with two
threads ran 1.4x as fast as with one when torch split each operation, 1.5x this way.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from tabae.threads import torch_threads

__all__ = ["INFER_BATCH", "padded_blocks", "pad_keys", "map_blocks", "one_torch_thread"]

#: Rows of every inference pass.
INFER_BATCH = 512


def padded_blocks(*tensors: torch.Tensor, block: int = INFER_BATCH):
    """Yield ``(n_valid, padded tensors...)`` over blocks of exactly ``block`` rows."""
    n = len(tensors[0])
    for s in range(0, n, block):
        parts = [t[s : s + block] for t in tensors]
        k = len(parts[0])
        if k < block:
            parts = [torch.cat([p, p.new_zeros((block - k, *p.shape[1:]))]) for p in parts]
        yield k, parts


def pad_keys(keys: np.ndarray, n: int) -> np.ndarray:
    """Random-stream keys of a padded block (the padding rows' draws are thrown away)."""
    return np.concatenate([keys, np.zeros(n - len(keys), np.uint64)]) if len(keys) < n else keys


def map_blocks(fn, *tensors, with_start: bool = False) -> list:
    """``[fn(k, *parts) for k, parts in padded_blocks(*tensors)]``, with the blocks shared
    among the threads torch may use now (``torch.get_num_threads()``: the model's
    ``n_jobs`` inside its methods), each of them running torch on one thread.

    ``with_start=True`` calls ``fn(start, k, *parts)``, ``start`` being the block's first
    row, for work keyed by row (each row's own random stream).

    The first block runs alone on the calling thread, so that state a model builds at its
    first use (the imputation blend's bank, the masked-scoring plans) exists before other
    threads read it. Results come back in block order, and equal a one-thread call's bit
    for bit.
    """
    blocks = [(i * INFER_BATCH, k, parts) for i, (k, parts) in enumerate(padded_blocks(*tensors))]

    def run(block):
        start, k, parts = block
        return fn(start, k, *parts) if with_start else fn(k, *parts)

    # Threads only on the CPU: a GPU runs one block at a time anyway, and its current
    # device is a per-thread setting.
    on_cpu = not blocks or blocks[0][2][0].device.type == "cpu"
    threads = min(torch.get_num_threads(), len(blocks) - 1) if on_cpu else 1
    grad = torch.is_grad_enabled()  # per thread in torch: workers take the caller's (off at inference)
    # Every block on one torch thread, however many the call may use: some kernels (the
    # reductions of masked scoring) sum in another order with more threads, and a block
    # must not change its values with n_jobs.
    with torch_threads(1):
        out = [run(block) for block in blocks[:1]]
        if threads <= 1:
            return out + [run(block) for block in blocks[1:]]
        with ThreadPoolExecutor(threads, thread_name_prefix="tabae-block", initializer=one_torch_thread,
                                initargs=(grad,)) as pool:
            return out + list(pool.map(run, blocks[1:]))


def one_torch_thread(grad: bool = False) -> None:
    """A worker thread's torch settings (both are per thread): one thread, and gradients as
    the caller had them."""
    torch.set_num_threads(1)
    torch.set_grad_enabled(grad)
