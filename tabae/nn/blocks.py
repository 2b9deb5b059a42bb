"""Inference in blocks of one fixed size, so a row's result never depends on its neighbours.

Matrix kernels sum in different orders for different row counts (a single row takes
another code path than a thousand), so the same row scored alone and in a batch can
differ in the last bits. Every inference pass therefore runs on exactly
:data:`INFER_BATCH` rows, the last block padded with zeros: chunked, streamed and
Dask runs then give the same values, bit for bit, as one call.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["INFER_BATCH", "padded_blocks", "pad_keys"]

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
